/* pty.c — pseudo-terminals: /dev/ptmx, grantpt/unlockpt/ptsname, /dev/pts, the data path through the slave's line discipline (raw, canonical editing and echo, flow control, output processing), ^C, ^Z and ^\ to a forkpty-like child's foreground group, EIO on the master after the slave closes, hang-up, window size and SIGWINCH (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

/* A new master, unlocked, and its slave opened (O_NOCTTY). */
static int open_pair(int *slave)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
        printf("openpt failed: %s\n", errname(errno));
        exit(1);
    }
    *slave = open(ptsname(m), O_RDWR | O_NOCTTY);
    return m;
}

/* What is there to read on fd within a while (the other side's work may be deferred). */
static int drain(int fd, char *buf, int size)
{
    int got = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (got < size && poll(&p, 1, got ? 100 : 2000) == 1 && (p.revents & POLLIN)) {
        int n = read(fd, buf + got, size - got);
        if (n <= 0)
            break;
        got += n;
    }
    return got;
}

/* Bytes as C escapes, so control characters show. */
static void show_bytes(const char *label, const char *buf, int n)
{
    printf("%s: \"", label);
    for (int i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c == '\n')
            printf("\\n");
        else if (c == '\r')
            printf("\\r");
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\" (%d)\n", n);
}

static void openpt(void)
{
    struct stat st;
    stat("/dev/ptmx", &st);
    printf("/dev/ptmx: char %d, %d:%d\n", S_ISCHR(st.st_mode), major(st.st_rdev),
           minor(st.st_rdev));
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    unsigned int n = 0;
    ioctl(m, TIOCGPTN, &n);
    char want[64];
    snprintf(want, sizeof want, "/dev/pts/%u", n);
    printf("grantpt: %d\n", grantpt(m));
    printf("ptsname is /dev/pts/<TIOCGPTN>: %s\n", strcmp(ptsname(m), want) == 0 ? "yes" : "no");
    stat(want, &st);
    printf("slave: char %d, major %d, minor is the index: %s\n", S_ISCHR(st.st_mode),
           major(st.st_rdev), minor(st.st_rdev) == n ? "yes" : "no");
    int lock = -1;
    ioctl(m, TIOCGPTLCK, &lock);
    printf("locked: %d\n", lock);
    SHOW("open while locked", open(want, O_RDWR | O_NOCTTY));
    printf("unlockpt: %d\n", unlockpt(m));
    ioctl(m, TIOCGPTLCK, &lock);
    printf("locked: %d\n", lock);
    int s = open(want, O_RDWR | O_NOCTTY);
    printf("slave opened: %s, isatty both: %d %d\n", s >= 0 ? "yes" : "no", isatty(m),
           isatty(s));
    printf("ttyname is the name: %s\n", strcmp(ttyname(s), want) == 0 ? "yes" : "no");
    SHOW("TIOCGPTN on the slave", ioctl(s, TIOCGPTN, &n));
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    struct stat a, b;
    fstat(peer, &a);
    fstat(s, &b);
    printf("TIOCGPTPEER is the slave: %s\n", peer >= 0 && a.st_rdev == b.st_rdev ? "yes" : "no");
    DIR *d = opendir("/dev/pts");
    int listed = 0, ptmx = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        listed += strcmp(e->d_name, want + 9) == 0 && e->d_type == DT_CHR;
        ptmx += strcmp(e->d_name, "ptmx") == 0;
    }
    closedir(d);
    printf("/dev/pts lists it: %d, and ptmx: %d\n", listed, ptmx);
    close(peer);
    close(s);
    close(m);
    SHOW("stat after the master closed", stat(want, &st));
    int again = posix_openpt(O_RDWR | O_NOCTTY);
    unsigned int n2 = ~0u;
    ioctl(again, TIOCGPTN, &n2);
    printf("index reused (a lowest free one): %s\n", n2 <= n ? "yes" : "no");
    close(again);
    int bad = posix_openpt(O_RDWR | O_NOCTTY);
    SHOW("TIOCGPTN to a bad pointer", ioctl(bad, TIOCGPTN, (void *)8));
    SHOW("TIOCSWINSZ from a bad pointer", ioctl(bad, TIOCSWINSZ, (void *)8));
    SHOW("TCSETS from a bad pointer", ioctl(bad, TCSETS, (void *)8));
    SHOW("TIOCGPTPEER while locked", ioctl(bad, TIOCGPTPEER, O_RDWR));
    close(bad);
    int f = open("/dev/null", O_RDWR);
    SHOW("TIOCGPTN on /dev/null", ioctl(f, TIOCGPTN, &n));
    close(f);
}

static void raw(void)
{
    int s, m = open_pair(&s);
    char buf[256];
    struct termios t;
    tcgetattr(s, &t);
    printf("new slave: iflag %o oflag %o lflag %o VINTR %d VMIN %d\n", t.c_iflag, t.c_oflag,
           t.c_lflag, t.c_cc[VINTR], t.c_cc[VMIN]);
    write(s, "out\n", 4);
    show_bytes("slave wrote out\\n, master reads", buf, drain(m, buf, sizeof buf));
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    struct termios u;
    tcgetattr(m, &u);
    printf("the master's TCGETS is the slave's: %s\n",
           u.c_lflag == t.c_lflag && u.c_oflag == t.c_oflag ? "yes" : "no");
    write(m, "hel\rlo\n\x03", 8);
    struct pollfd p = {s, POLLIN, 0};
    int ready = poll(&p, 1, 2000);
    printf("slave poll: %d revents %x\n", ready, p.revents);
    usleep(100000);
    int avail = -1;
    ioctl(s, FIONREAD, &avail);
    printf("slave FIONREAD: %d\n", avail);
    show_bytes("slave reads", buf, drain(s, buf, sizeof buf));
    write(s, "a\nb", 3);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, m, &ev);
    ready = epoll_wait(ep, &got, 1, 2000);
    printf("master epoll: %d events %x\n", ready, got.events);
    close(ep);
    p.fd = m;
    ready = poll(&p, 1, 2000);
    printf("master poll: %d revents %x\n", ready, p.revents);
    usleep(100000);
    ioctl(m, FIONREAD, &avail);
    printf("master FIONREAD: %d\n", avail);
    show_bytes("master reads", buf, drain(m, buf, sizeof buf));
    fcntl(m, F_SETFL, O_NONBLOCK);
    SHOW("empty master, O_NONBLOCK", read(m, buf, 1));
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 2;  /* tenths of a second */
    tcsetattr(s, TCSANOW, &t);
    SHOW("VMIN 0 VTIME 2, nothing comes", read(s, buf, sizeof buf));
    t.c_cc[VMIN] = 5;
    tcsetattr(s, TCSANOW, &t);
    write(m, "abc", 3);
    SHOW("VMIN 5 VTIME 2, 3 bytes come", read(s, buf, sizeof buf));
    t.c_cc[VTIME] = 0;
    t.c_cc[VMIN] = 0;
    tcsetattr(s, TCSANOW, &t);
    SHOW("VMIN 0 VTIME 0", read(s, buf, sizeof buf));
    close(s);
    close(m);
}

static void canon(void)
{
    int s, m = open_pair(&s);
    char buf[256];
    write(m, "\x13", 1);  /* ^S stops the slave's output (IXON) */
    usleep(100000);
    fcntl(s, F_SETFL, O_NONBLOCK);
    SHOW("slave write after ^S, O_NONBLOCK", write(s, "x", 1));
    struct pollfd out = {s, POLLOUT, 0};
    SHOW("slave POLLOUT after ^S", poll(&out, 1, 0));
    write(m, "\x11", 1);  /* ^Q starts it again */
    usleep(100000);
    SHOW("after ^Q", write(s, "x", 1));
    fcntl(s, F_SETFL, 0);
    show_bytes("master reads", buf, drain(m, buf, sizeof buf));
    write(m, "ab\x7f" "c\r", 5);  /* erase the b; CR is a newline (ICRNL) */
    show_bytes("slave reads", buf, read(s, buf, sizeof buf));
    show_bytes("master sees the echo", buf, drain(m, buf, sizeof buf));
    write(m, "xyz\x15" "ok\n", 7);  /* ^U kills the line */
    show_bytes("after ^U", buf, read(s, buf, sizeof buf));
    drain(m, buf, sizeof buf);
    write(m, "part", 4);
    fcntl(s, F_SETFL, O_NONBLOCK);
    usleep(100000);
    SHOW("no newline yet, O_NONBLOCK", read(s, buf, sizeof buf));
    write(m, "\x04", 1);  /* ^D ends the line without a newline */
    usleep(100000);
    show_bytes("after ^D", buf, read(s, buf, sizeof buf));
    write(m, "\x04", 1);  /* on an empty line: end of file */
    usleep(100000);
    SHOW("^D on an empty line", read(s, buf, sizeof buf));
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &t);
    drain(m, buf, sizeof buf);
    write(m, "quiet\r", 6);
    usleep(100000);
    struct pollfd p = {m, POLLIN, 0};
    SHOW("no echo without ECHO (poll)", poll(&p, 1, 200));
    close(s);
    close(m);
}

/* A forkpty-like child: a new session whose controlling terminal is the slave. */
static pid_t session_child(int m, int s, void (*body)(int))
{
    pid_t pid = fork();
    if (pid == 0) {
        close(m);
        setsid();
        if (ioctl(s, TIOCSCTTY, 0) != 0)
            _exit(90);
        dup2(s, 0);
        dup2(s, 1);
        dup2(s, 2);
        if (s > 2)
            close(s);
        body(0);
        _exit(0);
    }
    return pid;
}

/* The child's "ready" line, read and dropped (one write: one read takes it). */
static void wait_ready(int m)
{
    char buf[64];
    drain(m, buf, sizeof buf);
}

static volatile sig_atomic_t tstps, quits;

static void on_key(int sig)
{
    tstps += sig == SIGTSTP;
    quits += sig == SIGQUIT;
}

/* The child's view of its terminal: its group is the foreground one, its session has it,
 * /dev/tty is it, and a background job that reads it stops (SIGTTIN). */
static void report_sigint(int fd)
{
    pid_t bg = fork();
    if (bg == 0) {
        char c;
        setpgid(0, 0);
        read(fd, &c, 1);
        _exit(0);
    }
    int status;
    waitpid(bg, &status, WUNTRACED);
    kill(bg, SIGKILL);
    waitpid(bg, NULL, 0);
    int tty = open("/dev/tty", O_RDWR);
    struct stat st;
    fstat(fd, &st);
    int tty_nr = 0, tpgid = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    if (f) {
        fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %d %d", &tty_nr, &tpgid);
        fclose(f);
    }
    unsigned mn = minor(st.st_rdev);  /* tty_nr: the device as Linux's new_encode_dev */
    int encoded = (int)((mn & 0xff) | major(st.st_rdev) << 8 | (mn & ~0xffu) << 12);
    char line[128];
    snprintf(line, sizeof line, "ready: pgrp %d sid %d, /dev/tty %d, background read: %s %d, "
             "stat's tty %d tpgid %d\n", tcgetpgrp(fd) == getpid(), tcgetsid(fd) == getpid(),
             tty >= 0, WIFSTOPPED(status) ? "stopped by" : "not stopped", WSTOPSIG(status),
             tty_nr == encoded, tpgid == getpid());
    signal(SIGTSTP, on_key);
    signal(SIGQUIT, on_key);
    write(tty, line, strlen(line));
    while (!tstps || !quits)
        pause();  /* until ^Z and ^\ */
    snprintf(line, sizeof line, "caught TSTP %d QUIT %d\n", tstps, quits);
    write(tty, line, strlen(line));
    pause();  /* until ^C */
}

static void sigint(void)
{
    int s, m = open_pair(&s);
    char buf[128];
    pid_t pid = session_child(m, s, report_sigint);
    close(s);
    show_bytes("the child's own view", buf, drain(m, buf, sizeof buf));
    pid_t fg = 0;
    ioctl(m, TIOCGPGRP, &fg);
    printf("the master's TIOCGPGRP is the child: %s\n", fg == pid ? "yes" : "no");
    write(m, "\x1a", 1);
    usleep(100000);
    write(m, "\x1c", 1);
    show_bytes("after ^Z and ^\\", buf, drain(m, buf, sizeof buf));
    write(m, "\x03", 1);
    int status;
    waitpid(pid, &status, 0);
    printf("child: %s %d\n", WIFSIGNALED(status) ? "killed by" : "exited",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    show_bytes("echo of ^C", buf, drain(m, buf, sizeof buf));
    close(m);
}

static void eio(void)
{
    int s, m = open_pair(&s);
    char buf[64];
    write(s, "bye\n", 4);
    close(s);
    usleep(100000);
    struct pollfd p = {m, POLLIN, 0};
    poll(&p, 1, 1000);
    printf("master poll: POLLHUP %d\n", !!(p.revents & POLLHUP));
    show_bytes("master reads what was left", buf, read(m, buf, sizeof buf));
    SHOW("then", read(m, buf, sizeof buf));
    close(m);
}

static volatile sig_atomic_t hups;

static void on_hup(int sig)
{
    hups += sig == SIGHUP;
}

static void hangup(void)
{
    int s, m = open_pair(&s);
    int report[2];
    pipe(report);
    pid_t pid = fork();
    if (pid == 0) {
        close(m);
        close(report[0]);
        setsid();
        ioctl(s, TIOCSCTTY, 0);
        signal(SIGHUP, on_hup);
        write(report[1], "r", 1);
        char c;
        int n = read(s, &c, 1);  /* ends with the hang-up */
        int e = n < 0 ? errno : 0;
        char line[80];
        int w = write(s, "x", 1);
        int we = w < 0 ? errno : 0;
        int tty = open("/dev/tty", O_RDWR);
        snprintf(line, sizeof line, "SIGHUP %d, read %d %s, write %d %s, /dev/tty %s\n", hups,
                 n, n < 0 ? errname(e) : "", w, w < 0 ? errname(we) : "",
                 tty < 0 ? errname(errno) : "opened");
        write(report[1], line, strlen(line));
        _exit(0);
    }
    close(s);
    close(report[1]);
    char buf[128];
    read(report[0], buf, 1);
    usleep(200000);
    close(m);
    int n = drain(report[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("child after the master closed: %s", buf);
    waitpid(pid, NULL, 0);
}

static volatile sig_atomic_t winches;

static void on_winch(int sig)
{
    winches += sig == SIGWINCH;
}

static void report_size(int fd)
{
    signal(SIGWINCH, on_winch);
    sigset_t none;
    sigemptyset(&none);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGWINCH);
    sigprocmask(SIG_BLOCK, &block, NULL);
    write(1, "ready\n", 6);
    while (!winches)
        sigsuspend(&none);
    struct winsize w;
    ioctl(fd, TIOCGWINSZ, &w);
    char line[64];
    snprintf(line, sizeof line, "SIGWINCH %d: %dx%d\n", winches, w.ws_row, w.ws_col);
    write(1, line, strlen(line));
}

static void winsize(void)
{
    int s, m = open_pair(&s);
    char buf[128];
    struct winsize w = {0}, got;
    ioctl(s, TIOCGWINSZ, &got);
    printf("new: %dx%d\n", got.ws_row, got.ws_col);
    w.ws_row = 24;
    w.ws_col = 80;
    ioctl(m, TIOCSWINSZ, &w);
    ioctl(s, TIOCGWINSZ, &got);
    printf("the slave sees the master's: %dx%d\n", got.ws_row, got.ws_col);
    pid_t pid = session_child(m, s, report_size);
    close(s);
    wait_ready(m);
    w.ws_row = 50;
    w.ws_col = 132;
    ioctl(m, TIOCSWINSZ, &w);
    show_bytes("the child", buf, drain(m, buf, sizeof buf));
    waitpid(pid, NULL, 0);
    close(m);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (section("openpt"))
        openpt();
    if (section("raw"))
        raw();
    if (section("canon"))
        canon();
    if (section("sigint"))
        sigint();
    if (section("eio"))
        eio();
    if (section("hangup"))
        hangup();
    if (section("winsize"))
        winsize();
    return 0;
}
