// cxx-alloc: an allocation-bound C++ program for the runtime's operator new/delete cost: many
// small objects through new/delete (a class hierarchy), std::vector growth, std::map nodes,
// std::string buffers and std::make_shared blocks, freed as it goes.
// Usage: cxx-alloc [ROUNDS]
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct Node {
    virtual ~Node() {}
    virtual long value() const = 0;
};
struct Leaf : Node {
    explicit Leaf(long v) : v(v) {}
    long value() const override { return v; }
    long v;
};
struct Pair : Node {
    Pair(Node *l, Node *r) : l(l), r(r) {}
    ~Pair() override
    {
        delete l;
        delete r;
    }
    long value() const override { return l->value() + r->value(); }
    Node *l, *r;
};

static Node *tree(int depth, long v)
{
    if (depth == 0) return new Leaf(v);
    return new Pair(tree(depth - 1, 2 * v), tree(depth - 1, 2 * v + 1));
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 40;
    long check = 0;
    for (int round = 0; round < rounds; round++) {
        Node *t = tree(14, round);
        check += t->value();
        delete t;
        std::vector<std::unique_ptr<std::string>> words;
        for (int i = 0; i < 20000; i++)
            words.push_back(std::make_unique<std::string>(24 + i % 40, char('a' + i % 26)));
        std::map<int, std::shared_ptr<long>> m;
        for (int i = 0; i < 20000; i++) m[(i * 7919) % 30011] = std::make_shared<long>(i);
        for (int i = 0; i < 20000; i += 2) m.erase((i * 7919) % 30011);
        check += long(words.size() + m.size()) + long(words[round % 100]->size());
    }
    printf("%ld\n", check);
    return 0;
}
