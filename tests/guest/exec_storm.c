/* exec_storm.c — many processes exec at once, then a pipeline writes and checks every byte.
 * Usage: exec_storm [ROUNDS]. Each round forks 16 children that each execve this program
 * as "child N" (which checks its arguments and exits N), and pushes 64 KiB through a
 * pipe between two fresh processes, checking the bytes. Prints one summary line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define CHILDREN 16
#define PIPE_BYTES (64 * 1024)

static char self[4096];

static int child(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "child") != 0)
        return 100;
    return atoi(argv[2]);
}

static int execs(void)
{
    pid_t pids[CHILDREN];
    int bad = 0;
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char n[16];
            snprintf(n, sizeof n, "%d", i);
            execl(self, self, "child", n, (char *)NULL);
            _exit(99);
        }
    }
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status)
            || WEXITSTATUS(status) != i) {
            fprintf(stderr, "child %d: status %#x\n", i, status);
            bad++;
        }
    }
    return bad;
}

static int pipeline(int round)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    pid_t writer = fork();
    if (writer == 0) {
        unsigned char buf[1000];
        close(fds[0]);
        for (int sent = 0; sent < PIPE_BYTES; ) {
            int n = PIPE_BYTES - sent < (int)sizeof buf ? PIPE_BYTES - sent : (int)sizeof buf;
            for (int i = 0; i < n; i++)
                buf[i] = (unsigned char)((sent + i) * 7 + round);
            for (int done = 0; done < n; ) {
                ssize_t w = write(fds[1], buf + done, n - done);
                if (w <= 0)
                    _exit(2);
                done += w;
            }
            sent += n;
        }
        _exit(0);
    }
    close(fds[1]);
    unsigned char buf[777];
    long got = 0, wrong = 0;
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            wrong += buf[i] != (unsigned char)((got + i) * 7 + round);
        got += n;
    }
    close(fds[0]);
    int status;
    waitpid(writer, &status, 0);
    if (got != PIPE_BYTES || wrong || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pipeline %d: %ld bytes, %ld wrong, status %#x\n", round, got, wrong, status);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child(argc, argv);
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return 3;
    self[len] = 0;
    int rounds = argc > 1 ? atoi(argv[1]) : 4, failed_execs = 0, failed_pipes = 0;
    for (int r = 0; r < rounds; r++) {
        failed_execs += execs();
        failed_pipes += pipeline(r);
    }
    printf("exec storm: %d rounds, %d failed execs, %d failed pipelines\n",
           rounds, failed_execs, failed_pipes);
    return failed_execs || failed_pipes;
}
