/* files_copy.c — copies inside the kernel: sendfile (file to file, file to pipe, with and
 * without an offset pointer, a full non-blocking pipe), copy_file_range (offsets, the
 * positions, overlap, bad flags), and close_range (closing, CLOSE_RANGE_CLOEXEC, errors). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC 4
#endif

static void result(const char *label, long n)
{
    if (n < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld\n", label, n);
}

static void show(const char *name)
{
    char buf[128] = {0};
    int fd = open(name, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = '.';
    printf("%s: [%s]\n", name, buf);
}

int main(void)
{
    testdir_enter("copy");
    int src = open("src", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(src, "0123456789abcdefghij", 20);
    int dst = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
    lseek(src, 5, SEEK_SET);
    result("sendfile NULL offset, 6 bytes", sendfile(dst, src, NULL, 6));
    printf("src position %ld, dst position %ld\n", (long)lseek(src, 0, SEEK_CUR),
           (long)lseek(dst, 0, SEEK_CUR));
    off_t off = 15;
    result("sendfile offset 15, 100 bytes", sendfile(dst, src, &off, 100));
    printf("offset now %ld, src position still %ld\n", (long)off, (long)lseek(src, 0, SEEK_CUR));
    off = 40;
    result("sendfile past the end", sendfile(dst, src, &off, 10));
    show("dst");
    result("sendfile from a pipe", ({ int p[2]; pipe(p); sendfile(dst, p[0], NULL, 1); }));
    int ro = open("src", O_RDONLY);
    result("sendfile to a read-only fd", sendfile(ro, src, NULL, 1));
    int ap = open("dst", O_WRONLY | O_APPEND);
    result("sendfile to O_APPEND", sendfile(ap, src, NULL, 1));
    off = -1;
    result("sendfile negative offset", sendfile(dst, src, &off, 1));
    result("sendfile bad offset pointer", sendfile(dst, src, (off_t *)8, 1));

    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(p[1]);
        char buf[64];
        size_t total = 0;
        ssize_t n;
        while ((n = read(p[0], buf, sizeof buf)) > 0)
            total += n;
        printf("the reader got %zu bytes\n", total);
        fflush(stdout);
        _exit(0);
    }
    close(p[0]);
    off = 0;
    long sent = 0;
    for (int i = 0; i < 5; i++)
        sent += sendfile(p[1], src, &off, 20);
    printf("sent into the pipe: %ld\n", sent);
    close(p[1]);
    waitpid(child, NULL, 0);

    pipe2(p, O_NONBLOCK);
    int big = open("big", O_RDWR | O_CREAT | O_TRUNC, 0644);
    static char chunk[100000];
    memset(chunk, 'x', sizeof chunk);
    write(big, chunk, sizeof chunk);
    off = 0;
    long first = sendfile(p[1], big, &off, sizeof chunk);
    printf("first sendfile into an empty pipe: %ld (offset %ld)\n", first, (long)off);
    result("then into the full non-blocking pipe", sendfile(p[1], big, &off, 10));

    loff_t in = 2, out = 3;
    int c = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0644);
    result("copy_file_range 4 bytes at offsets", copy_file_range(src, &in, c, &out, 4, 0));
    printf("offsets now %ld %ld\n", (long)in, (long)out);
    lseek(src, 10, SEEK_SET);
    result("copy_file_range NULL offsets", copy_file_range(src, NULL, c, NULL, 3, 0));
    printf("positions now %ld %ld\n", (long)lseek(src, 0, SEEK_CUR), (long)lseek(c, 0, SEEK_CUR));
    show("copy");
    in = 0;
    out = 2;
    result("copy_file_range overlapping one file", copy_file_range(src, &in, src, &out, 5, 0));
    result("copy_file_range flags 1", copy_file_range(src, NULL, c, NULL, 1, 1));
    result("copy_file_range to a pipe", copy_file_range(src, NULL, p[1], NULL, 1, 0));
    in = 100;
    result("copy_file_range past the end", copy_file_range(src, &in, c, NULL, 5, 0));

    int a = dup2(src, 20), b = dup2(src, 21), d = dup2(src, 22);
    result("close_range 21-21 CLOEXEC", syscall(SYS_close_range, 21, 21, CLOSE_RANGE_CLOEXEC));
    printf("fd 21 flags %d\n", fcntl(21, F_GETFD));
    result("close_range 20-~0", syscall(SYS_close_range, 20, ~0U, 0));
    printf("fds 20 21 22 after: %d %d %d\n", fcntl(a, F_GETFD), fcntl(b, F_GETFD),
           fcntl(d, F_GETFD));
    result("close_range first > last", syscall(SYS_close_range, 5, 4, 0));
    result("close_range bad flags", syscall(SYS_close_range, 30, 40, 1));
    result("close_range of nothing open", syscall(SYS_close_range, 500, 600, 0));
    chdir("/");
    testdir_rm(testdir_path);
    return 0;
}
