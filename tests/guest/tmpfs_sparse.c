/* tmpfs_sparse.c — tmpfs files are sparse, on /dev/shm (a tmpfs on Linux too). argv[1] picks a
   section:
   sparse     ftruncate to 8 GiB and writes far past the end allocate only what they write:
              st_blocks and statvfs's free space count that, the hole reads zeros, and
              SEEK_DATA/SEEK_HOLE find the data and the holes
   fallocate  fallocate allocates a range (past the end too with KEEP_SIZE), refuses one
              larger than the file system, PUNCH_HOLE frees the range again
   mmap       a byte written through a shared mapping of a sparse file allocates only
              about itself, once unmapped
   Prints only what Linux and CloudOS agree on: CloudOS keeps files in 64 KiB chunks where
   Linux keeps pages, so holes are compared far from any data. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "errname.h"
#include "section.h"

#define KIB (1LL << 10)
#define MIB (1LL << 20)
#define GIB (1LL << 30)

static char path[128];

static int make(void)
{
    snprintf(path, sizeof path, "/dev/shm/cloudos-test-sparse-%d", (int)getpid());
    return open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
}

static long long blocks(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return (long long)st.st_blocks;
}

static long long size_of(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return (long long)st.st_size;
}

static long long free_bytes(void)
{
    struct statvfs sv;
    statvfs("/dev/shm", &sv);
    return (long long)sv.f_bfree * (long long)sv.f_frsize;
}

static int zeros(int fd, long long at, size_t count)
{
    char *buf = malloc(count);
    ssize_t n = pread(fd, buf, count, at);
    int all = n == (ssize_t)count;
    for (ssize_t i = 0; all && i < n; i++)
        all = buf[i] == 0;
    free(buf);
    return all;
}

static const char *yes(int cond)
{
    return cond ? "yes" : "no";
}

static void sparse(void)
{
    long long before = free_bytes();
    int fd = make();
    SHOW("ftruncate to 8 GiB", ftruncate(fd, 8 * GIB));
    printf("size: %lld GiB, st_blocks: %lld\n", size_of(fd) / GIB, blocks(fd));
    SHOW("pwrite 1 byte at 4 GiB", pwrite(fd, "x", 1, 4 * GIB));
    printf("st_blocks < 256: %s\n", yes(blocks(fd) < 256));
    SHOW("pwrite 1 byte at 2 GiB", pwrite(fd, "y", 1, 2 * GIB));
    printf("st_blocks < 512: %s\n", yes(blocks(fd) < 512));
    printf("free space dropped by less than 64 MiB: %s\n",
           yes(before - free_bytes() < 64 * MIB));
    printf("1 MiB at 1 GiB reads zeros: %s\n", yes(zeros(fd, GIB, MIB)));
    printf("1 MiB at 7 GiB reads zeros: %s\n", yes(zeros(fd, 7 * GIB, MIB)));
    char c = 0;
    pread(fd, &c, 1, 4 * GIB);
    printf("the byte at 4 GiB: %c\n", c);
    SHOW("SEEK_HOLE from 0", lseek(fd, 0, SEEK_HOLE));
    off_t data = lseek(fd, 0, SEEK_DATA);
    printf("SEEK_DATA from 0 within 64 KiB before 2 GiB: %s\n",
           yes(data <= 2 * GIB && data > 2 * GIB - 64 * KIB));
    data = lseek(fd, 3 * GIB, SEEK_DATA);
    printf("SEEK_DATA from 3 GiB within 64 KiB before 4 GiB: %s\n",
           yes(data <= 4 * GIB && data > 4 * GIB - 64 * KIB));
    off_t hole = lseek(fd, 4 * GIB, SEEK_HOLE);
    printf("SEEK_HOLE from 4 GiB within 64 KiB past it: %s\n",
           yes(hole > 4 * GIB && hole <= 4 * GIB + 64 * KIB));
    SHOW("SEEK_DATA from 5 GiB", lseek(fd, 5 * GIB, SEEK_DATA));
    SHOW("SEEK_HOLE from 6 GiB", lseek(fd, 6 * GIB, SEEK_HOLE));
    SHOW("ftruncate to 3 GiB", ftruncate(fd, 3 * GIB));
    SHOW("SEEK_DATA from 2 GiB + 1 MiB", lseek(fd, 2 * GIB + MIB, SEEK_DATA));
    close(fd);
    unlink(path);
}

static void fallocates(void)
{
    int fd = make();
    SHOW("fallocate 0+1 MiB", fallocate(fd, 0, 0, MIB));
    printf("size: %lld, st_blocks >= 2048: %s\n", size_of(fd), yes(blocks(fd) >= 2048));
    SHOW("KEEP_SIZE 4 MiB+1 MiB", fallocate(fd, FALLOC_FL_KEEP_SIZE, 4 * MIB, MIB));
    printf("size: %lld, st_blocks >= 4096: %s\n", size_of(fd), yes(blocks(fd) >= 4096));
    printf("1 MiB reads zeros: %s\n", yes(zeros(fd, 0, MIB)));
    char *ones = malloc(MIB);
    memset(ones, 1, MIB);
    SHOW("write 1 MiB", pwrite(fd, ones, MIB, 0));
    free(ones);
    long long full = blocks(fd);
    SHOW("PUNCH_HOLE 0+1 MiB", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MIB));
    printf("size: %lld, 1 MiB reads zeros: %s\n", size_of(fd), yes(zeros(fd, 0, MIB)));
    printf("st_blocks dropped by >= 2048: %s\n", yes(full - blocks(fd) >= 2048));
    SHOW("PUNCH_HOLE past the end", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                              4 * MIB, MIB));
    printf("st_blocks < 256: %s\n", yes(blocks(fd) < 256));
    struct statvfs sv;
    statvfs("/dev/shm", &sv);
    long long whole = (long long)sv.f_blocks * (long long)sv.f_frsize;
    printf("/dev/shm has a size: %s\n", yes(whole > 0));  /* (else Linux fills the RAM) */
    if (whole == 0) {
        close(fd);
        unlink(path);
        return;
    }
    SHOW("fallocate more than /dev/shm holds", fallocate(fd, 0, 0, whole + 64 * MIB));
    printf("size: %lld, st_blocks < 256: %s\n", size_of(fd), yes(blocks(fd) < 256));
    close(fd);
    unlink(path);
}

static void mapped(void)
{
    int fd = make();
    SHOW("ftruncate to 1 GiB", ftruncate(fd, GIB));
    char *p = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap 16 MiB shared: %s\n", p == MAP_FAILED ? errname(errno) : "mapped");
    if (p != MAP_FAILED) {
        p[8 * MIB] = 'm';
        printf("a hole through the mapping: %d\n", p[12 * MIB]);
        SHOW("munmap", munmap(p, 16 * MIB));
    }
    char c = 0;
    pread(fd, &c, 1, 8 * MIB);
    printf("the byte written through the mapping: %c\n", c);
    printf("st_blocks < 256: %s\n", yes(blocks(fd) < 256));
    close(fd);
    unlink(path);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (section("sparse"))
        sparse();
    if (section("fallocate"))
        fallocates();
    if (section("mmap"))
        mapped();
    return 0;
}
