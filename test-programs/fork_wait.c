/* A signal handler that maps memory and queries it while another thread's fork() is stuck
 * waiting for a lock that the handler's own thread holds: the deadlock the runtime must avoid.
 *
 * glibc's fork runs the atfork handlers (the runtime's take its locks) and then takes stdio's
 * list lock. Thread "flusher" holds that lock inside fflush(NULL), blocked writing to a full
 * pipe. Main forks and waits for it. Thread "helper" then signals the flusher; the handler
 * mmaps, queries and unmaps while the fork holds the runtime's locks, and only after the
 * handler has returned does the helper drain the pipe so the flusher, and then the fork, can
 * go on. The child and the parent then query what the handler left mapped.
 * Every step waits for the state it needs, never for a time: on a loaded machine a sleep let
 * main fork before the flusher held the lock (the fork then went through and the handler ran
 * after it: handler_ok=0), and a drain that stopped after 200 idle milliseconds could leave
 * the flusher blocked on a full pipe, and the fork with it, for ever.
 * Prints `probe fork_wait ...`; a deadlock is the test's timeout. */
#define _GNU_SOURCE
#include <allocs.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];
static FILE *pipe_out;
static volatile int forking, handler_done, handler_ok;
static char *kept; /* mapped by the handler and left mapped */
static long page;

static int is_mapping(const void *p, const void *base, size_t size)
{
    struct alloc_info info;
    return alloc_describe(p, &info) == 0 && strcmp(info.allocator->name, "mmap") == 0 &&
           info.base == base && info.size == size;
}

static void on_usr1(int sig)
{
    (void)sig;
    char *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = p != MAP_FAILED && is_mapping(p + page, p, 3 * page);
    if (ok) {
        munmap(p + 2 * page, page); /* the head stays: the answer shrinks with it */
        ok = is_mapping(p, p, 2 * page);
        kept = p;
    }
    handler_ok = ok && forking; /* the fork was still waiting all along */
    handler_done = 1;
}

static void *flusher(void *arg)
{
    (void)arg;
    fflush(NULL); /* blocks in write() holding stdio's list lock until the helper reads */
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static pid_t main_tid;
static char data[(1 << 17) - 1]; /* what the flusher writes */

/* The system call main's thread is blocked in (/proc/self/task/TID/syscall's first field), or
 * -1 when the file cannot be read (then a long sleep stands in). */
static long main_syscall(void)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)main_tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    return strtol(buf, NULL, 10);
}

static void *helper(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    while (!forking)
        sleep_ms(1);
    /* Main is inside fork, past the atfork handlers (they take the runtime's locks by spinning
     * and yielding, never with a futex), once its thread waits on a futex: stdio's list lock,
     * which the flusher holds. */
    long call;
    while ((call = main_syscall()) != SYS_futex && call != -1)
        sleep_ms(1);
    if (call == -1) sleep_ms(2000);
    pthread_kill(target, SIGUSR1);
    while (!handler_done)
        sleep_ms(1);
    char buf[65536];
    for (size_t got = 0; got < sizeof data;) { /* everything the flusher writes */
        ssize_t n = read(pipefd[0], buf, sizeof buf);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || errno != EINTR)
            break;
    }
    return NULL;
}

int main(void)
{
    page = sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);

    if (pipe(pipefd) != 0) return 2;
    fcntl(pipefd[1], F_SETPIPE_SZ, 4096);
    pipe_out = fdopen(pipefd[1], "w");
    static char big[1 << 17];
    memset(big, 'x', sizeof big);
    setvbuf(pipe_out, big, _IOFBF, sizeof big);
    memset(data, 'y', sizeof data);
    fwrite(data, 1, sizeof data, pipe_out); /* buffered: fflush will block on the full pipe */

    pthread_t f, h;
    main_tid = (pid_t)syscall(SYS_gettid);
    pthread_create(&f, NULL, flusher, NULL);
    /* Bytes in the pipe: the flusher is writing, inside fflush, and so holds stdio's list lock
     * until the helper drains the pipe. */
    int queued = 0;
    while (ioctl(pipefd[0], FIONREAD, &queued) == 0 && queued == 0)
        sleep_ms(1);
    pthread_create(&h, NULL, helper, &f);

    forking = 1;
    pid_t pid = fork();
    if (pid == 0) { /* the child: what the handler mapped during the fork is known here too */
        _exit(kept && is_mapping(kept + page, kept, 2 * page) ? 0 : 1);
    }
    forking = 0;
    int st = 0,
        child_ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    pthread_join(h, NULL);
    pthread_join(f, NULL);
    int parent_ok = kept && is_mapping(kept + page, kept, 2 * page);
    printf("probe fork_wait handler_ok=%d child_ok=%d parent_ok=%d\n", handler_ok, child_ok,
           parent_ok);
    return 0;
}
