/* strace_prctl.c — prctl(2) and seccomp(2) calls for --strace to show as strace does:
   each option with the arguments strace prints for it (tests/trace/test_strace.py). */
#include <sys/prctl.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void){
  int v = 0; char name[16]; unsigned long addr;
  prctl(PR_SET_PDEATHSIG, SIGKILL); prctl(PR_GET_PDEATHSIG, &v);
  prctl(PR_GET_DUMPABLE); prctl(PR_SET_DUMPABLE, 1);
  prctl(PR_GET_KEEPCAPS); prctl(PR_SET_KEEPCAPS, 0);
  prctl(PR_SET_NAME, "worker"); prctl(PR_GET_NAME, name);
  prctl(PR_GET_SECCOMP); prctl(PR_CAPBSET_READ, 21);
  prctl(PR_SET_TIMERSLACK, 50000); prctl(PR_GET_TIMERSLACK);
  prctl(PR_SET_CHILD_SUBREAPER, 1); prctl(PR_GET_CHILD_SUBREAPER, &v);
  prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  prctl(PR_GET_TID_ADDRESS, &addr);
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 21, 0, 0);
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY); prctl(12345, 1, 2, 3, 4);
  prctl(PR_GET_TSC, &v); prctl(PR_GET_ENDIAN, &v); prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
  struct sock_filter f[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  struct sock_fprog p = {1, f};
  syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC|SECCOMP_FILTER_FLAG_LOG, &p);
  unsigned act = SECCOMP_RET_LOG;
  syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act);
  syscall(SYS_seccomp, 99, 0, NULL);
  prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p);
  return 0;
}
