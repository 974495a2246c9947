/* cpu_features.c — what CPUID leaf 7 tells glibc about string instructions (ERMS, FSRM),
 * then memcpy/memmove/memset at sizes around glibc's rep-movsb thresholds, checked byte by
 * byte. Prints "erms N fsrm N" on its own line; the checks print the same on any CPU. */
#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        b = d = 0;
    printf("erms %u fsrm %u\n", (b >> 9) & 1, (d >> 4) & 1);
    static const size_t sizes[] = {1, 15, 64, 257, 2048, 4097, 65536, (1 << 18) + 3};
    unsigned char *src = malloc((1 << 18) + 64), *dst = malloc((1 << 18) + 64);
    if (!src || !dst)
        return 1;
    for (size_t i = 0; i < (1 << 18) + 64; i++)
        src[i] = (unsigned char)(i * 7 + 3);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k], bad = 0;
        memset(dst, 0xA5, n + 32);
        memcpy(dst + 1, src + 3, n);
        bad += dst[0] != 0xA5 || dst[n + 1] != 0xA5;
        for (size_t i = 0; i < n; i++)
            bad += dst[i + 1] != src[i + 3];
        memmove(dst + 5, dst + 1, n);  /* overlapping, forwards */
        for (size_t i = 0; i < n; i++)
            bad += dst[i + 5] != src[i + 3];
        memset(dst + 2, (int)k, n);
        for (size_t i = 0; i < n; i++)
            bad += dst[i + 2] != (unsigned char)k;
        printf("size %zu: %s\n", n, bad ? "WRONG" : "ok");
    }
    return 0;
}
