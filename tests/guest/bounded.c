/* bounded.c — loads whose host memory must stay bounded: bounded SECTION N runs one N times
 * (reads: blocking file calls; forkexec: fork+exec of /bin/true-like self; procs: fork+exit
 * in a row; forkbomb: fork until EAGAIN; mmapbomb: mmap until ENOMEM; threadbomb: threads
 * until EAGAIN; pipes: N children each holding a full pipe; fdbomb: children opening files
 * until the machine's file-max says ENFILE). Prints what happened, not sizes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int reads(long n)
{
    int fd = open("/dev/zero", O_RDONLY);
    char c;
    for (long i = 0; i < n; i++)
        if (read(fd, &c, 1) != 1)
            return 1;
    printf("%ld reads: ok\n", n);
    return 0;
}

static int forkexec(long n, const char *self)
{
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl(self, self, "exit", (char *)NULL);
            _exit(127);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
    }
    printf("%ld fork+exec: ok\n", n);
    return 0;
}

static int procs(long n)
{
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid)
            return 1;
    }
    printf("%ld processes in a row: ok\n", n);
    return 0;
}

static int forkbomb(long n)
{
    long made = 0;
    int err = 0;
    while (made < n) {
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            signal(SIGTERM, SIG_DFL);
            pause();
            _exit(0);
        }
        made++;
    }
    printf("fork bomb: %s\n", err == EAGAIN ? "EAGAIN" : err ? strerror(err) : "never failed");
    kill(0, SIGTERM);
    while (wait(NULL) > 0)
        ;
    return err != EAGAIN;
}

static int mmapbomb(long n)
{
    long made = 0;
    int err = 0;
    for (; made < n; made++) {
        char *p = mmap(NULL, 1 << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            err = errno;
            break;
        }
        p[0] = 1;  /* one page each: the rest is reserved address space only */
    }
    printf("mmap bomb: %s\n", err == ENOMEM ? "ENOMEM" : err ? strerror(err) : "never failed");
    return 0;
}

static void *sleeper(void *arg)
{
    (void)arg;
    pause();
    return NULL;
}

static int threadbomb(long n)
{
    long made = 0;
    int err = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 << 10);
    for (; made < n; made++) {
        pthread_t th;
        err = pthread_create(&th, &attr, sleeper, NULL);
        if (err)
            break;
    }
    printf("thread bomb: %s\n", err == EAGAIN ? "EAGAIN" : err ? strerror(err) : "never failed");
    return 0;
}

static int fdbomb(long n)
{
    int report[2];
    pipe(report);
    int seen = 0;
    for (long i = 0; i < n && seen != ENFILE; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGTERM, SIG_DFL);
            while (open("/dev/null", O_RDONLY) >= 0)
                ;
            char e = (char)errno;
            write(report[1], &e, 1);
            pause();
            _exit(0);
        }
        char e = 0;
        if (pid < 0 || read(report[0], &e, 1) != 1)
            break;
        seen = e;
    }
    printf("fd bomb: %s\n", seen == ENFILE ? "ENFILE" : seen ? strerror(seen) : "never failed");
    kill(0, SIGTERM);
    while (wait(NULL) > 0)
        ;
    return seen != ENFILE;
}

static int pipes(long n)
{
    static char buf[65536];
    for (long i = 0; i < n; i++) {
        int fds[2];
        if (pipe(fds) != 0)
            return 1;
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGTERM, SIG_DFL);
            fcntl(fds[1], F_SETFL, O_NONBLOCK);
            while (write(fds[1], buf, sizeof buf) > 0)
                ;
            pause();
            _exit(0);
        }
        close(fds[1]);
    }
    sleep(1);
    printf("%ld full pipes: ok\n", n);
    kill(0, SIGTERM);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 3)
        return argc == 2 && strcmp(argv[1], "exit") == 0 ? 0 : 2;
    long n = atol(argv[2]);
    signal(SIGTERM, SIG_IGN);
    setpgid(0, 0);  /* kill(0, ...) ends our children, not whoever started us */
    if (!strcmp(argv[1], "reads")) return reads(n);
    if (!strcmp(argv[1], "forkexec")) return forkexec(n, argv[0]);
    if (!strcmp(argv[1], "procs")) return procs(n);
    if (!strcmp(argv[1], "forkbomb")) return forkbomb(n);
    if (!strcmp(argv[1], "mmapbomb")) return mmapbomb(n);
    if (!strcmp(argv[1], "threadbomb")) return threadbomb(n);
    if (!strcmp(argv[1], "pipes")) return pipes(n);
    if (!strcmp(argv[1], "fdbomb")) return fdbomb(n);
    return 2;
}
