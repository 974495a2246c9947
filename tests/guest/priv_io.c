/* priv_io.c — instructions ring 3 may not run: each must raise a signal (SIGSEGV), and
 * the program survives to try the next through a handler. Prints the signal per case. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf back;

static void on_signal(int sig)
{
    siglongjmp(back, sig);
}

static void try(const char *name, void (*body)(void))
{
    int sig = sigsetjmp(back, 1);
    if (sig == 0) {
        body();
        printf("%s: ran\n", name);
    } else {
        printf("%s: %s\n", name, strsignal(sig));
    }
}

static void in_imm(void) { unsigned char v; __asm__ volatile("inb $0x60, %0" : "=a"(v)); }
static void in_dx(void) { unsigned char v; __asm__ volatile("inb %%dx, %0" : "=a"(v) : "d"(0x3f8)); }
static void out_imm(void) { __asm__ volatile("outb %0, $0x80" : : "a"((unsigned char)1)); }
static void insb(void) { char buf[4]; __asm__ volatile("insb" : : "D"(buf), "d"(0x60) : "memory"); }
static void int_0e(void) { __asm__ volatile("int $0x0e"); }
static void int_0d(void) { __asm__ volatile("int $0x0d"); }
static void cli(void) { __asm__ volatile("cli"); }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    setvbuf(stdout, NULL, _IONBF, 0);
    try("in $0x60", in_imm);
    try("in %dx", in_dx);
    try("out $0x80", out_imm);
    try("insb", insb);
    try("int $0x0e", int_0e);
    try("int $0x0d", int_0d);
    try("cli", cli);
    printf("done\n");
    return 0;
}
