/* stack_guard.c — checks a read 64 MiB below the stack (past the 8 MiB limit and guard gap) gets SIGSEGV. */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    volatile char local = 1;
    volatile char *far = (volatile char *)((uintptr_t)&local - (64u << 20));
    printf("reading 64 MiB below the stack\n");
    fflush(stdout);
    char c = *far;
    printf("survived the read: %d\n", c);
    return 0;
}
