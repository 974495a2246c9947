/* files_vectored.c — preadv/pwritev/preadv2/pwritev2: scatter/gather at an offset (the
 * file position untouched), offset -1 of the v2 calls (the position used and moved), and
 * the errors (a pipe: ESPIPE; a negative offset: EINVAL; a bad fd: EBADF), and buffers bad
 * after the first iovec (a regular file: the bytes before them; a pipe: EFAULT). */
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

    /* a buffer bad past the first iovec: a regular file moves the bytes before it (and
     * its position by as many), a pipe fails; a bad first byte fails; an empty iovec's
     * base is not looked at */
    void *bad = (void *)8;
    char g[10] = "0123456789", r[16] = {0};
    ftruncate(fd, 0);
    lseek(fd, 0, SEEK_SET);
    struct iovec part[3] = {{g, 10}, {bad, 10}, {g, 4}};
    result("writev, second iovec bad", writev(fd, part, 3));
    printf("position now %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    result("pwritev, second iovec bad", pwritev(fd, part, 3, 20));
    struct iovec first_bad[2] = {{bad, 10}, {g, 10}};
    result("writev, first iovec bad", writev(fd, first_bad, 2));
    struct iovec empty_bad[2] = {{bad, 0}, {g, 3}};
    result("writev, an empty iovec at a bad address", writev(fd, empty_bad, 2));
    lseek(fd, 0, SEEK_SET);
    struct iovec rpart[3] = {{r, 4}, {bad, 10}, {r + 8, 4}};
    result("readv, second iovec bad", readv(fd, rpart, 3));
    printf("read [%.4s], position now %ld\n", r, (long)lseek(fd, 0, SEEK_CUR));
    result("preadv, second iovec bad", preadv(fd, rpart, 3, 20));
    struct iovec rfirst_bad[2] = {{bad, 4}, {r, 4}};
    result("readv, first iovec bad", readv(fd, rfirst_bad, 2));
    struct iovec rpage[2] = {{r, 2}, {(char *)bad + 4096 * 4, 2}};
    result("preadv, a later iovec bad at a high address", preadv(fd, rpage, 2, 0));
    int q[2];
    pipe2(q, O_NONBLOCK);
    result("writev of a pipe, second iovec bad", writev(q[1], part, 3));
    result("readv of the pipe after", readv(q[0], rpart, 1));
    write(q[1], "abcdefgh", 8);
    result("readv of a pipe, second iovec bad", readv(q[0], rpart, 3));
    close(q[0]);
    close(q[1]);
    close(fd);
    chdir("/");
    testdir_rm(testdir_path);
    return 0;
}
