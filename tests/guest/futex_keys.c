/* futex_keys.c — which futex operations meet in memory shared by two processes (a
 * MAP_SHARED page, parent and child): a shared wait is woken by the other process's
 * shared wake; a private wait (FUTEX_PRIVATE_FLAG: keyed by the process's own memory,
 * as Linux keys it) is not woken by the other process's private wake and times out.
 * Each line is what one process saw. */
#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long futex(int *addr, int op, int val, const struct timespec *timeout)
{
    return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

static const char *outcome(long r)
{
    return r == 0 ? "woken" : errno == ETIMEDOUT ? "ETIMEDOUT" : errno == EAGAIN ? "EAGAIN" : "other";
}

/* The child waits on word[0] with op (timeout in ms); the parent wakes it with wake_op until
 * a wake reports a waiter or the child is gone, and says whether any did. */
static int round_trip(int *word, const char *name, int op, int wake_op, int ms)
{
    word[0] = 0;
    word[1] = 0;  /* the child sets it just before it waits */
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        struct timespec limit = {ms / 1000, (ms % 1000) * 1000000L};
        __atomic_store_n(&word[1], 1, __ATOMIC_SEQ_CST);
        long r = futex(&word[0], op, 0, &limit);
        printf("%s: child's wait: %s\n", name, outcome(r));
        fflush(stdout);
        _exit(0);
    }
    while (!__atomic_load_n(&word[1], __ATOMIC_SEQ_CST))
        usleep(1000);
    long woken = 0;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        long r = futex(&word[0], wake_op, 1, NULL);
        woken += r > 0 ? r : 0;
        usleep(2000);
    }
    printf("%s: parent's wakes found a waiter: %s\n", name, woken > 0 ? "yes" : "no");
    return !WIFEXITED(status);
}

int main(void)
{
    int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (word == MAP_FAILED)
        return 1;
    setvbuf(stdout, NULL, _IONBF, 0);
    int bad = round_trip(word, "shared", FUTEX_WAIT, FUTEX_WAKE, 10000);
    bad |= round_trip(word, "private", FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE, 300);
    return bad;
}
