/* orphan.c — a grandchild whose parent exits is reparented (getppid() changes away from its original parent). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    /* Natively, become a subreaper so that the orphan is reparented to us and we can reap it;
     * under CloudOS this process is init (pid 1), which adopts orphans anyway.  The result is
     * not printed: prctl may be unimplemented. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    printf("top: start\n");
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        pid_t original_parent = getpid(); /* the grandchild's parent, known before it can exit */
        pid_t grandchild = fork();
        if (grandchild < 0)
            _exit(1);
        if (grandchild == 0) {
            int reparented = 0;
            for (int i = 0; i < 5000 && !reparented; i++) { /* at most ~5 s */
                if (getppid() != original_parent)
                    reparented = 1;
                else
                    sleep_ms(1);
            }
            printf("grandchild: reparented: %s\n", reparented ? "yes" : "no");
            fflush(stdout);
            _exit(0);
        }
        _exit(0); /* orphan the grandchild at once */
    }
    /* The top process prints nothing more: the grandchild's line is the only output after this. */
    int st;
    if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    /* Outlive the grandchild: reap it if it was reparented to us (subreaper, or init under CloudOS),
     * else give it time (under CloudOS the machine halts when init exits). */
    if (waitpid(-1, &st, 0) < 0)
        sleep_ms(300);
    return 0;
}
