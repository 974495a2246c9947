/* fpu_state.c — the x87 control word and MXCSR a program starts with (Linux: 0x37f and
 * 0x1f80, every exception masked), what a fork, a thread, a signal handler and an exec see
 * after the program changed its rounding mode, and that long double keeps 64-bit precision. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *who)
{
    unsigned mxcsr;
    unsigned short cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    printf("%s: fpu control %#x, mxcsr %#x\n", who, cw, mxcsr & ~0x3fu);  /* (flags aside) */
    fflush(stdout);
}

static void on_usr1(int sig)
{
    (void)sig;
    show("signal handler");
}

static void *thread_main(void *arg)
{
    (void)arg;
    show("thread");
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        show("after exec");
        return 0;
    }
    show("start");
    volatile long double a = 1.0L, b = 3.0L;
    printf("1/3 as long double: %.20Lf\n", a / b);
    unsigned mxcsr;  /* rounding upward, as fesetround(FE_UPWARD) (without libm) */
    unsigned short cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    mxcsr = (mxcsr & ~0x6000u) | 0x4000;
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    cw = (unsigned short)((cw & ~0xc00) | 0x800);
    __asm__ volatile("fldcw %0" : : "m"(cw));
    show("rounding upward");
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
    if (fork() == 0) {
        show("forked child");
        execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
        _exit(1);
    }
    wait(NULL);
    return 0;
}
