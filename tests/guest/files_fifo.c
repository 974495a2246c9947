/* files_fifo.c — FIFOs between processes: the blocking open order (a reader waits for a writer and a writer for a reader), O_NONBLOCK opens (ENXIO for a writer without readers), poll readiness, EOF and EPIPE, an open interrupted by a signal, and pipes opened again through /proc/self/fd and /dev/fd (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

static void ok(const char *label, long r)
{
    int e = errno;
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(e));
    else
        printf("%s: ok\n", label);
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void show_status(const char *label, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", label, WTERMSIG(st));
}

static const char *events(short r)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s%s%s%s", r & POLLIN ? "IN " : "", r & POLLOUT ? "OUT " : "",
             r & POLLHUP ? "HUP " : "", r & POLLERR ? "ERR " : "");
    return buf;
}

static void show_poll(const char *label, int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int r = poll(&p, 1, 0);
    printf("%s: %d revents=%s\n", label, r, events(p.revents));
}

/* The reader opens first and waits; the child opens for writing 100 ms later. */
static void reader_first(void)
{
    pid_t child = fork();
    if (child == 0) {
        pause_ms(100);
        int w = open("f1", O_WRONLY);
        write(w, "hello", 5);
        close(w);
        _exit(0);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = open("f1", O_RDONLY);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    ok("open O_RDONLY (waits for the writer)", r);
    printf("it waited: %s\n", ms >= 50 ? "yes" : "no");
    char buf[16] = {0};
    ssize_t n = 0, got;
    while ((got = read(r, buf + n, sizeof buf - 1 - n)) > 0)
        n += got;
    printf("read until EOF: %zd [%s], last read %zd\n", n, buf, got);
    int st;
    waitpid(child, &st, 0);
    show_status("writer", st);
    close(r);
}

/* The writer opens first and waits; the child opens for reading 100 ms later. */
static void writer_first(void)
{
    pid_t child = fork();
    if (child == 0) {
        pause_ms(100);
        int r = open("f1", O_RDONLY);
        char buf[16] = {0};
        ssize_t n = 0, got;
        while ((got = read(r, buf + n, sizeof buf - 1 - n)) > 0)
            n += got;
        printf("child read: %zd [%s]\n", n, buf);
        fflush(stdout);
        _exit(0);
    }
    int w = open("f1", O_WRONLY);
    ok("open O_WRONLY (waits for the reader)", w);
    SHOW("write", write(w, "world", 5));
    close(w);
    int st;
    waitpid(child, &st, 0);
    show_status("reader", st);
}

static void order(void)
{
    SHOW("mkfifo f1", mkfifo("f1", 0644));
    reader_first();
    writer_first();
}

static void nonblock(void)
{
    mkfifo("f2", 0600);
    ok("O_WRONLY|O_NONBLOCK, no reader", open("f2", O_WRONLY | O_NONBLOCK));
    int r = open("f2", O_RDONLY | O_NONBLOCK);
    ok("O_RDONLY|O_NONBLOCK", r);
    show_poll("poll reader, no writer yet", r, POLLIN);
    char buf[8];
    SHOW("read, no writer", read(r, buf, sizeof buf));
    int w = open("f2", O_WRONLY | O_NONBLOCK);
    ok("O_WRONLY|O_NONBLOCK with a reader", w);
    SHOW("read, writer and no data", read(r, buf, sizeof buf));
    show_poll("poll writer", w, POLLOUT);
    SHOW("write", write(w, "abc", 3));
    show_poll("poll reader", r, POLLIN);
    SHOW("read", read(r, buf, sizeof buf));
    close(w);
    show_poll("poll reader, writer gone", r, POLLIN);
    SHOW("read, writer gone", read(r, buf, sizeof buf));
    close(r);
    int rw = open("f2", O_RDWR);
    ok("O_RDWR (never waits)", rw);
    show_poll("poll O_RDWR", rw, POLLIN | POLLOUT);
    SHOW("write O_RDWR", write(rw, "xyz", 3));
    show_poll("poll O_RDWR with data", rw, POLLIN | POLLOUT);
    close(rw);
    rw = open("f2", O_RDWR | O_NONBLOCK);
    SHOW("read after every opener closed (the data went)", read(rw, buf, sizeof buf));
    close(rw);
}

static void epipe(void)
{
    mkfifo("f3", 0600);
    int r = open("f3", O_RDONLY | O_NONBLOCK);
    int w = open("f3", O_WRONLY);
    ok("writer opens at once with a reader", w);
    close(r);
    show_poll("poll writer, reader gone", w, POLLOUT);
    signal(SIGPIPE, SIG_IGN);
    SHOW("write, no reader (SIGPIPE ignored)", write(w, "x", 1));
    signal(SIGPIPE, SIG_DFL);
    pid_t child = fork();
    if (child == 0) {
        write(w, "x", 1);
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    show_status("writer with SIGPIPE's default action", st);
    close(w);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void interrupted(void)
{
    mkfifo("f4", 0600);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;  /* no SA_RESTART: the open fails EINTR */
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    ok("open O_RDONLY, interrupted", open("f4", O_RDONLY));
    ok("then O_WRONLY|O_NONBLOCK (the interrupted reader is gone)",
       open("f4", O_WRONLY | O_NONBLOCK));
}

static int handled;

static void count_alarm(int sig)
{
    (void)sig;
    handled++;
}

/* With SA_RESTART the interrupted open runs again and still waits for the writer. */
static void restarted(void)
{
    mkfifo("f7", 0600);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pid_t child = fork();
    if (child == 0) {
        pause_ms(600);
        int w = open("f7", O_WRONLY);
        write(w, "late", 4);
        _exit(0);
    }
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_usec = 200000;
    setitimer(ITIMER_REAL, &it, NULL);
    int r = open("f7", O_RDONLY);
    ok("open O_RDONLY, SA_RESTART handler ran meanwhile", r);
    printf("handlers run: %d\n", handled);
    char buf[8] = {0};
    SHOW("read", read(r, buf, sizeof buf - 1));
    printf("bytes: [%s]\n", buf);
    int st;
    waitpid(child, &st, 0);
    show_status("writer", st);
    close(r);
}

static void procfd(void)
{
    int p[2];
    pipe(p);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    int w2 = open(path, O_WRONLY);
    ok("open /proc/self/fd/W O_WRONLY", w2);
    SHOW("write through it", write(w2, "via-proc", 8));
    snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
    int r2 = open(path, O_RDONLY);
    ok("open /dev/fd/R O_RDONLY", r2);
    char buf[16] = {0};
    SHOW("read through it", read(r2, buf, sizeof buf - 1));
    printf("bytes: [%s]\n", buf);
    struct stat st;
    SHOW("stat /dev/fd/R", stat(path, &st));
    printf("is a FIFO: %d\n", S_ISFIFO(st.st_mode));
    close(p[1]);
    SHOW("write end still open (the reopened one): write", write(w2, "!", 1));
    close(w2);
    SHOW("read the last byte", read(r2, buf, sizeof buf));
    SHOW("every writer closed: read", read(r2, buf, sizeof buf));
    close(p[0]);
    close(r2);
    mkfifo("f5", 0600);
    int rw = open("f5", O_RDWR);
    snprintf(path, sizeof path, "/dev/fd/%d", rw);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    ok("open a FIFO's /dev/fd link", w);
    SHOW("write", write(w, "q", 1));
    SHOW("read from the first", read(rw, buf, sizeof buf));
    close(w);
    close(rw);
}

static void names(void)
{
    umask(022);
    SHOW("mkfifo f6 0666", mkfifo("f6", 0666));
    struct stat st;
    SHOW("stat", stat("f6", &st));
    printf("FIFO: %d, mode %04o, size %ld, nlink %ld\n", S_ISFIFO(st.st_mode),
           st.st_mode & 07777, (long)st.st_size, (long)st.st_nlink);
    SHOW("mkfifo again", mkfifo("f6", 0666));
    SHOW("mkfifo in a missing directory", mkfifo("nodir/f", 0666));
    int rw = open("f6", O_RDWR);
    SHOW("lseek", lseek(rw, 0, SEEK_SET));
    struct stat fst;
    fstat(rw, &fst);
    printf("fstat is the node: %d\n", fst.st_ino == st.st_ino && S_ISFIFO(fst.st_mode));
    char link[256] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", rw);
    ssize_t n = readlink(path, link, sizeof link - 1);
    printf("/proc/self/fd names it: %s\n", n > 0 && strstr(link, "/f6") ? "yes" : "no");
    SHOW("ftruncate", ftruncate(rw, 0));
    close(rw);
    SHOW("unlink", unlink("f6"));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    testdir_enter("fifo");
    if (section("order"))
        order();
    if (section("nonblock"))
        nonblock();
    if (section("epipe"))
        epipe();
    if (section("interrupted"))
        interrupted();
    if (section("restarted"))
        restarted();
    if (section("procfd"))
        procfd();
    if (section("names"))
        names();
    testdir_leave();
    return 0;
}
