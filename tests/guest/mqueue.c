/* mqueue.c — POSIX message queues: open and attributes, priorities, sizes and limits, O_NONBLOCK, blocking both ways between two processes, timeouts, signals, poll, mq_notify (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static char name[64];

static mqd_t make(int flags, long maxmsg, long msgsize)
{
    struct mq_attr attr = {0, maxmsg, msgsize, 0};
    return mq_open(name, O_CREAT | O_EXCL | flags, 0600, &attr);
}

static void receive(const char *label, mqd_t q, size_t size)
{
    char buf[9000];
    unsigned prio = 99;
    ssize_t n = mq_receive(q, buf, size, &prio);
    if (n < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %zd [%.*s] prio %u\n", label, n, (int)n, buf, prio);
}

static void show_attr(const char *label, mqd_t q)
{
    struct mq_attr a;
    if (mq_getattr(q, &a) < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: flags %s, maxmsg %ld, msgsize %ld, curmsgs %ld\n", label,
               a.mq_flags & O_NONBLOCK ? "O_NONBLOCK" : "0", a.mq_maxmsg, a.mq_msgsize,
               a.mq_curmsgs);
}

static int child_status(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;  /* (a notification's signal may come meanwhile) */
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static struct timespec in_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms % 1000 * 1000000L;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void basics(void)
{
    /* (a user of its own: nothing else counts against its limit) */
    pid_t pid = fork();
    if (pid == 0) {  /* 8 x (8192 + 48) + 8 x 48 = 66304 bytes a queue */
        setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){140000, 140000});
        setgid(54321);
        setuid(54321);
        char other[80];
        snprintf(other, sizeof other, "%s-b", name);
        struct mq_attr attr = {0, 8, 8192, 0};
        SHOW("RLIMIT_MSGQUEUE: first", mq_open(name, O_RDWR | O_CREAT, 0600, &attr) < 0 ? -1 : 0);
        SHOW("second", mq_open(other, O_RDWR | O_CREAT, 0600, &attr) < 0 ? -1 : 0);
        SHOW("third", mq_open("/cloudos-mq-third", O_RDWR | O_CREAT, 0600, &attr));
        mq_unlink(other);
        mq_unlink(name);
        _exit(0);
    }
    child_status(pid);
    mqd_t q = make(O_RDWR, 4, 64);
    printf("mq_open: %s\n", q >= 0 ? "ok" : errname(errno));
    show_attr("attributes", q);
    SHOW("O_EXCL again", make(O_RDWR, 4, 64));
    SHOW("open again", mq_open(name, O_RDONLY) >= 0);
    SHOW("a missing name", mq_open("/cloudos-no-such-queue", O_RDONLY));
    SHOW("a slash inside", mq_open("/a/b", O_RDWR | O_CREAT, 0600, NULL));
    SHOW("maxmsg 0", mq_open("/cloudos-mq-zero", O_RDWR | O_CREAT, 0600,
                             &(struct mq_attr){0, 0, 64, 0}));
    SHOW("O_WRONLY|O_RDWR", mq_open(name, O_WRONLY | O_RDWR));
    SHOW("send 1", mq_send(q, "low", 3, 1));
    SHOW("send 5", mq_send(q, "high", 4, 5));
    SHOW("send 3", mq_send(q, "mid", 3, 3));
    SHOW("send 5 again", mq_send(q, "high2", 5, 5));
    show_attr("four queued", q);
    SHOW("full, O_NONBLOCK", (mq_setattr(q, &(struct mq_attr){O_NONBLOCK, 0, 0, 0}, NULL),
                              mq_send(q, "x", 1, 0)));
    SHOW("full, timed out", (mq_setattr(q, &(struct mq_attr){0, 0, 0, 0}, NULL),
                             mq_timedsend(q, "x", 1, 0, &(struct timespec){0, 0})));
    SHOW("over msgsize", mq_send(q, name, 65, 0));
    SHOW("priority 32768", mq_send(q, "x", 1, 32768));
    receive("buffer under msgsize", q, 63);
    receive("first", q, 64);
    receive("second", q, 64);
    receive("third", q, 64);
    receive("fourth", q, 64);
    SHOW("mq_setattr bad flags", mq_setattr(q, &(struct mq_attr){1, 0, 0, 0}, NULL));
    struct mq_attr old;
    mq_setattr(q, &(struct mq_attr){O_NONBLOCK, 0, 0, 0}, &old);
    printf("old flags: %ld\n", old.mq_flags);
    show_attr("now", q);
    receive("empty, O_NONBLOCK", q, 64);
    mqd_t r = mq_open(name, O_RDONLY);
    SHOW("send on O_RDONLY", mq_send(r, "x", 1, 0));
    SHOW("receive on O_WRONLY", mq_receive(mq_open(name, O_WRONLY), (char[64]){0}, 64, NULL));
    SHOW("send to a bad fd", mq_send(99, "x", 1, 0));
    SHOW("send to a pipe", mq_send(0, "x", 1, 0));
    SHOW("receive into a bad pointer", (mq_send(q, "lost", 4, 0),
                                        mq_receive(q, (char *)8, 64, NULL)));
    show_attr("after", q);
    SHOW("mq_unlink", mq_unlink(name));
    SHOW("mq_unlink again", mq_unlink(name));
    SHOW("open after unlink", mq_open(name, O_RDONLY));
    SHOW("the open queue still works", mq_send(q, "still", 5, 0));
    receive("and reads", q, 64);

    mqd_t d = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    show_attr("default attributes", d);
    mq_unlink(name);
    pid = fork();
    if (pid == 0) {
        setgid(65534);
        setuid(65534);
        SHOW("nobody: maxmsg 11", mq_open(name, O_RDWR | O_CREAT, 0600,
                                          &(struct mq_attr){0, 11, 64, 0}));
        SHOW("nobody: msgsize 8193", mq_open(name, O_RDWR | O_CREAT, 0600,
                                             &(struct mq_attr){0, 10, 8193, 0}));
        _exit(0);
    }
    child_status(pid);
    struct rlimit lim = {3, 3};
    pid = fork();
    if (pid == 0) {
        setrlimit(RLIMIT_NOFILE, &lim);
        SHOW("no fd left", mq_open(name, O_RDWR | O_CREAT, 0600, NULL));
        SHOW("and no queue made", mq_unlink(name));
        _exit(0);
    }
    child_status(pid);
    mq_unlink(name);
}

static void on_signal(int sig) { (void)sig; }

static void blocking(void)
{
    mqd_t q = make(O_RDWR, 2, 32);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        receive("child waited", q, 32);
        receive("child waited again", q, 32);
        fflush(stdout);
        _exit(0);
    }
    usleep(100000);
    mq_send(q, "one", 3, 1);
    usleep(100000);
    mq_send(q, "two", 3, 7);
    child_status(pid);

    mq_send(q, "a", 1, 0);
    mq_send(q, "b", 1, 0);
    pid = fork();
    if (pid == 0) {
        alarm(10);
        usleep(100000);
        char buf[32];
        mq_receive(q, buf, 32, NULL);
        _exit(0);
    }
    double start = now();
    SHOW("a blocked send", mq_send(q, "c", 1, 0));
    int status = child_status(pid);
    printf("it waited for the child: %s, child exit %d\n", now() - start >= 0.08 ? "yes" : "no",
           status);
    receive("then", q, 32);
    receive("then", q, 32);
    start = now();
    struct timespec until = in_ms(100);
    char buf[32];
    SHOW("timed receive", mq_timedreceive(q, buf, 32, NULL, &until));
    printf("waited >= 80ms: %s\n", now() - start >= 0.08 ? "yes" : "no");
    SHOW("bad timeout", mq_timedreceive(q, buf, 32, NULL, &(struct timespec){0, 1000000000}));

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW("receive interrupted by SIGALRM", mq_receive(q, buf, 32, NULL));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    pid = fork();
    if (pid == 0) {
        usleep(300000);
        mq_send(q, "late", 4, 2);
        _exit(0);
    }
    receive("with SA_RESTART it goes on", q, 32);
    child_status(pid);
    mq_unlink(name);
}

static void polling(void)
{
    mqd_t q = make(O_RDWR | O_NONBLOCK, 1, 16);
    struct pollfd p = {q, POLLIN | POLLOUT, 0};
    int n = poll(&p, 1, 0);
    printf("empty: %d, revents %#x\n", n, p.revents);
    mq_send(q, "x", 1, 0);
    n = poll(&p, 1, 0);
    printf("full: %d, revents %#x\n", n, p.revents);
    char buf[16];
    mq_receive(q, buf, 16, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100000);
        mq_send(q, "y", 1, 0);
        _exit(0);
    }
    p.events = POLLIN;
    n = poll(&p, 1, 5000);
    printf("poll waits for a message: %d, revents %#x\n", n, p.revents);
    child_status(pid);
    mq_unlink(name);
}

static volatile siginfo_t got;
static volatile int signals;

static void on_usr1(int sig, siginfo_t *info, void *ctx)
{
    (void)sig;
    (void)ctx;
    got = *info;
    signals++;
}

static void notify(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    mqd_t q = make(O_RDWR, 4, 16);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 42;
    SHOW("mq_notify", mq_notify(q, &ev));
    SHOW("again", mq_notify(q, &ev));
    SHOW("bad sigev_notify", mq_notify(q, &(struct sigevent){.sigev_notify = 77}));
    pid_t pid = fork();
    if (pid == 0) {
        SHOW("child: another process", mq_notify(q, &ev));
        SHOW("child: sends", mq_send(q, "n", 1, 0));
        _exit(0);
    }
    child_status(pid);
    printf("signals %d, code SI_MESGQ %d, value %d, from the child %d\n", signals,
           got.si_code == SI_MESGQ, got.si_value.sival_int, got.si_pid == pid);
    SHOW("registered again", mq_notify(q, &ev));
    mq_send(q, "m", 1, 0);
    printf("not empty before: signals %d\n", signals);
    char buf[16];
    mq_receive(q, buf, 16, NULL);
    mq_receive(q, buf, 16, NULL);
    SHOW("unregister", mq_notify(q, NULL));
    mq_send(q, "o", 1, 0);
    printf("unregistered: signals %d\n", signals);
    mq_receive(q, buf, 16, NULL);
    SHOW("SIGEV_NONE", mq_notify(q, &(struct sigevent){.sigev_notify = SIGEV_NONE}));
    mq_send(q, "p", 1, 0);
    printf("SIGEV_NONE: signals %d\n", signals);
    mq_receive(q, buf, 16, NULL);
    SHOW("registered after SIGEV_NONE fired", mq_notify(q, &ev));
    mq_close(q);
    q = mq_open(name, O_RDWR);
    SHOW("a close dropped it", mq_notify(q, &ev));
    mq_notify(q, NULL);
    pid = fork();
    if (pid == 0) {
        mq_notify(q, &ev);
        _exit(0);
    }
    child_status(pid);
    SHOW("the registered child exited", mq_notify(q, &ev));
    mq_unlink(name);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(name, sizeof name, "/cloudos-mq-%d", getpid());
    alarm(30);
    if (section("basics"))
        basics();
    if (section("blocking"))
        blocking();
    if (section("poll"))
        polling();
    if (section("notify"))
        notify();
    mq_unlink(name);
    return 0;
}
