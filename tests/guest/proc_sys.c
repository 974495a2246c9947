/* /proc/sys as programs read and write it: argv[1] picks a section.
 * read, dirs, write and nofile print only what Linux and CloudOS share (modes, file
 * types, shapes, error codes, a value written back reads back); "honour" changes
 * values and runs under CloudOS only (it refuses to run elsewhere). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "0";
    case EACCES: return "EACCES"; case EPERM: return "EPERM"; case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT"; case ENOMEM: return "ENOMEM"; case EISDIR: return "EISDIR"; case EAGAIN: return "EAGAIN";
    default: { static char b[16]; snprintf(b, sizeof b, "E%d", e); return b; }
    }
}

static int slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    ssize_t n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    if (n < 0) return -e;
    buf[n] = 0;
    return (int)n;
}

static int is_number(const char *s) {
    const char *p = s;
    if (*p == '-') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    return strcmp(p, "\n") == 0;
}

static int is_uuid(const char *s) {
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n";
    if (strlen(s) != strlen(shape)) return 0;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'x' ? !isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])
                            : s[i] != shape[i]) return 0;
    return 1;
}

static long number(const char *path) {
    char buf[64];
    return slurp(path, buf, sizeof buf) > 0 ? atol(buf) : -1;
}

static const char *NUMBERS[] = {
    "kernel/pid_max", "kernel/threads-max", "kernel/tainted", "kernel/ngroups_max",
    "kernel/cap_last_cap", "kernel/randomize_va_space", "kernel/random/poolsize",
    "kernel/random/entropy_avail", "fs/pipe-max-size", "fs/file-max", "fs/nr_open",
    "fs/lease-break-time", "vm/overcommit_memory", "vm/overcommit_ratio",
    "vm/max_map_count", "vm/swappiness", "vm/dirty_ratio", "vm/dirty_background_ratio",
    "vm/mmap_min_addr", "vm/page-cluster", "vm/vfs_cache_pressure", NULL};
static const char *STRINGS[] = {
    "kernel/ostype", "kernel/osrelease", "kernel/hostname", "kernel/domainname",
    "kernel/core_pattern", "kernel/random/boot_id", "kernel/random/uuid", NULL};

static void show_mode(const char *name) {
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    if (stat(path, &st) != 0) { printf("%s: stat %s\n", name, ename(errno)); return; }
    printf("%s: %s 0%o uid %d\n", name, S_ISREG(st.st_mode) ? "file" : "other",
           st.st_mode & 07777, st.st_uid);
}

static void section_read(void) {
    char path[128], buf[256], again[256];
    for (const char **n = NUMBERS; *n; n++) {
        snprintf(path, sizeof path, "/proc/sys/%s", *n);
        int r = slurp(path, buf, sizeof buf);
        printf("%s: %s\n", *n, r < 0 ? ename(-r) : is_number(buf) ? "a number" : buf);
    }
    for (const char **n = NUMBERS; *n; n++) show_mode(*n);
    for (const char **n = STRINGS; *n; n++) show_mode(*n);
    struct utsname u;
    uname(&u);
    slurp("/proc/sys/kernel/ostype", buf, sizeof buf);
    printf("ostype: %s", buf);
    slurp("/proc/sys/kernel/osrelease", buf, sizeof buf);
    printf("osrelease is uname's release: %d\n", strlen(buf) == strlen(u.release) + 1 &&
           strncmp(buf, u.release, strlen(u.release)) == 0);
    slurp("/proc/sys/kernel/hostname", buf, sizeof buf);
    printf("hostname is uname's nodename: %d\n", strlen(buf) == strlen(u.nodename) + 1 &&
           strncmp(buf, u.nodename, strlen(u.nodename)) == 0);
    slurp("/proc/sys/kernel/random/boot_id", buf, sizeof buf);
    slurp("/proc/sys/kernel/random/boot_id", again, sizeof again);
    printf("boot_id: uuid %d, the same twice %d\n", is_uuid(buf), strcmp(buf, again) == 0);
    slurp("/proc/sys/kernel/random/uuid", buf, sizeof buf);
    slurp("/proc/sys/kernel/random/uuid", again, sizeof again);
    printf("uuid: uuid %d, a new one each read %d, version 4 %d\n", is_uuid(buf),
           strcmp(buf, again) != 0, buf[14] == '4');
    printf("tainted: %ld\n", number("/proc/sys/kernel/tainted"));
    long pid_max = number("/proc/sys/kernel/pid_max");
    printf("pid_max above our pid: %d\n", pid_max > getpid());
    printf("nr_open at least 1024: %d\n", number("/proc/sys/fs/nr_open") >= 1024);
    long pipe = number("/proc/sys/fs/pipe-max-size");
    printf("pipe-max-size a power of two >= 4096: %d\n", pipe >= 4096 && !(pipe & (pipe - 1)));
    int fd = open("/proc/sys/kernel", O_RDONLY);
    ssize_t got = read(fd, buf, 10);
    printf("read of a directory: %zd %s\n", got, ename(errno));
    close(fd);
    printf("missing: %s\n", ename(-slurp("/proc/sys/kernel/no_such", buf, sizeof buf)));
}

static int listed(const char *dir, const char *name, unsigned char *type) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, name) == 0) { found = 1; *type = e->d_type; }
    if (d) closedir(d);
    return found;
}

static void section_dirs(void) {
    static const char *DIRS[] = {"/proc", "sys", "/proc/sys", "kernel", "/proc/sys", "fs",
                                 "/proc/sys", "vm", "/proc/sys/kernel", "random", NULL};
    unsigned char type = 0;
    for (const char **d = DIRS; *d; d += 2) {
        int found = listed(d[0], d[1], &type);
        printf("%s lists %s: %d, a directory %d\n", d[0], d[1], found, type == DT_DIR);
    }
    static const char *FILES[] = {"pid_max", "ostype", "osrelease", "hostname", "domainname",
                                  "threads-max", "core_pattern", "tainted", NULL};
    for (const char **f = FILES; *f; f++) {
        int found = listed("/proc/sys/kernel", *f, &type);
        printf("kernel lists %s: %d, a file %d\n", *f, found, type == DT_REG);
    }
    static const char *FS[] = {"pipe-max-size", "file-max", "nr_open", "lease-break-time",
                               "file-nr", NULL};
    for (const char **f = FS; *f; f++) {
        int found = listed("/proc/sys/fs", *f, &type);
        printf("fs lists %s: %d, a file %d\n", *f, found, type == DT_REG);
    }
    static const char *VM[] = {"overcommit_memory", "max_map_count", "swappiness", NULL};
    for (const char **f = VM; *f; f++) {
        int found = listed("/proc/sys/vm", *f, &type);
        printf("vm lists %s: %d, a file %d\n", *f, found, type == DT_REG);
    }
    printf("random lists boot_id: %d, uuid: %d\n",
           listed("/proc/sys/kernel/random", "boot_id", &type),
           listed("/proc/sys/kernel/random", "uuid", &type));
}

/* Writes ``text`` to ``name``: 0 or the errno of the open or the write. */
static int put(const char *name, const char *text) {
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0) return errno;
    ssize_t n = write(fd, text, strlen(text));
    int e = n < 0 ? errno : 0;
    close(fd);
    return e;
}

static void write_back(const char *name) {
    char path[128], before[128], after[128];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    slurp(path, before, sizeof before);
    int e = put(name, before);
    slurp(path, after, sizeof after);
    printf("write back %s: %s, reads the same %d\n", name, e ? ename(e) : "0",
           strcmp(before, after) == 0);
}

static void section_write(void) {
    /* only values the same as before: the native run writes the host's */
    write_back("kernel/pid_max");
    write_back("fs/pipe-max-size");
    write_back("fs/nr_open");
    write_back("fs/lease-break-time");
    write_back("vm/swappiness");
    write_back("vm/overcommit_memory");
    char was[64];
    slurp("/proc/sys/kernel/pid_max", was, sizeof was);
    printf("pid_max \"abc\": %s\n", ename(put("kernel/pid_max", "abc\n")));
    printf("pid_max 100 (below 301): %s\n", ename(put("kernel/pid_max", "100\n")));
    printf("pid_max 1 2: %s\n", ename(put("kernel/pid_max", "1 2\n")));
    printf("swappiness 201: %s\n", ename(put("vm/swappiness", "201\n")));
    printf("overcommit_memory 3: %s\n", ename(put("vm/overcommit_memory", "3\n")));
    printf("nr_open 1: %s\n", ename(put("fs/nr_open", "1\n")));
    char now[64];
    slurp("/proc/sys/kernel/pid_max", now, sizeof now);
    printf("pid_max unchanged: %d\n", strcmp(was, now) == 0);
    printf("ostype as root: %s\n", ename(put("kernel/ostype", "BSD\n")));
    printf("osrelease as root: %s\n", ename(put("kernel/osrelease", "1\n")));
    printf("boot_id as root: %s\n", ename(put("kernel/random/boot_id", "1\n")));
    printf("create in /proc/sys/kernel: %s\n",
           open("/proc/sys/kernel/new", O_WRONLY | O_CREAT, 0644) < 0 ? ename(errno) : "0");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(9);
        printf("pid_max as nobody: %s\n", ename(put("kernel/pid_max", "4096\n")));
        printf("hostname as nobody: %s\n", ename(put("kernel/hostname", "x\n")));
        char buf[64];
        printf("nobody reads pid_max: %d\n", slurp("/proc/sys/kernel/pid_max", buf, 64) > 0);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void section_nofile(void) {
    long nr_open = number("/proc/sys/fs/nr_open");
    struct rlimit r = {(rlim_t)nr_open + 1, (rlim_t)nr_open + 1};
    int rc = setrlimit(RLIMIT_NOFILE, &r);
    printf("RLIMIT_NOFILE nr_open + 1: %d %s\n", rc, ename(errno));
    getrlimit(RLIMIT_NOFILE, &r);
    printf("RLIMIT_NOFILE unchanged: %d\n", setrlimit(RLIMIT_NOFILE, &r));
}

static long meminfo_total(void) {
    char buf[4096];
    slurp("/proc/meminfo", buf, sizeof buf);
    return atol(strstr(buf, "MemTotal:") + 9) * 1024;
}

/* The stack address a child exec'd from our program prints */
static unsigned long child_stack(void) {
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        dup2(p[1], 1);
        execl("/proc/self/exe", "proc_sys", "addr", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[64] = {0};
    read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    waitpid(c, NULL, 0);
    return strtoul(strchr(buf, '\n') + 1, NULL, 16);
}

static void honour_vm(void) {
    long ram = meminfo_total();
    void *big = mmap(NULL, 2 * ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("overcommit_memory 0: twice the RAM: %s\n", big == MAP_FAILED ? ename(errno) : "0");
    put("vm/overcommit_memory", "1\n");
    big = mmap(NULL, 2 * ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("overcommit_memory 1: twice the RAM: %s\n", big == MAP_FAILED ? ename(errno) : "0");
    munmap(big, 2 * ram);
    put("vm/overcommit_memory", "0\n");
    printf("max_map_count 100: %s\n", ename(put("vm/max_map_count", "100\n")));
    int n, err = 0;
    for (n = 0; n < 200; n++) {  /* neighbours differ in protection: no merging */
        if (mmap(NULL, 4096, n % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) { err = errno; break; }
    }
    char maps[65536];
    int lines = 0, got = slurp("/proc/self/maps", maps, sizeof maps);
    for (int i = 0; i < got; i++) lines += maps[i] == '\n';
    /* (the kernel's count is 101 then; maps may show a VMA as two lines: file and bss) */
    printf("mmap until failure: %s, then max_map_count + 1 mappings: %d\n", ename(err),
           lines >= 101 && lines <= 103);
    unsigned long a = child_stack(), b = child_stack();
    printf("randomize_va_space 2: two execs' stacks differ %d\n", a != b);
    put("kernel/randomize_va_space", "0\n");
    a = child_stack(), b = child_stack();
    printf("randomize_va_space 0: two execs' stacks differ %d\n", a != b);
}

/* CloudOS only: values changed and honoured. */
static void section_honour(void) {
    struct utsname u;
    uname(&u);
    if (!strstr(u.release, "cloudos")) { printf("not CloudOS: refusing to change the host\n"); exit(1); }
    char buf[128];
    printf("pipe-max-size 5000: %s\n", ename(put("fs/pipe-max-size", "5000\n")));
    printf("pipe-max-size reads %ld\n", number("/proc/sys/fs/pipe-max-size"));
    fflush(stdout);
    if (fork() == 0) {  /* without CAP_SYS_RESOURCE a pipe grows to the value written */
        int p[2];
        pipe(p);
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(9);
        printf("nobody: F_SETPIPE_SZ 8192: %d", fcntl(p[0], F_SETPIPE_SZ, 8192));
        int rc = fcntl(p[0], F_SETPIPE_SZ, 16384);
        printf(", 16384: %d %s\n", rc, rc < 0 ? ename(errno) : "");
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    /* lease-break-time 1: an open that breaks a lease its holder keeps waits ~1 s */
    printf("lease-break-time 1: %s\n", ename(put("fs/lease-break-time", "1\n")));
    close(open("/tmp/proc_sys_lease", O_RDWR | O_CREAT | O_TRUNC, 0644));
    signal(SIGIO, SIG_IGN);
    printf("F_SETLEASE F_RDLCK: %d\n", fcntl(open("/tmp/proc_sys_lease", O_RDONLY),
                                              F_SETLEASE, F_RDLCK));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int w = open("/tmp/proc_sys_lease", O_WRONLY);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("open for writing: %s, after the break time: %d\n", w >= 0 ? "ok" : ename(errno),
           waited >= 0.9 && waited < 10);
    unlink("/tmp/proc_sys_lease");
    put("kernel/hostname", "renamed\n");
    uname(&u);
    printf("hostname written: uname says %s\n", u.nodename);
    sethostname("byname", 6);
    slurp("/proc/sys/kernel/hostname", buf, sizeof buf);
    printf("sethostname: /proc says %s", buf);
    put("kernel/domainname", "example.org\n");
    getdomainname(buf, sizeof buf);
    printf("domainname written: %s\n", buf);
    printf("nr_open 2048: %s\n", ename(put("fs/nr_open", "2048\n")));
    struct rlimit r = {4096, 4096};
    int rc = setrlimit(RLIMIT_NOFILE, &r);
    printf("RLIMIT_NOFILE 4096 past nr_open 2048: %d %s\n", rc, ename(errno));
    r.rlim_cur = r.rlim_max = 2048;
    printf("RLIMIT_NOFILE 2048: %d\n", setrlimit(RLIMIT_NOFILE, &r));
    /* pid_max: new pids stay below it and numbering starts again at 300 (Linux's
     * RESERVED_PIDS): first take pids up to 305 (vfork: cheap), then bound them */
    pid_t c = 0;
    int n;
    while (c >= 0 && c < 305) {
        c = vfork();
        if (c == 0) _exit(0);
        waitpid(c, NULL, 0);
    }
    printf("pid_max 310: %s\n", ename(put("kernel/pid_max", "310\n")));
    int below = 1, wrapped = 0;
    for (n = 0; n < 10; n++) {
        c = fork();
        if (c == 0) _exit(0);
        if (c < 0) break;
        below &= c < 310;
        wrapped |= c >= 300 && c <= 305;
        waitpid(c, NULL, 0);
    }
    printf("10 forks: %d made, all below pid_max %d, numbering wrapped to 300: %d\n", n,
           below, wrapped);
    put("kernel/pid_max", "32768\n");
    printf("threads-max 20: %s\n", ename(put("kernel/threads-max", "20\n")));
    pid_t kids[32];
    int made = 0, err = 0;
    for (n = 0; n < 32; n++) {
        kids[n] = fork();
        if (kids[n] == 0) { pause(); _exit(0); }
        if (kids[n] < 0) { err = errno; break; }
        made++;
    }
    printf("forks under threads-max 20: stopped at %d tasks with %s\n", made + 1, ename(err));
    for (n = 0; n < made; n++) { kill(kids[n], SIGKILL); waitpid(kids[n], NULL, 0); }
    put("kernel/threads-max", "1000\n");
    /* core_pattern: where a core file goes, %e and %p expanded */
    printf("core_pattern: %s\n", ename(put("kernel/core_pattern", "/tmp/core-%e.%p\n")));
    pid_t child = fork();
    if (child == 0) {
        struct rlimit core = {RLIM_INFINITY, RLIM_INFINITY};
        setrlimit(RLIMIT_CORE, &core);
        abort();
    }
    int status;
    waitpid(child, &status, 0);
    char comm[32] = {0}, path[96];
    slurp("/proc/self/comm", comm, sizeof comm);
    comm[strcspn(comm, "\n")] = 0;
    snprintf(path, sizeof path, "/tmp/core-%s.%d", comm, child);
    struct stat st;
    printf("core dumped %d, at /tmp/core-<comm>.<pid>: %d, an ELF core: %d\n",
           WCOREDUMP(status) != 0, stat(path, &st) == 0, stat(path, &st) == 0 && st.st_size > 64);
    unlink(path);
    honour_vm();
}

int main(int argc, char **argv) {
    const char *s = argc > 1 ? argv[1] : "read";
    printf("== %s\n", s);
    if (!strcmp(s, "read")) section_read();
    else if (!strcmp(s, "dirs")) section_dirs();
    else if (!strcmp(s, "write")) section_write();
    else if (!strcmp(s, "nofile")) section_nofile();
    else if (!strcmp(s, "honour")) section_honour();
    else if (!strcmp(s, "addr")) { int here; printf("%p\n", (void *)&here); }
    else return 2;
    return 0;
}
