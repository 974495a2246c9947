/* exec_parent.c — fork + execve(argv[1]) with a custom argv/envp (child exits 3); execve errors ENOENT and ENOEXEC (argv[2]: a non-ELF executable). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errno_name(int e)
{
    static const struct { int num; const char *name; } table[] = {
        {EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"}, {E2BIG, "E2BIG"},
        {ENOEXEC, "ENOEXEC"}, {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"},
        {EFAULT, "EFAULT"}, {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"}, {EINVAL, "EINVAL"},
        {ENOSYS, "ENOSYS"}, {ELOOP, "ELOOP"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].num == e)
            return table[i].name;
    return "E?";
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: exec_parent EXEC_CHILD NON_ELF_EXECUTABLE\n");
        return 2;
    }
    char *child_argv[] = {"custom-name", "alpha", "with space", "", "last", NULL};
    char *child_envp[] = {"FOO=bar", "EMPTY=", "SPACED=a b  c", "PATH=/nowhere", NULL};

    printf("parent: forking\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execve(argv[1], child_argv, child_envp);
        printf("child: execve failed: %s\n", errno_name(errno));
        fflush(stdout);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        printf("parent: waitpid failed: %s\n", errno_name(errno));
        return 1;
    }
    if (WIFEXITED(st))
        printf("parent: child exited %d\n", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("parent: child killed by signal %d\n", WTERMSIG(st));

    /* Failing execve() calls return to the caller. */
    char *no_args[] = {"x", NULL};
    int r = execve("/nonexistent/cloudos-no-such-program", no_args, child_envp);
    printf("execve nonexistent: %d %s\n", r, errno_name(errno));
    r = execve(argv[2], no_args, child_envp);
    printf("execve non-ELF: %d %s\n", r, errno_name(errno));
    return 0;
}
