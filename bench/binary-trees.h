/* The binary-trees benchmark shared by binary-trees.c and wrapper-trees.c, which differ only in
 * how make() allocates a node (that is each one's subject): the tree, its check and release,
 * and the Benchmarks Game's main loop. Usage of the programs: PROGRAM DEPTH */
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *left, *right;
};

/* A complete tree of the given depth; each program defines it. */
static struct node *make(int depth);

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

static int trees_main(int argc, char **argv)
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
