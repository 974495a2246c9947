/* bss_tls.c — checks a 64 MiB zeroed .bss and __thread variables (initialised and zero) work. */
#include <stdio.h>
#include <string.h>

#define BSS_SIZE (64u << 20)

static char big[BSS_SIZE];
static __thread int tls_init = 42;
static __thread long tls_zero;
static __thread char tls_buf[16] = "tls-string";

int main(void)
{
    /* Pages at the start, the middle, page boundaries and the very end. */
    static const size_t offsets[] = {0, 4095, 4096, 1u << 20, BSS_SIZE / 2 + 123,
                                     BSS_SIZE - 4097, BSS_SIZE - 1};
    size_t n = sizeof offsets / sizeof offsets[0];
    int zero = 1;

    for (size_t i = 0; i < n; i++)
        if (big[offsets[i]] != 0)
            zero = 0;
    printf("bss reads zero: %s\n", zero ? "yes" : "no");

    for (size_t i = 0; i < n; i++)
        big[offsets[i]] = (char)(i + 1);
    int sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += big[offsets[i]];
    printf("bss after write: sum=%d\n", sum);

    printf("tls_init=%d tls_zero=%ld tls_buf=%s\n", tls_init, tls_zero, tls_buf);
    tls_init += 1;
    tls_zero = -7;
    strcpy(tls_buf, "changed");
    printf("tls_init=%d tls_zero=%ld tls_buf=%s\n", tls_init, tls_zero, tls_buf);
    return 0;
}
