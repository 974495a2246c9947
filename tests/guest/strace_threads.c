/* The forms of strace's output for more than one task (tests/trace/test_strace.py):
 * a thread sleeps in read(2) while the main thread writes, so its line is cut
 * (<unfinished ...>) and resumed (<... read resumed>); a child dies of SIGSEGV. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fds[2];

static void *reader(void *arg) {
    char c;
    (void)arg;
    read(fds[0], &c, 1);
    return NULL;
}

int main(void) {
    pthread_t thread;
    pipe(fds);
    pthread_create(&thread, NULL, reader, NULL);
    struct timespec nap = {0, 50 * 1000 * 1000};
    nanosleep(&nap, NULL);
    write(fds[1], "x", 1);
    pthread_join(thread, NULL);
    if (fork() == 0)
        *(volatile int *)8 = 1;
    int status;
    wait(&status);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? 0 : 1;
}
