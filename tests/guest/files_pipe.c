/* files_pipe.c — pipes: 10 MiB parent<-child in uneven chunks with a checksum, EOF, SIGPIPE and EPIPE, O_NONBLOCK EAGAIN, poll() and select() with and without data and past FD_SETSIZE, writes to a reader already waiting, a pipe's room in pages (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#define TOTAL (10u << 20)

static unsigned char pattern(uint32_t i)
{
    return (unsigned char)(i * 7u + (i >> 13) * 13u + 1u);
}

static void show_status(const char *label, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", label, WTERMSIG(st));
    else
        printf("%s: status %#x\n", label, st);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void show_poll(const char *label, int fd, short events, int timeout)
{
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = poll(&p, 1, timeout);
    int e = errno;
    double ms = ms_since(&t0);
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(e));
        return;
    }
    printf("%s: %d revents=%s%s%s%s%s", label, r, p.revents & POLLIN ? "IN " : "",
           p.revents & POLLOUT ? "OUT " : "", p.revents & POLLHUP ? "HUP " : "",
           p.revents & POLLERR ? "ERR " : "", p.revents & POLLNVAL ? "NVAL " : "");
    if (timeout > 0)
        printf(" waited>=%dms:%s", timeout * 8 / 10, ms >= timeout * 0.8 ? "yes" : "no");
    printf("\n");
}

static void show_select(const char *label, int rfd, int wfd, long usec)
{
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    if (rfd >= 0)
        FD_SET(rfd, &r);
    if (wfd >= 0)
        FD_SET(wfd, &w);
    struct timeval tv = {.tv_sec = 0, .tv_usec = usec};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = select((rfd > wfd ? rfd : wfd) + 1, &r, &w, NULL, &tv);
    int e = errno;
    double ms = ms_since(&t0);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(e));
        return;
    }
    printf("%s: %d readable=%d writable=%d", label, n, rfd >= 0 && FD_ISSET(rfd, &r),
           wfd >= 0 && FD_ISSET(wfd, &w));
    if (usec > 0)
        printf(" waited>=%ldms:%s", usec / 1000 * 8 / 10, ms >= usec / 1000.0 * 0.8 ? "yes" : "no");
    printf("\n");
}

static void on_usr1(int sig)
{
    (void)sig;
}

/* Section handoff's child says "next I wait in a read" on ``ackfd`` just before each read
   that must be parked when its write comes; the parent then waits until the child sleeps
   (parked) before it writes. A slow child on a busy host read two writes at once when a
   50 ms sleep stood in for this, and then waited for bytes that never came. */
static void about_to_wait(int ackfd)
{
    write(ackfd, "k", 1);
}

static int sleeping(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 1;  /* (nothing to wait for) */
    buf[n] = 0;
    const char *end = strrchr(buf, ')');
    return end && end[1] == ' ' && end[2] == 'S';
}

/* The parent's side: the child's word, then its state in /proc/PID/stat until it sleeps
   (its only sleeps from there on are the reads) twice 20 ms apart, up to 10 s. */
static void until_parked(pid_t pid, int ackfd)
{
    char c;
    read(ackfd, &c, 1);
    for (int tries = 0; tries < 500; tries++) {
        if (sleeping(pid)) {
            usleep(20000);
            if (sleeping(pid))
                return;
        }
        usleep(1000);
    }
}

/* The child of section handoff: reads that wait for the parent's writes. */
static void parked_reader(int fd, int ackfd)
{
    static unsigned char in[4096];
    about_to_wait(ackfd);
    ssize_t n = read(fd, in, 3);
    printf("parked read of 3: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), (char *)in);
    n = read(fd, in, sizeof in);
    printf("then the rest: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), (char *)in);
    struct iovec v[2] = {{in, 2}, {in + 100, 4}};
    about_to_wait(ackfd);
    n = readv(fd, v, 2);
    printf("parked readv of 2+4: %zd [%.2s|%.4s]\n", n, (char *)in, (char *)in + 100);
    n = read(fd, in, sizeof in);
    printf("then the rest: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), (char *)in);
    unsigned long sum = 0, total = 0;
    about_to_wait(ackfd);
    while (total < 200000) {
        n = read(fd, in, 1000);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            sum = sum * 31 + in[i];
        total += (unsigned long)n;
    }
    printf("parked reads of 1000, 200000 written at once: %lu bytes, sum %lx\n", total, sum);
    /* a parked read of a whole pipe's worth, then a write of more than the pipe holds:
     * the reader takes 65536, and the writer must go on with the rest */
    static unsigned char whole[65536];
    about_to_wait(ackfd);
    n = read(fd, whole, sizeof whole);
    total = n > 0 ? (unsigned long)n : 0;
    while (total < 69999 && (n = read(fd, whole, sizeof whole)) > 0)
        total += (unsigned long)n;
    printf("a parked read of 65536, then 69999 written: %lu bytes\n", total);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;  /* no SA_RESTART: the read ends EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    about_to_wait(ackfd);  /* (the handler is there) */
    n = read(fd, in, sizeof in);
    printf("parked read interrupted: %zd %s\n", n, n < 0 ? errname(errno) : "");
    about_to_wait(ackfd);
    n = read(fd, in, sizeof in);
    printf("the next read gets the bytes: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), (char *)in);
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    int p[2], st;
    pid_t pid;
    static unsigned char buf[65536];

    /* 10 MiB from a child in chunks of varying sizes */
    if (section("bulk")) {
        pipe(p);
        pid = fork();
        if (pid == 0) {
            close(p[0]);
            static unsigned char chunk[70000];
            static const size_t sizes[] = {1, 4096, 65536, 12345, 3, 100, 4095, 65537, 69999, 511};
            uint32_t off = 0;
            for (unsigned k = 0; off < TOTAL; k++) {
                size_t len = sizes[k % (sizeof sizes / sizeof sizes[0])];
                if (len > TOTAL - off)
                    len = TOTAL - off;
                for (size_t i = 0; i < len; i++)
                    chunk[i] = pattern(off + i);
                size_t done = 0;
                while (done < len) {
                    ssize_t w = write(p[1], chunk + done, len - done);
                    if (w <= 0)
                        _exit(1);
                    done += w;
                }
                off += len;
            }
            _exit(0);
        }
        close(p[1]);
        uint64_t total = 0, hash = 1469598103934665603ull;
        uint32_t mismatches = 0;
        int reads = 0;
        for (;;) {
            size_t want = (reads % 3 == 0) ? 1000 : (reads % 3 == 1) ? sizeof buf : 8191;
            ssize_t n = read(p[0], buf, want);
            if (n < 0) {
                printf("read: %s\n", errname(errno));
                break;
            }
            if (n == 0)
                break;
            for (ssize_t i = 0; i < n; i++) {
                mismatches += buf[i] != pattern((uint32_t)(total + i));
                hash = (hash ^ buf[i]) * 1099511628211ull;
            }
            total += n;
            reads++;
        }
        printf("received %llu bytes, fnv1a64 %016llx, pattern mismatches %u\n",
               (unsigned long long)total, (unsigned long long)hash, mismatches);
        SHOW("read after EOF", read(p[0], buf, 10));
        waitpid(pid, &st, 0);
        show_status("writer", st);
        close(p[0]);
    }

    /* EOF comes once every write end is closed; data written before the close is still read */
    if (section("eof")) {
        pipe(p);
        write(p[1], "tail", 4);
        close(p[1]);
        SHOW("read with data after writer closed", read(p[0], buf, 100));
        SHOW("then EOF", read(p[0], buf, 100));
        close(p[0]);
    }

    /* writing to a pipe with no reader: SIGPIPE by default */
    if (section("sigpipe")) {
        pipe(p);
        pid = fork();
        if (pid == 0) {
            close(p[0]);
            usleep(20000);
            write(p[1], "x", 1);
            _exit(0);  /* not reached: SIGPIPE kills the child */
        }
        close(p[0]);
        close(p[1]);
        waitpid(pid, &st, 0);
        show_status("writer without a reader", st);
    }

    /* ... and EPIPE when SIGPIPE is ignored */
    if (section("epipe")) {
        signal(SIGPIPE, SIG_IGN);
        pipe(p);
        close(p[0]);
        SHOW("write without a reader, SIGPIPE ignored", write(p[1], "x", 1));
        close(p[1]);
        pipe(p);
        pid = fork();
        if (pid == 0) {  /* the ignored disposition is inherited */
            close(p[0]);
            usleep(20000);
            ssize_t w = write(p[1], "x", 1);
            _exit(w < 0 && errno == EPIPE ? 42 : 1);
        }
        close(p[0]);
        close(p[1]);
        waitpid(pid, &st, 0);
        show_status("child writer, SIGPIPE ignored (42 = EPIPE)", st);
        signal(SIGPIPE, SIG_DFL);
    }

    /* O_NONBLOCK */
    if (section("nonblock")) {
        pipe2(p, O_NONBLOCK);
        SHOW("nonblocking read, empty pipe", read(p[0], buf, 10));
        write(p[1], "ab", 2);
        SHOW("nonblocking read with data", read(p[0], buf, 10));
        close(p[1]);
        SHOW("nonblocking read after writer closed", read(p[0], buf, 10));
        close(p[0]);
        pipe(p);
        fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
        SHOW("read after fcntl O_NONBLOCK", read(p[0], buf, 10));
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        long filled = 0;
        for (;;) {
            ssize_t w = write(p[1], buf, sizeof buf);
            if (w < 0) {
                printf("filling a nonblocking pipe ends with %s, holds >= 4096 bytes: %s\n",
                       errname(errno), filled >= 4096 ? "yes" : "no");
                break;
            }
            filled += w;
            if (filled > (64L << 20)) {
                printf("pipe never fills\n");
                break;
            }
        }
        close(p[0]);
        close(p[1]);
    }

    /* wrong ends */
    if (section("ends")) {
        pipe(p);
        SHOW("write to the read end", write(p[0], "x", 1));
        SHOW("read from the write end", read(p[1], buf, 1));
        SHOW("lseek on a pipe", lseek(p[0], 0, SEEK_SET));
        close(p[0]);
        close(p[1]);
    }

    /* poll with timeout 0: an immediate answer */
    if (section("poll")) {
        pipe(p);
        show_poll("poll empty, timeout 0", p[0], POLLIN, 0);
        show_poll("poll write end, timeout 0", p[1], POLLOUT, 0);
        write(p[1], "z", 1);
        show_poll("poll with data, timeout 0", p[0], POLLIN, 0);
        struct pollfd two[2] = {{.fd = p[0], .events = POLLIN}, {.fd = p[1], .events = POLLOUT}};
        SHOW("poll both ends", poll(two, 2, 0));
        printf("  revents: %d %d\n", two[0].revents, two[1].revents);
        struct pollfd bad = {.fd = 99, .events = POLLIN};
        SHOW("poll a closed fd", poll(&bad, 1, 0));
        printf("  revents NVAL: %s\n", bad.revents == POLLNVAL ? "yes" : "no");
        struct pollfd neg = {.fd = -1, .events = POLLIN, .revents = 7};
        SHOW("poll fd -1", poll(&neg, 1, 0));
        printf("  revents cleared: %s\n", neg.revents == 0 ? "yes" : "no");
        close(p[0]);
        close(p[1]);
    }

    /* poll with a 50 ms timeout: times out on an empty pipe, answers at once with data */
    if (section("poll_timeout")) {
        pipe(p);
        show_poll("poll empty, timeout 50ms", p[0], POLLIN, 50);
        SHOW("write after the timed-out poll", write(p[1], "z", 1));
        show_poll("poll with data, timeout 50ms", p[0], POLLIN, 50);
        show_poll("poll both, timeout 50ms", p[1], POLLOUT, 50);
        close(p[0]);
        close(p[1]);
    }

    /* select with timeout 0 */
    if (section("select")) {
        pipe(p);
        show_select("select empty, timeout 0", p[0], -1, 0);
        show_select("select write end, timeout 0", -1, p[1], 0);
        write(p[1], "z", 1);
        show_select("select with data, timeout 0", p[0], -1, 0);
        show_select("select both, timeout 0", p[0], p[1], 0);
        close(p[0]);
        close(p[1]);
    }

    /* select with a 50 ms timeout */
    if (section("select_timeout")) {
        pipe(p);
        show_select("select empty, timeout 50ms", p[0], -1, 50000);
        SHOW("write after the timed-out select", write(p[1], "z", 1));
        show_select("select with data, timeout 50ms", p[0], p[1], 50000);
        close(p[0]);
        close(p[1]);
    }

    /* more fds than FD_SETSIZE: poll takes up to RLIMIT_NOFILE entries (EINVAL past it),
       select an fd_set as big as its nfds says */
    if (section("many_fds")) {
        struct rlimit rl = {4096, 4096};
        SHOW("setrlimit NOFILE 4096", setrlimit(RLIMIT_NOFILE, &rl));
        pipe(p);
        write(p[1], "z", 1);
        SHOW("dup2 to 3000", dup2(p[0], 3000));
        static struct pollfd many[4097];
        for (int i = 0; i < 4097; i++)
            many[i] = (struct pollfd){.fd = -1};
        many[2500] = (struct pollfd){.fd = 3000, .events = POLLIN};
        SHOW("poll 2501 entries", poll(many, 2501, 0));
        SHOW("poll 4096 entries (RLIMIT_NOFILE)", poll(many, 4096, 0));
        SHOW("poll 4097 entries", poll(many, 4097, 0));
        static uint64_t bits[4096 / 64];
        bits[3000 / 64] = 1ull << (3000 % 64);
        struct timeval tv = {0, 0};
        SHOW("select nfds 3001", select(3001, (fd_set *)bits, NULL, NULL, &tv));
        printf("  fd 3000 readable: %s\n", bits[3000 / 64] >> (3000 % 64) & 1 ? "yes" : "no");
        close(3000);
        close(p[0]);
        close(p[1]);
    }

    /* hang-ups (a 1 s timeout: each fd is ready at once) */
    if (section("hangup")) {
        pipe(p);
        close(p[1]);
        show_poll("poll read end after writer closed", p[0], POLLIN, 1000);
        show_select("select read end after writer closed", p[0], -1, 1000000);
        close(p[0]);
        pipe(p);
        close(p[0]);
        show_poll("poll write end after reader closed", p[1], POLLOUT, 1000);
        close(p[1]);
    }

    /* a poll that waits until a child writes */
    if (section("wake")) {
        pipe(p);
        pid = fork();
        if (pid == 0) {
            usleep(30000);
            write(p[1], "late", 4);
            _exit(0);
        }
        struct pollfd w = {.fd = p[0], .events = POLLIN};
        int r = poll(&w, 1, 5000);
        printf("poll woken by the child: %d IN=%d\n", r, (w.revents & POLLIN) != 0);
        SHOW("read the child's data", read(p[0], buf, 100));
        waitpid(pid, &st, 0);
        show_status("late writer", st);
        close(p[0]);
        close(p[1]);
    }
    /* writes to an empty pipe whose reader waits: it takes its share, the rest stays */
    /* a pipe holds pages, not bytes (Linux's pipe_buffer ring): a small write goes into
     * the last page only if all of its tail fits there; else it takes a page of its own */
    if (section("pages")) {
        static char page[8192];
        pipe2(p, O_NONBLOCK);
        long ones = 0;
        while (write(p[1], "x", 1) == 1)
            ones++;
        printf("1-byte writes into an empty pipe: %ld\n", ones);
        close(p[0]);
        close(p[1]);
        pipe2(p, O_NONBLOCK);
        write(p[1], "x", 1);
        long pages = 1;
        ssize_t w;
        while ((w = write(p[1], page, 4096)) > 0)
            pages += w;
        printf("1 byte, then 4096-byte writes: %ld bytes, then %s\n", pages, errname(errno));
        int avail = -1;
        ioctl(p[0], FIONREAD, &avail);
        printf("FIONREAD: %d\n", avail);
        close(p[0]);
        close(p[1]);
        pipe2(p, O_NONBLOCK);
        SHOW("F_SETPIPE_SZ 4096", fcntl(p[1], F_SETPIPE_SZ, 4096));
        SHOW("fill its page", write(p[1], page, 4096));
        SHOW("read 10", read(p[0], buf, 10));
        SHOW("write 10 (no page free)", write(p[1], "0123456789", 10));
        show_poll("poll write end", p[1], POLLOUT, 0);
        SHOW("read the rest", read(p[0], buf, sizeof buf));
        show_poll("poll write end, empty", p[1], POLLOUT, 0);
        SHOW("write 10", write(p[1], "0123456789", 10));
        SHOW("write 4086 more (into the same page)", write(p[1], page, 4086));
        SHOW("write 1 more", write(p[1], "x", 1));
        close(p[0]);
        close(p[1]);
        pipe2(p, O_NONBLOCK);
        SHOW("write 100", write(p[1], page, 100));
        SHOW("write 5000 (904 into the first page, then a page)", write(p[1], page, 5000));
        long rest = 0;
        while ((w = write(p[1], page, 4096)) > 0)
            rest += w;
        printf("then 4096-byte writes: %ld bytes\n", rest);
        close(p[0]);
        close(p[1]);
        pipe2(p, O_NONBLOCK);
        write(p[1], "0123456789", 10);
        write(p[1], page, 4096);
        write(p[1], "0123456789", 10);
        SHOW("3 pages with 4116 bytes: F_SETPIPE_SZ 8192", fcntl(p[1], F_SETPIPE_SZ, 8192));
        SHOW("read 4106", read(p[0], buf, 4106));
        SHOW("then F_SETPIPE_SZ 8192", fcntl(p[1], F_SETPIPE_SZ, 8192));
        SHOW("then F_SETPIPE_SZ 4096", fcntl(p[1], F_SETPIPE_SZ, 4096));
        struct iovec parts[2] = {{page, 4000}, {page, 200}};
        SHOW("read 10 then writev 4200", (read(p[0], buf, 10), writev(p[1], parts, 2)));
        close(p[0]);
        close(p[1]);
    }

    if (section("handoff")) {
        int ready[2];
        fflush(stdout);
        pipe(p);
        pipe(ready);
        pid = fork();
        if (pid == 0)
            parked_reader(p[0], ready[1]);
        for (uint32_t i = 0; i < 65536; i++)
            buf[i] = pattern(i);
        static unsigned char big[200000];
        for (uint32_t i = 0; i < sizeof big; i++)
            big[i] = buf[i % 65536];
        until_parked(pid, ready[0]);
        write(p[1], "abcdefghij", 10);
        until_parked(pid, ready[0]);
        write(p[1], "0123456789", 10);
        until_parked(pid, ready[0]);
        ssize_t wrote = write(p[1], big, sizeof big);
        until_parked(pid, ready[0]);
        ssize_t wrote_more = write(p[1], big, 69999);
        until_parked(pid, ready[0]);
        kill(pid, SIGUSR1);
        until_parked(pid, ready[0]);
        write(p[1], "xyz", 3);
        waitpid(pid, &st, 0);
        show_status("parked reader", st);
        printf("the write of 200000: %zd\n", wrote);
        printf("the write of 69999: %zd\n", wrote_more);
        close(p[0]);
        close(p[1]);
        close(ready[0]);
        close(ready[1]);
    }
    return 0;
}
