/* jobs.c — job control signals: SIGSTOP/SIGTSTP stop a process (it runs no code and takes no input), SIGCONT resumes it, wait4 WUNTRACED/WCONTINUED and waitid report both, SIGCHLD carries CLD_STOPPED/CLD_CONTINUED unless SA_NOCLDSTOP, fatal signals wait for the continue, handlers of SIGTSTP and SIGCONT (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void show_status(const char *label, int status)
{
    if (WIFSTOPPED(status))
        printf("%s: stopped by %d\n", label, WSTOPSIG(status));
    else if (WIFCONTINUED(status))
        printf("%s: continued\n", label);
    else if (WIFSIGNALED(status))
        printf("%s: killed by %d\n", label, WTERMSIG(status));
    else
        printf("%s: exited %d\n", label, WEXITSTATUS(status));
}

static volatile long *counter;  /* shared with the spinning child: how far it got */

/* A child that counts as fast as it can in shared memory; returns once it has started. */
static pid_t spinner(void)
{
    if (!counter)
        counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *counter = 0;
    pid_t pid = fork();
    if (pid == 0)
        for (;;)
            (*counter)++;
    while (*counter == 0)
        pause_ms(1);
    return pid;
}

static void stop(void)
{
    pid_t pid = spinner();
    int status;
    kill(pid, SIGSTOP);
    printf("wait4 WUNTRACED: %s\n", waitpid(pid, &status, WUNTRACED) == pid ? "child" : "?");
    show_status("status", status);
    SHOW("reported once (WNOHANG)", waitpid(pid, &status, WUNTRACED | WNOHANG));
    long before = *counter;
    pause_ms(60);
    printf("runs while stopped: %s\n", *counter != before ? "yes" : "no");
    kill(pid, SIGCONT);
    printf("wait4 WCONTINUED: %s\n", waitpid(pid, &status, WCONTINUED) == pid ? "child" : "?");
    show_status("status", status);
    before = *counter;
    pause_ms(60);
    printf("runs after SIGCONT: %s\n", *counter != before ? "yes" : "no");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    show_status("end", status);
}

static void tstp(void)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        setpgid(0, 0);  /* its own group, with its parent in this session: not orphaned,
                           so a default-action SIGTSTP stops it wherever the test runs */
        ssize_t n = read(p[0], &c, 1);  /* blocked here when stopped */
        _exit(n == 1 ? c : 99);
    }
    setpgid(pid, pid);
    pause_ms(30);
    int status, queued = -1;
    kill(pid, SIGTSTP);
    waitpid(pid, &status, WUNTRACED);
    show_status("after SIGTSTP", status);
    write(p[1], "x", 1);
    pause_ms(60);
    ioctl(p[0], FIONREAD, &queued);
    printf("bytes left in the pipe while stopped: %d\n", queued);
    kill(pid, SIGCONT);
    waitpid(pid, &status, 0);
    show_status("after SIGCONT", status);
    printf("the read got: %c\n", WEXITSTATUS(status));
}

static volatile sig_atomic_t codes[8], ncodes;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    if (ncodes < 8)
        codes[ncodes++] = si->si_code * 100 + si->si_status;
}

static void wait_codes(int n)
{
    for (int i = 0; i < 200 && ncodes < n; i++)
        pause_ms(5);
}

static void sigchld(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    pid_t pid = spinner();
    kill(pid, SIGSTOP);
    wait_codes(1);
    kill(pid, SIGCONT);
    wait_codes(2);
    printf("SIGCHLD codes: %d %d (CLD_STOPPED=%d, CLD_CONTINUED=%d)\n", codes[0], codes[1],
           CLD_STOPPED, CLD_CONTINUED);
    sa.sa_flags |= SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    ncodes = 0;
    kill(pid, SIGSTOP);
    int status;
    waitpid(pid, &status, WUNTRACED);
    kill(pid, SIGCONT);
    waitpid(pid, &status, WCONTINUED);
    pause_ms(30);
    printf("with SA_NOCLDSTOP: %d signals\n", (int)ncodes);
    kill(pid, SIGKILL);
    wait_codes(1);
    printf("the kill: code %d\n", codes[0]);
    waitpid(pid, &status, 0);
    signal(SIGCHLD, SIG_DFL);
}

static void show_info(const char *label, siginfo_t *si)
{
    printf("%s: pid %s code %d status %d\n", label, si->si_pid ? "child" : "0", si->si_code,
           si->si_status);
}

static void waitid_reports(void)
{
    pid_t pid = spinner();
    siginfo_t si;
    kill(pid, SIGSTOP);
    memset(&si, 0, sizeof si);
    SHOW("waitid WSTOPPED|WNOWAIT", waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT));
    show_info("info", &si);
    memset(&si, 0, sizeof si);
    SHOW("waitid WSTOPPED again", waitid(P_PID, pid, &si, WSTOPPED));
    show_info("info", &si);
    memset(&si, 0, sizeof si);
    SHOW("waitid WSTOPPED|WNOHANG now", waitid(P_PID, pid, &si, WSTOPPED | WNOHANG));
    show_info("info", &si);
    kill(pid, SIGCONT);
    memset(&si, 0, sizeof si);
    SHOW("waitid WCONTINUED", waitid(P_PID, pid, &si, WCONTINUED));
    show_info("info", &si);
    kill(pid, SIGKILL);
    memset(&si, 0, sizeof si);
    SHOW("waitid WEXITED", waitid(P_PID, pid, &si, WEXITED));
    show_info("info", &si);
}

static void pending(void)
{
    pid_t pid = spinner();
    int status;
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    kill(pid, SIGTERM);
    pause_ms(60);
    SHOW("alive after SIGTERM while stopped (WNOHANG)", waitpid(pid, &status, WNOHANG));
    kill(pid, SIGCONT);
    waitpid(pid, &status, 0);
    show_status("after SIGCONT", status);

    pid = spinner();
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    show_status("SIGKILL while stopped", status);
}

static volatile sig_atomic_t got_tstp, got_cont;

static void on_tstp(int sig)
{
    (void)sig;
    got_tstp++;
    raise(SIGSTOP);
}

static void on_cont(int sig)
{
    (void)sig;
    got_cont++;
}

static void handlers(void)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTSTP, on_tstp);
        signal(SIGCONT, on_cont);
        write(p[1], "r", 1);
        while (!got_cont)
            pause_ms(2);
        _exit(got_tstp * 10 + got_cont);
    }
    char c;
    read(p[0], &c, 1);
    int status;
    kill(pid, SIGTSTP);
    waitpid(pid, &status, WUNTRACED);
    show_status("the SIGTSTP handler stopped itself", status);
    kill(pid, SIGCONT);
    waitpid(pid, &status, 0);
    show_status("handlers ran (tstp*10 + cont)", status);
    signal(SIGTSTP, SIG_IGN);
    SHOW("ignored SIGTSTP: raise", raise(SIGTSTP));
    printf("still running\n");
    signal(SIGTSTP, SIG_DFL);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("stop"))
        stop();
    if (section("tstp"))
        tstp();
    if (section("sigchld"))
        sigchld();
    if (section("waitid"))
        waitid_reports();
    if (section("pending"))
        pending();
    if (section("handlers"))
        handlers();
    return 0;
}
