/* meta-load-bench: start-up time of a program, median of N interleaved runs, for these
 * configurations: no runtime, the runtime without metadata (ALLOCS_META=off), the runtime loading
 * PROG.allocsmeta, and (given OLDLIB) another build of the runtime loading it, for a before/after
 * comparison in the same run. For each: the median wall time and the median CPU time (user + sys
 * of the child, from wait4), which load on the machine inflates much less than wall time. Then the
 * runtime's own measure of the load (ALLOCS_META_STATS=1: wall and thread CPU time of the load
 * alone), median over N more runs. Usage: meta-load-bench RUNS LIB PROG [OLDLIB] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(double), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs prog in env; wall and CPU time in ms; stderr (up to cap bytes) into err if given. */
static void run(const char *prog, char *const env[], double *wall, double *cpu, char *err,
                size_t cap)
{
    int fds[2] = {-1, -1};
    if (err && pipe(fds) != 0) exit(1);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        if (err) {
            dup2(fds[1], 2);
            close(fds[0]);
            close(fds[1]);
        }
        char *argv[] = {(char *)prog, NULL};
        execve(prog, argv, env);
        _exit(127);
    }
    size_t got = 0;
    if (err) {
        close(fds[1]);
        ssize_t r;
        while ((r = read(fds[0], err + got, cap - 1 - got)) > 0)
            got += (size_t)r;
        close(fds[0]);
        err[got] = 0;
    }
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    *wall = now_ms() - t0;
    *cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s failed\n", prog);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) return 2;
    int n = atoi(argv[1]);
    if (n < 1) return 2;
    char preload[4096], old_preload[4096];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", argv[2]);
    snprintf(old_preload, sizeof old_preload, "LD_PRELOAD=%s", argc == 5 ? argv[4] : "");
    char *plain[] = {"PATH=/usr/bin:/bin", NULL};
    char *off[] = {"PATH=/usr/bin:/bin", preload, "ALLOCS_META=off", NULL};
    /* The program asks nothing: ALLOCS_META_LAZY=0 loads its metadata at start-up, as a first
     * query would (the load measured is the same). */
    char *on[] = {"PATH=/usr/bin:/bin", preload, "ALLOCS_META_LAZY=0", NULL};
    char *old[] = {"PATH=/usr/bin:/bin", old_preload, NULL};
    char *stats[] = {"PATH=/usr/bin:/bin", preload, "ALLOCS_META_STATS=1", "ALLOCS_META_LAZY=0",
                     NULL};
    char *const *envs[] = {plain, off, on, old};
    const char *names[] = {"plain (no runtime)", "runtime, ALLOCS_META=off", "runtime + metadata",
                           "OLDLIB + metadata"};
    int k_n = argc == 5 ? 4 : 3;
    double *w[4], *c[4], mw[4], mc[4];
    for (int k = 0; k < k_n; k++) {
        w[k] = calloc(n, sizeof(double));
        c[k] = calloc(n, sizeof(double));
    }
    for (int i = 0; i < n; i++) /* interleaved, so load changes hit every configuration alike */
        for (int k = 0; k < k_n; k++)
            run(argv[3], envs[k], &w[k][i], &c[k][i], NULL, 0);
    for (int k = 0; k < k_n; k++) {
        mw[k] = median(w[k], n);
        mc[k] = median(c[k], n);
        printf("%-26s wall median %6.2f ms [%.2f..%.2f] %5.2fx plain;  cpu median %6.2f ms "
               "%5.2fx plain\n",
               names[k], mw[k], w[k][0], w[k][n - 1], mw[k] / mw[0], mc[k], mc[k] / mc[0]);
    }
    printf("metadata load (median on - off): wall %.2f ms, cpu %.2f ms\n", mw[2] - mw[1],
           mc[2] - mc[1]);

    /* The runtime's own measure: "metadata: F files, T types loaded in W ms (cpu C ms)". */
    double *lw = calloc(n, sizeof(double)), *lc = calloc(n, sizeof(double));
    int got = 0;
    char err[4096];
    for (int i = 0; i < n; i++) {
        double a, b;
        run(argv[3], stats, &a, &b, err, sizeof err);
        /* One line per loading pass (start-up, each dlopen): the run's total. */
        double sw = 0, sc = 0;
        int lines = 0;
        for (const char *p = err; (p = strstr(p, "loaded in ")); p++) {
            double a1, b1;
            if (sscanf(p, "loaded in %lf ms (cpu %lf ms)", &a1, &b1) == 2) {
                sw += a1;
                sc += b1;
                lines++;
            }
        }
        if (lines) {
            lw[got] = sw;
            lc[got] = sc;
            got++;
        }
    }
    if (got) {
        double w_med = median(lw, got), c_med = median(lc, got);
        printf("runtime's own measure (ALLOCS_META_STATS=1, all passes of a run, %d runs): wall "
               "median %.3f ms "
               "[%.3f..%.3f], thread cpu median %.3f ms [%.3f..%.3f]\n",
               got, w_med, lw[0], lw[got - 1], c_med, lc[0], lc[got - 1]);
    }

    /* For scale: first-touching fresh memory is what costs on a VM. */
    size_t bytes = 3u << 20;
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now_ms();
        char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(m, i + 1, bytes);
        double d = now_ms() - t0;
        munmap(m, bytes);
        best = d < best ? d : best;
    }
    printf("baseline: mmap + first write of 3 MiB of fresh memory (4 KiB pages): %.2f ms here\n",
           best);
    return 0;
}
