/* files_badbuf.c — read and write with a buffer that is partly bad (its tail, or its head,
 * on a PROT_NONE or unmapped page): Linux copies up to the bad byte and returns that count,
 * or EFAULT when nothing was copied; the file offset moves by what was copied. (Vectored
 * calls are not here: CloudOS still refuses any iovec not all good up front.) */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "errname.h"

#define PG 4096

static void show(const char *what, long r, int fd)
{
    if (r < 0)
        printf("%s: -1 %s", what, errname(errno));
    else
        printf("%s: %ld", what, r);
    printf(" offset %ld\n", (long)lseek(fd, 0, SEEK_CUR));
}

int main(void)
{
    char dir[] = "/tmp/badbufXXXXXX";
    if (!mkdtemp(dir) || chdir(dir))
        return 1;
    /* four pages: good, good, PROT_NONE, unmapped */
    unsigned char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    for (int i = 0; i < 2 * PG; i++)
        m[i] = (unsigned char)(i * 13 + 1);
    mprotect(m + 2 * PG, PG, PROT_NONE);
    munmap(m + 3 * PG, PG);
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0600);
    show("write tail bad", write(fd, m + PG + 100, 2 * PG), fd);
    show("write head bad", write(fd, m + 2 * PG, 10), fd);
    show("write unmapped", write(fd, m + 3 * PG, 10), fd);
    show("write zero bad", write(fd, m + 2 * PG, 0), fd);
    show("pwrite tail bad", pwrite(fd, m + 2 * PG - 10, 100, 50000), fd);
    show("write all good", write(fd, m, 2 * PG), fd);
    show("ftruncate", ftruncate(fd, 5 * PG), fd);
    lseek(fd, 0, SEEK_SET);
    show("read tail bad", read(fd, m + PG + 7, 3 * PG), fd);
    show("read head bad", read(fd, m + 2 * PG, 10), fd);
    show("read unmapped", read(fd, m + 3 * PG, 10), fd);
    show("pread tail bad", pread(fd, m + 2 * PG - 3, 50, 0), fd);
    unsigned long sum = 0;
    for (int i = 0; i < 2 * PG; i++)
        sum = sum * 31 + m[i];
    printf("buffer sum %lu\n", sum);
    close(fd);
    unlink("f");
    rmdir(dir);
    return 0;
}
