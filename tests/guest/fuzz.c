/* fuzz.c — a seeded, reproducible random-syscall fuzzer (issue 11).
 *
 * Usage: fuzz SEED CHILDREN CALLS [ONLY_NR]
 *   SEED      any 64-bit number; the same SEED gives the same calls with the same arguments.
 *   CHILDREN  N (children 0..N-1) or A:B (children A..B-1 only, to replay one child).
 *   CALLS     system calls each child issues.
 *   ONLY_NR   issue only this number; the arguments are still drawn as without it, so
 *             call I of child K gets the same arguments (for minimising a failure).
 * Environment: FUZZ_TRACE=1 prints each call on stderr before it is issued, and how each
 * child ended (FUZZ_TRACE=2: prints the calls without issuing them); FUZZ_FROM=I draws
 * calls 0..I-1 as usual but issues only calls I and on.
 *
 * The parent forks the children one after another, so the campaign goes on after a child
 * dies. Child K draws from a PRNG seeded with (SEED, K): a number from 0-462, sometimes
 * one out of range (-1, 463, 1000, the x32 bit 0x40000000+n) or CloudOS's native calls
 * (600-612), and six arguments from a hostile pool (0, 1, small ints, -1, huge values,
 * INT_MIN/INT_MAX, 1<<48, a valid writable buffer and a pointer straddling its end and a
 * guard page, read-only text (&main), NULL, an unmapped address, the kernel half, unaligned
 * pointers, the child's own file descriptors). Calls are issued with an inline `syscall`.
 * A periodic SIGALRM (10 ms, handler without SA_RESTART) breaks blocking calls with EINTR.
 *
 * Watchdog: the child stores its call count in a page shared with the parent; the parent
 * SIGKILLs a child (and its process group) whose count has not moved for STALL_MS, or
 * that has run CHILD_MAX_MS in all: counted as hung.
 * Output: `fuzz: seed S, N children, M calls issued, K children killed by signal, H hung`
 * (K does not include the children the watchdog killed).
 *
 * What is skipped or tamed, and why (everything else is issued as drawn; a child that
 * kills itself with munmap, rt_sigreturn, seccomp, ... just dies):
 *   exit (60), exit_group (231)   end the child and nothing else; drawn again.
 *   reboot (169)                  would end the campaign (and the host if root); drawn again.
 *   kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, ptrace, process_vm_readv/
 *   writev, prlimit64, sched_set{param,scheduler,affinity,attr}, migrate_pages, move_pages,
 *   pidfd_open: the pid/tid argument is replaced by the child's own, or one that does not
 *   exist (never <= 1, never the parent or its group): on Linux a random pid may be any
 *   process of the user, and the parent is init under CloudOS.
 *   setpriority, ioprio_set: "which" is forced to one process (PRIO_USER would renice
 *   every process of the user on the host).
 *   fork, vfork, clone, clone3: issued; the new task (return value 0) exits at once from
 *   the inline assembly without touching its stack, which may be the parent's.
 *
 * Host safety when run natively: every child runs in its own process group in a fresh
 * directory under $TMPDIR (or /tmp; removed at the end, symbolic links not followed) with stdin/stdout/stderr on /dev/null, RLIMIT_AS
 * 1 GiB, RLIMIT_FSIZE 16 MiB and RLIMIT_CORE 0 (hard limits too), and the program refuses
 * to run as root outside CloudOS (a root fuzzer can set the clock, mount, load modules).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#define NR_LAST 462
#define PAGE 4096
#define BUF_PAGES 4
#define STALL_MS 3000
#define CHILD_MAX_MS 120000
#define TICK_US 10000
#define TRACE_FD 900

/* The syscall numbers tamed above (x86_64). */
enum {
    NR_CLONE = 56, NR_FORK = 57, NR_VFORK = 58, NR_EXIT = 60, NR_KILL = 62,
    NR_PTRACE = 101, NR_RT_SIGQUEUEINFO = 129, NR_SETPRIORITY = 141, NR_SCHED_SETPARAM = 142,
    NR_SCHED_SETSCHEDULER = 144, NR_REBOOT = 169, NR_TKILL = 200, NR_SCHED_SETAFFINITY = 203,
    NR_EXIT_GROUP = 231, NR_TGKILL = 234, NR_IOPRIO_SET = 251, NR_MIGRATE_PAGES = 256,
    NR_MOVE_PAGES = 279, NR_RT_TGSIGQUEUEINFO = 297, NR_PRLIMIT64 = 302,
    NR_PROCESS_VM_READV = 310, NR_PROCESS_VM_WRITEV = 311, NR_SCHED_SETATTR = 314,
    NR_PIDFD_OPEN = 434, NR_CLONE3 = 435,
};
#define X32_BIT 0x40000000L

/* -- PRNG: splitmix64, one stream per child ------------------------------------------- */
static uint64_t rng;

static uint64_t next(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return next() % n; }

/* -- The child's world: its buffer, addresses and file descriptors -------------------- */
static unsigned char *buf;      /* BUF_PAGES writable pages, then one PROT_NONE guard page */
static uintptr_t unmapped;      /* a page that was mapped and then unmapped */
static int fds[8];
static int nfds;
static int trace;
int main(int argc, char **argv);
static volatile uint64_t *progress; /* shared with the parent: calls issued so far */

static uint64_t pointer_arg(void)
{
    switch (below(10)) {
    case 0: return (uint64_t)(uintptr_t)buf;                         /* a path string */
    case 1: return (uint64_t)(uintptr_t)buf + 64 * below(3);         /* the other paths */
    case 2: return (uint64_t)(uintptr_t)buf + 8 * below(BUF_PAGES * PAGE / 8);
    case 3: return (uint64_t)(uintptr_t)buf + BUF_PAGES * PAGE - 1 - below(64); /* to guard */
    case 4: return (uint64_t)(uintptr_t)buf + 1 + 2 * below(PAGE);  /* unaligned */
    case 5: return (uint64_t)(uintptr_t)&main + below(64);          /* read-only text */
    case 6: return 0;
    case 7: return unmapped + below(PAGE);
    case 8: return 0xffff800000000000ULL + PAGE * below(1 << 20) + below(2) * below(PAGE);
    default: return 0x7ffffffff000ULL - below(2) * PAGE;            /* the top of user space */
    }
}

static uint64_t hostile_arg(void)
{
    static const uint64_t huge[] = {
        0xffffffffULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xffffffffffffULL,
        0xfffffffffffff000ULL, 0x100000000ULL, 1ULL << 47, 1ULL << 48, 1ULL << 63,
    };
    switch (below(20)) {
    case 0: return 0;
    case 1: return 1;
    case 2: case 3: return below(17);
    case 4: return below(4097);
    case 5: return (uint64_t)-1;
    case 6: return huge[below(sizeof huge / sizeof huge[0])];
    case 7: return below(2) ? (uint64_t)(int64_t)INT_MIN : (uint64_t)INT_MIN;
    case 8: return INT_MAX;
    case 9: return 1ULL << 48;
    case 10: case 11: case 12: return pointer_arg();
    case 13: return (uint64_t)-(int64_t)(1 + below(4096));          /* AT_FDCWD is -100 */
    case 14: case 15: return (uint64_t)fds[below(nfds)];
    case 16: return 1ULL << below(64);
    case 17: return next() & 0xffffffff;
    case 18: return PAGE * (1 + below(256));
    default: return next();
    }
}

static long draw_number(void)
{
    for (;;) {
        uint64_t r = below(1000);
        long nr;
        if (r < 960)
            nr = (long)below(NR_LAST + 1);
        else if (r < 975)
            nr = 600 + (long)below(13);
        else {
            static const long odd[] = { -1, NR_LAST + 1, 1000, 0x7fffffff };
            nr = r < 985 ? X32_BIT + (long)below(NR_LAST + 1) : odd[below(4)];
        }
        if (nr != NR_EXIT && nr != NR_EXIT_GROUP && nr != NR_REBOOT)
            return nr;
    }
}

/* A pid a child may target: itself, or one that cannot exist. */
static uint64_t safe_pid(uint64_t r)
{
    switch (r % 4) {
    case 0: case 1: return (uint64_t)getpid();
    case 2: return INT_MAX;
    default: return 0x3fffffff;
    }
}

static void tame(long nr, uint64_t a[6], uint64_t r)
{
    switch (nr & ~X32_BIT) {
    case NR_KILL: case NR_TKILL: case NR_RT_SIGQUEUEINFO: case NR_PRLIMIT64:
    case NR_SCHED_SETPARAM: case NR_SCHED_SETSCHEDULER: case NR_SCHED_SETAFFINITY:
    case NR_SCHED_SETATTR: case NR_MIGRATE_PAGES: case NR_MOVE_PAGES:
    case NR_PROCESS_VM_READV: case NR_PROCESS_VM_WRITEV: case NR_PIDFD_OPEN:
        a[0] = safe_pid(r);
        break;
    case NR_TGKILL: case NR_RT_TGSIGQUEUEINFO:
        a[0] = safe_pid(r);
        a[1] = safe_pid(r >> 8);
        break;
    case NR_PTRACE:
        a[1] = safe_pid(r);
        break;
    case NR_SETPRIORITY: case NR_IOPRIO_SET:
        a[0] = (nr & ~X32_BIT) == NR_SETPRIORITY ? 0 /* PRIO_PROCESS */ : 1 /* IOPRIO_WHO_PROCESS */;
        a[1] = r & 1 ? 0 : (uint64_t)getpid();
        break;
    }
}

static int forklike(long nr)
{
    long n = nr & ~X32_BIT;
    return n == NR_CLONE || n == NR_FORK || n == NR_VFORK || n == NR_CLONE3;
}

/* One raw system call. For the fork family the new task (RAX 0) exits at once, before
 * it touches a stack that may be its parent's (vfork, clone with CLONE_VM). */
static long issue(long nr, const uint64_t a[6])
{
    register uint64_t r10 __asm__("r10") = a[3];
    register uint64_t r8 __asm__("r8") = a[4];
    register uint64_t r9 __asm__("r9") = a[5];
    long ret;
    if (forklike(nr))
        __asm__ volatile("syscall\n\t"
                         "test %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         "mov $60, %%eax\n\t"
                         "xor %%edi, %%edi\n\t"
                         "syscall\n\t"
                         "ud2\n"
                         "1:"
                         : "=a"(ret)
                         : "0"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    else
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "0"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return ret;
}

/* -- Tracing without stdio (a child's stdio buffers would be copied by its forks) ----- */
static char *put_hex(char *p, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;
    *p++ = '0';
    *p++ = 'x';
    do { tmp[n++] = digits[v & 15]; v >>= 4; } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_dec(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static void trace_call(unsigned child, int i, long nr, const uint64_t a[6])
{
    char line[256], *p = line;
    memcpy(p, "fuzz: child ", 12); p += 12;
    p = put_dec(p, child);
    memcpy(p, " call ", 6); p += 6;
    p = put_dec(p, (uint64_t)i);
    memcpy(p, ": syscall(", 10); p += 10;
    p = nr < 0 ? (*p++ = '-', put_dec(p, (uint64_t)-nr)) : put_dec(p, (uint64_t)nr);
    for (int k = 0; k < 6; k++) {
        *p++ = ',';
        *p++ = ' ';
        p = put_hex(p, a[k]);
    }
    *p++ = ')';
    *p++ = '\n';
    /* The tick may interrupt the write; a call may have closed or clobbered TRACE_FD, which
     * the run cannot repair: the trace then just ends. */
    while (write(TRACE_FD, line, (size_t)(p - line)) < 0 && errno == EINTR)
        ;
}

/* -- Child set-up ---------------------------------------------------------------------- */
static void on_tick(int sig) { (void)sig; }

static void limit(int resource, rlim_t value)
{
    struct rlimit rl = { value, value };
    setrlimit(resource, &rl);
}

static void fill_buffer(void)
{
    static const char *const paths[] = { "fuzz.tmp", "fuzz.dir", "." };
    for (int i = 0; i < 3; i++)
        strcpy((char *)buf + 64 * i, paths[i]);
    for (size_t off = 192; off + 8 <= BUF_PAGES * PAGE; off += 8) {
        uint64_t v = below(4) ? below(4097) : hostile_arg();
        memcpy(buf + off, &v, 8);
    }
}

static void set_up_child(unsigned child)
{
    char dir[32];
    int fd, pair[2];
    setpgid(0, 0);
    if (trace && fcntl(2, F_DUPFD, TRACE_FD) != TRACE_FD)
        trace = 0;
    fd = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; i++)
        dup2(fd, i);
    if (fd > 2)
        close(fd);
    snprintf(dir, sizeof dir, "c%u", child);
    mkdir(dir, 0700);
    if (chdir(dir) != 0)
        _exit(3);
    mkdir("fuzz.dir", 0700);
    limit(RLIMIT_AS, 1UL << 30);
    limit(RLIMIT_FSIZE, 16UL << 20);
    limit(RLIMIT_CORE, 0);
    nfds = 0;
    fds[nfds++] = open("fuzz.tmp", O_RDWR | O_CREAT, 0600);
    if (pipe(pair) == 0) { fds[nfds++] = pair[0]; fds[nfds++] = pair[1]; }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0) { fds[nfds++] = pair[0]; fds[nfds++] = pair[1]; }
    fds[nfds++] = eventfd(0, 0);
    fds[nfds++] = open(".", O_RDONLY | O_DIRECTORY);
    fds[nfds++] = epoll_create1(0);

    buf = mmap(NULL, (BUF_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        _exit(3);
    mprotect(buf + BUF_PAGES * PAGE, PAGE, PROT_NONE);
    void *gone = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unmapped = (uintptr_t)gone;
    munmap(gone, PAGE);
    fill_buffer();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;  /* no SA_RESTART: a blocking call returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    struct itimerval tick = { { 0, TICK_US }, { 0, TICK_US } };
    if (trace != 2)  /* (nothing blocks when no call is issued) */
        setitimer(ITIMER_REAL, &tick, NULL);
}

static void run_child(uint64_t seed, unsigned child, int calls, long only_nr, int from)
{
    rng = seed ^ (0xd1b54a32d192ed03ULL * (child + 1));
    next();
    set_up_child(child);
    uint64_t issued = 0;
    for (int i = 0; i < calls; i++) {
        uint64_t a[6];
        long nr = draw_number();
        for (int k = 0; k < 6; k++)
            a[k] = hostile_arg();
        uint64_t r = next();
        if (only_nr >= -1)  /* -2 means "any number" */
            nr = only_nr;
        if (i < from)
            continue;
        tame(nr, a, r);
        if (trace)
            trace_call(child, i, nr, a);
        if (trace == 2)
            continue;
        *progress = ++issued;
        issue(nr, a);
    }
    _exit(0);
}

/* -- Parent: the campaign and its watchdog ----------------------------------------------- */
static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct outcome { int signalled, hung; };

static struct outcome watch(pid_t pid, int *status)
{
    struct outcome out = { 0, 0 };
    uint64_t seen = 0;
    long start = now_ms(), moved = start;
    for (;;) {
        int st;
        pid_t got = waitpid(-1, &st, WNOHANG | __WALL);  /* init also reaps orphans */
        if (got == pid) {
            *status = st;
            out.signalled = WIFSIGNALED(st) && !out.hung;
            return out;
        }
        if (got > 0)
            continue;
        long t = now_ms();
        if (*progress != seen) {
            seen = *progress;
            moved = t;
        }
        if (!out.hung && (t - moved > STALL_MS || t - start > CHILD_MAX_MS)) {
            out.hung = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        struct timespec nap = { 0, 5 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st; (void)type; (void)ftw;
    remove(path);
    return 0;
}

static int inside_cloudos(void)
{
    struct utsname u;
    return uname(&u) == 0 && strstr(u.release, "cloudos") != NULL;
}

static int parse_children(const char *s, unsigned *first, unsigned *end)
{
    char *rest;
    unsigned long a = strtoul(s, &rest, 0);
    if (*rest == '\0') {
        *first = 0;
        *end = (unsigned)a;
        return 1;
    }
    if (*rest != ':')
        return 0;
    *first = (unsigned)a;
    *end = (unsigned)strtoul(rest + 1, &rest, 0);
    return *rest == '\0' && *end >= *first;
}

int main(int argc, char **argv)
{
    unsigned first, end;
    if (argc < 4 || argc > 5 || !parse_children(argv[2], &first, &end)) {
        fprintf(stderr, "usage: fuzz SEED CHILDREN|FIRST:END CALLS [ONLY_NR]\n");
        return 2;
    }
    if (geteuid() == 0 && !inside_cloudos()) {
        fprintf(stderr, "fuzz: refusing to run as root outside CloudOS\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[1], NULL, 0);
    int calls = atoi(argv[3]);
    long only_nr = argc == 5 ? strtol(argv[4], NULL, 0) : -2;
    const char *trace_env = getenv("FUZZ_TRACE");
    trace = trace_env != NULL ? atoi(trace_env) : 0;
    const char *from_env = getenv("FUZZ_FROM");
    int from = from_env != NULL ? atoi(from_env) : 0;

    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL || chdir(dir) != 0) {
        perror("fuzz: work directory");
        return 2;
    }
    progress = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (progress == MAP_FAILED) {
        perror("fuzz: mmap");
        return 2;
    }
    uint64_t issued = 0;
    int signalled = 0, hung = 0;
    for (unsigned child = first; child < end; child++) {
        *progress = 0;
        if (trace)
            fprintf(stderr, "fuzz: child %u\n", child);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fuzz: fork");
            return 2;
        }
        if (pid == 0)
            run_child(seed, child, calls, only_nr, from);
        int status = 0;
        struct outcome out = watch(pid, &status);
        if (trace)
            fprintf(stderr, "fuzz: child %u: %llu calls, %s %d%s\n", child,
                    (unsigned long long)*progress, WIFSIGNALED(status) ? "signal" : "exit",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                    out.hung ? " (hung: killed by the watchdog)" : "");
        issued += *progress;
        signalled += out.signalled;
        hung += out.hung;
    }
    if (chdir("/") == 0)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("fuzz: seed %llu, %u children, %llu calls issued, %d children killed by signal, %d hung\n",
           (unsigned long long)seed, end - first, (unsigned long long)issued, signalled, hung);
    return 0;
}
