/* fork_exit.c — process-creation benchmark: N times fork(); the child _exit(0)s, the parent waitpid()s. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000, ok = 0;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            _exit(0);
        int st;
        if (waitpid(pid, &st, 0) != pid) {
            perror("waitpid");
            return 1;
        }
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    printf("fork_exit n=%ld ok=%ld\n", n, ok);
    return ok == n ? 0 : 1;
}
