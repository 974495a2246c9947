// Two CPU-bound processes spin for the same wall-clock time: the scheduler must share the CPU.
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
    pid_t child = fork();
    spin(1.5);
    if (child == 0) return 0;
    waitpid(child, 0, 0);
    puts("hogs done");
    return 0;
}
