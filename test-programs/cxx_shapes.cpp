/* cxx_shapes.cpp: C++ allocations with plain g++/clang++ -g: a class hierarchy with virtual
 * methods (dynamic types), new, new[] of a type with a destructor (the array cookie) and of one
 * without, std::vector, std::string, std::map, std::make_shared, a namespace and a static.
 *
 *   cxx_shapes stop   prints its probes, then calls cxx_stop() (set a breakpoint there)
 *   cxx_shapes abort  prints its probes, then abort()s (a kernel core file)
 *
 * Each probe line is the program's own ground truth: the address, the allocation's base and
 * size (sizeof, the cookie's size_t, capacity()), the dynamic type (typeid, demangled) and the
 * __LINE__ of the allocating expression; the address is also kept in probe_addr[K]. */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

void *probe_addr[32];
static int nprobes;

static std::string demangled(const char *mangled)
{
    int status = 0;
    char *d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string out = status == 0 && d ? d : mangled;
    free(d);
    return out;
}

/* probe NAME index=K addr=A base=B size=S type=T line=L */
static void probe(const char *name, const void *addr, const void *base, size_t size,
                  const std::string &type, int line)
{
    int k = nprobes++;
    probe_addr[k] = const_cast<void *>(addr);
    printf("probe %s index=%d addr=%p base=%p size=%zu type=%s line=%d\n", name, k, addr, base,
           size, type.c_str(), line);
}

namespace geo {
struct Point {
    int x, y;
};

class Shape {
  public:
    explicit Shape(int id) : id(id) {}
    virtual ~Shape() {}
    virtual double area() const = 0;
    int id;
};

class Circle : public Shape {
  public:
    Circle(int id, double r) : Shape(id), centre{3, 4}, radius(r) {}
    double area() const override { return 3.0 * radius * radius; }
    Point centre;
    double radius;
};

class Rect : public Shape {
  public:
    Rect(int id, double w, double h) : Shape(id), w(w), h(h) {}
    double area() const override { return w * h; }
    double w, h;
};
} // namespace geo

/* A derived class without virtual methods: no vtable, and nothing but its size tells it from
 * the base the pointer is declared as. */
struct Base {
    int kind;
};
struct Derived : Base {
    long extra[3];
};

/* A type with a destructor: new Tracked[n] stores n in a size_t cookie before the elements. */
struct Tracked {
    long value = 7;
    char tag[8] = "tracked";
    ~Tracked() { value = -1; }
};

static std::map<int, std::string> registry;

/* A thrown object lives in a malloc'd block behind libstdc++'s exception header
 * (__cxa_refcounted_exception, 128 bytes on x86-64) until its handler ends. */
struct Oops {
    long code;
    char what[24];
};
static const size_t EXCEPTION_HEADER = 128;

/* Raw memory through a void *: nothing at its site says what it will hold, so only the vtable
 * pointer the placement new stores tells the object's class. */
__attribute__((noinline)) static void *raw_block(size_t n)
{
    void *p = malloc(n);
    if (p) memset(p, 0, n);
    return p;
}

__attribute__((noinline)) void cxx_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
    int do_abort = argc > 1 && strcmp(argv[1], "abort") == 0;
    geo::Shape *circle = new geo::Circle(1, 2.5); int circle_line = __LINE__;
    geo::Shape *rect = new geo::Rect(2, 3.0, 4.0); int rect_line = __LINE__;
    Tracked *tracked = new Tracked[3]; int tracked_line = __LINE__;
    geo::Point *points = new geo::Point[5]; int points_line = __LINE__;
    geo::Point *one = new geo::Point{8, 9}; int one_line = __LINE__;
    Base *derived = new Derived(); int derived_line = __LINE__;
    std::vector<geo::Point> vec;
    for (int i = 0; i < 6; i++) vec.push_back(geo::Point{i, -i}); int vec_line = __LINE__;
    geo::Point *vec_data = vec.data(); /* the buffer, for the debug adapter's Variables view */
    std::string text(100, 'x'); int text_line = __LINE__;
    registry[1] = "one"; int map_line = __LINE__;
    registry[2] = "two";
    geo::Shape *placed = new (raw_block(sizeof(geo::Circle))) geo::Circle(4, 1.5);
    int placed_line = __LINE__ - 1;
    std::shared_ptr<geo::Circle> shared = std::make_shared<geo::Circle>(3, 1.0);
    int shared_line = __LINE__ - 1;
    std::list<long> numbers; numbers.push_back(3); int list_line = __LINE__;
    /* push_back copies the row: that library code allocates two types (a vector<int> buffer and
     * an int buffer), so its sites stay in the library, typed */
    std::vector<std::vector<int>> nested; std::vector<int> row(5, 1);
    nested.push_back(row); int nested_line = __LINE__;

    probe("circle", &static_cast<geo::Circle *>(circle)->radius, circle, sizeof(geo::Circle),
          demangled(typeid(*circle).name()), circle_line);
    probe("rect", rect, rect, sizeof(geo::Rect), demangled(typeid(*rect).name()), rect_line);
    probe("tracked", &tracked[2].tag[1], reinterpret_cast<char *>(tracked) - sizeof(size_t),
          3 * sizeof(Tracked) + sizeof(size_t), demangled(typeid(Tracked).name()), tracked_line);
    probe("points", &points[3].y, points, 5 * sizeof(geo::Point),
          demangled(typeid(geo::Point).name()), points_line);
    probe("one", &one->y, one, sizeof(geo::Point), demangled(typeid(geo::Point).name()),
          one_line);
    probe("vector", &vec.data()[4].y, vec.data(), vec.capacity() * sizeof(geo::Point),
          demangled(typeid(geo::Point).name()), vec_line);
    probe("string", text.data() + 50, text.data(), text.capacity() + 1, "char", text_line);
    auto node_value = &*registry.find(1);
    using Node = std::_Rb_tree_node<std::map<int, std::string>::value_type>;
    /* the node: its links (std::_Rb_tree_node_base), then the value */
    const char *node = reinterpret_cast<const char *>(node_value) - sizeof(std::_Rb_tree_node_base);
    probe("map_node", &node_value->second, node, sizeof(Node), demangled(typeid(Node).name()),
          map_line);
    const geo::Shape &shared_ref = *shared;
    /* make_shared's one block: the control block (counts), then the object */
    using Block = std::_Sp_counted_ptr_inplace<geo::Circle, std::allocator<void>, __gnu_cxx::_S_atomic>;
    const char *block = reinterpret_cast<const char *>(shared.get()) -
                        sizeof(std::_Sp_counted_base<__gnu_cxx::_S_atomic>);
    probe("shared", shared.get(), block, sizeof(Block), demangled(typeid(shared_ref).name()),
          shared_line);
    probe("placed", &static_cast<geo::Circle *>(placed)->centre.y, placed, sizeof(geo::Circle),
          demangled(typeid(*placed).name()), placed_line);
    probe("derived", &static_cast<Derived *>(derived)->extra[1], derived, sizeof(Derived), "Derived",
          derived_line);
    using ListNode = std::_List_node<long>;
    const long *number = &numbers.front();
    probe("list_node", number, reinterpret_cast<const char *>(number) - sizeof(std::__detail::_List_node_base),
          sizeof(ListNode), demangled(typeid(ListNode).name()), list_line);
    probe("nested", &nested.data()[0], nested.data(), nested.capacity() * sizeof(std::vector<int>),
          demangled(typeid(std::vector<int>).name()), nested_line);
    printf("sizes circle=%zu rect=%zu tracked=%zu point=%zu\n", sizeof(geo::Circle),
           sizeof(geo::Rect), sizeof(Tracked), sizeof(geo::Point));
    int throw_line = 0;
    try {
        throw_line = __LINE__; throw Oops{42, "out of shapes"};
    } catch (Oops &oops) {
        probe("thrown", &oops.what[3], reinterpret_cast<char *>(&oops) - EXCEPTION_HEADER,
              EXCEPTION_HEADER + sizeof(Oops), demangled(typeid(oops).name()), throw_line);
        fflush(stdout);
        if (do_abort) abort();
        cxx_stop();
    }
    double sum = circle->area() + rect->area() + shared->area() + placed->area();
    placed->~Shape();
    free(placed);
    delete circle;
    delete rect;
    delete[] tracked;
    delete[] points;
    delete one;
    printf("done %.1f %zu %zu %d\n", sum, vec.size(), text.size(), vec_data[5].x);
    return 0;
}
