/* files_mmap.c — MAP_SHARED file mappings: coherence with read/write, write-back, fork, access checks, truncation, madvise, memfd_create, shm_open and sem_open, process-shared futexes at different addresses (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

#define PAGE 4096

static int make_file(const char *name, const char *text, size_t size)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (text)
        write(fd, text, strlen(text));
    if (size)
        ftruncate(fd, size);
    return fd;
}

static void show_file(const char *label, const char *name, size_t n)
{
    char buf[128] = {0};
    int fd = open(name, O_RDONLY);
    ssize_t got = read(fd, buf, n < sizeof buf ? n : sizeof buf - 1);
    printf("%s: %zd [%s]\n", label, got, buf);
    close(fd);
}

static void coherent(void)
{
    int fd = make_file("f", "hello world, a shared file\n", 0);
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(p, "HELLO", 5);
    char buf[64] = {0};
    printf("pread sees the mapping: %zd [%.27s]\n", pread(fd, buf, 27, 0), buf);
    pwrite(fd, "WORLD", 5, 6);
    printf("mapping sees pwrite: [%.27s]\n", p);
    lseek(fd, 0, SEEK_END);
    write(fd, "tail", 4);
    printf("mapping sees an appended write: [%.4s]\n", p + 27);
    struct stat st;
    fstat(fd, &st);
    printf("size: %lld\n", (long long)st.st_size);
    char *q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    p[0] = 'J';
    printf("a second mapping sees the first: %c, same page: %s\n", q[0], q != p ? "no" : "yes");
    char *r = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("a private mapping starts from the shared bytes: %c\n", r[0]);
    munmap(p, PAGE);
    munmap(q, PAGE);
    munmap(r, PAGE);
    close(fd);
}

static void persist(void)
{
    int fd = make_file("g", NULL, 2 * PAGE);
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    strcpy(p, "synced");
    strcpy(p + PAGE, "second page");
    SHOW("msync MS_SYNC", msync(p, 2 * PAGE, MS_SYNC));
    SHOW("msync both flags", msync(p, PAGE, MS_SYNC | MS_ASYNC));
    SHOW("msync unaligned", msync(p + 1, PAGE, MS_SYNC));
    strcpy(p, "unmapped");
    munmap(p, 2 * PAGE);
    close(fd);
    show_file("after munmap and close", "g", 8);
    fd = open("g", O_RDONLY);
    char buf[16] = {0};
    pread(fd, buf, 11, PAGE);
    printf("second page: [%s]\n", buf);
    struct stat st;
    fstat(fd, &st);
    printf("size unchanged: %lld\n", (long long)st.st_size);
    close(fd);
    fd = make_file("h", "12345", 0);
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(p, "abcdefgh", 8);  /* past the end of the file: never written back */
    munmap(p, PAGE);
    close(fd);
    show_file("bytes past the end are dropped", "h", 16);
}

static void forked(void)
{
    int fd = make_file("k", NULL, PAGE);
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    pid_t pid = fork();
    if (pid == 0) {
        strcpy(p, "from the child");
        int fd2 = open("k", O_RDWR);
        char *q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
        strcpy(q + 100, "through a new mapping");
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("parent sees: [%s] [%s]\n", p, p + 100);
    munmap(p, PAGE);
    close(fd);
    show_file("file after both", "k", 14);
}

static void access_checks(void)
{
    int fd = make_file("a", "read only", 0);
    close(fd);
    fd = open("a", O_RDONLY);
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared writable on O_RDONLY: %s\n", p == MAP_FAILED ? errname(errno) : "mapped");
    char *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    printf("shared read-only on O_RDONLY: %s\n", r == MAP_FAILED ? errname(errno) : "mapped");
    SHOW("mprotect it writable", mprotect(r, PAGE, PROT_READ | PROT_WRITE));
    char *c = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    c[0] = 'X';
    munmap(c, PAGE);
    printf("a private copy's write stays private: %c\n", r[0]);
    munmap(r, PAGE);
    close(fd);
    fd = open("a", O_WRONLY);
    p = mmap(NULL, PAGE, PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared on O_WRONLY: %s\n", p == MAP_FAILED ? errname(errno) : "mapped");
    close(fd);
    fd = open(".", O_RDONLY | O_DIRECTORY);
    p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    printf("shared of a directory: %s\n", p == MAP_FAILED ? errname(errno) : "mapped");
    close(fd);
    int pipefd[2];
    pipe(pipefd);
    p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, pipefd[0], 0);
    printf("shared of a pipe: %s\n", p == MAP_FAILED ? errname(errno) : "mapped");
    close(pipefd[0]);
    close(pipefd[1]);
}

static void truncation(void)
{
    int fd = make_file("t", NULL, PAGE);
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(p, 'x', PAGE);
    ftruncate(fd, 100);
    printf("byte 99: %c, byte 100 after the cut: %d\n", p[99], p[100]);
    ftruncate(fd, PAGE);
    char buf[8];
    pread(fd, buf, 8, 200);
    printf("regrown file reads zero: %d\n", buf[0] == 0 && buf[7] == 0);
    p[300] = 'y';
    pread(fd, buf, 1, 300);
    printf("and the mapping still writes it: %c\n", buf[0]);
    munmap(p, PAGE);
    close(fd);
}

static void advice(void)
{
    int fd = make_file("m", NULL, PAGE);
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    strcpy(p, "kept");
    SHOW("MADV_DONTNEED on a shared file", madvise(p, PAGE, MADV_DONTNEED));
    printf("contents: [%s]\n", p);
    char *a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    strcpy(a, "anon kept");
    SHOW("MADV_DONTNEED on shared anonymous", madvise(a, PAGE, MADV_DONTNEED));
    printf("contents: [%s]\n", a);
    char *v = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(v, "private");
    madvise(v, PAGE, MADV_DONTNEED);
    printf("private anonymous reads zero: %d\n", v[0]);
    SHOW("mprotect shared read-only then back", mprotect(a, PAGE, PROT_READ));
    mprotect(a, PAGE, PROT_READ | PROT_WRITE);
    pid_t pid = fork();
    if (pid == 0) {
        strcpy(a, "after mprotect");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("shared after mprotect: [%s]\n", a);
    close(fd);
}

static void memfd(void)
{
    int fd = memfd_create("cloudos", MFD_CLOEXEC);
    printf("memfd: %s, cloexec: %d\n", fd >= 0 ? "yes" : errname(errno),
           fcntl(fd, F_GETFD) & FD_CLOEXEC);
    struct stat st;
    fstat(fd, &st);
    printf("regular: %d, links: %ld, size: %lld, mode: %o\n", S_ISREG(st.st_mode),
           (long)st.st_nlink, (long long)st.st_size, st.st_mode & 0777);
    char link[64], path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("link: %s\n", link);
    ftruncate(fd, PAGE);
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fork() == 0) {
        strcpy(p, "memfd shared");
        _exit(0);
    }
    wait(NULL);
    char buf[16] = {0};
    printf("parent map: [%s], pread: %zd [%s]\n", p, pread(fd, buf, 12, 0), buf);
    SHOW("bad flags", memfd_create("x", 0x100));
    char name[300];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    SHOW("name too long", memfd_create(name, 0));
    close(fd);
}

static void posix(void)
{
    char name[64];
    snprintf(name, sizeof name, "/cloudos-test-%d", (int)getpid());
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    printf("shm_open: %s\n", fd >= 0 ? "yes" : errname(errno));
    ftruncate(fd, PAGE);
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    strcpy(p, "posix shm");
    int fd2 = shm_open(name, O_RDONLY, 0);
    char *q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd2, 0);
    printf("second open sees: [%s]\n", q);
    SHOW("shm_unlink", shm_unlink(name));
    printf("open after unlink: %s\n", shm_open(name, O_RDONLY, 0) < 0 ? errname(errno) : "yes");
    printf("still mapped: [%s]\n", p);
    close(fd);
    close(fd2);

    snprintf(name, sizeof name, "/cloudos-sem-%d", (int)getpid());
    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    printf("sem_open: %s\n", sem == SEM_FAILED ? errname(errno) : "yes");
    pid_t pid = fork();
    if (pid == 0) {
        sem_t *again = sem_open(name, 0);
        struct timespec pause = {0, 30 * 1000 * 1000};
        nanosleep(&pause, NULL);
        sem_post(again);
        sem_post(again);
        _exit(0);
    }
    SHOW("sem_wait woken by the child", sem_wait(sem));
    waitpid(pid, NULL, 0);
    int value = -1;
    sem_getvalue(sem, &value);
    printf("value left: %d\n", value);
    SHOW("sem_unlink", sem_unlink(name));
    sem_close(sem);
}

static void pshared(void)
{
    int fd = make_file("s", NULL, PAGE);
    sem_t *sem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    sem_init(sem, 1, 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* the same file page at another address: the futex must still meet */
        int fd2 = open("s", O_RDWR);
        sem_t *mine = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
        printf("child maps elsewhere: %s\n", mine != sem ? "yes" : "no");
        fflush(stdout);
        _exit(sem_wait(mine) == 0 ? 7 : 1);
    }
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    sem_post(sem);
    int status;
    waitpid(pid, &status, 0);
    printf("child woke: status %d\n", WEXITSTATUS(status));

    struct shared {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int ready;
    } *s = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &ma);
    pthread_cond_init(&s->cond, &ca);
    pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&s->lock);
        while (!s->ready)
            pthread_cond_wait(&s->cond, &s->lock);
        pthread_mutex_unlock(&s->lock);
        _exit(9);
    }
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&s->lock);
    s->ready = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    waitpid(pid, &status, 0);
    printf("condition variable across fork: status %d\n", WEXITSTATUS(status));
    close(fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    testdir_enter("files_mmap");
    if (section("coherent"))
        coherent();
    if (section("persist"))
        persist();
    if (section("fork"))
        forked();
    if (section("access"))
        access_checks();
    if (section("truncate"))
        truncation();
    if (section("madvise"))
        advice();
    if (section("memfd"))
        memfd();
    if (section("posix"))
        posix();
    if (section("pshared"))
        pshared();
    testdir_leave();
    return 0;
}
