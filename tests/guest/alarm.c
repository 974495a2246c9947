// alarm(2) and a periodic setitimer(ITIMER_REAL) deliver SIGALRM; the default action kills.
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/time.h>
static volatile int n;
static void h(int s){ n++; }
int main(){ setvbuf(stdout, 0, _IONBF, 0); signal(SIGALRM, h); alarm(1); printf("alarm left: %u\n", alarm(1)); pause(); printf("alarms: %d\n", n);
 struct itimerval it = {{0, 20000}, {0, 20000}}; setitimer(ITIMER_REAL, &it, 0); while (n < 6) pause();
 struct itimerval z = {0}; setitimer(ITIMER_REAL, &z, 0); printf("periodic ok: %d\n", n >= 6);
 signal(SIGALRM, SIG_DFL); alarm(1); pause(); return 0; }
