/* A small program for the GDB/MI layer's tests (tests/extension/mi-*.test.ts).
 * It gives gdb something to stop in (a named function with arguments and
 * locals, a struct, a heap buffer, a recursion for a multi-frame stack), strings
 * with escapes and non-ASCII text for the console-stream fixtures, and a second
 * thread so thread notifications appear.  Build: gcc -g -O0 -pthread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct point {
  int x;
  int y;
};

/* Non-ASCII and escape-worthy text: "é" is 2 UTF-8 bytes, "€" is 3 (one of
 * them in the 0x80-0x9f range that gdb always escapes as octal), "日本" 6. */
const char *greeting = "héllo \"wörld\"\t€ 日本\n";
int counter = 7;
unsigned char pattern[8] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};

static void *worker(void *arg) {
  int *slot = arg;
  *slot += 1;
  return NULL;
}

int add_points(struct point *a, const struct point *b, int scale) {
  int sum_x = a->x + b->x * scale;
  int sum_y = a->y + b->y * scale;
  a->x = sum_x;
  a->y = sum_y;
  return sum_x + sum_y;
}

/* Inlined at each call site even at -O0, so a breakpoint on it has two
 * locations (MI3 reports them as a `locations` list). */
static inline __attribute__((always_inline)) int twice(int v) {
  return v * 2;
}

int depth(int n) {
  if (n == 0)
    return add_points(&(struct point){1, 2}, &(struct point){3, 4}, 2);
  return depth(n - 1) + twice(n) - twice(n) + 1;
}

/* Spins until the test interrupts it or `stop` is set from gdb. */
volatile int stop = 0;
void spin(void) {
  while (!stop)
    usleep(1000);
}

int main(int argc, char **argv) {
  struct point *pts = malloc(3 * sizeof *pts);
  memset(pts, 0, 3 * sizeof *pts);
  pts[1].x = 10;
  pts[1].y = 20;
  int total = depth(2);
  pthread_t t;
  int slot = 0;
  pthread_create(&t, NULL, worker, &slot);
  pthread_join(t, NULL);
  if (argc > 1 && strcmp(argv[1], "spin") == 0)
    spin();
  printf("total=%d slot=%d\n", total, slot);
  fflush(stdout);
  free(pts);
  return total == 19 ? 3 : 1;
}
