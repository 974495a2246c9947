/* files_epoll.c — epoll: level-triggered readiness of pipes, socket pairs and eventfds, the data word, maxevents, timeouts, a wait woken by a child, EPOLLONESHOT and EPOLLET, and the errors of epoll_ctl (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static int add(int ep, int fd, unsigned events, unsigned long long data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Waits, then prints the events sorted by data word (the order is not part of the ABI). */
static void wait_show(const char *label, int ep, int max, int timeout)
{
    struct epoll_event evs[16];
    int n = epoll_wait(ep, evs, max, timeout);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (evs[j].data.u64 < evs[i].data.u64) {
                struct epoll_event t = evs[i];
                evs[i] = evs[j];
                evs[j] = t;
            }
    printf("%s: %d", label, n);
    for (int i = 0; i < n; i++)
        printf(" [data=%llu events=%#x]", (unsigned long long)evs[i].data.u64, evs[i].events);
    printf("\n");
}

static void level(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("FD_CLOEXEC: %d\n", fcntl(ep, F_GETFD) & FD_CLOEXEC);
    int p[2], sv[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int efd = eventfd(0, 0);
    SHOW("add pipe read end", add(ep, p[0], EPOLLIN, 10));
    SHOW("add pipe write end", add(ep, p[1], EPOLLOUT, 11));
    SHOW("add socket", add(ep, sv[0], EPOLLIN | EPOLLRDHUP, 12));
    SHOW("add eventfd", add(ep, efd, EPOLLIN, 13));
    wait_show("only the write end", ep, 16, 0);
    write(p[1], "x", 1);
    write(sv[1], "y", 1);
    unsigned long long one = 1;
    write(efd, &one, 8);
    wait_show("all four", ep, 16, 0);
    wait_show("level-triggered: again", ep, 16, 0);
    wait_show("maxevents 2", ep, 2, 0);
    char c;
    read(p[0], &c, 1);
    close(sv[1]);
    wait_show("pipe drained, socket peer closed", ep, 16, 0);
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = 99};
    SHOW("mod eventfd to OUT", epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev));
    SHOW("del socket", epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL));
    SHOW("del pipe write end", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    wait_show("after mod and del", ep, 16, 0);
    close(ep);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void timeout(void)
{
    int ep = epoll_create(1);
    int p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 1);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wait_show("empty, 50 ms", ep, 4, 50);
    printf("waited >= 40ms: %s\n", ms_since(&t0) >= 40 ? "yes" : "no");
    wait_show("empty set, 0 ms", epoll_create1(0), 4, 0);
}

static void wake(void)
{
    int ep = epoll_create1(0);
    int p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 7);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100 * 1000);
        write(p[1], "late", 4);
        _exit(0);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wait_show("woken by the child", ep, 4, -1);
    printf("waited >= 50ms: %s\n", ms_since(&t0) >= 50 ? "yes" : "no");
    int st;
    waitpid(pid, &st, 0);
    printf("child: exited %d\n", WEXITSTATUS(st));
}

static void oneshot_edge(void)
{
    int ep = epoll_create1(0);
    int a[2], b[2];
    pipe(a);
    pipe(b);
    add(ep, a[0], EPOLLIN | EPOLLONESHOT, 1);
    add(ep, b[0], EPOLLIN | EPOLLET, 2);
    write(a[1], "x", 1);
    write(b[1], "y", 1);
    wait_show("first wait", ep, 4, 0);
    wait_show("second wait: one-shot spent, edge seen", ep, 4, 0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 3};
    SHOW("re-arm the one-shot", epoll_ctl(ep, EPOLL_CTL_MOD, a[0], &ev));
    char buf[8];
    read(b[0], buf, sizeof buf);
    wait_show("after re-arm and draining the edge pipe", ep, 4, 0);
    write(b[1], "z", 1);
    wait_show("new data on the edge pipe", ep, 4, 0);
}

static void errors(void)
{
    int ep = epoll_create1(0);
    int p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN};
    SHOW("epoll_create1 bad flags", epoll_create1(1));
    SHOW("epoll_create size 0", epoll_create(0));
    SHOW("add twice (1)", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    SHOW("add twice (2)", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    SHOW("mod unwatched", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));
    SHOW("del unwatched", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    SHOW("bad op", epoll_ctl(ep, 9, p[0], &ev));
    SHOW("add itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
    SHOW("add a bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev));
    SHOW("epfd not epoll", epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev));
    int f = open("/proc/self/exe", O_RDONLY);
    SHOW("add a regular file", epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev));
    struct epoll_event out[1];
    SHOW("wait maxevents 0", epoll_wait(ep, out, 0, 0));
    SHOW("wait on a pipe", epoll_wait(p[0], out, 1, 0));
    SHOW("wait bad fd", epoll_wait(999, out, 1, 0));
    int q[2];
    pipe(q);
    struct epoll_event ex = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    SHOW("add EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ex));
    SHOW("mod with EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ex));
    ex.events = EPOLLIN;
    SHOW("mod an exclusive watch", epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ex));
    ex.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    SHOW("EPOLLEXCLUSIVE with EPOLLONESHOT", epoll_ctl(ep, EPOLL_CTL_ADD, q[1], &ex));
    int inner = epoll_create1(0);
    ex.events = EPOLLIN | EPOLLEXCLUSIVE;
    SHOW("EPOLLEXCLUSIVE on an epoll fd", epoll_ctl(ep, EPOLL_CTL_ADD, inner, &ex));
}

/* Adds epoll ``inner`` to epoll ``outer`` and prints the outcome. */
static void nest(const char *label, int outer, int inner)
{
    struct epoll_event ev = {.events = EPOLLIN};
    SHOW(label, epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev));
}

static void loops(void)
{
    int a = epoll_create1(0), b = epoll_create1(0), c = epoll_create1(0);
    nest("b in a", a, b);
    nest("c in b", b, c);
    nest("a in c (a loop)", c, a);
    nest("a in b (a loop)", b, a);
    nest("b in a again", a, b);
    int d = dup(a);
    nest("a in itself, by a dup", a, d);

    /* a chain built upwards: each new instance holds the last */
    int chain[8], made = 1;
    chain[0] = epoll_create1(0);
    for (int i = 1; i < 8; i++) {
        chain[i] = epoll_create1(0);
        char label[64];
        snprintf(label, sizeof label, "upwards, level %d", i + 1);
        struct epoll_event ev = {.events = EPOLLIN};
        long r = epoll_ctl(chain[i], EPOLL_CTL_ADD, chain[i - 1], &ev);
        int e = errno;
        if (r < 0) {
            printf("%s: -1 %s\n", label, errname(e));
            break;
        }
        made++;
    }
    printf("upwards chain: %d instances\n", made);

    /* a chain built downwards: each new instance goes into the last */
    int down[8];
    made = 1;
    down[0] = epoll_create1(0);
    for (int i = 1; i < 8; i++) {
        down[i] = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN};
        long r = epoll_ctl(down[i - 1], EPOLL_CTL_ADD, down[i], &ev);
        int e = errno;
        if (r < 0) {
            printf("downwards, level %d: -1 %s\n", i + 1, errname(e));
            break;
        }
        made++;
    }
    printf("downwards chain: %d instances\n", made);

    /* two chains of three joined in the middle: too deep */
    int x1 = epoll_create1(0), x2 = epoll_create1(0), x3 = epoll_create1(0);
    int y1 = epoll_create1(0), y2 = epoll_create1(0), y3 = epoll_create1(0);
    nest("x2 in x1", x1, x2);
    nest("x3 in x2", x2, x3);
    nest("y2 in y1", y1, y2);
    nest("y3 in y2", y2, y3);
    nest("y1 in x3 (six deep)", x3, y1);
    nest("y2 in x3 (five deep)", x3, y2);

    int p[2];
    pipe(p);
    write(p[1], "x", 1);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 5};
    epoll_ctl(chain[0], EPOLL_CTL_ADD, p[0], &ev);
    struct epoll_event got;
    SHOW("the outermost sees the pipe", epoll_wait(chain[made - 1], &got, 1, 0));
}

/* Two processes, each with its own epoll instance watching one eventfd with
 * EPOLLEXCLUSIVE, wait; one write wakes one of them. */
static void exclusive(void)
{
    int efd = eventfd(0, EFD_NONBLOCK), ready[2], woke[2];
    pipe(ready);
    pipe(woke);
    for (int i = 0; i < 2; i++) {
        if (fork() == 0) {
            int ep = epoll_create1(0);
            struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
            epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
            write(ready[1], "r", 1);
            struct epoll_event got;
            int n = epoll_wait(ep, &got, 1, 1000);
            uint64_t v;
            if (n > 0)
                read(efd, &v, sizeof v);
            write(woke[1], n > 0 ? "1" : "0", 1);
            _exit(0);
        }
    }
    char c;
    read(ready[0], &c, 1);
    read(ready[0], &c, 1);
    usleep(200000);
    uint64_t one = 1;
    write(efd, &one, sizeof one);
    int total = 0;
    for (int i = 0; i < 2; i++) {
        read(woke[0], &c, 1);
        total += c == '1';
    }
    while (wait(NULL) > 0)
        ;
    printf("one write woke %d of 2 exclusive waiters\n", total);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("level"))
        level();
    if (section("timeout"))
        timeout();
    if (section("wake"))
        wake();
    if (section("oneshot_edge"))
        oneshot_edge();
    if (section("loops"))
        loops();
    if (section("exclusive"))
        exclusive();
    if (section("errors"))
        errors();
    return 0;
}
