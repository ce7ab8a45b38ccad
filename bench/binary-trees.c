/* binary-trees: the allocation-bound benchmark (one 16-byte node per malloc, millions of
 * malloc/free pairs), as in the Computer Language Benchmarks Game (binary-trees.h).
 * Usage: binary-trees DEPTH */
#include "binary-trees.h"

static struct node *make(int depth)
{
    struct node *n = malloc(sizeof *n);
    if (!n) abort();
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

int main(int argc, char **argv)
{
    return trees_main(argc, argv);
}
