/* vdso.c — linux-vdso.so.1 of the guest: the time calls that need no system call.
 *
 * Linux maps a small shared object into every process and names it in the auxiliary
 * vector (AT_SYSINFO_EHDR); glibc, static or dynamic, looks up these symbols in it
 * (version LINUX_2.6) and calls them instead of making the system call. Here, as there,
 * the time is the CPU's time-stamp counter scaled by the kernel's figures:
 *
 *     ns = base[clock] + ((rdtsc() - tsc_base) * mult) >> shift
 *
 * read from the [vvar] page the kernel maps just below the image (read-only to the
 * guest; cloudos/linux/vdso.py writes it under a sequence count, odd while it writes).
 * A clock the page does not carry (the CPU-time clocks, MONOTONIC_RAW, the alarm
 * clocks) and a page in mode 0 (the host's clock is not the TSC) make the system call,
 * as Linux's vDSO does when its clock mode is "none".
 *
 * Built by setuptools (pyproject.toml) without libc, with vdso.lds: no relocations,
 * one read+execute segment holding the code and the dynamic section.
 */
#include <stdint.h>

enum { CLOCKS = 12, PAGE = 4096 };
enum { NR_GETTIMEOFDAY = 96, NR_TIME = 201, NR_CLOCK_GETTIME = 228, NR_CLOCK_GETRES = 229,
       NR_GETCPU = 309 };

struct vvar {                /* vdso.py's VVAR struct */
    volatile uint32_t seq;   /* odd while the kernel writes */
    uint32_t mode;           /* 1: the TSC counts time; 0: every call is a system call */
    uint64_t tsc_base;
    uint64_t mult;
    uint32_t shift;
    uint32_t unused;
    int64_t base_ns[CLOCKS]; /* each clock at tsc_base; -1: the kernel answers */
};

struct kernel_timespec { int64_t tv_sec, tv_nsec; };
struct kernel_timeval { int64_t tv_sec, tv_usec; };
struct kernel_timezone { int32_t minuteswest, dsttime; };

extern const char __ehdr_start[] __attribute__((visibility("hidden")));

static const struct vvar *vvar(void)
{
    uintptr_t image = (uintptr_t)__ehdr_start;
    __asm__("" : "+r"(image));  /* an address, not an array the compiler bounds */
    return (const struct vvar *)(image - PAGE);
}

static long syscall2(long number, long a, long b)
{
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b)
                     : "rcx", "r11", "memory");
    return result;
}

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* The clock in ns into *ns, or 0 when the kernel must answer. */
static int read_clock(uint32_t clock, int64_t *ns)
{
    const struct vvar *v = vvar();
    uint32_t seq;
    int64_t value;
    if (clock >= CLOCKS)
        return 0;
    do {
        while ((seq = v->seq) & 1)
            __asm__ volatile("pause");
        __asm__ volatile("" ::: "memory");
        if (!v->mode || v->base_ns[clock] < 0)
            return 0;
        value = v->base_ns[clock]
                + (int64_t)(((unsigned __int128)(rdtsc() - v->tsc_base) * v->mult) >> v->shift);
        __asm__ volatile("" ::: "memory");
    } while (seq != v->seq);
    *ns = value;
    return 1;
}

int __vdso_clock_gettime(int clock, struct kernel_timespec *ts)
{
    int64_t ns;
    if (!read_clock((uint32_t)clock, &ns))
        return (int)syscall2(NR_CLOCK_GETTIME, clock, (long)ts);
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
    return 0;
}

int __vdso_gettimeofday(struct kernel_timeval *tv, struct kernel_timezone *tz)
{
    int64_t ns;
    if (!read_clock(0, &ns))
        return (int)syscall2(NR_GETTIMEOFDAY, (long)tv, (long)tz);
    if (tv) {
        tv->tv_sec = ns / 1000000000;
        tv->tv_usec = ns % 1000000000 / 1000;
    }
    if (tz)
        tz->minuteswest = tz->dsttime = 0;
    return 0;
}

long __vdso_time(long *t)
{
    int64_t ns;
    if (!read_clock(0, &ns))
        return syscall2(NR_TIME, (long)t, 0);
    if (t)
        *t = ns / 1000000000;
    return ns / 1000000000;
}

int __vdso_clock_getres(int clock, struct kernel_timespec *res)
{
    return (int)syscall2(NR_CLOCK_GETRES, clock, (long)res);
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
    (void)unused;
    return syscall2(NR_GETCPU, (long)cpu, (long)node);
}

int clock_gettime(int, struct kernel_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct kernel_timeval *, struct kernel_timezone *)
    __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct kernel_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
