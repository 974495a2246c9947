/* syscalls.c — checks basic Linux syscalls via raw syscall(): results and errno values, one line per check. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define KSA_RESTORER 0x04000000UL

#define MiB (1024L * 1024L)
#define BAD_PTR ((void *)8) /* in the never-mapped first page */

/* Names instead of strerror(): strerror text depends on the locale. */
static const char *errno_name(int e)
{
    static const struct { int num; const char *name; } table[] = {
        {EPERM, "EPERM"},   {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"},   {EINTR, "EINTR"},
        {EIO, "EIO"},       {E2BIG, "E2BIG"},   {ENOEXEC, "ENOEXEC"}, {EBADF, "EBADF"},
        {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EFAULT, "EFAULT"},
        {EBUSY, "EBUSY"},   {EEXIST, "EEXIST"}, {ENODEV, "ENODEV"}, {EINVAL, "EINVAL"},
        {ENFILE, "ENFILE"}, {EMFILE, "EMFILE"}, {ENOTTY, "ENOTTY"}, {ESPIPE, "ESPIPE"},
        {EPIPE, "EPIPE"},   {ERANGE, "ERANGE"}, {ENOSYS, "ENOSYS"}, {EOPNOTSUPP, "EOPNOTSUPP"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].num == e)
            return table[i].name;
    return "E?";
}

/* For checks expected to fail: "name: -1 ENAME" (or the unexpected return value). */
static void report_err(const char *name, long ret)
{
    if (ret == -1)
        printf("%s: -1 %s\n", name, errno_name(errno));
    else
        printf("%s: %ld (expected an error)\n", name, ret);
}

static void report_ok(const char *name, int ok)
{
    printf("%s: %s\n", name, ok ? "ok" : "FAIL");
}

static void report_ret(const char *name, long ret)
{
    if (ret == -1)
        printf("%s: -1 %s\n", name, errno_name(errno));
    else
        printf("%s: %ld\n", name, ret);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* The kernel's struct sigaction for rt_sigaction (not glibc's). */
struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

static void on_usr1(int sig) { (void)sig; }
static void restorer_stub(void) {}

int main(void)
{
    long r;

    /* write */
    report_err("write_efault", syscall(SYS_write, 1, BAD_PTR, 10));
    report_err("write_ebadf", syscall(SYS_write, 99, "x", 1));

    /* uname */
    struct utsname u;
    r = syscall(SYS_uname, &u);
    printf("uname: %ld sysname=%s\n", r, r == 0 ? u.sysname : "?");
    report_err("uname_efault", syscall(SYS_uname, BAD_PTR));

    /* ids */
    report_ok("getpid_eq_gettid", syscall(SYS_getpid) == syscall(SYS_gettid));
    printf("uid==euid: %s\n", syscall(SYS_getuid) == syscall(SYS_geteuid) ? "yes" : "no");
    printf("gid==egid: %s\n", syscall(SYS_getgid) == syscall(SYS_getegid) ? "yes" : "no");

    /* brk */
    long cur = syscall(SYS_brk, 0);
    report_ok("brk0_nonzero", cur != 0);
    long grown = syscall(SYS_brk, cur + MiB);
    report_ok("brk_grow_1mib", grown == cur + MiB);
    if (grown == cur + MiB) {
        unsigned char *p = (unsigned char *)cur;
        report_ok("brk_grow_zeroed", all_zero(p, MiB));
        memset(p, 0xa5, MiB);
        report_ok("brk_grow_writable", p[0] == 0xa5 && p[MiB - 1] == 0xa5);
        report_ok("brk_shrink_back", syscall(SYS_brk, cur) == cur);
    }

    /* mmap / munmap */
    unsigned char *m = (unsigned char *)syscall(SYS_mmap, 0, MiB, PROT_READ | PROT_WRITE,
                                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report_ok("mmap_anon_1mib", m != MAP_FAILED);
    if (m != MAP_FAILED) {
        report_ok("mmap_anon_zeroed", all_zero(m, MiB));
        memset(m, 0x5a, MiB);
        report_ok("mmap_anon_writable", m[0] == 0x5a && m[MiB - 1] == 0x5a);
        report_err("mmap_fixed_noreplace", syscall(SYS_mmap, m + 4096, 4096, PROT_READ,
                                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
        report_ok("mmap_fixed_noreplace_kept", m[4096] == 0x5a);

        /* mprotect: read-only, then back to read-write */
        report_ret("mprotect_ro", syscall(SYS_mprotect, m, 4096, PROT_READ));
        report_ok("mprotect_ro_readable", m[0] == 0x5a);
        report_ret("mprotect_rw", syscall(SYS_mprotect, m, 4096, PROT_READ | PROT_WRITE));
        m[0] = 0x11;
        report_ok("mprotect_rw_writable", m[0] == 0x11);

        /* madvise(MADV_DONTNEED) drops the private anonymous pages: they read back zero */
        report_ret("madvise_dontneed", syscall(SYS_madvise, m + 8192, 8192, MADV_DONTNEED));
        report_ok("madvise_dontneed_zeroed", all_zero(m + 8192, 8192));
        report_ok("madvise_neighbour_kept", m[8191] == 0x5a && m[16384] == 0x5a);

        report_ret("munmap", syscall(SYS_munmap, m, MiB));
    }
    report_err("mmap_bad_flags", syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0));
    report_err("mmap_len0", syscall(SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));

    /* clocks */
    struct timespec t1, t2;
    long r1 = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t1);
    long r2 = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t2);
    report_ok("clock_monotonic", r1 == 0 && r2 == 0 &&
              (t2.tv_sec > t1.tv_sec || (t2.tv_sec == t1.tv_sec && t2.tv_nsec >= t1.tv_nsec)));
    report_err("clock_gettime_efault", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD_PTR));

    struct timeval tv;
    r1 = syscall(SYS_gettimeofday, &tv, NULL);
    long now = syscall(SYS_time, NULL);
    long diff = now - (long)tv.tv_sec;
    report_ok("gettimeofday_vs_time", r1 == 0 && diff >= -2 && diff <= 2);

    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    int64_t before = mono_ns();
    report_ret("nanosleep_10ms", syscall(SYS_nanosleep, &ten_ms, NULL));
    report_ok("nanosleep_elapsed", mono_ns() - before >= 10 * 1000 * 1000);

    /* getrandom, getrlimit */
    unsigned char rnd[16];
    report_ret("getrandom_16", syscall(SYS_getrandom, rnd, sizeof rnd, 0));
    struct rlimit rl;
    report_ret("getrlimit_stack", syscall(SYS_getrlimit, RLIMIT_STACK, &rl));

    /* signals */
    struct ksigaction act = {on_usr1, SA_RESTART | KSA_RESTORER, restorer_stub, 0}, old;
    report_ret("rt_sigaction_install", syscall(SYS_rt_sigaction, SIGUSR1, &act, NULL, 8));
    memset(&old, 0, sizeof old);
    r = syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 8);
    report_ok("rt_sigaction_readback", r == 0 && old.handler == on_usr1);

    uint64_t set = 1ULL << (SIGUSR1 - 1), oldset = 0;
    report_ret("rt_sigprocmask_block", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 8));
    r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &oldset, 8);
    report_ok("rt_sigprocmask_readback", r == 0 && (oldset & set) != 0);

    /* unknown syscall */
    report_err("syscall_1000", syscall(1000));
    return 0;
}
