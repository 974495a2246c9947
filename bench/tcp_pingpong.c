/* tcp_pingpong.c — network benchmark: N round trips of one byte between a parent and a child over a TCP connection on 127.0.0.1 (TCP_NODELAY). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000, ok = 0;
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 1)
        || getsockname(s, (struct sockaddr *)&a, &len)) {
        perror("listen");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        unsigned char b;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c, (struct sockaddr *)&a, sizeof a))
            _exit(1);
        while (read(c, &b, 1) == 1) {
            b++;
            if (write(c, &b, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    int d = accept(s, NULL, NULL);
    setsockopt(d, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (long i = 0; i < n; i++) {
        unsigned char c = (unsigned char)i, r;
        if (write(d, &c, 1) != 1 || read(d, &r, 1) != 1) {
            perror("ping-pong");
            return 1;
        }
        ok += r == (unsigned char)(c + 1);
    }
    close(d);
    int st;
    waitpid(pid, &st, 0);
    printf("tcp_pingpong n=%ld ok=%ld\n", n, ok);
    return ok == n && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
