/* persona.c — personality(2): the query, ADDR_NO_RANDOMIZE kept across fork and exec and
 * turning address space randomization off for the programs the process execs (setarch -R,
 * gdb), and randomization back after personality(PER_LINUX). */
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

/* The stack address a fresh exec of this program reports. */
static unsigned long exec_stack(void)
{
    int p[2];
    unsigned long addr = 0;
    if (pipe(p) != 0)
        return 0;
    pid_t child = fork();
    if (child == 0) {
        dup2(p[1], 1);
        execl("/proc/self/exe", "persona", "addr", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[64] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    if (n > 0)
        sscanf(buf, "%lx", &addr);
    close(p[0]);
    waitpid(child, NULL, 0);
    return addr;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "addr") == 0) {
        int here;
        printf("%lx %x\n", (unsigned long)&here, (unsigned)personality(0xffffffff));
        return 0;
    }
    printf("query: %#x\n", (unsigned)personality(0xffffffff));
    printf("set ADDR_NO_RANDOMIZE: old %#x\n", (unsigned)personality(ADDR_NO_RANDOMIZE));
    printf("query: %#x\n", (unsigned)personality(0xffffffff));
    fflush(stdout);
    if (fork() == 0) {
        printf("forked child: %#x\n", (unsigned)personality(0xffffffff));
        return 0;
    }
    wait(NULL);
    unsigned long a = exec_stack(), b = exec_stack();
    printf("two execs without randomization: same stack %d\n", a && a == b);
    printf("back to PER_LINUX: old %#x\n", (unsigned)personality(PER_LINUX));
    int differ = 0;
    for (int i = 0; i < 4 && !differ; i++)  /* (a chance in 2^20 that two agree) */
        differ = exec_stack() != exec_stack();
    printf("two execs with randomization: stacks differ %d\n", differ);
    return 0;
}
