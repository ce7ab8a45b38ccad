/* meta-load-bench: start-up time of a program, median of N runs, for three configurations given
 * on the command line as environments: no runtime, the runtime without metadata (ALLOCS_META=off)
 * and the runtime loading PROG.allocsmeta. Usage: meta-load-bench RUNS LIB PROG */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static double run(const char *prog, char *const env[])
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)prog, NULL};
        execve(prog, argv, env);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s failed\n", prog);
        exit(1);
    }
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    if (argc != 4) return 2;
    int n = atoi(argv[1]);
    char preload[4096];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", argv[2]);
    char *plain[] = {"PATH=/usr/bin:/bin", NULL};
    char *off[] = {"PATH=/usr/bin:/bin", preload, "ALLOCS_META=off", NULL};
    char *on[] = {"PATH=/usr/bin:/bin", preload, NULL};
    char *const *envs[] = {plain, off, on};
    const char *names[] = {"plain (no runtime)", "runtime, ALLOCS_META=off", "runtime + metadata"};
    double *t[3], med[3];
    for (int k = 0; k < 3; k++)
        t[k] = calloc(n, sizeof(double));
    for (int i = 0; i < n; i++) /* interleaved, so load changes hit all three alike */
        for (int k = 0; k < 3; k++)
            t[k][i] = run(argv[3], envs[k]);
    for (int k = 0; k < 3; k++) {
        qsort(t[k], n, sizeof(double), cmp);
        med[k] = t[k][n / 2];
        printf("%-28s median %.2f ms [%.2f..%.2f]  %.2fx plain\n", names[k], med[k], t[k][0],
               t[k][n - 1], med[k] / med[0]);
    }
    printf("metadata load (median difference on - off): %.2f ms\n", med[2] - med[1]);
    /* For scale: loading is mostly filling fresh memory (the file's copy, then the struct
     * uniqtype and member arrays), and first-touching fresh pages is what costs on a VM. */
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
    printf("baseline: mmap + first write of 3 MiB of fresh memory: %.2f ms here\n", best);
    return 0;
}
