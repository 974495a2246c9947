/* net_hostile.c — random socket calls (bind, connect, listen, accept4, send/recv*, options, shutdown, names, ioctls, poll) with random addresses, lengths and flags on non-blocking TCP, UDP, IPv6 and netlink sockets: the VFS and its network stack must answer every one (argv[1]: the seed; prints "done"). */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
static unsigned long r(void) { return ((unsigned long)random() << 31) ^ random(); }
int main(int argc, char **argv)
{
    srandom(atoi(argv[1])); signal(SIGPIPE, SIG_IGN);
    int fds[16], n = 0;
    int doms[] = {AF_INET, AF_INET6, AF_NETLINK};
    for (int i = 0; i < 12; i++) {
        int d = doms[i % 3], t = d == AF_NETLINK ? SOCK_RAW : (i & 1 ? SOCK_DGRAM : SOCK_STREAM);
        int s = socket(d, t | SOCK_NONBLOCK, 0);
        if (s >= 0) fds[n++] = s;
    }
    unsigned char buf[512], out[512];
    for (int k = 0; k < 3000; k++) {
        int fd = fds[r() % n];
        for (int i = 0; i < 512; i++) buf[i] = r();
        if (r() % 3 == 0) { /* plausible addresses */
            struct sockaddr_in *a = (void *)buf; a->sin_family = AF_INET; a->sin_port = htons(r() % 4 ? 40000 + r() % 4 : 0);
            a->sin_addr.s_addr = htonl(r() % 2 ? INADDR_LOOPBACK : r());
            if (r() % 2) { struct sockaddr_in6 *b = (void *)buf; b->sin6_family = AF_INET6; b->sin6_addr = in6addr_loopback; }
        }
        socklen_t len = r() % 140;
        int flags = (r() & 0x7fff) | MSG_DONTWAIT;
        struct iovec iov[3] = {{out, r() % 200}, {out + 200, r() % 100}, {NULL, 0}};
        struct msghdr m = {buf, len, iov, 1 + r() % 2, r() % 2 ? buf + 256 : NULL, r() % 64, 0};
        switch (r() % 16) {
        case 0: bind(fd, (void *)buf, len); break;
        case 1: connect(fd, (void *)buf, len); break;
        case 2: listen(fd, r() % 10 - 2); break;
        case 3: { int c = accept4(fd, (void *)out, &len, SOCK_NONBLOCK); if (c >= 0 && n < 16) fds[n++] = c; else if (c >= 0) close(c); break; }
        case 4: sendto(fd, buf, r() % 512, flags, r() % 2 ? (void *)buf : NULL, len); break;
        case 5: recvfrom(fd, out, r() % 512, flags, r() % 2 ? (void *)out : NULL, &len); break;
        case 6: { int v = r(); setsockopt(fd, r() % 3 ? SOL_SOCKET : (r() % 2 ? IPPROTO_TCP : IPPROTO_IPV6), r() % 40, r() % 2 ? &v : (void *)buf, r() % 12); break; }
        case 7: { socklen_t l = r() % 20; getsockopt(fd, r() % 2 ? SOL_SOCKET : IPPROTO_TCP, r() % 40, out, &l); break; }
        case 8: shutdown(fd, r() % 4); break;
        case 9: getsockname(fd, (void *)out, &len); getpeername(fd, (void *)out, &len); break;
        case 10: sendmsg(fd, &m, flags); break;
        case 11: recvmsg(fd, &m, flags); break;
        case 12: ioctl(fd, 0x8900 + r() % 64, out); ioctl(fd, FIONREAD, out); break;
        case 13: { struct pollfd p = {fd, POLLIN | POLLOUT}; poll(&p, 1, 0); break; }
        case 14: write(fd, buf, r() % 300); read(fd, out, r() % 300); break;
        case 15: if (r() % 20 == 0) { close(fd); int d = doms[r() % 3]; int s = socket(d, (d == AF_NETLINK ? SOCK_RAW : 1 + r() % 2) | SOCK_NONBLOCK, 0); for (int i = 0; i < n; i++) if (fds[i] == fd) fds[i] = s >= 0 ? s : fds[0]; } break;
        }
    }
    printf("done\n");
    return 0;
}
