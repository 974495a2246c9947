/* files_socketpair.c — AF_UNIX stream socket pairs: both directions, send/recv with MSG_DONTWAIT and MSG_NOSIGNAL, shutdown of each direction, EOF and EPIPE when the peer closes, poll readiness, a parent and child talking, a stream's and a datagram's buffer (what Linux charges a sender), unsupported kinds (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static void show_read(const char *label, int fd)
{
    char buf[64] = {0};
    ssize_t r = read(fd, buf, sizeof buf - 1);
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %zd [%s]\n", label, r, buf);
}

static void show_poll(const char *label, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
    int r = poll(&p, 1, 0);
    printf("%s: %d revents=%#x\n", label, r, p.revents);
}

static void both_ways(void)
{
    int sv[2];
    SHOW("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    SHOW("write 0->1", write(sv[0], "ping", 4));
    show_read("read on 1", sv[1]);
    SHOW("write 1->0", write(sv[1], "pong!", 5));
    show_read("read on 0", sv[0]);
    struct stat st;
    fstat(sv[0], &st);
    printf("S_ISSOCK: %d\n", S_ISSOCK(st.st_mode));
    SHOW("lseek", lseek(sv[0], 0, SEEK_SET));
    close(sv[0]);
    close(sv[1]);
}

static void send_recv(void)
{
    int sv[2];
    char buf[16] = {0};
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    printf("FD_CLOEXEC: %d\n", fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
    SHOW("recv MSG_DONTWAIT, empty", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
    SHOW("send", send(sv[1], "abc", 3, 0));
    SHOW("recv", recv(sv[0], buf, sizeof buf, 0));
    printf("got [%s]\n", buf);
    struct sockaddr_un from;
    socklen_t len = sizeof from;
    send(sv[1], "x", 1, 0);
    SHOW("recvfrom with an address", recvfrom(sv[0], buf, sizeof buf, 0, (void *)&from, &len));
    printf("address length: %u\n", (unsigned)len);
    SHOW("send to a non-socket", send(1, "x", 1, 0));
    close(sv[0]);
    close(sv[1]);
}

static void nonblock(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    show_read("read empty nonblocking", sv[0]);
    char chunk[4096];
    memset(chunk, 'z', sizeof chunk);
    long total = 0, r;
    while ((r = write(sv[0], chunk, sizeof chunk)) > 0)
        total += r;
    printf("filling ends with %s, holds >= 4096: %s\n", errname(errno), total >= 4096 ? "yes" : "no");
    show_poll("poll the full writer (IN|OUT|RDHUP asked)", sv[0]);
    close(sv[0]);
    close(sv[1]);
}

static void shut(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    show_poll("poll fresh", sv[0]);
    write(sv[1], "tail", 4);
    SHOW("shutdown 1 SHUT_WR", shutdown(sv[1], SHUT_WR));
    show_poll("poll 0 after peer SHUT_WR", sv[0]);
    show_read("read the data", sv[0]);
    show_read("then EOF", sv[0]);
    signal(SIGPIPE, SIG_IGN);
    SHOW("write on 1 after SHUT_WR", write(sv[1], "x", 1));
    SHOW("write 0->1 still works", write(sv[0], "back", 4));
    show_read("read on 1", sv[1]);
    SHOW("shutdown 1 SHUT_RD", shutdown(sv[1], SHUT_RD));
    show_read("read on 1 after SHUT_RD", sv[1]);
    SHOW("write 0->1 after peer SHUT_RD", write(sv[0], "x", 1));
    show_poll("poll 0, both directions shut", sv[0]);
    SHOW("shutdown bad how", shutdown(sv[0], 7));
    SHOW("shutdown a pipe", shutdown(1, SHUT_RD));
    close(sv[0]);
    close(sv[1]);
}

static void peer_close(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[1], "last", 4);
    close(sv[1]);
    show_poll("poll after peer closed", sv[0]);
    show_read("read the data", sv[0]);
    show_read("then EOF", sv[0]);
    SHOW("send MSG_NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
    pid_t pid = fork();
    if (pid == 0) {
        write(sv[0], "x", 1);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("writer to a closed peer: %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exited",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    close(sv[0]);
}

static void parent_child(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char buf[32];
        for (;;) {
            ssize_t n = read(sv[1], buf, sizeof buf);
            if (n <= 0)
                break;
            for (ssize_t i = 0; i < n; i++)
                buf[i] = buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
            write(sv[1], buf, n);
        }
        _exit(0);
    }
    close(sv[1]);
    const char *words[] = {"hello", "from", "the", "parent"};
    for (int i = 0; i < 4; i++) {
        char buf[32] = {0};
        write(sv[0], words[i], strlen(words[i]));
        ssize_t n = read(sv[0], buf, sizeof buf - 1);
        printf("echo %zd [%s]\n", n, buf);
    }
    close(sv[0]);
    int st;
    waitpid(pid, &st, 0);
    printf("child: exited %d\n", WEXITSTATUS(st));
}

static void kinds(void)
{
    int sv[2];
    SHOW("AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv));
    SHOW("family 12345", socketpair(12345, SOCK_STREAM, 0, sv));
    SHOW("bad type flags", socketpair(AF_UNIX, SOCK_STREAM | 0x100000, 0, sv));
    SHOW("protocol 6", socketpair(AF_UNIX, SOCK_STREAM, 6, sv));
    int *volatile bad = (int *)8;
    SHOW("bad pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, bad));
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct ucred cred;
    socklen_t len = sizeof cred;
    SHOW("SO_PEERCRED of a pair", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len));
    printf("the peer is us: %d\n", cred.pid == getpid() && cred.uid == getuid());
    close(sv[0]);
    close(sv[1]);
}

/* Message sockets keep each write a message: a read takes one, what does not fit is lost. */
static void messages(int type)
{
    int sv[2];
    SHOW("socketpair", socketpair(AF_UNIX, type, 0, sv));
    char b[16] = {0};
    write(sv[0], "hello", 5);
    write(sv[0], "de", 2);
    write(sv[0], "", 0);
    write(sv[0], "tail", 4);
    SHOW("read 100 gets one message", read(sv[1], b, 100));
    printf("[%s]\n", b);
    memset(b, 0, sizeof b);
    SHOW("read 1 of a 2-byte message", read(sv[1], b, 1));
    printf("[%s]\n", b);
    SHOW("an empty message", read(sv[1], b, 100));
    memset(b, 0, sizeof b);
    SHOW("the next one whole", read(sv[1], b, 100));
    printf("[%s]\n", b);
    struct pollfd p = {.fd = sv[1], .events = POLLIN | POLLOUT};
    poll(&p, 1, 0);
    printf("poll with nothing queued: %#x\n", p.revents);
    int t = 0;
    socklen_t len = sizeof t;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &t, &len);
    printf("SO_TYPE %d\n", t);
    static char big[300000];
    SHOW("a message larger than the buffer", send(sv[0], big, sizeof big, MSG_DONTWAIT));
    close(sv[0]);
    SHOW("read after the peer closed", recv(sv[1], b, 10, MSG_DONTWAIT));
    SHOW("send after the peer closed", send(sv[1], "x", 1, MSG_NOSIGNAL));
    close(sv[1]);
}

static void seqpacket(void)
{
    messages(SOCK_SEQPACKET);
}

static void dgram(void)
{
    messages(SOCK_DGRAM);
}

/* Sends messages of ``size`` bytes on a fresh nonblocking SOCK_DGRAM pair until it
 * says EAGAIN: how many went (Linux charges each its sk_buff's truesize). */
static int fill(int s[2], int size)
{
    static char buf[200000];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    fcntl(s[0], F_SETFL, O_NONBLOCK);
    int sent = 0;
    while (write(s[0], buf, size) == size)
        sent++;
    return sent;
}

static void dgram_buffer(void)
{
    int sizes[] = {1, 192, 193, 3777, 65000, 200000}, s[2];
    for (int i = 0; i < 6; i++) {
        printf("%d-byte datagrams until EAGAIN: %d\n", sizes[i], fill(s, sizes[i]));
        close(s[0]);
        close(s[1]);
    }
    int sent = fill(s, 1);
    struct pollfd pfd = {s[0], POLLOUT, 0};
    SHOW("POLLOUT when full", poll(&pfd, 1, 0));
    int taken = 0;
    char c;
    while (poll(&pfd, 1, 0) == 0 && read(s[1], &c, 1) == 1)
        taken++;
    printf("of %d, reads until POLLOUT: %d\n", sent, taken);
    close(s[0]);
    close(s[1]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    int size = 10000;
    socklen_t len = sizeof size;
    SHOW("SO_SNDBUF 10000", setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size));
    getsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &size, &len);
    printf("reads back %d\n", size);
    fcntl(s[0], F_SETFL, O_NONBLOCK);
    sent = 0;
    while (write(s[0], "x", 1) == 1)
        sent++;
    printf("then 1-byte datagrams until EAGAIN: %d\n", sent);
    size = 1;
    setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    getsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &size, &len);
    printf("SO_SNDBUF 1 reads back %d\n", size);
    static char big[212992];
    SHOW("a datagram of the buffer's size less 32", write(s[1], big, sizeof big - 32));
    SHOW("one byte more", write(s[1], big, sizeof big - 31));
}

/* A stream's bytes until EAGAIN, in nonblocking writes of `size` bytes (the last short). */
static long fill_stream(int s[2], int size)
{
    static char buf[300000];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    fcntl(s[0], F_SETFL, O_NONBLOCK);
    long total = 0;
    ssize_t n;
    while ((n = write(s[0], buf, size)) > 0)
        total += n;
    return n < 0 && errno == EAGAIN ? total : -1;
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void stream_buffer(void)
{
    int sizes[] = {1, 1000, 4096, 10000, 65536, 106433, 300000}, s[2];
    for (int i = 0; i < 7; i++) {
        printf("%d-byte stream writes until EAGAIN: %ld bytes\n", sizes[i], fill_stream(s, sizes[i]));
        close(s[0]);
        close(s[1]);
    }
    long sent = fill_stream(s, 1000);
    struct pollfd pfd = {s[0], POLLOUT, 0};
    SHOW("POLLOUT when full", poll(&pfd, 1, 0));
    int taken = 0;
    char buf[1000];
    while (poll(&pfd, 1, 0) == 0 && read(s[1], buf, 500) == 500)
        taken++;
    printf("of %ld bytes, 500-byte reads until POLLOUT: %d\n", sent, taken);
    close(s[0]);
    close(s[1]);
    /* A blocking write larger than a pipe holds, nobody reading yet: it goes whole. */
    static char big[150000];
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);  /* (no SA_RESTART: a write that waits ends short) */
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    alarm(10);
    SHOW("a blocking write of 150000, no reader yet", write(s[0], big, sizeof big));
    alarm(0);
    long got = 0;
    ssize_t n;
    fcntl(s[1], F_SETFL, O_NONBLOCK);
    while ((n = read(s[1], big, sizeof big)) > 0)
        got += n;
    printf("read back: %ld\n", got);
    close(s[0]);
    close(s[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    int size = 10000;
    socklen_t len = sizeof size;
    SHOW("SO_SNDBUF 10000", setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size));
    getsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &size, &len);
    printf("reads back %d\n", size);
    fcntl(s[0], F_SETFL, O_NONBLOCK);
    long total = 0;
    while ((n = write(s[0], buf, 1000)) > 0)
        total += n;
    printf("then 1000-byte writes until EAGAIN: %ld bytes\n", total);
    close(s[0]);
    close(s[1]);
    /* A child reads 1 MiB that the parent writes in one blocking write. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    pid_t pid = fork();
    if (pid == 0) {
        close(s[0]);
        long all = 0, sum = 0;
        while ((n = read(s[1], buf, 777)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                sum += (unsigned char)buf[i];
            all += n;
        }
        printf("child read %ld bytes, sum %ld\n", all, sum);
        _exit(0);
    }
    close(s[1]);
    char *mib = malloc(1 << 20);
    for (int i = 0; i < 1 << 20; i++)
        mib[i] = (char)(i * 7);
    SHOW("parent writes 1 MiB", write(s[0], mib, 1 << 20));
    close(s[0]);
    int st;
    waitpid(pid, &st, 0);
    free(mib);
}

/* A message socket pair's receive cut short: recvmsg says MSG_TRUNC in msg_flags, and
   the MSG_TRUNC flag makes recv return the message's whole length; MSG_PEEK sees the
   first message only; MSG_OOB is refused; a reader asleep when the message comes is
   answered the same way (a child sends it 50 ms later). */
static void trunc_kind(int type, const char *name)
{
    int s[2];
    char buf[64];
    socketpair(AF_UNIX, type, 0, s);
    struct iovec iov = {buf, 4};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    send(s[0], "hello world", 11, 0);
    ssize_t r = recvmsg(s[1], &m, 0);
    printf("%s: recvmsg of 11 into 4: %zd flags %#x\n", name, r, m.msg_flags);
    send(s[0], "hello world", 11, 0);
    SHOW("  recv MSG_TRUNC into 4", recv(s[1], buf, 4, MSG_TRUNC));
    send(s[0], "hello world", 11, 0);
    m.msg_flags = 0;
    r = recvmsg(s[1], &m, MSG_TRUNC);
    printf("  recvmsg MSG_TRUNC into 4: %zd flags %#x\n", r, m.msg_flags);
    send(s[0], "abc", 3, 0);
    send(s[0], "defgh", 5, 0);
    memset(buf, 0, sizeof buf);
    r = recv(s[1], buf, sizeof buf, MSG_PEEK);
    printf("  peek with two queued: %zd [%s]\n", r, buf);
    SHOW("  peek MSG_TRUNC into 1", recv(s[1], buf, 1, MSG_PEEK | MSG_TRUNC));
    memset(buf, 0, sizeof buf);
    r = recv(s[1], buf, sizeof buf, MSG_WAITALL);
    printf("  recv MSG_WAITALL: %zd [%s]\n", r, buf);
    SHOW("  recv MSG_OOB", recv(s[1], buf, sizeof buf, MSG_OOB));
    int queued = -1;
    ioctl(s[1], FIONREAD, &queued);
    printf("  FIONREAD with one of 5 queued: %d\n", queued);
    send(s[0], "ij", 2, 0);
    ioctl(s[1], FIONREAD, &queued);
    printf("  FIONREAD with 5 and 2 queued: %d\n", queued);
    SHOW("  read of 0 bytes", read(s[1], buf, 0));
    memset(buf, 0, sizeof buf);
    r = recv(s[1], buf, sizeof buf, 0);
    printf("  then: %zd [%s]\n", r, buf);
    memset(buf, 0, sizeof buf);
    r = recv(s[1], buf, sizeof buf, 0);
    printf("  and: %zd [%s]\n", r, buf);
    SHOW("  recv MSG_DONTWAIT, empty", recv(s[1], buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC));
    SHOW("  a zero-length message", send(s[0], "", 0, 0));
    m.msg_flags = -1;
    iov.iov_len = 4;
    r = recvmsg(s[1], &m, MSG_TRUNC);
    printf("  recvmsg of it: %zd flags %#x\n", r, m.msg_flags);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        send(s[0], "0123456789abcdef", 16, 0);
        _exit(0);
    }
    m.msg_flags = 0;
    r = recvmsg(s[1], &m, MSG_TRUNC);
    printf("  asleep, then 16 into 4: %zd flags %#x\n", r, m.msg_flags);
    waitpid(pid, NULL, 0);
    pid = fork();
    if (pid == 0) {
        usleep(50000);
        send(s[0], "0123456789abcdef", 16, 0);
        _exit(0);
    }
    m.msg_flags = 0;
    r = recvmsg(s[1], &m, 0);
    printf("  asleep, then 16 into 4 (no flag): %zd flags %#x [%.4s]\n", r, m.msg_flags, buf);
    waitpid(pid, NULL, 0);
    close(s[0]);
    if (type == SOCK_SEQPACKET) {
        r = recvmsg(s[1], &m, MSG_TRUNC);
        printf("  after the peer closed: %zd flags %#x\n", r, m.msg_flags);
    }
    close(s[1]);
}

static void msgtrunc(void)
{
    trunc_kind(SOCK_DGRAM, "SOCK_DGRAM");
    trunc_kind(SOCK_SEQPACKET, "SOCK_SEQPACKET");
}

/* What recvmsg writes back into the msghdr, and when: only after it has received, and
   only what it received says (msg_namelen only if msg_name is set). A msghdr it cannot
   write back fails with EFAULT after the message was taken (MSG_PEEK: left queued);
   recvfrom's address length is read and written after the receive too. */
static void show_recvmsg(const char *label, int fd, struct msghdr *m, int flags)
{
    ssize_t r = recvmsg(fd, m, flags);
    if (r < 0)
        printf("%s: -1 %s", label, errname(errno));
    else
        printf("%s: %zd", label, r);
    printf(" namelen %u controllen %zu flags %#x\n", m->msg_namelen,
           (size_t)m->msg_controllen, (unsigned)m->msg_flags);
}

static void msghdr_kind(int type, const char *name)
{
    int s[2];
    char buf[16], control[64], from[32];
    socketpair(AF_UNIX, type, 0, s);
    struct iovec iov = {buf, type == SOCK_STREAM ? 3 : sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_namelen = 77,
                       .msg_control = control, .msg_controllen = sizeof control,
                       .msg_flags = 0x1234};
    printf("%s\n", name);
    show_recvmsg("  nothing queued, MSG_DONTWAIT", s[1], &m, MSG_DONTWAIT);
    send(s[0], "one", 3, 0);
    show_recvmsg("  no msg_name", s[1], &m, 0);
    m.msg_name = from;
    m.msg_namelen = 77;
    send(s[0], "two", 3, 0);
    show_recvmsg("  msg_name, unbound sender", s[1], &m, 0);
    m.msg_namelen = -1;
    send(s[0], "thr", 3, 0);
    show_recvmsg("  msg_namelen -1", s[1], &m, MSG_DONTWAIT);
    m.msg_name = NULL;
    show_recvmsg("  msg_namelen -1, no msg_name", s[1], &m, MSG_DONTWAIT);

    struct msghdr *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *ro = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
    mprotect(ro, 4096, PROT_READ);
    send(s[0], "fou", 3, 0);
    send(s[0], "fiv", 3, 0);
    memset(buf, 0, sizeof buf);
    SHOW("  read-only msghdr, MSG_PEEK", recvmsg(s[1], ro, MSG_PEEK));
    printf("  peeked [%s]\n", buf);
    memset(buf, 0, sizeof buf);
    SHOW("  read-only msghdr", recvmsg(s[1], ro, 0));
    printf("  into the buffer [%s]\n", buf);
    memset(buf, 0, sizeof buf);
    SHOW("  then recv", recv(s[1], buf, sizeof buf, MSG_DONTWAIT));
    printf("  got [%s]\n", buf);
    /* recvfrom's address length, likewise: read and written after the receive. */
    socklen_t *ro_len = (socklen_t *)((char *)ro + 2048), bad_len = -1;
    send(s[0], "six", 3, 0);
    send(s[0], "sev", 3, 0);
    SHOW("  recvfrom, read-only addrlen", recvfrom(s[1], buf, 3, 0, (void *)from, ro_len));
    SHOW("  recvfrom, addrlen -1", recvfrom(s[1], buf, 3, 0, (void *)from, &bad_len));
    SHOW("  then recv", recv(s[1], buf, sizeof buf, MSG_DONTWAIT));
    munmap(ro, 4096);
    close(s[0]);
    close(s[1]);
}

static void msghdr(void)
{
    msghdr_kind(SOCK_DGRAM, "SOCK_DGRAM");
    msghdr_kind(SOCK_STREAM, "SOCK_STREAM");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("both_ways"))
        both_ways();
    if (section("send_recv"))
        send_recv();
    if (section("nonblock"))
        nonblock();
    if (section("shut"))
        shut();
    if (section("peer_close"))
        peer_close();
    if (section("parent_child"))
        parent_child();
    if (section("kinds"))
        kinds();
    if (section("seqpacket"))
        seqpacket();
    if (section("dgram"))
        dgram();
    if (section("dgram_buffer"))
        dgram_buffer();
    if (section("stream_buffer"))
        stream_buffer();
    if (section("msgtrunc"))
        msgtrunc();
    if (section("msghdr"))
        msghdr();
    return 0;
}
