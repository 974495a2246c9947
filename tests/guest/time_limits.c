/* time_limits.c — hostile time values: timeouts centuries away, out-of-range fields, bad clock ids
 * and bad pointers, for every call that takes a time. Linux sleeps as asked (a wait past
 * ~292 years is clamped to KTIME_MAX), so a huge wait is ended here by alarm(1) and must give
 * EINTR; malformed values give EINVAL, bad pointers EFAULT. The clock-setting calls are only
 * given values Linux rejects before acting (the native run may have CAP_SYS_TIME). Raw
 * syscall(2) throughout: glibc answers some of these calls in the vDSO, where a bad pointer
 * is a crash, not EFAULT. Sections: argv[1] picks one, none runs all but the forever_*
 * ones, which block for ever in one call with nothing to wake them (the test kills them). */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#define BAD_PTR ((void *)1)
#define KERNEL_PTR ((void *)0xffff800000000000UL)
#define FAR {LONG_MAX, 999999999}  /* a timespec ~292 billion years away */

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

/* SIGALRM runs on_alarm and interrupts (no SA_RESTART), so a blocked call ends with EINTR. */
static void catch_alarm(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, 0);
}

static double now(void)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run a blocking call with alarm(1) pending: its result, and whether it waited for the alarm. */
#define INTERRUPTED(label, expr) do { \
        int before_ = alarms; double t0_ = now(); \
        alarm(1); \
        SHOW(label, expr); \
        double waited_ = now() - t0_; \
        alarm(0); \
        printf("  waited for the alarm: %s\n", \
               alarms == before_ + 1 && waited_ > 0.5 && waited_ < 20 ? "yes" : "no"); \
    } while (0)

static void sleeps(void)
{
    struct timespec far = FAR, rem;
    struct timespec huge_abs = {LONG_MAX / 2, 0};
    INTERRUPTED("nanosleep {LONG_MAX, 999999999}", syscall(SYS_nanosleep, &far, &rem));
    INTERRUPTED("clock_nanosleep MONOTONIC relative far",
                syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &far, 0));
    INTERRUPTED("clock_nanosleep REALTIME TIMER_ABSTIME far",
                syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, &far, 0));
    INTERRUPTED("clock_nanosleep MONOTONIC TIMER_ABSTIME LONG_MAX/2",
                syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &huge_abs, 0));
    INTERRUPTED("clock_nanosleep BOOTTIME relative far",
                syscall(SYS_clock_nanosleep, CLOCK_BOOTTIME, 0, &far, 0));
}

static void sleep_invalid(void)
{
    struct timespec neg_ns = {0, -1}, big_ns = {0, 1000000000}, neg_s = {-1, 0};
    struct timespec min_s = {LONG_MIN, 0}, past = {1, 0}, zero = {0, 0};
    SHOW("nanosleep nsec -1", syscall(SYS_nanosleep, &neg_ns, 0));
    SHOW("nanosleep nsec 1e9", syscall(SYS_nanosleep, &big_ns, 0));
    SHOW("nanosleep sec -1", syscall(SYS_nanosleep, &neg_s, 0));
    SHOW("nanosleep sec LONG_MIN", syscall(SYS_nanosleep, &min_s, 0));
    SHOW("nanosleep NULL", syscall(SYS_nanosleep, 0, 0));
    SHOW("nanosleep bad pointer", syscall(SYS_nanosleep, BAD_PTR, 0));
    SHOW("nanosleep kernel pointer", syscall(SYS_nanosleep, KERNEL_PTR, 0));
    SHOW("nanosleep zero", syscall(SYS_nanosleep, &zero, 0));
    SHOW("clock_nanosleep clock 100", syscall(SYS_clock_nanosleep, 100, 0, &zero, 0));
    SHOW("clock_nanosleep clock INT_MAX", syscall(SYS_clock_nanosleep, INT_MAX, 0, &zero, 0));
    SHOW("clock_nanosleep THREAD_CPUTIME", syscall(SYS_clock_nanosleep,
                                                   CLOCK_THREAD_CPUTIME_ID, 0, &zero, 0));
    SHOW("clock_nanosleep nsec -1", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &neg_ns, 0));
    SHOW("clock_nanosleep ABSTIME sec -1",
         syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &neg_s, 0));
    SHOW("clock_nanosleep ABSTIME in the past",
         syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &past, 0));
    SHOW("clock_nanosleep bad pointer", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, BAD_PTR, 0));
}

static void selects(void)
{
    struct timeval far_tv = {LONG_MAX, 999999}, neg_us = {0, -1}, neg_s = {-1, 0};
    struct timeval carry = {0, 1000001}, zero_tv = {0, 0};
    struct timespec far = FAR, neg_ns = {0, -1}, big_ns = {0, 1000000000};
    INTERRUPTED("select {LONG_MAX, 999999}", syscall(SYS_select, 0, 0, 0, 0, &far_tv));
    INTERRUPTED("pselect6 {LONG_MAX, 999999999}", syscall(SYS_pselect6, 0, 0, 0, 0, &far, 0));
    SHOW("select usec -1", syscall(SYS_select, 0, 0, 0, 0, &neg_us));
    SHOW("select sec -1", syscall(SYS_select, 0, 0, 0, 0, &neg_s));
    double t0 = now();
    SHOW("select usec 1000001 (carried into seconds)", syscall(SYS_select, 0, 0, 0, 0, &carry));
    printf("  waited about a second: %s\n", now() - t0 > 0.9 ? "yes" : "no");
    SHOW("select zero", syscall(SYS_select, 0, 0, 0, 0, &zero_tv));
    SHOW("select bad timeval pointer", syscall(SYS_select, 0, 0, 0, 0, BAD_PTR));
    SHOW("pselect6 nsec -1", syscall(SYS_pselect6, 0, 0, 0, 0, &neg_ns, 0));
    SHOW("pselect6 nsec 1e9", syscall(SYS_pselect6, 0, 0, 0, 0, &big_ns, 0));
    SHOW("pselect6 bad timespec pointer", syscall(SYS_pselect6, 0, 0, 0, 0, BAD_PTR, 0));
}

static void polls(void)
{
    struct timespec far = FAR, neg_ns = {0, -1}, neg_s = {-1, 0};
    struct epoll_event ev;
    int ep = epoll_create1(0);
    INTERRUPTED("poll INT_MAX ms", syscall(SYS_poll, 0, 0, INT_MAX));
    INTERRUPTED("ppoll {LONG_MAX, 999999999}", syscall(SYS_ppoll, 0, 0, &far, 0, 8));
    INTERRUPTED("epoll_wait INT_MAX ms", syscall(SYS_epoll_wait, ep, &ev, 1, INT_MAX));
    INTERRUPTED("epoll_pwait INT_MAX ms", syscall(SYS_epoll_pwait, ep, &ev, 1, INT_MAX, 0, 8));
    SHOW("ppoll nsec -1", syscall(SYS_ppoll, 0, 0, &neg_ns, 0, 8));
    SHOW("ppoll sec -1", syscall(SYS_ppoll, 0, 0, &neg_s, 0, 8));
    SHOW("ppoll bad timespec pointer", syscall(SYS_ppoll, 0, 0, BAD_PTR, 0, 8));
    SHOW("poll 0 ms", syscall(SYS_poll, 0, 0, 0));
    close(ep);
}

static void futexes(void)
{
    static int word;
    struct timespec far = FAR, neg_ns = {0, -1}, big_ns = {0, 1000000000}, neg_s = {-1, 0};
    INTERRUPTED("FUTEX_WAIT relative {LONG_MAX, 999999999}",
                syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &far, 0, 0));
    INTERRUPTED("FUTEX_WAIT_BITSET absolute far",
                syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &far, 0,
                        FUTEX_BITSET_MATCH_ANY));
    INTERRUPTED("FUTEX_WAIT_BITSET|CLOCK_REALTIME absolute far",
                syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0,
                        &far, 0, FUTEX_BITSET_MATCH_ANY));
    SHOW("FUTEX_WAIT nsec -1", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &neg_ns, 0, 0));
    SHOW("FUTEX_WAIT nsec 1e9", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &big_ns, 0, 0));
    SHOW("FUTEX_WAIT sec -1", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &neg_s, 0, 0));
    SHOW("FUTEX_WAIT bad timespec pointer",
         syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, BAD_PTR, 0, 0));
    struct timespec past = {1, 0};
    SHOW("FUTEX_WAIT_BITSET absolute in the past",
         syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, 0, FUTEX_BITSET_MATCH_ANY));
}

static void sigwaits(void)
{
    struct timespec far = FAR, neg_ns = {0, -1}, big_ns = {0, 1000000000}, zero = {0, 0};
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    INTERRUPTED("rt_sigtimedwait {LONG_MAX, 999999999}",
                syscall(SYS_rt_sigtimedwait, &set, 0, &far, 8));
    SHOW("rt_sigtimedwait nsec -1", syscall(SYS_rt_sigtimedwait, &set, 0, &neg_ns, 8));
    SHOW("rt_sigtimedwait nsec 1e9", syscall(SYS_rt_sigtimedwait, &set, 0, &big_ns, 8));
    SHOW("rt_sigtimedwait zero", syscall(SYS_rt_sigtimedwait, &set, 0, &zero, 8));
    SHOW("rt_sigtimedwait bad timespec pointer", syscall(SYS_rt_sigtimedwait, &set, 0, BAD_PTR, 8));
}

static void itimers(void)
{
    struct itimerval far = {{LONG_MAX, 999999}, {LONG_MAX, 999999}}, got, off = {{0, 0}, {0, 0}};
    struct itimerval neg_us = {{0, 0}, {0, -1}}, big_us = {{0, 1000000}, {1, 0}};
    struct itimerval neg_s = {{0, 0}, {-1, 0}};
    SHOW("setitimer REAL {LONG_MAX, 999999} twice", syscall(SYS_setitimer, ITIMER_REAL, &far, 0));
    SHOW("getitimer REAL", syscall(SYS_getitimer, ITIMER_REAL, &got));
    printf("  interval: {%ld, %ld}\n", (long)got.it_interval.tv_sec, (long)got.it_interval.tv_usec);
    printf("  value over 1e9 s: %s\n", got.it_value.tv_sec > 1000000000L ? "yes" : "no");
    SHOW("setitimer REAL off, old value", syscall(SYS_setitimer, ITIMER_REAL, &off, &got));
    printf("  old interval: {%ld, %ld}\n", (long)got.it_interval.tv_sec,
           (long)got.it_interval.tv_usec);
    SHOW("setitimer value usec -1", syscall(SYS_setitimer, ITIMER_REAL, &neg_us, 0));
    SHOW("setitimer interval usec 1000000", syscall(SYS_setitimer, ITIMER_REAL, &big_us, 0));
    SHOW("setitimer value sec -1", syscall(SYS_setitimer, ITIMER_REAL, &neg_s, 0));
    SHOW("setitimer which 7", syscall(SYS_setitimer, 7, &off, 0));
    SHOW("setitimer bad pointer", syscall(SYS_setitimer, ITIMER_REAL, BAD_PTR, 0));
    SHOW("getitimer bad pointer", syscall(SYS_getitimer, ITIMER_REAL, BAD_PTR));
    SHOW("alarm(UINT_MAX)", syscall(SYS_alarm, UINT_MAX));
    SHOW("alarm(0): what was left", syscall(SYS_alarm, 0));
    SHOW("alarm(2^63-1) takes the low 32 bits", syscall(SYS_alarm, LONG_MAX));
    SHOW("alarm(0): what was left", syscall(SYS_alarm, 0));
    SHOW("alarm(1)", syscall(SYS_alarm, 1));
    SHOW("alarm(0) at once: 1, not 0", syscall(SYS_alarm, 0));
}

static void posix_timers(void)
{
    struct sigevent sev = {0};
    timer_t id;
    struct itimerspec far = {FAR, FAR}, got, neg_ns = {{0, 0}, {0, -1}};
    struct itimerspec big_ns = {{0, 1000000000}, {1, 0}}, neg_s = {{0, 0}, {-1, 0}};
    sev.sigev_notify = SIGEV_NONE;
    SHOW("timer_create", syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id));
    SHOW("timer_settime {LONG_MAX, 999999999} twice", syscall(SYS_timer_settime, id, 0, &far, 0));
    SHOW("timer_gettime", syscall(SYS_timer_gettime, id, &got));
    printf("  interval: {%ld, %ld}\n", (long)got.it_interval.tv_sec, got.it_interval.tv_nsec);
    printf("  value over 1e9 s: %s\n", got.it_value.tv_sec > 1000000000L ? "yes" : "no");
    SHOW("timer_settime TIMER_ABSTIME far", syscall(SYS_timer_settime, id, TIMER_ABSTIME, &far, 0));
    SHOW("timer_gettime", syscall(SYS_timer_gettime, id, &got));
    printf("  value over 1e9 s: %s\n", got.it_value.tv_sec > 1000000000L ? "yes" : "no");
    SHOW("timer_settime value nsec -1", syscall(SYS_timer_settime, id, 0, &neg_ns, 0));
    SHOW("timer_settime interval nsec 1e9", syscall(SYS_timer_settime, id, 0, &big_ns, 0));
    SHOW("timer_settime value sec -1", syscall(SYS_timer_settime, id, 0, &neg_s, 0));
    SHOW("timer_settime bad pointer", syscall(SYS_timer_settime, id, 0, BAD_PTR, 0));
    SHOW("timer_delete", syscall(SYS_timer_delete, id));
}

static void timerfds(void)
{
    struct itimerspec far = {FAR, FAR}, got, neg_ns = {{0, 0}, {0, -1}};
    struct itimerspec big_ns = {{0, 1000000000}, {1, 0}}, neg_s = {{0, 0}, {-1, 0}};
    uint64_t ticks;
    int fd = (int)syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 04000 /* TFD_NONBLOCK */);
    printf("timerfd_create: %s\n", fd >= 0 ? "ok" : "failed");
    SHOW("timerfd_settime {LONG_MAX, 999999999} twice", syscall(SYS_timerfd_settime, fd, 0, &far, 0));
    SHOW("timerfd_gettime", syscall(SYS_timerfd_gettime, fd, &got));
    printf("  interval over 1e9 s: %s\n", got.it_interval.tv_sec > 1000000000L ? "yes" : "no");
    printf("  value over 1e9 s: %s\n", got.it_value.tv_sec > 1000000000L ? "yes" : "no");
    SHOW("read: not expired", read(fd, &ticks, 8));
    SHOW("timerfd_settime TIMER_ABSTIME far", syscall(SYS_timerfd_settime, fd, 1, &far, &got));
    SHOW("timerfd_gettime", syscall(SYS_timerfd_gettime, fd, &got));
    printf("  value over 1e9 s: %s\n", got.it_value.tv_sec > 1000000000L ? "yes" : "no");
    SHOW("timerfd_settime value nsec -1", syscall(SYS_timerfd_settime, fd, 0, &neg_ns, 0));
    SHOW("timerfd_settime interval nsec 1e9", syscall(SYS_timerfd_settime, fd, 0, &big_ns, 0));
    SHOW("timerfd_settime value sec -1", syscall(SYS_timerfd_settime, fd, 0, &neg_s, 0));
    SHOW("timerfd_settime flags 0x100", syscall(SYS_timerfd_settime, fd, 0x100, &far, 0));
    SHOW("timerfd_settime bad pointer", syscall(SYS_timerfd_settime, fd, 0, BAD_PTR, 0));
    close(fd);
}

/* Only values Linux refuses before it looks at privileges: nothing here may set a clock. */
static void set_clocks(void)
{
    struct timespec neg_ns = {0, -1}, big_ns = {0, 1000000000}, neg_s = {-1, 0};
    struct timeval neg_us = {0, -1}, neg_tv = {-1, 0}, big_us = {0, 1000001};
    struct timex tx = {0};
    SHOW("clock_settime REALTIME nsec -1", syscall(SYS_clock_settime, CLOCK_REALTIME, &neg_ns));
    SHOW("clock_settime REALTIME nsec 1e9", syscall(SYS_clock_settime, CLOCK_REALTIME, &big_ns));
    SHOW("clock_settime REALTIME sec -1", syscall(SYS_clock_settime, CLOCK_REALTIME, &neg_s));
    SHOW("clock_settime REALTIME NULL", syscall(SYS_clock_settime, CLOCK_REALTIME, 0));
    SHOW("clock_settime REALTIME bad pointer", syscall(SYS_clock_settime, CLOCK_REALTIME, BAD_PTR));
    SHOW("clock_settime MONOTONIC", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &neg_s));
    SHOW("clock_settime clock 100", syscall(SYS_clock_settime, 100, &neg_s));
    SHOW("clock_settime clock 100 bad pointer", syscall(SYS_clock_settime, 100, BAD_PTR));
    SHOW("settimeofday usec -1", syscall(SYS_settimeofday, &neg_us, 0));
    SHOW("settimeofday usec 1000001", syscall(SYS_settimeofday, &big_us, 0));
    SHOW("settimeofday sec -1", syscall(SYS_settimeofday, &neg_tv, 0));
    SHOW("settimeofday bad pointer", syscall(SYS_settimeofday, BAD_PTR, 0));
    SHOW("settimeofday bad timezone pointer", syscall(SYS_settimeofday, 0, BAD_PTR));
    SHOW("adjtimex NULL", syscall(SYS_adjtimex, 0));
    SHOW("adjtimex kernel pointer", syscall(SYS_adjtimex, KERNEL_PTR));
    tx.modes = 0x8000;  /* ADJ_ADJTIME without ADJ_OFFSET_SINGLESHOT's low bit */
    SHOW("adjtimex ADJ_ADJTIME alone", syscall(SYS_adjtimex, &tx));
    tx.modes = 0;
    SHOW("clock_adjtime clock 100", syscall(SYS_clock_adjtime, 100, &tx));
    SHOW("clock_adjtime REALTIME bad pointer", syscall(SYS_clock_adjtime, CLOCK_REALTIME, BAD_PTR));
    tx.modes = 0x8000;
    SHOW("clock_adjtime REALTIME ADJ_ADJTIME alone", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
}

static void get_clocks(void)
{
    static const long bad_ids[] = {10, 12, 15, 16, 100, INT_MAX, INT_MIN, -1};
    struct timespec ts;
    struct timeval tv;
    char buf[256];
    char name[64];
    for (unsigned i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        snprintf(name, sizeof name, "clock_gettime clock %ld", bad_ids[i]);
        SHOW(name, syscall(SYS_clock_gettime, bad_ids[i], &ts));
        snprintf(name, sizeof name, "clock_getres clock %ld", bad_ids[i]);
        SHOW(name, syscall(SYS_clock_getres, bad_ids[i], &ts));
    }
    SHOW("clock_gettime high bits ignored (1<<32 | MONOTONIC)",
         syscall(SYS_clock_gettime, (1L << 32) | CLOCK_MONOTONIC, &ts));
    SHOW("clock_gettime REALTIME NULL", syscall(SYS_clock_gettime, CLOCK_REALTIME, 0));
    SHOW("clock_gettime MONOTONIC bad pointer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD_PTR));
    SHOW("clock_gettime MONOTONIC kernel pointer",
         syscall(SYS_clock_gettime, CLOCK_MONOTONIC, KERNEL_PTR));
    SHOW("clock_gettime PROCESS_CPUTIME bad pointer",
         syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, BAD_PTR));
    SHOW("clock_getres MONOTONIC NULL", syscall(SYS_clock_getres, CLOCK_MONOTONIC, 0));
    SHOW("clock_getres MONOTONIC bad pointer", syscall(SYS_clock_getres, CLOCK_MONOTONIC, BAD_PTR));
    SHOW("gettimeofday bad pointer", syscall(SYS_gettimeofday, BAD_PTR, 0));
    SHOW("gettimeofday bad timezone pointer", syscall(SYS_gettimeofday, &tv, BAD_PTR));
    SHOW("time bad pointer", syscall(SYS_time, BAD_PTR));
    printf("times NULL succeeds: %s\n", syscall(SYS_times, 0) != -1 ? "yes" : "no");
    SHOW("times bad pointer", syscall(SYS_times, BAD_PTR));
    SHOW("times kernel pointer", syscall(SYS_times, KERNEL_PTR));
    SHOW("getrusage who 5", syscall(SYS_getrusage, 5, buf));
    SHOW("getrusage who -2 (RUSAGE_BOTH)", syscall(SYS_getrusage, -2, buf));
    SHOW("getrusage SELF bad pointer", syscall(SYS_getrusage, 0, BAD_PTR));
    SHOW("getrusage CHILDREN NULL", syscall(SYS_getrusage, -1, 0));
    SHOW("getrusage THREAD", syscall(SYS_getrusage, 1, buf));
}

/* Nothing will ever end these waits: the process must sleep (not crash, not be killed). */
static void forever(const char *name)
{
    static int word;
    struct timespec far = FAR;
    struct timeval far_tv = {LONG_MAX, 999999};
    struct itimerval far_it = {{LONG_MAX, 999999}, {LONG_MAX, 999999}};
    struct itimerspec far_its = {FAR, FAR};
    struct sigevent sev = {0};
    struct epoll_event ev;
    sigset_t set;
    uint64_t ticks;
    timer_t id;
    if (!only || strncmp(only, "forever_", 8) != 0 || !section(name))
        return;
    puts("blocking");
    if (!strcmp(name, "forever_nanosleep"))
        syscall(SYS_nanosleep, &far, 0);
    else if (!strcmp(name, "forever_clock_nanosleep_abs"))
        syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, &far, 0);
    else if (!strcmp(name, "forever_select"))
        syscall(SYS_select, 0, 0, 0, 0, &far_tv);
    else if (!strcmp(name, "forever_ppoll"))
        syscall(SYS_ppoll, 0, 0, &far, 0, 8);
    else if (!strcmp(name, "forever_poll"))
        syscall(SYS_poll, 0, 0, -1);
    else if (!strcmp(name, "forever_epoll"))
        syscall(SYS_epoll_wait, epoll_create1(0), &ev, 1, -1);
    else if (!strcmp(name, "forever_futex"))
        syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &far, 0, 0);
    else if (!strcmp(name, "forever_futex_bitset"))
        syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &far, 0, FUTEX_BITSET_MATCH_ANY);
    else if (!strcmp(name, "forever_sigtimedwait")) {
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        syscall(SYS_rt_sigtimedwait, &set, 0, &far, 8);
    } else if (!strcmp(name, "forever_pause"))
        pause();
    else if (!strcmp(name, "forever_alarm")) {
        alarm(UINT_MAX);
        pause();
    } else if (!strcmp(name, "forever_itimer")) {
        syscall(SYS_setitimer, ITIMER_REAL, &far_it, 0);
        pause();
    } else if (!strcmp(name, "forever_posix_timer")) {
        sev.sigev_notify = SIGEV_SIGNAL;
        sev.sigev_signo = SIGALRM;
        syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id);
        syscall(SYS_timer_settime, id, 0, &far_its, 0);
        pause();
    } else if (!strcmp(name, "forever_timerfd")) {
        int fd = (int)syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0);
        syscall(SYS_timerfd_settime, fd, 0, &far_its, 0);
        read(fd, &ticks, 8);
    }
    puts("woken: should not happen");
}

static const char *const forevers[] = {
    "forever_nanosleep", "forever_clock_nanosleep_abs", "forever_select", "forever_ppoll",
    "forever_poll", "forever_epoll", "forever_futex", "forever_futex_bitset",
    "forever_sigtimedwait", "forever_pause", "forever_alarm", "forever_itimer",
    "forever_posix_timer", "forever_timerfd",
};

int main(int argc, char **argv)
{
    setvbuf(stdout, 0, _IONBF, 0);
    only = argc > 1 ? argv[1] : 0;
    catch_alarm();
    if (section("sleeps")) sleeps();
    if (section("sleep_invalid")) sleep_invalid();
    if (section("selects")) selects();
    if (section("polls")) polls();
    if (section("futexes")) futexes();
    if (section("sigtimedwait")) sigwaits();
    if (section("itimers")) itimers();
    if (section("posix_timers")) posix_timers();
    if (section("timerfds")) timerfds();
    if (section("set_clocks")) set_clocks();
    if (section("get_clocks")) get_clocks();
    for (unsigned i = 0; i < sizeof forevers / sizeof forevers[0]; i++)
        forever(forevers[i]);
    return 0;
}
