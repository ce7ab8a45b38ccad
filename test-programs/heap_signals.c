/* heap_signals: a signal handler that queries the runtime (as a crash handler or a sampling
 * profiler would) interrupts a loop of small and large malloc/realloc/free every 100 us, often
 * inside the runtime's own malloc path. Nothing may deadlock or crash; the handler's answers
 * for live chunks must be right or "unknown", never wrong; afterwards walk and counters agree.
 * (It does not malloc in the handler: glibc itself can deadlock on that.) */
#include <allocs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile unsigned long handled, checked, wrong;
static char *volatile slots[256];
static volatile size_t sizes[256];

static void on_alarm(int sig)
{
    (void)sig;
    unsigned s = (unsigned)(handled * 7919u) % 256;
    char *p = slots[s];
    size_t n = sizes[s];
    handled++;
    /* slots[s] may be mid-update by the interrupted code: only check a consistent pair. */
    if (!p || n == 0) return;
    checked++;
    char *base = alloc_get_base(p + n - 1);
    if (base && base != p) wrong++;
}

static int count(const struct alloc_walk_entry *e, void *arg)
{
    (void)e;
    ++*(long *)arg;
    return 0;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 100}, {0, 100}};
    setitimer(ITIMER_REAL, &it, NULL);

    unsigned long seed = 12345;
    for (long i = 0; i < 2000000; i++) {
        seed = seed * 6364136223846793005ul + 1442695040888963407ul;
        unsigned s = (unsigned)(seed >> 33) % 256;
        size_t n = (seed >> 20) % 16 == 0 ? 40000 + (seed >> 40) % 50000 : 8 + (seed >> 40) % 200;
        char *old = slots[s];
        sizes[s] = 0; /* the handler skips this slot while it changes */
        if (!old) {
            slots[s] = malloc(n);
        } else if ((seed >> 10) % 3 == 0) {
            slots[s] = realloc(old, n);
        } else {
            slots[s] = NULL;
            free(old);
            continue;
        }
        sizes[s] = n;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    long walked = 0;
    alloc_walk_live(count, &walked);
    struct alloc_stats st;
    alloc_get_stats(&st);
    printf("probe signals handled_some=%d checked_some=%d wrong=%lu stats_match=%d\n", handled > 10,
           checked > 10, wrong, (long)st.live_chunks == walked);
    for (int s = 0; s < 256; s++)
        free(slots[s]);
    printf("done\n");
    return 0;
}
