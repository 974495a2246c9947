/* smp.c — threads that run at the same time: shared counters, memory changed under a
 * running thread (munmap, mprotect, fork), exit with threads running, CPU numbers.
 * Run natively and under `cloudos run --cpus N`; the output must be the same. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <time.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#define THREADS 4
#define ROUNDS 200000

static atomic_long total;
static long locked_total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int ready, go;

static void *add(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&go))
        ;  /* every thread starts together, so they overlap */
    for (int i = 0; i < ROUNDS; i++) {
        atomic_fetch_add(&total, 1);
        if (i % 16 == 0) {
            pthread_mutex_lock(&lock);
            locked_total++;
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

static void counters(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, add, NULL);
    while (atomic_load(&ready) < THREADS)
        sched_yield();
    atomic_store(&go, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("atomic total %ld (want %d)\n", (long)total, THREADS * ROUNDS);
    printf("mutex total %ld (want %d)\n", locked_total, THREADS * ((ROUNDS + 15) / 16));
}

/* A thread reads a page in a loop; another thread unmaps (or write-protects) it.
 * The reader must fault soon after: no CPU may go on with a stale translation. */
static volatile char *page;
static atomic_int spinning, faulted;
static sigjmp_buf escape;
static __thread int in_reader;

static void on_segv(int sig)
{
    (void)sig;
    if (in_reader)
        siglongjmp(escape, 1);
    _exit(99);
}

static void *reader(void *arg)
{
    int write = *(int *)arg;
    in_reader = 1;
    if (sigsetjmp(escape, 1)) {
        atomic_store(&faulted, 1);
        return NULL;
    }
    for (long n = 0;; n++) {
        if (write)
            page[n & 4095] = (char)n;
        else
            (void)page[n & 4095];
        if (n == 1000)
            atomic_store(&spinning, 1);
    }
}

static void change_under_reader(const char *what, int write)
{
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[0] = 1;
    atomic_store(&spinning, 0);
    atomic_store(&faulted, 0);
    signal(SIGSEGV, on_segv);
    pthread_t t;
    pthread_create(&t, NULL, reader, &write);
    while (!atomic_load(&spinning))
        sched_yield();
    if (write)
        mprotect((void *)page, 4096, PROT_READ);
    else
        munmap((void *)page, 4096);
    pthread_join(t, NULL);
    printf("%s under a running thread: it faulted %s\n", what,
           atomic_load(&faulted) ? "yes" : "no");
    if (write)
        munmap((void *)page, 4096);
}

/* fork while another thread keeps writing: the child sees one consistent moment. */
static atomic_long ticker;
static atomic_int stop_ticker;

static void *tick(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_ticker))
        atomic_fetch_add(&ticker, 1);
    return NULL;
}

static void fork_while_writing(void)
{
    pthread_t t;
    pthread_create(&t, NULL, tick, NULL);
    while (atomic_load(&ticker) < 1000)
        sched_yield();
    int ok = 1;
    for (int i = 0; i < 5; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            long a = atomic_load(&ticker);
            for (volatile int j = 0; j < 100000; j++)
                ;
            long b = atomic_load(&ticker);
            _exit(a == b ? 0 : 1);  /* the ticker thread was not copied: no one counts */
        }
        int status;
        waitpid(pid, &status, 0);
        ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    long before = atomic_load(&ticker);
    for (int tries = 0; atomic_load(&ticker) == before && tries < 1000000; tries++)
        sched_yield();
    printf("fork with a thread writing: children see a still copy %s, parent's thread "
           "goes on %s\n", ok ? "yes" : "no", atomic_load(&ticker) > before ? "yes" : "no");
    atomic_store(&stop_ticker, 1);
    pthread_join(t, NULL);
}

static void *forever(void *arg)
{
    (void)arg;
    for (volatile long n = 0;; n++)
        ;
    return NULL;
}

static void exit_with_threads_running(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&t[i], NULL, forever, NULL);
        usleep(20000);
        exit(7);  /* exit_group while three threads compute */
    }
    int status;
    waitpid(pid, &status, 0);
    printf("exit with threads running: status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    pid = fork();
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, forever, NULL);
        for (;;)
            pause();
    }
    usleep(20000);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    printf("SIGKILL with a thread running: signal %d\n",
           WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

/* A signal to a process that computes on another CPU (no system calls to stop at). */
static void signal_a_spinner(void)
{
    int fds[2];
    if (pipe(fds))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGUSR1, on_usr1);
        if (write(fds[1], "r", 1) != 1)
            _exit(1);
        while (!got_usr1)
            ;
        _exit(write(fds[1], "h", 1) == 1 ? 0 : 1);
    }
    char c;
    int ok = read(fds[0], &c, 1) == 1 && c == 'r';
    usleep(10000);  /* it spins now */
    kill(pid, SIGUSR1);
    ok &= read(fds[0], &c, 1) == 1 && c == 'h';
    int status;
    waitpid(pid, &status, 0);
    printf("a spinning process takes SIGUSR1: %s, exits %d\n", ok ? "yes" : "no",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Two processes that share nothing when they start attach a SysV segment and add to
 * one counter in it with lock xadd: they must not run on two vCPUs at once then. */
static void shared_after_start(void)
{
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    pid_t pid = fork();
    long *counter = shmat(id, NULL, 0);
    for (int i = 0; i < 500000; i++)
        __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    printf("two processes attached after fork count %ld (want 1000000)\n", *counter);
    shmdt(counter);
    shmctl(id, IPC_RMID, NULL);
}

static void nap(long max_ns)
{
    struct timespec ts = {0, rand() % max_ns};
    nanosleep(&ts, NULL);
}

/* Code rewritten in a writable and executable page, run after the thread may have
 * moved to another vCPU (other processes keep the CPUs busy on and off). */
static void rewritten_code(void)
{
    pid_t busy[2];
    for (int k = 0; k < 2; k++)
        if ((busy[k] = fork()) == 0) {
            srand(k + 7);
            for (;;) {
                for (volatile int n = rand() % 20000; n > 0; n--)
                    ;
                nap(300000);
            }
        }
    unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int wrong = 0;
    for (int i = 0; i < 300; i++) {
        code[0] = 0xb8;  /* mov eax, i; ret */
        memcpy(code + 1, &i, 4);
        code[5] = 0xc3;
        nap(200000);
        wrong += ((int (*)(void))code)() != i;
        if (i % 2)
            sched_yield();
    }
    for (int k = 0; k < 2; k++) {
        kill(busy[k], SIGKILL);
        waitpid(busy[k], NULL, 0);
    }
    printf("rewritten code runs as written: %d wrong of 300\n", wrong);
}

static void *report_cpu(void *arg)
{
    int *out = arg;
    unsigned cpu = 0, node = 0;
    *out = getcpu(&cpu, &node) == 0 && (int)cpu < get_nprocs() && node == 0
           && sched_getcpu() >= 0 && sched_getcpu() < get_nprocs();
    return NULL;
}

static void cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    int n = get_nprocs();
    printf("affinity mask counts the CPUs: %s\n", CPU_COUNT(&set) == n ? "yes" : "no");
    printf("sysconf agrees: %s\n", sysconf(_SC_NPROCESSORS_ONLN) == n ? "yes" : "no");
    int ok[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, report_cpu, &ok[i]);
    int all = 1;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        all &= ok[i];
    }
    printf("getcpu names a CPU of the machine: %s\n", all ? "yes" : "no");
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    printf("setaffinity to cpu0: %d\n", sched_setaffinity(0, sizeof set, &set));
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    printf("getaffinity then: %d CPU, cpu0 %s\n", CPU_COUNT(&set), CPU_ISSET(0, &set) ? "in" : "out");
    pid_t pid = fork();
    if (pid == 0) {
        CPU_ZERO(&set);
        sched_getaffinity(0, sizeof set, &set);
        _exit(CPU_COUNT(&set));
    }
    int status;
    waitpid(pid, &status, 0);
    printf("a child inherits it: %d CPU\n", WEXITSTATUS(status));
    CPU_ZERO(&set);
    CPU_SET(1000, &set);
    int r = sched_setaffinity(0, sizeof set, &set);
    printf("setaffinity to no CPU of the machine: %d %s\n", r, r ? errname(errno) : "");
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (section("counters"))
        counters();
    if (section("shootdown")) {
        change_under_reader("munmap", 0);
        change_under_reader("mprotect", 1);
    }
    if (section("fork"))
        fork_while_writing();
    if (section("exit"))
        exit_with_threads_running();
    if (section("signal"))
        signal_a_spinner();
    if (section("sysv"))
        shared_after_start();
    if (section("jit"))
        rewritten_code();
    if (section("cpus"))
        cpus();
    return 0;
}
