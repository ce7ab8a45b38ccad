/* The program bench/adapter-cdt-bench.ts debugs with both adapters: main stops at BREAK with six
 * locals, each a pointer into the heap (the allocs adapter shows an allocation summary beside
 * each; cdt-gdb-adapter shows the plain values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct point {
    int x;
    int y;
};

int main(void)
{
    struct point *pts = malloc(3 * sizeof *pts);
    char *name = malloc(42);
    int *counts = calloc(10, sizeof *counts);
    double *ratios = malloc(4 * sizeof *ratios);
    struct point *one = malloc(sizeof *one);
    long *words = malloc(512 * sizeof *words);
    strcpy(name, "allocs");
    pts[2].y = counts[1];
    ratios[0] = 0.5;
    one->x = 1;
    words[0] = 2;
    printf("%s %d\n", name, pts[2].y); /* BREAK */
    free(words);
    free(one);
    free(ratios);
    free(counts);
    free(name);
    free(pts);
    return 0;
}
