/* tcp_stream.c — network benchmark: a child sends N MiB in 64 KiB writes over a TCP connection on 127.0.0.1; the parent reads it all and counts the MiB received. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BLOCK 65536

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 1)
        || getsockname(s, (struct sockaddr *)&a, &len)) {
        perror("listen");
        return 1;
    }
    static char buf[BLOCK];
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        memset(buf, 'x', sizeof buf);
        if (connect(c, (struct sockaddr *)&a, sizeof a))
            _exit(1);
        for (long i = 0; i < n * 16; i++)
            for (int done = 0; done < BLOCK;) {
                int w = write(c, buf + done, BLOCK - done);
                if (w <= 0)
                    _exit(1);
                done += w;
            }
        _exit(0);
    }
    int d = accept(s, NULL, NULL);
    long got = 0;
    int r;
    while ((r = read(d, buf, sizeof buf)) > 0)
        got += r;
    int st;
    waitpid(pid, &st, 0);
    printf("tcp_stream n=%ld ok=%ld\n", n, got >> 20);
    return got == n << 20 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
