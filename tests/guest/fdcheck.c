/* fdcheck.c — exec'd by files_cloexec: reports for each fd in argv[1..] (default 3 4) whether it is open, its FD_CLOEXEC flag, and what it reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "errname.h"

static void check(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) {
        printf("fdcheck: fd %d closed (%s)\n", fd, errname(errno));
        return;
    }
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("fdcheck: fd %d open, FD_CLOEXEC=%d, reads [%.*s]\n", fd, flags & FD_CLOEXEC,
           (int)(n < 0 ? 0 : n), buf);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        check(3);
        check(4);
    }
    for (int i = 1; i < argc; i++)
        check(atoi(argv[i]));
    return 0;
}
