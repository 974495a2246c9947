/* compat.c — differences from Linux found by the compatibility sweep (bench/compat_sweep.py): each section one area, with the calls around it. argv[1] picks a section (none: all), argv[2] the directory to work in (default /tmp). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"
#include "section.h"

static const char *base = "/tmp";

/* A fresh directory under ``base`` to work in, made the current one; NULL if none. */
static char *enter_scratch(char *buf, size_t size)
{
    snprintf(buf, size, "%s/compat-XXXXXX", base);
    if (!mkdtemp(buf) || chdir(buf) != 0) {
        printf("no directory\n");
        return NULL;
    }
    return buf;
}

/* "/", "." and ".." as the last name of a call that makes, removes or moves a name: mkdir
 * ., ln -s x ., mv . x (coreutils' messages show the errno). Linux: EEXIST for the calls
 * that make one (filename_create), EBUSY for rename, EISDIR for unlink, and rmdir's own. */
static void dot_names(void)
{
    char dir[PATH_MAX];
    if (!enter_scratch(dir, sizeof dir))
        return;
    mkdir("sub", 0755);
    close(open("f", O_WRONLY | O_CREAT, 0644));
    const char *names[] = {".", "..", "sub/.", "sub/..", "/"};
    for (int i = 0; i < 5; i++) {
        const char *n = names[i];
        char label[64];
#define TRY(what, expr) do { snprintf(label, sizeof label, "%s %s", what, n); SHOW(label, expr); } while (0)
        TRY("mkdir", mkdir(n, 0755));
        TRY("mknod fifo", mknod(n, S_IFIFO | 0644, 0));
        TRY("symlink x", symlink("x", n));
        TRY("link f", link("f", n));
        if (strcmp(n, "/") != 0) {  /* (where "/" is another mount, EXDEV comes first) */
            TRY("rename f", rename("f", n));
            TRY("rename from", rename(n, "g"));
            TRY("renameat2 noreplace f", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, n, 1));
        }
        TRY("unlink", unlink(n));
        TRY("rmdir", rmdir(n));
        TRY("open O_CREAT", open(n, O_RDONLY | O_CREAT, 0644));
        TRY("open O_CREAT|O_EXCL", open(n, O_RDONLY | O_CREAT | O_EXCL, 0644));
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strcpy(a.sun_path, n);
        TRY("bind", bind(s, (struct sockaddr *)&a, sizeof a));
        close(s);
#undef TRY
    }
    SHOW("still there: sub", access("sub", F_OK));
    SHOW("still there: f", access("f", F_OK));
    SHOW("mkdir sub/new/.", mkdir("sub/new/.", 0755));
    SHOW("mkdir nothere/..", mkdir("nothere/..", 0755));
    SHOW("rmdir f/.", rmdir("f/."));
    unlink("f");
    rmdir("sub");
    chdir("/");
    SHOW("test directory removed", rmdir(dir));
}

/* /dev/stdin (a link to /proc/self/fd/0) when fd 0 is a pipe: sort /dev/stdin, stat -L,
 * test -r. Opening it reopens the pipe, as /dev/fd/0 does. */
static void stdin_pipe(void)
{
    int p[2];
    char buf[32] = {0};
    struct stat st;
    if (pipe(p) != 0 || dup2(p[0], 0) != 0)
        return;
    write(p[1], "through the pipe", 16);
    close(p[1]);
    SHOW("stat /dev/stdin", stat("/dev/stdin", &st));
    printf("  a FIFO: %d\n", S_ISFIFO(st.st_mode));
    SHOW("lstat /dev/stdin", lstat("/dev/stdin", &st));
    printf("  a link: %d\n", S_ISLNK(st.st_mode));
    SHOW("access /dev/stdin R_OK", access("/dev/stdin", R_OK));
    SHOW("faccessat2 /dev/stdin W_OK|AT_EACCESS",
         syscall(SYS_faccessat2, AT_FDCWD, "/dev/stdin", W_OK, AT_EACCESS));
    SHOW("open /dev/stdin O_NOFOLLOW", open("/dev/stdin", O_RDONLY | O_NOFOLLOW));
    int fd = open("/dev/stdin", O_RDONLY);
    SHOW("open /dev/stdin", fd >= 3);
    SHOW("read", read(fd, buf, 7));
    printf("  [%s]\n", buf);
    SHOW("read fd 0 after it", read(0, buf, sizeof buf - 1));
    printf("  [%s]\n", buf);
    SHOW("stat /dev/fd/0", stat("/dev/fd/0", &st));
    printf("  a FIFO: %d\n", S_ISFIFO(st.st_mode));
}

/* O_PATH|O_NOFOLLOW opens a symbolic link itself (glibc's fchmodat(AT_SYMLINK_NOFOLLOW)
 * and lchmod do it, then EOPNOTSUPP for a link: tar's extraction of links, Python's
 * os.chmod(follow_symlinks=False)). */
static void opath_link(void)
{
    char dir[PATH_MAX], buf[64] = {0};
    struct stat st;
    if (!enter_scratch(dir, sizeof dir))
        return;
    mkdir("d", 0755);
    symlink("d", "ld");
    symlink("nothere", "dangling");
    int fd = open("ld", O_PATH | O_NOFOLLOW);
    SHOW("open O_PATH|O_NOFOLLOW link", fd >= 0);
    SHOW("fstat", fstat(fd, &st));
    printf("  a link: %d, size %ld\n", S_ISLNK(st.st_mode), (long)st.st_size);
    SHOW("fstatat AT_EMPTY_PATH", fstatat(fd, "", &st, AT_EMPTY_PATH));
    printf("  a link: %d\n", S_ISLNK(st.st_mode));
    SHOW("readlinkat(fd, \"\")", readlinkat(fd, "", buf, sizeof buf - 1));
    printf("  [%s]\n", buf);
    SHOW("read", read(fd, buf, 1));
    SHOW("openat(fd, x)", openat(fd, "x", O_RDONLY));
    SHOW("fchdir", fchdir(fd));
    SHOW("fcntl F_GETFL has O_PATH", (fcntl(fd, F_GETFL) & O_PATH) != 0);
    close(fd);
    fd = open("dangling", O_PATH | O_NOFOLLOW);
    SHOW("open O_PATH|O_NOFOLLOW dangling link", fd >= 0);
    close(fd);
    SHOW("open O_PATH|O_NOFOLLOW|O_DIRECTORY link", open("ld", O_PATH | O_NOFOLLOW | O_DIRECTORY));
    SHOW("open O_RDONLY|O_NOFOLLOW link", open("ld", O_RDONLY | O_NOFOLLOW));
    SHOW("fchmodat link AT_SYMLINK_NOFOLLOW", fchmodat(AT_FDCWD, "ld", 0700, AT_SYMLINK_NOFOLLOW));
    SHOW("fchmodat dir AT_SYMLINK_NOFOLLOW", fchmodat(AT_FDCWD, "d", 0700, AT_SYMLINK_NOFOLLOW));
    stat("d", &st);
    printf("  d's mode %o\n", st.st_mode & 07777);
    unlink("ld");
    unlink("dangling");
    rmdir("d");
    chdir("/");
    SHOW("test directory removed", rmdir(dir));
}

/* The name a process is known by (/proc/self/comm, ps, pgrep, top): the last part of the
 * path given to execve, not of the file it leads to (/bin/sh shows as "sh", not "dash");
 * for a #! script, the script's. */
static void comm_child(void)
{
    char name[32] = {0};
    prctl(PR_GET_NAME, name);
    FILE *f = fopen("/proc/self/comm", "r");
    char comm[32] = {0};
    if (f) {
        fgets(comm, sizeof comm, f);
        fclose(f);
    }
    comm[strcspn(comm, "\n")] = 0;
    printf("  PR_GET_NAME [%s] comm [%s]\n", name, comm);
}

static void run(const char *path, char *const argv[])
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execv(path, argv);
        printf("  exec %s: %s\n", path, errname(errno));
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
}

static void comm_names(void)
{
    char dir[PATH_MAX], self[PATH_MAX] = {0};
    if (readlink("/proc/self/exe", self, sizeof self - 1) < 0 || !enter_scratch(dir, sizeof dir))
        return;
    symlink(self, "a-renamed-program");
    symlink(self, "a-link-with-a-long-name-past-fifteen");
    FILE *script = fopen("the-script", "w");
    fprintf(script, "#!%s comm_child\n", self);
    fclose(script);
    chmod("the-script", 0755);
    char *args[] = {"argv0-is-not-it", "comm_child", NULL};
    printf("exec through a symbolic link:\n");
    run("a-renamed-program", args);
    printf("a name longer than 15 bytes:\n");
    run("./a-link-with-a-long-name-past-fifteen", args);
    printf("a #! script:\n");
    run("the-script", args);
    printf("the program's own path:\n");
    run(self, args);
    unlink("a-renamed-program");
    unlink("a-link-with-a-long-name-past-fifteen");
    unlink("the-script");
    chdir("/");
    SHOW("test directory removed", rmdir(dir));
}

/* prlimit64 on another process (prlimit --pid, Python's resource.prlimit): reads and sets
 * its limits, which the process then sees; ESRCH for no process; EPERM from a caller whose
 * ids are not the target's, without CAP_SYS_RESOURCE. */
static void prlimit_other(void)
{
    int go[2], back[2];
    struct rlimit r;
    char c;
    if (pipe(go) != 0 || pipe(back) != 0)
        return;
    pid_t child = fork();
    if (child == 0) {
        read(go[0], &c, 1);  /* wait for the parent's change */
        getrlimit(RLIMIT_NOFILE, &r);
        printf("  the child sees NOFILE %ld %ld\n", (long)r.rlim_cur, (long)r.rlim_max);
        write(back[1], "x", 1);
        _exit(0);
    }
    SHOW("prlimit(child) read", prlimit(child, RLIMIT_NOFILE, NULL, &r));
    struct rlimit mine;
    getrlimit(RLIMIT_NOFILE, &mine);
    printf("  as the parent's: %d\n", r.rlim_cur == mine.rlim_cur && r.rlim_max == mine.rlim_max);
    struct rlimit lower = {.rlim_cur = 64, .rlim_max = 128};
    SHOW("prlimit(child) set 64 128", prlimit(child, RLIMIT_NOFILE, &lower, NULL));
    SHOW("prlimit(child) read back", prlimit(child, RLIMIT_NOFILE, NULL, &r));
    printf("  %ld %ld\n", (long)r.rlim_cur, (long)r.rlim_max);
    write(go[1], "x", 1);
    read(back[0], &c, 1);
    waitpid(child, NULL, 0);
    getrlimit(RLIMIT_NOFILE, &r);
    printf("parent's own unchanged: %d\n", r.rlim_cur == mine.rlim_cur);
    SHOW("prlimit(reaped child)", prlimit(child, RLIMIT_NOFILE, NULL, &r));
    SHOW("prlimit(999999)", prlimit(999999, RLIMIT_NOFILE, NULL, &r));
    SHOW("prlimit(-5)", syscall(SYS_prlimit64, -5, RLIMIT_NOFILE, NULL, &r));
    SHOW("prlimit(0, resource 99)", syscall(SYS_prlimit64, 0, 99, NULL, &r));
    SHOW("prlimit(own pid) read", prlimit(getpid(), RLIMIT_NOFILE, NULL, &r));
    if (getuid() != 0) {
        printf("not root: no other user to try\n");
        return;
    }
    pid_t parent = getpid();
    child = fork();
    if (child == 0) {
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
            _exit(1);
        SHOW("nobody: prlimit(root's process) read", prlimit(parent, RLIMIT_NOFILE, NULL, &r));
        SHOW("nobody: prlimit(own) read", prlimit(0, RLIMIT_NOFILE, NULL, &r));
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

/* fallocate(2) on a file of a --mount'ed host directory (fallocate -l, posix_fallocate):
 * the modes tmpfs has (tests/guest/files_*.c test them there). */
static void fallocate_modes(void)
{
    char dir[PATH_MAX], buf[8] = {0};
    struct stat st;
    if (!enter_scratch(dir, sizeof dir))
        return;
    int fd = open("f", O_RDWR | O_CREAT, 0644);
    SHOW("fallocate 0..64K", fallocate(fd, 0, 0, 65536));
    fstat(fd, &st);
    printf("  size %ld\n", (long)st.st_size);
    SHOW("fallocate KEEP_SIZE to 1M", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
    fstat(fd, &st);
    printf("  size %ld\n", (long)st.st_size);
    pwrite(fd, "abcdef", 6, 0);
    SHOW("fallocate PUNCH_HOLE|KEEP_SIZE 1..3",
         fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1, 2));
    pread(fd, buf, 6, 0);
    printf("  [%c%d%d%c%c%c]\n", buf[0], buf[1], buf[2], buf[3], buf[4], buf[5]);
    SHOW("fallocate PUNCH_HOLE alone", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 1, 2));
    SHOW("posix_fallocate to 100000", -posix_fallocate(fd, 0, 100000));
    fstat(fd, &st);
    printf("  size %ld\n", (long)st.st_size);
    SHOW("fallocate length 0", fallocate(fd, 0, 0, 0));
    close(fd);
    fd = open("f", O_RDONLY);
    SHOW("fallocate read-only fd", fallocate(fd, 0, 0, 10));
    close(fd);
    unlink("f");
    chdir("/");
    SHOW("test directory removed", rmdir(dir));
}

/* ioprio_set/ioprio_get (ionice -c3 CMD, ionice -p PID): recorded (per process), inherited
 * by fork; Linux's checks of the class and level. In a session of its own, so that its
 * process group is only itself. */
static long ioprio(int set, int which, int who, int prio)
{
    return set ? syscall(SYS_ioprio_set, which, who, prio) : syscall(SYS_ioprio_get, which, who);
}

static void ioprio_calls(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) {
        waitpid(pid, NULL, 0);
        return;
    }
    setsid();
    const int IDLE = 3 << 13, BE = 2 << 13;
    SHOW("set own IDLE", ioprio(1, 1, 0, IDLE));
    SHOW("get own (IDLE)", ioprio(0, 1, 0, 0));
    SHOW("get by pid", ioprio(0, 1, getpid(), 0) == IDLE);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        SHOW("the forked child's", ioprio(0, 1, 0, 0));
        _exit(0);
    }
    waitpid(child, NULL, 0);
    SHOW("set BE level 7", ioprio(1, 1, 0, BE | 7));
    SHOW("get", ioprio(0, 1, 0, 0));
    SHOW("set BE 8 (level 0, hint 1)", ioprio(1, 1, 0, BE | 8));
    SHOW("set class 5", ioprio(1, 1, 0, 5 << 13));
    SHOW("set NONE level 1", ioprio(1, 1, 0, 1));
    SHOW("set NONE", ioprio(1, 1, 0, 0));
    SHOW("get after NONE", ioprio(0, 1, 0, 0));
    SHOW("set which 0", ioprio(1, 0, 0, BE));
    SHOW("get which 4", ioprio(0, 4, 0, 0));
    SHOW("set pid 999999", ioprio(1, 1, 999999, BE));
    SHOW("get pid -3", ioprio(0, 1, -3, 0));
    SHOW("set own process group BE 3", ioprio(1, 2, 0, BE | 3));
    SHOW("get own process group", ioprio(0, 2, 0, 0) == (BE | 3));
    SHOW("get process group 999999", ioprio(0, 2, 999999, 0));
    _exit(0);
}

/* select and pselect6 after a signal, a timeout and a bad fd (cmake's process runner,
 * kwsys, calls pselect again with the fd_set an EINTR left: it hung when the sets came
 * back cleared). Linux writes the sets back only on success or a timeout (core_sys_select:
 * an error leaves them as they were); select is not restarted after a handler, even an
 * SA_RESTART one. */
static void on_usr1(int sig)
{
    (void)sig;
}

static void select_sets(void)
{
    int data[2], idle[2];
    if (pipe(data) != 0 || pipe(idle) != 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    fflush(stdout);
    pid_t parent = getpid(), child = fork();
    if (child == 0) {  /* a signal while the parent waits, then data */
        usleep(200000);
        kill(parent, SIGUSR1);
        usleep(200000);
        if (write(data[1], "x", 1) != 1)
            _exit(1);
        _exit(0);
    }
    int nfds = (data[0] > idle[0] ? data[0] : idle[0]) + 1;
    fd_set r;
    FD_ZERO(&r);
    FD_SET(data[0], &r);
    FD_SET(idle[0], &r);
    SHOW("pselect, a handler runs (SA_RESTART)", pselect(nfds, &r, NULL, NULL, NULL, NULL));
    printf("  the set kept: data %d idle %d\n", FD_ISSET(data[0], &r), FD_ISSET(idle[0], &r));
    struct timespec enough = {5, 0};  /* (a bound: the data is there before it ends) */
    SHOW("pselect again with that set", pselect(nfds, &r, NULL, NULL, &enough, NULL));
    printf("  ready: data %d idle %d\n", FD_ISSET(data[0], &r), FD_ISSET(idle[0], &r));
    waitpid(child, NULL, 0);

    FD_ZERO(&r);
    FD_SET(idle[0], &r);
    struct timeval tv = {0, 50000};
    SHOW("select, nothing comes", select(idle[0] + 1, &r, NULL, NULL, &tv));
    printf("  the set cleared: idle %d\n", FD_ISSET(idle[0], &r));

    int closed = dup(idle[0]);
    close(closed);
    fd_set w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(data[0], &r);
    FD_SET(closed, &r);
    FD_SET(data[1], &w);
    int top = (closed > data[1] ? closed : data[1]) + 1;
    SHOW("select with a closed fd", select(top, &r, &w, NULL, NULL));
    printf("  the sets kept: %d %d %d\n", FD_ISSET(data[0], &r), FD_ISSET(closed, &r),
           FD_ISSET(data[1], &w));
}

/* shmctl IPC_INFO, SHM_INFO and SHM_STAT: ipcs, without /proc/sysvipc, walks the slots up
 * to SHM_INFO's answer with SHM_STAT (it listed no segment: SHM_INFO was EINVAL). The
 * host's other segments count too when run natively: only what holds on any machine is
 * printed. */
static int same_as_sysctl(unsigned long value, const char *name)
{
    char path[64], text[32] = "";
    snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(text, sizeof text, f) != NULL && strtoul(text, NULL, 10) == value;
    fclose(f);
    return ok;
}

static void shm_info(void)
{
    int id = shmget(IPC_PRIVATE, 3 * 4096 + 1, IPC_CREAT | 0600);
    SHOW("shmget", id >= 0);
    struct shminfo si;
    int top = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
    SHOW("IPC_INFO: the highest slot in use, ours or above", top >= id % 32768);
    printf("  shmmin %lu; shmmax, shmmni, shmall as in /proc/sys/kernel: %d %d %d; "
           "shmseg = shmmni: %d\n", si.shmmin, same_as_sysctl(si.shmmax, "shmmax"),
           same_as_sysctl(si.shmmni, "shmmni"), same_as_sysctl(si.shmall, "shmall"),
           si.shmseg == si.shmmni);
    struct shm_info info;
    SHOW("SHM_INFO: the same slot", shmctl(0, SHM_INFO, (struct shmid_ds *)&info) == top);
    printf("  used_ids >= 1: %d, shm_tot >= 4 pages: %d\n", info.used_ids >= 1,
           info.shm_tot >= 4);
    int found = 0;
    for (int slot = 0; slot <= top; slot++) {
        struct shmid_ds ds;
        if (shmctl(slot, SHM_STAT, &ds) == id)
            found = (int)ds.shm_segsz;
    }
    printf("SHM_STAT over the slots finds ours, size %d\n", found);
    SHOW("SHM_STAT past the highest slot", shmctl(top + 1, SHM_STAT, &(struct shmid_ds){0}));
    SHOW("SHM_INFO to NULL", shmctl(0, SHM_INFO, NULL));
    SHOW("IPC_RMID", shmctl(id, IPC_RMID, NULL));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    if (argc > 2)
        base = argv[2];
    if (only && strcmp(only, "comm_child") == 0) {
        comm_child();
        return 0;
    }
    if (section("dot_names"))
        dot_names();
    if (section("stdin_pipe"))
        stdin_pipe();
    if (section("opath_link"))
        opath_link();
    if (section("comm"))
        comm_names();
    if (section("prlimit_other"))
        prlimit_other();
    if (section("fallocate_modes"))
        fallocate_modes();
    if (section("ioprio"))
        ioprio_calls();
    if (section("select_sets"))
        select_sets();
    if (section("shm_info"))
        shm_info();
    return 0;
}
