/* pipe_pingpong.c — IPC benchmark: N round trips of one byte between a parent and a child over two pipes. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000, ok = 0;
    int down[2], up[2];
    if (pipe(down) || pipe(up)) {
        perror("pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        unsigned char c;
        close(down[1]);
        close(up[0]);
        while (read(down[0], &c, 1) == 1) {
            c++;
            if (write(up[1], &c, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    for (long i = 0; i < n; i++) {
        unsigned char c = (unsigned char)i, r;
        if (write(down[1], &c, 1) != 1 || read(up[0], &r, 1) != 1) {
            perror("ping-pong");
            return 1;
        }
        ok += r == (unsigned char)(c + 1);
    }
    close(down[1]);
    int st;
    waitpid(pid, &st, 0);
    printf("pipe_pingpong n=%ld ok=%ld\n", n, ok);
    return ok == n && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
