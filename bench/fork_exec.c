/* fork_exec.c — fork+execve benchmark: N times fork(); the child execve()s argv[2] (exit0), the parent waitpid()s. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000, ok = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: fork_exec N PROGRAM\n");
        return 2;
    }
    char *child_argv[] = {argv[2], NULL};
    char *child_envp[] = {NULL};
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            execve(argv[2], child_argv, child_envp);
            _exit(127);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid) {
            perror("waitpid");
            return 1;
        }
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    printf("fork_exec n=%ld ok=%ld\n", n, ok);
    return ok == n ? 0 : 1;
}
