/* files_timerfd.c — timerfd: a one-shot and a periodic timer read blocking, expirations counted while nobody reads, EAGAIN when none, gettime while armed and disarmed, absolute deadlines, poll and epoll readiness, and the errors (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int arm(int fd, long value_ms, long interval_ms, int flags)
{
    struct itimerspec its = {
        .it_interval = {interval_ms / 1000, interval_ms % 1000 * 1000000},
        .it_value = {value_ms / 1000, value_ms % 1000 * 1000000},
    };
    return timerfd_settime(fd, flags, &its, NULL);
}

static void oneshot(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    SHOW("arm 100 ms", arm(fd, 100, 0, 0));
    uint64_t n = 0;
    SHOW("blocking read", read(fd, &n, sizeof n));
    double ms = ms_since(&t0);
    printf("expirations: %llu, waited 90..10000 ms: %s\n", (unsigned long long)n,
           ms >= 90 && ms < 10000 ? "yes" : "no");
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    printf("disarmed after firing: %s\n",
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 ? "yes" : "no");
    fcntl(fd, F_SETFL, O_NONBLOCK);
    SHOW("read again", read(fd, &n, sizeof n));
    close(fd);
}

static void periodic(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("FD_CLOEXEC: %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    uint64_t n = 0;
    SHOW("read before arming", read(fd, &n, sizeof n));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    arm(fd, 20, 20, 0);
    usleep(250 * 1000);
    read(fd, &n, sizeof n);
    /* at most one per 20 ms that really passed: a loaded host may stretch the sleep */
    printf("expirations in 250 ms at 20 ms: at least 8, at most one per 20 ms: %s\n",
           n >= 8 && n <= ms_since(&t0) / 20 + 1 ? "yes" : "no");
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    printf("interval: %ld.%09ld, next within 20 ms: %s\n", (long)cur.it_interval.tv_sec,
           cur.it_interval.tv_nsec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000 ? "yes" : "no");
    struct itimerspec old;
    struct itimerspec off = {{0, 0}, {0, 0}};
    SHOW("disarm", timerfd_settime(fd, 0, &off, &old));
    printf("old interval: %ld ns\n", old.it_interval.tv_nsec);
    usleep(50 * 1000);
    read(fd, &n, sizeof n);
    SHOW("read after disarming", read(fd, &n, sizeof n));
    close(fd);
}

static void absolute(void)
{
    int fd = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec its = {{0, 0}, {now.tv_sec, now.tv_nsec}};
    its.it_value.tv_nsec += 80 * 1000000;
    if (its.it_value.tv_nsec >= 1000000000) {
        its.it_value.tv_sec++;
        its.it_value.tv_nsec -= 1000000000;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    SHOW("arm at now + 80 ms (TFD_TIMER_ABSTIME)", timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
    uint64_t n = 0;
    read(fd, &n, sizeof n);
    double ms = ms_since(&t0);
    printf("expirations: %llu, waited 60..10000 ms: %s\n", (unsigned long long)n,
           ms >= 60 && ms < 10000 ? "yes" : "no");
    its.it_value.tv_sec -= 10;
    SHOW("arm in the past", timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
    SHOW("read at once", read(fd, &n, sizeof n));
    printf("expirations: %llu\n", (unsigned long long)n);
    close(fd);
}

static void readiness(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    SHOW("poll unarmed, 0 ms", poll(&p, 1, 0));
    arm(fd, 60, 0, 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    SHOW("poll until it fires", poll(&p, 1, 2000));
    printf("revents: %#x, waited >= 40 ms: %s\n", p.revents, ms_since(&t0) >= 40 ? "yes" : "no");
    uint64_t n;
    read(fd, &n, sizeof n);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 5};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    arm(fd, 30, 0, 0);
    struct epoll_event out;
    SHOW("epoll_wait until it fires", epoll_wait(ep, &out, 1, 2000));
    printf("data: %llu events: %#x\n", (unsigned long long)out.data.u64, out.events);
    close(fd);
}

static void errors(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    char small[4];
    struct itimerspec bad = {{0, 0}, {0, 1000000000}};
    SHOW("clock 99", timerfd_create(99, 0));
    SHOW("bad flags", timerfd_create(CLOCK_MONOTONIC, 1));
    SHOW("settime nsec 1e9", timerfd_settime(fd, 0, &bad, NULL));
    bad.it_value.tv_nsec = 0;
    SHOW("settime bad flags", timerfd_settime(fd, 8, &bad, NULL));
    SHOW("settime on stdin", timerfd_settime(0, 0, &bad, NULL));
    SHOW("settime bad fd", timerfd_settime(99, 0, &bad, NULL));
    SHOW("read 4 bytes", read(fd, small, sizeof small));
    uint64_t v = 1;
    SHOW("write", write(fd, &v, sizeof v));
    SHOW("lseek", lseek(fd, 0, SEEK_SET));
    close(fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("oneshot"))
        oneshot();
    if (section("periodic"))
        periodic();
    if (section("absolute"))
        absolute();
    if (section("readiness"))
        readiness();
    if (section("errors"))
        errors();
    return 0;
}
