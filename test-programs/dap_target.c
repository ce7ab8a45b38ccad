/* dap_target.c: the debug adapter's test program.
 *
 *   dap_target            heap objects, a loop with a logpoint line, then exits with status 3
 *   dap_target wait       prints its pid and spins until a debugger sets `released` (attach)
 *   dap_target abort      builds the same objects, then abort()s (a kernel core file)
 *   dap_target hundred    a frame with 100 pointer locals (the variables benchmark)
 *
 * Line numbers matter to the tests: they find lines by the marker comments (BP_...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct point {
    int x, y, z;
};

struct node {
    struct node *next;
    int value;
    int data[4];
};

volatile int released;
int global_total;

__attribute__((noinline)) int square(int v)
{
    int r = v * v; /* BP_SQUARE */
    return r;
}

__attribute__((noinline)) int touch(int *counter)
{
    return ++*counter;
}

#define P(n) char *p##n = malloc((n) + 1);
#define P10(d) P(d##0) P(d##1) P(d##2) P(d##3) P(d##4) P(d##5) P(d##6) P(d##7) P(d##8) P(d##9)
#define U(n) p##n[0] = (char)(n);
#define U10(d) U(d##0) U(d##1) U(d##2) U(d##3) U(d##4) U(d##5) U(d##6) U(d##7) U(d##8) U(d##9)

__attribute__((noinline)) static int hundred(void)
{
    /* clang-format off */
    P10() P10(1) P10(2) P10(3) P10(4) P10(5) P10(6) P10(7) P10(8) P10(9)
    U10() U10(1) U10(2) U10(3) U10(4) U10(5) U10(6) U10(7) U10(8) U10(9);
    /* clang-format on */
    int first = p0[0];
    return first + p99[0]; /* BP_HUNDRED */
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "run";
    if (strcmp(mode, "wait") == 0) {
        printf("pid %d\n", (int)getpid());
        fflush(stdout);
        while (!released)
            usleep(1000);
        square(7); /* BP_RELEASED */
        return 0;
    }
    if (strcmp(mode, "hundred") == 0) return hundred() == 99 ? 0 : 1;

    struct point *pts = malloc(3 * sizeof *pts);
    for (int i = 0; i < 3; i++)
        pts[i] = (struct point){i, 10 * i, 100 * i};
    int *arr = malloc(10 * sizeof *arr);
    for (int i = 0; i < 10; i++)
        arr[i] = i * i;
    int *mid = arr + 3;
    void *opaque = pts;
    char *msg = strdup("hello allocs");
    int counter = 5;
    int sum = 0;
    struct node *list = calloc(1, sizeof *list);
    list->next = calloc(1, sizeof *list->next);
    list->next->value = 42;
    for (int i = 0; i < 4; i++)
        list->data[i] = 10 * (i + 1);
    int *value_field = &list->next->value; /* one int inside a heap struct */
    int *data_tail = &list->data[1];       /* an array member: 3 elements remain */
    void *second = pts + 1;                /* a void * into a struct array */
    void *opaque_stack = &counter;         /* a void * into the frame */
    printf("start %s\n", msg);
    fflush(stdout);
    for (int i = 0; i < 4; i++)
        sum += square(i); /* BP_LOOP */
    global_total = sum + touch(&counter) + mid[0] + (opaque != NULL) + *value_field + data_tail[0] +
                   (second != NULL) + (opaque_stack != NULL);
    printf("sum %d counter %d\n", sum, counter); /* BP_AFTER */
    fflush(stdout);
    list->data[3] += 1; /* BP_WRITE */
    if (strcmp(mode, "abort") == 0) abort();
    free(msg);
    free(arr);
    global_total += 1; /* BP_FREED */
    free(pts);
    free(list->next);
    free(list);
    return 3;
}
