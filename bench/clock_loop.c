/* clock_loop.c — clock-read benchmark: N clock_gettime(CLOCK_MONOTONIC) through libc (the
 * vDSO where the kernel gives one; N from argv[1], default 1000000). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000, back = 0;
    struct timespec last = {0, 0}, now;
    for (long i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        back += now.tv_sec < last.tv_sec || (now.tv_sec == last.tv_sec && now.tv_nsec < last.tv_nsec);
        last = now;
    }
    printf("clock reads=%ld monotonic=%s\n", n, back ? "no" : "yes");
    return back != 0;
}
