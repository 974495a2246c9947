/* fork_enomem.c — a process touching one page in each of more and more 2 MiB regions (a
 * page table each) forks after every one, until a fork finds no frames for the child's page
 * tables: ENOMEM, its own pages as they were; once it unmaps half of them, a fork works
 * again. CloudOS only (the machine's RAM, --mem, is the limit). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define REGION (2L << 20)
#define REGIONS 4096L

static int fork_works(char *base)
{
    int st;
    pid_t pid = fork();
    if (pid == 0)
        _exit(base[0] == 1 ? 0 : 3);
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char *base = mmap(NULL, REGIONS * REGION, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (long n = 0; n < REGIONS; n++) {
        base[n * REGION] = (char)(n | 1);
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid > 0) {
            waitpid(pid, NULL, 0);
            continue;
        }
        int err = errno;
        long changed = 0;
        for (long i = 0; i <= n; i++)
            changed += base[i * REGION] != (char)(i | 1);
        printf("fork: %s after %s regions; pages changed: %ld\n", strerror(err),
               n > 16 ? "many" : "few", changed);
        munmap(base + n / 2 * REGION, (REGIONS - n / 2) * REGION);
        printf("after unmapping half: fork %s\n", fork_works(base) ? "works" : "fails");
        return 0;
    }
    printf("no fork failed\n");
    return 0;
}
