/* high_uid.c — user ids above 2^31 (uid_t is unsigned) in what the kernel reports of a
 * process: waitid's si_uid, a signal's si_uid from kill and sigqueue, a siginfo the
 * sender wrote itself (rt_sigqueueinfo). Found by the fuzzer: the kernel packed them as
 * signed ints and panicked. Needs root (setuid); argv[1] picks a section. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#define HIGH 3000000000u

static volatile sig_atomic_t got;
static volatile unsigned got_uid;
static volatile int got_code, got_value;

static void on_signal(int sig, siginfo_t *info, void *ctx)
{
    (void)sig;
    (void)ctx;
    got_uid = info->si_uid;
    got_code = info->si_code;
    got_value = info->si_value.sival_int;
    got = 1;
}

static void waitid_uid(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (setresuid(HIGH, HIGH, HIGH) != 0)
            _exit(99);
        _exit(3);
    }
    siginfo_t info;
    memset(&info, 0, sizeof info);
    SHOW("waitid", waitid(P_PID, pid, &info, WEXITED));
    printf("si_uid %u si_status %d si_code CLD_EXITED %d\n", info.si_uid, info.si_status,
           info.si_code == CLD_EXITED);
}

static void signal_uid(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    /* A sender may signal a process whose real or saved uid is its real or effective
     * one: this root keeps its saved uid the sender's. */
    setresuid(-1, -1, HIGH + 1);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        if (setresuid(HIGH + 1, HIGH + 1, HIGH + 1) != 0)
            _exit(99);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("sender: exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    got = 0;
    sigsuspend(&old);
    printf("kill from uid %u: si_uid %u SI_USER %d\n", HIGH + 1, got_uid, got_code == SI_USER);
    setresuid(-1, -1, HIGH + 2);
    pid = fork();
    if (pid == 0) {
        if (setresuid(HIGH + 2, HIGH + 2, HIGH + 2) != 0)
            _exit(99);
        union sigval v = {.sival_int = 42};
        sigqueue(parent, SIGUSR2, v);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    got = 0;
    sigsuspend(&old);
    printf("sigqueue from uid %u: si_uid %u value %d SI_QUEUE %d\n", HIGH + 2, got_uid,
           got_value, got_code == SI_QUEUE);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = 0xFFFFFFF0u;
    info.si_value.sival_int = 7;
    SHOW("rt_sigqueueinfo with si_uid 0xfffffff0", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &info));
    got = 0;
    sigsuspend(&old);
    printf("its si_uid %#x value %d\n", got_uid, got_value);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("waitid"))
        waitid_uid();
    if (section("signal"))
        signal_uid();
    return 0;
}
