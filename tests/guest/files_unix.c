/* files_unix.c — AF_UNIX stream sockets with names: bind (paths, abstract names, autobind), listen, connect, accept/accept4, getsockname/getpeername, SO_PEERCRED and other options, sendmsg/recvmsg, open files passed with SCM_RIGHTS, poll of a listener, the errors of each step; datagram sockets bound to names (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return sizeof *a;
}

static int revents(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static void names(void)
{
    struct sockaddr_un a, peer;
    socklen_t len = path_addr(&a, "sock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    char b[4];
    SHOW("read unconnected", read(s, b, 4));
    SHOW("send unconnected", send(s, b, 4, MSG_NOSIGNAL));
    printf("poll unconnected: %#x\n", revents(s));
    SHOW("listen unbound", listen(s, 5));
    int lone = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("shutdown unconnected", shutdown(lone, SHUT_RDWR));
    close(lone);
    SHOW("bind", bind(s, (struct sockaddr *)&a, len));
    struct stat st;
    stat("sock", &st);
    printf("a socket file: %d\n", S_ISSOCK(st.st_mode));
    SHOW("bind again", bind(s, (struct sockaddr *)&a, len));
    SHOW("listen", listen(s, 5));
    SHOW("read listening", read(s, b, 4));
    printf("poll listening: %#x\n", revents(s));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect", connect(c, (struct sockaddr *)&a, len));
    printf("poll listening with one: %#x\n", revents(s));
    socklen_t plen = sizeof peer;
    int d = accept(s, (struct sockaddr *)&peer, &plen);
    printf("accept: %s, peer length %u, family %d\n", d >= 0 ? "ok" : errname(errno), plen,
           peer.sun_family);
    plen = sizeof peer;
    getsockname(s, (struct sockaddr *)&peer, &plen);
    printf("getsockname: length %u [%s]\n", plen, peer.sun_path);
    plen = sizeof peer;
    getpeername(c, (struct sockaddr *)&peer, &plen);
    printf("getpeername: length %u [%s]\n", plen, peer.sun_path);
    plen = 4;
    getsockname(s, (struct sockaddr *)&peer, &plen);
    printf("a short buffer gets the full length: %u\n", plen);
    plen = sizeof peer;
    SHOW("getpeername listening", getpeername(s, (struct sockaddr *)&peer, &plen));
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("bind a name in use", bind(s2, (struct sockaddr *)&a, len));
    SHOW("accept on a connected socket", accept(c, NULL, NULL));
    SHOW("connect a connected socket", connect(c, (struct sockaddr *)&a, len));
    SHOW("listen on a connected socket", listen(c, 1));
    close(s);
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect after the listener closed", connect(c2, (struct sockaddr *)&a, len));
    unlink("sock");
    SHOW("connect to a missing path", connect(c2, (struct sockaddr *)&a, len));
    int fd = open("plain", O_CREAT | O_WRONLY, 0644);
    close(fd);
    len = path_addr(&a, "plain");
    SHOW("connect to a regular file", connect(c2, (struct sockaddr *)&a, len));
    struct sockaddr_in { short family; char rest[14]; } in = {2, {0}};
    SHOW("bind an AF_INET address", bind(c2, (struct sockaddr *)&in, sizeof in));
    SHOW("socket AF_UNIX SOCK_STREAM protocol 7", socket(AF_UNIX, SOCK_STREAM, 7));
    SHOW("socket of a bad type", socket(AF_UNIX, 0x100, 0));
    int seq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    struct sockaddr_un sa;
    socklen_t slen = path_addr(&sa, "seq");
    bind(seq, (struct sockaddr *)&sa, slen);
    listen(seq, 1);
    int wrong = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("a stream socket to a seqpacket listener", connect(wrong, (struct sockaddr *)&sa, slen));
    int right = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOW("a seqpacket socket to it", connect(right, (struct sockaddr *)&sa, slen));
    int conn = accept(seq, NULL, NULL);
    write(right, "one", 3);
    write(right, "two", 3);
    char msg[16] = {0};
    SHOW("the accepted end reads one message", read(conn, msg, sizeof msg));
    printf("[%s]\n", msg);
    close(seq);
    close(wrong);
    close(right);
    close(conn);
    unlink("seq");
    close(c);
    close(d);
    close(s2);
    close(c2);
}

static void abstract(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX}, got;
    memcpy(a.sun_path, "\0cloudos-abstract", 17);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + 17;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("bind abstract", bind(s, (struct sockaddr *)&a, len));
    listen(s, 1);
    socklen_t glen = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &glen);
    printf("name: length %u, first byte %d, rest [%.*s]\n", glen, got.sun_path[0],
           (int)glen - 3, got.sun_path + 1);
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("bind the same abstract name", bind(s2, (struct sockaddr *)&a, len));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect", connect(c, (struct sockaddr *)&a, len));
    int d = accept(s, NULL, NULL);
    write(c, "abs", 3);
    char buf[8] = {0};
    printf("accepted side reads: %zd [%s]\n", read(d, buf, sizeof buf - 1), buf);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    int s3 = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("autobind", bind(s3, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    glen = sizeof got;
    getsockname(s3, (struct sockaddr *)&got, &glen);
    printf("autobound: length %u, abstract %d\n", glen, got.sun_path[0] == 0);
    close(s);
    close(s2);
    close(s3);
    close(c);
    close(d);
}

static void server(void)
{
    struct sockaddr_un a;
    socklen_t len = path_addr(&a, "srv");
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bind(s, (struct sockaddr *)&a, len);
    listen(s, 4);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 2; i++) {
            int d = accept(s, NULL, NULL);
            char buf[64];
            ssize_t n;
            while ((n = read(d, buf, sizeof buf)) > 0)
                for (ssize_t j = 0; j < n; j++)
                    buf[j] = buf[j] >= 'a' && buf[j] <= 'z' ? buf[j] - 32 : buf[j];
            write(d, "bye", 3);
            close(d);
        }
        _exit(0);
    }
    for (int i = 0; i < 2; i++) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        SHOW("connect to the child", connect(c, (struct sockaddr *)&a, len));
        struct ucred cred;
        socklen_t clen = sizeof cred;
        getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
        printf("peer credentials: length %u, pid is the listener's: %d\n", clen,
               cred.pid == getpid());
        write(c, "hello", 5);
        shutdown(c, SHUT_WR);
        char buf[16] = {0};
        ssize_t n = read(c, buf, sizeof buf - 1);
        printf("reply %d: %zd [%s]\n", i, n, buf);
        SHOW("then end of file", read(c, buf, 1));
        close(c);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("server exit: %d\n", WEXITSTATUS(status));
    close(s);
}

static void nonblocking(void)
{
    struct sockaddr_un a;
    socklen_t len = path_addr(&a, "nb");
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    bind(s, (struct sockaddr *)&a, len);
    listen(s, 1);
    SHOW("accept with nothing waiting", accept(s, NULL, NULL));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, len);
    int d = accept4(s, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4: %s, nonblocking: %d, cloexec: %d\n", d >= 0 ? "ok" : errname(errno),
           (fcntl(d, F_GETFL) & O_NONBLOCK) != 0, fcntl(d, F_GETFD) & FD_CLOEXEC);
    char b;
    SHOW("read with no data", read(d, &b, 1));
    SHOW("accept4 bad flags", accept4(s, NULL, NULL, 0x1));
    int type = 0, err = 1, accepting = 0;
    socklen_t olen = sizeof type;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &olen);
    olen = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &olen);
    olen = sizeof accepting;
    getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &olen);
    printf("SO_TYPE %d, SO_ERROR %d, SO_ACCEPTCONN %d\n", type, err, accepting);
    int one = 1;
    SHOW("SO_REUSEADDR", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    SHOW("getsockopt on a pipe end", getsockopt(0 ? 0 : open("/dev/null", O_RDONLY), SOL_SOCKET, SO_TYPE, &type, &olen));
    close(s);
    close(c);
    close(d);
}

static void messages(void)
{
    int sv[2];
    struct sockaddr_un a;
    socklen_t len = path_addr(&a, "msg");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(s, (struct sockaddr *)&a, len);
    listen(s, 1);
    sv[0] = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(sv[0], (struct sockaddr *)&a, len);
    sv[1] = accept(s, NULL, NULL);
    struct iovec out[2] = {{"scatter ", 8}, {"gather", 6}};
    struct msghdr m = {.msg_iov = out, .msg_iovlen = 2};
    SHOW("sendmsg", sendmsg(sv[0], &m, 0));
    char x[5] = {0}, y[20] = {0};
    struct iovec in[2] = {{x, 4}, {y, sizeof y - 1}};
    struct msghdr r = {.msg_iov = in, .msg_iovlen = 2};
    r.msg_flags = 0x55;
    SHOW("recvmsg", recvmsg(sv[1], &r, 0));
    printf("pieces: [%s] [%s], flags %d, controllen %zu\n", x, y, r.msg_flags,
           (size_t)r.msg_controllen);
    SHOW("recvmsg MSG_DONTWAIT with nothing", recvmsg(sv[1], &r, MSG_DONTWAIT));
    close(sv[1]);
    SHOW("sendmsg to a closed peer (MSG_NOSIGNAL)", sendmsg(sv[0], &m, MSG_NOSIGNAL));
    close(sv[0]);
    close(s);
}

static int send_fds(int s, const int *fds, int n, const char *data, int len)
{
    char buf[CMSG_SPACE(sizeof(int) * 4)];
    memset(buf, 0, sizeof buf);
    struct iovec io = {(void *)data, len};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return sendmsg(s, &m, 0);
}

/* Receives and prints what came: the bytes, control length, flags, and each fd's target. */
static void recv_show(int s, int room, int flags)
{
    char data[64] = {0}, buf[256];
    memset(buf, 0, sizeof buf);
    struct iovec io = {data, 10};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = buf,
                       .msg_controllen = room};
    int n = recvmsg(s, &m, flags);
    if (n < 0) {
        printf("recvmsg: -1 %s\n", errname(errno));
        return;
    }
    printf("recvmsg %d [%.*s] controllen %zu flags %#x", n, n, data, (size_t)m.msg_controllen,
           m.msg_flags);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c && m.msg_controllen; c = CMSG_NXTHDR(&m, c)) {
        int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        printf(" | len %zu level %d type %d:", (size_t)c->cmsg_len, c->cmsg_level, c->cmsg_type);
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + 4 * i, 4);
            char path[64], target[64] = {0};
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            readlink(path, target, sizeof target - 1);
            printf(" %s cloexec=%d", strrchr(target, '/') ? strrchr(target, '/') + 1 : target,
                   fcntl(fd, F_GETFD) & FD_CLOEXEC);
            close(fd);
        }
    }
    printf("\n");
}

static void rights(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int fd = open("passed-file", O_CREAT | O_RDWR, 0644);
    write(fd, "contents", 8);
    int fds[2] = {fd, open("/dev/null", O_WRONLY)};
    SHOW("sendmsg with two fds", send_fds(sv[0], fds, 2, "ab", 2));
    write(sv[0], "cd", 2);
    recv_show(sv[1], 64, 0);
    recv_show(sv[1], 64, MSG_DONTWAIT);
    send_fds(sv[0], fds, 1, "x", 1);
    recv_show(sv[1], 64, MSG_CMSG_CLOEXEC);
    write(sv[0], "pre", 3);
    send_fds(sv[0], fds, 2, "y", 1);
    write(sv[0], "post", 4);
    recv_show(sv[1], 18, 0);
    recv_show(sv[1], 64, 0);
    send_fds(sv[0], fds, 2, "z", 1);
    recv_show(sv[1], CMSG_LEN(sizeof(int)), 0);
    send_fds(sv[0], fds, 1, "r", 1);
    char c;
    printf("plain read drops the fd: %zd\n", read(sv[1], &c, 1));
    int bad[1] = {99};
    SHOW("sendmsg of a bad fd", send_fds(sv[0], bad, 1, "q", 1));

    /* a file passed to another process shares its offset */
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char data[4], buf[CMSG_SPACE(sizeof(int))];
        struct iovec io = {data, sizeof data};
        struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = buf,
                           .msg_controllen = sizeof buf};
        recvmsg(sv[1], &m, 0);
        int got;
        memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof got);
        char text[16] = {0};
        lseek(got, 0, SEEK_SET);
        read(got, text, 4);
        _exit(strcmp(text, "cont") == 0 ? 0 : 1);
    }
    int dir = open(".", O_RDONLY);
    int pass[1] = {fd};
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);  /* the child is waiting in recvmsg by now */
    send_fds(sv[0], pass, 1, "f", 1);
    int status;
    waitpid(pid, &status, 0);
    printf("the child read the passed file: exit %d, our offset moved: %lld\n",
           WEXITSTATUS(status), (long long)lseek(fd, 0, SEEK_CUR));
    close(dir);
    close(fd);
    close(fds[1]);
    close(sv[0]);
    close(sv[1]);
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

/* a datagram from fd: its bytes and who sent it */
static void dgram_show(const char *what, int fd, size_t room, int flags)
{
    char buf[64] = {0};
    struct sockaddr_un from;
    memset(&from, 0x55, sizeof from);
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, room, flags, (struct sockaddr *)&from, &len);
    if (n < 0) {
        printf("%s: -1 %s\n", what, errname(errno));
        return;
    }
    printf("%s: %zd [%.*s], from length %u", what, n, (int)(n < (ssize_t)room ? n : (ssize_t)room),
           buf, len);
    if (len > 2 && from.sun_path[0] == 0)
        printf(" abstract [%.*s]", (int)(len - 3), from.sun_path + 1);
    else if (len > 2)
        printf(" path [%s]", from.sun_path);
    printf("\n");
}

/* datagram sockets by name: open files passed, epoll, a sender waiting for room, a reader
   waiting for a message, shutdown */
static void dgram_waits(void)
{
    struct sockaddr_un a;
    socklen_t alen = abstract_addr(&a, "cloudos-dgram-x");
    int r = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(r, (struct sockaddr *)&a, alen);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = r}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev);
    printf("epoll empty: %d\n", epoll_wait(ep, &out, 1, 0));
    int fd = open("/dev/null", O_RDONLY);
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec io = {"fd", 2};
    struct msghdr m = {.msg_name = &a, .msg_namelen = alen, .msg_iov = &io, .msg_iovlen = 1,
                       .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    SHOW("sendmsg an fd to a name", sendmsg(s, &m, 0));
    printf("epoll with one: %d\n", epoll_wait(ep, &out, 1, 0));
    char buf[8], rc[CMSG_SPACE(sizeof(int))];
    struct iovec ri = {buf, sizeof buf};
    struct msghdr rm = {.msg_iov = &ri, .msg_iovlen = 1, .msg_control = rc,
                        .msg_controllen = sizeof rc};
    ssize_t n = recvmsg(r, &rm, 0);
    int got = -1;
    if (rm.msg_controllen)
        memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof got);
    printf("recvmsg: %zd, controllen %zu, the fd is open %d\n", n, (size_t)rm.msg_controllen,
           fcntl(got, F_GETFD) >= 0);
    for (int i = 0; i < 11; i++)
        sendto(s, "q", 1, 0, (struct sockaddr *)&a, alen);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        for (int i = 0; i < 12; i++)
            recv(r, buf, sizeof buf, 0);
        _exit(0);
    }
    SHOW("blocking send to a full queue", sendto(s, "w", 1, 0, (struct sockaddr *)&a, alen));
    int status;
    waitpid(pid, &status, 0);
    SHOW("all were received", recv(r, buf, sizeof buf, MSG_DONTWAIT));
    pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        sendto(s, "late", 4, 0, (struct sockaddr *)&a, alen);
        _exit(0);
    }
    SHOW("a waiting recv", recv(r, buf, sizeof buf, 0));
    waitpid(pid, &status, 0);
    shutdown(r, SHUT_RD);
    SHOW("recv after SHUT_RD", recv(r, buf, sizeof buf, 0));
    shutdown(s, SHUT_WR);
    SHOW("send after SHUT_WR", sendto(s, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, alen));
    /* a file in flight to a socket that closes is let go */
    int p[2], t = socket(AF_UNIX, SOCK_DGRAM, 0);
    pipe(p);
    memcpy(CMSG_DATA(c), &p[1], sizeof p[1]);
    sendmsg(t, &m, 0);
    close(p[1]);
    close(r);
    SHOW("the pipe's reader sees its end", read(p[0], buf, 1));
    close(p[0]);
    close(t);
    close(got);
    close(fd);
    close(ep);
    close(s);
}

static void dgram_bound(void)
{
    struct sockaddr_un a, b, c;
    socklen_t alen = path_addr(&a, "dgram-r");
    int r = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    SHOW("bind a path", bind(r, (struct sockaddr *)&a, alen));
    struct stat st;
    stat("dgram-r", &st);
    printf("a socket file: %d\n", S_ISSOCK(st.st_mode));
    int other = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("bind the same path", bind(other, (struct sockaddr *)&a, alen));
    printf("poll empty: %#x\n", revents(r));
    SHOW("recv empty, MSG_DONTWAIT", recv(r, a.sun_path, 1, MSG_DONTWAIT));

    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOW("sendto from unbound", sendto(s, "hello", 5, 0, (struct sockaddr *)&a, alen));
    printf("poll with one: %#x\n", revents(r));
    dgram_show("from unbound", r, 64, 0);
    socklen_t blen = abstract_addr(&b, "cloudos-dgram-s");
    SHOW("bind abstract", bind(s, (struct sockaddr *)&b, blen));
    sendto(s, "one", 3, 0, (struct sockaddr *)&a, alen);
    sendto(s, "three", 5, 0, (struct sockaddr *)&a, alen);
    sendto(s, "", 0, 0, (struct sockaddr *)&a, alen);
    dgram_show("first", r, 64, 0);
    dgram_show("second", r, 64, 0);
    dgram_show("empty", r, 64, 0);
    sendto(s, "truncated", 9, 0, (struct sockaddr *)&a, alen);
    sendto(s, "cut", 3, 0, (struct sockaddr *)&a, alen);
    dgram_show("MSG_TRUNC", r, 4, MSG_TRUNC);
    char small[2];
    struct iovec io = {small, sizeof small};
    struct msghdr m = {.msg_name = &c, .msg_namelen = sizeof c, .msg_iov = &io, .msg_iovlen = 1};
    ssize_t n = recvmsg(r, &m, 0);
    printf("recvmsg cut: %zd, MSG_TRUNC %d, namelen %u\n", n, !!(m.msg_flags & MSG_TRUNC),
           m.msg_namelen);
    sendto(s, "peek", 4, 0, (struct sockaddr *)&a, alen);
    dgram_show("MSG_PEEK", r, 64, MSG_PEEK);
    dgram_show("after the peek", r, 64, 0);

    /* errors */
    struct sockaddr_un x;
    socklen_t xlen = path_addr(&x, "no-such-socket");
    SHOW("sendto a missing path", sendto(s, "x", 1, 0, (struct sockaddr *)&x, xlen));
    xlen = abstract_addr(&x, "cloudos-nobody");
    SHOW("sendto an unbound name", sendto(s, "x", 1, 0, (struct sockaddr *)&x, xlen));
    SHOW("send unconnected", send(s, "x", 1, 0));
    static char big[300000];
    SHOW("sendto too large", sendto(s, big, sizeof big, 0, (struct sockaddr *)&a, alen));
    int sent = 0;
    while (sendto(s, big, 100, MSG_DONTWAIT, (struct sockaddr *)&a, alen) == 100)
        sent++;
    printf("queue full after %d: %s\n", sent, errname(errno));
    printf("poll full: %#x\n", revents(r));
    for (int i = 0; i < sent; i++)
        recv(r, big, sizeof big, 0);
    printf("poll drained: %#x\n", revents(r));

    /* connected: a default destination */
    SHOW("connect", connect(s, (struct sockaddr *)&a, alen));
    SHOW("write connected", write(s, "conn", 4));
    dgram_show("connected", r, 64, 0);
    socklen_t plen = sizeof c;
    int got = getpeername(s, (struct sockaddr *)&c, &plen);
    printf("getpeername: %d, length %u [%s]\n", got, plen, c.sun_path);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    SHOW("connect AF_UNSPEC", connect(s, &unspec, sizeof unspec));
    SHOW("getpeername dissolved", getpeername(s, (struct sockaddr *)&c, &plen));
    SHOW("send dissolved", send(s, "x", 1, 0));

    /* two processes: a request by path, the reply to the sender's abstract name */
    pid_t pid = fork();
    if (pid == 0) {
        int me = socket(AF_UNIX, SOCK_DGRAM, 0);
        struct sockaddr_un mine;
        bind(me, (struct sockaddr *)&mine, abstract_addr(&mine, "cloudos-dgram-child"));
        sendto(me, "ping", 4, 0, (struct sockaddr *)&a, alen);
        char reply[16] = {0};
        ssize_t k = recv(me, reply, sizeof reply, 0);
        _exit(k == 4 && memcmp(reply, "pong", 4) == 0 ? 7 : 1);
    }
    char req[16];
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    n = recvfrom(r, req, sizeof req, 0, (struct sockaddr *)&from, &flen);
    printf("request: %zd [%.*s] from [%.*s]\n", n, (int)n, req, (int)(flen - 3),
           from.sun_path + 1);
    SHOW("reply", sendto(r, "pong", 4, 0, (struct sockaddr *)&from, flen));
    int status;
    waitpid(pid, &status, 0);
    printf("child exit: %d\n", WEXITSTATUS(status));

    /* autobind: an abstract name of five hex digits */
    int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    SHOW("autobind", bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    plen = sizeof c;
    getsockname(ab, (struct sockaddr *)&c, &plen);
    int hex = 1;
    for (int i = 1; i < 6; i++)
        hex &= strchr("0123456789abcdef", c.sun_path[i]) != NULL && c.sun_path[i];
    printf("autobound: length %u, first byte %d, five hex digits %d\n", plen, c.sun_path[0], hex);
    sendto(ab, "auto", 4, 0, (struct sockaddr *)&a, alen);
    plen = sizeof c;
    n = recvfrom(r, req, sizeof req, 0, (struct sockaddr *)&from, &plen);
    printf("from the autobound: %zd, length %u, same name %d\n", n, plen,
           memcmp(&from, &c, plen) == 0);

    /* the receiver closes: refused once, then not connected */
    connect(s, (struct sockaddr *)&a, alen);
    close(r);
    SHOW("send to a closed receiver", send(s, "x", 1, 0));
    SHOW("send again", send(s, "x", 1, 0));
    SHOW("sendto its path", sendto(s, "x", 1, 0, (struct sockaddr *)&a, alen));
    unlink("dgram-r");
    dgram_waits();
    close(ab);
    close(s);
    close(other);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    testdir_enter("files_unix");
    if (section("names"))
        names();
    if (section("abstract"))
        abstract();
    if (section("server"))
        server();
    if (section("nonblocking"))
        nonblocking();
    if (section("messages"))
        messages();
    if (section("rights"))
        rights();
    if (section("dgram_bound"))
        dgram_bound();
    testdir_leave();
    return 0;
}
