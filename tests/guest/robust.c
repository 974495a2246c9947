/* robust.c — robust futex lists (set_robust_list, get_robust_list): a thread or process
   that ends holding a robust mutex leaves it to the next locker with EOWNERDEAD.

   usage: robust SECTION   (thread | process | waiter | killed | exec | pending | get |
                            hostile)
   Prints what happens; the test compares the output with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

static pthread_mutex_t *shared_mutex(void)
{
    pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    return m;
}

static void lock_and_report(pthread_mutex_t *m, const char *what)
{
    int r = pthread_mutex_lock(m);
    printf("%s: %s\n", what, r ? errname(r) : "0");
    if (r == EOWNERDEAD) {
        printf("  consistent: %d\n", pthread_mutex_consistent(m));
        printf("  unlock: %d\n", pthread_mutex_unlock(m));
        printf("  lock again: %d\n", pthread_mutex_lock(m));
    }
    pthread_mutex_unlock(m);
}

static void *hold_and_exit(void *arg)
{
    pthread_mutex_lock(arg);
    return NULL; /* ends holding it */
}

static void section_thread(void)
{
    pthread_mutex_t m;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&m, &a);
    pthread_t t;
    pthread_create(&t, NULL, hold_and_exit, &m);
    pthread_join(t, NULL);
    lock_and_report(&m, "lock after the holder thread ended");
    /* a plain (not robust) mutex left by a dead thread: trylock finds it busy */
    pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;
    pthread_create(&t, NULL, hold_and_exit, &plain);
    pthread_join(t, NULL);
    int r = pthread_mutex_trylock(&plain);
    printf("trylock of a plain mutex its dead holder kept: %s\n", r ? errname(r) : "0");
}

static void section_process(void)
{
    pthread_mutex_t *m = shared_mutex();
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(m);
        _exit(0); /* exit_group holding it */
    }
    waitpid(pid, NULL, 0);
    lock_and_report(m, "lock after the holder process exited");
}

static void section_waiter(void)
{
    /* the parent is already asleep in the lock when the holder dies */
    pthread_mutex_t *m = shared_mutex();
    int ready[2];
    if (pipe(ready) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(m);
        if (write(ready[1], "x", 1) != 1)
            _exit(2);
        struct timespec t = {0, 200 * 1000 * 1000};
        nanosleep(&t, NULL);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        return;
    lock_and_report(m, "lock that waited while the holder died");
    waitpid(pid, NULL, 0);
}

static void section_killed(void)
{
    pthread_mutex_t *m = shared_mutex();
    int ready[2];
    if (pipe(ready) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(m);
        if (write(ready[1], "x", 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        return;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    printf("holder killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    lock_and_report(m, "lock after the holder was killed");
}

static void section_exec(char *self)
{
    pthread_mutex_t *m = shared_mutex();
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(m);
        /* exec releases the robust list as an exit does; the new program then exits */
        execl(self, self, "exit0", (char *)NULL);
        _exit(3);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("execed holder exited with %d\n", WEXITSTATUS(status));
    lock_and_report(m, "lock after the holder execed");
}

/* A hand-made robust list: one entry whose futex word is held by this thread, one
   pending (list_op_pending) with no owner and a waiter bit, one owned by another tid. */
struct entry {
    struct robust_list link;
    uint32_t word;
};
static struct entry e_held, e_other, e_pending;
static struct robust_list_head head;

static void *hand_made(void *arg)
{
    (void)arg;
    pid_t tid = syscall(SYS_gettid);
    e_held.word = tid | FUTEX_WAITERS;
    e_other.word = 12345;
    e_pending.word = 0;
    head.list.next = &e_held.link;
    e_held.link.next = &e_other.link;
    e_other.link.next = &head.list;
    head.futex_offset = offsetof(struct entry, word);
    head.list_op_pending = &e_pending.link;
    long r = syscall(SYS_set_robust_list, &head, sizeof head);
    printf("set_robust_list: %ld\n", r);
    return (void *)(uintptr_t)tid;
}

static void section_pending(void)
{
    pthread_t t;
    void *tid;
    pthread_create(&t, NULL, hand_made, NULL);
    pthread_join(t, &tid);
    printf("held word: owner died %d, waiters %d, tid bits left %d\n",
           !!(e_held.word & FUTEX_OWNER_DIED), !!(e_held.word & FUTEX_WAITERS),
           (e_held.word & FUTEX_TID_MASK) != 0);
    printf("another owner's word: %u\n", e_other.word);
    printf("pending word (no owner): %u\n", e_pending.word);
}

static void section_get(void)
{
    struct robust_list_head *h = NULL;
    size_t len = 0;
    long r = syscall(SYS_get_robust_list, 0, &h, &len);
    printf("get_robust_list(0): %ld, len %zu, head set %d\n", r, len, h != NULL);
    r = syscall(SYS_get_robust_list, getpid(), &h, &len);
    printf("get_robust_list(self): %ld, len %zu\n", r, len);
    errno = 0;
    r = syscall(SYS_get_robust_list, 999999, &h, &len);
    printf("get_robust_list(999999): %ld %s\n", r, errname(errno));
    errno = 0;
    r = syscall(SYS_get_robust_list, 0, (void *)8, &len);
    printf("get_robust_list(0, bad head): %ld %s\n", r, errname(errno));
    errno = 0;
    r = syscall(SYS_get_robust_list, 0, &h, (void *)8);
    printf("get_robust_list(0, bad len): %ld %s\n", r, errname(errno));
    errno = 0;
    r = syscall(SYS_set_robust_list, &head, sizeof head + 1);
    printf("set_robust_list(bad length): %ld %s\n", r, errname(errno));
    pid_t pid = fork();
    if (pid == 0) {
        struct robust_list_head *ch = NULL;
        size_t clen = 0;
        r = syscall(SYS_get_robust_list, 0, &ch, &clen);
        printf("child: get_robust_list(0): %ld, len %zu, head set %d\n", r, clen, ch != NULL);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    r = syscall(SYS_get_robust_list, pid, &h, &len);
    printf("get_robust_list(reaped child): %ld %s\n", r, errname(errno));
}

/* Lists a buggy or hostile program may leave: each thread registers one and exits; the
   kernel must walk what it can and stop, and nothing else may change. */
static struct robust_list_head bad_heads[5];
static struct robust_list loop_entry;
static uint32_t loop_word_after;

static void *register_and_exit(void *arg)
{
    syscall(SYS_set_robust_list, arg, sizeof(struct robust_list_head));
    return NULL;
}

static void section_hostile(void)
{
    /* 0: the first entry at an unmapped address */
    bad_heads[0].list.next = (struct robust_list *)0xdead0000;
    /* 1: an offset that wraps around the address space, and a kernel-half pending entry */
    bad_heads[1].list.next = &bad_heads[1].list;
    bad_heads[1].futex_offset = -0x7000000000000000L;
    bad_heads[1].list_op_pending = (struct robust_list *)0xffff800000001000UL;
    /* 2: a circular list that never comes back to the head (the walk's limit ends it) */
    loop_entry.next = &loop_entry;
    bad_heads[2].list.next = &loop_entry;
    bad_heads[2].futex_offset = sizeof loop_entry;
    /* 3: a misaligned futex word */
    bad_heads[3].list.next = &loop_entry;
    bad_heads[3].futex_offset = 1;
    /* 4: the head itself in read-only memory (this program's text) */
    for (int i = 0; i < 4; i++) {
        pthread_t t;
        pthread_create(&t, NULL, register_and_exit, &bad_heads[i]);
        pthread_join(t, NULL);
        printf("thread with bad list %d ended; the process goes on\n", i);
    }
    pthread_t t;
    pthread_create(&t, NULL, register_and_exit, (void *)section_hostile);
    pthread_join(t, NULL);
    printf("thread with its head in the text ended; the process goes on\n");
    printf("word after the loop entry: %u\n", loop_word_after);
    pid_t pid = fork();
    if (pid == 0) {
        syscall(SYS_set_robust_list, (void *)0x10, sizeof(struct robust_list_head));
        _exit(7);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child with a head at 0x10 exited with %d\n", WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    const char *s = argv[1];
    if (!strcmp(s, "exit0"))
        return 0;
    printf("== %s\n", s);
    if (!strcmp(s, "thread"))
        section_thread();
    else if (!strcmp(s, "process"))
        section_process();
    else if (!strcmp(s, "waiter"))
        section_waiter();
    else if (!strcmp(s, "killed"))
        section_killed();
    else if (!strcmp(s, "exec"))
        section_exec(argv[0]);
    else if (!strcmp(s, "pending"))
        section_pending();
    else if (!strcmp(s, "get"))
        section_get();
    else if (!strcmp(s, "hostile"))
        section_hostile();
    else
        return 2;
    return 0;
}
