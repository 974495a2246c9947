/* oldcalls.c — older calls programs still make: utime, utimes, futimesat (the times they
   set, now, their errors), ioprio_get and ioprio_set (ionice: classes, levels, who,
   inheritance, errors), fsync and fdatasync of each kind of file, the *at calls given an
   absolute path and a bad dirfd (ignored, as Linux), execveat. argv[1] picks a section:
   utimes | ioprio | fsync | at | execveat. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "errname.h"

static void report(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errname(errno));
    else
        printf("%s: %ld\n", what, r);
    errno = 0;
}

static void times_of(const char *what, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("%s: stat %s\n", what, errname(errno));
        return;
    }
    printf("%s: atime %lld.%09ld mtime %lld.%09ld\n", what, (long long)st.st_atime,
           st.st_atim.tv_nsec, (long long)st.st_mtime, st.st_mtim.tv_nsec);
}

static void near_now(const char *what, const char *path)
{
    struct stat st;
    stat(path, &st);
    time_t now = time(NULL);
    printf("%s: both within 5 s of now: %d\n", what,
           labs(st.st_atime - now) <= 5 && labs(st.st_mtime - now) <= 5);
}

static void section_utimes(void)
{
    char dir[] = "/tmp/oldcalls.XXXXXX";
    if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
        return;
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));

    struct utimbuf ub = {.actime = 1000000000, .modtime = 1234567890};
    report("utime(f, times)", syscall(SYS_utime, path, &ub));
    times_of("after utime", path);
    report("utime(f, NULL)", syscall(SYS_utime, path, NULL));
    near_now("after utime(NULL)", path);
    report("utime(missing)", syscall(SYS_utime, "/tmp/oldcalls-missing/x", &ub));
    report("utime(f, bad times)", syscall(SYS_utime, path, (void *)8));

    struct timeval tv[2] = {{1100000000, 250000}, {1200000000, 999999}};
    report("utimes(f, times)", syscall(SYS_utimes, path, tv));
    times_of("after utimes", path);
    struct timeval bad[2] = {{1, 1000000}, {2, 0}};
    report("utimes(f, usec 1000000)", syscall(SYS_utimes, path, bad));
    struct timeval neg[2] = {{1, -1}, {2, 0}};
    report("utimes(f, usec -1)", syscall(SYS_utimes, path, neg));
    report("utimes(f, NULL)", syscall(SYS_utimes, path, NULL));
    near_now("after utimes(NULL)", path);
    report("utimes(NULL path)", syscall(SYS_utimes, NULL, tv));

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct timeval tv2[2] = {{1300000000, 1}, {1400000000, 2}};
    report("futimesat(dir, f, times)", syscall(SYS_futimesat, dfd, "f", tv2));
    times_of("after futimesat", path);
    int fd = open(path, O_RDONLY);
    struct timeval tv3[2] = {{1500000000, 3}, {1600000000, 4}};
    report("futimesat(fd, NULL, times)", syscall(SYS_futimesat, fd, NULL, tv3));
    times_of("after futimesat on the fd", path);
    report("futimesat(AT_FDCWD, NULL)", syscall(SYS_futimesat, AT_FDCWD, NULL, tv3));
    report("futimesat(99, f)", syscall(SYS_futimesat, 99, "f", tv3));
    close(fd);
    close(dfd);

    /* not the owner: explicit times need ownership, now needs write access */
    if (geteuid() == 0) {
        chmod(path, 0666);
        pid_t pid = fork();
        if (pid == 0) {
            if (setresuid(1000, 1000, 1000) < 0)
                _exit(2);
            report("as another user: utimes(f, times)", syscall(SYS_utimes, path, tv));
            report("as another user: utimes(f, NULL) on a writable file",
                   syscall(SYS_utimes, path, NULL));
            chmod(path, 0644); /* fails: not the owner */
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        chmod(path, 0644);
        pid = fork();
        if (pid == 0) {
            if (setresuid(1000, 1000, 1000) < 0)
                _exit(2);
            report("as another user: utime(f, NULL) on a read-only file",
                   syscall(SYS_utime, path, NULL));
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    unlink(path);
    rmdir(dir);
}

#define IOPRIO_CLASS_SHIFT 13
#define PRIO(class, data) (((class) << IOPRIO_CLASS_SHIFT) | (data))
enum { WHO_PROCESS = 1, WHO_PGRP = 2, WHO_USER = 3 };

static void show(const char *what, long v)
{
    if (v < 0)
        printf("%s: -1 %s\n", what, errname(errno));
    else
        printf("%s: class %ld data %ld\n", what, v >> IOPRIO_CLASS_SHIFT,
               v & ((1 << IOPRIO_CLASS_SHIFT) - 1));
    errno = 0;
}

static void ioprio_body(void);

static void section_ioprio(void)
{
    /* in a child in its own process group (a session leader, as init is, cannot make
       one), so that the group calls touch nothing else; a user's would reach every
       process of the user, the host's too: only ESRCH is tried */
    pid_t pid = fork();
    if (pid == 0) {
        if (setpgid(0, 0) < 0)
            _exit(2);
        ioprio_body();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("section child exited with %d\n", WEXITSTATUS(status));
}

static void ioprio_body(void)
{
    show("get(process, 0) at start", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
    report("set(process, 0, best-effort 7)", syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(2, 7)));
    show("get(process, 0)", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
    show("get(process, getpid())", syscall(SYS_ioprio_get, WHO_PROCESS, getpid()));
    report("set(process, 0, idle)", syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(3, 0)));
    show("get after idle", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
    report("set(best-effort 8)", syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(2, 8)));
    show("get after best-effort 8 (level 0, a hint)", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
    report("set(bit 16 | best-effort)", syscall(SYS_ioprio_set, WHO_PROCESS, 0, 0x10000 | PRIO(2, 4)));
    show("get after bit 16", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
    report("set(none, 8)", syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(0, 8)));
    show("get after none 8", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
    report("set(none, 1)", syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(0, 1)));
    report("set(class 5)", syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(5, 0)));
    report("set(which 0)", syscall(SYS_ioprio_set, 0, 0, PRIO(2, 4)));
    report("get(which 4)", syscall(SYS_ioprio_get, 4, 0));
    report("get(process, 999999)", syscall(SYS_ioprio_get, WHO_PROCESS, 999999));
    report("set(process, 999999)", syscall(SYS_ioprio_set, WHO_PROCESS, 999999, PRIO(2, 4)));
    report("set(realtime 0) as root", syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(1, 0)));
    show("get after realtime", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
    report("set(best-effort 3)", syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(2, 3)));
    int ready[2], go[2];
    if (pipe(ready) < 0 || pipe(go) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        show("child inherits", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
        syscall(SYS_ioprio_set, WHO_PROCESS, 0, PRIO(2, 6));
        if (write(ready[1], "x", 1) != 1)
            _exit(2);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        show("child after its parent set it", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
        if (setresuid(1000, 1000, 1000) == 0)
            report("child as another user: set(parent)",
                   syscall(SYS_ioprio_set, WHO_PROCESS, getppid(), PRIO(2, 7)));
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        return;
    show("parent: get(child)", syscall(SYS_ioprio_get, WHO_PROCESS, pid));
    show("parent: get(pgrp 0), best of the group",
         syscall(SYS_ioprio_get, WHO_PGRP, 0));
    report("parent: set(child, best-effort 1)",
           syscall(SYS_ioprio_set, WHO_PROCESS, pid, PRIO(2, 1)));
    if (write(go[1], "x", 1) != 1)
        return;
    waitpid(pid, NULL, 0);
    report("set(pgrp 0, best-effort 5)", syscall(SYS_ioprio_set, WHO_PGRP, 0, PRIO(2, 5)));
    show("get after pgrp set", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
    report("set(user 54321)", syscall(SYS_ioprio_set, WHO_USER, 54321, PRIO(2, 2)));
    show("get(user 54321)", syscall(SYS_ioprio_get, WHO_USER, 54321));
    pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "oldcalls", "ioprio-exec", (char *)NULL);
        _exit(3);
    }
    waitpid(pid, NULL, 0);
}

static void syncs(const char *what, int fd)
{
    char line[128];
    snprintf(line, sizeof line, "%s: fsync", what);
    report(line, fsync(fd));
    snprintf(line, sizeof line, "%s: fdatasync", what);
    report(line, fdatasync(fd));
}

static void ranges(const char *what, int fd)
{
    char line[128];
    snprintf(line, sizeof line, "%s: syncfs", what);
    report(line, syscall(SYS_syncfs, fd));
    snprintf(line, sizeof line, "%s: sync_file_range", what);
    report(line, sync_file_range(fd, 0, 4096, SYNC_FILE_RANGE_WRITE));
}

static void section_fsync(void)
{
    int p[2], s[2];
    if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        return;
    syncs("pipe read end", p[0]);
    syncs("pipe write end", p[1]);
    syncs("socket", s[0]);
    syncs("/dev/null", open("/dev/null", O_RDWR));
    syncs("/dev/zero", open("/dev/zero", O_RDONLY));
    syncs("eventfd", eventfd(0, 0));
    syncs("directory /", open("/", O_RDONLY | O_DIRECTORY));
    syncs("regular file, read-only", open("/etc/passwd", O_RDONLY));
    syncs("O_PATH", open("/etc/passwd", O_PATH));
    syncs("memfd", memfd_create("x", 0));
    syncs("closed fd", 99);
    int dir = open("/", O_RDONLY | O_DIRECTORY), reg = open("/etc/passwd", O_RDONLY);
    ranges("pipe", p[0]);
    ranges("socket", s[0]);
    ranges("/dev/null", open("/dev/null", O_RDWR));
    ranges("directory", dir);
    ranges("regular file", reg);
    ranges("O_PATH", open("/etc/passwd", O_PATH));
    ranges("closed fd", 99);
    report("sync_file_range(flags 8)", sync_file_range(reg, 0, 1, 8));
    report("sync_file_range(offset -1)", sync_file_range(reg, -1, 1, 0));
    report("sync_file_range(nbytes -1)", sync_file_range(reg, 0, -1, 0));
    report("sync_file_range(overflow)", sync_file_range(reg, 1LL << 62, 1LL << 62, 0));
    report("sync_file_range(0, 0: to the end)", sync_file_range(reg, 0, 0, 7));
    report("sync_file_range(closed fd, flags 8)", sync_file_range(99, 0, 1, 8));
    report("sync_file_range(pipe, flags 8)", sync_file_range(p[0], 0, 1, 8));
}

static void section_at(void)
{
    char dir[] = "/tmp/oldcalls-at.XXXXXX";
    if (!mkdtemp(dir))
        return;
    char a[64], b[64], c[64];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    int file = open("/etc/passwd", O_RDONLY);
    int bads[2] = {99, file};
    const char *names[2] = {"closed fd", "a file's fd"};
    for (int i = 0; i < 2; i++) {
        int d = bads[i];
        char line[96];
        printf("-- dirfd: %s\n", names[i]);
        report("openat", openat(d, "/etc/passwd", O_RDONLY) >= 0 ? 0 : -1);
        struct stat st;
        report("fstatat", fstatat(d, "/etc/passwd", &st, 0));
        report("faccessat", faccessat(d, "/etc/passwd", R_OK, 0));
        report("mkdirat", mkdirat(d, a, 0755));
        report("renameat", renameat(d, a, d, b));
        report("symlinkat", symlinkat("/etc/passwd", d, c));
        char target[64] = "";
        snprintf(line, sizeof line, "readlinkat (%d bytes)",
                 (int)readlinkat(d, c, target, sizeof target));
        report(line, 0);
        report("fchmodat", fchmodat(d, b, 0700, 0));
        report("fchownat", fchownat(d, b, 0, 0, 0));
        report("utimensat", utimensat(d, b, NULL, 0));
        report("linkat", linkat(d, c, d, a, 0));
        report("unlinkat a", unlinkat(d, a, 0));
        report("unlinkat c", unlinkat(d, c, 0));
        report("unlinkat b (a directory)", unlinkat(d, b, AT_REMOVEDIR));
        report("mknodat fifo", mknodat(d, a, S_IFIFO | 0600, 0));
        report("unlinkat fifo", unlinkat(d, a, 0));
        report("relative name: openat", openat(d, "x", O_RDONLY));
    }
    close(file);
    rmdir(dir);
}

static void section_execveat(char *self)
{
    char path[4096];
    if (!realpath(self, path))
        return;
    int fd = open(path, O_RDONLY), cfd = open(path, O_RDONLY | O_CLOEXEC);
    char dir[4096];
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    *slash = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    char link[64], script[64];
    snprintf(link, sizeof link, "/tmp/oldcalls-link-%d", getpid());
    snprintf(script, sizeof script, "/tmp/oldcalls-script-%d", getpid());
    if (symlink(path, link) < 0)
        return;
    FILE *s = fopen(script, "w");
    fprintf(s, "#!/bin/sh\necho \"script: \\$0 is [$0], comm [$(cat /proc/$$/comm)]\"\n");
    fclose(s);
    chmod(script, 0755);
    int sfd = open(script, O_RDONLY), scfd = open(script, O_RDONLY | O_CLOEXEC);
    struct { const char *what; int dirfd; const char *name; int flags; } cases[] = {
        {"fd, empty path, AT_EMPTY_PATH", fd, "", AT_EMPTY_PATH},
        {"close-on-exec fd, AT_EMPTY_PATH", cfd, "", AT_EMPTY_PATH},
        {"fd, empty path, no flag", fd, "", 0},
        {"bad flags", AT_FDCWD, path, 4},
        {"directory fd, relative name", dfd, slash + 1, 0},
        {"closed fd, relative name", 99, slash + 1, 0},
        {"closed fd, absolute name", 99, path, 0},
        {"a file's fd, relative name", fd, "x", 0},
        {"symbolic link, AT_SYMLINK_NOFOLLOW", AT_FDCWD, link, AT_SYMLINK_NOFOLLOW},
        {"a pipe's fd, AT_EMPTY_PATH", -2, "", AT_EMPTY_PATH},
        {"script by fd", sfd, "", AT_EMPTY_PATH},
        {"script by a close-on-exec fd", scfd, "", AT_EMPTY_PATH},
    };
    int p[2];
    if (pipe(p) < 0)
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {path, "execveat-child", (char *)cases[i].what, NULL};
            char *env[] = {NULL};
            int d = cases[i].dirfd == -2 ? p[0] : cases[i].dirfd;
            syscall(SYS_execveat, d, cases[i].name, args, env, cases[i].flags);
            report(cases[i].what, -1);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    unlink(link);
    unlink(script);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "execveat-child") && argc > 2) {
        char comm[32] = "";
        FILE *f = fopen("/proc/self/comm", "r");
        if (f) {
            if (!fgets(comm, sizeof comm, f))
                comm[0] = 0;
            fclose(f);
        }
        comm[strcspn(comm, "\n")] = 0;
        printf("%s: ran, comm [%s]\n", argv[2], comm);
        return 0;
    }
    if (!strcmp(argv[1], "ioprio-exec")) {
        show("after exec", syscall(SYS_ioprio_get, WHO_PROCESS, 0));
        return 0;
    }
    printf("== %s\n", argv[1]);
    if (!strcmp(argv[1], "utimes"))
        section_utimes();
    else if (!strcmp(argv[1], "ioprio"))
        section_ioprio();
    else if (!strcmp(argv[1], "fsync"))
        section_fsync();
    else if (!strcmp(argv[1], "at"))
        section_at();
    else if (!strcmp(argv[1], "execveat"))
        section_execveat(argv[0]);
    else
        return 2;
    return 0;
}
