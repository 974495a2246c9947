/* pipe_local.c — pipe reads and writes the personality serves itself (linux/pipefast): a ping-pong of checked bytes, uneven sizes echoed back, a parked read ended by a signal (EINTR; SA_RESTART runs it again), two threads parked on one pipe, end of file and a killed reader while parked, a parked read woken by writev and by vmsplice, poll woken by a write, FIONREAD, dup2 over a pipe fd, an end passed over AF_UNIX and one opened by its /proc/self/fd link, close, the wrong direction, a bad buffer, O_NONBLOCK, a write larger than the pipe, EPIPE (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void show_status(const char *label, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", label, WTERMSIG(st));
}

static int handled;
static void on_usr1(int sig)
{
    (void)sig;
    handled++;
}

/* A child parked in a read of an empty pipe gets SIGUSR1 (with or without SA_RESTART),
   then a byte: what its read returns, and what a second read returns. */
static void interrupted(int restart)
{
    int p[2], ready[2];
    pipe(p);
    pipe(ready);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sa.sa_flags = restart ? SA_RESTART : 0;
        sigaction(SIGUSR1, &sa, NULL);
        close(p[1]);
        write(ready[1], "r", 1);
        char c = '?';
        ssize_t n = read(p[0], &c, 1);
        int err = errno;
        printf("%s: handler ran %d, read %zd %s", restart ? "restart" : "eintr", handled, n,
               n < 0 ? errname(err) : "");
        if (n > 0)
            printf(" '%c'", c);
        if (n < 0) {
            n = read(p[0], &c, 1);
            printf(", then read %zd '%c'", n, c);
        }
        printf("\n");
        fflush(stdout);
        _exit(0);
    }
    char r;
    read(ready[0], &r, 1);
    pause_ms(100);  /* the child is parked in its read by now */
    kill(pid, SIGUSR1);
    pause_ms(100);
    write(p[1], restart ? "y" : "x", 1);
    int st;
    waitpid(pid, &st, 0);
    show_status("child", st);
    close(p[0]);
    close(p[1]);
    close(ready[0]);
    close(ready[1]);
}

static int shared_pipe[2];
static void *read_one(void *arg)
{
    char *got = arg;
    if (read(shared_pipe[0], got, 1) != 1)
        *got = '!';
    return NULL;
}

static int by_char(const void *a, const void *b)
{
    return *(const char *)a - *(const char *)b;
}

/* Two threads park on one pipe; the bytes come in one write (``together``) or two. */
static void two_readers(int together)
{
    pipe(shared_pipe);
    char got[3] = {0, 0, 0};
    pthread_t a, b;
    pthread_create(&a, NULL, read_one, &got[0]);
    pthread_create(&b, NULL, read_one, &got[1]);
    pause_ms(100);
    if (together) {
        write(shared_pipe[1], "ab", 2);
    } else {
        write(shared_pipe[1], "a", 1);
        pause_ms(20);
        write(shared_pipe[1], "b", 1);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    qsort(got, 2, 1, by_char);
    int left = 0;
    ioctl(shared_pipe[0], FIONREAD, &left);
    printf("threads (%s): got %s, %d left\n", together ? "one write" : "two writes", got, left);
    close(shared_pipe[0]);
    close(shared_pipe[1]);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    int p[2], q[2], st;
    char buf[512];

    if (section("pingpong")) {
        pipe(p);
        pipe(q);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[1]);
            close(q[0]);
            unsigned char c[16];
            ssize_t n;
            while ((n = read(p[0], c, sizeof c)) == 1) {
                c[0]++;
                if (write(q[1], c, 1) != 1)
                    _exit(2);
            }
            _exit(n == 0 ? 0 : 1);
        }
        close(p[0]);
        close(q[1]);
        int bad = 0, rounds = 2000;
        for (int i = 0; i < rounds; i++) {
            unsigned char c = (unsigned char)(i * 7), r = 0;
            if (write(p[1], &c, 1) != 1 || read(q[0], &r, 1) != 1)
                bad++;
            else if (r != (unsigned char)(c + 1))
                bad++;
        }
        close(p[1]);
        char end;
        ssize_t n = read(q[0], &end, 1);
        waitpid(pid, &st, 0);
        printf("pingpong: %d rounds, %d bad, then read %zd\n", rounds, bad, n);
        show_status("child", st);
        close(q[0]);
    }

    if (section("sizes")) {
        pipe(p);
        pipe(q);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[1]);
            close(q[0]);
            char c[100];
            ssize_t n = 0;
            while ((n = read(p[0], c, (size_t)(7 + n % 90))) > 0)
                if (write(q[1], c, (size_t)n) != n)
                    _exit(2);
            _exit(n == 0 ? 0 : 1);
        }
        close(p[0]);
        close(q[1]);
        long total = 0, bad = 0;
        for (unsigned i = 0; i < 300; i++) {
            int len = (int)((unsigned)i % 300u) + 1;
            for (int k = 0; k < len; k++)
                buf[k] = (char)(i + k * 3);
            if (write(p[1], buf, (size_t)len) != len) {
                bad++;
                break;
            }
            char back[512];
            int got = 0;
            while (got < len) {
                ssize_t n = read(q[0], back + got, sizeof back - (size_t)got);
                if (n <= 0)
                    break;
                got += (int)n;
            }
            bad += got != len || memcmp(back, buf, (size_t)len) != 0;
            total += got;
        }
        close(p[1]);
        waitpid(pid, &st, 0);
        printf("sizes: %ld bytes echoed, %ld bad\n", total, bad);
        show_status("child", st);
        close(q[0]);
    }

    if (section("eintr"))
        interrupted(0);
    if (section("restart"))
        interrupted(1);

    if (section("threads")) {
        two_readers(0);
        two_readers(1);
    }

    if (section("eof")) {
        pipe(p);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[1]);
            char c;
            ssize_t n = read(p[0], &c, 1);
            printf("eof: parked read gave %zd\n", n);
            fflush(stdout);
            _exit(0);
        }
        close(p[0]);
        pause_ms(100);
        close(p[1]);  /* the last writer: the parked reader sees end of file */
        waitpid(pid, &st, 0);
        show_status("child", st);
    }

    if (section("killed")) {
        pipe(p);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char c;
            read(p[0], &c, 1);
            _exit(3);
        }
        pause_ms(100);
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        show_status("reader", st);
        write(p[1], "z", 1);  /* nobody waits for it now: it stays in the pipe */
        char c = '?';
        ssize_t n = read(p[0], &c, 1);
        printf("killed: the pipe kept the byte: read %zd '%c'\n", n, c);
        close(p[0]);
        close(p[1]);
    }

    if (section("writev")) {
        pipe(p);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char c[10] = {0};
            ssize_t n = read(p[0], c, sizeof c - 1);
            printf("writev: parked read gave %zd [%s]\n", n, c);
            fflush(stdout);
            _exit(0);
        }
        pause_ms(100);
        struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
        ssize_t w = writev(p[1], iov, 2);
        waitpid(pid, &st, 0);
        printf("writev wrote %zd\n", w);
        show_status("child", st);
        close(p[0]);
        close(p[1]);
    }

    if (section("vmsplice")) {
        pipe(p);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char c[10] = {0};
            ssize_t n = read(p[0], c, sizeof c - 1);
            printf("vmsplice: parked read gave %zd [%s]\n", n, c);
            fflush(stdout);
            _exit(0);
        }
        pause_ms(100);
        static char vm[] = "vm";
        struct iovec iov = {vm, 2};
        ssize_t w = vmsplice(p[1], &iov, 1, 0);
        waitpid(pid, &st, 0);
        printf("vmsplice wrote %zd\n", w);
        show_status("child", st);
        close(p[0]);
        close(p[1]);
    }

    if (section("poll")) {
        pipe(p);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            struct pollfd pfd = {p[0], POLLIN, 0};
            int ready = poll(&pfd, 1, 5000);
            char c = '?';
            ssize_t n = read(p[0], &c, 1);
            printf("poll: %d ready, revents %#x, then read %zd '%c'\n", ready, pfd.revents,
                   n, c);
            fflush(stdout);
            _exit(0);
        }
        pause_ms(100);
        write(p[1], "p", 1);
        waitpid(pid, &st, 0);
        show_status("child", st);
        close(p[0]);
        close(p[1]);
    }

    if (section("fionread")) {
        pipe(p);
        int n = -1;
        write(p[1], "hello", 5);
        ioctl(p[0], FIONREAD, &n);
        printf("fionread: %d", n);
        read(p[0], buf, 2);
        ioctl(p[0], FIONREAD, &n);
        printf(", after reading 2: %d", n);
        ssize_t r = read(p[0], buf, sizeof buf);
        ioctl(p[0], FIONREAD, &n);
        printf(", after reading %zd: %d\n", r, n);
        close(p[0]);
        close(p[1]);
    }

    if (section("fds")) {
        pipe(p);
        pipe(q);
        write(p[1], "A", 1);
        write(q[1], "B", 1);
        char c = '?';
        ssize_t n = read(p[0], &c, 1);
        printf("fds: first pipe %zd '%c'", n, c);
        dup2(q[0], p[0]);  /* the fd now reads the other pipe */
        n = read(p[0], &c, 1);
        printf(", after dup2 %zd '%c'", n, c);
        close(p[0]);
        n = read(p[0], &c, 1);
        printf(", after close %zd %s", n, n < 0 ? errname(errno) : "");
        n = write(q[0], "x", 1);
        printf(", write to the read end %zd %s", n, n < 0 ? errname(errno) : "");
        n = read(q[1], &c, 1);
        printf(", read of the write end %zd %s\n", n, n < 0 ? errname(errno) : "");
        close(p[1]);
        close(q[0]);
        close(q[1]);
    }

    if (section("passed")) {
        /* a pipe end that came over AF_UNIX (SCM_RIGHTS), and one opened again by its
           /proc/self/fd link: each a new fd of the same pipe */
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        pipe(p);
        char cbuf[CMSG_SPACE(sizeof(int))];
        memset(cbuf, 0, sizeof cbuf);
        struct iovec iov = {"f", 1};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &p[1], sizeof(int));
        sendmsg(sv[0], &m, 0);
        close(p[1]);
        char one;
        iov.iov_base = &one;
        m.msg_controllen = sizeof cbuf;
        recvmsg(sv[1], &m, 0);
        int got;
        memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
        ssize_t w = write(got, "s", 1);
        char c1 = '?';
        ssize_t n = read(p[0], &c1, 1);
        printf("passed: wrote %zd through the passed end, read %zd '%c'", w, n, c1);
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
        int again = open(path, O_RDONLY);
        write(got, "r", 1);
        n = read(again, &c1, 1);
        printf(", read %zd '%c' through /proc/self/fd", n, c1);
        close(got);
        n = read(again, &c1, 1);
        printf(", after the last writer's close %zd\n", n);
        close(again);
        close(p[0]);
        close(sv[0]);
        close(sv[1]);
    }

    if (section("badbuf")) {
        pipe(p);
        write(p[1], "b", 1);
        char *volatile nowhere = NULL;  /* (not a constant: no compiler warning) */
        ssize_t n = read(p[0], nowhere, 1);
        int left = -1;
        ioctl(p[0], FIONREAD, &left);
        printf("badbuf: read into NULL %zd %s, %d left", n, n < 0 ? errname(errno) : "", left);
        n = write(p[1], nowhere, 1);
        printf(", write from NULL %zd %s\n", n, n < 0 ? errname(errno) : "");
        close(p[0]);
        close(p[1]);
    }

    if (section("nonblock")) {
        pipe2(p, O_NONBLOCK);
        ssize_t n = read(p[0], buf, 1);
        printf("nonblock: empty read %zd %s", n, n < 0 ? errname(errno) : "");
        write(p[1], "n", 1);
        n = read(p[0], buf, 10);
        printf(", then %zd", n);
        close(p[1]);
        n = read(p[0], buf, 1);
        printf(", no writer %zd\n", n);
        close(p[0]);
    }

    if (section("big")) {
        pipe(p);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            static char big[200000];
            for (size_t i = 0; i < sizeof big; i++)
                big[i] = (char)(i % 251);
            ssize_t w = write(p[1], big, sizeof big);
            _exit(w == (ssize_t)sizeof big ? 0 : 1);
        }
        close(p[1]);
        long total = 0, bad = 0;
        ssize_t n;
        while ((n = read(p[0], buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                bad += buf[i] != (char)((total + i) % 251);
            total += n;
        }
        waitpid(pid, &st, 0);
        printf("big: %ld bytes, %ld bad\n", total, bad);
        show_status("writer", st);
        close(p[0]);
    }

    if (section("epipe")) {
        pipe(p);
        close(p[0]);
        ssize_t n = write(p[1], "e", 1);
        printf("epipe: %zd %s\n", n, n < 0 ? errname(errno) : "");
        close(p[1]);
    }
    return 0;
}
