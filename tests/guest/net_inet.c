/* net_inet.c — internet sockets on the loopback: a TCP echo server with epoll and forked clients, UDP request and response, non-blocking connect, the errors of each call, socket options, MSG_PEEK/MSG_WAITALL, the listen backlog, urgent data (MSG_OOB), IPv6 and v4-mapped addresses (argv[1] picks one section; none: all but "offline", which is CloudOS's own). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#define CLIENTS 50

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* A listening TCP socket on 127.0.0.1 and an ephemeral port; the port in *port. */
static int listener(int *port, int backlog)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, backlog)
        || getsockname(s, (struct sockaddr *)&a, &len))
        return -1;
    *port = ntohs(a.sin_port);
    return s;
}

static int int_opt(int s, int level, int option)
{
    int v = -1;
    socklen_t len = sizeof v;
    return getsockopt(s, level, option, &v, &len) < 0 ? -errno : v;
}

static void echo_client(int port, int id)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0)
        _exit(10);
    char msg[64], back[64];
    int n = snprintf(msg, sizeof msg, "hello from client %d", id);
    if (write(c, msg, n) != n)
        _exit(11);
    int got = 0;
    while (got < n) {
        int r = read(c, back + got, sizeof back - got);
        if (r <= 0)
            _exit(12);
        got += r;
    }
    _exit(got == n && memcmp(msg, back, n) == 0 ? 0 : 13);
}

static void echo(void)
{
    int port, s = listener(&port, CLIENTS);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    for (int i = 0; i < CLIENTS; i++)
        if (fork() == 0)
            echo_client(port, i);
    int accepted = 0, closed = 0;
    long echoed = 0;
    while (closed < CLIENTS) {
        struct epoll_event got[16];
        int n = epoll_wait(ep, got, 16, 10000);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            int fd = got[i].data.fd;
            if (fd == s) {
                int c = accept4(s, NULL, NULL, SOCK_NONBLOCK);
                struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                accepted++;
                continue;
            }
            char buf[256];
            int r = read(fd, buf, sizeof buf);
            if (r > 0) {
                echoed += write(fd, buf, r);
            } else if (r == 0) {
                close(fd);
                closed++;
            }
        }
    }
    int ok = 0, status;
    while (wait(&status) > 0)
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("accepted %d, closed %d, clients ok %d\n", accepted, closed, ok);
    printf("bytes echoed: %ld\n", echoed);
}

static void udp(void)
{
    int srv = socket(AF_INET, SOCK_DGRAM, 0), cli = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback(0), from, mine;
    socklen_t len = sizeof a;
    bind(srv, (struct sockaddr *)&a, sizeof a);
    getsockname(srv, (struct sockaddr *)&a, &len);
    printf("bound to an ephemeral port: %d\n", ntohs(a.sin_port) != 0);
    SHOW("sendto", sendto(cli, "request", 7, 0, (struct sockaddr *)&a, sizeof a));
    len = sizeof mine;
    getsockname(cli, (struct sockaddr *)&mine, &len);
    printf("sender autobound: port %d, address %s\n", ntohs(mine.sin_port) != 0,
           inet_ntoa(mine.sin_addr));
    int avail = -1;
    ioctl(srv, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    char buf[64] = {0};
    SHOW("peek", recv(srv, buf, 3, MSG_PEEK));
    printf("peeked [%s]\n", buf);
    len = sizeof from;
    memset(buf, 0, sizeof buf);
    SHOW("recvfrom", recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    printf("got [%s] from the sender's port: %d, %s, length %u\n", buf,
           from.sin_port == mine.sin_port, inet_ntoa(from.sin_addr), len);
    SHOW("reply", sendto(srv, "response!", 9, 0, (struct sockaddr *)&from, len));
    memset(buf, 0, sizeof buf);
    SHOW("truncated", recv(cli, buf, 4, 0));
    printf("kept [%s]\n", buf);
    SHOW("empty, MSG_DONTWAIT", recv(cli, buf, sizeof buf, MSG_DONTWAIT));
    sendto(cli, "0123456789", 10, 0, (struct sockaddr *)&a, sizeof a);
    SHOW("MSG_TRUNC", recv(srv, buf, 2, MSG_TRUNC));
    struct msghdr m = {0};
    struct iovec iov = {buf, 4};
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    sendto(cli, "abcdefgh", 8, 0, (struct sockaddr *)&a, sizeof a);
    SHOW("recvmsg", recvmsg(srv, &m, 0));
    printf("msg_flags MSG_TRUNC: %d, name length %u, port matches: %d\n",
           !!(m.msg_flags & MSG_TRUNC), m.msg_namelen, from.sin_port == mine.sin_port);
    SHOW("send unconnected", send(cli, "x", 1, 0));
    SHOW("connect", connect(cli, (struct sockaddr *)&a, sizeof a));
    SHOW("send connected", send(cli, "xyz", 3, 0));
    SHOW("recv", recv(srv, buf, sizeof buf, 0));
    struct sockaddr_in nobody = loopback(0);
    int lone = socket(AF_INET, SOCK_DGRAM, 0);
    bind(lone, (struct sockaddr *)&nobody, sizeof nobody);
    len = sizeof nobody;
    getsockname(lone, (struct sockaddr *)&nobody, &len);
    close(lone);  /* a port nobody holds now */
    int c2 = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("connect to a closed port", connect(c2, (struct sockaddr *)&nobody, sizeof nobody));
    SHOW("send to it", send(c2, "x", 1, 0));
    struct pollfd p = {.fd = c2, .events = POLLIN};
    poll(&p, 1, 1000);
    printf("poll: POLLERR %d\n", !!(p.revents & POLLERR));
    SHOW("recv: the port unreachable", recv(c2, buf, sizeof buf, 0));
    SHOW("SO_ERROR after", int_opt(c2, SOL_SOCKET, SO_ERROR));
    SHOW("listen on UDP", listen(srv, 1));
    SHOW("accept on UDP", accept(srv, NULL, NULL));
}

static void errors(void)
{
    int port, s = listener(&port, 4);
    printf("ephemeral port nonzero: %d\n", port != 0);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port);
    SHOW("bind a port in use", bind(t, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_in far = {.sin_family = AF_INET};
    far.sin_addr.s_addr = inet_addr("192.0.2.7");
    SHOW("bind a foreign address", bind(t, (struct sockaddr *)&far, sizeof far));
    SHOW("bind a short address", bind(t, (struct sockaddr *)&a, 8));
    struct sockaddr_in6 six = {.sin6_family = AF_INET6};
    SHOW("bind an AF_INET6 address", bind(t, (struct sockaddr *)&six, sizeof six));
    SHOW("recv unconnected", recv(t, &a, 1, 0));
    SHOW("send unconnected", send(t, "x", 1, MSG_NOSIGNAL));
    SHOW("getpeername unconnected", getpeername(t, (struct sockaddr *)&a, &(socklen_t){sizeof a}));
    SHOW("accept not listening", accept(t, NULL, NULL));
    SHOW("shutdown unconnected", shutdown(t, SHUT_RDWR));
    SHOW("SOCK_SEQPACKET", socket(AF_INET, SOCK_SEQPACKET, 0));
    SHOW("TCP with IPPROTO_UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    SHOW("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0}));
    close(s);
    SHOW("connect to a closed port", connect(t, (struct sockaddr *)&a, sizeof a));
    int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    SHOW("non-blocking connect, closed", connect(nb, (struct sockaddr *)&a, sizeof a));
    struct pollfd p = {.fd = nb, .events = POLLOUT};
    poll(&p, 1, 1000);
    printf("poll: POLLOUT %d POLLERR %d\n", !!(p.revents & POLLOUT), !!(p.revents & POLLERR));
    SHOW("SO_ERROR", int_opt(nb, SOL_SOCKET, SO_ERROR));
    SHOW("SO_ERROR again", int_opt(nb, SOL_SOCKET, SO_ERROR));
    s = listener(&port, 4);
    a = loopback(port);
    int nb2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    SHOW("non-blocking connect, listening", connect(nb2, (struct sockaddr *)&a, sizeof a));
    p = (struct pollfd){.fd = nb2, .events = POLLOUT};
    poll(&p, 1, 1000);
    printf("poll: POLLOUT %d POLLERR %d\n", !!(p.revents & POLLOUT), !!(p.revents & POLLERR));
    SHOW("SO_ERROR", int_opt(nb2, SOL_SOCKET, SO_ERROR));
    SHOW("connect again", connect(nb2, (struct sockaddr *)&a, sizeof a));
    SHOW("listen again", listen(s, 8));
    int other = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    SHOW("bind a listening port, SO_REUSEADDR", bind(other, (struct sockaddr *)&a, sizeof a));
    int r0 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_family = AF_INET};
    socklen_t len = sizeof any;
    bind(r0, (struct sockaddr *)&any, sizeof any);
    getsockname(r0, (struct sockaddr *)&any, &len);
    close(r0);  /* a port nobody holds now */
    int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(r1, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    setsockopt(r2, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    int b1 = bind(r1, (struct sockaddr *)&any, sizeof any);
    if (b1 == 0) {
        SHOW("two SO_REUSEPORT binds", bind(r2, (struct sockaddr *)&any, sizeof any));
        SHOW("both listen", listen(r1, 1) | listen(r2, 1));
    }
}

static void options(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    printf("SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d\n", int_opt(s, SOL_SOCKET, SO_TYPE),
           int_opt(s, SOL_SOCKET, SO_DOMAIN), int_opt(s, SOL_SOCKET, SO_PROTOCOL));
    printf("SO_REUSEADDR %d", int_opt(s, SOL_SOCKET, SO_REUSEADDR));
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    printf(" then %d\n", int_opt(s, SOL_SOCKET, SO_REUSEADDR));
    int size = 65536;
    SHOW("SO_RCVBUF set", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof size));
    printf("SO_RCVBUF %d\n", int_opt(s, SOL_SOCKET, SO_RCVBUF));
    size = 32768;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    printf("SO_SNDBUF %d\n", int_opt(s, SOL_SOCKET, SO_SNDBUF));
    SHOW("TCP_NODELAY set", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on));
    printf("TCP_NODELAY %d\n", int_opt(s, IPPROTO_TCP, TCP_NODELAY));
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    printf("SO_KEEPALIVE %d\n", int_opt(s, SOL_SOCKET, SO_KEEPALIVE));
    struct linger l = {1, 5}, back = {0};
    socklen_t len = sizeof back;
    setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    getsockopt(s, SOL_SOCKET, SO_LINGER, &back, &len);
    printf("SO_LINGER %d %d, length %u\n", back.l_onoff, back.l_linger, len);
    SHOW("short int option", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, 2));
    SHOW("unknown option", setsockopt(s, SOL_SOCKET, 9999, &on, sizeof on));
    SHOW("IPV6_V6ONLY on AF_INET", setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on));
    SHOW("TCP_NODELAY on UDP", setsockopt(socket(AF_INET, SOCK_DGRAM, 0), IPPROTO_TCP,
                                          TCP_NODELAY, &on, sizeof on));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    printf("UDP: SO_TYPE %d SO_PROTOCOL %d\n", int_opt(u, SOL_SOCKET, SO_TYPE),
           int_opt(u, SOL_SOCKET, SO_PROTOCOL));
}

static void stream(void)
{
    int port, s = listener(&port, 4);
    struct sockaddr_in a = loopback(port), peer, here;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    socklen_t len = sizeof peer;
    int d = accept(s, (struct sockaddr *)&peer, &len);
    socklen_t hlen = sizeof here;
    getsockname(c, (struct sockaddr *)&here, &hlen);
    printf("accepted: peer is the client: %d, %s, length %u\n", peer.sin_port == here.sin_port,
           inet_ntoa(peer.sin_addr), len);
    hlen = sizeof here;
    getpeername(c, (struct sockaddr *)&here, &hlen);
    printf("client's peer is the listening port: %d\n", ntohs(here.sin_port) == port);
    SHOW("recv, MSG_DONTWAIT, nothing", recv(d, &a, 1, MSG_DONTWAIT));
    if (fork() == 0) {
        for (int i = 0; i < 4; i++) {
            write(c, "part", 4);
            usleep(20000);
        }
        _exit(0);
    }
    char buf[32] = {0};
    SHOW("MSG_WAITALL of 16", recv(d, buf, 16, MSG_WAITALL));
    printf("got [%s]\n", buf);
    wait(NULL);
    write(c, "peekaboo", 8);
    memset(buf, 0, sizeof buf);
    SHOW("MSG_PEEK", recv(d, buf, 4, MSG_PEEK));
    int avail = -1;
    ioctl(d, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    memset(buf, 0, sizeof buf);
    SHOW("read", read(d, buf, sizeof buf));
    printf("got [%s]\n", buf);
    int mf = memfd_create("source", 0);
    write(mf, "from a file", 11);
    lseek(mf, 0, SEEK_SET);
    SHOW("sendfile to TCP", sendfile(c, mf, NULL, 64));
    memset(buf, 0, sizeof buf);
    SHOW("read it", read(d, buf, sizeof buf));
    printf("got [%s]\n", buf);
    close(mf);
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec one = {"f", 1};
    struct msghdr fdmsg = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = cbuf,
                           .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&fdmsg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &d, sizeof d);
    SHOW("SCM_RIGHTS over TCP", sendmsg(c, &fdmsg, MSG_NOSIGNAL));
    SHOW("its byte, no file", recv(d, buf, sizeof buf, 0));
    SHOW("shutdown SHUT_WR", shutdown(c, SHUT_WR));
    struct pollfd p = {.fd = d, .events = POLLIN | POLLRDHUP};
    poll(&p, 1, 1000);
    printf("poll: POLLIN %d POLLRDHUP %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLRDHUP));
    SHOW("read: EOF", read(d, buf, sizeof buf));
    SHOW("send after SHUT_WR", send(c, "x", 1, MSG_NOSIGNAL));
    SHOW("the other way still", write(d, "back", 4));
    SHOW("read it", read(c, buf, sizeof buf));
    pid_t pid = fork();
    if (pid == 0) {
        write(c, "x", 1);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("write after SHUT_WR: killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    close(c);
    SHOW("write to a closed peer", write(d, "late", 4));
    usleep(100000);  /* (natively, for the peer's reset to come back) */
    SHOW("and again", send(d, "later", 5, MSG_NOSIGNAL));
    SHOW("read", read(d, buf, sizeof buf));
    close(d);
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    connect(c2, (struct sockaddr *)&a, sizeof a);
    int d2 = accept(s, NULL, NULL);
    write(c2, "unread", 6);
    usleep(100000);
    close(d2);  /* with bytes unread: a reset */
    usleep(100000);
    SHOW("read after the peer's reset", read(c2, buf, sizeof buf));
    SHOW("read again", read(c2, buf, sizeof buf));
    close(c2);
    close(s);
}

static void ipv6(void)
{
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any}, got;
    socklen_t len = sizeof a;
    SHOW("bind [::]:0", bind(s, (struct sockaddr *)&a, sizeof a));
    listen(s, 4);
    getsockname(s, (struct sockaddr *)&a, &len);
    printf("getsockname: family %d, length %u\n", a.sin6_family, len);
    int port = ntohs(a.sin6_port);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(port),
                              .sin6_addr = in6addr_loopback};
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    SHOW("connect [::1]", connect(c, (struct sockaddr *)&to, sizeof to));
    len = sizeof got;
    int d = accept(s, (struct sockaddr *)&got, &len);
    char text[64];
    printf("accepted from %s\n", inet_ntop(AF_INET6, &got.sin6_addr, text, sizeof text));
    write(c, "six", 3);
    char buf[8] = {0};
    read(d, buf, sizeof buf);
    printf("read [%s]\n", buf);
    int c4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in v4 = loopback(port);
    SHOW("AF_INET client to a dual-stack listener", connect(c4, (struct sockaddr *)&v4, sizeof v4));
    len = sizeof got;
    accept(s, (struct sockaddr *)&got, &len);
    printf("accepted from %s\n", inet_ntop(AF_INET6, &got.sin6_addr, text, sizeof text));
    int only = socket(AF_INET6, SOCK_STREAM, 0), on = 1;
    SHOW("IPV6_V6ONLY", setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on));
    struct sockaddr_in6 b = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
    bind(only, (struct sockaddr *)&b, sizeof b);
    listen(only, 1);
    len = sizeof b;
    getsockname(only, (struct sockaddr *)&b, &len);
    int c5 = socket(AF_INET, SOCK_STREAM, 0);
    v4 = loopback(ntohs(b.sin6_port));
    SHOW("AF_INET client to a V6ONLY listener", connect(c5, (struct sockaddr *)&v4, sizeof v4));
    printf("IPV6_V6ONLY reads %d\n", int_opt(only, IPPROTO_IPV6, IPV6_V6ONLY));
    SHOW("IPV6_V6ONLY once bound", setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on));
}

/* lo as getifaddrs (rtnetlink), if_nametoindex and if_indextoname (SIOCGIF* ioctls) see
 * it: the host's other interfaces are left out of the comparison. */
static void interfaces(void)
{
    struct ifaddrs *all;
    SHOW("getifaddrs", getifaddrs(&all));
    for (struct ifaddrs *i = all; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") || !i->ifa_addr)
            continue;
        char text[64] = "-", mask[64] = "-";
        int f = i->ifa_addr->sa_family;
        if (f == AF_INET) {
            inet_ntop(f, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, text, sizeof text);
            inet_ntop(f, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr, mask, sizeof mask);
        } else if (f == AF_INET6) {
            inet_ntop(f, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, text, sizeof text);
            inet_ntop(f, &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, mask, sizeof mask);
        }
        printf("lo: family %d, flags %#x, %s/%s\n", f, i->ifa_flags, text, mask);
    }
    freeifaddrs(all);
    printf("if_nametoindex(lo): %u\n", if_nametoindex("lo"));
    char name[IF_NAMESIZE] = "";
    printf("if_indextoname(1): %s\n", if_indextoname(1, name));
    printf("if_nametoindex(nosuch0): %u\n", if_nametoindex("nosuch0"));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r = {0};
    strcpy(r.ifr_name, "lo");
    SHOW("SIOCGIFMTU", ioctl(s, SIOCGIFMTU, &r));
    printf("mtu %d\n", r.ifr_mtu);
    SHOW("SIOCGIFFLAGS", ioctl(s, SIOCGIFFLAGS, &r));
    printf("flags %#x\n", r.ifr_flags);
    SHOW("SIOCGIFADDR", ioctl(s, SIOCGIFADDR, &r));
    printf("address %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_addr)->sin_addr));
    SHOW("netlink SOCK_STREAM", socket(AF_NETLINK, SOCK_STREAM, 0));
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* SO_RCVTIMEO and SO_SNDTIMEO: a receive, an accept and a send with no room end with
 * EAGAIN (or what they moved) after the timeout. */
static void timeouts(void)
{
    struct timeval tv = {0, 200000}, back;
    socklen_t len = sizeof back;
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback(0);
    bind(u, (struct sockaddr *)&a, sizeof a);
    SHOW("SO_RCVTIMEO", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    getsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &back, &len);
    printf("reads back %ld.%06ld, length %u\n", (long)back.tv_sec, (long)back.tv_usec, len);
    struct timeval bad = {1, 1000000};
    SHOW("tv_usec 1000000", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));
    SHOW("short", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, 8));
    char buf[64];
    double t0 = now();
    SHOW("UDP recv", recv(u, buf, sizeof buf, 0));
    double waited = now() - t0;
    printf("waited about the timeout: %d\n", waited > 0.15 && waited < 3);
    int port, s = listener(&port, 4);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    t0 = now();
    SHOW("accept", accept(s, NULL, NULL));
    waited = now() - t0;
    printf("waited about the timeout: %d\n", waited > 0.15 && waited < 3);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    a = loopback(port);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int d = accept(s, NULL, NULL);
    setsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SHOW("TCP recv", recv(d, buf, sizeof buf, 0));
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static char block[1 << 20];
    long sent = 0, r = 0;
    t0 = now();
    while (now() - t0 < 30 && (r = send(c, block, sizeof block, 0)) == (long)sizeof block)
        sent += r;
    printf("a send into a full buffer ended: %s\n",
           r < 0 ? errname(errno) : r < (long)sizeof block ? "short" : "never");
}

/* An internet socket is an open file like any other: dup, fork, close-on-exec, fstat,
 * /proc/self/fd, fcntl's O_NONBLOCK; the connection ends with its last fd. */
static void files(void)
{
    int port, s = listener(&port, 4);
    struct sockaddr_in a = loopback(port);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    printf("SOCK_CLOEXEC: FD_CLOEXEC %d\n", fcntl(c, F_GETFD) & FD_CLOEXEC);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int d = accept(s, NULL, NULL);
    struct stat st;
    fstat(c, &st);
    printf("S_ISSOCK: %d\n", S_ISSOCK(st.st_mode));
    char link[64] = "", path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", c);
    readlink(path, link, sizeof link - 1);
    printf("/proc/self/fd names a socket: %d\n", strncmp(link, "socket:[", 8) == 0);
    int e = dup(c);
    printf("dup: FD_CLOEXEC %d\n", fcntl(e, F_GETFD) & FD_CLOEXEC);
    close(c);
    SHOW("write through the dup", write(e, "dup", 3));
    pid_t pid = fork();
    if (pid == 0) {
        write(e, "+child", 6);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    char buf[32] = {0};
    usleep(50000);
    SHOW("read both", read(d, buf, sizeof buf));
    printf("got [%s]\n", buf);
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec one = {"s", 1};
    struct msghdr m = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &e, sizeof e);
    SHOW("pass the TCP socket over AF_UNIX", sendmsg(pair[0], &m, 0));
    char one_byte;
    struct iovec in = {&one_byte, 1};
    struct msghdr r = {.msg_iov = &in, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    SHOW("received", recvmsg(pair[1], &r, 0));
    int passed = -1;
    memcpy(&passed, CMSG_DATA(CMSG_FIRSTHDR(&r)), sizeof passed);
    SHOW("write through the passed fd", write(passed, "!", 1));
    close(passed);
    close(pair[0]);
    close(pair[1]);
    memset(buf, 0, sizeof buf);
    SHOW("read it", read(d, buf, sizeof buf));
    fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK);
    SHOW("O_NONBLOCK by fcntl, nothing", read(d, buf, sizeof buf));
    close(e);  /* the last fd: the connection ends */
    struct pollfd p = {.fd = d, .events = POLLIN};
    poll(&p, 1, 1000);
    SHOW("then EOF", read(d, buf, sizeof buf));
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* /proc/net/tcp's lines for this program's own sockets (a listener, a connection's two
 * ends with 3 bytes unread on one), ports named L and C, sorted: the host's other sockets
 * are left out of the comparison, also one that had C's port number before (a line from
 * C to a port not this program's: natively, a TIME_WAIT socket of an earlier connection). */
static void procnet(void)
{
    int port, s = listener(&port, 4);
    struct sockaddr_in a = loopback(port), here;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int d = accept(s, NULL, NULL);
    socklen_t len = sizeof here;
    getsockname(c, (struct sockaddr *)&here, &len);
    write(c, "abc", 3);
    char want_l[8], want_c[8], line[512], *found[8];
    int n = 0;
    snprintf(want_l, sizeof want_l, ":%04X", port);
    snprintf(want_c, sizeof want_c, ":%04X", ntohs(here.sin_port));
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f || !fgets(line, sizeof line, f))
        return;
    printf("header: %.40s\n", line);
    while (n < 8 && fgets(line, sizeof line, f)) {
        char local[32], remote[32], st[8], queues[32];
        if (sscanf(line, "%*s %31s %31s %7s %31s", local, remote, st, queues) != 4)
            continue;
        if (!strstr(local, want_l) && !strstr(local, want_c))
            continue;
        char *out = malloc(128);
        for (char *p = local; *p; p++) if (!strcmp(p, want_l)) strcpy(p, ":L"); else if (!strcmp(p, want_c)) strcpy(p, ":C");
        for (char *p = remote; *p; p++) if (!strcmp(p, want_l)) strcpy(p, ":L"); else if (!strcmp(p, want_c)) strcpy(p, ":C");
        size_t r = strlen(remote);
        if (r < 5 || (strcmp(remote + r - 2, ":L") && strcmp(remote + r - 2, ":C")
                      && strcmp(remote + r - 5, ":0000"))) {
            free(out);  /* (an older connection of the host's from the same port number:
                         * in TIME_WAIT, to another port) */
            continue;
        }
        snprintf(out, 128, "%s %s st %s queues %s", local, remote, st, queues);
        found[n++] = out;
    }
    fclose(f);
    qsort(found, n, sizeof found[0], by_text);
    for (int i = 0; i < n; i++)
        printf("%s\n", found[i]);
    close(d);
}

/* listen's backlog: it holds backlog + 1 connections; a connect beyond waits (Linux drops
   its SYN; the retransmission gets in once an accept made room). */
static void backlog(void)
{
    int port, s = listener(&port, 1);
    struct sockaddr_in a = loopback(port);
    int c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        printf("non-blocking connect %d: %s\n", i,
               connect(c[i], (struct sockaddr *)&a, sizeof a) ? errname(errno) : "0");
    }
    for (int i = 0; i < 3; i++) {
        struct pollfd p = {.fd = c[i], .events = POLLOUT};
        printf("connected %d within 100 ms: %d\n", i, poll(&p, 1, 100));
    }
    int d = accept(s, NULL, NULL);
    printf("accept: %d\n", d >= 0);
    struct pollfd p = {.fd = c[2], .events = POLLOUT};
    printf("the third gets in once there is room: %d, SO_ERROR %d\n", poll(&p, 1, 5000),
           int_opt(c[2], SOL_SOCKET, SO_ERROR));
    pid_t child = fork();
    if (child == 0) {  /* the queue is full again: a blocking connect waits in connect */
        int e = socket(AF_INET, SOCK_STREAM, 0);
        SHOW("child: blocking connect", connect(e, (struct sockaddr *)&a, sizeof a));
        _exit(0);
    }
    usleep(300000);
    printf("parent: accepting\n");
    int f = accept(s, NULL, NULL);
    waitpid(child, NULL, 0);
    printf("accept: %d\n", f >= 0);
    close(s);
    for (int i = 0; i < 3; i++)
        close(c[i]);
    close(d);
    close(f);
}

/* Urgent data (MSG_OOB) on a loopback TCP connection: the last byte sent is the urgent one;
   reads stop at its mark and skip it; recv(MSG_OOB) takes it once; SO_OOBINLINE leaves it
   in the stream. */
static void urgent(void)
{
    int port, s = listener(&port, 4), one = 1, mark = -1;
    struct sockaddr_in a = loopback(port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int d = accept(s, NULL, NULL);
    char buf[16] = {0}, oob = 0;
    SHOW("recv MSG_OOB, none", recv(d, &oob, 1, MSG_OOB | MSG_DONTWAIT));
    SHOW("send MSG_OOB", send(c, "abc", 3, MSG_OOB));
    SHOW("send", send(c, "de", 2, 0));
    usleep(50000);
    struct pollfd p = {.fd = d, .events = POLLIN | POLLPRI};
    poll(&p, 1, 1000);
    printf("POLLPRI %d\n", !!(p.revents & POLLPRI));
    ioctl(d, SIOCATMARK, &mark);
    printf("at the mark: %d\n", mark);
    SHOW("read stops at the mark", recv(d, buf, sizeof buf, 0));
    printf("got [%s]\n", buf);
    ioctl(d, SIOCATMARK, &mark);
    printf("at the mark: %d\n", mark);
    SHOW("recv MSG_OOB", recv(d, &oob, 1, MSG_OOB));
    printf("urgent byte [%c]\n", oob);
    SHOW("recv MSG_OOB again", recv(d, &oob, 1, MSG_OOB));
    memset(buf, 0, sizeof buf);
    SHOW("read past the mark", recv(d, buf, sizeof buf, 0));
    printf("got [%s]\n", buf);
    setsockopt(d, SOL_SOCKET, SO_OOBINLINE, &one, sizeof one);
    send(c, "xy", 2, MSG_OOB);
    send(c, "z", 1, 0);
    usleep(50000);
    SHOW("inline: recv MSG_OOB", recv(d, &oob, 1, MSG_OOB));
    memset(buf, 0, sizeof buf);
    SHOW("inline: read stops at the mark", recv(d, buf, sizeof buf, 0));
    printf("got [%s]\n", buf);
    memset(buf, 0, sizeof buf);
    SHOW("inline: then", recv(d, buf, sizeof buf, 0));
    printf("got [%s]\n", buf);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("UDP send MSG_OOB", sendto(u, "x", 1, MSG_OOB, (struct sockaddr *)&a, sizeof a));
    close(u);
    close(c);
    close(d);
    close(s);
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* A signal for a caller blocked in a socket call (the net server has the call): EINTR
   without SA_RESTART, the call again with it. */
static void interrupted(void)
{
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    int port, s = listener(&port, 4);
    struct sockaddr_in a = loopback(port);
    struct itimerval t = {.it_value = {.tv_usec = 100000}};
    setitimer(ITIMER_REAL, &t, NULL);
    SHOW("accept, interrupted", accept(s, NULL, NULL));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int d = accept(s, NULL, NULL);
    char buf[4];
    setitimer(ITIMER_REAL, &t, NULL);
    SHOW("recv, interrupted", recv(d, buf, sizeof buf, 0));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    if (fork() == 0) {
        usleep(300000);
        write(c, "hi", 2);
        _exit(0);
    }
    setitimer(ITIMER_REAL, &t, NULL);
    SHOW("recv, SA_RESTART", recv(d, buf, sizeof buf, 0));
    wait(NULL);
    signal(SIGALRM, SIG_DFL);
    close(c);
    close(d);
    close(s);
}

/* A loopback connection's buffers: once connected, Linux grows a TCP socket's send
 * buffer for the loopback's large segments (megabytes; 16384 before), so one thread can
 * write a megabyte before it reads any; SO_SNDBUF set before the connection keeps it
 * small. POLLOUT is off while full and back once the reader has taken everything. */
static long fill(int c)
{
    static char chunk[65536];
    int flags = fcntl(c, F_GETFL);
    fcntl(c, F_SETFL, flags | O_NONBLOCK);
    long total = 0, n;
    while ((n = write(c, chunk, sizeof chunk)) > 0)
        total += n;
    fcntl(c, F_SETFL, flags);
    return total;
}

static void buffers(void)
{
    int port, s = listener(&port, 4);
    struct sockaddr_in a = loopback(port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    printf("SO_SNDBUF before connect: %d\n", int_opt(c, SOL_SOCKET, SO_SNDBUF));
    connect(c, (struct sockaddr *)&a, sizeof a);
    int d = accept(s, NULL, NULL);
    printf("SO_SNDBUF after connect above 1 MiB: %d, accepted end's: %d\n",
           int_opt(c, SOL_SOCKET, SO_SNDBUF) > (1 << 20),
           int_opt(d, SOL_SOCKET, SO_SNDBUF) > (1 << 20));
    static char big[1 << 20], back[1 << 16];
    for (int i = 0; i < (int)sizeof big; i++)
        big[i] = (char)(i * 7 + i / 4096);
    long sent = 0, r;
    while (sent < (long)sizeof big && (r = write(c, big + sent, sizeof big - sent)) > 0)
        sent += r;
    long got = 0, bad = 0;
    while (got < sent && (r = read(d, back, sizeof back)) > 0) {
        for (long i = 0; i < r; i++)
            bad += back[i] != big[got + i];
        got += r;
    }
    printf("one thread wrote %ld with no reader, then read %ld, %ld bad\n", sent, got, bad);
    long full = fill(c);
    struct pollfd p = {c, POLLOUT, 0};
    poll(&p, 1, 0);
    printf("no reader: %s before EAGAIN, POLLOUT %d\n",
           full > (1 << 20) && full < (16 << 20) ? "1-16 MiB" : "other", !!(p.revents & POLLOUT));
    fcntl(d, F_SETFL, O_NONBLOCK);
    got = 0;
    while ((r = read(d, back, sizeof back)) > 0)
        got += r;
    p.revents = 0;
    poll(&p, 1, 0);
    printf("read back all: %d, POLLOUT %d\n", got == full, !!(p.revents & POLLOUT));
    close(c);
    close(d);
    int small = 10000;
    c = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    connect(c, (struct sockaddr *)&a, sizeof a);
    d = accept(s, NULL, NULL);
    full = fill(c);
    printf("SO_SNDBUF 10000 before connect: reads %d, %s before EAGAIN\n",
           int_opt(c, SOL_SOCKET, SO_SNDBUF),
           full > 20000 && full < (256 << 10) ? "20-256 KiB" : "other");
    close(c);
    close(d);
    close(s);
}

/* CloudOS only: with no NETWORK capability only the loopback answers. */
static void offline(void)
{
    struct sockaddr_in far = {.sin_family = AF_INET, .sin_port = htons(80)};
    far.sin_addr.s_addr = inet_addr("192.0.2.7");
    int s = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("connect off the machine", connect(s, (struct sockaddr *)&far, sizeof far));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("UDP sendto off the machine", sendto(u, "x", 1, 0, (struct sockaddr *)&far, sizeof far));
    SHOW("UDP connect off the machine", connect(u, (struct sockaddr *)&far, sizeof far));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("echo"))
        echo();
    if (section("udp"))
        udp();
    if (section("errors"))
        errors();
    if (section("options"))
        options();
    if (section("stream"))
        stream();
    if (section("ipv6"))
        ipv6();
    if (section("interfaces"))
        interfaces();
    if (section("procnet"))
        procnet();
    if (section("timeouts"))
        timeouts();
    if (section("files"))
        files();
    if (section("backlog"))
        backlog();
    if (section("urgent"))
        urgent();
    if (section("interrupted"))
        interrupted();
    if (section("buffers"))
        buffers();
    if (only && section("offline"))
        offline();
    return 0;
}
