/* threads_ended.c — threads that ended still count in their process's CPU time
 * (getrusage, times), and /proc/self/task lists only the live ones. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_of(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *spin(void *arg)
{
    double start = cpu_of(CLOCK_THREAD_CPUTIME_ID);
    while (cpu_of(CLOCK_THREAD_CPUTIME_ID) - start < 0.03)
        ;
    return arg;
}

static void *quick(void *arg)
{
    return arg;
}

static int tasks(void)
{
    DIR *dir = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; dir && (e = readdir(dir));)
        n += e->d_name[0] != '.';
    if (dir)
        closedir(dir);
    return n;
}

int main(void)
{
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, spin, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double used = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
                  + ru.ru_stime.tv_usec / 1e6;
    printf("rusage counts the ended threads: %d\n", used >= 8 * 0.03 * 0.9);
    printf("process clock counts them: %d\n", cpu_of(CLOCK_PROCESS_CPUTIME_ID) >= 8 * 0.03 * 0.9);
    printf("tasks after the joins: %d\n", tasks());
    for (int round = 0; round < 300; round++) {  /* many short threads, one at a time */
        pthread_t x;
        pthread_create(&x, NULL, quick, NULL);
        pthread_join(x, NULL);
    }
    printf("tasks after 300 more: %d\n", tasks());
    return 0;
}
