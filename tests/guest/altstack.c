// sigaltstack: an SA_ONSTACK handler runs on the alternate stack (here: a stack overflow
// handled by a SIGSEGV handler, which could not run on the exhausted stack).
#include <signal.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static char altstack[65536];
static sigjmp_buf back;
static volatile int on_alt;

static void handler(int sig) {
    char here;
    on_alt = (uintptr_t)&here >= (uintptr_t)altstack &&
             (uintptr_t)&here < (uintptr_t)altstack + sizeof altstack;
    siglongjmp(back, 1);
}

static int recurse(int n) {
    volatile char pad[4096];
    pad[0] = (char)n;
    return recurse(n + 1) + pad[0];
}

int main(void) {
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    stack_t old;
    printf("sigaltstack: %d\n", sigaltstack(&ss, &old));
    printf("old disabled: %d\n", (old.ss_flags & SS_DISABLE) != 0);
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGSEGV, &sa, 0);
    if (!sigsetjmp(back, 1))
        recurse(0);
    printf("recovered from the overflow on the alternate stack: %d\n", on_alt);
    stack_t tiny = {.ss_sp = altstack, .ss_size = 100, .ss_flags = 0};
    printf("too small: %d\n", sigaltstack(&tiny, 0));
    return 0;
}
