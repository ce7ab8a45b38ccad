/* wrapper-trees: binary-trees (bench/binary-trees.h) allocating through a program's own
 * allocation layer, the way real programs do: every node comes from new_node -> xmalloc ->
 * malloc (a wrapper of a check-and-abort wrapper), so each allocation's site is two frames up.
 * Built with -DDIRECT, make() calls malloc itself (the reference). Usage: wrapper-trees DEPTH */
#include "binary-trees.h"

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

int main(int argc, char **argv)
{
    return trees_main(argc, argv);
}
