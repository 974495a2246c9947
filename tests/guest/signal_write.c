/* signal_write.c — a pipe write interrupted by a signal is neither lost nor repeated.
 * Usage: signal_write [restart]. A 1 ms SIGALRM (its handler with SA_RESTART if "restart")
 * runs while 2000 16-byte writes go into a pipe, each retried while it fails with EINTR, as
 * careful programs do; a child counts the bytes it reads. Prints one line: the count must be
 * 32000 (found by the fuzzer: CloudOS returned EINTR, or restarted the call, after the
 * server had already done the write, so the bytes arrived twice). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
#include <sys/wait.h>

#define WRITES 2000
#define SIZE 16

static void on_tick(int sig) { (void)sig; }

static void reader(int fd)
{
    char buf[4096];
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        total += n > 0 ? n : 0;
    printf("reader got %ld bytes\n", total);
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        reader(p[0]);
    }
    close(p[0]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = argc > 1 && strcmp(argv[1], "restart") == 0 ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval tick = { { 0, 1000 }, { 0, 1000 } };
    setitimer(ITIMER_REAL, &tick, NULL);
    static const char chunk[SIZE] = "0123456789abcde";
    for (int i = 0; i < WRITES; i++)
        while (write(p[1], chunk, SIZE) < 0 && errno == EINTR)
            ;
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    close(p[1]);
    waitpid(pid, NULL, 0);
    return 0;
}
