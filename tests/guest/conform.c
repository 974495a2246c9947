/* conform.c — calls CPython's regression tests (Lib/test) found differing from Linux: each section one area (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"
#include "section.h"

/* sched_getaffinity's size and pid checks (CPython grows its buffer while EINVAL),
 * sched_setaffinity's, sched_rr_get_interval's errors and range. */
static void sched_calls(void)
{
    unsigned long mask[16];
    struct timespec ts;
    const long sizes[] = {1, 4, 8, 16, 128};
    for (int i = 0; i < 5; i++) {
        char label[64];
        snprintf(label, sizeof label, "getaffinity(-1, %ld)", sizes[i]);
        SHOW(label, syscall(SYS_sched_getaffinity, -1, sizes[i], mask));
    }
    SHOW("getaffinity(999999, 1)", syscall(SYS_sched_getaffinity, 999999, 1, mask));
    SHOW("getaffinity(0, 128)", syscall(SYS_sched_getaffinity, 0, 128, mask) > 0);
    SHOW("setaffinity(-1)", syscall(SYS_sched_setaffinity, -1, 8, mask));
    SHOW("setaffinity(999999, bad mask)", syscall(SYS_sched_setaffinity, 999999, 8, (void *)8));
    SHOW("setaffinity(999999)", syscall(SYS_sched_setaffinity, 999999, 8, mask));
    long r = syscall(SYS_sched_rr_get_interval, 0, &ts);
    printf("rr_get_interval(0): %ld, under a second: %d\n", r,
           r == 0 && ts.tv_sec == 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
    SHOW("rr_get_interval(-1)", syscall(SYS_sched_rr_get_interval, -1, &ts));
    SHOW("rr_get_interval(999999)", syscall(SYS_sched_rr_get_interval, 999999, &ts));
    SHOW("rr_get_interval(0, bad)", syscall(SYS_sched_rr_get_interval, 0, (void *)8));
    struct sched_param sp = {.sched_priority = 1};
    if (sched_setscheduler(0, SCHED_RR, &sp) == 0) {
        r = syscall(SYS_sched_rr_get_interval, 0, &ts);
        printf("SCHED_RR interval: %ld, above 0 and under a second: %d\n", r,
               r == 0 && ts.tv_sec == 0 && ts.tv_nsec > 0);
        sched_setscheduler(0, SCHED_FIFO, &sp);
        r = syscall(SYS_sched_rr_get_interval, 0, &ts);
        printf("SCHED_FIFO interval: %ld %ld.%09ld\n", r, (long)ts.tv_sec, ts.tv_nsec);
        sp.sched_priority = 0;
        sched_setscheduler(0, SCHED_OTHER, &sp);
    } else {
        printf("SCHED_RR not permitted\n");
    }
}

static volatile sig_atomic_t ticks[32];

static void count_tick(int sig)
{
    ticks[sig]++;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Spin until ``sig`` has come ``want`` times or ``limit`` seconds of wall time pass. */
static int spin_until(int sig, int want, double limit)
{
    double end = wall() + limit;
    volatile unsigned long sink = 0;
    while (ticks[sig] < want && wall() < end)
        for (int i = 0; i < 10000; i++)
            sink += i;
    return ticks[sig] >= want;
}

/* setitimer/getitimer of the CPU-time timers (CPython's test_signal ItimerTest). */
static void itimers(void)
{
    const int which[] = {ITIMER_VIRTUAL, ITIMER_PROF};
    const int sig[] = {SIGVTALRM, SIGPROF};
    const char *name[] = {"ITIMER_VIRTUAL", "ITIMER_PROF"};
    signal(SIGVTALRM, count_tick);
    signal(SIGPROF, count_tick);
    for (int k = 0; k < 2; k++) {
        struct itimerval it = {{0, 50000}, {0, 200000}}, old, now;
        printf("%s:\n", name[k]);
        SHOW("  setitimer", setitimer(which[k], &it, &old));
        printf("  old: %ld %ld %ld %ld\n", (long)old.it_interval.tv_sec, (long)old.it_interval.tv_usec,
               (long)old.it_value.tv_sec, (long)old.it_value.tv_usec);
        getitimer(which[k], &now);
        /* (Linux adds a tick, 4 ms at CONFIG_HZ=250, to the first value) */
        printf("  interval %ld.%06ld, value in (0.19, 0.204]: %d\n", (long)now.it_interval.tv_sec,
               (long)now.it_interval.tv_usec, now.it_value.tv_sec == 0 && now.it_value.tv_usec > 190000
               && now.it_value.tv_usec <= 204000);
        int before = ticks[sig[k]];
        usleep(300000);  /* a sleep uses no CPU time: no signal (CPython's test too) */
        printf("  signals while asleep: %d\n", ticks[sig[k]] - before);
        printf("  3 signals while computing: %d\n", spin_until(sig[k], before + 3, 30.0));
        it = (struct itimerval){{0, 0}, {0, 0}};
        SHOW("  stop", setitimer(which[k], &it, &old));
        printf("  old interval %ld.%06ld, value at most 0.054: %d\n", (long)old.it_interval.tv_sec,
               (long)old.it_interval.tv_usec, old.it_value.tv_sec == 0 && old.it_value.tv_usec <= 54000);
        getitimer(which[k], &now);
        printf("  after stop: %ld %ld\n", (long)now.it_value.tv_sec, (long)now.it_value.tv_usec);
    }
    struct itimerval it = {{0, 0}, {5, 0}}, now;
    setitimer(ITIMER_PROF, &it, NULL);
    pid_t child = fork();
    if (child == 0) {
        getitimer(ITIMER_PROF, &now);
        printf("child's ITIMER_PROF: %ld %ld\n", (long)now.it_value.tv_sec, (long)now.it_value.tv_usec);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    getitimer(ITIMER_PROF, &now);
    printf("parent's ITIMER_PROF still set: %d\n", now.it_value.tv_sec >= 4);
    it.it_value.tv_sec = 0;
    setitimer(ITIMER_PROF, &it, NULL);
    it.it_value.tv_usec = 1000000;
    SHOW("setitimer usec 1000000", setitimer(ITIMER_VIRTUAL, &it, NULL));
    SHOW("setitimer 3", setitimer(3, &it, NULL));
    SHOW("getitimer -1", getitimer(-1, &now));
    SHOW("getitimer bad address", syscall(SYS_getitimer, ITIMER_PROF, (void *)8));
}

/* open(2) with O_CREAT of a name with a trailing slash, or of a directory (CPython's
 * test_shutil test_copyfile_nonexistent_dir): EISDIR, and nothing is made. */
static void creat_dir(void)
{
    char dir[] = "/tmp/conform-XXXXXX";
    struct stat st;
    if (!mkdtemp(dir) || chdir(dir) != 0) {
        printf("no directory\n");
        return;
    }
    mkdir("d", 0755);
    close(open("f", O_WRONLY | O_CREAT, 0644));
    symlink("d", "ld");
    symlink("nx/", "lnx");
    SHOW("O_CREAT nx/", open("nx/", O_WRONLY | O_CREAT | O_TRUNC, 0644));
    printf("nx made: %d\n", stat("nx", &st) == 0);
    SHOW("O_CREAT|O_EXCL nx/", open("nx/", O_WRONLY | O_CREAT | O_EXCL, 0644));
    SHOW("O_CREAT nx//", open("nx//", O_RDONLY | O_CREAT, 0644));
    SHOW("O_CREAT f/", open("f/", O_WRONLY | O_CREAT, 0644));
    SHOW("O_CREAT d/", open("d/", O_WRONLY | O_CREAT, 0644));
    SHOW("O_CREAT|O_RDONLY d", open("d", O_RDONLY | O_CREAT, 0644));
    SHOW("O_CREAT|O_EXCL d", open("d", O_RDONLY | O_CREAT | O_EXCL, 0644));
    SHOW("O_CREAT|O_RDONLY d/.", open("d/.", O_RDONLY | O_CREAT, 0644));
    SHOW("O_CREAT|O_RDONLY ld (a link to d)", open("ld", O_RDONLY | O_CREAT, 0644));
    SHOW("O_CREAT lnx (a link to nx/)", open("lnx", O_WRONLY | O_CREAT, 0644));
    printf("nx made: %d\n", stat("nx", &st) == 0);
    SHOW("O_CREAT missing/x/", open("missing/x/", O_WRONLY | O_CREAT, 0644));
    SHOW("O_CREAT d/g", open("d/g", O_WRONLY | O_CREAT, 0644) >= 0);
    unlink("d/g");
    unlink("ld");
    unlink("lnx");
    unlink("nx");
    unlink("f");
    rmdir("d");
    chdir("/");
    SHOW("test directory removed", rmdir(dir));
}

/* lseek of terminals: ESPIPE (CPython's test_fileio testAbles: /dev/tty seekable). The
 * console as /dev/tty, when the host's stdin is no terminal, is still one; natively such
 * a run has no controlling terminal, and /dev/tty does not open (ENXIO). */
static void tty_seek(void)
{
    int fd = open("/dev/tty", O_WRONLY | O_APPEND);
    int seekable = fd >= 0 && lseek(fd, 0, SEEK_CUR) >= 0;
    printf("/dev/tty seekable: %d\n", seekable);
    if (fd >= 0)
        close(fd);
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    SHOW("grantpt", grantpt(master) | unlockpt(master));
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    SHOW("lseek pty slave", lseek(slave, 0, SEEK_CUR));
    SHOW("lseek pty master", lseek(master, 0, SEEK_CUR));
    SHOW("lseek pty slave whence 9", lseek(slave, 0, 9));
    close(slave);
    close(master);
    int p[2];
    pipe(p);
    SHOW("lseek pipe whence 9", lseek(p[0], 0, 9));
    SHOW("lseek pipe whence -1", lseek(p[0], 0, -1));
    SHOW("lseek closed fd whence 9", lseek(99, 0, 9));
    close(p[0]);
    close(p[1]);
    const char *devices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/urandom"};
    for (int i = 0; i < 4; i++) {
        char label[64];
        fd = open(devices[i], O_RDWR);
        snprintf(label, sizeof label, "lseek %s 10, SEEK_SET", devices[i]);
        SHOW(label, lseek(fd, 10, SEEK_SET));
        snprintf(label, sizeof label, "lseek %s 5, SEEK_CUR", devices[i]);
        SHOW(label, lseek(fd, 5, SEEK_CUR));
        snprintf(label, sizeof label, "lseek %s -1, SEEK_END", devices[i]);
        SHOW(label, lseek(fd, -1, SEEK_END));
        snprintf(label, sizeof label, "lseek %s whence 9", devices[i]);
        SHOW(label, lseek(fd, 0, 9));
        close(fd);
    }
}

static volatile int spin_stop;

static void *spinner(void *arg)
{
    (void)arg;
    volatile unsigned long sink = 0;
    while (!spin_stop)
        sink++;
    return NULL;
}

static double on_clock(clockid_t clock, int *err)
{
    struct timespec ts;
    *err = clock_gettime(clock, &ts) == 0 ? 0 : errno;
    return *err ? -1 : ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU-time clocks of a given thread or process (CPython's test_time
 * test_pthread_getcpuclockid): clock ids ~pid << 3 | per-thread | which. */
static void cpu_clocks(void)
{
    clockid_t mine, proc, other;
    int err;
    pthread_t th;
    SHOW("pthread_getcpuclockid(self)", pthread_getcpuclockid(pthread_self(), &mine));
    SHOW("clock_getcpuclockid(0)", clock_getcpuclockid(0, &proc));
    pthread_create(&th, NULL, spinner, NULL);
    SHOW("pthread_getcpuclockid(other)", pthread_getcpuclockid(th, &other));
    spin_until(0, 1, 0.3);  /* (no signal comes: 0.3 s of computing) */
    double self_t = on_clock(mine, &err);
    printf("own thread clock: err %d, above 0.05: %d\n", err, self_t > 0.05);
    double thread_t = on_clock(CLOCK_THREAD_CPUTIME_ID, &err);
    printf("CLOCK_THREAD_CPUTIME_ID within 0.1 of it: %d\n", thread_t - self_t < 0.1);
    double process_t = on_clock(proc, &err);
    printf("process clock: err %d, at least the thread's: %d\n", err, process_t >= self_t);
    double prof = on_clock(CLOCK_PROCESS_CPUTIME_ID, &err);
    printf("CLOCK_PROCESS_CPUTIME_ID at least that: %d\n", prof >= process_t);
    usleep(200000);
    double other_t = on_clock(other, &err);
    printf("other thread's clock: err %d, above 0: %d\n", err, other_t > 0);
    spin_stop = 1;
    pthread_join(th, NULL);
    /* pthread_join returns when the kernel clears the thread's tid word, a moment before
       the thread is gone: on a busy host Linux can still read its clock then (seen twice
       in a loaded run), so wait up to 2 s for the clock to go */
    double joined = on_clock(other, &err);
    for (int i = 0; i < 200 && joined >= 0; i++) {
        usleep(10000);
        joined = on_clock(other, &err);
    }
    printf("joined thread's clock: %s\n", joined < 0 ? errname(err) : "readable");
    /* the virtual (user time) flavour of the process clock: bit pattern ~0 << 3 | 1 */
    double virt = on_clock((clockid_t)((~0 << 3) | 1), &err);
    printf("CPUCLOCK_VIRT of self: err %d, above 0: %d\n", err, virt > 0);
    on_clock((clockid_t)((~0 << 3) | 3), &err);
    printf("which 3: %s\n", err ? errname(err) : "readable");
    on_clock((clockid_t)((~0 << 3) | 7), &err);
    printf("per-thread which 3: %s\n", err ? errname(err) : "readable");
    on_clock((clockid_t)((~999999 << 3) | 2), &err);
    printf("process 999999: %s\n", err ? errname(err) : "readable");
    on_clock((clockid_t)((~999999 << 3) | 6), &err);
    printf("thread 999999: %s\n", err ? errname(err) : "readable");
    struct timespec res;
    SHOW("clock_getres(own thread clock)", clock_getres(mine, &res));
    printf("  resolution %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
    SHOW("clock_getres(process 999999)", clock_getres((clockid_t)((~999999 << 3) | 2), &res));
    int pipefd[2];
    pipe(pipefd);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(pipefd[0], &c, 1);
        _exit(0);
    }
    clockid_t child_clock;
    SHOW("clock_getcpuclockid(child)", clock_getcpuclockid(child, &child_clock));
    printf("child's process clock: %s\n", on_clock(child_clock, &err) < 0 ? errname(err) : "readable");
    on_clock((clockid_t)((~child << 3) | 6), &err);
    printf("child's thread clock (another process): %s\n", err ? errname(err) : "readable");
    write(pipefd[1], "x", 1);
    waitpid(child, NULL, 0);
}

static void drain(const char *who, int fd)
{
    unsigned char b[64];
    int n = read(fd, b, sizeof b);
    printf("%s reads %d:", who, n);
    for (int i = 0; i < n; i++)
        printf(" %02x", b[i]);
    printf("\n");
}

/* tcflow(3) (TCXONC) and tcsendbreak(3) (TCSBRKP) on a pseudo-terminal (CPython's
 * test_termios test_tcflow, test_tcflow_errors, test_tcsendbreak). */
static void tcflow_calls(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    fcntl(m, F_SETFL, O_NONBLOCK);
    fcntl(s, F_SETFL, O_NONBLOCK);
    SHOW("tcsendbreak(slave, 1)", tcsendbreak(s, 1));
    SHOW("tcsendbreak(slave, 0)", tcsendbreak(s, 0));
    SHOW("tcsendbreak(master, 1)", tcsendbreak(m, 1));
    SHOW("TCSBRKP 0", ioctl(s, TCSBRKP, 0));
    SHOW("tcflow(slave, TCOOFF)", tcflow(s, TCOOFF));
    SHOW("slave write while off", write(s, "a", 1));
    struct pollfd p = {s, POLLOUT, 0};
    SHOW("slave POLLOUT while off", poll(&p, 1, 0));
    SHOW("tcflow(slave, TCOON)", tcflow(s, TCOON));
    SHOW("slave write after on", write(s, "b", 1));
    drain("master", m);
    SHOW("tcflow(slave, TCIOFF)", tcflow(s, TCIOFF));
    drain("master", m);
    SHOW("tcflow(slave, TCION)", tcflow(s, TCION));
    drain("master", m);
    SHOW("tcflow(master, TCIOFF)", tcflow(m, TCIOFF));
    drain("slave", s);
    SHOW("tcflow(master, TCION)", tcflow(m, TCION));
    drain("slave", s);
    SHOW("tcflow(master, TCOOFF)", tcflow(m, TCOOFF));
    SHOW("master write while off", write(m, "c", 1));
    SHOW("tcflow(master, TCOON)", tcflow(m, TCOON));
    SHOW("master write after on", write(m, "d", 1));
    drain("slave", s);
    SHOW("tcflow(slave, -1)", tcflow(s, -1));
    SHOW("tcflow(slave, 4)", tcflow(s, 4));
    t.c_cc[VSTOP] = 0;
    tcsetattr(s, TCSANOW, &t);
    SHOW("tcflow(slave, TCIOFF), VSTOP disabled", tcflow(s, TCIOFF));
    drain("master", m);
    close(s);
    close(m);
    int fd = open("/dev/null", O_RDWR);
    SHOW("tcflow(/dev/null)", tcflow(fd, TCOON));
    SHOW("tcsendbreak(/dev/null)", tcsendbreak(fd, 0));
    close(fd);
}

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

/* pidfd_send_signal(2) by an fd of a /proc/<pid> directory (CPython's test_signal
 * test_pidfd_send_signal); the other pidfd calls take pidfds only. */
static void proc_dir_pidfd(void)
{
    signal(SIGUSR1, on_usr1);
    int self = open("/proc/self", O_DIRECTORY | O_RDONLY);
    SHOW("pidfd_send_signal(/proc/self, SIGUSR1)", syscall(SYS_pidfd_send_signal, self, SIGUSR1, NULL, 0));
    printf("SIGUSR1 handled: %d\n", usr1);
    SHOW("pidfd_send_signal(/proc/self, 0)", syscall(SYS_pidfd_send_signal, self, 0, NULL, 0));
    SHOW("waitid(P_PIDFD, /proc/self)", syscall(SYS_waitid, P_PIDFD, self, NULL, WEXITED | WNOHANG, NULL));
    SHOW("pidfd_getfd(/proc/self)", syscall(SYS_pidfd_getfd, self, 0, 0));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld", (long)syscall(SYS_gettid));
    int task = open(path, O_DIRECTORY | O_RDONLY);
    SHOW("pidfd_send_signal(/proc/self/task/TID)", syscall(SYS_pidfd_send_signal, task, 0, NULL, 0));
    int proc = open("/proc", O_DIRECTORY | O_RDONLY);
    SHOW("pidfd_send_signal(/proc)", syscall(SYS_pidfd_send_signal, proc, 0, NULL, 0));
    int fdinfo = open("/proc/self/status", O_RDONLY);
    SHOW("pidfd_send_signal(/proc/self/status)", syscall(SYS_pidfd_send_signal, fdinfo, 0, NULL, 0));
    int pipefd[2];
    pipe(pipefd);
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(pipefd[1]);
        read(pipefd[0], &c, 1);
        _exit(7);
    }
    snprintf(path, sizeof path, "/proc/%d", child);
    int childdir = open(path, O_DIRECTORY | O_RDONLY);
    SHOW("pidfd_send_signal(/proc/CHILD, 0)", syscall(SYS_pidfd_send_signal, childdir, 0, NULL, 0));
    SHOW("pidfd_send_signal(/proc/CHILD, SIGTERM)", syscall(SYS_pidfd_send_signal, childdir, SIGTERM, NULL, 0));
    close(pipefd[1]);  /* (if no signal came, the child reads end of file and exits) */
    int status = 0;
    waitpid(child, &status, 0);
    printf("child killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    SHOW("pidfd_send_signal(/proc/CHILD) after reaping", syscall(SYS_pidfd_send_signal, childdir, 0, NULL, 0));
    close(childdir);
    close(fdinfo);
    close(proc);
    close(task);
    close(self);
    close(pipefd[0]);
}

/* One recvmsg with room for one passed fd: its bytes, and whether an fd came. */
static void recv_with_fd(int sock, int flags, const char *label)
{
    char buf[16] = {0}, cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buf, sizeof buf - 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    long r = recvmsg(sock, &m, flags);
    struct cmsghdr *c = r >= 0 ? CMSG_FIRSTHDR(&m) : NULL;
    int fd = -1;
    if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    char first = 0;
    if (fd >= 0)
        pread(fd, &first, 1, 0), close(fd);
    printf("%s: %ld [%s], fd passed: %d, its first byte: %c\n", label, r, buf, fd >= 0,
           first ? first : '-');
}

static void on_alarm(int sig)
{
    (void)sig;
}

static long send_fd(int sock, const char *bytes)
{
    int file = open("/proc/self/cmdline", O_RDONLY);
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec out = {(void *)bytes, strlen(bytes)};
    struct msghdr sm = {0};
    sm.msg_iov = &out;
    sm.msg_iovlen = 1;
    sm.msg_control = cbuf;
    sm.msg_controllen = sizeof cbuf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&sm);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &file, sizeof file);
    long sent = sendmsg(sock, &sm, 0);
    close(file);
    return sent;
}

/* MSG_WAITALL on an AF_UNIX stream (was EOPNOTSUPP): a receive waits for all it asked,
 * across writes that come later, and ends early at the end of the stream or after bytes
 * that carry files; with MSG_DONTWAIT it takes what is there. */
static void stream_waitall(void)
{
    int sv[2];
    char buf[64];
    long r;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    SHOW("waitall|dontwait, empty", recv(sv[0], buf, 10, MSG_WAITALL | MSG_DONTWAIT));
    write(sv[1], "abc", 3);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 10, MSG_WAITALL | MSG_DONTWAIT);
    printf("waitall|dontwait, 3 there: %ld [%s]\n", r, buf);
    pid_t child = fork();
    if (child == 0) {
        write(sv[1], "ab", 2);
        usleep(100000);
        write(sv[1], "cdefg", 5);
        usleep(100000);
        write(sv[1], "hijkl", 5);
        usleep(100000);
        send_fd(sv[1], "FD");
        write(sv[1], "after", 5);
        usleep(100000);
        write(sv[1], "xyz", 3);
        _exit(0);
    }
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 10, MSG_WAITALL);
    printf("waitall 10 over three writes: %ld [%s]\n", r, buf);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 20, MSG_WAITALL);
    printf("waitall 20, files on the way: %ld [%s]\n", r, buf);
    waitpid(child, NULL, 0);
    close(sv[1]);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 20, MSG_WAITALL);
    printf("waitall 20, then the end: %ld [%s]\n", r, buf);
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    child = fork();
    if (child == 0) {
        write(sv[1], "12", 2);
        usleep(100000);
        send_fd(sv[1], "34");
        write(sv[1], "56", 2);
        char done;
        read(sv[1], &done, 1);  /* alive until the parent has read its passed file */
        _exit(0);
    }
    recv_with_fd(sv[0], MSG_WAITALL, "recvmsg waitall 10");
    recv_with_fd(sv[0], 0, "recvmsg then");
    write(sv[0], "!", 1);
    waitpid(child, NULL, 0);
    /* a signal (no SA_RESTART): the bytes taken so far, or EINTR with none */
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigaction(SIGALRM, &sa, &old);
    struct itimerval t = {.it_value = {.tv_usec = 100000}};
    write(sv[1], "abc", 3);
    setitimer(ITIMER_REAL, &t, NULL);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 10, MSG_WAITALL);
    printf("waitall 10, a signal after 3: %ld [%s]\n", r, buf);
    SHOW("then, nothing left", recv(sv[0], buf, 10, MSG_DONTWAIT));
    setitimer(ITIMER_REAL, &t, NULL);
    SHOW("waitall 10, a signal before any", recv(sv[0], buf, 10, MSG_WAITALL));
    sigaction(SIGALRM, &old, NULL);
    close(sv[0]);
    close(sv[1]);
}

/* recv(2) flags on AF_UNIX streams (CPython's test_socket RecvmsgUnixStreamTest
 * testRecvmsgPeek: MSG_PEEK was EOPNOTSUPP). */
static void stream_peek(void)
{
    int sv[2];
    char buf[64];
    long r;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    SHOW("peek empty nonblock", recv(sv[0], buf, 10, MSG_PEEK | MSG_DONTWAIT));
    write(sv[1], "hello", 5);
    write(sv[1], " world", 6);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 8, MSG_PEEK);
    printf("peek 8: %ld [%s]\n", r, buf);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 64, MSG_PEEK);
    printf("peek 64: %ld [%s]\n", r, buf);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 3, 0);
    printf("recv 3: %ld [%s]\n", r, buf);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 64, MSG_PEEK | MSG_TRUNC);
    printf("peek|trunc: %ld [%s]\n", r, buf);
    struct iovec iov = {buf, 4};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    memset(buf, 0, sizeof buf);
    r = recvmsg(sv[0], &m, MSG_PEEK);
    printf("recvmsg peek 4: %ld [%s] flags %x\n", r, buf, m.msg_flags);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 64, MSG_NOSIGNAL);
    printf("recv NOSIGNAL: %ld [%s]\n", r, buf);
    SHOW("recv OOB", recv(sv[0], buf, 64, MSG_OOB | MSG_DONTWAIT));
    SHOW("recv ERRQUEUE", recv(sv[0], buf, 64, MSG_ERRQUEUE | MSG_DONTWAIT));
    pid_t child = fork();
    if (child == 0) {
        usleep(200000);
        write(sv[1], "abc", 3);
        _exit(0);
    }
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 64, MSG_PEEK);
    printf("blocking peek: %ld [%s]\n", r, buf);
    waitpid(child, NULL, 0);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 64, 0);
    printf("recv: %ld [%s]\n", r, buf);
    /* a passed fd: a peek gives a copy of it, the read the fd itself */
    SHOW("sendmsg with an fd", send_fd(sv[1], "Fd"));
    write(sv[1], "tail", 4);
    recv_with_fd(sv[0], MSG_PEEK, "recvmsg peek");
    recv_with_fd(sv[0], MSG_PEEK, "recvmsg peek again");
    recv_with_fd(sv[0], 0, "recvmsg");
    recv_with_fd(sv[0], 0, "recvmsg after");
    close(sv[1]);
    SHOW("peek at the end", recv(sv[0], buf, 64, MSG_PEEK));
    close(sv[0]);
}

/* /dev/tty in a session with no controlling terminal: ENXIO (CPython's test_fileio
 * testAbles: a /dev/tty that opens must be a terminal). The run has no terminal: natively
 * under setsid(1), under CloudOS with none on the host's stdin; a new session has none. */
static void dev_tty(void)
{
    int fd = open("/dev/tty", O_WRONLY | O_APPEND);
    int e = errno;
    if (fd < 0)
        printf("open /dev/tty: -1 %s\n", errname(e));
    else
        printf("open /dev/tty: a terminal: %d\n", isatty(fd));
    pid_t child = fork();
    if (child == 0) {
        setsid();
        fd = open("/dev/tty", O_RDWR);
        printf("in a new session: %s\n", fd < 0 ? errname(errno) : "opened");
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

/* statfs's f_flags: ST_VALID (0x20) always, since Linux 2.6.36; glibc's statvfs takes
 * it away (XOR), so a kernel without it shows a stray 0x20 in f_flag (CPython's os.statvfs
 * showed 32 for every mount). */
static void statfs_flags(void)
{
    const char *paths[] = {"/", "/proc", "/dev"};
    for (int i = 0; i < 3; i++) {
        struct statfs fs;
        struct statvfs vfs;
        int r = statfs(paths[i], &fs) | statvfs(paths[i], &vfs);
        printf("%s: %d, ST_VALID in f_flags: %d, 0x20 in statvfs f_flag: %d\n", paths[i], r,
               !!(fs.f_flags & 0x20), !!(vfs.f_flag & 0x20));
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("sched"))
        sched_calls();
    if (section("itimer"))
        itimers();
    if (section("cpu_clocks"))
        cpu_clocks();
    if (section("tcflow"))
        tcflow_calls();
    if (section("proc_dir_pidfd"))
        proc_dir_pidfd();
    if (section("stream_peek"))
        stream_peek();
    if (section("stream_waitall"))
        stream_waitall();
    if (section("creat_dir"))
        creat_dir();
    if (section("tty_seek"))
        tty_seek();
    if (section("dev_tty"))
        dev_tty();
    if (section("statfs_flags"))
        statfs_flags();
    return 0;
}
