/* wrapper-trees: binary-trees (bench/binary-trees.c) allocating through a program's own
 * allocation layer, the way real programs do: every node comes from new_node -> xmalloc ->
 * malloc (a wrapper of a check-and-abort wrapper), so each allocation's site is two frames up.
 * Built with -DDIRECT, make() calls malloc itself (the reference). Usage: wrapper-trees DEPTH */
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *left, *right;
};

__attribute__((noinline)) void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

__attribute__((noinline)) struct node *new_node(void)
{
    struct node *n = xmalloc(sizeof *n);
    n->left = n->right = NULL;
    return n;
}

static struct node *make(int depth)
{
#ifdef DIRECT /* the same program allocating with malloc directly: the bench's reference */
    struct node *n = malloc(sizeof *n);
    if (!n) abort();
    n->left = n->right = NULL;
#else
    struct node *n = new_node();
#endif
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    }
    return n;
}

static long check(const struct node *n)
{
    return 1 + (n->left ? check(n->left) + check(n->right) : 0);
}

static void release(struct node *n)
{
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    free(n);
}

int main(int argc, char **argv)
{
    int max_depth = argc > 1 ? atoi(argv[1]) : 18;
    int min_depth = 4;
    if (max_depth < min_depth + 2) max_depth = min_depth + 2;
    struct node *stretch = make(max_depth + 1);
    printf("stretch tree of depth %d\t check: %ld\n", max_depth + 1, check(stretch));
    release(stretch);
    struct node *long_lived = make(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + min_depth), sum = 0;
        for (long i = 0; i < iterations; i++) {
            struct node *t = make(d);
            sum += check(t);
            release(t);
        }
        printf("%ld\t trees of depth %d\t check: %ld\n", iterations, d, sum);
    }
    printf("long lived tree of depth %d\t check: %ld\n", max_depth, check(long_lived));
    release(long_lived);
    return 0;
}
