/* fork_wait.c — fork + waitpid/wait4/waitid: exit codes, SIGKILL and abort() deaths, WNOHANG, rusage, ECHILD. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *errno_name(int e)
{
    static const struct { int num; const char *name; } table[] = {
        {EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"}, {EINTR, "EINTR"},
        {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EFAULT, "EFAULT"}, {EINVAL, "EINVAL"},
        {ECHILD, "ECHILD"}, {ENOSYS, "ENOSYS"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].num == e)
            return table[i].name;
    return "E?";
}

static void describe(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", what, WTERMSIG(st));
    else
        printf("%s: other status 0x%x\n", what, st);
}

static pid_t spawn_exit(int code)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(code);
    if (pid < 0) {
        printf("fork: -1 %s\n", errno_name(errno));
        exit(1);
    }
    return pid;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    int st;

    /* Several children with different exit codes, reaped out of order. */
    static const int codes[] = {0, 1, 7, 42, 255};
    enum { N = sizeof codes / sizeof codes[0] };
    pid_t pids[N];
    for (int i = 0; i < N; i++)
        pids[i] = spawn_exit(codes[i]);
    for (int i = N - 1; i >= 0; i--) {
        pid_t r = waitpid(pids[i], &st, 0);
        char what[32];
        snprintf(what, sizeof what, "child %d%s", i, r == pids[i] ? "" : " (wrong pid)");
        describe(what, st);
    }

    /* A child killed by SIGKILL from the parent. */
    fflush(stdout);
    pid_t sleeper = fork();
    if (sleeper == 0) {
        for (;;)
            sleep_ms(60000);
    }
    printf("kill: %d\n", kill(sleeper, SIGKILL));
    printf("waitpid returns the pid: %s\n", waitpid(sleeper, &st, 0) == sleeper ? "yes" : "no");
    describe("sigkill child", st);

    /* A child that calls abort(). */
    fflush(stdout);
    pid_t aborter = fork();
    if (aborter == 0)
        abort();
    waitpid(aborter, &st, 0);
    describe("abort child", st);

    /* WNOHANG before and after the child exits. */
    fflush(stdout);
    pid_t slow = fork();
    if (slow == 0) {
        sleep_ms(300);
        _exit(5);
    }
    printf("WNOHANG while running: %d\n", (int)waitpid(slow, &st, WNOHANG));
    pid_t r;
    double deadline = now() + 30;
    while ((r = waitpid(slow, &st, WNOHANG)) == 0 && now() < deadline)
        sched_yield();
    printf("WNOHANG after exit returns the pid: %s\n", r == slow ? "yes" : "no");
    describe("slow child", st);
    r = waitpid(slow, &st, WNOHANG);
    printf("WNOHANG once reaped: %d %s\n", (int)r, errno_name(errno));

    /* wait4 with an rusage. */
    pid_t w4 = spawn_exit(9);
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    r = wait4(w4, &st, 0, &ru);
    printf("wait4 returns the pid: %s\n", r == w4 ? "yes" : "no");
    describe("wait4 child", st);
    printf("wait4 rusage filled: %s\n",
           ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 &&
           ru.ru_stime.tv_sec >= 0 && ru.ru_stime.tv_usec >= 0 && ru.ru_stime.tv_usec < 1000000
               ? "yes" : "no");

    /* waitid(P_PID, ..., WEXITED) of an exited and of a killed child. */
    pid_t wi = spawn_exit(17);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int ret = waitid(P_PID, wi, &si, WEXITED);
    printf("waitid: %d si_signo=%s si_pid==child: %s si_code=%s si_status=%d\n", ret,
           si.si_signo == SIGCHLD ? "SIGCHLD" : "?", si.si_pid == wi ? "yes" : "no",
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "?", si.si_status);
    fflush(stdout);
    pid_t wk = fork();
    if (wk == 0) {
        for (;;)
            sleep_ms(60000);
    }
    kill(wk, SIGKILL);
    memset(&si, 0, sizeof si);
    ret = waitid(P_PID, wk, &si, WEXITED);
    printf("waitid killed: %d si_pid==child: %s si_code=%s si_status=%d\n", ret,
           si.si_pid == wk ? "yes" : "no", si.si_code == CLD_KILLED ? "CLD_KILLED" : "?",
           si.si_status);

    /* No children left. */
    r = wait(&st);
    printf("wait with no children: %d %s\n", (int)r, errno_name(errno));
    r = waitpid(1, &st, 0);
    printf("waitpid of a non-child: %d %s\n", (int)r, errno_name(errno));
    memset(&si, 0, sizeof si);
    ret = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid with no children: %d %s\n", ret, errno_name(errno));
    return 0;
}
