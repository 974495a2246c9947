/* getpid_loop.c — syscall-cost benchmark: N raw getpid syscalls (N from argv[1], default 1000000). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    long first = syscall(SYS_getpid), same = 0;
    for (long i = 0; i < n; i++)
        same += syscall(SYS_getpid) == first;
    printf("getpid calls=%ld consistent=%s\n", n, same == n ? "yes" : "no");
    return same == n ? 0 : 1;
}
