/* exec_hostile.c — execve of hostile files and arguments must fail cleanly or kill only the caller.
 * "files F..." forks a child per file that execve's it (no arguments, empty environment) and
 * prints how each ended; the other sections probe execve's argument limits, clone's
 * CLONE_PARENT_SETTID with a bad pointer, a signal handler on a read-only alternate stack,
 * and kill(1, ...) from inside (run as pid 1). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"
#include "section.h"

/* errname, and the errors only exec returns. */
static const char *exec_errname(int e)
{
    return e == ELIBBAD ? "ELIBBAD" : e == ELOOP ? "ELOOP" : errname(e);
}

/* How a child ended, as one word: exit code or signal. */
static void report(const char *label, pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        printf("%s: waitpid -1 %s\n", label, errname(errno));
    } else if (WIFEXITED(st)) {
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    } else if (WIFSIGNALED(st)) {
        printf("%s: killed by signal %d\n", label, WTERMSIG(st));
    }
    fflush(stdout);
}

/* The child prints its own execve error, so the parent's line holds only the ending. */
static void exec_one(const char *path)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)path, NULL};
        char *envp[] = {NULL};
        execve(path, argv, envp);
        printf("  execve -1 %s\n", exec_errname(errno));
        fflush(stdout);
        _exit(127);
    }
    report("  ended", pid);
}

/* execve with COUNT empty argument strings: Linux counts a pointer per string against
 * the limit, so 2 Mi of them fail with E2BIG at once. */
static const char *target = "/nonexistent";  /* argv[2]: an executable that is no program */

static void huge_argv(size_t count)
{
    char **argv = malloc((count + 1) * sizeof *argv);
    for (size_t i = 0; i < count; i++)
        argv[i] = "";
    argv[count] = NULL;
    char *envp[] = {NULL};
    errno = 0;
    long r = syscall(SYS_execve, target, argv, envp);
    printf("execve with %zu empty strings: %ld %s\n", count, r, errname(errno));
    free(argv);
}

static void long_string_arg(void)
{
    size_t len = 32 * 4096;  /* MAX_ARG_STRLEN counts the NUL: one byte too long */
    char *s = malloc(len + 1);
    memset(s, 'a', len);
    s[len] = 0;
    char *argv[] = {"x", s, NULL};
    char *envp[] = {NULL};
    errno = 0;
    long r = syscall(SYS_execve, target, argv, envp);
    printf("execve with a %zu-byte string: %ld %s\n", len, r, errname(errno));
    free(s);
}

static void argv_errors(void)
{
    char *envp[] = {NULL};
    char *bad_ptr[] = {"x", (char *)8, NULL};
    errno = 0;
    long r = syscall(SYS_execve, target, (char **)8, envp);
    printf("execve with an unmapped argv: %ld %s\n", r, errname(errno));
    r = syscall(SYS_execve, target, bad_ptr, envp);
    printf("execve with an unmapped argv string: %ld %s\n", r, errname(errno));
    r = syscall(SYS_execve, "/nonexistent", (char **)8, envp);
    printf("execve of a missing file with an unmapped argv: %ld %s\n", r, errname(errno));
}

/* 600 KB of arguments (more than the 128 KiB a stack starts with) reach the new program. */
static void big_args(const char *self)
{
    enum { COUNT = 6000, LEN = 100 };
    char **argv = malloc((COUNT + 3) * sizeof *argv);
    char *text = malloc(LEN + 1);
    memset(text, 'b', LEN);
    text[LEN] = 0;
    argv[0] = (char *)self;
    argv[1] = "count-args";
    for (int i = 0; i < COUNT; i++)
        argv[i + 2] = text;
    argv[COUNT + 2] = NULL;
    char *envp[] = {NULL};
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execve(self, argv, envp);
        printf("execve with 600 KB of arguments: -1 %s\n", errname(errno));
        _exit(127);
    }
    report("big-args child", pid);
}

/* clone(SIGCHLD | CLONE_PARENT_SETTID) with an unmapped parent_tid: Linux skips the store
 * and the parent gets the pid; the child must run once, and only once. */
static void clone_bad_parent_tid(void)
{
    fflush(stdout);
    long pid = syscall(SYS_clone, SIGCHLD | CLONE_PARENT_SETTID, 0, (void *)8, 0, 0);
    if (pid == 0)
        _exit(7);
    if (pid < 0) {
        printf("clone with an unmapped parent_tid: -1 %s\n", errname(errno));
        return;
    }
    printf("clone with an unmapped parent_tid: returned a pid\n");
    report("  child", (pid_t)pid);
    static const int read_only = 0;  /* in .rodata: the store faults the same way */
    fflush(stdout);
    pid = syscall(SYS_clone, SIGCHLD | CLONE_PARENT_SETTID, 0, (void *)&read_only, 0, 0);
    if (pid == 0)
        _exit(8);
    printf("clone with a read-only parent_tid: %s\n", pid > 0 ? "returned a pid" : errname(errno));
    if (pid > 0)
        report("  child", (pid_t)pid);
}

static void on_usr1(int sig)
{
    (void)sig;
    write(1, "handler ran\n", 12);
}

/* A handler on an alternate stack the program made read-only: Linux cannot write the
 * signal frame and kills the process with SIGSEGV. */
static void readonly_altstack(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        size_t size = 64 * 1024;
        char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
        stack_t ss = {.ss_sp = stack, .ss_size = size, .ss_flags = 0};
        struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
        sigaltstack(&ss, NULL);
        sigaction(SIGUSR1, &sa, NULL);
        mprotect(stack, size, PROT_READ);
        raise(SIGUSR1);
        printf("survived the signal\n");
        _exit(0);
    }
    report("read-only altstack child", pid);
}

/* kill(1, ...) from another process inside pid 1's namespace: init only gets the signals
 * it has a handler for (or blocks, to take later). */
static void signal_init(void)
{
    if (getpid() != 1) {
        printf("not pid 1\n");
        return;
    }
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("kill(1, SIGKILL): %d\n", kill(1, SIGKILL));
        printf("kill(1, SIGSTOP): %d\n", kill(1, SIGSTOP));
        printf("kill(1, SIGTERM): %d\n", kill(1, SIGTERM));
        printf("kill(1, SIGUSR2), blocked: %d\n", kill(1, SIGUSR2));
        union sigval value = {.sival_int = 5};
        printf("sigqueue(1, SIGINT): %d\n", sigqueue(1, SIGINT, value));
        fflush(stdout);
        _exit(0);
    }
    report("signalling child", pid);
    int sig = 0;
    sigwait(&usr2, &sig);
    printf("init still runs, took the blocked signal %d\n", sig);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "files") == 0) {
        for (int i = 2; i < argc; i++) {
            printf("%s\n", strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i]);
            exec_one(argv[i]);
        }
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "count-args") == 0) {
        size_t total = 0;
        for (int i = 0; i < argc; i++)
            total += strlen(argv[i]) + 1;
        printf("new program: argc %d, %zu bytes of arguments\n", argc, total - strlen(argv[0]));
        return 0;
    }
    only = argc > 1 ? argv[1] : NULL;
    if (argc > 2)
        target = argv[2];
    if (section("args")) {
        huge_argv(2u << 20);
        huge_argv(1u << 20);
        huge_argv(200000);  /* fits a 2 MiB limit (8 MiB stack): the file is tried */
        long_string_arg();
        argv_errors();
        big_args(argv[0]);
    }
    if (section("clone"))
        clone_bad_parent_tid();
    if (section("altstack"))
        readonly_altstack();
    if (section("init"))
        signal_init();
    return 0;
}
