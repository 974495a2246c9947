// A SCHED_FIFO process runs before a CPU hog until it finishes its work.
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void spin(double seconds) {
    volatile unsigned long x = 0;
    double end = now() + seconds;
    while (now() < end)
        for (int i = 0; i < 20000; i++) x += i;
}

int main(void) {
    pid_t hog = fork();
    if (hog == 0) {
        spin(0.8);
        return 0;
    }
    struct timespec nap = {0, 100 * 1000 * 1000};
    nanosleep(&nap, 0);
    struct sched_param param = {.sched_priority = 10};
    printf("sched_setscheduler: %d\n", sched_setscheduler(0, SCHED_FIFO, &param));
    printf("policy is FIFO: %d\n", sched_getscheduler(0) == SCHED_FIFO);
    fflush(stdout);
    spin(0.2);
    param.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &param);
    waitpid(hog, 0, 0);
    puts("fifo done");
    return 0;
}
