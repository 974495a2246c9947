/* inotify.c — inotify and dnotify as Linux does them: the events of a watched directory's children and of a watched file, moves and their cookies, wd reuse, IN_ONESHOT, IN_MASK_ADD/IN_MASK_CREATE, rm_watch and IN_IGNORED, delete_self, non-blocking and blocking reads, short buffers, FIONREAD, poll/epoll readiness, queue overflow, the errors; dnotify's SIGIO (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

static const struct { uint32_t bit; const char *name; } BITS[] = {
    {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
    {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
    {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"}, {IN_CREATE, "CREATE"},
    {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
    {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},
    {IN_ISDIR, "ISDIR"},
};

static uint32_t cookies[64];
static int ncookies;

/* A cookie as the order it first appeared in (its value is the kernel's). */
static int cookie_index(uint32_t cookie)
{
    for (int i = 0; i < ncookies; i++)
        if (cookies[i] == cookie)
            return i + 1;
    if (ncookies < 64)
        cookies[ncookies++] = cookie;
    return ncookies;
}

static void show_event(const struct inotify_event *e)
{
    printf("  wd=%d", e->wd);
    for (size_t i = 0; i < sizeof BITS / sizeof BITS[0]; i++)
        if (e->mask & BITS[i].bit)
            printf(" %s", BITS[i].name);
    if (e->cookie)
        printf(" cookie#%d", cookie_index(e->cookie));
    if (e->len)
        printf(" name=%s len=%u", e->name, e->len);
    printf("\n");
}

/* Reads and prints every event queued now (the fd need not be non-blocking). */
static int drain(int fd)
{
    char buf[8192] __attribute__((aligned(8)));
    int count = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            break;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            printf("  read: %zd %s\n", n, n < 0 ? errname(errno) : "");
            break;
        }
        for (char *at = buf; at < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)at;
            show_event(e);
            count++;
            at += sizeof *e + e->len;
        }
    }
    return count;
}

static void touch(const char *path, const char *text)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (text)
        write(fd, text, strlen(text));
    close(fd);
}

static void basic(void)
{
    int in = inotify_init1(IN_CLOEXEC);
    mkdir("d", 0755);
    int wd = inotify_add_watch(in, "d", IN_ALL_EVENTS);
    printf("wd: %d\n", wd);
    printf("create, write, close:\n");
    int fd = open("d/f", O_CREAT | O_WRONLY, 0644);
    write(fd, "hello", 5);
    close(fd);
    drain(in);
    printf("open, read, close:\n");
    char b[16];
    fd = open("d/f", O_RDONLY);
    read(fd, b, sizeof b);
    read(fd, b, sizeof b);  /* end of file: no event */
    close(fd);
    drain(in);
    printf("chmod, chown, utimes, truncate:\n");
    chmod("d/f", 0600);
    chown("d/f", geteuid(), getegid());
    utimes("d/f", NULL);
    truncate("d/f", 2);
    drain(in);
    printf("open O_TRUNC, append, pwrite, pread:\n");
    fd = open("d/f", O_RDWR | O_TRUNC);
    write(fd, "ab", 2);
    pwrite(fd, "cd", 2, 10);
    pread(fd, b, 2, 0);
    close(fd);
    drain(in);
    printf("mkdir, symlink, link, mknod fifo:\n");
    mkdir("d/sub", 0755);
    symlink("f", "d/l");
    link("d/f", "d/h");
    mkfifo("d/p", 0644);
    drain(in);
    printf("list the directory:\n");
    fd = open("d", O_RDONLY | O_DIRECTORY);
    char dents[4096];
    syscall(SYS_getdents64, fd, dents, sizeof dents);
    close(fd);
    drain(in);
    printf("unlink, rmdir:\n");
    unlink("d/h");
    unlink("d/l");
    unlink("d/p");
    unlink("d/f");
    rmdir("d/sub");
    drain(in);
    printf("O_PATH open and close, stat, access: no events\n");
    touch("d/q", NULL);
    drain(in);
    fd = open("d/q", O_PATH);
    close(fd);
    struct stat st;
    stat("d/q", &st);
    access("d/q", R_OK);
    printf("events: %d\n", drain(in));
    close(in);
}

static void self(void)
{
    int in = inotify_init();
    mkdir("d", 0755);
    touch("d/f", "x");
    int wd = inotify_add_watch(in, "d/f", IN_ALL_EVENTS);
    printf("file wd: %d\n", wd);
    int fd = open("d/f", O_RDWR);
    write(fd, "abc", 3);
    lseek(fd, 0, SEEK_SET);
    char b[8];
    read(fd, b, sizeof b);
    ftruncate(fd, 1);
    fchmod(fd, 0640);
    close(fd);
    link("d/f", "d/g");
    unlink("d/g");
    drain(in);
    printf("the directory watched too:\n");
    int dwd = inotify_add_watch(in, "d", IN_ALL_EVENTS);
    printf("dir wd: %d\n", dwd);
    fd = open("d/f", O_WRONLY);
    write(fd, "z", 1);
    close(fd);
    chmod("d/f", 0644);
    drain(in);
    printf("the directory itself opened and read:\n");
    fd = open("d", O_RDONLY | O_DIRECTORY);
    char dents[4096];
    syscall(SYS_getdents64, fd, dents, sizeof dents);
    close(fd);
    chmod("d", 0700);
    drain(in);
    close(in);
}

static void moves(void)
{
    int in = inotify_init();
    mkdir("a", 0755);
    mkdir("b", 0755);
    touch("a/x", NULL);
    touch("a/y", NULL);
    touch("b/z", NULL);
    mkdir("a/sub", 0755);
    int wa = inotify_add_watch(in, "a", IN_ALL_EVENTS);
    int wb = inotify_add_watch(in, "b", IN_ALL_EVENTS);
    int wx = inotify_add_watch(in, "a/x", IN_ALL_EVENTS);
    int wz = inotify_add_watch(in, "b/z", IN_ALL_EVENTS);
    printf("wds: %d %d %d %d\n", wa, wb, wx, wz);
    printf("rename a/x b/x2:\n");
    rename("a/x", "b/x2");
    drain(in);
    printf("rename a/y a/y2 (same directory):\n");
    rename("a/y", "a/y2");
    drain(in);
    printf("rename a/y2 onto b/z:\n");
    rename("a/y2", "b/z");
    drain(in);
    printf("rename a/sub b/sub:\n");
    rename("a/sub", "b/sub");
    drain(in);
    printf("renameat2 RENAME_EXCHANGE a/y3 b/z:\n");
    touch("a/y3", NULL);
    drain(in);
    SHOW("  exchanged", syscall(SYS_renameat2, AT_FDCWD, "a/y3", AT_FDCWD, "b/z", 2));
    drain(in);
    printf("the moved file written at its new name:\n");
    touch("b/x2", "w");
    drain(in);
    close(in);
}

static void wd_reuse(void)
{
    int in = inotify_init();
    mkdir("d", 0755);
    mkdir("e", 0755);
    int w1 = inotify_add_watch(in, "d", IN_CREATE);
    int w2 = inotify_add_watch(in, "d", IN_DELETE);
    int w3 = inotify_add_watch(in, "./d/.", IN_CREATE);
    int w4 = inotify_add_watch(in, "e", IN_CREATE);
    printf("same wd for the same directory: %d %d\n", w1 == w2, w1 == w3);
    printf("another directory's differs: %d\n", w4 != w1);
    symlink("d", "ld");
    int w5 = inotify_add_watch(in, "ld", IN_CREATE);
    printf("through a symlink: same %d\n", w5 == w1);
    int in2 = inotify_init();
    int w6 = inotify_add_watch(in2, "d", IN_CREATE);
    printf("another instance's first wd: %d\n", w6);
    inotify_rm_watch(in, w4);
    int w7 = inotify_add_watch(in, "e", IN_CREATE);
    printf("wd after rm_watch is new: %d\n", w7 != w4);
    touch("d/n", NULL);
    printf("the second instance sees:\n");
    drain(in2);
    close(in2);
    close(in);
}

static void oneshot(void)
{
    int in = inotify_init();
    touch("f", NULL);
    int wd = inotify_add_watch(in, "f", IN_MODIFY | IN_ONESHOT);
    int fd = open("f", O_WRONLY);
    write(fd, "a", 1);
    write(fd, "b", 1);
    close(fd);
    drain(in);
    int again = inotify_add_watch(in, "f", IN_MODIFY);
    printf("a new wd after the one-shot: %d\n", again != wd);
    SHOW("rm_watch of the one-shot's wd", inotify_rm_watch(in, wd));
    close(in);
}

static void mask_add(void)
{
    int in = inotify_init();
    mkdir("d", 0755);
    int wd = inotify_add_watch(in, "d", IN_CREATE);
    SHOW("IN_MASK_ADD IN_DELETE", inotify_add_watch(in, "d", IN_DELETE | IN_MASK_ADD) == wd);
    touch("d/f", NULL);
    unlink("d/f");
    drain(in);
    SHOW("replace with IN_DELETE", inotify_add_watch(in, "d", IN_DELETE) == wd);
    touch("d/f", NULL);
    unlink("d/f");
    drain(in);
    SHOW("IN_MASK_CREATE on a watched dir", inotify_add_watch(in, "d", IN_CREATE | IN_MASK_CREATE));
    SHOW("IN_MASK_CREATE|IN_MASK_ADD", inotify_add_watch(in, "d", IN_CREATE | IN_MASK_CREATE | IN_MASK_ADD));
    mkdir("e", 0755);
    SHOW("IN_MASK_CREATE on a new one", inotify_add_watch(in, "e", IN_CREATE | IN_MASK_CREATE) > 0);
    close(in);
}

static void rm_watch(void)
{
    int in = inotify_init();
    mkdir("d", 0755);
    int wd = inotify_add_watch(in, "d", IN_ALL_EVENTS);
    SHOW("rm_watch", inotify_rm_watch(in, wd));
    drain(in);
    SHOW("rm_watch again", inotify_rm_watch(in, wd));
    SHOW("rm_watch -1", inotify_rm_watch(in, -1));
    SHOW("rm_watch 12345", inotify_rm_watch(in, 12345));
    int pipefd[2];
    pipe(pipefd);
    SHOW("rm_watch on a pipe", inotify_rm_watch(pipefd[0], 1));
    SHOW("rm_watch on a bad fd", inotify_rm_watch(999, 1));
    touch("d/f", NULL);
    printf("events after rm_watch: %d\n", drain(in));
    close(in);
}

static void delete_self(void)
{
    int in = inotify_init();
    mkdir("d", 0755);
    mkdir("d/s", 0755);
    touch("d/f", NULL);
    int wd = inotify_add_watch(in, "d", IN_ALL_EVENTS);
    int ws = inotify_add_watch(in, "d/s", IN_ALL_EVENTS);
    int wf = inotify_add_watch(in, "d/f", IN_ALL_EVENTS);
    printf("wds: %d %d %d\n", wd, ws, wf);
    printf("rmdir d/s:\n");
    rmdir("d/s");
    drain(in);
    printf("unlink d/f:\n");
    unlink("d/f");
    drain(in);
    printf("rmdir d:\n");
    rmdir("d");
    drain(in);
    SHOW("rm_watch of the deleted dir's wd", inotify_rm_watch(in, wd));
    printf("a file unlinked while open, then closed:\n");
    touch("g", NULL);
    int wg = inotify_add_watch(in, "g", IN_ALL_EVENTS);
    printf("wd: %d\n", wg);
    int fd = open("g", O_RDONLY);
    unlink("g");
    drain(in);
    printf("closed:\n");
    close(fd);
    drain(in);
    close(in);
}

static void sigalrm(int sig)
{
    (void)sig;
}

static void nonblock(void)
{
    int in = inotify_init1(IN_NONBLOCK);
    char buf[4096];
    SHOW("read empty, IN_NONBLOCK", read(in, buf, sizeof buf));
    SHOW("F_GETFL has O_NONBLOCK", (fcntl(in, F_GETFL) & O_NONBLOCK) != 0);
    SHOW("F_GETFD without IN_CLOEXEC", fcntl(in, F_GETFD));
    close(in);
    in = inotify_init1(IN_CLOEXEC);
    SHOW("F_GETFD with IN_CLOEXEC", fcntl(in, F_GETFD));
    mkdir("d", 0755);
    inotify_add_watch(in, "d", IN_CREATE);
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        touch("d/late", NULL);
        _exit(0);
    }
    ssize_t n = read(in, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("blocking read woken by a child: %zd %s\n", n, n > 0 ? e->name : "");
    waitpid(child, NULL, 0);
    struct sigaction sa = {.sa_handler = sigalrm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW("blocking read, a signal", read(in, buf, sizeof buf));
    close(in);
}

static void small_buf(void)
{
    int in = inotify_init1(IN_NONBLOCK);
    mkdir("d", 0755);
    inotify_add_watch(in, "d", IN_CREATE);
    touch("d/a-rather-long-name", NULL);
    char buf[4096] __attribute__((aligned(8)));
    SHOW("read 0 bytes", read(in, buf, 0));
    SHOW("read 16 bytes", read(in, buf, sizeof(struct inotify_event)));
    SHOW("read 35 bytes", read(in, buf, sizeof(struct inotify_event) + 19));
    SHOW("read 48 bytes", read(in, buf, sizeof(struct inotify_event) + 32));
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("len %u name %s\n", e->len, e->name);
    touch("d/b", NULL);
    touch("d/c", NULL);
    SHOW("read room for one and a half", read(in, buf, 2 * sizeof(struct inotify_event) + 24));
    SHOW("then the other", read(in, buf, sizeof buf));
    SHOW("bad buffer, events queued", (touch("d/e", NULL), read(in, (void *)8, 4096)));
    close(in);
}

static void fionread(void)
{
    int in = inotify_init1(IN_NONBLOCK);
    mkdir("d", 0755);
    inotify_add_watch(in, "d", IN_CREATE | IN_DELETE);
    int n = -1;
    SHOW("FIONREAD empty", (ioctl(in, FIONREAD, &n), n));
    touch("d/x", NULL);
    touch("d/abcdefghijklmnopqrstu", NULL);
    SHOW("FIONREAD two events", (ioctl(in, FIONREAD, &n), n));
    char buf[4096];
    SHOW("read", read(in, buf, sizeof buf));
    SHOW("FIONREAD after", (ioctl(in, FIONREAD, &n), n));
    close(in);
}

static void readiness(void)
{
    int in = inotify_init1(IN_NONBLOCK);
    mkdir("d", 0755);
    inotify_add_watch(in, "d", IN_CREATE);
    struct pollfd p = {.fd = in, .events = POLLIN | POLLOUT};
    SHOW("poll empty", (poll(&p, 1, 0), p.revents));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev);
    SHOW("epoll empty", epoll_wait(ep, &out, 1, 0));
    touch("d/x", NULL);
    SHOW("poll after an event", (poll(&p, 1, 0), p.revents));
    SHOW("epoll after an event", epoll_wait(ep, &out, 1, 0));
    fd_set r;
    FD_ZERO(&r);
    FD_SET(in, &r);
    struct timeval tv = {0, 0};
    SHOW("select", select(in + 1, &r, NULL, NULL, &tv));
    char buf[4096];
    read(in, buf, sizeof buf);
    SHOW("poll read out", (poll(&p, 1, 0), p.revents));
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        touch("d/y", NULL);
        _exit(0);
    }
    p.events = POLLIN;
    SHOW("poll waits for a child's event", (poll(&p, 1, 5000), p.revents));
    SHOW("epoll_wait too", epoll_wait(ep, &out, 1, 5000));
    waitpid(child, NULL, 0);
    close(ep);
    close(in);
}

static void coalesce(void)
{
    int in = inotify_init1(IN_NONBLOCK);
    touch("f", NULL);
    touch("g", NULL);
    inotify_add_watch(in, ".", IN_MODIFY | IN_ACCESS);
    int fd = open("f", O_RDWR);
    int gd = open("g", O_RDWR);
    write(fd, "a", 1);
    write(fd, "b", 1);
    write(gd, "c", 1);
    write(fd, "d", 1);
    write(fd, "e", 1);
    char b[4];
    pread(fd, b, 1, 0);
    pread(fd, b, 1, 0);
    printf("coalesced:\n");
    drain(in);
    write(fd, "f", 1);
    printf("after a read, again:\n");
    drain(in);
    close(fd);
    close(gd);
    close(in);
}

static void overflow(void)
{
    int in = inotify_init1(IN_NONBLOCK);
    touch("f", NULL);
    touch("g", NULL);
    inotify_add_watch(in, ".", IN_MODIFY);
    int fd = open("f", O_WRONLY);
    int gd = open("g", O_WRONLY);
    FILE *max = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    int limit = 0;
    if (max) {
        fscanf(max, "%d", &limit);
        fclose(max);
    }
    printf("max_queued_events: %d\n", limit);
    for (int i = 0; i < limit + 10; i++)
        write(i % 2 ? gd : fd, "x", 1);
    int n = -1;
    ioctl(in, FIONREAD, &n);
    printf("FIONREAD: %d\n", n);
    static char buf[1 << 16];
    int events = 0, overflows = 0, last_wd = 0;
    uint32_t last_mask = 0;
    ssize_t got;
    while ((got = read(in, buf, sizeof buf)) > 0)
        for (char *at = buf; at < buf + got;) {
            struct inotify_event *e = (struct inotify_event *)at;
            events++;
            overflows += !!(e->mask & IN_Q_OVERFLOW);
            last_wd = e->wd;
            last_mask = e->mask;
            at += sizeof *e + e->len;
        }
    printf("events %d, overflows %d, last wd %d mask %#x\n", events, overflows, last_wd,
           last_mask);
    close(fd);
    close(gd);
    close(in);
}

static void fdinfo(void)
{
    int in = inotify_init();
    mkdir("d", 0755);
    touch("f", NULL);
    inotify_add_watch(in, "d", IN_CREATE | IN_EXCL_UNLINK);
    inotify_add_watch(in, "f", IN_ALL_EVENTS | IN_ONESHOT);
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", in);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        unsigned wd, mask;
        char *at = strstr(line, "inotify wd:");
        if (at && sscanf(at, "inotify wd:%x", &wd) == 1 && strstr(line, " mask:")
                && sscanf(strstr(line, " mask:"), " mask:%x", &mask) == 1)
            printf("watch wd %u mask %#x\n", wd, mask);
    }
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "/proc/self/fd/%d", in);
    ssize_t n = readlink(path, line, sizeof line - 1);
    line[n > 0 ? n : 0] = 0;
    printf("fd link: %s\n", line);
    close(in);
}

static void copies(void)
{
    int in = inotify_init1(IN_NONBLOCK);
    touch("f", "hello");
    touch("g", NULL);
    inotify_add_watch(in, ".", IN_ACCESS | IN_MODIFY);
    int fd = open("f", O_RDONLY), gd = open("g", O_WRONLY);
    printf("sendfile:\n");
    SHOW("  sent", sendfile(gd, fd, NULL, 5));
    drain(in);
    printf("copy_file_range:\n");
    loff_t at = 0;
    SHOW("  copied", copy_file_range(fd, &at, gd, NULL, 5, 0));
    drain(in);
    printf("splice through a pipe:\n");
    int p[2];
    pipe(p);
    at = 0;
    SHOW("  into the pipe", splice(fd, &at, p[1], NULL, 5, 0));
    SHOW("  out of it", splice(p[0], NULL, gd, NULL, 5, 0));
    drain(in);
    close(p[0]);
    close(p[1]);
    close(fd);
    close(gd);
    close(in);
}

static void fifo(void)
{
    int in = inotify_init1(IN_NONBLOCK);
    mkdir("d", 0755);
    mkfifo("d/p", 0644);
    inotify_add_watch(in, "d", IN_ALL_EVENTS);
    int wp = inotify_add_watch(in, "d/p", IN_ALL_EVENTS);
    printf("fifo wd: %d\n", wp);
    int fd = open("d/p", O_RDWR);
    char b[8];
    for (int i = 0; i < 3; i++) {
        write(fd, "ab", 2);
        read(fd, b, sizeof b);
    }
    close(fd);
    drain(in);
    printf("an anonymous pipe beside it:\n");
    int pipefd[2];
    pipe(pipefd);
    write(pipefd[1], "x", 1);
    SHOW("pipe read", read(pipefd[0], b, sizeof b));
    close(pipefd[0]);
    close(pipefd[1]);
    printf("events: %d\n", drain(in));
    close(in);
}

static void unmount(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* a namespace of its own whose mounts never reach the host's */
        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            printf("private namespace: %s\n", errname(errno));
        mkdir("m", 0755);
        mkdir("n", 0755);
        SHOW("mount tmpfs", mount("none", "m", "tmpfs", 0, NULL));
        touch("m/f", NULL);
        int in = inotify_init1(IN_NONBLOCK);
        int wf = inotify_add_watch(in, "m/f", IN_ATTRIB);
        int wn = inotify_add_watch(in, "n", IN_ATTRIB);
        printf("wds: %d %d\n", wf, wn);
        SHOW("umount", umount("m"));
        drain(in);
        SHOW("rm_watch of the unmounted file's wd", inotify_rm_watch(in, wf));
        SHOW("the other watch stays", inotify_rm_watch(in, wn));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void errors(void)
{
    SHOW("inotify_init1(IN_NONBLOCK<<1)", inotify_init1(IN_NONBLOCK << 1));
    SHOW("inotify_init1(O_RDWR)", inotify_init1(O_RDWR));
    int in = inotify_init();
    touch("f", NULL);
    mkdir("d", 0755);
    symlink("f", "lf");
    symlink("d", "ld");
    SHOW("add_watch bad fd", inotify_add_watch(999, "f", IN_MODIFY));
    int pipefd[2];
    pipe(pipefd);
    SHOW("add_watch on a pipe", inotify_add_watch(pipefd[0], "f", IN_MODIFY));
    SHOW("add_watch mask 0", inotify_add_watch(in, "f", 0));
    SHOW("add_watch mask IN_ONESHOT only", inotify_add_watch(in, "f", IN_ONESHOT));
    SHOW("add_watch unknown bit", inotify_add_watch(in, "f", IN_MODIFY | 0x00008000));
    SHOW("add_watch missing", inotify_add_watch(in, "nope", IN_MODIFY));
    SHOW("add_watch missing/x", inotify_add_watch(in, "nope/x", IN_MODIFY));
    SHOW("add_watch f/x", inotify_add_watch(in, "f/x", IN_MODIFY));
    SHOW("add_watch \"\"", inotify_add_watch(in, "", IN_MODIFY));
    SHOW("add_watch NULL", inotify_add_watch(in, NULL, IN_MODIFY));
    SHOW("add_watch bad pointer", inotify_add_watch(in, (char *)8, IN_MODIFY));
    SHOW("IN_ONLYDIR on a file", inotify_add_watch(in, "f", IN_MODIFY | IN_ONLYDIR));
    SHOW("IN_ONLYDIR on a dir", inotify_add_watch(in, "d", IN_MODIFY | IN_ONLYDIR) > 0);
    SHOW("IN_ONLYDIR on a link to a dir", inotify_add_watch(in, "ld", IN_MODIFY | IN_ONLYDIR) > 0);
    SHOW("IN_ONLYDIR|IN_DONT_FOLLOW on a link to a dir",
         inotify_add_watch(in, "ld", IN_MODIFY | IN_ONLYDIR | IN_DONT_FOLLOW));
    int wf = inotify_add_watch(in, "f", IN_ATTRIB);
    int wl = inotify_add_watch(in, "lf", IN_ATTRIB | IN_DONT_FOLLOW);
    printf("IN_DONT_FOLLOW watches the link: %d\n", wl != wf);
    SHOW("through the link: the file's wd", inotify_add_watch(in, "lf", IN_ATTRIB) == wf);
    chmod("f", 0600);
    drain(in);
    if (geteuid() == 0) {
        pid_t child = fork();
        if (child == 0) {
            if (setgid(65534) || setuid(65534))
                _exit(1);
            SHOW("add_watch of a path nobody may search", inotify_add_watch(in, "f", IN_MODIFY));
            touch("/tmp/cloudos-inotify-noread", NULL);
            chmod("/tmp/cloudos-inotify-noread", 0);
            SHOW("add_watch of a file nobody may read",
                 inotify_add_watch(in, "/tmp/cloudos-inotify-noread", IN_MODIFY));
            unlink("/tmp/cloudos-inotify-noread");
            fflush(stdout);
            _exit(0);
        }
        waitpid(child, NULL, 0);
    } else {
        chmod("f", 0);
        SHOW("add_watch of a path nobody may search", -1 + 0 * (errno = EACCES));
        SHOW("add_watch of a file nobody may read", inotify_add_watch(in, "f", IN_MODIFY));
    }
    char buf[64];
    fcntl(in, F_SETFL, O_NONBLOCK);
    SHOW("write to an inotify fd", write(in, "x", 1));
    SHOW("lseek an inotify fd", lseek(in, 0, SEEK_SET));
    SHOW("read empty", read(in, buf, sizeof buf));
    close(in);
}

/* Writes /proc/sys/fs/inotify/NAME (CloudOS only: the limits section changes them). */
static int set_limit(const char *name, int value)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/fs/inotify/%s", name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", value);
    return fclose(f);
}

static void limits(void)
{
    SHOW("max_queued_events 4", set_limit("max_queued_events", 4));
    int in = inotify_init1(IN_NONBLOCK);
    mkdir("d", 0755);
    inotify_add_watch(in, "d", IN_CREATE);
    char name[8];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "d/%d", i);
        touch(name, NULL);
    }
    drain(in);
    SHOW("max_user_watches 2", set_limit("max_user_watches", 2));
    mkdir("e", 0755);
    mkdir("f", 0755);
    SHOW("a second watch", inotify_add_watch(in, "e", IN_CREATE));
    SHOW("a third", inotify_add_watch(in, "f", IN_CREATE));
    SHOW("the first again (not a new one)", inotify_add_watch(in, "d", IN_DELETE));
    close(in);
    in = inotify_init();
    SHOW("after the instance closed, its watches are free", inotify_add_watch(in, "f", IN_CREATE));
    SHOW("max_user_instances 2", set_limit("max_user_instances", 2));
    int second = inotify_init();
    SHOW("a second instance", second >= 0);
    SHOW("a third", inotify_init());
    close(second);
    SHOW("after one closed", inotify_init() >= 0);
}

static volatile sig_atomic_t io_signals, io_fd, io_code;

static void on_io(int sig, siginfo_t *info, void *ctx)
{
    (void)sig; (void)ctx;
    io_signals++;
    io_fd = info->si_fd;
    io_code = info->si_code;
}

static void dnotify(void)
{
    mkdir("d", 0755);
    touch("f", NULL);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    int ffd = open("f", O_RDONLY);
    SHOW("F_NOTIFY on a file", fcntl(ffd, F_NOTIFY, DN_MODIFY));
    SHOW("F_NOTIFY DN_MULTISHOT alone on a file", fcntl(ffd, F_NOTIFY, DN_MULTISHOT));
    SHOW("F_NOTIFY DN_MULTISHOT alone", fcntl(dfd, F_NOTIFY, DN_MULTISHOT));
    SHOW("F_NOTIFY 0", fcntl(dfd, F_NOTIFY, 0));
    struct sigaction sa = {.sa_sigaction = on_io, .sa_flags = SA_SIGINFO};
    sigaction(SIGIO, &sa, NULL);
    sigaction(SIGRTMIN + 1, &sa, NULL);
    SHOW("F_NOTIFY DN_CREATE", fcntl(dfd, F_NOTIFY, DN_CREATE));
    SHOW("F_GETOWN is the caller", fcntl(dfd, F_GETOWN) == getpid());
    touch("d/a", NULL);
    printf("one-shot: signals %d\n", (int)io_signals);
    touch("d/b", NULL);
    printf("then none: signals %d\n", (int)io_signals);
    io_signals = 0;
    SHOW("F_SETSIG SIGRTMIN+1", fcntl(dfd, F_SETSIG, SIGRTMIN + 1));
    SHOW("F_NOTIFY DN_DELETE|DN_MODIFY|DN_MULTISHOT",
         fcntl(dfd, F_NOTIFY, DN_DELETE | DN_MODIFY | DN_MULTISHOT));
    unlink("d/a");
    int fd = open("d/b", O_WRONLY);
    write(fd, "x", 1);
    close(fd);
    printf("multishot: signals %d, si_fd is the dir fd %d, si_code POLL_MSG %d\n",
           (int)io_signals, io_fd == dfd, io_code == POLL_MSG);
    io_signals = 0;
    touch("d/c", NULL);
    printf("DN_CREATE not asked: signals %d\n", (int)io_signals);
    /* (one event a call from here on: CloudOS keeps one pending instance of a
     * real-time signal, where Linux queues each) */
    close(dfd);
    dfd = open("d", O_RDONLY | O_DIRECTORY);
    fcntl(dfd, F_SETSIG, SIGRTMIN + 1);
    SHOW("F_NOTIFY DN_RENAME", fcntl(dfd, F_NOTIFY, DN_RENAME | DN_MULTISHOT));
    rename("d/c", "d/c2");
    printf("rename: signals %d\n", (int)io_signals);
    chmod("d/c2", 0600);
    printf("chmod, not asked: signals %d\n", (int)io_signals);
    SHOW("F_NOTIFY DN_ATTRIB|DN_ACCESS adds to it",
         fcntl(dfd, F_NOTIFY, DN_ATTRIB | DN_ACCESS | DN_MULTISHOT));
    chmod("d/c2", 0644);
    char b[4];
    fd = open("d/b", O_RDONLY);
    read(fd, b, 1);
    close(fd);
    rename("d/c2", "d/c3");
    printf("chmod, read, rename: signals %d\n", (int)io_signals);
    io_signals = 0;
    close(dfd);
    touch("d/e", NULL);
    printf("after close: signals %d\n", (int)io_signals);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    struct { const char *name; void (*run)(void); } sections[] = {
        {"basic", basic}, {"self", self}, {"moves", moves}, {"wd_reuse", wd_reuse},
        {"oneshot", oneshot}, {"mask_add", mask_add}, {"rm_watch", rm_watch},
        {"delete_self", delete_self}, {"nonblock", nonblock}, {"small_buf", small_buf},
        {"fionread", fionread}, {"readiness", readiness}, {"coalesce", coalesce},
        {"overflow", overflow}, {"fdinfo", fdinfo}, {"copies", copies}, {"fifo", fifo}, {"unmount", unmount}, {"errors", errors},
        {"dnotify", dnotify}, {"limits", limits},
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (sections[i].run == limits && !only)
            continue;  /* (it changes the machine's limits: run only by name) */
        if (!section(sections[i].name))
            continue;
        testdir_enter(sections[i].name);
        ncookies = 0;
        sections[i].run();
        fflush(stdout);
        chdir("/");
        testdir_rm(testdir_path);
    }
    return 0;
}
