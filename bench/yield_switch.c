/* yield_switch.c — context-switch benchmark: two threads pinned to one CPU each call sched_yield() N times,
 * so they alternate; cost per switch = time / (2N). Pinning is best effort (ignored where unsupported). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static long n;

static void *yielder(void *arg)
{
    (void)arg;
    long done = 0;
    for (long i = 0; i < n; i++)
        done += sched_yield() == 0;
    return (void *)done;
}

int main(int argc, char **argv)
{
    n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);  /* inherited by the thread created below */
    pthread_t t;
    void *other;
    if (pthread_create(&t, NULL, yielder, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    long mine = (long)yielder(NULL);
    pthread_join(t, &other);
    printf("yield_switch n=%ld yields=%ld+%ld\n", n, mine, (long)other);
    return mine == n && (long)other == n ? 0 : 1;
}
