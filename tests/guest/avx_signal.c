/* avx_signal.c — a signal handler that uses AVX leaves the interrupted code's YMM
 * registers (their upper halves too) as they were, and starts with them clear. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned char at_entry[32];
static volatile int ran;

static void handler(int sig)
{
    (void)sig;
    ran = 1;
    __asm__ volatile("vmovdqu %%ymm0, (%0)\n\t"
                     "vpcmpeqb %%ymm0, %%ymm0, %%ymm0" /* all ones */
                     : : "r"(at_entry) : "memory", "xmm0");
}

static int has_avx(void)
{
    unsigned int a, b, c, d, lo, hi;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27)) || !(c & (1u << 28)))  /* OSXSAVE, AVX */
        return 0;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6;
}

int main(void)
{
    if (!has_avx()) {
        printf("no AVX\n");
        return 0;
    }
    signal(SIGUSR1, handler);
    unsigned char in[32], out[32];
    for (int i = 0; i < 32; i++)
        in[i] = (unsigned char)(i * 11 + 1);
    long pid = getpid();
    /* ymm0 set, kill(self) (the handler runs on the way back), ymm0 read: one asm block,
     * so no call between may use ymm0 as the ABI allows */
    __asm__ volatile("vmovdqu (%[in]), %%ymm0\n\t"
                     "mov $62, %%eax\n\t"
                     "syscall\n\t"
                     "vmovdqu %%ymm0, (%[out])"
                     : : [in] "r"(in), [out] "r"(out), "D"(pid), "S"((long)SIGUSR1)
                     : "rax", "rcx", "r11", "memory", "xmm0");
    static const unsigned char zero[32];
    printf("handler ran: %s\n", ran ? "yes" : "no");
    printf("handler starts with ymm0 clear: %s\n", memcmp(at_entry, zero, 32) ? "no" : "yes");
    printf("lower half kept: %s\n", memcmp(out, in, 16) ? "no" : "yes");
    printf("upper half kept: %s\n", memcmp(out + 16, in + 16, 16) ? "no" : "yes");
    return 0;
}
