/* ptrace.c — a parent tracing its child with ptrace(2), in sections (section.h):
 * traceme: TRACEME then exec: the tracer sees SIGTRAP, then the exit
 * peekpoke: PEEKDATA/POKEDATA of a variable, GETSIGINFO of the SIGSTOP stop
 * regs: at getpid's syscall-exit stop SETREGS changes its result
 * syscalls: PTRACE_SYSCALL with TRACESYSGOOD counts the child's write calls
 * breakpoint: an int3 put with POKETEXT stops the child; the tracer restores the code
 * step: PTRACE_SINGLESTEP runs one instruction and stops with SIGTRAP
 * restart: a tracee's wait4 woken by its child's end: the exit stop, then SIGCHLD's stop
 * interrupt: a read a signal interrupts: ERESTARTSYS exit stop, the signal, read again
 * exitevent: TRACEEXIT: the tracee stops before it ends, its status in GETEVENTMSG
 * cloneptrace: CLONE_PTRACE: the tracee's child is traced too, without an event
 * fork: TRACEFORK: the event, GETEVENTMSG, the grandchild auto-attached and its end
 * attach: ATTACH to a running process, POKE a flag, DETACH
 * exitkill: SEIZE with EXITKILL: the tracee dies with its tracer
 * errors: EPERM and ESRCH cases
 * vm: process_vm_readv/writev of a child's memory, a partial copy, the errors */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static volatile long secret = 1234;
static volatile int go;

static void describe(const char *who, int status)
{
    if (WIFSTOPPED(status))
        printf("%s: stopped by %d event %d\n", who, WSTOPSIG(status), status >> 16);
    else if (WIFEXITED(status))
        printf("%s: exited %d\n", who, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by %d\n", who, WTERMSIG(status));
}

static pid_t traced_child(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
    }
    return pid;
}

static int wait_for(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, __WALL) != pid)
        printf("waitpid: %s\n", errname(errno));
    return status;
}

static void traceme(const char *self)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execl(self, self, "exec-child", (char *)NULL);
        _exit(99);
    }
    describe("after exec", wait_for(pid));
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, pid, 0, &regs);
    printf("orig_rax is execve: %s\n", regs.orig_rax == SYS_execve ? "yes" : "no");
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("then", wait_for(pid));
}

static void peekpoke(void)
{
    pid_t pid = traced_child();
    if (pid == 0) {
        printf("child sees %ld\n", secret);
        _exit(0);
    }
    describe("child", wait_for(pid));
    siginfo_t info;
    memset(&info, 0, sizeof info);
    ptrace(PTRACE_GETSIGINFO, pid, 0, &info);
    printf("siginfo signo %d code %d\n", info.si_signo, info.si_code);
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, pid, (void *)&secret, 0);
    printf("peek %ld errno %s\n", word, errno ? errname(errno) : "0");
    printf("poke: %ld\n", ptrace(PTRACE_POKEDATA, pid, (void *)&secret, (void *)5678L));
    struct user_fpregs_struct fp;
    memset(&fp, 0, sizeof fp);
    printf("getfpregs: %ld\n", ptrace(PTRACE_GETFPREGS, pid, 0, &fp));
    errno = 0;
    ptrace(PTRACE_PEEKDATA, pid, (void *)8, 0);
    printf("peek of address 8: %s\n", errname(errno));
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("child", wait_for(pid));
}

static void regs(void)
{
    pid_t pid = traced_child();
    if (pid == 0) {
        long mine = syscall(SYS_getpid);
        printf("getpid returned %ld\n", mine);
        _exit(0);
    }
    wait_for(pid);
    int entering = 1, changed = 0;
    for (;;) {
        ptrace(PTRACE_SYSCALL, pid, 0, 0);
        int status = wait_for(pid);
        if (!WIFSTOPPED(status)) {
            describe("child", status);
            break;
        }
        struct user_regs_struct r;
        ptrace(PTRACE_GETREGS, pid, 0, &r);
        if (entering && r.orig_rax == SYS_getpid)
            printf("at entry rax is -ENOSYS: %s\n", (long)r.rax == -ENOSYS ? "yes" : "no");
        if (!entering && r.orig_rax == SYS_getpid && !changed) {
            printf("at exit rax is its pid: %s\n", (pid_t)r.rax == pid ? "yes" : "no");
            r.rax = 4242;
            ptrace(PTRACE_SETREGS, pid, 0, &r);
            changed = 1;
        }
        entering = !entering;
    }
}

static void syscalls(void)
{
    pid_t pid = traced_child();
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            write(1, "w\n", 2);
        _exit(0);
    }
    wait_for(pid);
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
    int writes = 0, good = 1;
    for (;;) {
        ptrace(PTRACE_SYSCALL, pid, 0, 0);
        int status = wait_for(pid);
        if (!WIFSTOPPED(status)) {
            describe("child", status);
            break;
        }
        good &= WSTOPSIG(status) == (SIGTRAP | 0x80);
        long nr = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, orig_rax), 0);
        writes += nr == SYS_write;
    }
    printf("write stops %d (entry and exit), all SIGTRAP|0x80: %s\n", writes,
           good ? "yes" : "no");
}

__attribute__((noinline)) static void target(void)
{
    printf("target ran\n");
    fflush(stdout);
}

static void breakpoint(void)
{
    pid_t pid = traced_child();
    if (pid == 0) {
        target();
        _exit(0);
    }
    wait_for(pid);
    long *at = (long *)(void *)target;
    long code = ptrace(PTRACE_PEEKTEXT, pid, at, 0);
    printf("poketext: %ld\n", ptrace(PTRACE_POKETEXT, pid, at, (void *)((code & ~0xffL) | 0xcc)));
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("child", wait_for(pid));
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    printf("stopped after the int3: %s\n", r.rip == (unsigned long)at + 1 ? "yes" : "no");
    ptrace(PTRACE_POKETEXT, pid, at, (void *)code);
    r.rip = (unsigned long)at;
    ptrace(PTRACE_SETREGS, pid, 0, &r);
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("child", wait_for(pid));
    printf("parent's code untouched: %s\n", *(volatile unsigned char *)at != 0xcc ? "yes" : "no");
}

static void step(void)
{
    pid_t pid = traced_child();
    if (pid == 0) {
        printf("stepped child runs\n");
        _exit(0);
    }
    wait_for(pid);
    struct user_regs_struct before, after;
    int traps = 0, moved = 0;
    for (int i = 0; i < 3; i++) {
        ptrace(PTRACE_GETREGS, pid, 0, &before);
        if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) < 0) {
            printf("single step: %s\n", errname(errno));
            break;
        }
        int status = wait_for(pid);
        traps += WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP;
        ptrace(PTRACE_GETREGS, pid, 0, &after);
        moved += after.rip != before.rip;
    }
    printf("single steps: %d stopped by SIGTRAP, %d moved rip\n", traps, moved);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    ptrace(PTRACE_GETSIGINFO, pid, 0, &info);
    printf("a step's si_code is TRAP_TRACE: %s\n", info.si_code == TRAP_TRACE ? "yes" : "no");
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("child", wait_for(pid));
}

static void restart(void)
{
    pid_t pid = traced_child();
    if (pid == 0) {
        pid_t quick = fork();
        if (quick == 0) {
            usleep(20000);
            _exit(4);
        }
        int status;
        pid_t got = waitpid(quick, &status, 0);
        printf("wait in the tracee: %s, status %d\n", got == quick ? "its child" : "error",
               WEXITSTATUS(status));
        _exit(0);
    }
    wait_for(pid);
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
    int in_wait = 0;
    for (;;) {
        ptrace(PTRACE_SYSCALL, pid, 0, 0);
        int status = wait_for(pid);
        if (!WIFSTOPPED(status)) {
            describe("child", status);
            break;
        }
        struct user_regs_struct r;
        ptrace(PTRACE_GETREGS, pid, 0, &r);
        if (WSTOPSIG(status) == (SIGTRAP | 0x80) && r.orig_rax == SYS_wait4) {
            in_wait = !in_wait;
            if (in_wait)
                printf("wait4 entry\n");
            else
                printf("wait4 exit %s\n", (long)r.rax == -512 ? "ERESTARTSYS" :
                       (long)r.rax > 0 ? "with a pid" : "other");
        } else if (WSTOPSIG(status) == SIGCHLD) {
            printf("SIGCHLD stop\n");
            ptrace(PTRACE_SYSCALL, pid, 0, SIGCHLD);
            status = wait_for(pid);
            ptrace(PTRACE_GETREGS, pid, 0, &r);
            if (r.orig_rax == SYS_wait4) {
                in_wait = 1;
                printf("wait4 entry again\n");
            }
        }
    }
}

static volatile int handled;

static void on_usr1(int sig)
{
    (void)sig;
    handled = 1;
}

static void interrupt(void)
{
    int pipefd[2];
    pipe(pipefd);
    pid_t pid = traced_child();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        char c = 0;
        long got = read(pipefd[0], &c, 1);
        printf("read in the tracee: %ld '%c', handler ran: %d\n", got, c, handled);
        _exit(0);
    }
    wait_for(pid);
    int in_read = 0, reads = 0;
    for (;;) {
        ptrace(PTRACE_SYSCALL, pid, 0, 0);
        int status = wait_for(pid);
        if (!WIFSTOPPED(status)) {
            describe("child", status);
            break;
        }
        struct user_regs_struct r;
        ptrace(PTRACE_GETREGS, pid, 0, &r);
        if (WSTOPSIG(status) == SIGUSR1) {
            printf("SIGUSR1 stop\n");
            ptrace(PTRACE_SYSCALL, pid, 0, SIGUSR1);
            status = wait_for(pid);
            ptrace(PTRACE_GETREGS, pid, 0, &r);
            printf("after the signal: %s\n", r.orig_rax == SYS_rt_sigreturn ? "rt_sigreturn" : "other");
            in_read = 0;
            continue;
        }
        if (r.orig_rax != SYS_read)
            continue;
        in_read = !in_read;
        if (in_read) {
            printf("read entry\n");
            if (++reads == 1) {
                ptrace(PTRACE_SYSCALL, pid, 0, 0);
                usleep(50000);
                kill(pid, SIGUSR1);
                status = wait_for(pid);
                ptrace(PTRACE_GETREGS, pid, 0, &r);
                printf("read exit: %s\n", (long)r.rax == -512 ? "ERESTARTSYS" : "other");
                in_read = 0;
            } else {
                write(pipefd[1], "x", 1);
            }
        } else {
            printf("read exit: %ld\n", (long)r.rax);
        }
    }
}

static void exitevent(void)
{
    pid_t pid = traced_child();
    if (pid == 0)
        _exit(3);
    wait_for(pid);
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEEXIT);
    ptrace(PTRACE_CONT, pid, 0, 0);
    int status = wait_for(pid);
    describe("exiting", status);
    unsigned long message = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &message);
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, pid, 0, &r);
    printf("event message %#lx, in exit_group: %s\n", message,
           r.orig_rax == SYS_exit_group ? "yes" : "no");
    ptrace(PTRACE_CONT, pid, 0, 0);
    describe("then", wait_for(pid));
}

static void cloneptrace(void)
{
    pid_t pid = traced_child();
    if (pid == 0) {
        long child = syscall(SYS_clone, CLONE_PTRACE | SIGCHLD, 0, 0, 0, 0);
        if (child == 0)
            _exit(8);
        int status;
        waitpid(child, &status, 0);
        _exit(WEXITSTATUS(status));
    }
    wait_for(pid);
    ptrace(PTRACE_CONT, pid, 0, 0);
    int stops = 0, exits = 0;
    while (exits < 2) {
        int status;
        pid_t who = waitpid(-1, &status, __WALL);
        if (who < 0)
            break;
        if (WIFSTOPPED(status)) {
            if (who != pid)
                printf("the clone stopped by %d\n", WSTOPSIG(status));
            stops++;
            ptrace(PTRACE_CONT, who, 0, 0);
        } else {
            exits++;
            if (who == pid)
                describe("tracee", status);
        }
    }
    printf("stops %d\n", stops);
}

static void forks(void)
{
    pid_t pid = traced_child();
    if (pid == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0)
            _exit(3);
        int status;
        waitpid(grandchild, &status, 0);
        _exit(WEXITSTATUS(status) + 10);
    }
    wait_for(pid);
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK);
    ptrace(PTRACE_CONT, pid, 0, 0);
    long message = 0;
    pid_t grandchild = 0;
    int fork_event = 0, grandchild_stop = 0, grandchild_exit = -1, child_exit = -1;
    while (child_exit < 0 || grandchild_exit < 0) {
        int status;
        pid_t who = waitpid(-1, &status, __WALL);
        if (who < 0) {
            printf("waitpid: %s\n", errname(errno));
            break;
        }
        if (who == pid && WIFSTOPPED(status) && status >> 8 == (SIGTRAP | PTRACE_EVENT_FORK << 8)) {
            fork_event = 1;
            ptrace(PTRACE_GETEVENTMSG, pid, 0, &message);
        } else if (who != pid && WIFSTOPPED(status)) {
            grandchild_stop = WSTOPSIG(status);
        } else if (who == pid && WIFEXITED(status)) {
            child_exit = WEXITSTATUS(status);
        } else if (who != pid && WIFEXITED(status)) {
            grandchild_exit = WEXITSTATUS(status);
            grandchild = who;
        }
        if (WIFSTOPPED(status))
            ptrace(PTRACE_CONT, who, 0, 0);
    }
    /* After the loop: the new child's first stop, and so its exit, may be reported before
       its parent's fork event (ptrace(2) does not order them). */
    printf("grandchild was the event's pid: %s\n", grandchild == message ? "yes" : "no");
    printf("fork event %d, grandchild stopped by %d, exits %d and %d\n", fork_event,
           grandchild_stop, grandchild_exit, child_exit);
}

static void attach(void)
{
    int ready[2];
    pipe(ready);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        write(ready[1], "r", 1);
        while (!go)
            ;
        _exit(secret == 1234 ? 5 : 6);
    }
    char c;
    read(ready[0], &c, 1);
    printf("attach: %ld\n", ptrace(PTRACE_ATTACH, pid, 0, 0));
    describe("child", wait_for(pid));
    ptrace(PTRACE_POKEDATA, pid, (void *)&go, (void *)1L);
    printf("again: %s\n", ptrace(PTRACE_ATTACH, pid, 0, 0) < 0 ? errname(errno) : "ok");
    printf("detach: %ld\n", ptrace(PTRACE_DETACH, pid, 0, 0));
    describe("child", wait_for(pid));
}

static void exitkill(void)
{
    fflush(stdout);
    pid_t victim = fork();
    if (victim == 0) {
        for (;;)
            pause();
    }
    pid_t tracer = fork();
    if (tracer == 0) {
        long r = ptrace(PTRACE_SEIZE, victim, 0, PTRACE_O_EXITKILL);
        printf("seize: %ld\n", r);
        errno = 0;
        ptrace(PTRACE_PEEKDATA, victim, (void *)&secret, 0);
        printf("peek of a running tracee: %s\n", errname(errno));
        fflush(stdout);
        _exit(0);
    }
    describe("tracer", wait_for(tracer));
    describe("victim", wait_for(victim));
}

static void errors(void)
{
    printf("cont of a non-tracee: %s\n",
           ptrace(PTRACE_CONT, getpid(), 0, 0) < 0 ? errname(errno) : "ok");
    printf("attach to itself: %s\n",
           ptrace(PTRACE_ATTACH, getpid(), 0, 0) < 0 ? errname(errno) : "ok");
    printf("attach to no process: %s\n",
           ptrace(PTRACE_ATTACH, 999999, 0, 0) < 0 ? errname(errno) : "ok");
    printf("seize with bad options: %s\n",
           ptrace(PTRACE_SEIZE, getpid(), 0, 0x80000000L) < 0 ? errname(errno) : "ok");
    fflush(stdout);
    pid_t root = fork();
    if (root == 0) {
        for (;;)
            pause();
    }
    pid_t other = fork();
    if (other == 0) {
        if (setuid(65534) != 0)
            printf("setuid failed\n");
        printf("nobody attaches to root: %s\n",
               ptrace(PTRACE_ATTACH, root, 0, 0) < 0 ? errname(errno) : "ok");
        long first = ptrace(PTRACE_TRACEME, 0, 0, 0);
        printf("traceme: %ld, twice: %s\n", first,
               ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 ? errname(errno) : "ok");
        fflush(stdout);
        _exit(0);
    }
    describe("other", wait_for(other));
    kill(root, SIGKILL);
    describe("root", wait_for(root));
}

static char buffer[32] = "hello there";

static void vm(void)
{
    int go_pipe[2];
    pipe(go_pipe);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(go_pipe[0], &c, 1);
        printf("child's buffer: %s\n", buffer);
        _exit(0);
    }
    char got[32] = {0};
    struct iovec local = {got, 5}, remote = {buffer, 11};
    printf("readv: %zd '%s'\n", process_vm_readv(pid, &local, 1, &remote, 1, 0), got);
    struct iovec two_local[2] = {{got, 3}, {got + 3, 8}};
    memset(got, 0, sizeof got);
    printf("readv into two: %zd '%s'\n", process_vm_readv(pid, two_local, 2, &remote, 1, 0), got);
    struct iovec partial[2] = {{buffer, 4}, {(void *)8, 4}};
    struct iovec room = {got, 8};
    printf("partial: %zd\n", process_vm_readv(pid, &room, 1, partial, 2, 0));
    struct iovec bad = {(void *)8, 4};
    printf("bad remote: %s\n", process_vm_readv(pid, &room, 1, &bad, 1, 0) < 0 ? errname(errno) : "ok");
    printf("flags: %s\n", process_vm_readv(pid, &room, 1, &remote, 1, 1) < 0 ? errname(errno) : "ok");
    printf("no process: %s\n", process_vm_readv(999999, &room, 1, &remote, 1, 0) < 0 ? errname(errno) : "ok");
    struct iovec upper = {"HELLO", 5}, target = {buffer, 5};
    printf("writev: %zd\n", process_vm_writev(pid, &upper, 1, &target, 1, 0));
    write(go_pipe[1], "g", 1);
    describe("child", wait_for(pid));
    printf("own buffer: %s\n", buffer);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        printf("exec'd child runs\n");
        return 7;
    }
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (section("traceme"))
        traceme(argv[0]);
    if (section("peekpoke"))
        peekpoke();
    if (section("regs"))
        regs();
    if (section("syscalls"))
        syscalls();
    if (section("breakpoint"))
        breakpoint();
    if (section("step"))
        step();
    if (section("restart"))
        restart();
    if (section("interrupt"))
        interrupt();
    if (section("exitevent"))
        exitevent();
    if (section("cloneptrace"))
        cloneptrace();
    if (section("fork"))
        forks();
    if (section("attach"))
        attach();
    if (section("exitkill"))
        exitkill();
    if (section("errors"))
        errors();
    if (section("vm"))
        vm();
    return 0;
}
