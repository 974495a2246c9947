/* mmsg.c — readahead(2), sendmmsg(2) and recvmmsg(2): readahead of each kind of file
   (EBADF, EINVAL, 0); batches of messages on AF_UNIX datagram and stream socketpairs and
   on UDP over the loopback (counts, each entry's msg_len, MSG_WAITFORONE, MSG_DONTWAIT,
   timeouts, partial batches, vlen 0 and past UIO_MAXIOV, a signal in the middle, bad
   pointers, signals in the middle of a batch). argv[1] picks a section: readahead |
   dgram | stream | inet | errors | midbatch. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

#define N 8
static struct mmsghdr mm[N];
static struct iovec iov[N];
static char buf[N][16];

static void report(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errname(errno));
    else
        printf("%s: %ld\n", what, r);
    errno = 0;
}

/* Entries 0..n-1 over buf, each of room bytes; msg_len preset to 77 (untouched shows). */
static void prepare(int n, size_t room)
{
    memset(mm, 0, sizeof mm);
    memset(buf, 0, sizeof buf);
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = buf[i];
        iov[i].iov_len = room;
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_len = 77;
    }
}

/* Entries holding the given strings. */
static void outgoing(int n, const char **texts)
{
    prepare(n, 0);
    for (int i = 0; i < n; i++) {
        strcpy(buf[i], texts[i]);
        iov[i].iov_len = strlen(texts[i]);
    }
}

static void show(const char *what, int r, int n)
{
    report(what, r);
    for (int i = 0; i < n; i++)
        printf("  [%d] msg_len %u data [%.*s]\n", i, mm[i].msg_len,
               (int)(mm[i].msg_len < 16 ? mm[i].msg_len : 16), buf[i]);
}

static long sendmm(int fd, struct mmsghdr *v, unsigned n, int flags)
{
    return syscall(SYS_sendmmsg, fd, v, n, flags);
}

static long recvmm(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *t)
{
    return syscall(SYS_recvmmsg, fd, v, n, flags, t);
}

static void section_readahead(void)
{
    char dir[] = "/tmp/mmsg.XXXXXX";
    if (!mkdtemp(dir))
        return;
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    int w = open(path, O_CREAT | O_WRONLY, 0644);
    static char block[10000];
    memset(block, 'x', sizeof block);
    if (write(w, block, sizeof block) != sizeof block)
        return;
    int r = open(path, O_RDONLY), rw = open(path, O_RDWR), p = open(path, O_PATH);
    report("file: readahead(0, 4096)", syscall(SYS_readahead, r, 0L, 4096L));
    report("file: readahead(past the end)", syscall(SYS_readahead, r, 1L << 40, 4096L));
    report("file: readahead(count 0)", syscall(SYS_readahead, r, 0L, 0L));
    report("file: readahead(offset -1)", syscall(SYS_readahead, r, -1L, 10L));
    report("file: readahead(count SIZE_MAX)", syscall(SYS_readahead, r, 0L, -1L));
    report("file O_RDWR: readahead", syscall(SYS_readahead, rw, 0L, 4096L));
    report("file O_WRONLY: readahead", syscall(SYS_readahead, w, 0L, 4096L));
    report("file O_PATH: readahead", syscall(SYS_readahead, p, 0L, 4096L));
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return;
    report("pipe read end: readahead", syscall(SYS_readahead, pipefd[0], 0L, 10L));
    report("pipe write end: readahead", syscall(SYS_readahead, pipefd[1], 0L, 10L));
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    report("directory: readahead", syscall(SYS_readahead, d, 0L, 10L));
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    report("socket: readahead", syscall(SYS_readahead, s, 0L, 10L));
    int nul = open("/dev/null", O_RDONLY), wnul = open("/dev/null", O_WRONLY);
    report("/dev/null: readahead", syscall(SYS_readahead, nul, 0L, 10L));
    report("/dev/null O_WRONLY: readahead", syscall(SYS_readahead, wnul, 0L, 10L));
    int e = eventfd(0, 0);
    report("eventfd: readahead", syscall(SYS_readahead, e, 0L, 10L));
    int m = memfd_create("m", 0);
    report("memfd: readahead", syscall(SYS_readahead, m, 0L, 10L));
    report("closed fd: readahead", syscall(SYS_readahead, 999, 0L, 10L));
    report("fd -1: readahead", syscall(SYS_readahead, -1, 0L, 10L));
    report("closed fd, count SIZE_MAX: readahead", syscall(SYS_readahead, 999, 0L, -1L));
    char after[16] = {0};
    report("file: read after readahead", pread(r, after, 4, 0));
    printf("  read [%s]\n", after);
    unlink(path);
    rmdir(dir);
}

static void section_dgram(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
        return;
    const char *three[] = {"one", "two2", "three33"};
    outgoing(3, three);
    show("sendmmsg(3)", sendmm(sv[0], mm, 3, 0), 3);
    prepare(5, 16);
    show("recvmmsg(5, MSG_DONTWAIT)", recvmm(sv[1], mm, 5, MSG_DONTWAIT, NULL), 5);
    prepare(2, 16);
    report("recvmmsg(nothing queued, MSG_DONTWAIT)", recvmm(sv[1], mm, 2, MSG_DONTWAIT, NULL));

    outgoing(2, three);
    report("sendmmsg(2)", sendmm(sv[0], mm, 2, 0));
    prepare(4, 16);
    show("recvmmsg(4, MSG_WAITFORONE) of 2", recvmm(sv[1], mm, 4, MSG_WAITFORONE, NULL), 4);

    const char *longer[] = {"a much longer message"};
    outgoing(1, longer);
    report("sendmmsg(long)", sendmm(sv[0], mm, 1, 0));
    prepare(1, 5);
    show("recvmmsg(into 5 bytes)", recvmm(sv[1], mm, 1, MSG_DONTWAIT, NULL), 1);

    outgoing(3, three);
    report("sendmmsg(3)", sendmm(sv[0], mm, 3, 0));
    struct timespec zero = {0, 0};
    prepare(3, 16);
    show("recvmmsg(3, timeout 0)", recvmm(sv[1], mm, 3, MSG_DONTWAIT, &zero), 3);
    printf("  timeout left %ld.%09ld\n", (long)zero.tv_sec, zero.tv_nsec);
    struct timespec five = {5, 0};
    prepare(3, 16);
    show("recvmmsg(3, timeout 5 s) of 2", recvmm(sv[1], mm, 3, MSG_DONTWAIT, &five), 3);
    printf("  timeout left in (4 s, 5 s]: %d\n",
           five.tv_sec == 4 || (five.tv_sec == 5 && five.tv_nsec == 0));
    struct timespec untouched = {7, 0};
    report("recvmmsg(nothing queued, timeout 7 s)",
           recvmm(sv[1], mm, 3, MSG_DONTWAIT, &untouched));
    printf("  timeout left %ld.%09ld\n", (long)untouched.tv_sec, untouched.tv_nsec);

    report("sendmmsg(vlen 0)", sendmm(sv[0], mm, 0, 0));
    report("recvmmsg(vlen 0)", recvmm(sv[1], mm, 0, 0, NULL));

    /* A blocking batch: each of three messages waits for the sender. */
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 3; i++) {
            usleep(100000);
            send(sv[0], three[i], strlen(three[i]), 0);
        }
        _exit(0);
    }
    prepare(3, 16);
    show("recvmmsg(3), each sent 0.1 s apart", recvmm(sv[1], mm, 3, 0, NULL), 3);
    int status;
    waitpid(child, &status, 0);
    close(sv[0]);
    close(sv[1]);
}

static void on_usr1(int sig)
{
    (void)sig;
}

static void section_stream(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return;
    const char *three[] = {"ab", "cd", "ef"};
    outgoing(3, three);
    show("sendmmsg(3)", sendmm(sv[0], mm, 3, 0), 3);
    prepare(3, 4);
    show("recvmmsg(3 of 4 bytes, MSG_DONTWAIT) of 6 bytes",
         recvmm(sv[1], mm, 3, MSG_DONTWAIT, NULL), 3);

    /* Past UIO_MAXIOV: sendmmsg takes 1024 entries (empty sends queue nothing). */
    static struct mmsghdr many[1500];
    memset(many, 0, sizeof many);
    report("sendmmsg(1500 empty entries)", sendmm(sv[0], many, 1500, 0));
    printf("  msg_len of [1023] %u [1024] %u\n", many[1023].msg_len, many[1024].msg_len);

    /* A signal while the second message is awaited: the count so far. */
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        usleep(100000);
        send(sv[0], "x", 1, 0);
        usleep(500000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    prepare(3, 4);
    show("recvmmsg(3), a signal after the first", recvmm(sv[1], mm, 3, 0, NULL), 3);
    int status;
    waitpid(child, &status, 0);

    /* (Linux keeps the interrupted receive's error for the socket's next call: a new pair.)
       At the end of the stream every receive is 0 bytes: recvmmsg takes no cap. */
    close(sv[0]);
    close(sv[1]);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return;
    close(sv[0]);
    static struct mmsghdr eof[1100];
    memset(eof, 0, sizeof eof);
    for (int i = 0; i < 1100; i++)
        eof[i].msg_len = 77;
    report("recvmmsg(1100) at the end of the stream", recvmm(sv[1], eof, 1100, 0, NULL));
    printf("  msg_len of [0] %u [1099] %u\n", eof[0].msg_len, eof[1099].msg_len);
    close(sv[1]);

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return;
    close(sv[1]);
    outgoing(2, three);
    report("sendmmsg(to a closed peer, MSG_NOSIGNAL)", sendmm(sv[0], mm, 2, MSG_NOSIGNAL));
    close(sv[0]);
}

static void section_inet(void)
{
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(rx, (struct sockaddr *)&a, sizeof a) < 0 || bind(tx, (struct sockaddr *)&a, sizeof a) < 0)
        return;
    struct sockaddr_in rxa, txa;
    getsockname(rx, (struct sockaddr *)&rxa, &len);
    len = sizeof txa;
    getsockname(tx, (struct sockaddr *)&txa, &len);

    /* Unconnected: each entry names its destination. */
    const char *three[] = {"udp1", "udp22", "udp333"};
    outgoing(3, three);
    for (int i = 0; i < 3; i++) {
        mm[i].msg_hdr.msg_name = &rxa;
        mm[i].msg_hdr.msg_namelen = sizeof rxa;
    }
    show("sendmmsg(3 addressed)", sendmm(tx, mm, 3, 0), 3);
    struct sockaddr_in from[N];
    prepare(4, 16);
    for (int i = 0; i < 4; i++) {
        mm[i].msg_hdr.msg_name = &from[i];
        mm[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    show("recvmmsg(4, MSG_WAITFORONE) of 3", recvmm(rx, mm, 4, MSG_WAITFORONE, NULL), 4);
    for (int i = 0; i < 3; i++)
        printf("  [%d] namelen %u from the sender %d\n", i, mm[i].msg_hdr.msg_namelen,
               from[i].sin_port == txa.sin_port && from[i].sin_addr.s_addr == txa.sin_addr.s_addr);
    prepare(2, 16);
    report("recvmmsg(nothing queued, MSG_DONTWAIT)", recvmm(rx, mm, 2, MSG_DONTWAIT, NULL));

    /* Connected; a partial batch of what came. */
    connect(tx, (struct sockaddr *)&rxa, sizeof rxa);
    outgoing(2, three);
    report("sendmmsg(2 connected)", sendmm(tx, mm, 2, 0));
    prepare(5, 16);
    show("recvmmsg(5, MSG_DONTWAIT) of 2", recvmm(rx, mm, 5, MSG_DONTWAIT, NULL), 5);
    struct timespec zero = {0, 0};
    outgoing(2, three);
    sendmm(tx, mm, 2, 0);
    prepare(2, 16);
    show("recvmmsg(2, timeout 0)", recvmm(rx, mm, 2, 0, &zero), 2);
    prepare(2, 16);
    show("recvmmsg(the other)", recvmm(rx, mm, 2, MSG_DONTWAIT, NULL), 2);
    close(rx);
    close(tx);
}

static void section_errors(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
        return;
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return;
    const char *two[] = {"first", "second"};
    outgoing(2, two);
    report("sendmmsg(closed fd)", sendmm(999, mm, 2, 0));
    report("sendmmsg(pipe)", sendmm(pipefd[1], mm, 2, 0));
    report("sendmmsg(closed fd, vlen 0)", sendmm(999, mm, 0, 0));
    report("sendmmsg(pipe, vlen 0)", sendmm(pipefd[1], mm, 0, 0));
    report("sendmmsg(closed fd, bad vector)", sendmm(999, (void *)8, 2, 0));
    report("sendmmsg(bad vector)", sendmm(sv[0], (void *)8, 2, 0));
    report("sendmmsg(MSG_CMSG_COMPAT)", sendmm(sv[0], mm, 2, 0x80000000));
    report("recvmmsg(closed fd)", recvmm(999, mm, 2, 0, NULL));
    report("recvmmsg(pipe)", recvmm(pipefd[0], mm, 2, 0, NULL));
    report("recvmmsg(closed fd, vlen 0)", recvmm(999, mm, 0, 0, NULL));
    report("recvmmsg(closed fd, bad vector)", recvmm(999, (void *)8, 2, 0, NULL));
    report("recvmmsg(MSG_CMSG_COMPAT)", recvmm(sv[1], mm, 2, 0x80000000, NULL));
    struct timespec bad = {0, 1000000000}, negative = {-1, 0};
    report("recvmmsg(tv_nsec 1e9)", recvmm(sv[1], mm, 2, MSG_DONTWAIT, &bad));
    report("recvmmsg(tv_sec -1)", recvmm(sv[1], mm, 2, MSG_DONTWAIT, &negative));
    report("recvmmsg(bad timeout)", recvmm(sv[1], mm, 2, MSG_DONTWAIT, (void *)8));
    report("recvmmsg(closed fd, tv_nsec 1e9)", recvmm(999, mm, 2, 0, &bad));

    /* A bad buffer in the second entry: the first is sent, the count says so. */
    outgoing(2, two);
    iov[1].iov_base = (void *)8;
    report("sendmmsg(second buffer bad)", sendmm(sv[0], mm, 2, 0));
    prepare(2, 16);
    show("recvmmsg(what came)", recvmm(sv[1], mm, 2, MSG_DONTWAIT, NULL), 2);

    /* The second entry on an unmapped page. */
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    struct mmsghdr *edge = (struct mmsghdr *)(pages + 4096 - sizeof *edge);
    outgoing(1, two);
    *edge = mm[0];
    report("sendmmsg(second entry unmapped)", sendmm(sv[0], edge, 2, 0));
    printf("  msg_len [0] %u\n", edge->msg_len);
    outgoing(2, two);
    sendmm(sv[0], mm, 1, 0);
    prepare(1, 16);
    *edge = mm[0];
    report("recvmmsg(second entry unmapped)", recvmm(sv[1], edge, 2, MSG_DONTWAIT, NULL));
    printf("  msg_len [0] %u data [%s]\n", edge->msg_len, buf[0]);
    /* (Linux keeps that EFAULT for the socket's next call: a new pair.) */
    close(sv[0]);
    close(sv[1]);
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
        return;

    /* msg_len cannot be written: the message goes, but is not counted. */
    outgoing(1, two);
    memcpy(pages, &mm[0], sizeof mm[0]);
    mprotect(pages, 4096, PROT_READ);
    report("sendmmsg(entry read-only)", sendmm(sv[0], (struct mmsghdr *)pages, 1, 0));
    prepare(2, 16);
    show("recvmmsg(what came)", recvmm(sv[1], mm, 2, MSG_DONTWAIT, NULL), 2);

    /* The timeout cannot be written back: EFAULT, the message taken. */
    mprotect(pages, 4096, PROT_READ | PROT_WRITE);
    struct timespec *ro = (struct timespec *)pages;
    ro->tv_sec = 5;
    ro->tv_nsec = 0;
    mprotect(pages, 4096, PROT_READ);
    outgoing(1, two);
    sendmm(sv[0], mm, 1, 0);
    prepare(2, 16);
    report("recvmmsg(read-only timeout)", recvmm(sv[1], mm, 2, MSG_DONTWAIT, ro));
    printf("  msg_len [0] %u\n", mm[0].msg_len);
    report("recvmmsg(after it)", recvmm(sv[1], mm, 2, MSG_DONTWAIT, NULL));
}

static volatile int ticks;

static void on_alarm(int sig)
{
    (void)sig;
    ticks++;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Signals while a batch is under way: a batch that never waits is taken whole however
   many come; a signal cuts short only the wait of the first message that must wait,
   the count so far the result (here the handler runs in the middle of the call). */
static void section_midbatch(void)
{
    static struct mmsghdr many[201];
    static struct iovec one[201];
    static char bytes[201], back[400];
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return;
    for (int i = 0; i < 201; i++) {
        bytes[i] = (char)(i * 7 + 1);
        one[i].iov_base = &bytes[i];
        one[i].iov_len = 1;
        many[i].msg_hdr.msg_iov = &one[i];
        many[i].msg_hdr.msg_iovlen = 1;
    }
    struct itimerval every_ms = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &every_ms, NULL);
    long sent = sendmm(sv[0], many, 200, 0);
    setitimer(ITIMER_REAL, &off, NULL);
    long got = 0, r;
    while ((r = recv(sv[1], back + got, sizeof back - got, MSG_DONTWAIT)) > 0)
        got += r;
    printf("sendmmsg(200) under a 1 ms timer: %ld, %ld bytes came in order %d\n", sent, got,
           got == 200 && memcmp(back, bytes, 200) == 0);

    send(sv[0], back, 200, 0);
    memset(bytes, 0, sizeof bytes);
    setitimer(ITIMER_REAL, &every_ms, NULL);
    long taken = recvmm(sv[1], many, 200, 0, NULL);
    setitimer(ITIMER_REAL, &off, NULL);
    printf("recvmmsg(200) under it: %ld, in order %d\n", taken, memcmp(back, bytes, 200) == 0);

    /* One signal, 5 ms in: it comes while the batch takes what is queued, or while it
       waits for the 201st; either way the 201st's wait ends at once. (A child's SIGUSR1
       after 2 s ends a wait that went on.) */
    struct sigaction quiet = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &quiet, NULL);
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        usleep(2000000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    send(sv[0], back, 200, 0);
    struct itimerval once = {{0, 0}, {0, 5000}};
    double start = now();
    setitimer(ITIMER_REAL, &once, NULL);
    report("recvmmsg(201) of 200 queued, one signal 5 ms in", recvmm(sv[1], many, 201, 0, NULL));
    printf("  within 1 s: %d\n", now() - start < 1.0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(sv[0]);
    close(sv[1]);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("== %s\n", argv[1]);
    if (!strcmp(argv[1], "readahead"))
        section_readahead();
    else if (!strcmp(argv[1], "dgram"))
        section_dgram();
    else if (!strcmp(argv[1], "stream"))
        section_stream();
    else if (!strcmp(argv[1], "inet"))
        section_inet();
    else if (!strcmp(argv[1], "errors"))
        section_errors();
    else if (!strcmp(argv[1], "midbatch"))
        section_midbatch();
    else
        return 2;
    return 0;
}
