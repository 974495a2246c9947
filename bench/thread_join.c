/* thread_join.c — thread-creation benchmark: N times pthread_create + pthread_join of a thread that returns at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *body(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000, ok = 0;
    for (long i = 0; i < n; i++) {
        pthread_t t;
        void *ret;
        int err = pthread_create(&t, NULL, body, (void *)(i + 1));
        if (err != 0) {
            fprintf(stderr, "pthread_create: error %d\n", err);
            return 1;
        }
        if ((err = pthread_join(t, &ret)) != 0) {
            fprintf(stderr, "pthread_join: error %d\n", err);
            return 1;
        }
        ok += ret == (void *)(i + 1);
    }
    printf("thread_join n=%ld ok=%ld\n", n, ok);
    return ok == n ? 0 : 1;
}
