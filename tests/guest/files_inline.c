/* files_inline.c — small reads and writes (up to 4 KiB: CloudOS carries their bytes in
 * its messages, no memory grant) beside larger ones, on pipes, a socketpair and a regular
 * file: every size around the limit, buffers across a page boundary, a partly bad
 * buffer (its tail on a PROT_NONE page), a read that waits for a writer, O_NONBLOCK,
 * end of file, EPIPE. Sections: sizes, badbuf, wait, ends (no argument: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

#define PG 4096

static unsigned char *area;  /* three pages: good, good, PROT_NONE */

static unsigned long sum(const unsigned char *p, long n)
{
    unsigned long s = 0;
    for (long i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

static void fill(unsigned char *p, long n, int seed)
{
    for (long i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + seed);
}

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errname(errno));
    else
        printf("%s: %ld\n", what, r);
}

/* write n bytes from src then read them back into dst, through fds w and r; the byte
 * after dst's n (when it is not on the bad page) must be left alone */
static void round_trip(const char *kind, int w, int r, long n, unsigned char *src,
                       unsigned char *dst)
{
    long room = area + 2 * PG - dst, got = 0, rd;
    fill(src, n, (int)n);
    memset(dst, 0xEE, (size_t)room);
    long wr = write(w, src, (size_t)n);
    while (got < wr && (rd = read(r, dst + got, (size_t)(n - got))) > 0)
        got += rd;
    printf("%s n=%ld: wrote %ld read %ld same %d after %02x\n", kind, n, wr, got,
           got == n && memcmp(src, dst, (size_t)n) == 0, n < room ? dst[n] : 0);
}

static void sizes(void)
{
    static const long ns[] = {1, 17, 4095, 4096, 4097, 6000};
    unsigned char *src = malloc(3 * PG);
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        long n = ns[i];
        int p[2], s[2];
        if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
            return;
        /* the read buffer ends just before the bad page or straddles the page boundary */
        unsigned char *dst = n <= PG ? area + PG - n / 2 : area + 2 * PG - n;
        round_trip("pipe", p[1], p[0], n, src, dst);
        round_trip("socket", s[0], s[1], n, src, dst);
        close(p[0]), close(p[1]), close(s[0]), close(s[1]);
    }
    char name[] = "/tmp/inlineXXXXXX";
    int fd = mkstemp(name);
    unlink(name);
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        long n = ns[i];
        fill(src, n, (int)i);
        if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET))
            return;
        long wr = write(fd, src, (size_t)n);
        lseek(fd, 0, SEEK_SET);
        unsigned char *dst = area + 2 * PG - n;
        long rd = read(fd, dst, (size_t)n);
        printf("file n=%ld: wrote %ld read %ld same %d offset %ld\n", n, wr, rd,
               rd == n && memcmp(src, dst, (size_t)n) == 0, (long)lseek(fd, 0, SEEK_CUR));
        lseek(fd, n - 3, SEEK_SET);  /* a read of more than is left: a partial count */
        show("file read past end", read(fd, dst, (size_t)n));
    }
    close(fd);
    free(src);
}

static void badbuf(void)
{
    int p[2];
    if (pipe(p))
        return;
    unsigned char *tail = area + 2 * PG - 10;  /* 10 good bytes, then PROT_NONE */
    fill(area, 2 * PG, 3);
    show("pipe write tail bad", write(p[1], tail, 100));
    show("pipe write head bad", write(p[1], area + 2 * PG, 1));
    show("pipe write good", write(p[1], area, 50));
    show("pipe read tail bad", read(p[0], tail, 100));
    show("pipe read head bad", read(p[0], area + 2 * PG, 1));
    void *volatile null = NULL;  /* (the compiler must not see it) */
    show("pipe read NULL", read(p[0], null, 5));
    memset(area, 0, 64);
    show("pipe read good", read(p[0], area, 64));
    printf("pipe bytes sum %lu\n", sum(area, 64));
    close(p[0]), close(p[1]);
    char name[] = "/tmp/inlineXXXXXX";
    int fd = mkstemp(name);
    unlink(name);
    show("file write tail bad", write(fd, tail, 100));
    show("file write head bad", write(fd, area + 2 * PG, 1));
    lseek(fd, 0, SEEK_SET);
    show("file read tail bad", read(fd, tail - 5, 100));
    printf("file offset %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    close(fd);
}

static void wait_for_writer(void)
{
    int p[2], q[2];
    if (pipe(p) || pipe(q))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        unsigned char c;
        for (int i = 0; i < 200; i++) {
            if (read(q[0], &c, 1) != 1)
                _exit(1);
            unsigned char msg[40];
            fill(msg, sizeof msg, i);
            if (write(p[1], msg, (size_t)(1 + i % 40)) != 1 + i % 40)
                _exit(2);
        }
        _exit(0);
    }
    close(p[1]);
    unsigned long total = 0;
    int good = 0;
    for (int i = 0; i < 200; i++) {
        /* the reader waits (nothing written yet), its buffer across the page boundary */
        unsigned char *dst = area + PG - 20;
        if (write(q[1], "x", 1) != 1)
            break;
        long got = 0, n;
        while (got < 1 + i % 40 && (n = read(p[0], dst + got, 64)) > 0)
            got += n;
        unsigned char want[40];
        fill(want, sizeof want, i);
        good += got == 1 + i % 40 && memcmp(dst, want, (size_t)got) == 0;
        total += (unsigned long)got;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("wait: %d good rounds, %lu bytes, child %d\n", good, total, WEXITSTATUS(st));
    close(p[0]), close(q[0]), close(q[1]);
}

static void ends(void)
{
    int p[2];
    if (pipe2(p, O_NONBLOCK))
        return;
    char buf[16];
    show("empty nonblock read", read(p[0], buf, sizeof buf));
    fcntl(p[1], F_SETPIPE_SZ, PG);
    unsigned char *big = malloc(PG);
    fill(big, PG, 5);
    show("fill", write(p[1], big, PG));
    show("full nonblock write", write(p[1], big, 10));
    show("read some", read(p[0], buf, 10));
    show("write 4096 into 10 bytes of room (PIPE_BUF atomic)", write(p[1], big, PG));
    show("write 11 into 10 of room", write(p[1], big, 11));
    /* (not here: 10 bytes into that room; Linux's pipe of pages has no room for them
     * until the page read from is all read, CloudOS's of bytes has) */
    close(p[1]);
    long total = 0, n;
    char *into = malloc(PG);
    while ((n = read(p[0], into, PG)) > 0)
        total += n;
    show("drained", total);
    show("end of file", read(p[0], into, PG));
    close(p[0]);
    if (pipe(p))
        return;
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    show("no reader", write(p[1], "abc", 3));
    close(p[1]);
    free(big);
    free(into);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    area = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED || mprotect(area + 2 * PG, PG, PROT_NONE))
        return 1;
    const char *only = argc > 1 ? argv[1] : NULL;
    struct { const char *name; void (*run)(void); } sections[] = {
        {"sizes", sizes}, {"badbuf", badbuf}, {"wait", wait_for_writer}, {"ends", ends}};
    for (unsigned i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (!only || strcmp(only, sections[i].name) == 0) {
            printf("== %s\n", sections[i].name);
            sections[i].run();
        }
    return 0;
}
