/* signalfd.c — signalfd: blocked signals read as signalfd_siginfo records (several in one read), EAGAIN when none, poll and epoll readiness, a blocking read woken by another process, SIGCHLD fields, changing the mask, errors (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static sigset_t blocked(int a, int b)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, a);
    if (b)
        sigaddset(&set, b);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return set;
}

static int revents(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static void basics(void)
{
    sigset_t set = blocked(SIGUSR1, SIGUSR2);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s\n", fd >= 0 ? "ok" : errname(errno));
    struct signalfd_siginfo si[4];
    SHOW("read with nothing pending", read(fd, si, sizeof si));
    printf("poll with nothing pending: %#x\n", revents(fd));
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    printf("poll with two pending: %#x\n", revents(fd));
    ssize_t n = read(fd, si, sizeof si);
    printf("read: %zd bytes, first %u, second %u, code SI_USER: %d, from us: %d\n", n,
           si[0].ssi_signo, n > 128 ? si[1].ssi_signo : 0, si[0].ssi_code == SI_USER,
           si[0].ssi_pid == (unsigned)getpid());
    sigset_t pending;
    sigpending(&pending);
    printf("no longer pending: %d\n", !sigismember(&pending, SIGUSR1));
    SHOW("read into 100 bytes", read(fd, si, 100));
    SHOW("write", write(fd, si, 128));
    raise(SIGUSR1);
    sigset_t only2;
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    SHOW("new mask on the same fd", signalfd(fd, &only2, 0));
    SHOW("SIGUSR1 no longer read", read(fd, si, sizeof si));
    int got = 0;
    sigwait(&set, &got);
    printf("it stayed pending: %d\n", got);
    union sigval negative = {.sival_int = -5};
    sigqueue(getpid(), SIGUSR2, negative);
    n = read(fd, si, sizeof si);
    printf("a negative sigqueue value: %zd bytes, ssi_int %d, code SI_QUEUE: %d\n", n,
           si[0].ssi_int, si[0].ssi_code == SI_QUEUE);
    close(fd);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void blocking(void)
{
    sigset_t set = blocked(SIGCHLD, SIGUSR1);
    int fd = signalfd(-1, &set, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    SHOW("epoll with nothing pending", epoll_wait(ep, &out, 1, 0));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(parent, SIGUSR1);
        _exit(3);
    }
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof si);  /* blocks until the child's kill */
    printf("woken: %zd bytes, signal %u, from the child: %d\n", n, si.ssi_signo,
           si.ssi_pid == (unsigned)pid);
    SHOW("epoll_wait for SIGCHLD", epoll_wait(ep, &out, 1, 2000));
    printf("data %u\n", out.data.u32);
    n = read(fd, &si, sizeof si);
    printf("SIGCHLD: signal %u, code CLD_EXITED: %d, status %d, pid is the child: %d\n",
           si.ssi_signo, si.ssi_code == CLD_EXITED, si.ssi_status, si.ssi_pid == (unsigned)pid);
    waitpid(pid, NULL, 0);
    close(ep);
    close(fd);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void errors(void)
{
    sigset_t set;
    sigemptyset(&set);
    SHOW("bad flags", signalfd(-1, &set, 0x1));
    SHOW("not a signalfd", signalfd(0, &set, 0));
    SHOW("bad fd", signalfd(99, &set, 0));
    SHOW("bad mask pointer", signalfd(-1, (sigset_t *)8, 0));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("basics"))
        basics();
    if (section("blocking"))
        blocking();
    if (section("errors"))
        errors();
    return 0;
}
