/* calls2.c — newer calls: openat2 (struct open_how's size and flag checks, RESOLVE_NO_SYMLINKS, NO_MAGICLINKS, NO_XDEV, BENEATH, IN_ROOT), epoll_pwait2 (timespec timeouts, a signal mask), membarrier (query, registration, barriers) and futex_waitv (checks, a timeout, a wake of one of two futexes) (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

struct how {
    uint64_t flags, mode, resolve;
};

#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

static long openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct how how = {flags, mode, resolve};
    return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* "LABEL: ok 'first bytes'" for an fd, else the error; the fd is closed. */
static void opened(const char *label, long fd)
{
    int e = errno;
    if (fd < 0) {
        printf("%s: -1 %s\n", label, errname(e));
        return;
    }
    char buf[16] = {0};
    ssize_t n = read(fd, buf, 5);
    printf("%s: ok '%s'\n", label, n > 0 ? buf : "");
    close(fd);
}

static void open_how_checks(void)
{
    unsigned char big[4200] = {0};
    struct how *how = (struct how *)big;
    SHOW("openat2 size 0", syscall(SYS_openat2, AT_FDCWD, "f", how, 0));
    SHOW("openat2 size 23", syscall(SYS_openat2, AT_FDCWD, "f", how, 23));
    SHOW("openat2 size 4097", syscall(SYS_openat2, AT_FDCWD, "f", how, 4097));
    big[30] = 1;
    SHOW("openat2 an unknown nonzero byte", syscall(SYS_openat2, AT_FDCWD, "f", how, 32));
    big[30] = 0;
    opened("openat2 size 32, zeros past open_how", syscall(SYS_openat2, AT_FDCWD, "f", how, 32));
    SHOW("openat2 unreadable open_how", syscall(SYS_openat2, AT_FDCWD, "f", (void *)8, 24));
    SHOW("openat2 an unknown flag", openat2(AT_FDCWD, "f", 1ULL << 40, 0, 0));
    SHOW("openat2 a mode without O_CREAT", openat2(AT_FDCWD, "f", O_RDONLY, 0644, 0));
    SHOW("openat2 mode 010000", openat2(AT_FDCWD, "g", O_CREAT | O_WRONLY, 010000, 0));
    SHOW("openat2 an unknown resolve flag", openat2(AT_FDCWD, "f", O_RDONLY, 0, 0x40));
    SHOW("openat2 BENEATH and IN_ROOT",
         openat2(AT_FDCWD, "f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
    SHOW("openat2 O_PATH with O_RDWR", openat2(AT_FDCWD, "f", O_PATH | O_RDWR, 0, 0));
    SHOW("openat2 O_CREAT with O_DIRECTORY",
         openat2(AT_FDCWD, "g", O_CREAT | O_DIRECTORY | O_RDONLY, 0600, 0));
    SHOW("openat2 RESOLVE_CACHED with O_CREAT",
         openat2(AT_FDCWD, "g", O_CREAT | O_WRONLY, 0600, RESOLVE_CACHED));
    long fd = openat2(AT_FDCWD, "made", O_CREAT | O_EXCL | O_WRONLY, 0640, 0);
    struct stat st;
    stat("made", &st);
    printf("openat2 O_CREAT mode 0640: %s, mode %o\n", fd >= 0 ? "ok" : errname(errno),
           st.st_mode & 07777);
    close(fd);
}

static void resolving(void)
{
    int sub = open("sub", O_PATH | O_DIRECTORY);
    opened("NO_SYMLINKS on a file", openat2(AT_FDCWD, "sub/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    opened("NO_SYMLINKS through a link", openat2(AT_FDCWD, "link", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    opened("NO_SYMLINKS through a directory link",
           openat2(AT_FDCWD, "dirlink/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    opened("NO_SYMLINKS O_CREAT through a link",
           openat2(AT_FDCWD, "dangling", O_CREAT | O_WRONLY, 0600, RESOLVE_NO_SYMLINKS));
    opened("NO_MAGICLINKS /proc/self/status",
           openat2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    opened("NO_MAGICLINKS /proc/self/exe",
           openat2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", sub);
    opened("NO_MAGICLINKS /proc/self/fd of sub",
           openat2(AT_FDCWD, fdpath, O_RDONLY | O_DIRECTORY, 0, RESOLVE_NO_MAGICLINKS));
    opened("no limits: /proc/self/exe", openat2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, 0));
    int root = open("/", O_PATH | O_DIRECTORY);
    opened("NO_XDEV into /proc", openat2(root, "proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV));
    opened("NO_XDEV within a directory", openat2(sub, "f", O_RDONLY, 0, RESOLVE_NO_XDEV));
    close(root);
    opened("BENEATH sub/f", openat2(AT_FDCWD, "sub/f", O_RDONLY, 0, RESOLVE_BENEATH));
    opened("BENEATH sub/../sub/f", openat2(AT_FDCWD, "sub/../sub/f", O_RDONLY, 0, RESOLVE_BENEATH));
    opened("BENEATH ../", openat2(sub, "../f", O_RDONLY, 0, RESOLVE_BENEATH));
    opened("BENEATH an absolute path", openat2(sub, "/etc/passwd", O_RDONLY, 0, RESOLVE_BENEATH));
    opened("BENEATH a relative link", openat2(AT_FDCWD, "link", O_RDONLY, 0, RESOLVE_BENEATH));
    opened("BENEATH an absolute link", openat2(AT_FDCWD, "abs", O_RDONLY, 0, RESOLVE_BENEATH));
    opened("BENEATH a link out", openat2(sub, "out", O_RDONLY, 0, RESOLVE_BENEATH));
    opened("IN_ROOT /f", openat2(sub, "/f", O_RDONLY, 0, RESOLVE_IN_ROOT));
    opened("IN_ROOT ../../f", openat2(sub, "../../f", O_RDONLY, 0, RESOLVE_IN_ROOT));
    opened("IN_ROOT a link to /f", openat2(sub, "rooted", O_RDONLY, 0, RESOLVE_IN_ROOT));
    opened("no limits: a link to /f", openat2(sub, "rooted", O_RDONLY, 0, 0));
    close(sub);
}

static void make_tree(void)
{
    char path[512];
    mkdir("sub", 0755);
    int fd = open("sub/f", O_CREAT | O_WRONLY, 0644);
    write(fd, "inner", 5);
    close(fd);
    fd = open("f", O_CREAT | O_WRONLY, 0644);
    write(fd, "outer", 5);
    close(fd);
    symlink("sub/f", "link");
    symlink("sub", "dirlink");
    symlink("nowhere", "dangling");
    snprintf(path, sizeof path, "%s/sub/f", testdir_path);
    symlink(path, "abs");
    symlink("../f", "sub/out");
    symlink("/f", "sub/rooted");
}

static void epoll_pwait2_checks(void)
{
    int ep = epoll_create1(0), p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct timespec zero = {0, 0}, short_wait = {0, 20 * 1000 * 1000}, bad = {0, 1000000000};
    SHOW("epoll_pwait2 nothing ready, zero timeout",
         syscall(SYS_epoll_pwait2, ep, out, 4, &zero, NULL, 8));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long n = syscall(SYS_epoll_pwait2, ep, out, 4, &short_wait, NULL, 8);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("epoll_pwait2 20 ms: %ld, waited at least 15 ms: %d\n", n, ms >= 15);
    SHOW("epoll_pwait2 tv_nsec 1e9", syscall(SYS_epoll_pwait2, ep, out, 4, &bad, NULL, 8));
    SHOW("epoll_pwait2 unreadable timeout", syscall(SYS_epoll_pwait2, ep, out, 4, (void *)8, NULL, 8));
    sigset_t mask;
    sigemptyset(&mask);
    SHOW("epoll_pwait2 sigsetsize 4", syscall(SYS_epoll_pwait2, ep, out, 4, &zero, &mask, 4));
    SHOW("epoll_pwait2 maxevents 0", syscall(SYS_epoll_pwait2, ep, out, 0, &zero, NULL, 8));
    write(p[1], "x", 1);
    n = syscall(SYS_epoll_pwait2, ep, out, 4, NULL, &mask, 8);
    printf("epoll_pwait2 no timeout, one ready: %ld, data %u\n", n, out[0].data.u32);
    close(ep);
}

struct waitv {
    uint64_t val, uaddr;
    uint32_t flags, reserved;
};

static uint32_t futexes[2];
static struct waitv vector[2];

static long futex_waitv(struct waitv *v, unsigned n, unsigned flags, struct timespec *t, int clock)
{
    return syscall(SYS_futex_waitv, v, n, flags, t, clock);
}

static void *vector_waiter(void *arg)
{
    (void)arg;
    return (void *)futex_waitv(vector, 2, 0, NULL, CLOCK_MONOTONIC);
}

static void futex_waitv_checks(void)
{
    struct timespec soon;
    for (int i = 0; i < 2; i++)
        vector[i] = (struct waitv){.val = 0, .uaddr = (uintptr_t)&futexes[i],
                                   .flags = 2 | 128};  /* FUTEX2_SIZE_U32 | FUTEX2_PRIVATE */
    SHOW("futex_waitv flags 1", futex_waitv(vector, 2, 1, NULL, 0));
    SHOW("futex_waitv of none", futex_waitv(vector, 0, 0, NULL, 0));
    SHOW("futex_waitv of 129", futex_waitv(vector, 129, 0, NULL, 0));
    SHOW("futex_waitv NULL", futex_waitv(NULL, 1, 0, NULL, 0));
    clock_gettime(CLOCK_MONOTONIC, &soon);
    SHOW("futex_waitv clock 5", futex_waitv(vector, 2, 0, &soon, 5));
    vector[1].flags = 128;
    SHOW("futex_waitv an entry without a size", futex_waitv(vector, 2, 0, NULL, 0));
    vector[1].flags = 2 | 128;
    vector[1].uaddr += 1;
    SHOW("futex_waitv a misaligned futex", futex_waitv(vector, 2, 0, NULL, 0));
    vector[1].uaddr -= 1;
    futexes[1] = 5;
    SHOW("futex_waitv a changed value", futex_waitv(vector, 2, 0, NULL, 0));
    futexes[1] = 0;
    clock_gettime(CLOCK_MONOTONIC, &soon);
    soon.tv_nsec += 20 * 1000 * 1000;
    if (soon.tv_nsec >= 1000000000) {
        soon.tv_sec++;
        soon.tv_nsec -= 1000000000;
    }
    SHOW("futex_waitv until 20 ms from now", futex_waitv(vector, 2, 0, &soon, CLOCK_MONOTONIC));
    pthread_t th;
    pthread_create(&th, NULL, vector_waiter, NULL);
    long woken = 0;
    for (int i = 0; i < 500 && woken == 0; i++) {  /* until it sleeps and this wakes it */
        usleep(2000);
        woken = syscall(SYS_futex, &futexes[1], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    void *index;
    pthread_join(th, &index);
    printf("futex_waitv woken by a FUTEX_WAKE of the second: wake %ld, index %ld\n", woken,
           (long)index);
}

static void membarrier_checks(void)
{
    long mask = syscall(SYS_membarrier, 0, 0, 0);
    printf("membarrier query lists PRIVATE_EXPEDITED and its registration: %d\n",
           mask >= 0 && (mask & 0x18) == 0x18);
    SHOW("membarrier query with flags", syscall(SYS_membarrier, 0, 1, 0));
    SHOW("membarrier an unknown command", syscall(SYS_membarrier, 1 << 20, 0, 0));
    SHOW("membarrier two commands at once", syscall(SYS_membarrier, 8 | 16, 0, 0));
    SHOW("membarrier PRIVATE_EXPEDITED unregistered", syscall(SYS_membarrier, 8, 0, 0));
    SHOW("membarrier GET_REGISTRATIONS", syscall(SYS_membarrier, 512, 0, 0));
    SHOW("membarrier REGISTER_PRIVATE_EXPEDITED", syscall(SYS_membarrier, 16, 0, 0));
    SHOW("membarrier PRIVATE_EXPEDITED", syscall(SYS_membarrier, 8, 0, 0));
    SHOW("membarrier GET_REGISTRATIONS", syscall(SYS_membarrier, 512, 0, 0));
    SHOW("membarrier GLOBAL_EXPEDITED", syscall(SYS_membarrier, 2, 0, 0));
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    testdir_enter("calls2");
    make_tree();
    if (section("open_how"))
        open_how_checks();
    if (section("resolve"))
        resolving();
    if (section("epoll_pwait2"))
        epoll_pwait2_checks();
    if (section("membarrier"))
        membarrier_checks();
    if (section("futex_waitv"))
        futex_waitv_checks();
    testdir_leave();
    return 0;
}
