/* limits.c — resource limits as Linux enforces them: limits [SECTION] (nofile, fsize, as, cpu);
 * "tmpfs DIR" fills a tmpfs to ENOSPC (its size depends on the machine: not run natively);
 * "hostfile PATH" maps, then reads, a file larger than the machine. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"
#include "section.h"

static void nofile(void)
{
    struct rlimit lim = {16, 16};
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        printf("setrlimit: %s\n", errname(errno));
    int last = -1, err = 0;
    for (int i = 0; i < 64; i++) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            err = errno;
            break;
        }
        last = fd;
    }
    printf("open until failure: last fd %d, then %s\n", last, errname(err));
    SHOW("dup", dup(0));
    SHOW("dup2 to 16", dup2(0, 16));
    SHOW("dup2 to 15 (open)", dup2(0, 15));
    SHOW("F_DUPFD 16", fcntl(0, F_DUPFD, 16));
    SHOW("F_DUPFD 3 (all taken)", fcntl(0, F_DUPFD, 3));
    int fds[2] = {-1, -1};
    SHOW("pipe", pipe(fds));
    close(10);
    SHOW("pipe with one fd free", pipe(fds));
    SHOW("socketpair with one fd free", socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
    SHOW("open takes the free fd", open("/dev/null", O_RDONLY));
    close(10);
    close(11);
    SHOW("pipe after two closes", pipe(fds));
    printf("its fds: %d %d\n", fds[0], fds[1]);
    lim.rlim_cur = 8;  /* below open fds: they stay, new ones fail */
    setrlimit(RLIMIT_NOFILE, &lim);
    SHOW("limit 8 with 16 open: fstat 15", fstat(15, &(struct stat){0}));
    SHOW("limit 8 with 16 open: dup", dup(0));
    SHOW("limit 8: dup2 to 9", dup2(0, 9));
}

static void fsize(void)
{
    struct rlimit lim = {10000, 10000};
    char path[] = "/tmp/limits-fsize-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    static char buf[8192];
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        setrlimit(RLIMIT_FSIZE, &lim);
        write(fd, buf, 8192);
        write(fd, buf, 8192);  /* short: up to the limit */
        write(fd, buf, 8192);  /* SIGXFSZ */
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("past RLIMIT_FSIZE: %s %d, size %ld\n", WIFSIGNALED(st) ? "killed by" : "exited",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), (long)lseek(fd, 0, SEEK_END));
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    lseek(fd, 0, SEEK_SET);
    SHOW("write 8192 at 0", write(fd, buf, 8192));
    SHOW("write 8192 at 8192", write(fd, buf, 8192));
    SHOW("write at the limit", write(fd, buf, 8192));
    SHOW("pwrite beyond", pwrite(fd, buf, 10, 20000));
    SHOW("ftruncate beyond", ftruncate(fd, 20000));
    SHOW("ftruncate within", ftruncate(fd, 100));
    close(fd);
}

static void as(void)
{
    pid_t pid = fork();
    if (pid == 0) {  /* a child: the limit stays with it */
        struct rlimit lim = {256L << 20, 256L << 20};
        setrlimit(RLIMIT_AS, &lim);
        int flags = MAP_PRIVATE | MAP_ANONYMOUS;
        SHOW("mmap 512 MiB under 256 MiB RLIMIT_AS",
             (long)mmap(NULL, 512L << 20, PROT_READ | PROT_WRITE, flags, -1, 0));
        void *p = mmap(NULL, 1L << 20, PROT_READ | PROT_WRITE, flags, -1, 0);
        printf("mmap 1 MiB: %s\n", p == MAP_FAILED ? "failed" : "mapped");
        void *old = sbrk(0);
        SHOW("sbrk 512 MiB", sbrk(512L << 20) == (void *)-1 ? -1 : 0);
        printf("sbrk 1 MiB: %s\n", sbrk(1L << 20) == (void *)-1 ? "failed" : "moved");
        brk(old);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void heap(void)
{
    /* Beyond the 256 MiB the heap used to be capped at (within the default 1 GiB machine's RAM,
     * as Linux's overcommit wants): address space, barely touched. */
    char *start = sbrk(0);
    printf("sbrk 512 MiB: %s\n", sbrk(512L << 20) == (void *)-1 ? "failed" : "moved");
    start[(512L << 20) - 1] = 1;
    printf("last byte written\n");
}

static long deep(long levels)
{
    volatile char frame[4096];
    frame[0] = (char)levels;
    return levels ? deep(levels - 1) + frame[0] : 0;
}

static void stack_with(long limit_kib, long use_kib)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit lim = {limit_kib << 10, RLIM_INFINITY};
        getrlimit(RLIMIT_STACK, &lim);
        lim.rlim_cur = limit_kib << 10;
        if (setrlimit(RLIMIT_STACK, &lim) != 0)
            _exit(3);
        deep(use_kib / 4);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("%ld KiB of stack under a %ld KiB RLIMIT_STACK: %s %d\n", use_kib, limit_kib,
           WIFSIGNALED(st) ? "killed by" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void stack(void)
{
    stack_with(1024, 2048);
    stack_with(4096, 2048);
    stack_with(16384, 12288);  /* more than the 8 MiB default */
}

static volatile sig_atomic_t xcpu;

static void on_xcpu(int sig)
{
    (void)sig;
    xcpu++;
}

static void cpu(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit lim = {1, 2};
        signal(SIGXCPU, on_xcpu);
        setrlimit(RLIMIT_CPU, &lim);
        for (;;)
            if (xcpu == 1) {
                write(1, "SIGXCPU at the soft limit\n", 26);
                xcpu = 2;
            }
    }
    int st;
    waitpid(pid, &st, 0);
    printf("at the hard limit: %s %d\n", WIFSIGNALED(st) ? "killed by" : "exited",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void tmpfs(const char *dir)
{
    struct statfs before, full;
    statfs(dir, &before);
    char path[256];
    snprintf(path, sizeof path, "%s/fill", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    static char buf[1 << 16];
    memset(buf, 'x', sizeof buf);
    long total = 0;
    ssize_t n;
    errno = 0;
    while ((n = write(fd, buf, sizeof buf)) > 0)
        total += n;
    int err = errno;
    fstatfs(fd, &full);
    long size = (long)before.f_blocks * before.f_bsize;
    printf("filled %ld of %ld bytes: %s\n", total, size, errname(err));
    printf("statfs: free %ld blocks before, %ld when full\n", (long)before.f_bfree,
           (long)full.f_bfree);
    SHOW("ftruncate growth", ftruncate(fd, total + (1 << 20)));
    snprintf(path, sizeof path, "%s/fill2", dir);
    int fd2 = open(path, O_CREAT | O_WRONLY, 0600);
    SHOW("another file: write", write(fd2, buf, 1));
    close(fd);
    snprintf(path, sizeof path, "%s/fill", dir);
    unlink(path);
    SHOW("after unlink: write", write(fd2, buf, sizeof buf));
    close(fd2);
}

static void hostfile(const char *path)
{
    int fd = open(path, O_RDONLY);
    off_t size = lseek(fd, 0, SEEK_END);
    char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        printf("mmap of %ld bytes: %s\n", (long)size, errname(errno));
    else
        printf("mmap of %ld bytes: mapped, last byte %d\n", (long)size, p[size - 1]);
    static char buf[1 << 20];
    long total = 0, nonzero = 0;
    ssize_t n;
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        total += n;
        nonzero += buf[0] != 0;
    }
    printf("read %ld bytes in 1 MiB reads, %ld chunks not zero\n", total, nonzero);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "tmpfs") == 0) {
        tmpfs(argv[2]);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "hostfile") == 0) {
        hostfile(argv[2]);
        return 0;
    }
    only = argc > 1 ? argv[1] : NULL;
    if (section("nofile"))
        nofile();
    if (section("fsize"))
        fsize();
    if (section("as"))
        as();
    if (section("heap"))
        heap();
    if (section("stack"))
        stack();
    if (section("cpu"))
        cpu();
    return 0;
}
