/* files_locks.c — file locks between two processes: POSIX record locks (F_SETLK, F_SETLKW, F_GETLK reporting the holder, ranges split and merged, l_whence and negative lengths, EDEADLK, release on close of any fd and at exit, not inherited, kept across exec), OFD locks (F_OFD_*), flock(2) (shared, exclusive, converting, LOCK_NB, waits, independent of fcntl's), a lock wait interrupted by SIGALRM (EINTR), the errors, F_GETPIPE_SZ/F_SETPIPE_SZ, F_SETOWN(_EX)/F_GETOWN(_EX), F_SETSIG/F_GETSIG, O_ASYNC's SIGIO on pipes and sockets, leases (F_SETLEASE, broken by another's open: SIGIO), /proc/locks (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

static pid_t parent_pid;
static int to_child[2], to_parent[2];

static void tell(int fd) { char c = 'x'; if (write(fd, &c, 1) != 1) _exit(98); }
static void hear(int fd) { char c; if (read(fd, &c, 1) != 1) _exit(97); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs fn in a child (its output flushed before it exits); the parent goes on. */
static pid_t child(void (*fn)(void))
{
    fflush(stdout);
    if (pipe(to_child) || pipe(to_parent))
        exit(96);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    return pid;
}

static void reap(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    close(to_child[0]); close(to_child[1]); close(to_parent[0]); close(to_parent[1]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("child: status %#x\n", status);
}

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static const char *tname(int type)
{
    return type == F_RDLCK ? "F_RDLCK" : type == F_WRLCK ? "F_WRLCK" : type == F_UNLCK ? "F_UNLCK" : "?";
}

/* F_GETLK (or F_OFD_GETLK) of [start, start+len): the holder's lock, its pid named. */
static void getlk(const char *label, int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, cmd, &fl) < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    if (fl.l_type == F_UNLCK) {
        printf("%s: F_UNLCK (start=%lld len=%lld kept)\n", label, (long long)fl.l_start,
               (long long)fl.l_len);
        return;
    }
    printf("%s: %s start=%lld len=%lld whence=%d pid=%s\n", label, tname(fl.l_type),
           (long long)fl.l_start, (long long)fl.l_len, fl.l_whence,
           fl.l_pid == parent_pid ? "parent" : fl.l_pid == -1 ? "-1" :
           fl.l_pid == getpid() ? "self" : "other");
}

static int open_file(int flags)
{
    int fd = open("f", flags | O_CREAT, 0644);
    if (fd < 0) {
        perror("open f");
        exit(95);
    }
    return fd;
}

/* -- record locks between two processes ------------------------------------------------- */
static void record_child(void)
{
    int fd = open_file(O_RDWR);
    SHOW("child F_SETLK write [50,60) under the parent's [0,100)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 50, 10));
    SHOW("child F_SETLK read [50,60)", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 50, 10));
    getlk("child F_GETLK write [50,60)", fd, F_GETLK, F_WRLCK, 50, 10);
    SHOW("child F_SETLK read [100,110), adjacent", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 100, 10));
    getlk("child F_GETLK write at 1000", fd, F_GETLK, F_WRLCK, 1000, 1);
    getlk("child F_GETLK read at 150", fd, F_GETLK, F_RDLCK, 150, 1);
    getlk("child F_GETLK write at 150", fd, F_GETLK, F_WRLCK, 150, 1);
    tell(to_parent[1]);
    hear(to_child[0]);  /* the parent unlocked [40,60) */
    getlk("child F_GETLK write [0,100) after the split", fd, F_GETLK, F_WRLCK, 0, 100);
    getlk("child F_GETLK write [40,60)", fd, F_GETLK, F_WRLCK, 40, 20);
    getlk("child F_GETLK write [55,70)", fd, F_GETLK, F_WRLCK, 55, 15);
    SHOW("child F_SETLK write [45,55)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 45, 10));
    tell(to_parent[1]);
    hear(to_child[0]);
    close(fd);
}

static void record(void)
{
    int fd = open_file(O_RDWR);
    SHOW("parent F_SETLK write [0,100)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 100));
    SHOW("parent F_SETLK read [150,EOF)", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 150, 0));
    getlk("parent F_GETLK write [0,100): its own", fd, F_GETLK, F_WRLCK, 0, 100);
    pid_t pid = child(record_child);
    hear(to_parent[0]);
    int r = lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 40, 20);
    tell(to_child[1]);
    hear(to_parent[0]);
    getlk("parent F_GETLK write [45,55): the child's", fd, F_GETLK, F_WRLCK, 45, 10);
    tell(to_child[1]);
    reap(pid);
    printf("parent unlock [40,60): %d\n", r);
    getlk("parent F_GETLK after the child exited", fd, F_GETLK, F_WRLCK, 0, 0);
    close(fd);
}

/* -- l_whence, negative lengths, merging and splitting ----------------------------------- */
static void ranges_child(void)
{
    int fd = open_file(O_RDWR);
    getlk("SEEK_CUR 5 len 10 at offset 10", fd, F_GETLK, F_WRLCK, 10, 30);
    getlk("SEEK_END -10 len 0 (size 1000)", fd, F_GETLK, F_WRLCK, 900, 200);
    getlk("start 350 len -20", fd, F_GETLK, F_WRLCK, 300, 50);
    getlk("merged [500,510)+[510,520)", fd, F_GETLK, F_WRLCK, 500, 100);
    getlk("write [605,615): the read lock in the middle", fd, F_GETLK, F_WRLCK, 605, 10);
    getlk("read at 601: the write lock before it", fd, F_GETLK, F_RDLCK, 601, 2);
    getlk("read at 617: the write lock after it", fd, F_GETLK, F_RDLCK, 617, 1);
    SHOW("child read lock over the parent's read lock", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 606, 4));
    getlk("read at 700: merged read locks", fd, F_GETLK, F_WRLCK, 700, 1);
    close(fd);
}

static void ranges(void)
{
    int fd = open_file(O_RDWR);
    if (ftruncate(fd, 1000) != 0)
        exit(94);
    lseek(fd, 10, SEEK_SET);
    SHOW("SEEK_CUR", lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, 5, 10));
    SHOW("SEEK_END", lk(fd, F_SETLK, F_RDLCK, SEEK_END, -10, 0));
    SHOW("negative length", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 350, -20));
    SHOW("[500,510)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 500, 10));
    SHOW("[510,520)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 510, 10));
    SHOW("write [600,620)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 600, 20));
    SHOW("read [605,615) over it", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 605, 10));
    SHOW("read [690,700)", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 690, 10));
    SHOW("read [700,710)", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 700, 10));
    reap(child(ranges_child));
    close(fd);
}

/* -- a blocking wait, and a deadlock ------------------------------------------------------ */
static void wait_child(void)
{
    int fd = open_file(O_RDWR);
    tell(to_parent[1]);
    double t0 = now();
    SHOW("child F_SETLKW waits for the parent", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 10));
    printf("child waited >= 80ms: %s\n", now() - t0 >= 0.08 ? "yes" : "no");
    getlk("child sees the parent's other lock", fd, F_GETLK, F_WRLCK, 0, 100);
    close(fd);
}

static void waiting(void)
{
    int fd = open_file(O_RDWR);
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
    lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 10);
    pid_t pid = child(wait_child);
    hear(to_parent[0]);
    usleep(150000);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 10);
    reap(pid);
    close(fd);
}

static void deadlock_child(void)
{
    int fd = open_file(O_RDWR);
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
    tell(to_parent[1]);
    SHOW("child F_SETLKW on the parent's byte 0", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1));
    close(fd);
}

static void deadlock(void)
{
    int fd = open_file(O_RDWR);
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
    pid_t pid = child(deadlock_child);
    hear(to_parent[0]);
    usleep(150000);  /* the child waits for byte 0 by now */
    int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1);
    int e = errno;
    int r2 = lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
    int e2 = errno;
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
    reap(pid);
    printf("parent F_SETLKW on the child's byte 1: %d %s\n", r, r ? errname(e) : "");
    printf("parent F_SETLK on it: %d %s\n", r2, r2 ? errname(e2) : "");
    SHOW("parent F_SETLKW once the child is gone", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1));
    close(fd);
}

/* -- release: close of any fd, exit; not inherited ---------------------------------------- */
static void release_child(void)
{
    int fd = open_file(O_RDWR);
    getlk("child: the parent's lock, not inherited", fd, F_GETLK, F_WRLCK, 0, 0);
    SHOW("child F_SETLK while inherited fd is open", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    tell(to_parent[1]);
    hear(to_child[0]);  /* the parent closed another fd of the file */
    getlk("child: after the parent closed another fd", fd, F_GETLK, F_WRLCK, 0, 0);
    SHOW("child takes [0,10)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    /* exits holding it */
}

static void release(void)
{
    int fd = open_file(O_RDWR);
    int other = open("f", O_RDONLY);
    SHOW("parent F_SETLK [0,EOF)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0));
    pid_t pid = child(release_child);
    hear(to_parent[0]);
    close(other);
    tell(to_child[1]);
    reap(pid);
    SHOW("parent: the child exited holding [0,10)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    close(fd);
}

/* -- exec: locks stay, but a close-on-exec fd of the file closes, and takes them ------- */
static void after_exec_child(void)
{
    int f = open("f", O_RDWR), g = open("g", O_RDWR);
    getlk("after exec, f (its fd kept)", f, F_GETLK, F_WRLCK, 0, 0);
    getlk("after exec, g (another fd was close-on-exec)", g, F_GETLK, F_WRLCK, 0, 0);
}

static void after_exec(void)
{
    parent_pid = getpid();
    reap(child(after_exec_child));
}

static void exec_keeps(const char *self)
{
    int f = open_file(O_RDWR);
    int g = open("g", O_RDWR | O_CREAT, 0644);
    int g_cloexec = open("g", O_RDONLY | O_CLOEXEC);
    SHOW("lock f", lk(f, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    SHOW("lock g", lk(g, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    (void)g_cloexec;
    fflush(stdout);
    execl(self, self, "after_exec", testdir_path, (char *)NULL);
    printf("execl: %s\n", errname(errno));
}

/* -- /proc/locks ------------------------------------------------------------------------ */
static void proc_locks_child(void)
{
    int fd = open_file(O_RDWR);
    tell(to_parent[1]);
    lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 5, 1);  /* waits for the parent's [0,10) */
    close(fd);
}

/* Our files' lines of /proc/locks, the lock numbers, pids and devices named, sorted. */
static void show_proc_locks(ino_t f_ino, ino_t g_ino, dev_t dev, pid_t kid)
{
    char want_f[64], want_g[64], line[256], lines[16][256];
    int n = 0;
    snprintf(want_f, sizeof want_f, "%02x:%02x:%lu ", major(dev), minor(dev), (unsigned long)f_ino);
    snprintf(want_g, sizeof want_g, "%02x:%02x:%lu ", major(dev), minor(dev), (unsigned long)g_ino);
    FILE *in = fopen("/proc/locks", "r");
    if (!in) {
        printf("/proc/locks: %s\n", errname(errno));
        return;
    }
    long blocker = -1, waiter_of = -2;
    while (fgets(line, sizeof line, in) && n < 16) {
        const char *file = strstr(line, want_f) ? "f" : strstr(line, want_g) ? "g" : NULL;
        if (!file)
            continue;
        long number;
        int arrow = 0, pid, used;
        char kind[16], type[16], range[64];
        if (sscanf(line, "%ld: %n", &number, &used) < 1)
            continue;
        char *rest = line + used;
        if (strncmp(rest, "-> ", 3) == 0) {
            arrow = 1;
            rest += 3;
            waiter_of = number;
        }
        if (sscanf(rest, "%15s ADVISORY %15s %d %*s %63[^\n]", kind, type, &pid, range) != 4)
            continue;
        if (!arrow && !strcmp(kind, "POSIX") && !strcmp(type, "WRITE") && pid == parent_pid)
            blocker = number;
        snprintf(lines[n++], sizeof lines[0], "%s%s %s %s %s %s", arrow ? "-> " : "", kind, type,
                 pid == parent_pid ? "parent" : pid == kid ? "child" : pid == -1 ? "-1" : "other",
                 file, range);
    }
    fclose(in);
    for (int i = 0; i < n; i++)  /* (Linux lists them newest first, per CPU: sort) */
        for (int j = i + 1; j < n; j++)
            if (strcmp(lines[i], lines[j]) > 0) {
                char t[256];
                memcpy(t, lines[i], sizeof t); memcpy(lines[i], lines[j], sizeof t); memcpy(lines[j], t, sizeof t);
            }
    for (int i = 0; i < n; i++)
        printf("  %s\n", lines[i]);
    printf("the waiter is numbered as the lock it waits for: %d\n", waiter_of == blocker);
}

static void proc_locks(void)
{
    int fd = open_file(O_RDWR);
    int ofd = open_file(O_RDWR);
    int g = open("g", O_RDWR | O_CREAT, 0644);
    struct stat fst, gst;
    fstat(fd, &fst);
    fstat(g, &gst);
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
    lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 100, 0);
    lk(ofd, F_OFD_SETLK, F_RDLCK, SEEK_SET, 40, 5);
    flock(g, LOCK_SH);
    pid_t pid = child(proc_locks_child);
    hear(to_parent[0]);
    usleep(150000);  /* the child waits by now */
    show_proc_locks(fst.st_ino, gst.st_ino, fst.st_dev, pid);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    reap(pid);
    close(ofd);
    show_proc_locks(fst.st_ino, gst.st_ino, fst.st_dev, pid);
    close(g);
    close(fd);
}

/* -- leases ---------------------------------------------------------------------------------- */
static volatile sig_atomic_t sigios;
static void on_sigio(int sig) { (void)sig; sigios++; }

static void wait_sigios(int n)
{
    for (int i = 0; i < 300 && sigios < n; i++)
        usleep(10000);
}

static void on_lease_alarm(int sig) { (void)sig; }

static void lease_child(void)
{
    int fd = open("f", O_RDONLY);
    SHOW("child open O_RDONLY: no break", fd);
    close(fd);
    SHOW("child open O_WRONLY|O_NONBLOCK: a break begins", open("f", O_WRONLY | O_NONBLOCK));
    tell(to_parent[1]);
    hear(to_child[0]);
    struct sigaction sa = {.sa_handler = on_lease_alarm};  /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {.tv_usec = 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW("child open O_WRONLY interrupted by SIGALRM", open("f", O_WRONLY));
    double t0 = now();
    fd = open("f", O_WRONLY);
    printf("child open O_WRONLY waits for the lease to go: %s, waited >= 80ms: %s\n",
           fd >= 0 ? "opened" : errname(errno), now() - t0 >= 0.08 ? "yes" : "no");
    close(fd);
}

static void lease_truncate_child(void)
{
    tell(to_parent[1]);
    double t0 = now();
    SHOW("child truncate(2) waits for the read lease to go", truncate("f", 0));
    printf("child waited >= 80ms: %s\n", now() - t0 >= 0.08 ? "yes" : "no");
}

static void lease_unprivileged(void)
{
    if (setuid(65534) != 0 && getuid() == 0)
        _exit(89);
    int fd = open("f", O_RDONLY);
    SHOW("another user's F_SETLEASE", fcntl(fd, F_SETLEASE, F_RDLCK));
}

static void leases(void)
{
    struct sigaction sa = {.sa_handler = on_sigio, .sa_flags = SA_RESTART};
    sigaction(SIGIO, &sa, NULL);
    int rw = open_file(O_RDWR);
    SHOW("F_SETLEASE F_RDLCK on an O_RDWR fd", fcntl(rw, F_SETLEASE, F_RDLCK));
    int fd = open("f", O_RDONLY);
    SHOW("F_SETLEASE F_RDLCK while another fd writes", fcntl(fd, F_SETLEASE, F_RDLCK));
    close(rw);
    SHOW("F_GETLEASE without one", fcntl(fd, F_GETLEASE));
    SHOW("F_SETLEASE F_UNLCK without one", fcntl(fd, F_SETLEASE, F_UNLCK));
    int dir = open(".", O_RDONLY);
    SHOW("F_SETLEASE on a directory", fcntl(dir, F_SETLEASE, F_RDLCK));
    close(dir);
    SHOW("F_SETLEASE F_RDLCK", fcntl(fd, F_SETLEASE, F_RDLCK));
    SHOW("F_GETLEASE", fcntl(fd, F_GETLEASE));
    printf("F_GETOWN is the lease's taker: %d\n", fcntl(fd, F_GETOWN) == getpid());
    int p[2];
    if (pipe(p) != 0)
        exit(88);
    SHOW("F_SETLEASE on a pipe", fcntl(p[0], F_SETLEASE, F_RDLCK));
    SHOW("F_SETLEASE 7", fcntl(fd, F_SETLEASE, 7));
    close(p[0]); close(p[1]);
    pid_t pid = child(lease_child);
    hear(to_parent[0]);
    wait_sigios(1);
    printf("SIGIO for the holder: %d\n", (int)sigios);
    SHOW("F_GETLEASE while it breaks", fcntl(fd, F_GETLEASE));
    tell(to_child[1]);
    usleep(300000);
    SHOW("F_SETLEASE F_UNLCK", fcntl(fd, F_SETLEASE, F_UNLCK));
    reap(pid);
    SHOW("F_SETLEASE F_WRLCK, the only open", fcntl(fd, F_SETLEASE, F_WRLCK));
    SHOW("its own open for reading, O_NONBLOCK", open("f", O_RDONLY | O_NONBLOCK));
    wait_sigios(2);
    printf("SIGIO again: %d\n", (int)sigios);
    SHOW("F_GETLEASE: coming down to F_RDLCK", fcntl(fd, F_GETLEASE));
    SHOW("F_SETLEASE F_RDLCK", fcntl(fd, F_SETLEASE, F_RDLCK));
    SHOW("F_GETLEASE", fcntl(fd, F_GETLEASE));
    int other = open("f", O_RDONLY | O_NONBLOCK);
    SHOW("open for reading now", other);
    SHOW("F_SETLEASE F_WRLCK with another open", fcntl(fd, F_SETLEASE, F_WRLCK));
    close(other);
    reap(child(lease_unprivileged));
    close(fd);
    fd = open("f", O_RDONLY);
    SHOW("F_GETLEASE on a new open: the lease went with its fd", fcntl(fd, F_GETLEASE));
    SHOW("F_SETLEASE F_RDLCK", fcntl(fd, F_SETLEASE, F_RDLCK));
    pid = child(lease_truncate_child);
    hear(to_parent[0]);
    wait_sigios(3);
    usleep(100000);
    SHOW("F_SETLEASE F_UNLCK", fcntl(fd, F_SETLEASE, F_UNLCK));
    reap(pid);
    close(fd);
    printf("SIGIOs: %d\n", (int)sigios);
}

/* -- threads: record locks are the process's, OFD locks the description's ------------------- */
static int thread_fd;
static double thread_waited;
static int thread_result, thread_errno;

static void *ofd_waiter(void *arg)
{
    (void)arg;
    double t0 = now();
    thread_result = lk(thread_fd, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
    thread_errno = errno;
    thread_waited = now() - t0;
    return NULL;
}

static void *posix_taker(void *arg)
{
    (void)arg;
    thread_result = lk(thread_fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);  /* the process's own */
    thread_errno = errno;
    return NULL;
}

static void threads(void)
{
    int a = open_file(O_RDWR), b = open_file(O_RDWR);
    pthread_t t;
    SHOW("record lock by the main thread", lk(a, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    thread_fd = b;
    pthread_create(&t, NULL, posix_taker, NULL);
    pthread_join(t, NULL);
    printf("another thread's record lock, other fd: %d %s\n", thread_result,
           thread_result ? errname(thread_errno) : "");
    lk(a, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    SHOW("OFD lock through a", lk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    pthread_create(&t, NULL, ofd_waiter, NULL);
    usleep(150000);
    SHOW("OFD unlock through a", lk(a, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 1));
    pthread_join(t, NULL);
    printf("a thread's F_OFD_SETLKW through b: %d, waited >= 80ms: %s\n", thread_result,
           thread_waited >= 0.08 ? "yes" : "no");
    close(a);
    close(b);
}

/* -- O_ASYNC: SIGIO to the owner as I/O happens ----------------------------------------------- */
static volatile sig_atomic_t ios, usr1s;
static void on_io(int sig) { if (sig == SIGIO) ios++; else usr1s++; }

static void async_io(void)
{
    struct sigaction sa = {.sa_handler = on_io, .sa_flags = SA_RESTART};
    sigaction(SIGIO, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    char buf[4];
    int p[2], s[2];
    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
        exit(87);
    fcntl(p[0], F_SETOWN, getpid());
    SHOW("F_SETFL O_ASYNC on the read end", fcntl(p[0], F_SETFL, O_ASYNC));
    printf("F_GETFL has O_ASYNC: %d\n", !!(fcntl(p[0], F_GETFL) & O_ASYNC));
    SHOW("write", write(p[1], "a", 1));
    printf("SIGIO after a write: %d\n", (int)ios);
    SHOW("read", read(p[0], buf, 1));
    printf("SIGIO after a read (the writer is not O_ASYNC): %d\n", (int)ios);
    fcntl(p[1], F_SETOWN, getpid());
    fcntl(p[1], F_SETSIG, SIGUSR1);
    SHOW("F_SETFL O_ASYNC on the write end, F_SETSIG SIGUSR1", fcntl(p[1], F_SETFL, O_ASYNC));
    write(p[1], "bc", 2);
    read(p[0], buf, 1);
    printf("after a write and a read: SIGIO %d SIGUSR1 %d\n", (int)ios, (int)usr1s);
    fcntl(p[0], F_SETFL, 0);
    fcntl(p[1], F_SETFL, 0);
    write(p[1], "d", 1);
    read(p[0], buf, 2);
    printf("O_ASYNC cleared: SIGIO %d SIGUSR1 %d\n", (int)ios, (int)usr1s);
    fcntl(s[0], F_SETOWN, getpid());
    fcntl(s[0], F_SETFL, O_ASYNC);
    write(s[1], "e", 1);
    printf("a socket's peer wrote: SIGIO %d\n", (int)ios);
    read(s[0], buf, 1);
    write(s[0], "f", 1);
    read(s[1], buf, 1);
    printf("the socket wrote, its peer read: SIGIO %d\n", (int)ios);
    int q[2];
    if (pipe(q))
        exit(86);
    fcntl(q[0], F_SETFL, O_ASYNC);
    write(q[1], "g", 1);
    printf("O_ASYNC without an owner: SIGIO %d\n", (int)ios);
    int fd = open_file(O_RDWR);
    SHOW("F_SETFL O_ASYNC on a file", fcntl(fd, F_SETFL, O_ASYNC | O_APPEND));
    printf("F_GETFL: O_ASYNC %d O_APPEND %d\n", !!(fcntl(fd, F_GETFL) & O_ASYNC),
           !!(fcntl(fd, F_GETFL) & O_APPEND));
    close(fd); close(p[0]); close(p[1]); close(q[0]); close(q[1]); close(s[0]); close(s[1]);
}

/* -- OFD locks ------------------------------------------------------------------------------ */
static int ofd_inherited;

static void ofd_child(void)
{
    int fd = open_file(O_RDWR);
    getlk("child F_GETLK: an OFD holder", fd, F_GETLK, F_WRLCK, 0, 10);
    getlk("child F_OFD_GETLK", fd, F_OFD_GETLK, F_RDLCK, 5, 1);
    SHOW("child F_SETLK write conflicts", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    SHOW("child F_OFD_SETLK write conflicts", lk(fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    SHOW("child F_SETLK read", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
    SHOW("child F_OFD_SETLK on the inherited description", lk(ofd_inherited, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 5));
    close(fd);
}

static void ofd(void)
{
    int fd = open_file(O_RDWR);
    ofd_inherited = fd;
    SHOW("F_OFD_SETLK write [0,10)", lk(fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    int second = open_file(O_RDWR);
    SHOW("another description of the same process", lk(second, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    getlk("F_OFD_GETLK from it", second, F_OFD_GETLK, F_WRLCK, 0, 100);
    SHOW("F_SETLK of the same process conflicts", lk(second, F_SETLK, F_WRLCK, SEEK_SET, 5, 1));
    int d = dup(fd);
    SHOW("F_OFD_SETLK read through a dup (same description)", lk(d, F_OFD_SETLK, F_RDLCK, SEEK_SET, 0, 10));
    reap(child(ofd_child));
    close(second);  /* a close of another fd: an OFD lock stays */
    second = open_file(O_RDWR);
    getlk("after closing another fd", second, F_OFD_GETLK, F_WRLCK, 0, 3);
    getlk("the read part", second, F_OFD_GETLK, F_WRLCK, 7, 1);
    close(fd);
    getlk("after closing one of two fds of the description", second, F_OFD_GETLK, F_WRLCK, 0, 3);
    close(d);
    getlk("after closing the last", second, F_OFD_GETLK, F_WRLCK, 0, 100);
    close(second);
}

/* -- flock --------------------------------------------------------------------------------- */
static int flock_inherited;

static void flock_child(void)
{
    int fd = open_file(O_RDONLY);
    SHOW("child LOCK_EX|LOCK_NB", flock(fd, LOCK_EX | LOCK_NB));
    SHOW("child LOCK_SH|LOCK_NB", flock(fd, LOCK_SH | LOCK_NB));
    SHOW("child LOCK_EX on the inherited description", flock(flock_inherited, LOCK_EX | LOCK_NB));
    SHOW("child fcntl write lock: independent of flock", lk(flock_inherited, F_SETLK, F_WRLCK, SEEK_SET, 0, 0));
    tell(to_parent[1]);
    hear(to_child[0]);  /* the parent made it shared */
    SHOW("child LOCK_SH|LOCK_NB with the parent's shared", flock(fd, LOCK_SH | LOCK_NB));
    SHOW("child converts to LOCK_EX|LOCK_NB", flock(fd, LOCK_EX | LOCK_NB));
    SHOW("child LOCK_SH again", flock(fd, LOCK_SH | LOCK_NB));
    tell(to_parent[1]);
    double t0 = now();
    SHOW("child LOCK_EX waits for the parent's LOCK_UN", flock(fd, LOCK_EX));
    printf("child waited >= 80ms: %s\n", now() - t0 >= 0.08 ? "yes" : "no");
    close(fd);
}

static void flocks(void)
{
    int fd = open_file(O_RDWR);
    flock_inherited = fd;
    SHOW("LOCK_EX", flock(fd, LOCK_EX));
    SHOW("LOCK_EX again", flock(fd, LOCK_EX | LOCK_NB));
    int second = open_file(O_RDWR);
    SHOW("another description, LOCK_SH|LOCK_NB", flock(second, LOCK_SH | LOCK_NB));
    close(second);
    pid_t pid = child(flock_child);
    hear(to_parent[0]);
    SHOW("parent LOCK_SH (converting)", flock(fd, LOCK_SH));
    tell(to_child[1]);
    hear(to_parent[0]);
    usleep(150000);
    flock(fd, LOCK_UN);
    reap(pid);
    SHOW("LOCK_UN without a lock", flock(fd, LOCK_UN));
    flock(fd, LOCK_EX);
    int held = open_file(O_RDONLY);
    int d = dup(fd);
    close(fd);
    SHOW("after closing one fd of the holder", flock(held, LOCK_SH | LOCK_NB));
    close(d);
    SHOW("after closing the last", flock(held, LOCK_SH | LOCK_NB));
    close(held);
}

/* -- a wait interrupted by a signal --------------------------------------------------------- */
static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void eintr_child(void)
{
    int fd = open_file(O_RDWR);
    struct sigaction sa = {.sa_handler = on_alarm};  /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {.tv_usec = 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW("F_SETLKW interrupted by SIGALRM", lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1));
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW("F_OFD_SETLKW interrupted", lk(fd, F_OFD_SETLKW, F_RDLCK, SEEK_SET, 0, 1));
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW("flock LOCK_EX interrupted", flock(fd, LOCK_EX));
    printf("alarms: %d\n", (int)alarms);
    getlk("no lock was taken", fd, F_OFD_GETLK, F_WRLCK, 0, 0);
    tell(to_parent[1]);
    hear(to_child[0]);  /* the parent let go of its record lock */
    SHOW("F_SETLK after the parent let go", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    tell(to_parent[1]);
    double t0 = now();
    SHOW("flock LOCK_EX restarted after SIGALRM (SA_RESTART)", flock(fd, LOCK_EX));
    printf("alarms: %d, waited >= 250ms: %s\n", (int)alarms, now() - t0 >= 0.25 ? "yes" : "no");
    close(fd);
}

static void eintr(void)
{
    int fd = open_file(O_RDWR);
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
    flock(fd, LOCK_SH);
    pid_t pid = child(eintr_child);
    hear(to_parent[0]);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    getlk("parent F_GETLK: nothing granted to an interrupted wait", fd, F_GETLK, F_WRLCK, 0, 0);
    tell(to_child[1]);
    hear(to_parent[0]);
    usleep(300000);  /* the child's flock wait is interrupted, and restarted, meanwhile */
    flock(fd, LOCK_UN);
    reap(pid);
    close(fd);
}

/* -- errors ---------------------------------------------------------------------------------- */
static void errors(void)
{
    int rd = open_file(O_RDONLY), wr = open_file(O_WRONLY), rw = open_file(O_RDWR);
    SHOW("write lock on O_RDONLY", lk(rd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    SHOW("read lock on O_WRONLY", lk(wr, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
    SHOW("unlock on O_RDONLY", lk(rd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
    SHOW("F_GETLK write on O_RDONLY", lk(rd, F_GETLK, F_WRLCK, SEEK_SET, 0, 1));
    SHOW("l_type 7", lk(rw, F_SETLK, 7, SEEK_SET, 0, 1));
    SHOW("l_whence 3", lk(rw, F_SETLK, F_WRLCK, 3, 0, 1));
    SHOW("l_start -1", lk(rw, F_SETLK, F_WRLCK, SEEK_SET, -1, 1));
    SHOW("l_start 5 l_len -6", lk(rw, F_SETLK, F_WRLCK, SEEK_SET, 5, -6));
    SHOW("l_start 5 l_len -5", lk(rw, F_SETLK, F_WRLCK, SEEK_SET, 5, -5));
    SHOW("l_len beyond the largest offset", lk(rw, F_SETLK, F_WRLCK, SEEK_SET, 10, LLONG_MAX));
    lseek(rw, 100, SEEK_SET);
    SHOW("SEEK_CUR l_start LLONG_MAX", lk(rw, F_SETLK, F_WRLCK, SEEK_CUR, LLONG_MAX, 1));
    SHOW("SEEK_CUR l_start -101", lk(rw, F_SETLK, F_WRLCK, SEEK_CUR, -101, 1));
    SHOW("F_GETLK of F_UNLCK", lk(rw, F_GETLK, F_UNLCK, SEEK_SET, 0, 1));
    struct flock fl = {.l_type = F_WRLCK, .l_len = 1, .l_pid = 1};
    SHOW("F_OFD_SETLK with l_pid", fcntl(rw, F_OFD_SETLK, &fl));
    SHOW("F_OFD_GETLK with l_pid", fcntl(rw, F_OFD_GETLK, &fl));
    SHOW("F_SETLK with l_pid (ignored)", fcntl(rw, F_SETLK, &fl));
    SHOW("bad fd", lk(999, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    SHOW("bad pointer", fcntl(rw, F_SETLK, (void *)8));
    SHOW("bad fd and bad pointer", fcntl(999, F_GETLK, (void *)8));
    int path = open("f", O_PATH);
    SHOW("O_PATH fd F_GETLK", lk(path, F_GETLK, F_WRLCK, SEEK_SET, 0, 1));
    SHOW("O_PATH fd flock", flock(path, LOCK_SH));
    SHOW("O_PATH fd F_GETFD", fcntl(path, F_GETFD));
    close(path);
    SHOW("flock 0", flock(rw, 0));
    SHOW("flock LOCK_SH|LOCK_EX", flock(rw, LOCK_SH | LOCK_EX));
    SHOW("flock LOCK_NB alone", flock(rw, LOCK_NB));
    SHOW("flock bad fd", flock(999, LOCK_SH));
    SHOW("flock bad fd and bad operation", flock(999, 0));
    SHOW("flock on O_RDONLY LOCK_EX", flock(rd, LOCK_EX));
    int p[2];
    if (pipe(p) != 0)
        exit(93);
    SHOW("flock on a pipe", flock(p[0], LOCK_EX));
    SHOW("F_SETLK on a pipe's write end", lk(p[1], F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    SHOW("fcntl command 9999", fcntl(rw, 9999, 0));
    close(p[0]); close(p[1]); close(rd); close(wr); close(rw);
}

/* -- pipe sizes, owners, signals -------------------------------------------------------------- */
/* Without CAP_SYS_RESOURCE a pipe grows to pipe-max-size (1 MiB) and no further. */
static void unprivileged_pipe(void)
{
    int p[2];
    if ((setuid(65534) != 0 && getuid() == 0) || pipe(p) != 0)
        _exit(91);
    SHOW("unprivileged F_SETPIPE_SZ 1048576", fcntl(p[1], F_SETPIPE_SZ, 1048576));
    SHOW("unprivileged F_SETPIPE_SZ 1048577", fcntl(p[1], F_SETPIPE_SZ, 1048577));
    SHOW("unprivileged F_SETPIPE_SZ 4096 (shrinking)", fcntl(p[1], F_SETPIPE_SZ, 4096));
}

static void pipe_size(void)
{
    int p[2];
    if (pipe2(p, O_NONBLOCK) != 0)
        exit(92);
    SHOW("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    SHOW("F_GETPIPE_SZ of the write end", fcntl(p[1], F_GETPIPE_SZ));
    SHOW("F_SETPIPE_SZ 1", fcntl(p[0], F_SETPIPE_SZ, 1));
    SHOW("F_SETPIPE_SZ 0", fcntl(p[1], F_SETPIPE_SZ, 0));
    SHOW("F_SETPIPE_SZ 5000", fcntl(p[1], F_SETPIPE_SZ, 5000));
    SHOW("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    static char buf[70000];
    SHOW("write 20000 bytes into 8192", write(p[1], buf, 20000));
    SHOW("F_SETPIPE_SZ 4096 while it holds 8192", fcntl(p[1], F_SETPIPE_SZ, 4096));
    SHOW("read 5000", read(p[0], buf, 5000));
    SHOW("F_SETPIPE_SZ 4096 while it holds 3192", fcntl(p[1], F_SETPIPE_SZ, 4096));
    SHOW("write 2000 more", write(p[1], buf, 2000));
    SHOW("F_SETPIPE_SZ 1048576", fcntl(p[1], F_SETPIPE_SZ, 1048576));
    SHOW("write 70000", write(p[1], buf, 70000));
    SHOW("F_SETPIPE_SZ 2^31+1", fcntl(p[1], F_SETPIPE_SZ, (1u << 31) + 1));
    SHOW("F_SETPIPE_SZ -1", fcntl(p[1], F_SETPIPE_SZ, -1));
    pid_t pid = child(unprivileged_pipe);
    reap(pid);
    int fd = open_file(O_RDWR);
    SHOW("F_GETPIPE_SZ of a file", fcntl(fd, F_GETPIPE_SZ));
    SHOW("F_SETPIPE_SZ of a file", fcntl(fd, F_SETPIPE_SZ, 4096));
    close(fd); close(p[0]); close(p[1]);
}

static void owner(void)
{
    int fd = open_file(O_RDWR);
    struct f_owner_ex ex = {.type = 9, .pid = 9};
    SHOW("F_GETOWN", fcntl(fd, F_GETOWN));
    SHOW("F_GETOWN_EX", fcntl(fd, F_GETOWN_EX, &ex));
    printf("  type %d pid %d\n", ex.type, ex.pid);
    SHOW("F_SETOWN pid", fcntl(fd, F_SETOWN, getpid()));
    printf("F_GETOWN is the pid: %d\n", fcntl(fd, F_GETOWN) == getpid());
    fcntl(fd, F_GETOWN_EX, &ex);
    printf("F_GETOWN_EX: type F_OWNER_PID %d, the pid %d\n", ex.type == F_OWNER_PID, ex.pid == getpid());
    SHOW("F_SETOWN -pgrp", fcntl(fd, F_SETOWN, -getpgrp()));
    printf("F_GETOWN is -pgrp: %d\n", fcntl(fd, F_GETOWN) == -getpgrp());
    fcntl(fd, F_GETOWN_EX, &ex);
    printf("F_GETOWN_EX: type F_OWNER_PGRP %d, the group %d\n", ex.type == F_OWNER_PGRP, ex.pid == getpgrp());
    ex.type = F_OWNER_TID;
    ex.pid = gettid();
    SHOW("F_SETOWN_EX tid", fcntl(fd, F_SETOWN_EX, &ex));
    printf("F_GETOWN is the tid: %d\n", fcntl(fd, F_GETOWN) == gettid());
    fcntl(fd, F_GETOWN_EX, &ex);
    printf("F_GETOWN_EX: type F_OWNER_TID %d\n", ex.type == F_OWNER_TID);
    ex.type = 7;
    SHOW("F_SETOWN_EX type 7", fcntl(fd, F_SETOWN_EX, &ex));
    ex.type = F_OWNER_PID;
    ex.pid = 0x3fffffff;
    SHOW("F_SETOWN_EX no such process", fcntl(fd, F_SETOWN_EX, &ex));
    SHOW("F_SETOWN no such process", fcntl(fd, F_SETOWN, 0x3fffffff));
    SHOW("F_SETOWN no such group", fcntl(fd, F_SETOWN, -0x3fffffff));
    SHOW("F_SETOWN INT_MIN", fcntl(fd, F_SETOWN, INT_MIN));
    SHOW("F_SETOWN bad fd", fcntl(999, F_SETOWN, 0x3fffffff));
    SHOW("F_SETOWN_EX bad pointer", fcntl(fd, F_SETOWN_EX, (void *)8));
    SHOW("F_GETOWN_EX bad pointer", fcntl(fd, F_GETOWN_EX, (void *)8));
    SHOW("F_SETOWN 0", fcntl(fd, F_SETOWN, 0));
    SHOW("F_GETOWN", fcntl(fd, F_GETOWN));
    SHOW("F_GETSIG", fcntl(fd, F_GETSIG));
    SHOW("F_SETSIG SIGUSR1", fcntl(fd, F_SETSIG, SIGUSR1));
    SHOW("F_GETSIG", fcntl(fd, F_GETSIG));
    SHOW("F_SETSIG 64", fcntl(fd, F_SETSIG, 64));
    SHOW("F_SETSIG 65", fcntl(fd, F_SETSIG, 65));
    SHOW("F_SETSIG -1", fcntl(fd, F_SETSIG, -1));
    SHOW("F_GETSIG", fcntl(fd, F_GETSIG));
    int d = dup(fd);
    SHOW("F_GETSIG through a dup", fcntl(d, F_GETSIG));
    close(d);
    close(fd);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    parent_pid = getpid();
    if (argc > 2 && strcmp(argv[1], "after_exec") == 0) {  /* exec_keeps, continued */
        snprintf(testdir_path, sizeof testdir_path, "%s", argv[2]);
        if (chdir(testdir_path) != 0)
            return 90;
        after_exec();
        testdir_leave();
        return 0;
    }
    testdir_enter("locks");
    if (section("record")) record();
    if (section("ranges")) ranges();
    if (section("wait")) waiting();
    if (section("deadlock")) deadlock();
    if (section("release")) release();
    if (section("ofd")) ofd();
    if (section("flock")) flocks();
    if (section("eintr")) eintr();
    if (section("errors")) errors();
    if (section("pipe_size")) pipe_size();
    if (section("owner")) owner();
    if (section("proc_locks")) proc_locks();
    if (section("lease")) leases();
    if (section("threads")) threads();
    if (section("async")) async_io();
    if (section("exec")) exec_keeps(argv[0]);  /* (last: it does not come back) */
    testdir_leave();
    return 0;
}
