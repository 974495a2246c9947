/* yield_rr.c — sched_yield between threads on one CPU: every call returns 0, and the
 * threads take turns. argv[1]: threads (default 3), argv[2]: yields each (default 300),
 * argv[3] "alarm": a 1 ms ITIMER_REAL interrupts the yields (a timer is due at many of
 * them: CloudOS's direct switch must leave those to the scheduler loop).
 * stdout (compared with Linux): the counts, and whether the process's CPU time (getrusage,
 * user + system) stayed within the wall time the yields took (one CPU). stderr: the longest run of one thread's
 * turns in the shared log, which CloudOS's test bounds (Linux does not promise it). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

static int threads, yields;
static int *order;
static int pos;
static pthread_barrier_t start;
static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void *yielder(void *arg)
{
    long id = (long)arg, bad = 0;
    pthread_barrier_wait(&start);
    for (int i = 0; i < yields; i++) {
        order[__atomic_fetch_add(&pos, 1, __ATOMIC_SEQ_CST)] = (int)id;
        if (sched_yield() != 0)
            bad++;
    }
    return (void *)bad;
}

int main(int argc, char **argv)
{
    threads = argc > 1 ? atoi(argv[1]) : 3;
    yields = argc > 2 ? atoi(argv[2]) : 300;
    int alarm = argc > 3 && strcmp(argv[3], "alarm") == 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);  /* inherited by the threads */
    order = calloc((size_t)threads * yields, sizeof *order);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (order == NULL || tids == NULL || threads < 1 || yields < 1)
        return 2;
    if (alarm) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval every = {{0, 1000}, {0, 1000}};
        setitimer(ITIMER_REAL, &every, NULL);
    }
    struct rusage before, after;
    struct timespec t0, t1;
    getrusage(RUSAGE_SELF, &before);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    for (long i = 0; i < threads; i++)
        if (pthread_create(&tids[i], NULL, yielder, (void *)i) != 0)
            return 3;
    long bad = 0;
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(tids[i], &r);
        bad += (long)r;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &after);
    double cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) + (after.ru_stime.tv_sec - before.ru_stime.tv_sec)
        + ((after.ru_utime.tv_usec - before.ru_utime.tv_usec) + (after.ru_stime.tv_usec - before.ru_stime.tv_usec)) / 1e6;
    double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (alarm) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
    }
    int streak = 0, longest = 0;
    for (int i = 0; i < pos; i++) {
        streak = i > 0 && order[i] == order[i - 1] ? streak + 1 : 1;
        longest = streak > longest ? streak : longest;
    }
    printf("threads %d, yields %d each, logged %d, not 0: %ld\n", threads, yields, pos, bad);
    /* (a quarter over: CloudOS measures slices on the host's clock, and a loaded host
     * stretches them a little; before its fix the direct switch counted ~1.7x) */
    printf("cpu time within wall time: %s\n", cpu <= wall * 1.25 + 0.005 ? "yes" : "no");
    fprintf(stderr, "longest run: %d\n", longest);
    fprintf(stderr, "cpu %.6f wall %.6f\n", cpu, wall);
    return bad != 0;
}
