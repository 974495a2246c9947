/* null_write.c — checks a store to address 0 kills the program with SIGSEGV. */
#include <stdio.h>

int main(void)
{
    volatile int *p = (volatile int *)0;
    printf("writing to NULL\n");
    fflush(stdout);
    *p = 1;
    printf("survived the NULL write\n");
    return 0;
}
