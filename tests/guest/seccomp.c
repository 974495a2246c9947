/* seccomp.c — seccomp(2) and prctl's PR_SET_SECCOMP as Linux has them. argv[1] picks a
   section; each filter is installed in a child, whose end the parent reports:
   strict   strict mode: write and exit run, getpid, exit_group and prctl end it by SIGKILL
   errno    SECCOMP_RET_ERRNO (data capped at 4095, 0 returns 0), PR_GET_SECCOMP
   kill     KILL_PROCESS, KILL_THREAD, an unknown action: ended by SIGSYS; KILL_THREAD of a
            side thread ends it alone
   trap     SECCOMP_RET_TRAP: SIGSYS's siginfo (si_code, si_errno, si_call_addr,
            si_syscall, si_arch), RAX afterwards; blocked or ignored SIGSYS: the end
   data     what a filter sees: arch, instruction_pointer, raw numbers (-1, 1000), both
            halves of an argument; BPF arithmetic, scratch memory, BPF_LEN, X = 0 division
   stack    several filters: the most restrictive action wins, the newest among equals;
            TRACE without a tracer and USER_NOTIF without a listener are ENOSYS;
            /proc/self/status's Seccomp lines
   inherit  fork and execve keep the filters; strict mode is refused over them
   errors   EINVAL for bad programs, flags, operations; EFAULT; EACCES without
            no_new_privs for a user without CAP_SYS_ADMIN; GET_ACTION_AVAIL
   tsync    SECCOMP_FILTER_FLAG_TSYNC gives another thread the filter; a thread with its own
            filter makes it fail (its tid, or ESRCH with TSYNC_ESRCH) */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "section.h"
#include "wait_status.h"

#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARCH_OFF offsetof(struct seccomp_data, arch)
#define IP_OFF offsetof(struct seccomp_data, instruction_pointer)
#define ARG_OFF(i) offsetof(struct seccomp_data, args[i])
#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
/* if the number is nr, return v, else go on (two instructions) */
#define ON_NR(nr, v) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET(v)
#define LEN(f) ((unsigned short)(sizeof(f) / sizeof((f)[0])))

static long install(unsigned flags, struct sock_filter *f, unsigned short n)
{
    struct sock_fprog prog = {n, f};
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* A filter: ``value`` for calls of ``nr``, the others allowed. */
static long on_call(int nr, unsigned value)
{
    struct sock_filter f[] = {LOAD(NR_OFF), ON_NR(nr, value), RET(SECCOMP_RET_ALLOW)};
    return install(0, f, LEN(f));
}

static const char *res(long r)
{
    static char text[64];
    if (r < 0)
        snprintf(text, sizeof text, "-1 errno %d", errno);
    else
        snprintf(text, sizeof text, "%ld", r);
    return text;
}

/* "allowed" for a call that did not fail (its value differs from run to run) */
static const char *verdict(long r)
{
    return r < 0 ? res(r) : "allowed";
}

/* Run ``body`` in a child (no_new_privs set) and say how it ended. */
static void child(const char *what, void (*body)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        body();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("%s: %s\n", what, how(status));
}

static void say(const char *text)  /* write(2) alone, as strict mode allows */
{
    syscall(SYS_write, 1, text, strlen(text));
}

/* -- strict ------------------------------------------------------------------------- */
static void strict_exit(void)
{
    printf("PR_SET_SECCOMP strict: %s\n", res(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)));
    fflush(stdout);
    say("write in strict mode: ok\n");
    syscall(SYS_exit, 3);
}

static void strict_getpid(void)
{
    syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL);
    say("getpid next\n");
    syscall(SYS_getpid);
    say("getpid returned\n");
    syscall(SYS_exit, 0);
}

static void strict_exit_group(void)
{
    syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL);
    syscall(SYS_exit_group, 4);
}

static void strict_prctl(void)
{
    syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL);
    prctl(PR_GET_SECCOMP);
    syscall(SYS_exit, 5);
}

static void strict_section(void)
{
    printf("strict with flags: %s\n", res(syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 1, NULL)));
    printf("strict with an argument: %s\n",
           res(syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, (void *)8)));
    child("strict, write then exit", strict_exit);
    child("strict, getpid", strict_getpid);
    child("strict, exit_group", strict_exit_group);
    child("strict, prctl", strict_prctl);
}

/* -- errno -------------------------------------------------------------------------- */
static void errno_body(void)
{
    printf("PR_GET_SECCOMP before: %d\n", prctl(PR_GET_SECCOMP));
    printf("install: %s\n", res(on_call(SYS_getppid, SECCOMP_RET_ERRNO | 13)));
    printf("PR_GET_SECCOMP after: %d\n", prctl(PR_GET_SECCOMP));
    printf("getppid: %s\n", res(syscall(SYS_getppid)));
    printf("getpid is allowed: %s\n", syscall(SYS_getpid) == getpid() ? "yes" : "no");
    on_call(SYS_getuid, SECCOMP_RET_ERRNO | 5000);
    printf("getuid, ERRNO 5000: %s\n", res(syscall(SYS_getuid)));
    on_call(SYS_getgid, SECCOMP_RET_ERRNO | 0);
    printf("getgid, ERRNO 0: %s\n", res(syscall(SYS_getgid)));
    on_call(SYS_getpgrp, SECCOMP_RET_ERRNO | 4095);
    printf("getpgrp, ERRNO 4095: %s\n", res(syscall(SYS_getpgrp)));
}

/* -- kill --------------------------------------------------------------------------- */
static void kill_process(void)
{
    on_call(SYS_getppid, SECCOMP_RET_KILL_PROCESS);
    syscall(SYS_getppid);
    say("still here\n");
}

static void kill_thread(void)
{
    on_call(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    syscall(SYS_getppid);
    say("still here\n");
}

static void kill_unknown(void)
{
    on_call(SYS_getppid, 0x00010000);
    syscall(SYS_getppid);
    say("still here\n");
}

static void *side_thread(void *arg)
{
    (void)arg;
    on_call(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    syscall(SYS_getppid);
    say("side thread still here\n");
    return NULL;
}

static void kill_side_thread(void)
{
    pthread_t t;
    pthread_create(&t, NULL, side_thread, NULL);
    pthread_join(t, NULL);
    printf("the side thread ended, main goes on; its getppid: %s\n",
           syscall(SYS_getppid) == getppid() ? "allowed" : "refused");
    fflush(stdout);
    syscall(SYS_exit_group, 7);
}

static void kill_section(void)
{
    child("KILL_PROCESS", kill_process);
    child("KILL_THREAD, the only thread", kill_thread);
    child("unknown action 0x10000", kill_unknown);
    child("KILL_THREAD in a side thread", kill_side_thread);
}

/* -- trap --------------------------------------------------------------------------- */
static siginfo_t trapped;
static long trapped_rax;

static void on_sigsys(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    trapped = *info;
    trapped_rax = ((ucontext_t *)context)->uc_mcontext.gregs[REG_RAX];
}

/* getppid by a SYSCALL whose next instruction is known: (its RAX after, that address) */
static __attribute__((noinline)) long getppid_at(void **after)
{
    long rax = SYS_getppid;
    void *next;
    __asm__ volatile("lea 1f(%%rip), %1\n\tsyscall\n1:"
                     : "+a"(rax), "=&r"(next) : : "rcx", "r11", "memory");
    *after = next;
    return rax;
}

static void trap_body(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    on_call(SYS_getppid, SECCOMP_RET_TRAP | 0x42);
    void *after;
    long rax = getppid_at(&after);
    printf("handler ran: si_signo %d (SIGSYS %d), si_code %d, si_errno %#x\n",
           trapped.si_signo, SIGSYS, trapped.si_code, trapped.si_errno);
    printf("si_syscall %d, si_arch %#x\n", trapped.si_syscall, trapped.si_arch);
    printf("si_call_addr is the address after the SYSCALL: %s\n",
           trapped.si_call_addr == after ? "yes" : "no");
    printf("RAX in the handler's context: %ld; after: %ld\n", trapped_rax, rax);
}

static void trap_blocked(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    sigprocmask(SIG_BLOCK, &set, NULL);
    on_call(SYS_getppid, SECCOMP_RET_TRAP);
    syscall(SYS_getppid);
    say("still here\n");
}

static void trap_ignored(void)
{
    signal(SIGSYS, SIG_IGN);
    on_call(SYS_getppid, SECCOMP_RET_TRAP);
    syscall(SYS_getppid);
    say("still here\n");
}

static void trap_section(void)
{
    child("TRAP with a handler", trap_body);
    child("TRAP, SIGSYS blocked", trap_blocked);
    child("TRAP, SIGSYS ignored", trap_ignored);
}

/* -- data --------------------------------------------------------------------------- */
static void data_body(void)
{
    struct sock_filter arch[] = {
        LOAD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 3),
        LOAD(ARCH_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 1),
        RET(SECCOMP_RET_ERRNO | 7), RET(SECCOMP_RET_ALLOW)};
    install(0, arch, LEN(arch));
    printf("getppid, ERRNO 7 if arch is AUDIT_ARCH_X86_64: %s\n", res(syscall(SYS_getppid)));

    void *after;
    getppid_at(&after);  /* (the filter above answers it) */
    uint64_t at = (uint64_t)after;
    struct sock_filter ip[] = {
        LOAD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 5),
        LOAD(IP_OFF + 4), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(at >> 32), 0, 3),
        LOAD(IP_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)at, 0, 1),
        RET(SECCOMP_RET_ERRNO | 8), RET(SECCOMP_RET_ALLOW)};
    install(0, ip, LEN(ip));
    errno = 0;
    long rax = getppid_at(&after);
    printf("getppid, ERRNO 8 if instruction_pointer is after its SYSCALL: %ld\n", rax);

    struct sock_filter raw[] = {LOAD(NR_OFF), ON_NR(0xFFFFFFFF, SECCOMP_RET_ERRNO | 33),
                                ON_NR(1000, SECCOMP_RET_ERRNO | 34),
                                ON_NR(0x40000027, SECCOMP_RET_ERRNO | 35),
                                RET(SECCOMP_RET_ALLOW)};
    install(0, raw, LEN(raw));
    printf("syscall(-1): %s\n", res(syscall(-1)));
    printf("syscall(1000): %s\n", res(syscall(1000)));
    printf("syscall(0x40000027): %s\n", res(syscall(0x40000027)));
    printf("syscall(999), not in the filter: %s\n", res(syscall(999)));

    struct sock_filter args[] = {
        LOAD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_dup, 0, 6),
        LOAD(ARG_OFF(0)), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1000, 0, 4),
        LOAD(ARG_OFF(0) + 4), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
        RET(SECCOMP_RET_ERRNO | 41), RET(SECCOMP_RET_ERRNO | 42), RET(SECCOMP_RET_ALLOW)};
    install(0, args, LEN(args));
    printf("dup(0x1000003e8): %s\n", res(syscall(SYS_dup, 0x1000003e8L)));
    printf("dup(1000): %s\n", res(syscall(SYS_dup, 1000L)));
    printf("dup(0): %s\n", res(syscall(SYS_dup, 0L)) [0] == '-' ? "fails" : "an fd");

    /* A = ((nr * 3 + 5) ^ 0x10) >> 1, through M[3] and X; errno = A & 0xfff */
    struct sock_filter alu[] = {
        LOAD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgrp, 1, 0),
        RET(SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 3), BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 5),
        BPF_STMT(BPF_ST, 3), BPF_STMT(BPF_LDX | BPF_IMM, 0x10), BPF_STMT(BPF_LD | BPF_MEM, 3),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 1),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff), BPF_STMT(BPF_ALU | BPF_OR | BPF_K,
                                                              SECCOMP_RET_ERRNO),
        BPF_STMT(BPF_RET | BPF_A, 0)};
    install(0, alu, LEN(alu));
    printf("getpgrp, errno computed by the filter: %s\n", res(syscall(SYS_getpgrp)));

    struct sock_filter len[] = {
        LOAD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 1, 0),
        RET(SECCOMP_RET_ALLOW), BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        BPF_STMT(BPF_ALU | BPF_NEG, 0), BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff),
        BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO), BPF_STMT(BPF_RET | BPF_A, 0)};
    install(0, len, LEN(len));
    printf("getuid, errno -sizeof(seccomp_data) & 0xfff: %s\n", res(syscall(SYS_getuid)));
}

static void divide_by_x(void)
{
    struct sock_filter f[] = {
        LOAD(NR_OFF), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 1, 0),
        RET(SECCOMP_RET_ALLOW), BPF_STMT(BPF_LDX | BPF_IMM, 0),
        BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0), BPF_STMT(BPF_ALU | BPF_OR | BPF_K,
                                                          SECCOMP_RET_ERRNO),
        BPF_STMT(BPF_RET | BPF_A, 0)};
    install(0, f, LEN(f));
    syscall(SYS_getppid);
    say("still here\n");
}

static void data_section(void)
{
    child("data", data_body);
    child("division by X = 0 (the filter returns 0: KILL_THREAD)", divide_by_x);
}

/* -- stack -------------------------------------------------------------------------- */
static void print_status_lines(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Seccomp", 7) == 0)
            printf("status %s", line);
    if (f)
        fclose(f);
}

static void stack_body(void)
{
    on_call(SYS_getppid, SECCOMP_RET_ERRNO | 11);
    on_call(SYS_getppid, SECCOMP_RET_ERRNO | 12);
    printf("two ERRNO filters, the newest: %s\n", res(syscall(SYS_getppid)));
    on_call(SYS_getppid, SECCOMP_RET_LOG);
    on_call(SYS_getppid, SECCOMP_RET_TRACE | 1);
    on_call(SYS_getppid, SECCOMP_RET_ALLOW);
    printf("then LOG, TRACE, ALLOW: ERRNO still wins: %s\n", res(syscall(SYS_getppid)));
    on_call(SYS_getpid, SECCOMP_RET_TRACE);
    printf("getpid, TRACE without a tracer: %s\n", res(syscall(SYS_getpid)));
    on_call(SYS_getuid, SECCOMP_RET_USER_NOTIF);
    printf("getuid, USER_NOTIF without a listener: %s\n", res(syscall(SYS_getuid)));
    on_call(SYS_getgid, SECCOMP_RET_LOG);
    printf("getgid, LOG: %s\n", syscall(SYS_getgid) == getgid() ? "runs" : "refused");
    on_call(SYS_getpid, SECCOMP_RET_ERRNO | 9);
    printf("getpid, then ERRNO over TRACE: %s\n", res(syscall(SYS_getpid)));
    print_status_lines();
    printf("flag LOG: %s\n", res(install(SECCOMP_FILTER_FLAG_LOG,
                                         (struct sock_filter[]){RET(SECCOMP_RET_ALLOW)}, 1)));
    printf("flag SPEC_ALLOW: %s\n", res(install(SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                                         (struct sock_filter[]){RET(SECCOMP_RET_ALLOW)}, 1)));
    print_status_lines();
    fflush(stdout);
    on_call(SYS_getppid, SECCOMP_RET_KILL_PROCESS);
    syscall(SYS_getppid);
    say("still here\n");
}

/* -- inherit ------------------------------------------------------------------------ */
static void inherit_fork(void)
{
    printf("forked child: PR_GET_SECCOMP %d, getppid: %s\n", prctl(PR_GET_SECCOMP),
           res(syscall(SYS_getppid)));
}

static void inherit_body(void)
{
    on_call(SYS_getppid, SECCOMP_RET_ERRNO | 21);
    printf("strict mode over filters: %s\n",
           res(syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL)));
    child("the forked child", inherit_fork);
    fflush(stdout);
    execl("/proc/self/exe", "seccomp", "exec-child", (char *)NULL);
    printf("execl: %s\n", strerror(errno));
}

static int exec_child(void)
{
    printf("after execve: PR_GET_SECCOMP %d, getppid: %s\n", prctl(PR_GET_SECCOMP),
           res(syscall(SYS_getppid)));
    print_status_lines();
    return 0;
}

/* -- errors ------------------------------------------------------------------------- */
static void bad(const char *what, struct sock_filter *f, unsigned short n)
{
    printf("%s: %s\n", what, res(install(0, f, n)));
}

static void errors_programs(void)
{
    struct sock_filter ok[] = {RET(SECCOMP_RET_ALLOW)};
    struct sock_filter big[4097];
    for (int i = 0; i < 4097; i++)
        big[i] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
    bad("len 0", ok, 0);
    bad("len 4097", big, 4097);
    printf("len 4096: %s\n", res(install(0, big, 4096)));
    bad("halfword load", (struct sock_filter[]){BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),
                                                 RET(0)}, 2);
    bad("load at 2", (struct sock_filter[]){LOAD(2), RET(0)}, 2);
    bad("load at 64", (struct sock_filter[]){LOAD(64), RET(0)}, 2);
    bad("load at 60", (struct sock_filter[]){LOAD(60), RET(SECCOMP_RET_ALLOW)}, 2);
    bad("jump past the end", (struct sock_filter[]){
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), RET(SECCOMP_RET_ALLOW)}, 2);
    bad("ja past the end", (struct sock_filter[]){BPF_STMT(BPF_JMP | BPF_JA, 1),
                                                   RET(SECCOMP_RET_ALLOW)}, 2);
    bad("no return at the end", (struct sock_filter[]){RET(0), LOAD(0)}, 2);
    bad("division by K = 0", (struct sock_filter[]){BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
                                                     RET(0)}, 2);
    bad("mod", (struct sock_filter[]){BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), RET(0)}, 2);
    bad("shift by 32", (struct sock_filter[]){BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32),
                                               RET(0)}, 2);
    bad("scratch word 16", (struct sock_filter[]){BPF_STMT(BPF_ST, 16), RET(0)}, 2);
    bad("scratch read before written", (struct sock_filter[]){
        BPF_STMT(BPF_LD | BPF_MEM, 2), RET(0)}, 2);
    bad("scratch written on one way only", (struct sock_filter[]){
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), BPF_STMT(BPF_ST, 2),
        BPF_STMT(BPF_LD | BPF_MEM, 2), RET(SECCOMP_RET_ALLOW)}, 4);
    bad("ret X", (struct sock_filter[]){BPF_STMT(BPF_RET | BPF_X, 0)}, 1);
    bad("opcode 0xffff", (struct sock_filter[]){{0xffff, 0, 0, 0}, RET(0)}, 2);
    printf("flag 1 << 10: %s\n", res(install(1 << 10, ok, 1)));
    printf("TSYNC | NEW_LISTENER: %s\n",
           res(install(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_NEW_LISTENER, ok, 1)));
    printf("unknown operation: %s\n", res(syscall(SYS_seccomp, 99, 0, NULL)));
    printf("fprog NULL: %s\n", res(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL)));
    struct sock_fprog wild = {1, (struct sock_filter *)8};
    printf("filter pointer 8: %s\n",
           res(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &wild)));
    printf("PR_SET_SECCOMP mode 3: %s\n", res(prctl(PR_SET_SECCOMP, 3, 0)));
    printf("PR_SET_SECCOMP filter: %s\n",
           res(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &(struct sock_fprog){1, ok})));
    unsigned actions[] = {SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP,
                          SECCOMP_RET_ERRNO, SECCOMP_RET_TRACE, SECCOMP_RET_LOG,
                          SECCOMP_RET_ALLOW, 0x12340000, SECCOMP_RET_ERRNO | 5};
    for (unsigned i = 0; i < sizeof actions / sizeof actions[0]; i++)
        printf("GET_ACTION_AVAIL %#x: %s\n", actions[i],
               res(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &actions[i])));
    printf("GET_ACTION_AVAIL flags 1: %s\n",
           res(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 1, &actions[0])));
    printf("GET_ACTION_AVAIL NULL: %s\n",
           res(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, NULL)));
}

static void errors_privilege(void)
{
    struct sock_filter ok[] = {RET(SECCOMP_RET_ALLOW)};
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {  /* without no_new_privs: root may, another user may not */
        printf("root, no_new_privs %d: %s\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
               res(install(0, ok, 1)));
        printf("setuid(65534): %s\n", res(setuid(65534)));
        printf("nobody, no_new_privs 0: %s\n", res(install(0, ok, 1)));
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        printf("nobody, no_new_privs 1: %s\n", res(install(0, ok, 1)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void errors_section(void)
{
    child("bad programs", errors_programs);
    errors_privilege();
}

/* -- tsync -------------------------------------------------------------------------- */
static int go[2], done[2];
static int own_filter;

static void *tsync_thread(void *arg)
{
    (void)arg;
    char c;
    if (own_filter)
        on_call(SYS_getuid, SECCOMP_RET_ERRNO | 3);
    write(done[1], "r", 1);
    read(go[0], &c, 1);
    printf("other thread: PR_GET_SECCOMP %d, getppid: %s\n", prctl(PR_GET_SECCOMP),
           verdict(syscall(SYS_getppid)));
    fflush(stdout);
    return NULL;
}

static void tsync_run(int own)
{
    pthread_t t;
    char c;
    own_filter = own;
    pipe(go);
    pipe(done);
    pthread_create(&t, NULL, tsync_thread, NULL);
    read(done[0], &c, 1);
    struct sock_filter f[] = {LOAD(NR_OFF), ON_NR(SYS_getppid, SECCOMP_RET_ERRNO | 31),
                              RET(SECCOMP_RET_ALLOW)};
    long r = install(SECCOMP_FILTER_FLAG_TSYNC, f, LEN(f));
    if (own)
        printf("TSYNC over a thread with its own filter: %s\n",
               r > 0 ? "the tid of that thread" : res(r));
    else
        printf("TSYNC: %s\n", res(r));
    if (own)
        printf("TSYNC | TSYNC_ESRCH: %s\n",
               res(install(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH, f,
                           LEN(f))));
    fflush(stdout);
    write(go[1], "g", 1);
    pthread_join(t, NULL);
}

static void tsync_synced(void) { tsync_run(0); }
static void tsync_refused(void) { tsync_run(1); }

static void tsync_section(void)
{
    child("TSYNC", tsync_synced);
    child("TSYNC refused", tsync_refused);
}

int main(int argc, char **argv)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  /* SIGSYS dumps core: none here */
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0)
        return exec_child();
    only = argc > 1 ? argv[1] : NULL;
    if (section("strict"))
        strict_section();
    if (section("errno"))
        child("errno", errno_body);
    if (section("kill"))
        kill_section();
    if (section("trap"))
        trap_section();
    if (section("data"))
        data_section();
    if (section("stack"))
        child("stack", stack_body);
    if (section("inherit"))
        child("inherit", inherit_body);
    if (section("errors"))
        errors_section();
    if (section("tsync"))
        tsync_section();
    return 0;
}
