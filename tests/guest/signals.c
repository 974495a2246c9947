// Signals: handlers run and return, SA_SIGINFO fields, blocked signals stay pending,
// a SIGSEGV handler sees the address and siglongjmps out, SIGCHLD with pause(),
// EINTR without SA_RESTART, and the FPU state survives a handler.
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <sys/wait.h>
#include <errno.h>
static volatile int got; static sigjmp_buf jb; static void *fault_addr;
static void h(int s){ got = s; }
static void hi(int s, siginfo_t *si, void *uc){ got = s; printf("siginfo signo=%d code=%d pid_ok=%d\n", si->si_signo, si->si_code, si->si_pid==getpid()); }
static void segv(int s, siginfo_t *si, void *uc){ fault_addr = si->si_addr; siglongjmp(jb, 1); }
int main(){
  setvbuf(stdout, 0, _IONBF, 0);
  signal(SIGUSR1, h); raise(SIGUSR1); printf("handler ran: %d\n", got);
  struct sigaction sa = {0}; sa.sa_sigaction = hi; sa.sa_flags = SA_SIGINFO; sigaction(SIGUSR2, &sa, 0);
  kill(getpid(), SIGUSR2);
  sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigprocmask(SIG_BLOCK, &m, 0);
  got = 0; raise(SIGUSR1); printf("blocked: got=%d pending=%d\n", got, ({sigset_t p; sigpending(&p); sigismember(&p, SIGUSR1);}));
  sigprocmask(SIG_UNBLOCK, &m, 0); printf("after unblock: got=%d\n", got);
  struct sigaction sv = {0}; sv.sa_sigaction = segv; sv.sa_flags = SA_SIGINFO; sigaction(SIGSEGV, &sv, 0);
  if (!sigsetjmp(jb, 1)) { *(volatile int*)0x1234 = 1; }
  printf("segv handler addr=%p\n", fault_addr);
  signal(SIGCHLD, h); got = 0; pid_t p = fork(); if (!p) _exit(3);
  while (!got) pause(); int st; waitpid(p, &st, 0); printf("sigchld=%d status=%d\n", got, WEXITSTATUS(st));
  signal(SIGALRM, h); 
  struct sigaction nr = {0}; nr.sa_handler = h; sigaction(SIGUSR1, &nr, 0);
  int fds[2]; pipe(fds); pid_t k = fork(); if (!k) { usleep(50000); kill(getppid(), SIGUSR1); _exit(0);} 
  char c; errno = 0; int r = read(fds[0], &c, 1); printf("read interrupted: r=%d errno=%s\n", r, errno==EINTR?"EINTR":"other");
  waitpid(k, 0, 0);
  double x = 1.5; signal(SIGUSR1, h); raise(SIGUSR1); printf("fpu kept: %.2f\n", x * 2);
  return 0;
}
