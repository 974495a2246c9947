/* pthreads.c — mutex-protected counter over 8 threads, join return values, condvar ping-pong, pthread_exit value, detached thread. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define THREADS 8
#define INCREMENTS 20000
#define ROUNDS 1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;         /* ping-pong: whose turn, 0 or 1 */
static int pings[2];     /* rounds played by each side */
static int detached_done;

static void *incrementer(void *arg)
{
    for (int i = 0; i < INCREMENTS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return (void *)((intptr_t)arg * 10 + 1);
}

static void *player(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_mutex_lock(&lock);
        while (turn != me)
            pthread_cond_wait(&cond, &lock);
        pings[me]++;
        turn = 1 - me;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void finish(int value)
{
    pthread_exit((void *)(intptr_t)value);
}

static void *exiter(void *arg)
{
    (void)arg;
    finish(4242);
    return (void *)1; /* not reached */
}

static void *detached(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    detached_done = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, incrementer, (void *)i) != 0)
            return 1;
    int joins_ok = 1;
    for (intptr_t i = 0; i < THREADS; i++) {
        void *ret;
        if (pthread_join(t[i], &ret) != 0 || (intptr_t)ret != i * 10 + 1)
            joins_ok = 0;
    }
    printf("counter: %ld (expected %d)\n", counter, THREADS * INCREMENTS);
    printf("join return values: %s\n", joins_ok ? "ok" : "FAIL");

    pthread_t p[2];
    for (intptr_t i = 0; i < 2; i++)
        if (pthread_create(&p[i], NULL, player, (void *)i) != 0)
            return 1;
    for (int i = 0; i < 2; i++)
        pthread_join(p[i], NULL);
    printf("ping-pong rounds: %d and %d, final turn %d\n", pings[0], pings[1], turn);

    pthread_t e;
    void *ret = NULL;
    pthread_create(&e, NULL, exiter, NULL);
    pthread_join(e, &ret);
    printf("pthread_exit value: %ld\n", (long)(intptr_t)ret);

    pthread_t d;
    pthread_create(&d, NULL, detached, NULL);
    printf("pthread_detach: %d\n", pthread_detach(d));
    pthread_mutex_lock(&lock);
    while (!detached_done)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    printf("detached thread ran: yes\n");
    return 0;
}
