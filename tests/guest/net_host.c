/* net_host.c — a TCP and a UDP exchange with servers at ADDRESS:TCPPORT and ADDRESS:UDPPORT (argv[1..3]): on the host's network with `cloudos run --net host`, the guest's own loopback without it. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "errname.h"

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("tcp connect: %s\n", errname(errno));
    } else {
        SHOW("tcp write", write(s, "hello", 5));
        char buf[64] = {0};
        int n = 0, r;
        while (n < (int)sizeof buf - 1 && (r = read(s, buf + n, sizeof buf - 1 - n)) > 0)
            n += r;
        printf("tcp read %d [%s], then EOF\n", n, buf);
    }
    int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in tcp = a;
    SHOW("non-blocking connect", connect(nb, (struct sockaddr *)&tcp, sizeof tcp));
    struct pollfd w = {.fd = nb, .events = POLLOUT};
    int ready = poll(&w, 1, 3000);
    printf("poll: %d, POLLOUT %d\n", ready, !!(w.revents & POLLOUT));
    int error = -1;
    socklen_t elen = sizeof error;
    getsockopt(nb, SOL_SOCKET, SO_ERROR, &error, &elen);
    printf("SO_ERROR: %s\n", error ? errname(error) : "0");
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    if (getpeername(nb, (struct sockaddr *)&peer, &plen) == 0)
        printf("connected to the server's port: %d\n", peer.sin_port == tcp.sin_port);
    else
        printf("getpeername: %s\n", errname(errno));
    close(nb);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = htons(atoi(argv[3]));
    SHOW("udp sendto", sendto(u, "ping", 4, 0, (struct sockaddr *)&a, sizeof a));
    struct pollfd p = {.fd = u, .events = POLLIN};
    if (poll(&p, 1, 1000) == 1) {
        char buf[64] = {0};
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        int n = recvfrom(u, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
        printf("udp got %d [%s] from the server's port: %d\n", n, buf, from.sin_port == a.sin_port);
    } else {
        printf("udp: no answer\n");
    }
    return 0;
}
