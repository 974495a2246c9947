/* bad_input.c — process/thread syscalls reject bad arguments: futex, wait4, kill, clone, sched_setscheduler, sched_getaffinity. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BAD_PTR ((void *)8) /* in the never-mapped first page */

static const char *errno_name(int e)
{
    static const struct { int num; const char *name; } table[] = {
        {EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"}, {EINTR, "EINTR"},
        {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EFAULT, "EFAULT"}, {EINVAL, "EINVAL"},
        {ECHILD, "ECHILD"}, {ENOSYS, "ENOSYS"}, {ETIMEDOUT, "ETIMEDOUT"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].num == e)
            return table[i].name;
    return "E?";
}

/* "name: -1 ENAME", or the unexpected return value. */
static void report(const char *name, long ret)
{
    if (ret == -1)
        printf("%s: -1 %s\n", name, errno_name(errno));
    else
        printf("%s: %ld (expected an error)\n", name, ret);
}

int main(void)
{
    static int words[2] __attribute__((aligned(8)));
    int st;

    report("futex WAIT on an unmapped address",
           syscall(SYS_futex, (int *)BAD_PTR, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    report("futex WAIT on a misaligned address",
           syscall(SYS_futex, (int *)((char *)words + 1), FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    report("futex WAKE on a misaligned address",
           syscall(SYS_futex, (int *)((char *)words + 2), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    report("wait4 with bad options", syscall(SYS_wait4, -1, &st, 0x12345678, NULL));
    report("kill with signal 99", syscall(SYS_kill, getpid(), 99));
    report("kill of a nonexistent pid", syscall(SYS_kill, 999999, 0));
    report("clone CLONE_THREAD without CLONE_SIGHAND",
           syscall(SYS_clone, CLONE_VM | CLONE_THREAD, NULL, NULL, NULL, 0));
    struct sched_param param = {0};
    report("sched_setscheduler with a bad policy", syscall(SYS_sched_setscheduler, 0, 12345, &param));
    unsigned char mask[1];
    report("sched_getaffinity with size 1", syscall(SYS_sched_getaffinity, 0, 1, mask));
    return 0;
}
