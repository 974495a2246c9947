/* files_splice.c — splice(2), tee(2), vmsplice(2) between pipes, files and sockets, one part per section (argv[1]; none: all): copies and offsets, Linux's errors in order (and the vectored calls'), waiting for data and room. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

/* Reads what a pipe holds now (it must hold something) and prints it. */
static void drain(const char *label, int fd)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("%s: %zd [%.*s]\n", label, n, n > 0 ? (int)n : 0, buf);
}

static int file_with(const char *name, const char *text)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void copies(void)
{
    int p[2], q[2];
    pipe(p);
    pipe(q);
    int f = file_with("src", "0123456789");
    loff_t off = 2;
    SHOW("file to pipe at offset 2", splice(f, &off, p[1], NULL, 4, SPLICE_F_MORE));
    printf("offset now %lld, file position %lld\n", (long long)off, (long long)lseek(f, 0, SEEK_CUR));
    drain("pipe holds", p[0]);
    SHOW("file to pipe at its position", splice(f, NULL, p[1], NULL, 3, SPLICE_F_MOVE));
    printf("file position %lld\n", (long long)lseek(f, 0, SEEK_CUR));
    SHOW("pipe to pipe", splice(p[0], NULL, q[1], NULL, 100, 0));
    drain("second pipe holds", q[0]);
    off = 20;
    SHOW("file to pipe past the end", splice(f, &off, p[1], NULL, 4, 0));
    write(p[1], "abcdef", 6);
    int g = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
    off = 3;
    SHOW("pipe to file at offset 3", splice(p[0], NULL, g, &off, 4, 0));
    printf("offset now %lld, file position %lld\n", (long long)off, (long long)lseek(g, 0, SEEK_CUR));
    SHOW("pipe to file at its position", splice(p[0], NULL, g, NULL, 100, 0));
    char buf[16] = {0};
    SHOW("file reads", pread(g, buf, sizeof buf, 0));
    printf("  [%c%c%c%s]\n", buf[0] ? '?' : '.', buf[1] ? '?' : '.', buf[2] ? '?' : '.', buf + 3);
    int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
    SHOW("/dev/zero to pipe", splice(zero, NULL, p[1], NULL, 100, 0));
    SHOW("pipe to /dev/null", splice(p[0], NULL, null, NULL, 50, 0));
    off = 5;
    SHOW("pipe to /dev/null at offset 5", splice(p[0], NULL, null, &off, 1000, 0));
    printf("a device's offset stays: %lld\n", (long long)off);
    SHOW("a directory to pipe", splice(open(".", O_RDONLY), NULL, p[1], NULL, 1, 0));
    close(p[1]);
    SHOW("empty pipe without writers", splice(p[0], NULL, g, NULL, 10, 0));
}

static void errors(void)
{
    int p[2], q[2];
    pipe(p);
    pipe(q);
    int f = file_with("e", "data");
    int g = open("e2", O_RDWR | O_CREAT | O_APPEND, 0644);
    loff_t off = 0;
    SHOW("length 0, bad fds", splice(-1, NULL, -1, NULL, 0, 0));
    SHOW("bad flags", splice(p[0], NULL, q[1], NULL, 1, 0x10));
    SHOW("bad in fd", splice(-1, NULL, p[1], NULL, 1, 0));
    SHOW("bad out fd", splice(f, NULL, 99, NULL, 1, 0));
    SHOW("offset for the pipe", splice(f, NULL, p[1], &off, 1, 0));
    SHOW("bad offset pointer for the pipe", splice(f, NULL, p[1], (loff_t *)8, 1, 0));
    SHOW("bad offset pointer for the file", splice(f, (loff_t *)8, p[1], NULL, 1, 0));
    SHOW("write end as input", splice(p[1], NULL, q[1], NULL, 1, 0));
    SHOW("read end as output", splice(f, NULL, p[0], NULL, 1, 0));
    SHOW("no pipe at all", splice(f, NULL, g, NULL, 1, 0));
    SHOW("a pipe to itself", splice(p[0], NULL, p[1], NULL, 1, 0));
    write(p[1], "x", 1);
    SHOW("to an O_APPEND file", splice(p[0], NULL, g, NULL, 1, 0));
    off = -1;
    SHOW("negative offset", splice(p[0], NULL, f, &off, 1, 0));
    SHOW("empty pipe, SPLICE_F_NONBLOCK", splice(q[0], NULL, f, NULL, 1, SPLICE_F_NONBLOCK));
    fcntl(q[0], F_SETFL, O_NONBLOCK);
    SHOW("empty pipe, O_NONBLOCK", splice(q[0], NULL, p[1], NULL, 1, 0));
    signal(SIGPIPE, SIG_IGN);
    close(q[0]);
    SHOW("to a pipe without reader", splice(p[0], NULL, q[1], NULL, 1, 0));
    SHOW("file to a pipe without reader", splice(f, NULL, q[1], NULL, 1, 0));
    int e = eventfd(0, 0);
    SHOW("to an eventfd", splice(p[0], NULL, e, NULL, 1, 0));
}

static void tee_vmsplice(void)
{
    int p[2], q[2];
    pipe(p);
    pipe(q);
    write(p[1], "hello world", 11);
    SHOW("tee", tee(p[0], q[1], 5, 0));
    drain("copy", q[0]);
    drain("original, still whole", p[0]);
    SHOW("tee bad flags before length 0", tee(p[0], q[1], 0, 0x40));
    SHOW("tee length 0", tee(-1, -1, 0, 0));
    SHOW("tee bad fd", tee(-1, q[1], 1, 0));
    SHOW("tee one pipe", tee(p[0], p[1], 1, 0));
    int f = file_with("t", "x");
    SHOW("tee from a file", tee(f, q[1], 1, 0));
    SHOW("tee empty, NONBLOCK", tee(p[0], q[1], 1, SPLICE_F_NONBLOCK));

    char a[] = "vm", b[] = "splice";
    struct iovec iov[2] = {{a, 2}, {b, 6}};
    SHOW("vmsplice in", vmsplice(p[1], iov, 2, SPLICE_F_GIFT));
    char x[3] = {0}, y[8] = {0};
    struct iovec out[2] = {{x, 3}, {y, 8}};
    SHOW("vmsplice out", vmsplice(p[0], out, 2, 0));
    printf("  [%.3s|%s]\n", x, y);
    SHOW("vmsplice out of empty, NONBLOCK", vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK));
    SHOW("vmsplice bad flags", vmsplice(p[1], iov, 2, 0x100));
    SHOW("vmsplice bad fd, bad iovec", vmsplice(-1, (struct iovec *)8, 2, 0));
    SHOW("vmsplice a file, nothing", vmsplice(f, iov, 0, 0));
    SHOW("vmsplice a file", vmsplice(f, iov, 2, 0));
    SHOW("vmsplice too many iovecs", vmsplice(p[1], iov, 1025, 0));
    SHOW("vmsplice bad iovec", vmsplice(p[1], (struct iovec *)8, 1, 0));
    const char *text = "read-only text";
    struct iovec ro = {(void *)text, 4};
    SHOW("vmsplice from read-only memory", vmsplice(p[1], &ro, 1, 0));
    SHOW("vmsplice into read-only memory", vmsplice(p[0], &ro, 1, 0));
    drain("the pipe kept", p[0]);
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    static char big[8192] __attribute__((aligned(4096)));
    struct iovec all = {big, sizeof big};
    SHOW("vmsplice more than fits", vmsplice(p[1], &all, 1, 0));
    SHOW("vmsplice full, NONBLOCK", vmsplice(p[1], &all, 1, SPLICE_F_NONBLOCK));
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void waits(void)
{
    int p[2], q[2], s[2];
    pipe(p);
    pipe(q);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        write(p[1], "late", 4);
        usleep(100000);
        static char buf[4096];
        read(q[0], buf, sizeof buf);  /* makes room in the full pipe */
        _exit(0);
    }
    SHOW("splice waits for data", splice(p[0], NULL, s[0], NULL, 100, 0));
    char buf[16] = {0};
    SHOW("the socket got", read(s[1], buf, sizeof buf));
    printf("  [%s]\n", buf);
    fcntl(q[1], F_SETPIPE_SZ, 4096);
    static char fill[4096];
    write(q[1], fill, sizeof fill);
    write(s[1], "from socket", 11);
    SHOW("socket to a full pipe waits for room", splice(s[0], NULL, q[1], NULL, 100, 0));
    waitpid(child, NULL, 0);
    drain("the pipe got", q[0]);
    SHOW("socket to pipe, nothing left, NONBLOCK", splice(s[0], NULL, q[1], NULL, 10, SPLICE_F_NONBLOCK));
    close(s[1]);
    SHOW("socket at end of file", splice(s[0], NULL, q[1], NULL, 10, 0));

    /* a signal ends a waiting splice (no SA_RESTART) with nothing taken */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    ualarm(100000, 0);
    SHOW("a signal ends a waiting splice", splice(p[0], NULL, q[1], NULL, 10, 0));
    write(p[1], "kept", 4);
    SHOW("the next splice", splice(p[0], NULL, q[1], NULL, 10, 0));
    drain("the pipe got", q[0]);

    /* a TCP connection on the loopback */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 1);
    getsockname(l, (struct sockaddr *)&a, &len);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int srv = accept(l, NULL, NULL);
    write(p[1], "to tcp", 6);
    SHOW("pipe to a TCP socket", splice(p[0], NULL, c, NULL, 100, SPLICE_F_MORE));
    char got[16] = {0};
    SHOW("the other end reads", read(srv, got, sizeof got));
    printf("  [%s]\n", got);
}

static void vectored(void)
{
    int p[2];
    pipe(p);
    char buf[4];
    struct iovec iov = {buf, 4};
    SHOW("readv bad fd, bad iovec", readv(-1, (struct iovec *)8, 1));
    SHOW("writev bad fd, bad iovec", writev(-1, (struct iovec *)8, 1));
    SHOW("readv bad fd, 2000 iovecs", readv(-1, &iov, 2000));
    SHOW("readv write end, bad iovec", readv(p[1], (struct iovec *)8, 1));
    SHOW("writev read end, 2000 iovecs", writev(p[0], &iov, 2000));
    SHOW("readv bad iovec", readv(p[0], (struct iovec *)8, 1));
    SHOW("readv 2000 iovecs", readv(p[0], &iov, 2000));
    SHOW("preadv bad fd, negative offset", preadv(-1, (struct iovec *)8, 1, -1));
    SHOW("preadv bad fd, bad iovec", preadv(-1, (struct iovec *)8, 1, 0));
    SHOW("pwritev read end, bad iovec", pwritev(p[0], (struct iovec *)8, 1, 0));
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    testdir_enter("files_splice");
    if (section("copies"))
        copies();
    if (section("errors")) {
        errors();
        vectored();
    }
    if (section("tee_vmsplice"))
        tee_vmsplice();
    if (section("waits"))
        waits();
    testdir_leave();
    return 0;
}
