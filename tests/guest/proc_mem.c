/* proc_mem.c — /proc/<pid>/mem: a stopped child's variable read and written by its parent,
 * /proc/self/mem reading a string and writing into a read-only page, EIO where nothing is
 * mapped (a short read at the edge) or in a read-only shared mapping, code patched after it ran, EACCES for another user's process, lseek to any address. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static volatile long value = 41;
static const char greeting[] = "hello from memory";

static int open_mem(pid_t pid, int flags)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    return open(path, flags);
}

static void child_memory(void)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        value = 42;
        raise(SIGSTOP);
        printf("child sees %ld\n", value);
        _exit(value == 1234 ? 0 : 1);
    }
    int status;
    waitpid(child, &status, WUNTRACED);
    printf("child stopped: %d\n", WIFSTOPPED(status));
    int fd = open_mem(child, O_RDWR);
    long seen = 0, next = 1234;
    printf("pread: %zd\n", pread(fd, &seen, sizeof seen, (off_t)(uintptr_t)&value));
    printf("child's value %ld, mine %ld\n", seen, value);
    printf("pwrite: %zd\n", pwrite(fd, &next, sizeof next, (off_t)(uintptr_t)&value));
    close(fd);
    fflush(stdout);
    kill(child, SIGCONT);
    waitpid(child, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
}

static void self_memory(void)
{
    int fd = open("/proc/self/mem", O_RDWR);
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof greeting, (off_t)(uintptr_t)greeting);
    printf("read string: %zd [%s]\n", n, buf);
    struct stat st;
    fstat(fd, &st);
    printf("size %lld mode %o\n", (long long)st.st_size, (unsigned)st.st_mode);
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(page, "before");
    mprotect(page, 4096, PROT_READ);
    printf("pwrite read-only: %zd\n", pwrite(fd, "AFTER!", 6, (off_t)(uintptr_t)page));
    printf("page now [%s]\n", page);
    lseek(fd, (off_t)(uintptr_t)&value, SEEK_SET);
    long seen = 0;
    n = read(fd, &seen, sizeof seen);
    printf("read at lseek: %zd %ld\n", n, seen);
    close(fd);
}

__attribute__((noinline)) static int answer(void) { return 1; }

/* Code patched through /proc/self/mem after it ran: the next call runs the new bytes. */
static void code(void)
{
    int (*volatile call)(void) = answer;
    printf("answer before: %d\n", call());
    static const unsigned char seven[] = {0xb8, 7, 0, 0, 0, 0xc3};  /* mov $7,%eax; ret */
    int fd = open("/proc/self/mem", O_RDWR);
    printf("pwrite code: %zd\n", pwrite(fd, seven, sizeof seven, (off_t)(uintptr_t)answer));
    close(fd);
    printf("answer after: %d\n", call());
}

/* A call's result and its errno, printed after the call. */
static void report(const char *what, long long result)
{
    printf("%s: %lld %s\n", what, result, result < 0 ? errname(errno) : "-");
}

static void unmapped(void)
{
    int fd = open("/proc/self/mem", O_RDWR);
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    char buf[64];
    printf("read across the edge: %zd\n", pread(fd, buf, sizeof buf, (off_t)(uintptr_t)(pages + 4096 - 16)));
    report("read unmapped", pread(fd, buf, 8, (off_t)(uintptr_t)(pages + 4096)));
    report("write unmapped", pwrite(fd, buf, 8, (off_t)(uintptr_t)(pages + 4096)));
    report("SEEK_END", lseek(fd, 0, SEEK_END));
    char *shared = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    report("write read-only shared", pwrite(fd, "x", 1, (off_t)(uintptr_t)shared));
    close(fd);
}

/* What a mem file is not: mapped (ENODEV); a size set is taken and changes nothing. */
static void not_a_file(void)
{
    int fd = open("/proc/self/mem", O_RDWR);
    report("mmap", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0);
    report("ftruncate", ftruncate(fd, 0));
    close(fd);
}

static void high_seek(void)
{
    int fd = open("/proc/self/mem", O_RDONLY);
    printf("lseek 0x7ffffffff000: %llx\n", (unsigned long long)lseek(fd, 0x7ffffffff000LL, SEEK_SET));
    off_t high = (off_t)0xffff800000001000ULL;
    printf("lseek kernel half: %llx\n", (unsigned long long)lseek(fd, high, SEEK_SET));
    printf("lseek SEEK_CUR: %llx\n", (unsigned long long)lseek(fd, 0x1000, SEEK_CUR));
    char c;
    report("read there", read(fd, &c, 1));
    close(fd);
}

static void other_user(void)
{
    fflush(stdout);
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        report("nobody opens root's", open_mem(parent, O_RDONLY));
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (section("child"))
        child_memory();
    if (section("self"))
        self_memory();
    if (section("code"))
        code();
    if (section("unmapped"))
        unmapped();
    if (section("not_a_file"))
        not_a_file();
    if (section("high_seek"))
        high_seek();
    if (section("other_user"))
        other_user();
    return 0;
}
