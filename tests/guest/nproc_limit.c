/* nproc_limit.c — RLIMIT_NPROC: as an unprivileged user (root setuid()s to 65534 first), fork fails with EAGAIN at the limit. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 64

static const char *errno_name(int e)
{
    static const struct { int num; const char *name; } table[] = {
        {EPERM, "EPERM"}, {ESRCH, "ESRCH"}, {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"},
        {EINVAL, "EINVAL"}, {ECHILD, "ECHILD"}, {ENOSYS, "ENOSYS"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].num == e)
            return table[i].name;
    return "E?";
}

int main(void)
{
    if (geteuid() != 0) {
        /* RLIMIT_NPROC would count every process of this user on the host: not deterministic. */
        printf("not root: cannot setuid\n");
        return 0;
    }
    if (setuid(65534) != 0) {
        printf("setuid(65534): %s\n", errno_name(errno));
        return 1;
    }
    printf("setuid(65534): ok\n");
    struct rlimit lim = {5, 5};
    if (setrlimit(RLIMIT_NPROC, &lim) != 0) {
        printf("setrlimit: %s\n", errno_name(errno));
        return 1;
    }
    printf("setrlimit(RLIMIT_NPROC, 5): ok\n");

    pid_t kids[MAX_CHILDREN];
    int n = 0, fork_errno = 0;
    fflush(stdout);
    while (n < MAX_CHILDREN) {
        pid_t pid = fork();
        if (pid < 0) {
            fork_errno = errno;
            break;
        }
        if (pid == 0) {
            struct timespec ts = {3600, 0};
            for (;;)
                nanosleep(&ts, NULL);
        }
        kids[n++] = pid;
    }
    if (fork_errno == EAGAIN)
        printf("fork failed with EAGAIN\n");
    else if (fork_errno)
        printf("fork failed with %s\n", errno_name(fork_errno));
    else
        printf("fork never failed (%d children)\n", n);

    int all_killed = 1;
    for (int i = 0; i < n; i++)
        if (kill(kids[i], SIGKILL) != 0)
            all_killed = 0;
    for (int i = 0; i < n; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            all_killed = 0;
    }
    printf("children killed and reaped: %s\n", all_killed ? "yes" : "no");
    return 0;
}
