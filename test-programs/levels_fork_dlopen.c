/* levels_fork_dlopen: fork while another thread is inside dlopen or dlclose. glibc 2.36 leaves
 * the loader's list lock held in the child if another thread held it at the fork; the child's
 * queries must still answer (from the tables it inherited) and never wait for that lock. A
 * thread opens and closes a library in a loop; the main thread forks FORKS children, each asks
 * about its own mapping and a static and exits; a child that has not exited after 10 s is
 * killed and counted as hung. Prints `probe fork_dlopen hung=N failed=N forks=N`.
 * Usage: levels_fork_dlopen DSO [FORKS] */
#define _GNU_SOURCE
#include <allocs.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static const char *dso_path;
static int static_var = 7;

static void *loader(void *arg)
{
    (void)arg;
    while (!stop) {
        void *h = dlopen(dso_path, RTLD_NOW);
        if (h) dlclose(h);
    }
    return NULL;
}

static int child(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 2 * (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct alloc_info info;
    int ok = p != MAP_FAILED && alloc_describe(p + page, &info) == 0 && info.base == p &&
             info.size == 2 * (size_t)page && strcmp(info.allocator->name, "mmap") == 0;
    ok = ok && alloc_describe(&static_var, &info) == 0 &&
         strcmp(info.allocator->name, "static") == 0 && info.base == &static_var;
    return ok ? 0 : 1;
}

/* waitpid with a deadline: 0 exited with status 0, 1 failed, 2 hung (killed). */
static int reap(pid_t pid)
{
    for (int waited_ms = 0;; waited_ms++) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
        if (r < 0) return 1;
        if (waited_ms >= 10000) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return 2;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    dso_path = argv[1];
    int forks = argc > 2 ? atoi(argv[2]) : 300;
    pthread_t t;
    pthread_create(&t, NULL, loader, NULL);
    int hung = 0, failed = 0;
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(child());
        if (pid < 0) {
            failed++;
            continue;
        }
        int r = reap(pid);
        hung += r == 2;
        failed += r == 1;
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("probe fork_dlopen hung=%d failed=%d forks=%d\n", hung, failed, forks);
    return 0;
}
