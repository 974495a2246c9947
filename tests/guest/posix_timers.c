/* posix_timers.c — timer_create family: one-shot and periodic SIGEV_SIGNAL timers with si_code/si_timerid/si_value, TIMER_ABSTIME, SIGEV_NONE read by timer_gettime, overruns of a blocked signal, SIGEV_THREAD (glibc's helper thread), the default sigevent, delete and errors (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static volatile sig_atomic_t fired, code, value, timerid_ok;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    fired++;
    code = si->si_code;
    value = si->si_value.sival_int;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void handler_for(int sig)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(sig, &sa, NULL);
}

static void oneshot(void)
{
    handler_for(SIGUSR1);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 42;
    timer_t id;
    SHOW("timer_create", timer_create(CLOCK_MONOTONIC, &ev, &id));
    struct itimerspec its = {{0, 0}, {0, 80 * 1000 * 1000}}, cur;
    double start = now();
    SHOW("timer_settime", timer_settime(id, 0, &its, NULL));
    timer_gettime(id, &cur);
    printf("armed, left 1..80 ms: %s\n",
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 1000000 &&
           cur.it_value.tv_nsec <= 80000000 ? "yes" : "no");
    while (!fired && now() - start < 3)
        pause();
    double waited = now() - start;
    printf("fired %d, code SI_TIMER: %d, value %d, after 60..10000 ms: %s\n", (int)fired,
           code == SI_TIMER, (int)value, waited > 0.06 && waited < 10 ? "yes" : "no");
    timer_gettime(id, &cur);
    printf("disarmed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    SHOW("timer_delete", timer_delete(id));
    SHOW("timer_delete again", timer_delete(id));
}

static void periodic(void)
{
    handler_for(SIGUSR2);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    timer_t id;
    timer_create(CLOCK_REALTIME, &ev, &id);
    struct itimerspec its = {{0, 20 * 1000 * 1000}, {0, 20 * 1000 * 1000}}, old;
    fired = 0;
    timer_settime(id, 0, &its, NULL);
    double start = now();
    while (now() - start < 0.25)
        pause();
    /* at most one per 20 ms that really passed: a loaded host may stretch the wait */
    printf("periodic expiries in 250 ms at 20 ms: at least 6, at most one per 20 ms: %s\n",
           fired >= 6 && fired <= (now() - start) / 0.02 + 1 ? "yes" : "no");
    struct itimerspec off = {{0, 0}, {0, 0}};
    timer_settime(id, 0, &off, &old);
    printf("old interval: %ld ns\n", old.it_interval.tv_nsec);
    int before = fired;
    struct timespec pause_ts = {0, 60 * 1000 * 1000};
    nanosleep(&pause_ts, NULL);
    printf("no more after disarming: %s\n", fired == before ? "yes" : "no");

    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    struct itimerspec abs = {{0, 0}, {t0.tv_sec, t0.tv_nsec}};
    abs.it_value.tv_nsec += 50 * 1000 * 1000;
    if (abs.it_value.tv_nsec >= 1000000000) {
        abs.it_value.tv_sec++;
        abs.it_value.tv_nsec -= 1000000000;
    }
    fired = 0;
    start = now();
    SHOW("TIMER_ABSTIME", timer_settime(id, TIMER_ABSTIME, &abs, NULL));
    while (!fired && now() - start < 3)
        pause();
    printf("absolute fired after 30..10000 ms: %s\n",
           now() - start > 0.03 && now() - start < 10 ? "yes" : "no");
    timer_delete(id);
}

static void overrun(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 7;
    timer_t id;
    timer_create(CLOCK_MONOTONIC, &ev, &id);
    struct itimerspec its = {{0, 10 * 1000 * 1000}, {0, 10 * 1000 * 1000}};
    double start = now();
    timer_settime(id, 0, &its, NULL);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    /* at most one per 10 ms that really passed: a loaded host may stretch the sleep */
    int most = (int)((now() - start) / 0.01) + 1;
    printf("one signal for many expiries: %d, si_overrun 5..(one per 10 ms): %s, value %d\n",
           sig, si.si_overrun >= 5 && si.si_overrun <= most ? "yes" : "no",
           si.si_value.sival_int);
    printf("timer_getoverrun agrees: %s\n", timer_getoverrun(id) == si.si_overrun ? "yes" : "no");
    /* the next signal is queued (expiries go on): timer_getoverrun still tells the
       overruns of the signal taken, not of the one waiting */
    struct timespec shorter = {0, 60 * 1000 * 1000};
    nanosleep(&shorter, NULL);
    printf("after the next expiries, still the signal taken: %s\n",
           timer_getoverrun(id) == si.si_overrun ? "yes" : "no");
    timer_delete(id);
    /* a signal of the deleted timer may still wait (kernels differ): take it, blocked */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) == SIGUSR1)
        ;
    sigprocmask(SIG_UNBLOCK, &set, NULL);

    ev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_MONOTONIC, &ev, &id);
    struct itimerspec one = {{0, 0}, {5, 0}}, cur;
    timer_settime(id, 0, &one, NULL);
    timer_gettime(id, &cur);
    printf("SIGEV_NONE counts down: %s\n", cur.it_value.tv_sec == 4 ? "yes" : "no");
    timer_delete(id);
}

static volatile int thread_calls;
static pthread_t thread_seen;

static void in_thread(union sigval v)
{
    thread_calls += v.sival_int;
    thread_seen = pthread_self();
}

static void threaded(void)
{
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = in_thread;
    ev.sigev_value.sival_int = 5;
    timer_t id;
    SHOW("SIGEV_THREAD timer_create", timer_create(CLOCK_MONOTONIC, &ev, &id));
    struct itimerspec its = {{0, 0}, {0, 30 * 1000 * 1000}};
    timer_settime(id, 0, &its, NULL);
    double start = now();
    while (!thread_calls && now() - start < 3) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("function ran in another thread: calls %d, other thread: %s\n", thread_calls,
           thread_calls && !pthread_equal(thread_seen, pthread_self()) ? "yes" : "no");
    timer_delete(id);

    handler_for(SIGALRM);
    fired = 0;
    timer_t plain;
    SHOW("default sigevent", timer_create(CLOCK_MONOTONIC, NULL, &plain));
    struct itimerspec soon = {{0, 0}, {0, 20 * 1000 * 1000}};
    timer_settime(plain, 0, &soon, NULL);
    start = now();
    while (!fired && now() - start < 3)
        pause();
    printf("SIGALRM with the timer id as value: %s\n",
           fired && value == (int)(long)plain ? "yes" : "no");
    timer_delete(plain);
    signal(SIGALRM, SIG_DFL);
}

static void errors(void)
{
    timer_t id;
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 99;
    SHOW("signal 99", timer_create(CLOCK_MONOTONIC, &ev, &id));
    ev.sigev_signo = SIGUSR1;
    ev.sigev_notify = 77;
    SHOW("notify 77", timer_create(CLOCK_MONOTONIC, &ev, &id));
    SHOW("clock 42", timer_create(42, NULL, &id));
    ev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_MONOTONIC, &ev, &id);
    struct itimerspec bad = {{0, 0}, {0, 1000000000}};
    SHOW("nsec 1e9", timer_settime(id, 0, &bad, NULL));
    bad.it_value.tv_nsec = 0;
    SHOW("flags 4 (ignored)", timer_settime(id, 4, &bad, NULL));
    SHOW("bad timer id", syscall(SYS_timer_settime, 12345, 0, &bad, NULL));
    SHOW("bad itimerspec pointer", timer_settime(id, 0, (void *)8, NULL));
    struct itimerspec huge = {{0x7fffffffffffffffL, 0}, {0x7fffffffffffffffL, 0}}, cur;
    SHOW("a timer LONG_MAX seconds away", timer_settime(id, 0, &huge, NULL));
    SHOW("timer_gettime", timer_gettime(id, &cur));
    printf("still armed, over 30 years away: %d\n", cur.it_value.tv_sec > 1000000000L);
    timer_delete(id);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("oneshot"))
        oneshot();
    if (section("periodic"))
        periodic();
    if (section("overrun"))
        overrun();
    if (section("thread"))
        threaded();
    if (section("errors"))
        errors();
    return 0;
}
