/* edges.c — Linux's limits and edge cases: RLIMIT_NOFILE past 1024 (to fs.nr_open, no
 * further), SA_RESETHAND keeping the other flags, nanosleep's time left after a signal,
 * ETXTBSY both ways (running a file open for writing, writing a running program), and
 * execve with an empty argv (argv[0] becomes ""). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

static void result(const char *label, long rc)
{
    if (rc < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld\n", label, rc);
}

static void on_signal(int sig, siginfo_t *info, void *ctx) { (void)sig; (void)info; (void)ctx; }
static void on_alarm(int sig) { (void)sig; }

static int as_program(int argc, char **argv)
{
    if (argc == 1 && argv[0][0] == '\0') {
        printf("empty argv: argc %d, argv[0] \"\"\n", argc);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "self")) {
        result("open my own program for writing", open("/proc/self/exe", O_WRONLY));
        result("truncate my own program", truncate(argv[0], 0));
        result("open it for reading", open(argv[0], O_RDONLY) >= 0 ? 0 : -1);
        return 0;
    }
    return -1;
}

static void run(char *const argv[])
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        execve("./prog", argv, (char *[]){NULL});
        printf("execve: %s\n", errname(errno));
        fflush(stdout);
        _exit(1);
    }
    int status;
    waitpid(child, &status, 0);
}

int main(int argc, char **argv)
{
    if (as_program(argc, argv) == 0)
        return 0;
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    struct rlimit more = {3100, lim.rlim_max < 3100 ? 3100 : lim.rlim_max};
    result("RLIMIT_NOFILE 3100", setrlimit(RLIMIT_NOFILE, &more));
    int last = -1, opened = 0;
    for (int i = 0; i < 3000; i++) {
        int fd = dup(1);
        if (fd < 0)
            break;
        last = fd > last ? fd : last;
        opened++;
    }
    printf("dup 3000 times: %d fds, the highest above 3000: %s\n", opened,
           last > 3000 ? "yes" : "no");
    for (int fd = 3; fd <= last; fd++)
        close(fd);
    struct rlimit huge = {1024, (1 << 20) + 1};
    result("RLIMIT_NOFILE hard above fs.nr_open", setrlimit(RLIMIT_NOFILE, &huge));

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    sigaction(SIGUSR1, NULL, &old);
    printf("after a SA_RESETHAND handler: SIG_DFL %s, SA_SIGINFO %s, SA_RESETHAND %s\n",
           old.sa_handler == SIG_DFL ? "yes" : "no", old.sa_flags & SA_SIGINFO ? "kept" : "lost",
           old.sa_flags & SA_RESETHAND ? "kept" : "lost");

    signal(SIGALRM, on_alarm);
    struct itimerval soon = {{0, 0}, {0, 300000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    struct timespec req = {3, 0}, rem = {0, 0};
    result("nanosleep 3 s, SIGALRM after 0.3", nanosleep(&req, &rem));
    printf("time left: between 2 and 3 s: %s\n",
           rem.tv_sec == 2 && rem.tv_nsec > 0 ? "yes" : "no");

    testdir_enter("edges");
    int src = open("/proc/self/exe", O_RDONLY);
    int dst = open("prog", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0)
        write(dst, buf, n);
    close(src);
    run((char *[]){"./prog", "self", NULL}); /* still open for writing */
    close(dst);
    run((char *[]){"./prog", "self", NULL});
    run((char *[]){NULL});
    chdir("/");
    testdir_rm(testdir_path);
    return 0;
}
