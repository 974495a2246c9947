/* itimer_busy.c — a periodic ITIMER_REAL of 500 us interrupts a loop that keeps doubles in
 * XMM registers; the handler wipes XMM0-15. The loop must finish (the timer must not starve
 * it) with the sums Linux gives: every signal frame saves and restores the FPU state. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile long ticks;

static void on_alarm(int sig)
{
    (void)sig;
    ticks++;
    __asm__ volatile("pxor %%xmm0, %%xmm0\n pxor %%xmm1, %%xmm1\n pxor %%xmm2, %%xmm2\n"
                     "pxor %%xmm3, %%xmm3\n pxor %%xmm4, %%xmm4\n pxor %%xmm5, %%xmm5\n"
                     "pxor %%xmm6, %%xmm6\n pxor %%xmm7, %%xmm7\n pxor %%xmm8, %%xmm8\n"
                     "pxor %%xmm9, %%xmm9\n pxor %%xmm10, %%xmm10\n pxor %%xmm11, %%xmm11\n"
                     "pxor %%xmm12, %%xmm12\n pxor %%xmm13, %%xmm13\n"
                     "pxor %%xmm14, %%xmm14\n pxor %%xmm15, %%xmm15\n" ::: "xmm0", "xmm1",
                     "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                     "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 500}, {0, 500}};
    setitimer(ITIMER_REAL, &it, NULL);
    double a = 0.0, b = 1.0, c = 0.5;
    long rounds = 0;
    while (ticks < 20 || rounds < 2000000) {  /* at least 20 signals land inside the loop */
        for (int i = 0; i < 1000; i++) {
            a += b * 1e-3;
            b = b * 0.999999 + c;
            c = c * 0.5 + 1e-9;
        }
        rounds += 1000;
        if (rounds >= 400000000)
            break;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    /* the sums depend only on how many rounds ran: recompute them with no timer */
    double x = 0.0, y = 1.0, z = 0.5;
    for (long i = 0; i < rounds; i++) {
        x += y * 1e-3;
        y = y * 0.999999 + z;
        z = z * 0.5 + 1e-9;
    }
    printf("signals landed: %d\n", ticks >= 20);
    printf("sums survive the handler: %d\n", x == a && y == b && z == c);
    return 0;
}
