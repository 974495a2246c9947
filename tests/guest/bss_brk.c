/* bss_brk.c — a small program's .bss and fresh brk memory read zero (CloudOS fills a small
   segment's bss and the first page of a brk growth at once), also after the break shrinks
   over written memory and grows back. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char bss[3 * 4096 + 100];

static int zero(const volatile char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int main(void)
{
    printf("bss reads zero: %s\n", zero(bss, sizeof bss) ? "yes" : "no");
    memset(bss, 0x5a, sizeof bss);
    printf("bss keeps a write: %s\n", bss[sizeof bss - 1] == 0x5a ? "yes" : "no");
    char *base = sbrk(0);
    char *grown = sbrk(3 * 4096);
    if (grown == (void *)-1)
        return 1;
    int fresh = zero(grown, 3 * 4096);
    memset(grown, 0x33, 3 * 4096);
    if (sbrk(-3 * 4096) == (void *)-1 || sbrk(0) != base)
        return 1;
    char *again = sbrk(2 * 4096);
    if (again != grown)
        return 1;
    printf("brk memory reads zero: %s, after shrinking and growing back: %s\n",
           fresh ? "yes" : "no", zero(again, 2 * 4096) ? "yes" : "no");
    return 0;
}
