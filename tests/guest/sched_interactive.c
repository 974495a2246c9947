// An interactive process (sleeps 10 ms, computes briefly) beside a CPU hog.
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void) {
    pid_t hog = fork();
    if (hog == 0) {
        volatile unsigned long x = 0;
        double end = now() + 1.2;
        while (now() < end)
            for (int i = 0; i < 20000; i++) x += i;
        return 0;
    }
    struct timespec nap = {0, 10 * 1000 * 1000};
    volatile unsigned long y = 0;
    for (int round = 0; round < 40; round++) {
        nanosleep(&nap, 0);
        for (int i = 0; i < 20000; i++) y += i;
    }
    waitpid(hog, 0, 0);
    puts("interactive done");
    return 0;
}
