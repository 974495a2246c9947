/* memory.c — mremap (shrink, grow in place, move keeping contents and sharing, MREMAP_FIXED, errors) and mincore (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#define PAGE 4096

static void show_map(const char *label, void *p)
{
    printf("%s: %s\n", label, p == MAP_FAILED ? errname(errno) : "ok");
}

static int filled(const char *p, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

static void remap(void)
{
    /* a hole after the mapping, so it can grow in place */
    char *area = mmap(NULL, 8 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area + 2 * PAGE, 6 * PAGE);
    char *p = mmap(area, 2 * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    memset(p, 'a', 2 * PAGE);
    char *q = mremap(p, 2 * PAGE, 4 * PAGE, 0);
    printf("grown in place: %s, contents kept: %d, new pages zero: %d\n",
           q == p ? "yes" : "no", filled(q, 2 * PAGE, 'a'), filled(q + 2 * PAGE, 2 * PAGE, 0));
    q = mremap(p, 4 * PAGE, PAGE, 0);
    printf("shrunk: %s, contents kept: %d\n", q == p ? "yes" : "no", filled(q, PAGE, 'a'));
    SHOW("the cut page is gone: msync", msync(p + PAGE, PAGE, 0));
    munmap(p, PAGE);

    /* no room: a neighbour right after it */
    p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p + 2 * PAGE, PAGE);
    mmap(p + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    memset(p, 'b', 2 * PAGE);
    show_map("grow without MREMAP_MAYMOVE", mremap(p, 2 * PAGE, 8 * PAGE, 0));
    q = mremap(p, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    printf("moved: %s, contents kept: %d, old address unmapped: %d\n", q != p ? "yes" : "no",
           filled(q, 2 * PAGE, 'b'), msync(p, PAGE, 0) < 0 && errno == ENOMEM);
    q[8 * PAGE - 1] = 'z';
    printf("the new tail is writable: %c\n", q[8 * PAGE - 1]);

    /* a move keeps copy-on-write: the child's copy and ours stay apart */
    pid_t pid = fork();
    if (pid == 0) {
        char *r = mremap(q, 8 * PAGE, 16 * PAGE, MREMAP_MAYMOVE);
        r[0] = 'c';
        _exit(r[1] == 'b' ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child moved and wrote: exit %d, ours unchanged: %c\n", WEXITSTATUS(status), q[0]);

    /* shared memory stays shared after a move */
    char *s = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    strcpy(s, "before");
    pid = fork();
    if (pid == 0) {
        char *m = mremap(s, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
        strcpy(m, "written after a move");
        _exit(0);
    }
    waitpid(pid, &status, 0);
    printf("shared after the child's move: [%s]\n", s);

    char *target = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    q = mremap(q, 8 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target + PAGE);
    printf("MREMAP_FIXED: at the target: %s, contents: %d\n", q == target + PAGE ? "yes" : "no",
           filled(q, 2 * PAGE, 'b') || (q[0] == 'b'));
    SHOW("the target's untouched page is still mapped: msync", msync(target, PAGE, 0));

    show_map("unaligned address", mremap(q + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
    show_map("bad flags", mremap(q, PAGE, 2 * PAGE, 0x80));
    show_map("FIXED without MAYMOVE", mremap(q, PAGE, 2 * PAGE, MREMAP_FIXED, target));
    show_map("new size 0", mremap(q, PAGE, 0, MREMAP_MAYMOVE));
    show_map("not mapped", mremap((void *)0x10000, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
    show_map("longer than its mapping", mremap(q, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE));
    show_map("overlapping FIXED", mremap(q, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, q));

    /* what glibc's realloc does with big blocks */
    char *big = malloc(1 << 20);
    memset(big, 'r', 1 << 20);
    big = realloc(big, 8 << 20);
    printf("realloc of 1 MiB to 8 MiB keeps contents: %d\n", filled(big, 1 << 20, 'r'));
    free(big);
}

static void residency(void)
{
    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char vec[4];
    p[0] = 1;
    p[2 * PAGE] = 1;
    SHOW("mincore", mincore(p, 4 * PAGE, vec));
    printf("resident: %d %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
    SHOW("unaligned", mincore(p + 1, PAGE, vec));
    SHOW("bad vector", mincore(p, PAGE, (unsigned char *)8));
    munmap(p + PAGE, PAGE);
    SHOW("with a hole", mincore(p, 4 * PAGE, vec));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("mremap"))
        remap();
    if (section("mincore"))
        residency();
    return 0;
}
