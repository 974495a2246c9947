/* conform.c — calls CPython's regression tests (Lib/test) found differing from Linux: each section one area (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"
#include "section.h"

/* sched_getaffinity's size and pid checks (CPython grows its buffer while EINVAL),
 * sched_setaffinity's, sched_rr_get_interval's errors and range. */
static void sched_calls(void)
{
    unsigned long mask[16];
    struct timespec ts;
    const long sizes[] = {1, 4, 8, 16, 128};
    for (int i = 0; i < 5; i++) {
        char label[64];
        snprintf(label, sizeof label, "getaffinity(-1, %ld)", sizes[i]);
        SHOW(label, syscall(SYS_sched_getaffinity, -1, sizes[i], mask));
    }
    SHOW("getaffinity(999999, 1)", syscall(SYS_sched_getaffinity, 999999, 1, mask));
    SHOW("getaffinity(0, 128)", syscall(SYS_sched_getaffinity, 0, 128, mask) > 0);
    SHOW("setaffinity(-1)", syscall(SYS_sched_setaffinity, -1, 8, mask));
    SHOW("setaffinity(999999, bad mask)", syscall(SYS_sched_setaffinity, 999999, 8, (void *)8));
    SHOW("setaffinity(999999)", syscall(SYS_sched_setaffinity, 999999, 8, mask));
    long r = syscall(SYS_sched_rr_get_interval, 0, &ts);
    printf("rr_get_interval(0): %ld, under a second: %d\n", r,
           r == 0 && ts.tv_sec == 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
    SHOW("rr_get_interval(-1)", syscall(SYS_sched_rr_get_interval, -1, &ts));
    SHOW("rr_get_interval(999999)", syscall(SYS_sched_rr_get_interval, 999999, &ts));
    SHOW("rr_get_interval(0, bad)", syscall(SYS_sched_rr_get_interval, 0, (void *)8));
    struct sched_param sp = {.sched_priority = 1};
    if (sched_setscheduler(0, SCHED_RR, &sp) == 0) {
        r = syscall(SYS_sched_rr_get_interval, 0, &ts);
        printf("SCHED_RR interval: %ld, above 0 and under a second: %d\n", r,
               r == 0 && ts.tv_sec == 0 && ts.tv_nsec > 0);
        sched_setscheduler(0, SCHED_FIFO, &sp);
        r = syscall(SYS_sched_rr_get_interval, 0, &ts);
        printf("SCHED_FIFO interval: %ld %ld.%09ld\n", r, (long)ts.tv_sec, ts.tv_nsec);
        sp.sched_priority = 0;
        sched_setscheduler(0, SCHED_OTHER, &sp);
    } else {
        printf("SCHED_RR not permitted\n");
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("sched"))
        sched_calls();
    return 0;
}
