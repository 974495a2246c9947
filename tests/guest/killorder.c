/* killorder.c — when a signal's default action ends a process: Linux makes it pending
   and wakes the target, which ends itself on its way back to user mode; the sender's
   kill() returns first. argv[1] picks a section:
   order    kill() returns before the child's end can be seen (wait, SIGCHLD)
   stopped  a stopped child keeps a SIGTERM pending; SIGKILL or SIGCONT ends it
   sleepers SIGTERM and SIGKILL end a child asleep in pause, nanosleep, a pipe read, a
            futex, sigsuspend, wait4 and a vfork, at once
   threads  every thread of a process ends with it (kill and tgkill of a side thread)
   self     a process that kills itself runs nothing after kill() (one thread, another
            thread, SIGPIPE)
   traced   SIGKILL ends a tracee in its ptrace-stop; a zombie is not changed by kill
   racing   a fatal signal sent just as the child goes to sleep (kill at once after its
            byte) still ends it: SIGKILL in a pause, SIGTERM in a pipe read, SIGTERM in
            a nanosleep; 30 times each (a handled signal could be taken before the
            sleep, which then runs its length, on Linux too) */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wait_status.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Wait for ``pid`` and say how it ended, and whether within 10 s of ``since`` (the
   sleeps it could end by itself last 20 s or more; 10 s leaves room for a loaded host). */
static void ended(const char *what, pid_t pid, double since)
{
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        printf("%s: waitpid: %s\n", what, strerror(errno));
        return;
    }
    printf("%s: %s%s\n", what, how(status), now() - since < 10 ? ", at once" : ", late");
}

/* A child that runs ``body`` once it has told the parent it is about to (a byte on a
   pipe); the parent waits for the byte, then ``ms`` more (so the child sleeps by then). */
static pid_t start_after(void (*body)(void), int ms)
{
    int ready[2];
    if (pipe(ready) < 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        write(ready[1], "r", 1);
        close(ready[1]);
        body();
        _exit(0);
    }
    close(ready[1]);
    char byte;
    read(ready[0], &byte, 1);
    close(ready[0]);
    if (ms)
        pause_ms(ms);
    return pid;
}

static pid_t start(void (*body)(void)) { return start_after(body, 30); }

static void sleep_pause(void) { for (;;) pause(); }

/* -- order ------------------------------------------------------------------------ */
static volatile sig_atomic_t chld_seen;
static void on_chld(int sig) { (void)sig; chld_seen = 1; }

static void section_order(void)
{
    struct sigaction sa = {.sa_handler = on_chld};
    sigaction(SIGCHLD, &sa, NULL);
    int alive_after = 0, no_chld_yet = 0, all_term = 1;
    for (int i = 0; i < 20; i++) {
        pid_t pid = start(sleep_pause);
        int status;
        chld_seen = 0;
        kill(pid, SIGTERM);
        int seen = chld_seen;
        pid_t got = waitpid(pid, &status, WNOHANG);
        no_chld_yet += !seen;
        alive_after += got == 0;
        if (got == 0)
            got = waitpid(pid, &status, 0);
        all_term &= got == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
    }
    /* (one of 20 suffices: on Linux, too, the child may end on another CPU before the
       sender's next instruction; never so when it ends inside the sender's kill()) */
    printf("SIGCHLD not yet taken when kill() returned, in one try at least: %s\n",
           no_chld_yet ? "yes" : "no");
    printf("child not yet ended when kill() returned, in one try at least: %s\n",
           alive_after ? "yes" : "no");
    printf("every child killed by SIGTERM: %s\n", all_term ? "yes" : "no");
}

/* -- stopped ---------------------------------------------------------------------- */
static void section_stopped(void)
{
    int status;
    pid_t pid = start(sleep_pause);
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    printf("child: %s\n", how(status));
    kill(pid, SIGTERM);
    pause_ms(100);
    printf("after SIGTERM, stopped: waitpid WNOHANG: %d\n", (int)waitpid(pid, &status, WNOHANG));
    double t = now();
    kill(pid, SIGKILL);
    ended("then SIGKILL", pid, t);

    pid = start(sleep_pause);
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    kill(pid, SIGTERM);
    pause_ms(50);
    t = now();
    kill(pid, SIGCONT);
    ended("SIGTERM while stopped, then SIGCONT", pid, t);
}

/* -- sleepers --------------------------------------------------------------------- */
static void sleep_nanosleep(void)
{
    struct timespec ts = {30, 0};
    nanosleep(&ts, NULL);
}

static void sleep_read(void)
{
    int fds[2];
    char byte;
    pipe(fds);
    read(fds[0], &byte, 1);
}

static void sleep_futex(void)
{
    static int word;
    syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void sleep_sigsuspend(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigsuspend(&none);
}

/* A process left behind sleeping: without the output, which a caller may read to its end. */
static void linger(void)
{
    close(1);
    close(2);
    struct timespec ts = {20, 0};
    nanosleep(&ts, NULL);
    _exit(0);
}

static void sleep_wait(void)
{
    pid_t pid = fork();
    if (pid == 0)
        linger();
    waitpid(pid, NULL, 0);
}

static void sleep_vfork(void)
{
    /* (the vfork child sleeps on in the parent's memory, and ends by itself) */
    if (vfork() == 0)
        linger();
}

static void section_sleepers(void)
{
    static const struct {
        const char *name;
        void (*body)(void);
    } kinds[] = {{"pause", sleep_pause}, {"nanosleep", sleep_nanosleep},
                 {"pipe read", sleep_read}, {"futex wait", sleep_futex},
                 {"sigsuspend", sleep_sigsuspend}, {"wait4", sleep_wait},
                 {"vfork", sleep_vfork}};
    static const int sigs[] = {SIGTERM, SIGKILL};
    for (unsigned s = 0; s < 2; s++) {
        for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            char what[64];
            pid_t pid = start(kinds[k].body);
            double t = now();
            kill(pid, sigs[s]);
            snprintf(what, sizeof what, "%s in %s", strsignal(sigs[s]), kinds[k].name);
            ended(what, pid, t);
        }
    }
}

/* -- threads ---------------------------------------------------------------------- */
static int tids[2];

static void *side_read(void *arg)
{
    (void)arg;
    int fds[2];
    char byte;
    pipe(fds);
    read(fds[0], &byte, 1);
    return NULL;
}

static void *side_sleep(void *arg)
{
    (void)arg;
    tids[1] = (int)syscall(SYS_gettid);
    sleep_nanosleep();
    return NULL;
}

static int tid_pipe[2];

static void threaded(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, side_read, NULL);
    pthread_create(&b, NULL, side_sleep, NULL);
    while (!__atomic_load_n(&tids[1], __ATOMIC_SEQ_CST))
        pause_ms(1);
    write(tid_pipe[1], &tids[1], sizeof tids[1]);
    pthread_join(a, NULL);
}

static void section_threads(void)
{
    /* The tid on the pipe says the threads are made: read it before the signal (on a
       loaded host a child killed earlier never writes it, and the read would wait on). */
    pipe(tid_pipe);
    int tid = 0;
    pid_t pid = start(threaded);
    read(tid_pipe[0], &tid, sizeof tid);
    pause_ms(30);
    double t = now();
    kill(pid, SIGTERM);
    ended("kill SIGTERM, three threads asleep", pid, t);

    pid = start(threaded);
    read(tid_pipe[0], &tid, sizeof tid);
    pause_ms(30);
    t = now();
    syscall(SYS_tgkill, pid, tid, SIGTERM);
    ended("tgkill SIGTERM to a side thread", pid, t);
    printf("the side thread was not the main one: %s\n", tid != pid ? "yes" : "no");
}

/* -- self ------------------------------------------------------------------------- */
static int out_pipe[2];

static void say(const char *text) { write(out_pipe[1], text, strlen(text)); }

static void self_kill(void)
{
    say("before;");
    kill(getpid(), SIGTERM);
    say("after kill;");
}

static void *self_kill_thread(void *arg)
{
    (void)arg;
    self_kill();
    return NULL;
}

static void self_kill_threaded(void)
{
    pthread_t thread;
    pthread_create(&thread, NULL, self_kill_thread, NULL);
    pthread_join(thread, NULL);
    say("after join;");
}

static void self_sigpipe(void)
{
    int fds[2];
    pipe(fds);
    close(fds[0]);
    say("before;");
    write(fds[1], "x", 1);
    say("after write;");
}

static void self_case(const char *what, void (*body)(void))
{
    char text[128] = "";
    pipe(out_pipe);
    pid_t pid = start(body);
    close(out_pipe[1]);
    ssize_t n, got = 0;
    while ((n = read(out_pipe[0], text + got, sizeof text - 1 - got)) > 0)
        got += n;
    close(out_pipe[0]);
    ended(what, pid, now());
    printf("%s: it said [%s]\n", what, text);
}

static void section_self(void)
{
    self_case("kill(getpid(), SIGTERM)", self_kill);
    self_case("a second thread's kill(getpid(), SIGTERM)", self_kill_threaded);
    self_case("write to a pipe nobody reads", self_sigpipe);
}

/* -- traced ----------------------------------------------------------------------- */
static void section_traced(void)
{
    int status;
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        raise(SIGSTOP);
        sleep_pause();
    }
    waitpid(pid, &status, 0);
    printf("tracee: %s\n", how(status));
    double t = now();
    kill(pid, SIGKILL);
    ended("SIGKILL in its ptrace-stop", pid, t);

    pid = fork();
    if (pid == 0)
        _exit(3);
    siginfo_t info;
    waitid(P_PID, pid, &info, WEXITED | WNOWAIT);
    printf("kill(zombie, SIGKILL): %d\n", kill(pid, SIGKILL));
    ended("the zombie", pid, now());
}

/* -- racing ----------------------------------------------------------------------- */
static void race_pause(void) { for (;;) pause(); }

static void race_read(void)
{
    int fds[2];
    char byte;
    pipe(fds);
    read(fds[0], &byte, 1);
}

static void race_nanosleep(void)
{
    struct timespec ts = {30, 0};
    nanosleep(&ts, NULL);
}

/* The child says it is ready, then sleeps at once; the parent signals it as soon as it
   has the byte (no pause): on two CPUs the signal often comes while the child is on its
   way into the sleeping call. */
static void race(const char *what, void (*body)(void), int sig)
{
    int right = 0;
    for (int i = 0; i < 30; i++) {
        pid_t pid = start_after(body, 0);
        double t = now();
        kill(pid, sig);
        int status;
        waitpid(pid, &status, 0);
        right += WIFSIGNALED(status) && WTERMSIG(status) == sig && now() - t < 10;
    }
    printf("%s: ended as it should, at once: %d of 30\n", what, right);
}

static void section_racing(void)
{
    race("SIGKILL as it pauses", race_pause, SIGKILL);
    race("SIGTERM as it reads a pipe", race_read, SIGTERM);
    race("SIGTERM as it starts a nanosleep", race_nanosleep, SIGTERM);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *name = argc > 1 ? argv[1] : "";
    static const struct {
        const char *name;
        void (*run)(void);
    } sections[] = {{"order", section_order}, {"stopped", section_stopped},
                    {"sleepers", section_sleepers}, {"threads", section_threads},
                    {"self", section_self}, {"traced", section_traced},
                    {"racing", section_racing}};
    for (unsigned i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (strcmp(name, sections[i].name) == 0) {
            printf("== %s\n", name);
            sections[i].run();
            return 0;
        }
    }
    fprintf(stderr, "usage: killorder order|stopped|sleepers|threads|self|traced|racing\n");
    return 2;
}
