// Run under `--inject-crash net:9`: the net server crashes on its 9th call (the recv
// after the connection's first bytes went through). The sockets open then were the dead
// incarnation's: they fail as after a reset; new sockets work on the restarted server,
// and the rest of the machine (files, this process) carries on.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0) printf("%s: -1 %s\n", what, errno == ECONNRESET ? "ECONNRESET" : strerror(errno));
    else printf("%s: %ld\n", what, r);
}

// A connection on 127.0.0.1:5555: the listener, the client and the accepted end (6 calls).
static void connection(int fds[3]) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5555),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    bind(fds[0], (struct sockaddr *)&a, sizeof a);
    listen(fds[0], 4);
    fds[1] = socket(AF_INET, SOCK_STREAM, 0);
    connect(fds[1], (struct sockaddr *)&a, sizeof a);
    fds[2] = accept(fds[0], NULL, NULL);
}

int main(void) {
    int old[3], now[3];
    char buf[16] = {0};
    connection(old);
    write(old[1], "hello", 5);
    show("before", read(old[2], buf, sizeof buf));
    show("recv after the crash", recv(old[2], buf, sizeof buf, MSG_DONTWAIT));
    show("send after the crash", send(old[1], "x", 1, MSG_NOSIGNAL));
    struct pollfd p = {.fd = old[1], .events = POLLIN};
    show("poll after the crash", poll(&p, 1, 1000));
    printf("POLLERR %d POLLHUP %d\n", !!(p.revents & POLLERR), !!(p.revents & POLLHUP));
    show("close", close(old[0]) | close(old[1]) | close(old[2]));
    connection(now);
    show("write", write(now[1], "again", 5));
    memset(buf, 0, sizeof buf);
    show("read", read(now[2], buf, sizeof buf));
    printf("read: %s\n", buf);
    int fd = open("/tmp/after-the-crash", O_CREAT | O_RDWR | O_TRUNC, 0644);
    show("file", write(fd, "still here", 10) + pread(fd, buf, 10, 0));
    return 0;
}
