/* creds.c — credentials: Linux's rules for setuid/setreuid/setresuid/setfsuid and their gid
 * twins, supplementary groups, and how root's capabilities follow the uids (capget/capset).
 * Runs as root; each case in a child so the parent stays root. Prints only ids, errnos and
 * whether a few capabilities every root holds (even in a container) are on. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

/* CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_KILL, CAP_SETGID, CAP_SETUID */
#define SOME_CAPS ((1u << 0) | (1u << 1) | (1u << 3) | (1u << 5) | (1u << 6) | (1u << 7))

static void show_ids(const char *label)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("%s: uid %u %u %u fsuid %d gid %u %u %u fsgid %d\n", label, r, e, s,
           setfsuid(-1), gr, ge, gs, setfsgid(-1));
}

static void show_caps(const char *label)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) {
        printf("%s: capget %s\n", label, errname(errno));
        return;
    }
    printf("%s: effective %s permitted %s\n", label,
           (d[0].effective & SOME_CAPS) == SOME_CAPS ? "root's" : d[0].effective ? "some" : "none",
           (d[0].permitted & SOME_CAPS) == SOME_CAPS ? "root's" : d[0].permitted ? "some" : "none");
}

static void result(const char *label, int rc)
{
    printf("%s: %s\n", label, rc == 0 ? "ok" : errname(errno));
}

static void in_child(void (*body)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
}

static void resuid(void)
{
    result("setresuid 1000 2000 3000", setresuid(1000, 2000, 3000));
    show_ids("after");
    show_caps("after");
    result("setresuid -1 3000 -1 (the saved id)", setresuid(-1, 3000, -1));
    result("setresuid 5 -1 -1", setresuid(5, -1, -1));
    result("setuid 1000 (the real id)", setuid(1000));
    show_ids("after setuid");
    result("setuid 5", setuid(5));
    result("setreuid 3000 -1", setreuid(3000, -1));
    result("setreuid -1 1000", setreuid(-1, 1000));
    show_ids("after setreuid");
    result("setgid 7 unprivileged", setgid(7));
    printf("setfsuid 4242 returns %d, then %d\n", setfsuid(4242), setfsuid(-1));
}

static void euid_only(void)
{
    result("seteuid 1000", seteuid(1000));
    show_ids("euid 1000");
    show_caps("euid 1000");
    result("seteuid 0", seteuid(0));
    show_caps("back to euid 0");
    result("setfsuid 1234", setfsuid(1234) == 0 ? 0 : -1);
    show_ids("fsuid 1234");
    show_caps("fsuid 1234");
    setfsuid(0);
    show_caps("fsuid 0 again");
}

static void groups(void)
{
    gid_t set[] = {7, 5, 6};
    result("setgroups 3", setgroups(3, set));
    gid_t got[8];
    int n = getgroups(8, got);
    printf("getgroups: %d:", n);
    for (int i = 0; i < n; i++)
        printf(" %u", got[i]);
    printf("\n");
    printf("getgroups 0: %d\n", getgroups(0, got));
    int small = getgroups(1, got);
    printf("getgroups 1: %d %s\n", small, small < 0 ? errname(errno) : "");
    result("setresgid 10 20 30", setresgid(10, 20, 30));
    result("setregid 30 -1", setregid(30, -1));
    show_ids("gids");
    result("setuid 99", setuid(99));
    result("setgroups unprivileged", setgroups(0, NULL));
    result("setresgid 10 -1 -1 unprivileged (saved: 20)", setresgid(20, -1, -1));
    result("setgid 999 unprivileged", setgid(999));
    show_ids("final");
}

static void capsets(void)
{
    struct __user_cap_header_struct h = {0x12345678, 0};
    struct __user_cap_data_struct d[2];
    int rc = syscall(SYS_capget, &h, d);
    printf("capget bad version: %d %s version now %#x\n", rc, rc ? errname(errno) : "",
           h.version);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = 0;
    syscall(SYS_capget, &h, d);
    d[0].effective &= ~(1u << 1); /* drop CAP_DAC_OVERRIDE from the effective set */
    rc = syscall(SYS_capset, &h, d);
    result("capset without DAC_OVERRIDE", rc);
    show_caps("after capset");
    syscall(SYS_capget, &h, d);
    d[0].effective |= 1u << 1;
    result("capset it back (still permitted)", (int)syscall(SYS_capset, &h, d));
    d[0].permitted = 0;
    d[0].effective = 0;
    result("capset drop everything", (int)syscall(SYS_capset, &h, d));
    show_caps("nothing");
    d[0].permitted = 1;
    d[0].effective = 1;
    result("capset regain CAP_CHOWN", (int)syscall(SYS_capset, &h, d));
    result("setuid 5 without CAP_SETUID", setuid(5));
    h.pid = 1;
    result("capset of another process", (int)syscall(SYS_capset, &h, d));
}

static pid_t victim;

static void signalling(void)
{
    setuid(65534);
    result("kill root's process (signal 0)", kill(victim, 0));
    result("kill root's process SIGCONT (same session)", kill(victim, SIGCONT));
    result("kill -1 signal 0 (denied ones are skipped)", kill(-1, 0));
    result("kill myself (signal 0)", kill(getpid(), 0));
}

int main(void)
{
    if (geteuid() != 0) {
        printf("not root\n");
        return 1;
    }
    show_ids("start");
    show_caps("start");
    in_child(resuid);
    in_child(euid_only);
    in_child(groups);
    in_child(capsets);
    victim = fork();
    if (victim == 0) {
        pause();
        _exit(0);
    }
    in_child(signalling);
    kill(victim, SIGKILL);
    waitpid(victim, NULL, 0);
    return 0;
}
