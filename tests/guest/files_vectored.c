/* files_vectored.c — preadv/pwritev/preadv2/pwritev2: scatter/gather at an offset (the
 * file position untouched), offset -1 of the v2 calls (the position used and moved), and
 * the errors (a pipe: ESPIPE; a negative offset: EINVAL; a bad fd: EBADF). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

static void result(const char *label, ssize_t n)
{
    if (n < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %zd\n", label, n);
}

int main(void)
{
    testdir_enter("vectored");
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char a[] = "hello ", b[] = "vectored ", c[] = "world";
    struct iovec out[3] = {{a, 6}, {b, 9}, {c, 5}};
    result("pwritev at 10", pwritev(fd, out, 3, 10));
    printf("position after pwritev: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    char x[4] = {0}, y[8] = {0}, z[32] = {0};
    struct iovec in[3] = {{x, 3}, {y, 7}, {z, sizeof z}};
    ssize_t n = preadv(fd, in, 3, 8);
    result("preadv at 8", n);
    printf("pieces: [%d %d %d] [%.7s] [%s]\n", x[0], x[1], x[2], y, z);
    printf("position after preadv: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    lseek(fd, 16, SEEK_SET);
    memset(z, 0, sizeof z);
    struct iovec one = {z, 5};
    result("preadv2 at -1 (the position)", preadv2(fd, &one, 1, -1, 0));
    printf("read [%s], position now %ld\n", z, (long)lseek(fd, 0, SEEK_CUR));
    struct iovec w = {"XY", 2};
    result("pwritev2 at -1", pwritev2(fd, &w, 1, -1, RWF_DSYNC));
    result("pwritev2 at 0", pwritev2(fd, &w, 1, 0, 0));
    printf("position now %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    memset(z, 0, sizeof z);
    struct iovec all = {z, sizeof z - 1};
    pread(fd, z, sizeof z - 1, 0);
    for (int i = 0; i < 30; i++)
        if (!z[i])
            z[i] = '.';
    printf("file: [%s]\n", z);
    result("preadv at -5", preadv(fd, &all, 1, -5));
    result("preadv2 unknown flag", preadv2(fd, &all, 1, 0, 0x1000));
    result("preadv bad fd", preadv(99, &all, 1, 0));
    int p[2];
    pipe(p);
    result("preadv of a pipe", preadv(p[0], &all, 1, 0));
    result("pwritev of a pipe", pwritev(p[1], &w, 1, 0));
    result("preadv of a write-only fd", preadv(p[1], &all, 1, 0));
    volatile int bad_count = -1;
    result("preadv iovcnt -1", preadv(fd, &all, bad_count, 0));
    close(fd);
    chdir("/");
    testdir_rm(testdir_path);
    return 0;
}
