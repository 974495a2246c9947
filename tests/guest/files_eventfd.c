/* files_eventfd.c — eventfd: counting and semaphore reads, EAGAIN when empty or full, EINVAL on short buffers, the reserved value and bad flags, poll readiness, a blocked read woken by a forked child and by a thread, fstat and /proc/self/fd (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static void show_read(const char *label, int fd)
{
    uint64_t v = 0;
    ssize_t r = read(fd, &v, sizeof v);
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %zd value=%llu\n", label, r, (unsigned long long)v);
}

static long put(int fd, uint64_t v)
{
    return write(fd, &v, sizeof v);
}

static int revents(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static void counting(void)
{
    int fd = eventfd(5, EFD_NONBLOCK);
    show_read("read initial 5", fd);
    show_read("read when zero", fd);
    SHOW("write 3", put(fd, 3));
    SHOW("write 4", put(fd, 4));
    show_read("read sums the writes", fd);
    SHOW("write 0", put(fd, 0));
    show_read("read after writing 0", fd);
    close(fd);
}

static void semaphore(void)
{
    int fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    for (int i = 0; i < 4; i++)
        show_read("semaphore read", fd);
    SHOW("write 2", put(fd, 2));
    show_read("semaphore read", fd);
    show_read("semaphore read", fd);
    close(fd);
}

static void errors(void)
{
    int fd = eventfd(1, EFD_NONBLOCK);
    char small[4] = {0};
    uint64_t v;
    SHOW("read 4 bytes", read(fd, small, sizeof small));
    SHOW("write 4 bytes", write(fd, small, sizeof small));
    SHOW("write 0xffffffffffffffff", put(fd, UINT64_MAX));
    SHOW("eventfd bad flags", eventfd(0, 0x10));
    SHOW("lseek (a no-op on Linux)", lseek(fd, 0, SEEK_SET));
    SHOW("pread", pread(fd, &v, sizeof v, 0));
    show_read("count survives the errors", fd);
    int raw = (int)syscall(284, 7);  /* the old eventfd(2): no flags */
    show_read("eventfd(2) then read", raw);
    close(raw);
    close(fd);
}

static void full(void)
{
    int fd = eventfd(0, EFD_NONBLOCK);
    SHOW("write the largest value", put(fd, UINT64_MAX - 1));
    printf("poll full: %#x\n", revents(fd));
    SHOW("write 1 more", put(fd, 1));
    show_read("read the largest value", fd);
    printf("poll empty: %#x\n", revents(fd));
    SHOW("write 1", put(fd, 1));
    printf("poll with a count: %#x\n", revents(fd));
    close(fd);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void wake_fork(void)
{
    int fd = eventfd(0, 0);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100 * 1000);
        _exit(put(fd, 42) == 8 ? 0 : 1);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    show_read("blocking read woken by the child", fd);
    printf("waited >= 50ms: %s\n", ms_since(&t0) >= 50 ? "yes" : "no");
    int st;
    waitpid(pid, &st, 0);
    printf("child: exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    close(fd);
}

static void *writer(void *arg)
{
    int fd = *(int *)arg;
    for (int i = 0; i < 1000; i++)
        put(fd, 1);
    return NULL;
}

static void wake_thread(void)
{
    int fd = eventfd(0, EFD_SEMAPHORE);
    pthread_t th;
    pthread_create(&th, NULL, writer, &fd);
    int got = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v;
        if (read(fd, &v, sizeof v) == 8 && v == 1)
            got++;
    }
    pthread_join(th, NULL);
    printf("semaphore reads from a thread's 1000 posts: %d\n", got);
    close(fd);
}

static void blocked_writer(void)
{
    int fd = eventfd(0, 0);
    put(fd, UINT64_MAX - 1);
    pid_t pid = fork();
    if (pid == 0)
        _exit(put(fd, 5) == 8 ? 0 : 1);  /* blocks until the parent reads */
    usleep(100 * 1000);
    int st;
    printf("writer still blocked: %s\n", waitpid(pid, &st, WNOHANG) == 0 ? "yes" : "no");
    show_read("read frees room", fd);
    waitpid(pid, &st, 0);
    printf("writer: exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    show_read("read the blocked write", fd);
    close(fd);
}

static void describe(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    struct stat st;
    fstat(fd, &st);
    printf("fstat mode: %o size: %lld\n", (unsigned)st.st_mode, (long long)st.st_size);
    printf("FD_CLOEXEC: %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    printf("O_RDWR: %d\n", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    SHOW("readlink", readlink(path, link, sizeof link - 1));
    printf("link: %s\n", link);
    close(fd);
}

static void vectored(void)
{
    int fd = eventfd(9, 0);
    uint64_t a = 0, b = 0;
    struct iovec v[2] = {{&a, 8}, {&b, 8}};
    SHOW("readv", readv(fd, v, 2));
    printf("first buffer: %llu second: %llu\n", (unsigned long long)a, (unsigned long long)b);
    a = 2;
    SHOW("writev", writev(fd, v, 1));
    show_read("read after writev", fd);
    close(fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("counting"))
        counting();
    if (section("semaphore"))
        semaphore();
    if (section("errors"))
        errors();
    if (section("full"))
        full();
    if (section("wake_fork"))
        wake_fork();
    if (section("wake_thread"))
        wake_thread();
    if (section("blocked_writer"))
        blocked_writer();
    if (section("describe"))
        describe();
    if (section("vectored"))
        vectored();
    return 0;
}
