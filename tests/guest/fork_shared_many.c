/* fork_shared_many.c — fork of a process with many shared mappings inside one 2 MiB
   region (one leaf page table): 100 one-page MAP_SHARED mappings between read-only
   private pages, and 200 more on their own. Every shared page stays shared with the
   child (its writes are seen), every private page stays the parent's own. (CloudOS's
   fork passes a table's shared ranges to C: 80 of them once failed the whole fork.) */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

int main(void)
{
    static char *alone[200];
    for (int i = 0; i < 200; i++) {
        alone[i] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        alone[i][0] = (char)i;
    }
    char *q = mmap(NULL, 200 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 100; i++) {
        q[2 * i * PAGE] = 1;
        mprotect(q + 2 * i * PAGE, PAGE, PROT_READ);
        char *s = mmap(q + (2 * i + 1) * PAGE, PAGE, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        s[0] = 7;
    }
    char *priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    priv[0] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 200; i++)
            alone[i][0] = (char)(i + 1);
        for (int i = 0; i < 100; i++)
            q[(2 * i + 1) * PAGE] = (char)i;
        priv[0] = 2;
        _exit(0);
    }
    int st = 0, seen_alone = 0, seen_between = 0;
    waitpid(pid, &st, 0);
    for (int i = 0; i < 200; i++)
        seen_alone += alone[i][0] == (char)(i + 1);
    for (int i = 0; i < 100; i++)
        seen_between += q[(2 * i + 1) * PAGE] == (char)i && q[2 * i * PAGE] == 1;
    printf("fork: child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    printf("child's writes seen: %d of 200 alone, %d of 100 between private pages\n",
           seen_alone, seen_between);
    printf("private page still the parent's: %s\n", priv[0] == 1 ? "yes" : "no");
    return 0;
}
