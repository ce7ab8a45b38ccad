/* Known leaks and known growth for alloc leaks / retainers / snapshot / diff (and allocs run
 * --leaks). Every allocation's site line is printed as a probe, so the tests check each leak
 * group's count, bytes, type and site exactly.
 *
 *   lost list      a 3-node list whose head pointer is dropped: 1 definitely + 2 indirectly lost
 *   cycle          two struct pair pointing at each other, no root: 1 definitely + 1 indirectly
 *   leak-only      a struct holder leaked, holding the only pointer to a struct payload
 *   hidden         a struct hidden reachable only through a pointer copied into an untyped buffer
 *                  (itself held by a static): reachable, but only conservatively
 *   g_cache        a static hash table: .buckets[12] -> struct entry .next -> struct entry
 *   thread stack   a struct tnode only a second thread's local variable points to
 *   register       a struct rnode only a third thread's register r15 points to
 *   growth         between stop 1 and stop 2: 5 struct grow added at one site, 2 struct entry
 *                  freed.
 * Usage: leaks_target [exit|exit-threads|abort]: "exit" leaves the leaks in place and returns
 * from main (for allocs run --leaks) instead of stopping twice, "exit-threads" too with the two
 * threads still blocked; "abort" aborts at the first stop (a kernel core).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct node {
    int value;
    struct node *next;
};
struct pair {
    struct pair *other;
    long tag;
};
struct payload {
    double weight[3];
};
struct holder {
    long id;
    struct payload *payload;
};
struct hidden {
    long secret[5];
};
struct entry {
    long key;
    struct entry *next;
};
struct cache {
    int n;
    struct entry *buckets[16];
};
struct tnode {
    long a, b, c;
};
struct rnode {
    long a, b, c, d;
};
struct grow {
    long v[4];
};

struct cache g_cache;
void *g_untyped; /* an untyped buffer (malloc of a computed size) */
static pthread_barrier_t ready;
static struct rnode *volatile g_handoff;
struct entry *g_keep[2];
/* The addresses of the threads' chunks for the debugger, disguised so no scan takes them for
 * pointers: (void *)(g_tnode_key ^ DISGUISE). */
#define DISGUISE 0x5a5a5a5a5a5a5a5aUL
uintptr_t g_tnode_key, g_rnode_key;

__attribute__((noinline)) void stop(void)
{
    __asm__ volatile("" ::: "memory");
}

/* Zeroes the dead stack below the caller, so no stale copy of a leaked pointer survives there. */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char pad[16384];
    memset((char *)pad, 0, sizeof pad);
}

__attribute__((noinline)) static void lose_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 3; i++) {
        struct node *n = malloc(sizeof(struct node));
        printf("probe list_node line=%d\n", __LINE__ - 1);
        n->value = i;
        n->next = head;
        head = n;
    }
    printf("probe list size=%zu\n", sizeof(struct node));
}

__attribute__((noinline)) static void lose_cycle(void)
{
    struct pair *a = malloc(sizeof(struct pair));
    printf("probe cycle line=%d size=%zu\n", __LINE__ - 1, sizeof(struct pair));
    struct pair *b = malloc(sizeof(struct pair));
    a->other = b;
    b->other = a;
    a->tag = b->tag = 7;
}

__attribute__((noinline)) static void lose_holder(void)
{
    struct holder *h = malloc(sizeof(struct holder));
    printf("probe holder line=%d size=%zu\n", __LINE__ - 1, sizeof(struct holder));
    h->payload = malloc(sizeof(struct payload));
    printf("probe payload line=%d size=%zu\n", __LINE__ - 1, sizeof(struct payload));
    h->id = 1;
}

__attribute__((noinline)) static void hide(void)
{
    size_t n = 40 + (size_t)getpid() % 1; /* a computed size: no type for this site */
    g_untyped = malloc(n);
    printf("probe untyped line=%d size=%zu\n", __LINE__ - 1, n);
    memset(g_untyped, 0, n);
    struct hidden *h = malloc(sizeof(struct hidden));
    printf("probe hidden line=%d size=%zu\n", __LINE__ - 1, sizeof(struct hidden));
    memcpy((char *)g_untyped + 16, &h, sizeof h);
}

__attribute__((noinline)) static void fill_cache(void)
{
    struct entry *e1 = malloc(sizeof(struct entry));
    printf("probe entry line=%d size=%zu\n", __LINE__ - 1, sizeof(struct entry));
    struct entry *e2 = malloc(sizeof(struct entry));
    e1->key = 12;
    e1->next = e2;
    e2->key = 28;
    e2->next = NULL;
    g_cache.n = 2;
    g_cache.buckets[12] = e1;
    printf("probe chain e1=%p e2=%p\n", (void *)e1, (void *)e2);
    for (int i = 0; i < 2; i++) {
        g_keep[i] = malloc(sizeof(struct entry));
        printf("probe kept line=%d\n", __LINE__ - 1);
    }
}

static void *stack_holder(void *arg)
{
    (void)arg;
    struct tnode *volatile mine = malloc(sizeof(struct tnode));
    printf("probe tnode line=%d size=%zu addr=%p\n", __LINE__ - 1, sizeof(struct tnode),
           (void *)mine);
    g_tnode_key = (uintptr_t)mine ^ DISGUISE;
    fflush(stdout);
    pthread_barrier_wait(&ready);
    for (;;)
        pause();
    return (void *)mine;
}

/* Moves the only pointer to a struct rnode into r15 and blocks in the pause system call (which
 * keeps r15), never returning. */
static void *register_holder(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&ready);
    __asm__ volatile("mov %0, %%r15\n\t"
                     "movq $0, %0\n\t"
                     "1: mov $34, %%eax\n\t" /* SYS_pause */
                     "syscall\n\t"
                     "jmp 1b\n\t"
                     : "+m"(g_handoff)
                     :
                     : "r15", "rax", "rcx", "r11", "memory");
    return NULL;
}

__attribute__((noinline)) static void start_threads(void)
{
    pthread_t t1, t2;
    g_handoff = malloc(sizeof(struct rnode));
    printf("probe rnode line=%d size=%zu addr=%p\n", __LINE__ - 1, sizeof(struct rnode),
           (void *)g_handoff);
    g_rnode_key = (uintptr_t)g_handoff ^ DISGUISE;
    pthread_barrier_init(&ready, NULL, 3);
    pthread_create(&t1, NULL, stack_holder, NULL);
    pthread_create(&t2, NULL, register_holder, NULL);
    pthread_barrier_wait(&ready);
    while (g_handoff != NULL)
        usleep(1000);
}

__attribute__((noinline)) static void grow(void)
{
    for (int i = 0; i < 5; i++) {
        struct grow *gr = malloc(sizeof(struct grow));
        printf("probe grow line=%d size=%zu\n", __LINE__ - 1, sizeof(struct grow));
        gr->v[0] = i;
        g_cache.buckets[i] = (struct entry *)(void *)gr; /* kept reachable, typed as entries */
    }
    free(g_keep[0]);
    free(g_keep[1]);
    g_keep[0] = g_keep[1] = NULL;
}

int main(int argc, char **argv)
{
    int at_exit = argc > 1 && strncmp(argv[1], "exit", 4) == 0;
    int threads = !(argc > 1 && strcmp(argv[1], "exit") == 0);
    setvbuf(stdout, NULL, _IOLBF, 0);
    lose_list();
    lose_cycle();
    lose_holder();
    hide();
    fill_cache();
    if (threads) start_threads();
    printf("probe ready\n");
    scrub_stack();
    if (at_exit) return 0;
    if (argc > 1 && strcmp(argv[1], "abort") == 0) abort();
    stop();
    grow();
    scrub_stack();
    stop();
    return 0;
}
