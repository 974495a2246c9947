/* prctl.c — the prctl(2) options programs use: names, the parent-death signal, dumpable,
 * keepcaps, the bounding set, timer slack, the child subreaper, no_new_privs, and the
 * errors for bad arguments. Prints only values both kernels agree on. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

static void result(const char *label, long rc)
{
    if (rc < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld\n", label, rc);
}

static volatile sig_atomic_t got;
static void on_usr1(int sig) { got = sig; }

int main(void)
{
    char name[32] = {0};
    result("PR_SET_NAME", prctl(PR_SET_NAME, "a-rather-long-thread-name", 0, 0, 0));
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("PR_GET_NAME: [%s]\n", name);
    FILE *f = fopen("/proc/self/comm", "r");
    if (f && fgets(name, sizeof name, f))
        printf("/proc/self/comm: %s", name);
    if (f)
        fclose(f);
    result("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    result("PR_SET_DUMPABLE 0", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    result("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    result("PR_SET_DUMPABLE 2", prctl(PR_SET_DUMPABLE, 2, 0, 0, 0));
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    result("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    result("PR_SET_KEEPCAPS 5", prctl(PR_SET_KEEPCAPS, 5, 0, 0, 0));
    result("PR_CAPBSET_READ CAP_CHOWN", prctl(PR_CAPBSET_READ, 0, 0, 0, 0));
    result("PR_CAPBSET_READ 99", prctl(PR_CAPBSET_READ, 99, 0, 0, 0));
    result("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    result("PR_SET_TIMERSLACK 1000", prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0));
    result("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    result("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    result("PR_SET_NO_NEW_PRIVS 1 with arg3", prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0));
    result("PR_SET_NO_NEW_PRIVS 0", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
    result("PR_GET_NO_NEW_PRIVS with arg2", prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0));
    result("PR_CAP_AMBIENT IS_SET 0", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 0, 0));
    result("PR_CAP_AMBIENT 99", prctl(PR_CAP_AMBIENT, 99, 0, 0, 0));
    result("option 12345", prctl(12345, 0, 0, 0, 0));
    int sig = -1;
    result("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0));
    printf("death signal: %d\n", sig);
    result("PR_SET_PDEATHSIG 99", prctl(PR_SET_PDEATHSIG, 99, 0, 0, 0));

    /* the subreaper adopts its grandchild; the grandchild's death signal arrives */
    result("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    int reaper = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &reaper, 0, 0, 0);
    printf("subreaper: %d\n", reaper);
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    fflush(stdout);
    pid_t me = getpid();
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            signal(SIGUSR1, on_usr1);
            prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
            write(fds[1], "r", 1); /* ready: its parent may exit now */
            for (int i = 0; i < 2000 && !got; i++)
                usleep(5000);
            printf("grandchild: death signal %s, parent is the subreaper: %s\n",
                   got == SIGUSR1 ? "SIGUSR1" : "none",
                   getppid() == me ? "yes" : "no");
            fflush(stdout);
            _exit(7);
        }
        char c;
        read(fds[0], &c, 1);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    pid_t adopted = wait(&status); /* the grandchild, now ours */
    printf("reaped the adopted grandchild: %s, status %d\n", adopted > 0 ? "yes" : "no",
           WEXITSTATUS(status));
    result("PR_SET_NO_NEW_PRIVS 1", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    result("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    return 0;
}
