/* Zero setup (tests/cli/zero-setup.test.ts): a program built with plain `gcc -g`, no allocs cc,
 * whose heap objects get their types from metadata `allocs run`/`gdb`/`core` make on demand, or
 * that the bridge reads from disk when the runtime did not load it (attach, core).
 * `zero_setup wait` prints "ready" and waits for a line on stdin (a debugger attaches meanwhile);
 * otherwise it stops in zs_stop (a breakpoint) and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zs_node {
    long key;
    double weight;
    struct zs_node *next;
    char label[12];
};

struct zs_node *zs_global;
void *zs_untyped;

extern int zs_lib_value(void); /* zero_setup_lib.c, a library without DWARF */

__attribute__((noinline)) void zs_stop(void)
{
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
    struct zs_node *n = malloc(sizeof *n);
    n->key = 42;
    n->weight = 1.5;
    n->next = NULL;
    strcpy(n->label, "first");
    zs_global = n;
    zs_untyped = malloc(40);
    printf("ready %d\n", zs_lib_value());
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "wait") == 0) {
        char line[16];
        if (!fgets(line, sizeof line, stdin)) line[0] = 0;
    }
    zs_stop();
    free(zs_untyped);
    free(n);
    return 0;
}
