/* sigpipe_handler.c — a write to a pipe nobody reads fails with EPIPE after the SIGPIPE
 * handler ran, with or without SA_RESTART (the error is the call's outcome: never
 * restarted); writev and a write past RLIMIT_FSIZE (SIGXFSZ, EFBIG) likewise. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>
#include <fcntl.h>
#include "errname.h"

static volatile sig_atomic_t pipes, sizes;
static void on_pipe(int sig) { (void)sig; pipes++; }
static void on_size(int sig) { (void)sig; sizes++; }

static void handle(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

int main(void)
{
    int p[2];
    pipe(p);
    close(p[0]);
    handle(SIGPIPE, on_pipe, SA_RESTART);
    ssize_t n = write(p[1], "x", 1);
    printf("write, SA_RESTART: %zd %s, handler ran %d\n", n, errname(errno), pipes);
    handle(SIGPIPE, on_pipe, 0);
    n = write(p[1], "x", 1);
    printf("write: %zd %s, handler ran %d\n", n, errname(errno), pipes);
    struct iovec v = {"yz", 2};
    handle(SIGPIPE, on_pipe, SA_RESTART);
    n = writev(p[1], &v, 1);
    printf("writev, SA_RESTART: %zd %s, handler ran %d\n", n, errname(errno), pipes);
    handle(SIGXFSZ, on_size, SA_RESTART);
    struct rlimit lim = {4, 4};
    setrlimit(RLIMIT_FSIZE, &lim);
    char name[] = "/tmp/cloudos-sigpipe-XXXXXX";
    int fd = mkstemp(name);
    unlink(name);
    n = write(fd, "12345678", 8);
    printf("write past RLIMIT_FSIZE: %zd, handler ran %d\n", n, sizes);
    n = write(fd, "9", 1);
    printf("then at the limit: %zd %s, handler ran %d\n", n, errname(errno), sizes);
    return 0;
}
