/* futex_pingpong.c — futex round-trip benchmark: two threads pass a token N times through a shared int
 * with raw FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE (one round trip = main -> peer -> main). */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static int turn;  /* 0: main holds the token, 1: the peer holds it */
static long n;

static void wait_for(int want)
{
    int cur;
    while ((cur = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != want)
        if (syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, cur, NULL, NULL, 0) < 0
            && errno != EAGAIN && errno != EINTR) {
            perror("futex wait");
            exit(1);
        }
}

static void pass_to(int who)
{
    __atomic_store_n(&turn, who, __ATOMIC_RELEASE);
    if (syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0) {
        perror("futex wake");
        exit(1);
    }
}

static void *peer(void *arg)
{
    (void)arg;
    long got = 0;
    for (long i = 0; i < n; i++) {
        wait_for(1);
        got++;
        pass_to(0);
    }
    return (void *)got;
}

int main(int argc, char **argv)
{
    n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    pthread_t t;
    void *peer_got;
    if (pthread_create(&t, NULL, peer, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    long got = 0;
    for (long i = 0; i < n; i++) {
        pass_to(1);
        wait_for(0);
        got++;
    }
    pthread_join(t, &peer_got);
    printf("futex_pingpong n=%ld round_trips=%ld peer=%ld\n", n, got, (long)peer_got);
    return got == n && (long)peer_got == n ? 0 : 1;
}
