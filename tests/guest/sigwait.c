/* sigwait.c — rt_sigtimedwait: a pending signal taken at once with its siginfo, a wait woken by a child's kill, sigwait, the timeout (EAGAIN) and a zero timeout, EINTR by a handled signal outside the set, a blocked default-ignored SIGCHLD taken by sigwaitinfo, sigqueue values to ourselves and from a child (and posing as kill: EPERM), the signal masks of ppoll/pselect/epoll_pwait (EINTR even with SA_RESTART), bad arguments (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

/* A child that sends SIGUSR1 to us after ``ms`` milliseconds; its pid. */
static pid_t usr1_later(int ms)
{
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, ms * 1000L * 1000};
        nanosleep(&ts, NULL);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    return pid;
}

static void pending_now(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int sig = sigwaitinfo(&set, &si);
    printf("first: %d (SIGUSR1=%d), si_signo %d, si_code %d, from us: %d\n", sig, SIGUSR1,
           si.si_signo, si.si_code, si.si_pid == getpid());
    sig = sigwaitinfo(&set, &si);
    printf("second: %d (SIGUSR2=%d)\n", sig, SIGUSR2);
    struct timespec zero = {0, 0};
    SHOW("none left, zero timeout", sigtimedwait(&set, &si, &zero));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void woken(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t pid = usr1_later(50);
    struct timespec t0, t1, limit = {5, 0};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    siginfo_t si;
    int sig = sigtimedwait(&set, &si, &limit);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("woken by the child: %d, from the child: %d, waited 30..10000 ms: %s\n", sig,
           si.si_pid == pid, waited > 0.03 && waited < 10 ? "yes" : "no");
    waitpid(pid, NULL, 0);
    kill(getpid(), SIGUSR1);
    int got = 0;
    SHOW("sigwait", sigwait(&set, &got));
    printf("sigwait got: %d\n", got);
    struct timespec short_wait = {0, 80 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    SHOW("timeout", sigtimedwait(&set, &si, &short_wait));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("waited 60..10000 ms: %s\n", waited > 0.06 && waited < 10 ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void interrupted(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    siginfo_t si;
    SHOW("a handled SIGALRM outside the set (SA_RESTART)", sigwaitinfo(&set, &si));
    signal(SIGALRM, SIG_DFL);

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(3);
    int sig = sigwaitinfo(&chld, &si);
    printf("blocked SIGCHLD (default: ignore) taken: %d, code %d (CLD_EXITED=%d), status %d\n",
           sig, si.si_code, CLD_EXITED, si.si_status);
    waitpid(pid, NULL, 0);
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static volatile int handler_value, handler_code;

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    handler_value = si->si_value.sival_int;
    handler_code = si->si_code;
}

static void queued(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    union sigval v = {.sival_int = 1234};
    SHOW("sigqueue to self", sigqueue(getpid(), SIGUSR1, v));
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    printf("taken: %d, code SI_QUEUE: %d, value %d, pid is ours: %d\n", sig,
           si.si_code == SI_QUEUE, si.si_value.sival_int, si.si_pid == getpid());
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        union sigval w = {.sival_int = 99};
        sigqueue(parent, SIGUSR2, w);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 100 && !handler_value; i++) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("handler got value %d, code SI_QUEUE: %d\n", handler_value, handler_code == SI_QUEUE);
    siginfo_t fake;
    memset(&fake, 0, sizeof fake);
    fake.si_code = SI_USER;
    pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    SHOW("posing as kill to another process", syscall(SYS_rt_sigqueueinfo, pid, SIGUSR2, &fake));
    SHOW("no such process", sigqueue(999999, SIGUSR2, v));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    signal(SIGUSR2, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static volatile sig_atomic_t usr1_handled;

static void on_usr1(int sig)
{
    (void)sig;
    usr1_handled++;
}

static int usr1_blocked(void)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, SIGUSR1);
}

/* Each waiting call with a mask that lets SIGUSR1 in, while a child sends it. */
static void masks(void)
{
    signal(SIGUSR1, on_usr1);
    sigset_t set, open_mask;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigemptyset(&open_mask);
    int p[2];
    pipe(p);
    for (int call = 0; call < 3; call++) {
        pid_t pid = usr1_later(50);
        usr1_handled = 0;
        struct timespec limit = {5, 0};
        long r;
        const char *name;
        if (call == 0) {
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            name = "ppoll";
            r = ppoll(&pf, 1, &limit, &open_mask);
        } else if (call == 1) {
            fd_set rd;
            FD_ZERO(&rd);
            FD_SET(p[0], &rd);
            name = "pselect";
            r = pselect(p[0] + 1, &rd, NULL, NULL, &limit, &open_mask);
        } else {
            int ep = epoll_create1(0);
            struct epoll_event ev = {.events = EPOLLIN}, out;
            epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
            name = "epoll_pwait";
            r = epoll_pwait(ep, &out, 1, 5000, &open_mask);
            close(ep);
        }
        int e = errno;
        waitpid(pid, NULL, 0);
        printf("%s: %ld %s, handler ran %d, SIGUSR1 blocked again: %d\n", name, r,
               r < 0 ? errname(e) : "", (int)usr1_handled, usr1_blocked());
    }
    kill(getpid(), SIGUSR1);  /* pending, blocked */
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    struct timespec zero = {0, 0};
    long r = ppoll(&pf, 1, &zero, &open_mask);
    printf("a pending signal let in: %ld %s, handler ran %d\n", r, r < 0 ? errname(errno) : "",
           (int)usr1_handled);
    sigset_t still;
    sigemptyset(&still);
    sigaddset(&still, SIGUSR1);
    struct timespec short_wait = {0, 30 * 1000 * 1000};
    r = ppoll(&pf, 1, &short_wait, &still);
    printf("a mask that keeps it out: %ld (timeout), blocked: %d\n", r, usr1_blocked());
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    usr1_handled = 0;
    pid_t pid = usr1_later(20);
    struct timespec wait_ts = {0, 150 * 1000 * 1000};
    r = ppoll(&pf, 1, &wait_ts, &still);  /* SIGUSR1 comes while this mask keeps it out */
    int right_after = usr1_handled;
    waitpid(pid, NULL, 0);
    printf("kept out during the wait: %ld, handled as soon as it returned: %d\n", r,
           right_after);
    close(p[0]);
    close(p[1]);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    signal(SIGUSR1, SIG_DFL);
}

static void errors(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    struct timespec bad = {0, 1000000000};
    siginfo_t si;
    SHOW("nsec 1e9", sigtimedwait(&set, &si, &bad));
    SHOW("sigsetsize 4", syscall(SYS_rt_sigtimedwait, &set, &si, NULL, 4));
    SHOW("bad set pointer", syscall(SYS_rt_sigtimedwait, (void *)8, &si, NULL, 8));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("pending"))
        pending_now();
    if (section("woken"))
        woken();
    if (section("interrupted"))
        interrupted();
    if (section("queued"))
        queued();
    if (section("masks"))
        masks();
    if (section("errors"))
        errors();
    return 0;
}
