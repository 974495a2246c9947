/* pidfd.c — pidfds: pidfd_open (close-on-exec, PIDFD_NONBLOCK, zombies, errors, fdinfo's Pid), poll readiness on exit, pidfd_send_signal (NULL and given siginfo, reaped: ESRCH), waitid(P_PIDFD) (EAGAIN when nonblocking, ECHILD), pidfd_getfd (a child's pipe, EPERM across uids), clone3 (size and argument checks, CLONE_PIDFD, CLONE_CLEAR_SIGHAND) and clone's CLONE_PIDFD (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

static long pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }

static long pidfd_send(int fd, int sig, siginfo_t *info, unsigned flags)
{
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static long pidfd_getfd(int fd, int target, unsigned flags)
{
    return syscall(SYS_pidfd_getfd, fd, target, flags);
}

static int readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, ms);
    return n < 0 ? -1 : p.revents & POLLIN ? 1 : 0;
}

/* A child that waits for a byte (or EOF) on the pipe, then exits with CODE. */
static pid_t waiting_child(int *release, int code)
{
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(p[1]);
        read(p[0], &c, 1);
        _exit(code);
    }
    close(p[0]);
    *release = p[1];
    return pid;
}

static void report(const char *label, int fd, int options)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    long r = waitid(P_PIDFD, fd, &info, options);
    int e = errno;
    if (r < 0) {
        printf("%s: -1 %s\n", label, errname(e));
        return;
    }
    const char *code = info.si_code == CLD_EXITED ? "CLD_EXITED"
                       : info.si_code == CLD_KILLED ? "CLD_KILLED" : "other";
    printf("%s: 0 %s status %d\n", label, info.si_pid ? code : "nothing", info.si_status);
}

static void opening(void)
{
    SHOW("pidfd_open flags 1", pidfd_open(getpid(), 1));
    SHOW("pidfd_open pid 0", pidfd_open(0, 0));
    SHOW("pidfd_open pid -5", pidfd_open(-5, 0));
    SHOW("pidfd_open a pid no process has", pidfd_open(0x3fffffff, 0));
    int self = pidfd_open(getpid(), 0);
    printf("pidfd_open self: %s, close-on-exec %d\n", self >= 0 ? "ok" : errname(errno),
           fcntl(self, F_GETFD) & FD_CLOEXEC);
    printf("self readable: %d\n", readable(self, 0));
    char name[64], line[128];
    int pid = -1;
    snprintf(name, sizeof name, "/proc/self/fdinfo/%d", self);
    FILE *info = fopen(name, "r");
    while (info && fgets(line, sizeof line, info))
        sscanf(line, "Pid: %d", &pid);
    printf("fdinfo's Pid is the process's: %d\n", pid == getpid());
    if (info)
        fclose(info);
    char c;
    SHOW("read a pidfd", read(self, &c, 1));
    report("waitid P_PIDFD of self", self, WEXITED | WNOHANG);
    SHOW("waitid P_PIDFD -1", waitid(P_PIDFD, -1, NULL, WEXITED));
    int p[2];
    pipe(p);
    report("waitid P_PIDFD of a pipe", p[0], WEXITED);
    SHOW("pidfd_send_signal to a pipe", pidfd_send(p[0], 0, NULL, 0));
    SHOW("pidfd_send_signal flags 8", pidfd_send(self, 0, NULL, 8));
    SHOW("pidfd_send_signal signal 99", pidfd_send(self, 99, NULL, 0));
    SHOW("pidfd_send_signal 0 to self", pidfd_send(self, 0, NULL, 0));
    close(self);
}

static void signalling(void)
{
    int release;
    pid_t pid = waiting_child(&release, 0);
    int fd = pidfd_open(pid, 0);
    printf("child readable while it runs: %d\n", readable(fd, 0));
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_QUEUE;
    SHOW("pidfd_send_signal with another signal's siginfo", pidfd_send(fd, SIGTERM, &info, 0));
    SHOW("pidfd_send_signal SIGTERM", pidfd_send(fd, SIGTERM, NULL, 0));
    printf("child readable once killed: %d\n", readable(fd, 5000));
    report("waitid P_PIDFD after the kill", fd, WEXITED);
    SHOW("pidfd_send_signal once reaped", pidfd_send(fd, 0, NULL, 0));
    report("waitid P_PIDFD once reaped", fd, WEXITED);
    close(fd);
    close(release);
}

static void nonblocking(void)
{
    int release;
    pid_t pid = waiting_child(&release, 7);
    int fd = pidfd_open(pid, PIDFD_NONBLOCK);
    printf("PIDFD_NONBLOCK status flags: %#x\n", fcntl(fd, F_GETFL) & O_NONBLOCK);
    report("waitid nonblocking pidfd of a running child", fd, WEXITED);
    report("the same with WNOHANG", fd, WEXITED | WNOHANG);
    close(release);
    printf("readable once it exits: %d\n", readable(fd, 5000));
    siginfo_t info;
    waitid(P_PID, pid, &info, WEXITED | WNOWAIT);
    int zombie = pidfd_open(pid, 0);
    printf("pidfd_open of a zombie: %s, readable %d\n", zombie >= 0 ? "ok" : errname(errno),
           readable(zombie, 0));
    SHOW("pidfd_send_signal SIGKILL to a zombie", pidfd_send(zombie, SIGKILL, NULL, 0));
    report("waitid nonblocking pidfd once it exited", fd, WEXITED);
    SHOW("pidfd_open once reaped", pidfd_open(pid, 0));
    close(fd);
    close(zombie);
}

static void getfd(void)
{
    int data[2], numbers[2], hold[2];
    pipe(data);
    pipe(numbers);
    pipe(hold);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {  /* keep a pipe of its own with bytes in it; tell the parent its fd */
        int mine[2];
        char c;
        close(hold[1]);
        pipe(mine);
        write(mine[1], "hello", 5);
        write(numbers[1], &mine[0], sizeof mine[0]);
        read(hold[0], &c, 1);
        _exit(0);
    }
    int theirs, fd = pidfd_open(pid, 0);
    read(numbers[0], &theirs, sizeof theirs);
    int copy = pidfd_getfd(fd, theirs, 0);
    char buf[8] = {0};
    printf("pidfd_getfd: %s, close-on-exec %d\n", copy >= 0 ? "ok" : errname(errno),
           fcntl(copy, F_GETFD) & FD_CLOEXEC);
    printf("read through the copy: %zd '%s'\n", read(copy, buf, 5), buf);
    SHOW("pidfd_getfd flags 1", pidfd_getfd(fd, theirs, 1));
    SHOW("pidfd_getfd of a closed fd", pidfd_getfd(fd, 900, 0));
    SHOW("pidfd_getfd through a pipe", pidfd_getfd(data[0], theirs, 0));
    close(hold[1]);
    waitpid(pid, NULL, 0);
    SHOW("pidfd_getfd once reaped", pidfd_getfd(fd, theirs, 0));
    if (getuid() != 0) {
        puts("another uid's files: (not root: skipped)");
        return;
    }
    int me = pidfd_open(getpid(), 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {  /* as another uid, take its root parent's stdout */
        setresgid(65534, 65534, 65534);
        setresuid(65534, 65534, 65534);
        SHOW("pidfd_getfd of another uid's fd", pidfd_getfd(me, 1, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void on_signal(int sig) { (void)sig; }

static long clone3(struct clone_args_v2 *args, size_t size)
{
    return syscall(SYS_clone3, args, size);
}

static void clone3_checks(void)
{
    unsigned char big[4200] = {0};
    struct clone_args_v2 args;
    memset(&args, 0, sizeof args);
    SHOW("clone3 size 0", clone3(&args, 0));
    SHOW("clone3 size 63", clone3(&args, 63));
    SHOW("clone3 size 4097", clone3((void *)big, 4097));
    big[100] = 1;
    SHOW("clone3 with an unknown nonzero byte", clone3((void *)big, 104));
    SHOW("clone3 unreadable args", clone3((void *)8, 64));
    args.flags = SIGCHLD;
    SHOW("clone3 a signal in flags", clone3(&args, 64));
    args.flags = 0;
    args.exit_signal = 65;
    SHOW("clone3 exit_signal 65", clone3(&args, 64));
    args.exit_signal = SIGCHLD;
    args.stack = (uintptr_t)big;
    SHOW("clone3 a stack without its size", clone3(&args, 64));
    args.stack = 0;
    args.set_tid_size = 1;
    SHOW("clone3 set_tid_size without set_tid", clone3(&args, 88));
    args.set_tid_size = 0;
    args.flags = CLONE_PARENT;
    SHOW("clone3 CLONE_PARENT with an exit signal", clone3(&args, 64));
    args.flags = CLONE_SIGHAND;
    args.exit_signal = 0;
    SHOW("clone3 CLONE_SIGHAND without CLONE_VM", clone3(&args, 64));
}

static void clone3_pidfd(void)
{
    int pidfd = -1;
    struct clone_args_v2 args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD;
    args.pidfd = (uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    fflush(stdout);
    long pid = clone3(&args, 72);  /* a larger struct than v0, zeros past it */
    if (pid == 0)
        syscall(SYS_exit_group, 3);
    printf("clone3 CLONE_PIDFD: %s, pidfd %s, close-on-exec %d\n", pid > 0 ? "ok" : errname(errno),
           pidfd >= 0 ? "set" : "unset", fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
    printf("readable once it exits: %d\n", readable(pidfd, 5000));
    report("waitid P_PIDFD", pidfd, WEXITED);
    close(pidfd);

    pidfd = -1;
    fflush(stdout);
    pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    if (pid == 0)
        syscall(SYS_exit_group, 4);
    printf("clone CLONE_PIDFD: %s, pidfd %s\n", pid > 0 ? "ok" : errname(errno),
           pidfd >= 0 ? "set" : "unset");
    report("waitid P_PIDFD", pidfd, WEXITED);
    SHOW("clone CLONE_PIDFD with CLONE_PARENT_SETTID",
         syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0));
    SHOW("clone CLONE_PIDFD to an unwritable address",
         syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, (void *)8, 0, 0));

    signal(SIGUSR1, on_signal);
    signal(SIGUSR2, SIG_IGN);
    memset(&args, 0, sizeof args);
    args.flags = CLONE_CLEAR_SIGHAND;
    args.exit_signal = SIGCHLD;
    fflush(stdout);
    pid = clone3(&args, 64);
    if (pid == 0) {  /* exit status: bit 0 caught one defaulted, bit 1 ignored one kept */
        struct sigaction usr1, usr2;
        sigaction(SIGUSR1, NULL, &usr1);
        sigaction(SIGUSR2, NULL, &usr2);
        syscall(SYS_exit_group, (usr1.sa_handler == SIG_DFL) | (usr2.sa_handler == SIG_IGN) << 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("clone3 CLONE_CLEAR_SIGHAND: handler reset %d, ignored kept %d\n",
           WEXITSTATUS(status) & 1, WEXITSTATUS(status) >> 1 & 1);
    args.flags = CLONE_CLEAR_SIGHAND | CLONE_SIGHAND | CLONE_VM;
    SHOW("clone3 CLONE_CLEAR_SIGHAND with CLONE_SIGHAND", clone3(&args, 64));
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    if (section("pidfd")) {
        opening();
        signalling();
        nonblocking();
    }
    if (section("getfd"))
        getfd();
    if (section("clone")) {
        clone3_checks();
        clone3_pidfd();
    }
    return 0;
}
