/* sysv_ipc.c — System V semaphores and message queues: values and errors, two processes contending and waking each other, SEM_UNDO at exit, removal while blocked (EIDRM), signals (EINTR) and timeouts, message types and sizes, a full queue (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sched.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

union semun { int val; struct semid_ds *buf; unsigned short *array; };

static int sop(int id, unsigned short num, short op, short flags)
{
    struct sembuf b = {num, op, flags};
    return semop(id, &b, 1);
}

static int semval(int id, int num) { return semctl(id, num, GETVAL); }

/* Waits (at most 5 s) until COUNT processes sleep on semaphore NUM (GETNCNT, or GETZCNT). */
static int await_sleepers(int id, int num, int cmd, int count)
{
    for (int i = 0; i < 500; i++) {
        if (semctl(id, num, cmd) == count)
            return 1;
        usleep(10000);
    }
    return 0;
}

static int child_status(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void on_signal(int sig) { (void)sig; }

/* A one-shot timer (SIGALRM after MS milliseconds) whose handler returns. */
static void alarm_ms(int ms)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;  /* semop and msgrcv are never restarted: EINTR anyway */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {ms / 1000, ms % 1000 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sem_basics(void)
{
    key_t key = 0x5e000000 | (getpid() & 0xFFFFFF);
    int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0640);
    printf("semget: %s\n", id >= 0 ? "ok" : errname(errno));
    printf("same key: %s\n", semget(key, 2, 0) == id ? "same id" : errname(errno));
    SHOW("IPC_EXCL again", semget(key, 3, IPC_CREAT | IPC_EXCL | 0640));
    SHOW("more semaphores than it has", semget(key, 4, 0));
    SHOW("missing key", semget(key + 1, 1, 0));
    SHOW("a new set of none", semget(IPC_PRIVATE, 0, 0600));
    SHOW("negative count", semget(IPC_PRIVATE, -1, 0600));
    struct semid_ds ds;
    SHOW("IPC_STAT", semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
    printf("nsems %lu, mode %o, ours: %d, otime %ld\n", (unsigned long)ds.sem_nsems,
           ds.sem_perm.mode & 0777, ds.sem_perm.cuid == geteuid(), (long)ds.sem_otime);
    printf("new values: %d %d %d\n", semval(id, 0), semval(id, 1), semval(id, 2));
    SHOW("SETVAL 5", semctl(id, 1, SETVAL, (union semun){.val = 5}));
    SHOW("SETVAL 32768", semctl(id, 1, SETVAL, (union semun){.val = 32768}));
    SHOW("SETVAL -1", semctl(id, 1, SETVAL, (union semun){.val = -1}));
    SHOW("GETVAL of semaphore 3", semctl(id, 3, GETVAL));
    unsigned short all[3] = {7, 8, 9}, got[3];
    SHOW("SETALL", semctl(id, 0, SETALL, (union semun){.array = all}));
    semctl(id, 0, GETALL, (union semun){.array = got});
    printf("GETALL: %d %d %d\n", got[0], got[1], got[2]);
    SHOW("GETPID is us", semctl(id, 2, GETPID) == getpid());
    struct sembuf two[2] = {{0, -7, 0}, {1, 2, 0}};
    SHOW("semop of two", semop(id, two, 2));
    printf("after: %d %d %d\n", semval(id, 0), semval(id, 1), semval(id, 2));
    semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
    printf("otime set: %d\n", ds.sem_otime != 0);
    struct sembuf atomic[2] = {{2, -1, 0}, {0, -1, IPC_NOWAIT}};
    SHOW("one of two would block, IPC_NOWAIT", semop(id, atomic, 2));
    printf("nothing done: %d %d %d\n", semval(id, 0), semval(id, 1), semval(id, 2));
    SHOW("past SEMVMX", sop(id, 1, 32767, 0));
    SHOW("semaphore 3", sop(id, 3, 1, 0));
    SHOW("no operations", semop(id, two, 0));
    SHOW("too many operations", semop(id, two, 100000));
    SHOW("bad pointer", semop(id, (struct sembuf *)8, 1));
    SHOW("bad set", sop(id + 1, 0, 1, 0));
    SHOW("timeout", semtimedop(id, (struct sembuf[]){{0, -1, 0}}, 1,
                               &(struct timespec){0, 50000000}));
    SHOW("bad timeout", semtimedop(id, (struct sembuf[]){{0, -1, 0}}, 1,
                                   &(struct timespec){0, 2000000000}));
    SHOW("unknown command", semctl(id, 0, 99));
    struct seminfo si;
    SHOW("IPC_INFO: a slot", semctl(0, 0, IPC_INFO, (union semun){.buf = (void *)&si}) >= 0);
    printf("semmni %d, semmns %d, semmsl %d, semopm %d, semvmx %d, semaem %d, semume %d, "
           "semusz %d\n", si.semmni, si.semmns, si.semmsl, si.semopm, si.semvmx, si.semaem,
           si.semume, si.semusz);
    SHOW("SEM_STAT of a slot", semctl(id % 32768, 0, SEM_STAT, (union semun){.buf = &ds}) == id);
    pid_t pid = fork();
    if (pid == 0) {
        setgid(65534);
        setuid(65534);
        SHOW("another user: semget", semget(key, 0, 0600));
        SHOW("another user: more semaphores than it has", semget(key, 4, 0));
        SHOW("another user: GETVAL", semctl(id, 0, GETVAL));
        SHOW("another user: IPC_RMID", semctl(id, 0, IPC_RMID));
        _exit(0);
    }
    child_status(pid);
    ds.sem_perm.mode = 0604;
    SHOW("IPC_SET", semctl(id, 0, IPC_SET, (union semun){.buf = &ds}));
    semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
    printf("mode now %o\n", ds.sem_perm.mode & 0777);
    SHOW("IPC_RMID", semctl(id, 0, IPC_RMID));
    SHOW("GETVAL after", semval(id, 0));
    SHOW("key gone", semget(key, 1, 0));
}

/* Two processes hand a turn back and forth through two semaphores. */
static void sem_wait(void)
{
    int id = semget(IPC_PRIVATE, 2, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        for (int i = 0; i < 20; i++) {
            if (sop(id, 0, -1, 0) < 0)
                _exit(1);
            sop(id, 1, 1, 0);
        }
        _exit(0);
    }
    printf("the child sleeps on semaphore 0: %d\n", await_sleepers(id, 0, GETNCNT, 1));
    printf("GETZCNT: %d\n", semctl(id, 0, GETZCNT));
    int rounds = 0;
    for (int i = 0; i < 20; i++)
        rounds += sop(id, 0, 1, 0) == 0 && sop(id, 1, -1, 0) == 0;
    printf("ping-pong rounds: %d, child exit %d\n", rounds, child_status(pid));
    printf("the child's last pid on semaphore 0: %d\n", semctl(id, 0, GETPID) == pid);

    /* waiting for zero */
    semctl(id, 0, SETVAL, (union semun){.val = 2});
    pid = fork();
    if (pid == 0) {
        alarm(10);
        _exit(sop(id, 0, 0, 0) == 0 ? 0 : 1);
    }
    printf("waiting for zero: %d, ncnt %d\n", await_sleepers(id, 0, GETZCNT, 1),
           semctl(id, 0, GETNCNT));
    sop(id, 0, -1, 0);
    usleep(50000);
    printf("at one it still waits: %d\n", semctl(id, 0, GETZCNT));
    sop(id, 0, -1, 0);
    printf("at zero it goes: exit %d\n", child_status(pid));
    semctl(id, 0, IPC_RMID);
}

/* Two processes take a semaphore as a mutex around a read-yield-write of a shared counter. */
static void sem_mutex(void)
{
    int id = semget(IPC_PRIVATE, 1, 0600);
    int shm = shmget(IPC_PRIVATE, 4096, 0600);
    volatile int *counter = shmat(shm, NULL, 0);
    shmctl(shm, IPC_RMID, NULL);
    semctl(id, 0, SETVAL, (union semun){.val = 1});
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            alarm(20);
            for (int i = 0; i < 300; i++) {
                if (sop(id, 0, -1, SEM_UNDO) < 0)
                    _exit(1);
                int seen = *counter;
                sched_yield();
                *counter = seen + 1;
                sop(id, 0, 1, SEM_UNDO);
            }
            _exit(0);
        }
    }
    int a = child_status(kids[0]), b = child_status(kids[1]);
    printf("mutual exclusion: counter %d, exits %d %d, value %d\n", *counter, a, b,
           semval(id, 0));
    semctl(id, 0, IPC_RMID);
}

static void sem_undo(void)
{
    int id = semget(IPC_PRIVATE, 2, 0600);
    semctl(id, 0, SETVAL, (union semun){.val = 1});
    pid_t pid = fork();
    if (pid == 0) {
        sop(id, 0, -1, SEM_UNDO);  /* takes it and dies holding it */
        sop(id, 0, 3, SEM_UNDO);
        sop(id, 0, -3, SEM_UNDO);
        _exit(0);
    }
    child_status(pid);
    printf("after the holder exited: %d\n", semval(id, 0));
    pid = fork();
    if (pid == 0) {
        alarm(10);
        sop(id, 0, -1, SEM_UNDO);  /* holds it until its exit gives it back */
        sop(id, 1, 1, 0);
        usleep(100000);
        _exit(0);
    }
    sop(id, 1, -1, 0);
    printf("the child holds it: %d; ", semval(id, 0));
    printf("blocked until its exit: %d, ", sop(id, 0, -1, 0));
    int status = child_status(pid);
    printf("value %d, child exit %d\n", semval(id, 0), status);
    semctl(id, 0, SETVAL, (union semun){.val = 0});
    pid = fork();
    if (pid == 0) {
        sop(id, 0, 5, SEM_UNDO);
        semctl(id, 0, SETVAL, (union semun){.val = 1});  /* forgets the adjustment */
        _exit(0);
    }
    child_status(pid);
    printf("SETVAL cleared the undo: %d\n", semval(id, 0));
    pid = fork();
    if (pid == 0) {
        sop(id, 0, -1, SEM_UNDO);
        semctl(id, 0, SETVAL, (union semun){.val = 0});
        sop(id, 0, 4, SEM_UNDO);
        semctl(id, 0, SETVAL, (union semun){.val = 0});
        sop(id, 0, 2, 0);
        sop(id, 0, -1, SEM_UNDO);  /* +1 at exit */
        _exit(0);
    }
    child_status(pid);
    printf("undo after SETVAL: %d\n", semval(id, 0));
    semctl(id, 0, IPC_RMID);
}

static void sem_interrupt(void)
{
    int id = semget(IPC_PRIVATE, 1, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        int r = sop(id, 0, -1, 0);
        printf("child: semop on a removed set: %d %s\n", r, errname(errno));
        fflush(stdout);
        _exit(0);
    }
    await_sleepers(id, 0, GETNCNT, 1);
    int removed = semctl(id, 0, IPC_RMID);
    child_status(pid);  /* (the child prints first) */
    SHOW("IPC_RMID with a sleeper", removed);

    id = semget(IPC_PRIVATE, 1, 0600);
    alarm_ms(100);
    double start = now();
    SHOW("semop interrupted by SIGALRM (SA_RESTART)", sop(id, 0, -1, 0));
    printf("waited >= 80ms: %s\n", now() - start >= 0.08 ? "yes" : "no");
    SHOW("the sleeper is gone: GETNCNT", semctl(id, 0, GETNCNT));
    start = now();
    SHOW("semtimedop 100ms", semtimedop(id, (struct sembuf[]){{0, 0, 0}, {0, -1, 0}}, 2,
                                        &(struct timespec){0, 100000000}));
    printf("waited >= 80ms: %s\n", now() - start >= 0.08 ? "yes" : "no");
    pid = fork();
    if (pid == 0) {
        alarm(10);
        _exit(semtimedop(id, (struct sembuf[]){{0, -2, 0}}, 1,
                         &(struct timespec){5, 0}) == 0 ? 0 : 1);
    }
    await_sleepers(id, 0, GETNCNT, 1);
    sop(id, 0, 1, 0);
    usleep(30000);
    printf("one is not enough: ncnt %d\n", semctl(id, 0, GETNCNT));
    sop(id, 0, 1, 0);
    int status = child_status(pid);
    printf("two wake it before its timeout: exit %d, value %d\n", status, semval(id, 0));
    pid = fork();
    if (pid == 0) {
        sop(id, 0, -1, 0);
        _exit(0);
    }
    await_sleepers(id, 0, GETNCNT, 1);
    kill(pid, SIGKILL);
    status = child_status(pid);
    printf("a killed sleeper: %d, ncnt %d\n", status, semctl(id, 0, GETNCNT));
    sop(id, 0, 1, 0);
    printf("its operation was not done: %d\n", semval(id, 0));
    semctl(id, 0, IPC_RMID);
}

struct msg { long mtype; char text[64]; };

static int send_text(int id, long type, const char *text, int flags)
{
    struct msg m = {type, ""};
    strcpy(m.text, text);
    return msgsnd(id, &m, strlen(text) + 1, flags);
}

static void receive(const char *label, int id, size_t size, long type, int flags)
{
    struct msg m = {0, ""};
    ssize_t n = msgrcv(id, &m, size, type, flags);
    if (n < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %zd, type %ld [%.*s]\n", label, n, m.mtype, (int)n, m.text);
}

static void msg_basics(void)
{
    key_t key = 0x3e000000 | (getpid() & 0xFFFFFF);
    int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    printf("msgget: %s\n", id >= 0 ? "ok" : errname(errno));
    printf("same key: %s\n", msgget(key, 0) == id ? "same id" : errname(errno));
    SHOW("IPC_EXCL again", msgget(key, IPC_CREAT | IPC_EXCL));
    SHOW("missing key", msgget(key + 1, 0));
    send_text(id, 3, "three", 0);
    send_text(id, 1, "one", 0);
    send_text(id, 2, "two", 0);
    send_text(id, 1, "uno", 0);
    send_text(id, 5, "five", 0);
    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    printf("qnum %lu, cbytes %lu, qbytes %lu, lspid us: %d, stime set: %d\n",
           (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
           (unsigned long)ds.msg_qbytes, ds.msg_lspid == getpid(), ds.msg_stime != 0);
    receive("type 1", id, 64, 1, 0);
    receive("type -2 (the lowest up to 2)", id, 64, -2, 0);
    receive("any but 3 (MSG_EXCEPT)", id, 64, 3, MSG_EXCEPT);
    receive("too small", id, 3, 0, 0);
    receive("too small, MSG_NOERROR", id, 3, 0, MSG_NOERROR);
    receive("type 4, IPC_NOWAIT", id, 64, 4, IPC_NOWAIT);
    receive("type 0", id, 64, 0, 0);
    receive("empty, IPC_NOWAIT", id, 64, 0, IPC_NOWAIT);
    SHOW("type 0", send_text(id, 0, "x", 0));
    SHOW("negative size", msgsnd(id, &(struct msg){1, ""}, -1, 0));
    SHOW("over msgmax", msgsnd(id, &(struct msg){1, ""}, 8193, 0));
    SHOW("bad pointer", msgsnd(id, (void *)8, 1, 0));
    SHOW("bad queue", send_text(id + 1, 1, "x", 0));
    SHOW("msgrcv negative size", msgrcv(id, &(struct msg){0, ""}, -1, 0, 0));
    SHOW("MSG_COPY without IPC_NOWAIT", msgrcv(id, &(struct msg){0, ""}, 8, 0, MSG_COPY));
    send_text(id, 1, "lost", 0);
    SHOW("msgrcv into a bad pointer", msgrcv(id, (void *)8, 8, 0, 0));
    msgctl(id, IPC_STAT, &ds);
    printf("still queued: %lu, lrpid us: %d\n", (unsigned long)ds.msg_qnum,
           ds.msg_lrpid == getpid());
    struct msginfo info;
    SHOW("IPC_INFO highest slot >= 0", msgctl(0, IPC_INFO, (struct msqid_ds *)&info) >= 0);
    printf("msgmax %d, msgmnb %d, msgmni %d, msgpool %d, msgmap %d, msgtql %d, msgssz %d, "
           "msgseg %d\n", info.msgmax, info.msgmnb, info.msgmni, info.msgpool, info.msgmap,
           info.msgtql, info.msgssz, info.msgseg);
    SHOW("IPC_RMID", msgctl(id, IPC_RMID, NULL));
    SHOW("IPC_STAT after", msgctl(id, IPC_STAT, &ds));
}

static void msg_block(void)
{
    int id = msgget(IPC_PRIVATE, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        receive("child waited for type 7", id, 64, 7, 0);
        receive("child waited, too small", id, 2, 8, 0);
        receive("child got the rest", id, 64, 0, 0);
        fflush(stdout);
        _exit(0);
    }
    usleep(100000);
    send_text(id, 6, "six", 0);
    send_text(id, 7, "seven", 0);
    usleep(100000);
    send_text(id, 8, "eight", 0);
    child_status(pid);
    receive("left for the parent", id, 64, 0, IPC_NOWAIT);
    receive("then", id, 64, 0, IPC_NOWAIT);

    /* a full queue: 12 bytes of room */
    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 12;
    SHOW("IPC_SET qbytes 12", msgctl(id, IPC_SET, &ds));
    SHOW("send 6", send_text(id, 1, "12345", 0));
    SHOW("send 6", send_text(id, 2, "abcde", 0));
    SHOW("full, IPC_NOWAIT", send_text(id, 3, "x", IPC_NOWAIT));
    pid = fork();
    if (pid == 0) {
        alarm(10);
        int r = send_text(id, 3, "wait", 0);
        printf("child's blocked send: %d\n", r);
        fflush(stdout);
        _exit(0);
    }
    usleep(100000);
    struct msg m;
    ssize_t n = msgrcv(id, &m, sizeof m.text, 0, 0);
    child_status(pid);  /* (the child prints first) */
    printf("make room: %zd [%s]\n", n, m.text);
    receive("next", id, 64, 0, 0);
    receive("the child's", id, 64, 0, 0);
    msgctl(id, IPC_STAT, &ds);
    printf("qnum %lu, lspid the child: %d\n", (unsigned long)ds.msg_qnum, ds.msg_lspid == pid);
    ds.msg_qbytes = 1 << 30;
    pid = fork();
    if (pid == 0) {
        setgid(65534);
        setuid(65534);
        SHOW("another user's IPC_SET", msgctl(id, IPC_SET, &ds));
        _exit(0);
    }
    child_status(pid);
    msgctl(id, IPC_RMID, NULL);
}

static void msg_interrupt(void)
{
    int id = msgget(IPC_PRIVATE, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        receive("child: removed while it waits", id, 64, 0, 0);
        fflush(stdout);
        _exit(0);
    }
    usleep(100000);
    int removed = msgctl(id, IPC_RMID, NULL);
    child_status(pid);  /* (the child prints first) */
    SHOW("IPC_RMID with a receiver", removed);

    id = msgget(IPC_PRIVATE, 0600);
    alarm_ms(100);
    double start = now();
    receive("msgrcv interrupted by SIGALRM (SA_RESTART)", id, 64, 0, 0);
    printf("waited >= 80ms: %s\n", now() - start >= 0.08 ? "yes" : "no");
    SHOW("a message after", send_text(id, 1, "after", 0));
    receive("it is there", id, 64, 0, IPC_NOWAIT);
    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 4;
    msgctl(id, IPC_SET, &ds);
    send_text(id, 1, "abc", 0);
    pid = fork();
    if (pid == 0) {
        alarm(10);
        int r = send_text(id, 2, "de", 0);
        printf("child: send on a removed queue: %d %s\n", r, errname(errno));
        fflush(stdout);
        _exit(0);
    }
    usleep(100000);
    removed = msgctl(id, IPC_RMID, NULL);
    child_status(pid);
    SHOW("IPC_RMID with a sender", removed);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(30);
    if (section("sem_basics"))
        sem_basics();
    if (section("sem_wait"))
        sem_wait();
    if (section("sem_mutex"))
        sem_mutex();
    if (section("sem_undo"))
        sem_undo();
    if (section("sem_interrupt"))
        sem_interrupt();
    if (section("msg_basics"))
        msg_basics();
    if (section("msg_block"))
        msg_block();
    if (section("msg_interrupt"))
        msg_interrupt();
    return 0;
}
