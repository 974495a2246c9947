/* sysv_shm.c — System V shared memory: shmget by key and IPC_PRIVATE, attach in a forked child and at a fixed address, read-only attaches, IPC_STAT counts and times, IPC_SET, IPC_RMID keeping the segment until the last detach, errors (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static void show_stat(const char *label, int id)
{
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    printf("%s: size %zu, attached %lu, mode %o, creator us: %d, dest: %d\n", label,
           (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777,
           ds.shm_cpid == getpid(), (ds.shm_perm.mode & SHM_DEST) != 0);
}

static void basics(void)
{
    key_t key = 0x5c000000 | (getpid() & 0xFFFFFF);
    int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
    printf("shmget: %s\n", id >= 0 ? "ok" : errname(errno));
    show_stat("new", id);
    printf("same key again: %s\n", shmget(key, 5000, 0600) == id ? "same id" : errname(errno));
    SHOW("IPC_EXCL again", shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600));
    SHOW("bigger than it", shmget(key, 20000, 0600));
    char *p = shmat(id, NULL, 0);
    printf("shmat: %s, zeroed: %d\n", p == (void *)-1 ? errname(errno) : "ok",
           p[0] == 0 && p[9999] == 0);
    strcpy(p, "parent");
    show_stat("attached once", id);
    pid_t pid = fork();
    if (pid == 0) {
        char *q = shmat(id, NULL, 0);
        printf("child sees: [%s]\n", q);
        strcpy(q + 100, "child");
        strcpy(p, "inherited attach");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("parent sees: [%s] [%s]\n", p, p + 100);
    show_stat("after the child", id);
    SHOW("shmdt", shmdt(p));
    SHOW("shmdt again", shmdt(p));
    show_stat("detached", id);
    char *r = shmat(id, NULL, SHM_RDONLY);
    printf("read-only attach sees: [%s]\n", r);
    pid = fork();
    if (pid == 0) {
        r[0] = 'X';  /* SIGSEGV */
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("writing a read-only attach: killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    shmdt(r);
    SHOW("IPC_RMID", shmctl(id, IPC_RMID, NULL));
    SHOW("key gone", shmget(key, 10000, 0600));
}

static void removal(void)
{
    int id = shmget(IPC_PRIVATE, 4096, 0640);
    char *p = shmat(id, NULL, 0);
    strcpy(p, "still here");
    SHOW("IPC_RMID while attached", shmctl(id, IPC_RMID, NULL));
    show_stat("removed, attached", id);
    printf("contents: [%s]\n", p);
    shmdt(p);
    show_stat("after the last detach", id);

    id = shmget(IPC_PRIVATE, 4096, 0600);
    p = shmat(id, NULL, 0);
    shmctl(id, IPC_RMID, NULL);
    munmap(p, 4096);
    show_stat("after munmap of the last attach", id);
}

static void fixed(void)
{
    int id = shmget(IPC_PRIVATE, 8192, 0600);
    char *busy = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *area = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area, 4 * 4096);
    char *p = shmat(id, area, 0);
    printf("at the given address: %s\n", p == area ? "yes" : "no");
    char *q = shmat(id, area + 4096 + 1, SHM_RND);
    printf("SHM_RND rounds down: %s\n", q == (void *)-1 ? errname(errno) : q == area + 4096 ? "yes" : "no");
    char *u = shmat(id, area + 1, 0);
    printf("unaligned: %s\n", u == (void *)-1 ? errname(errno) : "attached");
    char *o = shmat(id, busy, 0);
    printf("over a mapping: %s\n", o == (void *)-1 ? errname(errno) : "attached");
    o = shmat(id, busy, SHM_REMAP);
    printf("with SHM_REMAP: %s\n", o == busy ? "yes" : errname(errno));
    p[5] = 'z';
    printf("the two attaches share: %c\n", o == busy ? o[5] : '?');
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    printf("attached: %lu\n", (unsigned long)ds.shm_nattch);
    ds.shm_perm.mode = 0604;
    SHOW("IPC_SET", shmctl(id, IPC_SET, &ds));
    show_stat("mode set", id);
    shmctl(id, IPC_RMID, NULL);
}

static void errors(void)
{
    SHOW("size 0", shmget(IPC_PRIVATE, 0, 0600));
    SHOW("missing key", shmget(0x7eadbeef, 4096, 0600));
    void *p = shmat(-1, NULL, 0);
    printf("shmat bad id: %s\n", p == (void *)-1 ? errname(errno) : "attached");
    SHOW("shmctl bad id", shmctl(123456, IPC_STAT, NULL));
    int id = shmget(IPC_PRIVATE, 4096, 0600);
    SHOW("shmctl bad command", shmctl(id, 99, NULL));
    SHOW("IPC_STAT bad buffer", shmctl(id, IPC_STAT, (struct shmid_ds *)8));
    SHOW("shmdt of nothing", shmdt((void *)0x10000));
    shmctl(id, IPC_RMID, NULL);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (section("basics"))
        basics();
    if (section("removal"))
        removal();
    if (section("fixed"))
        fixed();
    if (section("errors"))
        errors();
    return 0;
}
