/* typegen fixture: one of each C type shape the type model must describe. Built by
 * tests/typegen at -O0/-O2, gcc and clang, DWARF 4 and 5, compressed and split. */
#include <stdarg.h>
#include <stdlib.h>

struct point {
    int x, y;
};

struct bits {
    unsigned a : 3;
    int b : 5;
    unsigned long c : 40;
    char d;
    unsigned e : 1;
};

typedef struct {
    int q;
    double r;
} anon_t;

enum color { RED, GREEN = 5, BLUE = -1 };
enum big { BIG_MAX = 0xffffffffffffffffUL };

struct flex {
    int n;
    int data[];
};

union num {
    int i;
    float f;
    struct {
        short lo, hi;
    };
};

struct outer {
    const char *name;
    volatile unsigned long counter;
    struct point *restrict next_point;
    union num value;
    int matrix[2][3];
    size_t len;
    void (*callback)(int, ...);
    struct outer *next;
    _Bool ok;
    long double ld;
    _Atomic int atom;
};

typedef int (*binop_fn)(int, int);
typedef unsigned long ulong_t;

int grid[3][4];
static struct point pts[3];
anon_t an;
struct bits bb;
enum color col = BLUE;
enum big bigv;
char *names[2] = {"a", "b"};
const int answer = 42;
struct outer outer_v;
union num nv;
ulong_t counter_td;
binop_fn op_ptr;
__thread int tls_counter;
int unbounded_arr[];
int unbounded_arr[5];

static int add(int a, int b)
{
    return a + b;
}

int sum(int n, ...)
{
    va_list ap;
    int s = 0;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        s += va_arg(ap, int);
    va_end(ap);
    return s;
}

int f(int a, char **b)
{
    int local = a;
    struct point p = {1, 2};
    volatile int vla_n = a + 1;
    int vla[vla_n];
    vla[0] = p.x;
    return local + p.y + (b != 0) + vla[0];
}

int main(int argc, char **argv)
{
    static int calls;
    calls++;
    struct flex *fl = malloc(sizeof(struct flex) + 4 * sizeof(int));
    fl->n = argc;
    op_ptr = add;
    pts[0].x = argc;
    int r = f(argc, argv) + fl->n + sum(2, 3, 4) + op_ptr(1, 2);
    free(fl);
    return r + pts[argc % 3].y + an.q + bb.a + nv.i + (int)counter_td + tls_counter + grid[1][2] +
           unbounded_arr[1];
}
