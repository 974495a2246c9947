/* privileged.c — checks a privileged instruction (hlt) in user mode kills the program with SIGSEGV. */
#include <stdio.h>

int main(void)
{
    printf("executing hlt\n");
    fflush(stdout);
    __asm__ volatile("hlt");
    printf("survived hlt\n");
    return 0;
}
