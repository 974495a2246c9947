// vfork(2): the child runs in its parent's memory while the parent sleeps until the
// child execs or exits. Prints what the parent sees; the same natively and in CloudOS.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int shared;
static volatile int child_done;
static volatile int handler_saw_child_done = -1;

static void on_usr1(int sig) {
    (void)sig;
    handler_saw_child_done = child_done;
}

static int status_of(pid_t pid) {
    int status = -1;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void) {
    // 1. the child's writes (a global, the parent's stack) are the parent's
    volatile int local = 1;
    pid_t pid = vfork();
    if (pid == 0) {
        shared = 42;
        local = 43;
        _exit(7);
    }
    printf("child wrote the global: %d, the parent's local: %d\n", shared, local);
    printf("child exited %d\n", status_of(pid));

    // 2. the parent sleeps until the child exits, however long the child runs
    shared = 0;
    pid = vfork();
    if (pid == 0) {
        struct timespec ts = {0, 30 * 1000 * 1000};
        nanosleep(&ts, NULL);
        shared = 2;
        _exit(0);
    }
    printf("after vfork the child had finished: %s\n", shared == 2 ? "yes" : "no");
    status_of(pid);

    // 3. ... or execs: the parent resumes, the exec'd program runs on its own memory
    pid = vfork();
    if (pid == 0) {
        execl("/bin/true", "true", (char *)0);
        _exit(127);
    }
    printf("vfork+exec of /bin/true: exited %d\n", status_of(pid));
    pid = vfork();
    if (pid == 0) {
        execl("/nonexistent/program", "x", (char *)0);
        shared = 127;
        _exit(127);
    }
    printf("vfork+failed exec: exited %d, child wrote %d\n", status_of(pid), shared);

    // 4. a signal sent to the sleeping parent waits until it wakes (child exited)
    signal(SIGUSR1, on_usr1);
    child_done = 0;
    pid = vfork();
    if (pid == 0) {
        kill(getppid(), SIGUSR1);
        child_done = 1;
        _exit(3);
    }
    printf("signal during vfork: handled after the child ended: %s\n",
           handler_saw_child_done == 1 ? "yes" : "no");
    printf("child exited %d\n", status_of(pid));
    return 0;
}
