/* stale_maps.c — mappings that shrink or go after the CPU has used them: each access
 * afterwards must see the new state, never a translation the CPU cached before (munmap,
 * mprotect, MAP_FIXED over a page, MADV_DONTNEED, the kernel writing into a page shared
 * copy-on-write with a child, a large scattered munmap, a fresh anonymous region). */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define SCATTERED 64

static sigjmp_buf env;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(env, 1);
}

/* 0: read back the byte; -1: SIGSEGV */
static int try_read(volatile char *p)
{
    if (sigsetjmp(env, 1))
        return -1;
    return *p;
}

static int try_write(volatile char *p, char v)
{
    if (sigsetjmp(env, 1))
        return -1;
    *p = v;
    return 0;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);

    char *p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 8; i++)
        p[i * PAGE] = (char)('a' + i);
    munmap(p + PAGE, PAGE);
    printf("read after munmap: %d\n", try_read(p + PAGE));
    printf("neighbour kept: %c\n", try_read(p));

    printf("write before mprotect: %d\n", try_write(p + 2 * PAGE, 'X'));
    mprotect(p + 2 * PAGE, PAGE, PROT_READ);
    int wrote = try_write(p + 2 * PAGE, 'Y');
    printf("write after mprotect(PROT_READ): %d, reads %c\n", wrote, try_read(p + 2 * PAGE));
    mprotect(p + 2 * PAGE, PAGE, PROT_NONE);
    printf("read after mprotect(PROT_NONE): %d\n", try_read(p + 2 * PAGE));
    mprotect(p + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE);
    wrote = try_write(p + 2 * PAGE, 'Z');
    printf("write after mprotect back: %d, reads %c\n", wrote, try_read(p + 2 * PAGE));

    mmap(p + 3 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED over a page reads: %d\n", try_read(p + 3 * PAGE));
    madvise(p + 4 * PAGE, PAGE, MADV_DONTNEED);
    printf("MADV_DONTNEED page reads: %d\n", try_read(p + 4 * PAGE));

    /* the kernel writes into a page the parent shares copy-on-write with a child */
    static char buffer[PAGE] __attribute__((aligned(PAGE))) = "old contents";
    int fds[2];
    pipe(fds);
    printf("buffer before: %s\n", buffer);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        sleep(0);
        printf("child sees: %s\n", buffer);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("parent reads it first: %s\n", buffer);
    write(fds[1], "NEW contents", 13);
    read(fds[0], buffer, 13);
    printf("after read() into it: %s\n", buffer);

    /* a munmap of many scattered pages */
    char *q = mmap(NULL, 2 * SCATTERED * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 2 * SCATTERED; i++)
        q[i * PAGE] = 1;
    for (int i = 0; i < SCATTERED; i++)
        munmap(q + 2 * i * PAGE, PAGE);
    int faults = 0, kept = 0;
    for (int i = 0; i < 2 * SCATTERED; i++) {
        int v = try_read(q + i * PAGE);
        faults += v == -1;
        kept += v == 1;
    }
    printf("scattered munmap: %d faults, %d pages kept\n", faults, kept);

    /* a fresh 1 MiB region: every byte reads zero, wherever it is touched first */
    char *r = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r[5 * PAGE + 17] = 9;
    long sum = 0;
    for (int i = 0; i < (1 << 20); i += 64)
        sum += r[i];
    printf("fresh region: byte %d, sum of the rest %ld\n", r[5 * PAGE + 17], sum);
    return 0;
}
