/* /proc's files as programs parse them: argv[1] picks a section. Each prints shapes,
 * field counts, file types and relations that hold on Linux and CloudOS alike (the
 * values themselves differ by nature). Run from a fresh directory of its own. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <grp.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    size_t got = 0;
    ssize_t n = 0;
    while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0) got += n;
    int e = errno;
    close(fd);
    if (n < 0) return -e;
    buf[got] = 0;
    return (int)got;
}

static const char *ename(int e) {
    return e == EACCES ? "EACCES" : e == ENOENT ? "ENOENT" : e == EPERM ? "EPERM" :
           e == EINVAL ? "EINVAL" : e == ENOTDIR ? "ENOTDIR" : e == 0 ? "0" : "E?";
}

static void section_loadavg(void) {
    char buf[256];
    slurp("/proc/loadavg", buf, sizeof buf);
    double a, b, c;
    int running, total, last;
    char nl;
    int n = sscanf(buf, "%lf %lf %lf %d/%d %d%c", &a, &b, &c, &running, &total, &last, &nl);
    printf("loadavg: %d fields, a newline %d\n", n, nl == '\n');
    printf("averages >= 0: %d, two decimals: %d\n", a >= 0 && b >= 0 && c >= 0,
           strchr(buf, '.')[3] == ' ');
    printf("running >= 1 (we are): %d, total >= running: %d, last pid >= ours: %d\n",
           running >= 1, total >= running, last >= getpid());
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    slurp("/proc/loadavg", buf, sizeof buf);
    sscanf(buf, "%lf %lf %lf %d/%d %d", &a, &b, &c, &running, &total, &last);
    printf("last pid after a fork is at least the child's: %d\n", last >= child);
}

static long field(const char *text, const char *key) {
    const char *p = strstr(text, key);
    return p ? atol(p + strlen(key)) : -1;
}

static void section_vmstat(void) {
    static char buf[65536];
    slurp("/proc/vmstat", buf, sizeof buf);
    static const char *KEYS[] = {"\nnr_free_pages ", "\npgpgin ", "\npgpgout ", "\npswpin ",
                                 "\npswpout ", "\npgfault ", "\npgmajfault ", NULL};
    char text[65540] = "\n";
    strcat(text, buf);
    for (const char **k = KEYS; *k; k++)
        printf("vmstat has %.*s: %d\n", (int)strlen(*k) - 2, *k + 1, field(text, *k) >= 0);
    int lines = 0, bad = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        char name[64];
        long long v;
        bad += sscanf(line, "%63s %lld", name, &v) != 2;
    }
    printf("every line \"name number\": %d\n", lines > 5 && bad == 0);
    slurp("/proc/meminfo", buf, sizeof buf);
    static const char *MEM[] = {"MemTotal:", "MemFree:", "MemAvailable:", "Buffers:",
                                "Cached:", "SwapTotal:", "SwapFree:", NULL};
    for (const char **k = MEM; *k; k++)
        printf("meminfo has %s %d\n", *k, strstr(buf, *k) != NULL);
    slurp("/proc/stat", buf, sizeof buf);
    static const char *STAT[] = {"cpu ", "\nintr ", "\nctxt ", "\nbtime ", "\nprocesses ",
                                 "\nprocs_running ", "\nprocs_blocked ", NULL};
    for (const char **k = STAT; *k; k++)
        printf("stat has %.*s: %d\n", (int)strlen(*k) - 1 - (**k == '\n'), *k + (**k == '\n'),
               strstr(buf, *k) != NULL);
    printf("procs_running >= 1: %d\n", field(buf, "\nprocs_running ") >= 1);
    long btime = field(buf, "\nbtime ");
    printf("btime in the past: %d\n", btime > 0 && btime <= time(NULL));
}

/* The fields of /proc/<pid>/stat after the ")" of comm (field 3 onwards) */
static int stat_fields(const char *path, long long *out, int max) {
    char buf[1024];
    if (slurp(path, buf, sizeof buf) <= 0) return -1;
    char *p = strrchr(buf, ')');
    int n = 0;
    for (p += 2; *p && n < max; n++) {
        if (n == 0) { out[n] = *p; p += 2; continue; }  /* the state letter */
        out[n] = strtoll(p, &p, 10);
        while (*p == ' ' || *p == '\n') p++;
    }
    return n + 2;
}

static void section_start(void) {
    long long f[64], g[64];
    int n = stat_fields("/proc/self/stat", f, 64);
    printf("stat: %d fields\n", n);
    char up[64];
    slurp("/proc/uptime", up, sizeof up);
    double uptime = atof(up);
    long hz = sysconf(_SC_CLK_TCK);
    long long start = f[22 - 3];
    printf("starttime (field 22) within the uptime: %d\n", start >= 0 && start <= uptime * hz + 1);
    struct timespec pause = {0, 120 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int pipefd[2];
    pipe(pipefd);
    pid_t child = fork();
    if (child == 0) { char c; read(pipefd[0], &c, 1); _exit(0); }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", child);
    stat_fields(path, g, 64);
    printf("the child started after us: %d, by at least 0.1 s: %d\n", g[22 - 3] >= start,
           g[22 - 3] - start >= hz / 10);
    printf("child's ppid is us: %d\n", g[4 - 3] == getpid());
    write(pipefd[1], "x", 1);
    waitpid(child, NULL, 0);
}

int main(int argc, char **argv);

/* stat's fields past 25: addresses of the program's areas, signals, scheduling, exit */
static void section_stat(int argc, char **argv) {
    (void)argc;
    long long f[64];
    int n = stat_fields("/proc/self/stat", f, 64);
    unsigned long code0 = f[26 - 3], code1 = f[27 - 3], main_at = (unsigned long)main;
    printf("%d fields; startcode <= main < endcode: %d\n", n, code0 <= main_at && main_at < code1);
    static int data_word = 1;
    printf("start_data <= a static variable < end_data: %d\n",
           (unsigned long)f[45 - 3] <= (unsigned long)&data_word &&
           (unsigned long)&data_word < (unsigned long)f[46 - 3]);
    printf("start_brk <= the break: %d\n", (unsigned long)f[47 - 3] <= (unsigned long)sbrk(0));
    printf("arg_start is argv[0]: %d, arg_end is env_start: %d, env_start is environ[0]: %d, "
           "env_end above: %d\n", (char *)f[48 - 3] == argv[0], f[49 - 3] == f[50 - 3],
           (char *)f[50 - 3] == environ[0], f[51 - 3] > f[50 - 3]);
    printf("exit_signal %lld, rt_priority %lld, policy %lld, exit_code %lld\n", f[38 - 3],
           f[40 - 3], f[41 - 3], f[52 - 3]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGUSR2, SIG_IGN);
    stat_fields("/proc/self/stat", f, 64);
    printf("blocked %lld, ignored %lld\n", f[32 - 3], f[33 - 3]);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) _exit(3);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", child);
    stat_fields(path, f, 64);
    printf("a zombie: state %c, exit_code %lld\n", (char)f[0], f[52 - 3]);
    waitpid(child, NULL, 0);
    pid_t parent = getpid();
    fflush(stdout);
    if (fork() == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(9);
        snprintf(path, sizeof path, "/proc/%d/stat", parent);
        stat_fields(path, f, 64);
        printf("as nobody, the parent's startcode %lld, env_start %lld\n", f[26 - 3],
               f[50 - 3]);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
}

static void section_environ(void) {
    char buf[8192], expect[8192];
    int n = slurp("/proc/self/environ", buf, sizeof buf), len = 0;
    for (char **e = environ; *e; e++) {
        memcpy(expect + len, *e, strlen(*e) + 1);
        len += strlen(*e) + 1;
    }
    printf("environ is our initial environment: %d (lengths equal %d, NUL-ended %d)\n",
           n == len && memcmp(buf, expect, len) == 0, n == len, n > 0 && buf[n - 1] == 0);
    setenv("PROC_FILES_LATER", "1", 1);
    n = slurp("/proc/self/environ", buf, sizeof buf);
    printf("setenv does not change it: %d\n", memmem(buf, n, "PROC_FILES_LATER", 16) == NULL);
    struct stat st;
    stat("/proc/self/environ", &st);
    printf("environ: mode 0%o, owner is us %d\n", st.st_mode & 07777, st.st_uid == getuid());
    pid_t parent = getpid();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", parent);
        printf("the child (same user) reads ours: %d\n", slurp(path, buf, sizeof buf) == len);
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(9);
        printf("as nobody: %s\n", ename(-slurp(path, buf, sizeof buf)));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));
}

static pthread_barrier_t gate;

static void *thread_main(void *arg) {
    (void)arg;
    pthread_barrier_wait(&gate);
    pthread_barrier_wait(&gate);
    return NULL;
}

static void section_task(void) {
    pthread_t th[2];
    pthread_barrier_init(&gate, NULL, 3);
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, thread_main, NULL);
    pthread_barrier_wait(&gate);
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int tasks = 0, main_seen = 0, dirs = 0, good = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        tasks++;
        int tid = atoi(e->d_name);
        main_seen |= tid == getpid();
        dirs += e->d_type == DT_DIR;
        char path[128], buf[4096];
        long long f[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
        int n = stat_fields(path, f, 64);
        slurp(path, buf, sizeof buf);
        int pid_ok = atoi(buf) == tid;
        snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
        slurp(path, buf, sizeof buf);
        char want[64];
        snprintf(want, sizeof want, "\nPid:\t%d\n", tid);
        int status_ok = strstr(buf, want) != NULL;
        snprintf(want, sizeof want, "\nTgid:\t%d\n", getpid());
        status_ok &= strstr(buf, want) != NULL;
        char comm[64];
        slurp("/proc/self/comm", comm, sizeof comm);
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
        slurp(path, buf, sizeof buf);
        good += n == 52 && pid_ok && status_ok && strcmp(buf, comm) == 0;
    }
    closedir(d);
    printf("task/: %d threads, the main thread's tid is the pid %d, directories %d\n", tasks,
           main_seen, dirs);
    printf("task/TID/stat names the tid, status its Pid and Tgid: %d of %d\n", good, tasks);
    long long f[64];
    printf("stat's num_threads (field 20): %lld\n", (stat_fields("/proc/self/stat", f, 64),
                                                     f[20 - 3]));
    char none[64];
    printf("task/999999 (no thread of ours): %s\n",
           ename(-slurp("/proc/self/task/999999/stat", none, sizeof none)));
    pthread_barrier_wait(&gate);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
}

static void section_ns(void) {
    static const char *NS[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                               "time", "time_for_children", "user", "uts", NULL};
    for (const char **ns = NS; *ns; ns++) {
        char path[64], link[64], kind[32];
        snprintf(path, sizeof path, "/proc/self/ns/%s", *ns);
        ssize_t n = readlink(path, link, sizeof link - 1);
        link[n > 0 ? n : 0] = 0;
        unsigned long ino = 0;
        int shaped = sscanf(link, "%31[a-z]:[%lu]", kind, &ino) == 2;
        struct stat st, lst;
        int same = stat(path, &st) == 0 && st.st_ino == ino;
        lstat(path, &lst);
        printf("ns/%s: a link %d, \"%s:[N]\" %d, stat's inode is N %d\n", *ns,
               S_ISLNK(lst.st_mode), kind, shaped, same);
    }
    char a[64] = {0}, b[64] = {0}, path[64];
    readlink("/proc/self/ns/uts", a, sizeof a);
    fflush(stdout);
    pid_t parent = getpid();
    if (fork() == 0) {
        snprintf(path, sizeof path, "/proc/%d/ns/uts", parent);
        readlink(path, b, sizeof b);
        printf("a child sees its parent's uts namespace: %d\n", strcmp(a, b) == 0);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
}

static int mount_listed(int id) {
    char buf[16384];
    slurp("/proc/self/mountinfo", buf, sizeof buf);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (atoi(line) == id) return 1;
    return 0;
}

static void section_fdinfo(void) {
    char dir[] = "/tmp/proc_files.XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) { perror("mkdtemp"); exit(1); }
    int fd = open("f", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    write(fd, "hello", 5);
    lseek(fd, 3, SEEK_SET);
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    slurp(path, buf, sizeof buf);
    long long pos;
    unsigned flags;
    int mnt;
    unsigned long ino;
    int n = sscanf(buf, "pos:\t%lld\nflags:\t%o\nmnt_id:\t%d\nino:\t%lu\n", &pos, &flags, &mnt,
                   &ino);
    struct stat st;
    fstat(fd, &st);
    printf("fdinfo: %d fields, pos %lld, flags 0%o\n", n, pos, flags);
    printf("ino is fstat's: %d, mnt_id in mountinfo: %d\n", ino == st.st_ino,
           mount_listed(mnt));
    int p[2];
    pipe(p);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", p[i]);
        slurp(path, buf, sizeof buf);
        n = sscanf(buf, "pos:\t%lld\nflags:\t%o\nmnt_id:\t%d\n", &pos, &flags, &mnt);
        printf("pipe end %d: pos %lld, flags 0%o\n", i, pos, flags);
    }
    DIR *d = opendir("/proc/self/fdinfo");
    struct dirent *e;
    int listed = 0, regular = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        listed += atoi(e->d_name) == fd || atoi(e->d_name) == p[0] || atoi(e->d_name) == p[1];
        regular += e->d_type == DT_REG;
    }
    closedir(d);
    printf("fdinfo/ lists our 3 fds: %d, as regular files: %d\n", listed == 3, regular >= 3);
    close(p[0]);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", p[0]);
    printf("a closed fd: %s\n", ename(-slurp(path, buf, sizeof buf)));
    close(fd);
    unlink("f");
    chdir("/");
    rmdir(dir);
}

static void section_mounts(void) {
    static char buf[65536], copy[65536];
    slurp("/proc/mounts", buf, sizeof buf);
    int lines = 0, six = 0, zeros = 0, root = 0, proc = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        char src[512], point[512], type[64], opts[512];
        int a, b;
        int n = sscanf(line, "%511s %511s %63s %511s %d %d", src, point, type, opts, &a, &b);
        six += n == 6;
        zeros += n == 6 && a == 0 && b == 0;
        root |= strcmp(point, "/") == 0;
        proc |= strcmp(point, "/proc") == 0 && strcmp(type, "proc") == 0;
    }
    printf("mounts: every line 6 fields %d, ending 0 0 %d, / listed %d, proc on /proc %d\n",
           lines == six, lines == zeros, root, proc);
    char target[64] = {0};
    readlink("/proc/mounts", target, sizeof target);
    printf("/proc/mounts -> %s\n", target);
    slurp("/proc/self/mountinfo", buf, sizeof buf);
    memcpy(copy, buf, sizeof buf);
    int ids[512], parents[512], count = 0, shaped = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        int major, minor;
        char root_[512], point[512], opts[512];
        int n = sscanf(line, "%d %d %d:%d %511s %511s %511s", &ids[count], &parents[count],
                       &major, &minor, root_, point, opts);
        char *dash = strstr(line, " - ");
        char type[64], src[512], sopts[512];
        int m = dash ? sscanf(dash, " - %63s %511s %511s", type, src, sopts) : 0;
        shaped += n == 7 && m == 3 && (!strncmp(opts, "rw", 2) || !strncmp(opts, "ro", 2));
        count++;
    }
    int unique = 1, orphans = 0;
    for (int i = 0; i < count; i++) {
        int found = 0;
        for (int j = 0; j < count; j++) {
            if (j != i && ids[j] == ids[i]) unique = 0;
            found |= ids[j] == parents[i];
        }
        orphans += !found;
    }
    printf("mountinfo: every line shaped %d, ids unique %d, a parent outside the table: %s\n",
           shaped == count, unique, orphans >= 1 ? "yes" : "no");
    printf("mountinfo names /proc: %d\n", strstr(copy, " /proc ") != NULL);
}

static void on_term(int sig) { (void)sig; }

static void *named_thread(void *arg) {
    (void)arg;
    prctl(PR_SET_NAME, "worker-7");
    pthread_barrier_wait(&gate);
    pthread_barrier_wait(&gate);
    return NULL;
}

static void print_line(const char *text, const char *key) {
    const char *p = strstr(text, key);
    if (!p) { printf("%s missing\n", key); return; }
    p += *p == '\n';
    printf("%.*s\n", (int)(strchr(p, '\n') - p), p);
}

/* ids, nice and priority, thread names, cwd: values both kernels set the same way */
static void section_status(void) {
    char buf[4096], path[128];
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        gid_t groups[] = {5, 6};
        setgroups(2, groups);
        slurp("/proc/self/status", buf, sizeof buf);
        print_line(buf, "\nGroups:");
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGUSR2, SIG_IGN);
        struct sigaction sa = {0};
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
        raise(SIGUSR1);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        slurp("/proc/self/status", buf, sizeof buf);
        unsigned long long pnd = strtoull(strstr(buf, "SigPnd:") + 7, NULL, 16),
                           blk = strtoull(strstr(buf, "SigBlk:") + 7, NULL, 16),
                           ign = strtoull(strstr(buf, "SigIgn:") + 7, NULL, 16),
                           cgt = strtoull(strstr(buf, "SigCgt:") + 7, NULL, 16),
                           shd = strtoull(strstr(buf, "ShdPnd:") + 7, NULL, 16);
        printf("SIGUSR1 raised while blocked: pending %d, blocked %d\n",
               !!((pnd | shd) & 0x200), !!(blk & 0x200));
        printf("SIGUSR2 ignored %d, SIGTERM caught %d, no other caught %d\n",
               !!(ign & 0x800), !!(cgt & 0x4000), (cgt & ~0x4000ULL) == 0);
        print_line(buf, "\nNoNewPrivs:");
        static const char *KEYS[] = {"Name:", "Umask:", "State:", "Tgid:", "Pid:", "PPid:",
                                     "TracerPid:", "FDSize:", "VmSize:", "VmRSS:", "VmData:",
                                     "VmStk:", "VmExe:", "Threads:", "SigQ:", "CapEff:",
                                     "CapBnd:", "Seccomp:", "Cpus_allowed_list:", NULL};
        int present = 0, keys = 0;
        for (const char **k = KEYS; *k; k++, keys++) present += strstr(buf, *k) != NULL;
        printf("status has %d of %d keys\n", present, keys);
        if (setresgid(100, 200, 300) != 0 || setresuid(1000, 2000, 3000) != 0) _exit(9);
        slurp("/proc/self/status", buf, sizeof buf);
        print_line(buf, "\nUid:");
        print_line(buf, "\nGid:");
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    nice(5);
    long long f[64];
    stat_fields("/proc/self/stat", f, 64);
    printf("after nice(5): priority %lld, nice %lld\n", f[18 - 3], f[19 - 3]);
    pthread_t th;
    pthread_barrier_init(&gate, NULL, 2);
    pthread_create(&th, NULL, named_thread, NULL);
    pthread_barrier_wait(&gate);
    pid_t tid = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && atoi(e->d_name) != getpid()) tid = atoi(e->d_name);
    closedir(d);
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
    slurp(path, buf, sizeof buf);
    printf("the named thread's comm: %s", buf);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    slurp(path, buf, sizeof buf);
    printf("its stat names it: %d\n", strstr(buf, "(worker-7)") != NULL);
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    slurp(path, buf, sizeof buf);
    print_line(buf, "Name:");
    slurp("/proc/self/comm", buf, sizeof buf);
    printf("the process's comm is not: %d\n", strcmp(buf, "worker-7\n") != 0);
    pthread_barrier_wait(&gate);
    pthread_join(th, NULL);
    char cwd[PATH_MAX], link[PATH_MAX] = {0};
    chdir("/usr");
    getcwd(cwd, sizeof cwd);
    readlink("/proc/self/cwd", link, sizeof link - 1);
    printf("cwd link is getcwd: %d\n", strcmp(cwd, link) == 0);
    memset(link, 0, sizeof link);
    readlink("/proc/self/root", link, sizeof link - 1);
    printf("root link: %s\n", link);
}

/* cmdline is read from the process's memory: what it writes over its arguments shows */
static void section_cmdline(int argc, char **argv) {
    char buf[4096];
    int n = slurp("/proc/self/cmdline", buf, sizeof buf), len = 0;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    printf("cmdline: %d bytes, our arguments %d\n", n == len, memcmp(buf, argv[0], len) == 0);
    argv[1][0] = 'C';  /* "cmdline" -> "Cmdline", in place */
    slurp("/proc/self/cmdline", buf, sizeof buf);
    printf("after writing argv[1]: %s\n", buf + strlen(buf) + 1);
    /* setproctitle: the last NUL overwritten, the title runs on into the environment */
    char *end = argv[argc - 1] + strlen(argv[argc - 1]);
    *end = '+';
    n = slurp("/proc/self/cmdline", buf, sizeof buf);
    int first = strlen(argv[0]);
    printf("the end NUL overwritten (setproctitle): reads %s\n",
           n == first ? "argv[0] alone" : n == first + 1 ? "argv[0] and its NUL" : "more");
    *end = 0;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) _exit(0);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", child);
    printf("a zombie's cmdline: %d bytes\n", slurp(path, buf, sizeof buf));
    waitpid(child, NULL, 0);
}

/* Names /proc does not have, and changes it refuses */
static void section_names(void) {
    static const char *PATHS[] = {"/proc/01", "/proc/self/fd/01", "/proc/self/task/0",
                                  "/proc/self/fdinfo/99999", "/proc/self/ns/bogus",
                                  "/proc/99999999999", "/proc/self/nothing", NULL};
    struct stat st;
    for (const char **p = PATHS; *p; p++)
        printf("stat %s: %s\n", *p, stat(*p, &st) == 0 ? "0" : ename(errno));
    printf("mkdir /proc/new: %s\n", mkdir("/proc/new", 0755) == 0 ? "0" : ename(errno));
    printf("open O_CREAT /proc/self/new: %s\n",
           open("/proc/self/new", O_WRONLY | O_CREAT, 0644) >= 0 ? "0" : ename(errno));
    printf("unlink /proc/self/comm: %s\n", unlink("/proc/self/comm") == 0 ? "0" : ename(errno));
    printf("rmdir /proc/self/task: %s\n", rmdir("/proc/self/task") == 0 ? "0" : ename(errno));
    char buf[64];
    printf("readlink /proc/self/stat: %s\n",
           readlink("/proc/self/stat", buf, sizeof buf) >= 0 ? "0" : ename(errno));
}

/* Pending signals as status shows them: SigPnd a thread's own (tgkill), ShdPnd the
   process's (kill); signals stay pending while blocked (even ignored ones), and while the
   process is stopped even those whose default action would end it; task/TID/status
   shows that thread's own. */
static void print_signal_lines(const char *path, int state) {
    char buf[4096];
    slurp(path, buf, sizeof buf);
    static const char *KEYS[] = {"\nState:", "\nSigPnd:", "\nShdPnd:", "\nSigBlk:", NULL};
    for (const char **k = KEYS + !state; *k; k++) print_line(buf, *k);
    /* stat's signal and blocked fields (31, 32): the thread's own, in decimal */
    char stat[96];
    long long f[64];
    snprintf(stat, sizeof stat, "%.*sstat", (int)(strlen(path) - 6), path);
    stat_fields(stat, f, 64);
    printf("stat: signal %lld blocked %lld\n", f[31 - 3], f[32 - 3]);
}

static void print_status_signals(pid_t pid, int state) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    print_signal_lines(path, state);
}

static int ready[2];
static pthread_barrier_t second_ready;
static pid_t second_tid;

static void *second_thread(void *arg) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGURG);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    second_tid = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&second_ready);
    for (;;) pause();
    return arg;
}

/* A child that blocks ``blocked`` (a bit per signal, as status shows), ignores SIGUSR2
   and sleeps; with ``thread`` a second thread that also blocks SIGURG: its tid. */
static pid_t sleeper(unsigned long blocked, int thread, pid_t *tid) {
    if (pipe(ready) != 0) _exit(3);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        sigset_t set;
        sigemptyset(&set);
        for (int sig = 1; sig < 64; sig++)
            if (blocked & (1UL << (sig - 1))) sigaddset(&set, sig);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGUSR2, SIG_IGN);
        pthread_t th;
        if (thread) {  /* (told once pthread_create has put the caller's mask back) */
            pthread_barrier_init(&second_ready, NULL, 2);
            pthread_create(&th, NULL, second_thread, NULL);
            pthread_barrier_wait(&second_ready);
        }
        write(ready[1], &second_tid, sizeof second_tid);
        for (;;) pause();
    }
    pid_t got = 0;
    read(ready[0], &got, sizeof got);
    close(ready[0]);
    close(ready[1]);
    if (tid) *tid = got;
    return child;
}

static void show_end(const char *label, pid_t child) {
    int status;
    waitpid(child, &status, 0);
    printf("%s: %s %d\n", label, WIFSIGNALED(status) ? "killed by signal" : "exited",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static pid_t stopped_sleeper(void) {
    int status;
    pid_t child = sleeper(0, 0, NULL);
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    return child;
}

static void section_pending(void) {
    unsigned long usr = 1UL << (SIGUSR1 - 1) | 1UL << (SIGUSR2 - 1);
    pid_t child = sleeper(usr | 1UL << (SIGTERM - 1) | 1UL << (SIGCHLD - 1), 0, NULL);
    kill(child, SIGUSR1);
    kill(child, SIGTERM);
    kill(child, SIGCHLD);
    syscall(SYS_tgkill, child, child, SIGUSR2);
    printf("blocked SIGUSR1, SIGTERM, SIGCHLD (kill), SIGUSR2 ignored too (tgkill):\n");
    print_status_signals(child, 0);
    kill(child, SIGKILL);
    show_end("then SIGKILL", child);

    child = sleeper(0, 0, NULL);
    kill(child, SIGUSR2);
    kill(child, SIGCHLD);
    printf("not blocked, ignored: SIGUSR2, SIGCHLD:\n");
    print_status_signals(child, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    child = stopped_sleeper();
    kill(child, SIGTERM);
    kill(child, SIGUSR1);
    syscall(SYS_tgkill, child, child, SIGHUP);
    printf("stopped, then SIGTERM, SIGUSR1 (kill) and SIGHUP (tgkill):\n");
    print_status_signals(child, 1);
    kill(child, SIGCONT);
    show_end("then SIGCONT", child);

    child = stopped_sleeper();
    kill(child, SIGUSR1);
    kill(child, SIGKILL);
    show_end("stopped, SIGUSR1 then SIGKILL", child);

    pid_t tid;
    child = sleeper(usr, 1, &tid);
    syscall(SYS_tgkill, child, tid, SIGUSR1);
    syscall(SYS_tgkill, child, tid, SIGURG);
    kill(child, SIGUSR2);
    printf("two threads, SIGUSR1 and SIGURG to the second (tgkill), SIGUSR2 (kill):\n");
    print_status_signals(child, 0);
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)child, (int)tid);
    printf("the second thread's:\n");
    print_signal_lines(path, 0);
    kill(child, SIGKILL);
    show_end("then SIGKILL", child);
}

/* /proc/<pid>/auxv: the auxiliary vector execve gave the process, AT_NULL's pair ending it
 * (gdb finds a PIE program's load address by its AT_ENTRY: without the file, a breakpoint
 * could not be put in); mode 0400; a thread's task/<tid>/maps is its process's maps. */
static int auxv_matches(const unsigned long *v, int words) {
    const unsigned long keys[] = {AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_ENTRY,
                                  AT_UID, AT_EUID, AT_GID, AT_EGID, AT_RANDOM, AT_EXECFN};
    int seen = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        for (int i = 0; i + 1 < words; i += 2)
            if (v[i] == keys[k] && v[i + 1] == getauxval(keys[k])) {
                seen++;
                break;
            }
    return seen == (int)(sizeof keys / sizeof keys[0]);
}

static void section_auxv(void) {
    unsigned long v[128];
    int n = slurp("/proc/self/auxv", (char *)v, sizeof v);
    int words = n > 0 ? n / 8 : 0;
    printf("auxv: pairs of longs %d, ends with AT_NULL 0 %d, getauxval's values %d\n",
           n > 0 && n % 16 == 0, words >= 2 && v[words - 2] == AT_NULL && v[words - 1] == 0,
           auxv_matches(v, words));
    struct stat st;
    stat("/proc/self/auxv", &st);
    printf("auxv: mode 0%o\n", st.st_mode & 07777);
    char path[64], maps[65536], task_maps[65536];
    snprintf(path, sizeof path, "/proc/self/task/%d/maps", getpid());
    int m = slurp("/proc/self/maps", maps, sizeof maps);
    int tm = slurp(path, task_maps, sizeof task_maps);
    printf("task/TID/maps is maps: %d\n", m > 0 && tm == m && memcmp(maps, task_maps, m) == 0);
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) != 0 || pipe(down) != 0) return;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {  /* another program, which waits for us: its own vector */
        dup2(down[0], 0);
        close(down[1]);
        execl("/bin/sh", "sh", "-c", "read x", (char *)NULL);
        _exit(127);
    }
    close(up[1]);
    close(down[0]);
    char c;
    int status;
    if (read(up[0], &c, 1) != 0) return;  /* (EOF: it has exec'd) */
    unsigned long theirs[128];
    snprintf(path, sizeof path, "/proc/%d/auxv", child);
    int got = slurp(path, (char *)theirs, sizeof theirs), entry = 0;
    for (int i = 0; i + 1 < got / 8; i += 2)
        entry |= theirs[i] == AT_ENTRY && theirs[i + 1] != getauxval(AT_ENTRY);
    printf("the exec'd child's: pairs %d, another AT_ENTRY %d\n", got > 0 && got % 16 == 0,
           entry);
    close(down[1]);
    waitpid(child, &status, 0);
}

int main(int argc, char **argv) {
    const char *s = argc > 1 ? argv[1] : "loadavg";
    printf("== %s\n", s);
    if (!strcmp(s, "loadavg")) section_loadavg();
    else if (!strcmp(s, "vmstat")) section_vmstat();
    else if (!strcmp(s, "start")) section_start();
    else if (!strcmp(s, "environ")) section_environ();
    else if (!strcmp(s, "auxv")) section_auxv();
    else if (!strcmp(s, "task")) section_task();
    else if (!strcmp(s, "ns")) section_ns();
    else if (!strcmp(s, "fdinfo")) section_fdinfo();
    else if (!strcmp(s, "mounts")) section_mounts();
    else if (!strcmp(s, "status")) section_status();
    else if (!strcmp(s, "pending")) section_pending();
    else if (!strcmp(s, "names")) section_names();
    else if (!strcmp(s, "stat")) section_stat(argc, argv);
    else if (!strcmp(s, "cmdline")) section_cmdline(argc, argv);
    else return 2;
    return 0;
}
