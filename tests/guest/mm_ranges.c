/* mm_ranges.c — the range checks of the memory calls (munmap, mmap, mprotect, mremap, madvise, msync, mincore, mlock, brk, shmat) and of user pointers, with hostile addresses and lengths: kernel half, non-canonical, the top user page, ranges crossing the top of user space or wrapping past 2^64, zero and unaligned lengths (argv[1] picks one section; none: all). Raw syscalls, so that libc checks nothing first. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#define PAGE 4096UL
#define TASK_SIZE 0x7ffffffff000UL      /* x86_64 with 4-level paging: the top page is not user */
#define KERNEL_HALF 0xffff800000000000UL
#define NONCANONICAL 0x0000800000000000UL
#define TOP_PAGE TASK_SIZE
#define NEAR_TOP 0x7fff00000000UL       /* in user space, 4 GiB below its top */
#define TIB (1UL << 40)
#define FREE_AREA 0x300000000000UL      /* nothing is mapped here, natively or in CloudOS */

#define MAP_ANON_PRIVATE (MAP_PRIVATE | MAP_ANONYMOUS)

static long sys_mmap(unsigned long addr, unsigned long len, int prot, int flags)
{
    return syscall(SYS_mmap, addr, len, prot, flags, -1, 0);
}

/* "LABEL: ok" (the mapping, unmapped again) or "LABEL: -1 ENAME": addresses differ between runs */
static void show_mapping(const char *label, long r, unsigned long len)
{
    int e = errno;
    if (r == -1) {
        printf("%s: -1 %s\n", label, e == EOVERFLOW ? "EOVERFLOW" : errname(e));
        return;
    }
    printf("%s: ok, in user space below the top page: %d\n", label,
           (unsigned long)r < TASK_SIZE && (unsigned long)r >= 0x10000);
    syscall(SYS_munmap, r, len);
}

static void show_map(const char *label, long r)
{
    show_mapping(label, r, PAGE);
}

static char *one_page(void)
{
    char *p = (char *)sys_mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_ANON_PRIVATE);
    p[0] = 'x';
    return p;
}

static int is_mapped(void *p)
{
    return syscall(SYS_msync, p, PAGE, 0) == 0;
}

static void munmap_ranges(void)
{
    SHOW("kernel half", syscall(SYS_munmap, KERNEL_HALF, PAGE));
    SHOW("last page of the kernel half", syscall(SYS_munmap, -PAGE, PAGE));
    SHOW("non-canonical", syscall(SYS_munmap, NONCANONICAL, PAGE));
    SHOW("from user space past its top", syscall(SYS_munmap, NEAR_TOP, TIB));
    SHOW("the top page", syscall(SYS_munmap, TOP_PAGE, PAGE));
    SHOW("the two top pages", syscall(SYS_munmap, TOP_PAGE - PAGE, 2 * PAGE));
    SHOW("wrapping past 2^64", syscall(SYS_munmap, FREE_AREA, -FREE_AREA + PAGE));
    SHOW("length -1", syscall(SYS_munmap, FREE_AREA, -1L));
    SHOW("length 0", syscall(SYS_munmap, FREE_AREA, 0));
    SHOW("unaligned address", syscall(SYS_munmap, FREE_AREA + 1, PAGE));
    SHOW("nothing mapped there", syscall(SYS_munmap, FREE_AREA, TIB));
    char *p = one_page();
    SHOW("unaligned length", syscall(SYS_munmap, p, 1));
    printf("the page is gone: %d\n", !is_mapped(p));
}

/* A deterministic generator, so that the native and the CloudOS run issue the same calls. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* A range no call may touch: it starts at or above the top of user space, or crosses it. */
static void hostile_range(uint64_t *state, unsigned long *addr, unsigned long *len)
{
    uint64_t r = next_random(state);
    switch (r % 5) {
    case 0:  /* anywhere from the top page up, page-aligned; the length may wrap */
        *addr = (TASK_SIZE + next_random(state) % -TASK_SIZE) & ~(PAGE - 1);
        *len = next_random(state) >> (r >> 8) % 64;
        break;
    case 1:  /* from the last pages of user space (never a native stack) to past its top */
        *addr = TASK_SIZE - (next_random(state) % 16 + 1) * PAGE;
        *len = TASK_SIZE - *addr + 1 + next_random(state) % TIB;
        break;
    case 2:  /* a length that wraps past 2^64 */
        *addr = FREE_AREA + (next_random(state) % 0x1000) * PAGE;
        *len = -*addr + next_random(state) % (16 * PAGE);
        break;
    case 3:  /* the kernel half, page-aligned, up to its end */
        *addr = KERNEL_HALF | (next_random(state) & ~(PAGE - 1));
        *len = next_random(state) % (-*addr) + 1;
        break;
    default:  /* unaligned, in the kernel half */
        *addr = KERNEL_HALF | next_random(state) | 1;
        *len = next_random(state) % TIB;
        break;
    }
    if (*len == 0)
        *len = PAGE;
}

struct tally { int ok, einval, enomem, efault, other; };

static void count(struct tally *t, long r, int e)
{
    if (r >= 0)
        t->ok++;
    else if (e == EINVAL)
        t->einval++;
    else if (e == ENOMEM)
        t->enomem++;
    else if (e == EFAULT)
        t->efault++;
    else
        t->other++;
}

static void print_tally(const char *call, const struct tally *t)
{
    printf("%s: ok %d, EINVAL %d, ENOMEM %d, EFAULT %d, other %d\n", call, t->ok, t->einval,
           t->enomem, t->efault, t->other);
}

static void random_ranges(void)
{
    struct tally t[6] = {0};
    const char *calls[6] = {"munmap", "mprotect", "madvise", "msync", "mincore", "mlock"};
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    unsigned char vec[16];
    for (int i = 0; i < 2000; i++) {
        unsigned long addr, len;
        hostile_range(&state, &addr, &len);
        long r[6];
        int e[6];
        r[0] = syscall(SYS_munmap, addr, len); e[0] = errno;
        r[1] = syscall(SYS_mprotect, addr, len, PROT_READ); e[1] = errno;
        r[2] = syscall(SYS_madvise, addr, len, MADV_DONTNEED); e[2] = errno;
        r[3] = syscall(SYS_msync, addr, len, MS_SYNC); e[3] = errno;
        r[4] = syscall(SYS_mincore, addr, len, vec); e[4] = errno;
        r[5] = syscall(SYS_mlock, addr, len); e[5] = errno;
        for (int c = 0; c < 6; c++)
            count(&t[c], r[c], e[c]);
    }
    for (int c = 0; c < 6; c++)
        print_tally(calls[c], &t[c]);
    printf("still running: yes\n");
}

static void mmap_ranges(void)
{
    int rw = PROT_READ | PROT_WRITE;
    show_map("length 0", sys_mmap(0, 0, rw, MAP_ANON_PRIVATE));
    show_map("length -1", sys_mmap(0, -1L, rw, MAP_ANON_PRIVATE));
    show_map("length -4096", sys_mmap(0, -PAGE, rw, MAP_ANON_PRIVATE));
    show_map("length 2^47", sys_mmap(0, 1UL << 47, rw, MAP_ANON_PRIVATE));
    show_map("length of all user space", sys_mmap(0, TASK_SIZE, rw, MAP_ANON_PRIVATE));
    show_map("MAP_FIXED kernel half", sys_mmap(KERNEL_HALF, PAGE, rw, MAP_ANON_PRIVATE | MAP_FIXED));
    show_map("MAP_FIXED non-canonical",
             sys_mmap(NONCANONICAL, PAGE, rw, MAP_ANON_PRIVATE | MAP_FIXED));
    show_map("MAP_FIXED top page", sys_mmap(TOP_PAGE, PAGE, rw, MAP_ANON_PRIVATE | MAP_FIXED));
    show_map("MAP_FIXED across the top", sys_mmap(TOP_PAGE - PAGE, 2 * PAGE, rw,
                                                  MAP_ANON_PRIVATE | MAP_FIXED));
    show_map("MAP_FIXED wrapping past 2^64", sys_mmap(-PAGE, 2 * PAGE, rw,
                                                      MAP_ANON_PRIVATE | MAP_FIXED));
    show_map("MAP_FIXED unaligned", sys_mmap(FREE_AREA + 1, PAGE, rw, MAP_ANON_PRIVATE | MAP_FIXED));
    show_map("MAP_FIXED unaligned in the kernel half",
             sys_mmap(KERNEL_HALF + 1, PAGE, rw, MAP_ANON_PRIVATE | MAP_FIXED));
    show_map("MAP_FIXED_NOREPLACE top page",
             sys_mmap(TOP_PAGE, PAGE, rw, MAP_ANON_PRIVATE | MAP_FIXED_NOREPLACE));
    show_map("MAP_FIXED huge length", sys_mmap(FREE_AREA, -FREE_AREA, rw,
                                               MAP_ANON_PRIVATE | MAP_FIXED));
    show_map("hint in the kernel half", sys_mmap(KERNEL_HALF, PAGE, rw, MAP_ANON_PRIVATE));
    show_map("hint at the top page", sys_mmap(TOP_PAGE, PAGE, rw, MAP_ANON_PRIVATE));
    show_map("hint non-canonical", sys_mmap(NONCANONICAL, PAGE, rw, MAP_ANON_PRIVATE));
    show_map("hint unaligned", sys_mmap(FREE_AREA + 5, PAGE, rw, MAP_ANON_PRIVATE));
    show_mapping("hint with a length past the top",
                 sys_mmap(NEAR_TOP, TIB, PROT_NONE, MAP_ANON_PRIVATE | MAP_NORESERVE), TIB);
    show_map("unknown prot bit", sys_mmap(0, PAGE, PROT_READ | 0x10, MAP_ANON_PRIVATE));
    show_map("bad type", sys_mmap(0, PAGE, rw, MAP_ANONYMOUS));
    show_map("unaligned offset", syscall(SYS_mmap, 0, PAGE, rw, MAP_ANON_PRIVATE, -1, 1));
    int fd = open("/bin/sh", O_RDONLY);
    show_map("a file at offset 2^63-4096",
             syscall(SYS_mmap, 0, PAGE, PROT_READ, MAP_SHARED, fd, 0x7ffffffffffff000L));
    show_map("a file at offset -4096", syscall(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, fd, -4096L));
    show_map("a file at offset 2^63-8192",
             syscall(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, fd, 0x7fffffffffffe000L));
    show_map("a file, length -1", syscall(SYS_mmap, 0, -1L, PROT_READ, MAP_SHARED, fd, 0));
    close(fd);
}

static void mprotect_ranges(void)
{
    char *p = one_page();
    SHOW("kernel half", syscall(SYS_mprotect, KERNEL_HALF, PAGE, PROT_READ));
    SHOW("non-canonical", syscall(SYS_mprotect, NONCANONICAL, PAGE, PROT_READ));
    SHOW("the top page", syscall(SYS_mprotect, TOP_PAGE, PAGE, PROT_READ));
    SHOW("from user space past its top", syscall(SYS_mprotect, NEAR_TOP, TIB, PROT_READ));
    SHOW("length -1", syscall(SYS_mprotect, p, -1L, PROT_READ));
    SHOW("wrapping past 2^64", syscall(SYS_mprotect, p, -(unsigned long)p + PAGE, PROT_READ));
    SHOW("length 0", syscall(SYS_mprotect, p, 0, PROT_READ));
    SHOW("length 0 in the kernel half", syscall(SYS_mprotect, KERNEL_HALF, 0, PROT_READ));
    SHOW("unaligned", syscall(SYS_mprotect, p + 1, PAGE, PROT_READ));
    SHOW("unaligned, length 0", syscall(SYS_mprotect, p + 1, 0, PROT_READ));
    SHOW("unknown prot bit", syscall(SYS_mprotect, p, PAGE, PROT_READ | 0x10));
    SHOW("PROT_GROWSDOWN|PROT_GROWSUP",
         syscall(SYS_mprotect, p, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP));
    SHOW("unknown prot bit, length 0", syscall(SYS_mprotect, p, 0, 0x10));
    SHOW("unknown prot bit, length -1", syscall(SYS_mprotect, p, -1L, 0x10));
    SHOW("PROT_SEM", syscall(SYS_mprotect, p, PAGE, PROT_READ | 0x8 /* PROT_SEM */));
    SHOW("one page, unaligned length", syscall(SYS_mprotect, p, 1, PROT_READ));
    printf("still readable: %c\n", p[0]);
    syscall(SYS_munmap, p, PAGE);
}

static void mremap_ranges(void)
{
    char *p = one_page();
    int move = MREMAP_MAYMOVE | MREMAP_FIXED;
    show_map("old in the kernel half", syscall(SYS_mremap, KERNEL_HALF, PAGE, PAGE, 0, 0));
    show_map("old non-canonical", syscall(SYS_mremap, NONCANONICAL, PAGE, PAGE, 0, 0));
    show_map("old the top page", syscall(SYS_mremap, TOP_PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0));
    show_map("old unaligned", syscall(SYS_mremap, p + 1, PAGE, PAGE, 0, 0));
    show_map("new size 0", syscall(SYS_mremap, p, PAGE, 0, MREMAP_MAYMOVE, 0));
    show_map("new size -1", syscall(SYS_mremap, p, PAGE, -1L, MREMAP_MAYMOVE, 0));
    show_map("new size 2^47", syscall(SYS_mremap, p, PAGE, 1UL << 47, MREMAP_MAYMOVE, 0));
    show_map("shrinking from 4 TiB (the tail crosses the top)",
             syscall(SYS_mremap, p, 4 * TIB, PAGE, 0, 0));
    show_map("MREMAP_FIXED to the kernel half", syscall(SYS_mremap, p, PAGE, PAGE, move, KERNEL_HALF));
    show_map("MREMAP_FIXED non-canonical", syscall(SYS_mremap, p, PAGE, PAGE, move, NONCANONICAL));
    show_map("MREMAP_FIXED to the top page", syscall(SYS_mremap, p, PAGE, PAGE, move, TOP_PAGE));
    show_map("MREMAP_FIXED across the top",
             syscall(SYS_mremap, p, PAGE, 2 * PAGE, move, TOP_PAGE - PAGE));
    show_map("MREMAP_FIXED wrapping past 2^64", syscall(SYS_mremap, p, PAGE, 2 * PAGE, move, -PAGE));
    show_map("MREMAP_FIXED unaligned", syscall(SYS_mremap, p, PAGE, PAGE, move, FREE_AREA + 1));
    show_map("MREMAP_FIXED over itself", syscall(SYS_mremap, p, PAGE, PAGE, move, p));
    show_map("MREMAP_FIXED without MAYMOVE",
             syscall(SYS_mremap, p, PAGE, PAGE, MREMAP_FIXED, FREE_AREA));
    show_map("grow by 1 TiB", syscall(SYS_mremap, p, PAGE, TIB, 0, 0));
    printf("the page stayed: %c\n", p[0]);
    long q = syscall(SYS_mremap, p, PAGE, PAGE, move, FREE_AREA);
    printf("MREMAP_FIXED to a free area: %s, contents: %c\n",
           q == (long)FREE_AREA ? "there" : errname(errno), *(char *)FREE_AREA);
    syscall(SYS_munmap, FREE_AREA, PAGE);
}

static void advice_ranges(void)
{
    char *p = one_page();
    SHOW("madvise kernel half", syscall(SYS_madvise, KERNEL_HALF, PAGE, MADV_DONTNEED));
    SHOW("madvise non-canonical", syscall(SYS_madvise, NONCANONICAL, PAGE, MADV_DONTNEED));
    SHOW("madvise the top page", syscall(SYS_madvise, TOP_PAGE, PAGE, MADV_DONTNEED));
    SHOW("madvise past the top", syscall(SYS_madvise, TOP_PAGE - PAGE, TIB, MADV_DONTNEED));
    SHOW("madvise length -1", syscall(SYS_madvise, p, -1L, MADV_DONTNEED));
    SHOW("madvise wrapping past 2^64",
         syscall(SYS_madvise, p, -(unsigned long)p + PAGE, MADV_DONTNEED));
    SHOW("madvise length 0", syscall(SYS_madvise, KERNEL_HALF, 0, MADV_DONTNEED));
    SHOW("madvise unaligned", syscall(SYS_madvise, p + 1, PAGE, MADV_DONTNEED));
    SHOW("madvise bad advice", syscall(SYS_madvise, p, PAGE, 999));
    SHOW("madvise one page, length 1", syscall(SYS_madvise, p, 1, MADV_DONTNEED));
    printf("dropped: reads %d\n", p[0]);

    SHOW("msync kernel half", syscall(SYS_msync, KERNEL_HALF, PAGE, MS_SYNC));
    SHOW("msync non-canonical", syscall(SYS_msync, NONCANONICAL, PAGE, MS_SYNC));
    SHOW("msync the top page", syscall(SYS_msync, TOP_PAGE, PAGE, MS_SYNC));
    SHOW("msync past the top", syscall(SYS_msync, NEAR_TOP, TIB, MS_SYNC));
    SHOW("msync length -1", syscall(SYS_msync, p, -1L, MS_SYNC));
    SHOW("msync wrapping past 2^64", syscall(SYS_msync, p, -(unsigned long)p + PAGE, MS_SYNC));
    SHOW("msync length 0", syscall(SYS_msync, KERNEL_HALF, 0, MS_SYNC));
    SHOW("msync unaligned", syscall(SYS_msync, p + 1, PAGE, MS_SYNC));

    unsigned char vec[4];
    SHOW("mincore kernel half", syscall(SYS_mincore, KERNEL_HALF, PAGE, vec));
    SHOW("mincore non-canonical", syscall(SYS_mincore, NONCANONICAL, PAGE, vec));
    SHOW("mincore the top page", syscall(SYS_mincore, TOP_PAGE, PAGE, vec));
    SHOW("mincore past the top", syscall(SYS_mincore, NEAR_TOP, TIB, vec));
    SHOW("mincore length -1", syscall(SYS_mincore, p, -1L, vec));
    SHOW("mincore unaligned", syscall(SYS_mincore, p + 1, PAGE, vec));
    SHOW("mincore vector in the kernel half", syscall(SYS_mincore, p, PAGE, KERNEL_HALF));
    SHOW("mincore vector non-canonical",
         syscall(SYS_mincore, p, PAGE, (unsigned long)vec | 1UL << 48));
    SHOW("mincore length 0", syscall(SYS_mincore, p, 0, vec));
    syscall(SYS_munmap, p, PAGE);
}

static void mlock_ranges(void)
{
    char *p = one_page();
    SHOW("mlock kernel half", syscall(SYS_mlock, KERNEL_HALF, PAGE));
    SHOW("mlock non-canonical", syscall(SYS_mlock, NONCANONICAL, PAGE));
    SHOW("mlock the top page", syscall(SYS_mlock, TOP_PAGE, PAGE));
    SHOW("mlock past the top", syscall(SYS_mlock, NEAR_TOP, TIB));
    SHOW("mlock length -1", syscall(SYS_mlock, p, -1L));
    SHOW("mlock length 0", syscall(SYS_mlock, KERNEL_HALF, 0));
    SHOW("mlock unaligned", syscall(SYS_mlock, p + 1, PAGE - 1));
    SHOW("mlock a page", syscall(SYS_mlock, p, PAGE));
    SHOW("munlock kernel half", syscall(SYS_munlock, KERNEL_HALF, PAGE));
    SHOW("munlock length -1", syscall(SYS_munlock, p, -1L));
    SHOW("munlock a page", syscall(SYS_munlock, p, PAGE));
    SHOW("mlock2 bad flags", syscall(SYS_mlock2, p, PAGE, 2));
    SHOW("mlock2 kernel half", syscall(SYS_mlock2, KERNEL_HALF, PAGE, 0));
    SHOW("mlockall no flags", syscall(SYS_mlockall, 0));
    SHOW("mlockall unknown flag", syscall(SYS_mlockall, MCL_CURRENT | 0x100));
    SHOW("munlockall", syscall(SYS_munlockall));
    syscall(SYS_munmap, p, PAGE);
}

static void brk_ranges(void)
{
    unsigned long start = syscall(SYS_brk, 0);
    struct { const char *label; unsigned long addr; } bad[] = {
        {"kernel half", KERNEL_HALF}, {"non-canonical", NONCANONICAL},
        {"the top page", TOP_PAGE}, {"-1", -1UL}, {"1", 1}, {"1 TiB up", start + TIB},
        {"near the top", NEAR_TOP},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        printf("brk to %s: unchanged: %d\n", bad[i].label,
               (unsigned long)syscall(SYS_brk, bad[i].addr) == start);
    unsigned long grown = syscall(SYS_brk, start + 64 * 1024);
    printf("grown by 64 KiB: %d\n", grown == start + 64 * 1024);
    memset((char *)start, 'h', 64 * 1024);
    printf("back: %d\n", (unsigned long)syscall(SYS_brk, start) == start);
    long mapped = sys_mmap(start + 0x100000, PAGE, PROT_READ, MAP_ANON_PRIVATE | MAP_FIXED_NOREPLACE);
    printf("brk over a mapping: unchanged: %d\n",
           mapped != -1 && (unsigned long)syscall(SYS_brk, start + 0x200000) == start);
    syscall(SYS_munmap, mapped, PAGE);
}

static void pointer_ranges(void)
{
    int fds[2];
    char buf[16] = "hello";
    unsigned long b = (unsigned long)buf;
    if (pipe(fds) < 0)
        return;
    SHOW("write from buf|1<<48", syscall(SYS_write, fds[1], b | 1UL << 48, 5));
    SHOW("write from buf|1<<63", syscall(SYS_write, fds[1], b | 1UL << 63, 5));
    SHOW("write from buf|0xffff<<48", syscall(SYS_write, fds[1], b | 0xffffUL << 48, 5));
    SHOW("write from the kernel half", syscall(SYS_write, fds[1], KERNEL_HALF, 5));
    SHOW("write from the top page", syscall(SYS_write, fds[1], TOP_PAGE, 5));
    SHOW("write from the last byte of user space", syscall(SYS_write, fds[1], TASK_SIZE - 1, 1));
    SHOW("write across the top of user space", syscall(SYS_write, fds[1], TASK_SIZE - 8, 16));
    struct iovec iov = {(void *)(b | 1UL << 48), 5};
    SHOW("writev from buf|1<<48", syscall(SYS_writev, fds[1], &iov, 1));
    SHOW("writev with the iovec at |1<<48",
         syscall(SYS_writev, fds[1], (unsigned long)&iov | 1UL << 48, 1));
    SHOW("write from buf", syscall(SYS_write, fds[1], buf, 5));
    SHOW("read into buf|1<<48", syscall(SYS_read, fds[0], b | 1UL << 48, 5));
    SHOW("read into the kernel half", syscall(SYS_read, fds[0], KERNEL_HALF, 5));
    SHOW("read into buf", syscall(SYS_read, fds[0], buf, sizeof buf));
    struct timespec ts = {0, 0};
    SHOW("clock_gettime into |1<<48",
         syscall(SYS_clock_gettime, CLOCK_REALTIME, (unsigned long)&ts | 1UL << 48));
    printf("timespec untouched: %d\n", ts.tv_sec == 0);
    char name[400] = {0};
    SHOW("uname into |1<<48", syscall(SYS_uname, (unsigned long)name | 1UL << 48));
    SHOW("getcwd into |1<<48", syscall(SYS_getcwd, (unsigned long)name | 1UL << 48, sizeof name));
    printf("buffer untouched: %d\n", name[0] == 0);
    unsigned int word = 0;
    SHOW("futex wake at |1<<48",
         syscall(SYS_futex, (unsigned long)&word | 1UL << 48, 1 /* FUTEX_WAKE */, 1, 0, 0, 0));
    SHOW("open of a path at |1<<48", syscall(SYS_open, (unsigned long)"/" | 1UL << 48, 0));
    close(fds[0]);
    close(fds[1]);
}

static void shmat_ranges(void)
{
    int id = shmget(IPC_PRIVATE, 2 * PAGE, IPC_CREAT | 0600);
    printf("shmget: %s\n", id >= 0 ? "ok" : errname(errno));
    show_map("shmat kernel half", syscall(SYS_shmat, id, KERNEL_HALF, 0));
    show_map("shmat non-canonical", syscall(SYS_shmat, id, NONCANONICAL, 0));
    show_map("shmat the top page", syscall(SYS_shmat, id, TOP_PAGE, 0));
    show_map("shmat across the top", syscall(SYS_shmat, id, TOP_PAGE - PAGE, 0));
    show_map("shmat wrapping past 2^64", syscall(SYS_shmat, id, -PAGE, 0));
    show_map("shmat unaligned", syscall(SYS_shmat, id, FREE_AREA + 1, 0));
    show_map("shmat SHM_RND in the kernel half", syscall(SYS_shmat, id, KERNEL_HALF + 1, SHM_RND));
    show_map("shmat SHM_RND|SHM_REMAP at the top page",
             syscall(SYS_shmat, id, TOP_PAGE + 1, SHM_RND | SHM_REMAP));
    show_map("shmat SHM_REMAP without an address", syscall(SYS_shmat, id, 0, SHM_REMAP));
    long at = syscall(SYS_shmat, id, FREE_AREA + 1, SHM_RND);
    printf("shmat SHM_RND: %s\n", at == (long)FREE_AREA ? "rounded down" : errname(errno));
    SHOW("shmdt kernel half", syscall(SYS_shmdt, KERNEL_HALF));
    SHOW("shmdt non-canonical alias", syscall(SYS_shmdt, FREE_AREA | 1UL << 48));
    SHOW("shmdt", syscall(SYS_shmdt, FREE_AREA));
    SHOW("shmget size -1", syscall(SYS_shmget, IPC_PRIVATE, -1L, IPC_CREAT | 0600));
    SHOW("shmget size 2^63", syscall(SYS_shmget, IPC_PRIVATE, 1UL << 63, IPC_CREAT | 0600));
    SHOW("shmget size 2^46", syscall(SYS_shmget, IPC_PRIVATE, 1UL << 46, IPC_CREAT | 0600));
    SHOW("IPC_RMID", shmctl(id, IPC_RMID, NULL));
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (section("munmap"))
        munmap_ranges();
    if (section("random"))
        random_ranges();
    if (section("mmap"))
        mmap_ranges();
    if (section("mprotect"))
        mprotect_ranges();
    if (section("mremap"))
        mremap_ranges();
    if (section("advice"))
        advice_ranges();
    if (section("mlock"))
        mlock_ranges();
    if (section("brk"))
        brk_ranges();
    if (section("pointers"))
        pointer_ranges();
    if (section("shmat"))
        shmat_ranges();
    return 0;
}
