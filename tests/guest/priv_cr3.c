/* priv_cr3.c — checks writing %cr3 (page-table base) in user mode kills the program with SIGSEGV. */
#include <stdio.h>

int main(void)
{
    printf("writing cr3\n");
    fflush(stdout);
    __asm__ volatile("mov %0, %%cr3" : : "r"(0UL) : "memory");
    printf("survived mov to cr3\n");
    return 0;
}
