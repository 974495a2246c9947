/* par_compute.c — N workers computing the same independent loop: as processes
 * (fork; they share nothing) or as threads of one process. Prints the checksum.
 *     par_compute procs|threads N ITERATIONS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long iterations;

static unsigned long work(void)
{
    unsigned long x = 88172645463325252UL, sum = 0;
    for (long i = 0; i < iterations; i++) {  /* xorshift: no memory traffic, no syscalls */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += x & 0xff;
    }
    return sum;
}

static void *thread_main(void *out)
{
    *(unsigned long *)out = work();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "procs") && strcmp(argv[1], "threads"))) {
        fprintf(stderr, "usage: par_compute procs|threads N ITERATIONS\n");
        return 2;
    }
    int n = atoi(argv[2]);
    iterations = atol(argv[3]);
    unsigned long total = 0;
    if (strcmp(argv[1], "procs") == 0) {
        int fds[2];
        if (pipe(fds))
            return 1;
        for (int i = 0; i < n; i++)
            if (fork() == 0) {
                unsigned long r = work();
                if (write(fds[1], &r, sizeof r) != sizeof r)
                    _exit(1);
                _exit(0);
            }
        close(fds[1]);
        unsigned long r;
        while (read(fds[0], &r, sizeof r) == sizeof r)
            total += r;
        while (wait(NULL) > 0)
            ;
    } else {
        pthread_t t[64];
        unsigned long r[64];
        for (int i = 0; i < n && i < 64; i++)
            pthread_create(&t[i], NULL, thread_main, &r[i]);
        for (int i = 0; i < n && i < 64; i++) {
            pthread_join(t[i], NULL);
            total += r[i];
        }
    }
    printf("%lu\n", total);
    return 0;
}
