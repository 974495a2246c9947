/* mounts.c — chroot (confinement, "..", absolute symlinks, getcwd outside the root, escape through fchdir, inheritance), tmpfs mounts (size=, mode=, ENOSPC, EBUSY, MNT_DETACH, EINVAL), bind mounts (shared files, read-only remount, MS_REC), /proc/self/mounts and mountinfo lines, sysfs and proc mounted again (pseudo), unshare of mount and UTS namespaces, pivot_root, and EPERM without privilege (argv[1] picks one section; none: all).
   Natively each section runs in a child that first takes a private mount namespace, so nothing is mounted on the host; everything lives in a fresh directory under /tmp, removed at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

#define TMPFS_MAGIC 0x01021994

static char top[64];  /* the fresh directory under /tmp */

/* top/name, in one of 8 buffers used in turn (a path kept longer is copied) */
static const char *at(const char *name)
{
    static char paths[8][256];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 256, "%s/%s", top, name);
    return path;
}

static void result(const char *label, long rc)
{
    if (rc < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld\n", label, rc);
}

static void put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0)
        printf("writing %s: %s\n", path, errname(errno));
    close(fd);
}

static void show_file(const char *label, const char *path)
{
    char buf[64] = "";
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    printf("%s: %s\n", label, buf);
}

static int is_tmpfs(const char *path)
{
    struct statfs s;
    return statfs(path, &s) == 0 && s.f_type == TMPFS_MAGIC;
}

/* getcwd(2) itself: glibc's getcwd refuses a path that does not start with "/" */
static void show_cwd(const char *label)
{
    char buf[512];
    long n = syscall(SYS_getcwd, buf, sizeof buf);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    size_t len = strlen(top);
    const char *rest = strstr(buf, top);
    if (rest != NULL)  /* the directory's random name, as a fixed word */
        printf("%s: %.*s<top>%s\n", label, (int)(rest - buf), buf, rest + len);
    else
        printf("%s: %s\n", label, buf);
}

/* -- chroot ----------------------------------------------------------------------- */

static void chroot_child(void)
{
    int outside = open(top, O_RDONLY | O_DIRECTORY);
    chdir(top);
    result("chroot(root)", chroot("root"));
    show_cwd("getcwd outside the new root");
    chdir("/");
    show_cwd("getcwd after chdir /");
    show_file("/inside", "/inside");
    show_file("/../../inside", "/../../inside");
    chdir("..");
    show_cwd("getcwd after chdir ..");
    show_file("absolute symlink /sub/up", "/sub/up");
    show_file("relative symlink /sub/rel", "/sub/rel");
    show_file("/outside (only outside the root)", "/outside");
    pid_t pid = fork();
    if (pid == 0) {
        show_file("child: /inside", "/inside");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    /* the classic escape: a directory fd from outside, then ".." past the root */
    result("fchdir(outside fd)", fchdir(outside));
    show_cwd("getcwd after fchdir");
    show_file("outside relative to it", "outside");
    for (int i = 0; i < 20; i++)
        chdir("..");
    show_cwd("getcwd after climbing");
    result("chroot(.)", chroot("."));
    show_cwd("getcwd after chroot(.)");
    char back[256];
    snprintf(back, sizeof back, "%s/outside", top);
    show_file("the old outside by its full path", back);
}

static void test_chroot(void)
{
    mkdir(at("root"), 0755);
    mkdir(at("root/sub"), 0755);
    put(at("root/inside"), "in the root");
    put(at("outside"), "beside the root");
    symlink("/inside", at("root/sub/up"));
    symlink("../../../inside", at("root/sub/rel"));
    pid_t pid = fork();
    if (pid == 0) {
        chroot_child();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    result("chroot(nonexistent)", chroot("/nonexistent-dir-xyz"));
    result("chroot(a file)", chroot(at("outside")));
}

/* -- tmpfs -------------------------------------------------------------------------- */

static void test_tmpfs(void)
{
    char t[256];
    strcpy(t, at("t"));
    mkdir(t, 0755);
    result("mount tmpfs size=64k,mode=750", mount("none", t, "tmpfs", 0, "size=64k,mode=750"));
    struct stat st;
    stat(t, &st);
    printf("mode: %o, tmpfs: %d\n", st.st_mode & 07777, is_tmpfs(t));
    struct statfs sf;
    statfs(t, &sf);
    printf("size: %ld bytes\n", (long)(sf.f_blocks * sf.f_bsize));
    char block[4096];
    memset(block, 'x', sizeof block);
    int fd = open(at("t/big"), O_WRONLY | O_CREAT, 0644);
    long total = 0, n;
    while ((n = write(fd, block, sizeof block)) > 0 && total < (1 << 20))
        total += n;
    printf("filled: %ld bytes, then %s\n", total, n < 0 ? errname(errno) : "no error");
    close(fd);
    unlink(at("t/big"));
    put(at("t/file"), "on the tmpfs");
    chdir(t);
    result("umount while it is the cwd", umount(t));
    chdir("/");
    fd = open(at("t/file"), O_RDONLY);
    result("umount with a file open in it", umount(t));
    close(fd);
    result("umount", umount(t));
    show_file("the file after umount", at("t/file"));
    printf("tmpfs after umount: %d\n", is_tmpfs(t));
    result("umount again (not a mount point)", umount(t));
    result("umount of a plain directory", umount(top));
    result("mount unknown option", mount("none", t, "tmpfs", 0, "bogus=1"));
    result("mount unknown type", mount("none", t, "nosuchfs-xyz", 0, NULL));
    result("mount on a missing dir", mount("none", at("missing"), "tmpfs", 0, NULL));
    result("umount2 bad flags", umount2(t, 0x100));

    mount("none", t, "tmpfs", 0, NULL);
    put(at("t/kept"), "kept by an open fd");
    fd = open(at("t/kept"), O_RDONLY);
    result("umount2 MNT_DETACH while busy", umount2(t, MNT_DETACH));
    char buf[64] = "";
    n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("read from the detached tmpfs: %s\n", buf);
    close(fd);
    printf("tmpfs after detach: %d\n", is_tmpfs(t));
}

/* -- bind mounts -------------------------------------------------------------------- */

static void test_bind(void)
{
    mkdir(at("src"), 0755);
    mkdir(at("src/sub"), 0755);
    mkdir(at("dst"), 0755);
    mkdir(at("dst2"), 0755);
    mkdir(at("dst3"), 0755);
    put(at("src/f"), "source file");
    result("bind src on dst", mount(at("src"), at("dst"), NULL, MS_BIND, NULL));
    show_file("dst/f", at("dst/f"));
    put(at("dst/g"), "written through the bind");
    show_file("src/g", at("src/g"));
    struct stat a, b;
    stat(at("src/f"), &a);
    stat(at("dst/f"), &b);
    printf("same file: %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    result("remount read-only", mount(NULL, at("dst"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY,
                                      NULL));
    result("create through it", open(at("dst/h"), O_WRONLY | O_CREAT, 0644));
    result("open for writing through it", open(at("dst/f"), O_WRONLY));
    result("unlink through it", unlink(at("dst/g")));
    result("mkdir through it", mkdir(at("dst/d"), 0755));
    show_file("reading through it", at("dst/f"));
    put(at("src/f"), "still writable at the source");
    show_file("dst/f", at("dst/f"));
    result("remount read-write", mount(NULL, at("dst"), NULL, MS_REMOUNT | MS_BIND, NULL));
    int fd = open(at("dst/h"), O_WRONLY | O_CREAT, 0644);
    result("create after it", fd);

    mount("none", at("src/sub"), "tmpfs", 0, NULL);
    result("bind MS_REC", mount(at("src"), at("dst2"), NULL, MS_BIND | MS_REC, NULL));
    result("bind without MS_REC", mount(at("src"), at("dst3"), NULL, MS_BIND, NULL));
    printf("dst2/sub tmpfs: %d, dst3/sub tmpfs: %d\n", is_tmpfs(at("dst2/sub")),
           is_tmpfs(at("dst3/sub")));
    result("bind a missing source", mount(at("nothing"), at("dst3"), NULL, MS_BIND, NULL));
    result("bind a dir on a file", mount(at("src"), at("src/f"), NULL, MS_BIND, NULL));
    result("umount dst2 with a mount under it", umount(at("dst2")));
    result("umount dst2/sub", umount(at("dst2/sub")));
    result("umount dst2", umount(at("dst2")));
    result("umount dst3", umount(at("dst3")));
    result("umount dst with a file open in it", umount(at("dst")));
    close(fd);
    result("umount dst", umount(at("dst")));
    result("umount src/sub", umount(at("src/sub")));
}

/* -- /proc/self/mounts and mountinfo ------------------------------------------------ */

/* The line of /proc/self/<file> for mount point ``point``: its options' first word and
   whether ``want`` is among them. */
static void show_mount_line(const char *file, const char *point, const char *label,
                            const char *want)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/self/%s", file);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        char a[512], b[512], c[256], d[512], e[512], g[512];
        if (strcmp(file, "mounts") == 0) {
            if (sscanf(line, "%511s %511s %255s %511s", a, b, c, d) != 4 || strcmp(b, point))
                continue;
            printf("mounts %s: %s %.2s %s\n", label, strcmp(c, "tmpfs") ? "(type)" : c, d,
                   want && strstr(d, want) ? want : "-");
        } else {  /* id parent major:minor root point options */
            if (sscanf(line, "%*d %*d %*s %511s %511s %511s%*[^-]- %255s %511s", e, b, g, c,
                       d) != 5 || strcmp(b, point))
                continue;
            const char *end = strrchr(e, '/');
            printf("mountinfo %s: root ends %s, %.2s\n", label, end ? end : e, g);
        }
        found = 1;
    }
    if (!found)
        printf("%s %s: absent\n", file, label);
    if (f)
        fclose(f);
}

static void test_proc_mounts(void)
{
    mkdir(at("t"), 0755);
    mkdir(at("src"), 0755);
    mkdir(at("dst"), 0755);
    mount("none", at("t"), "tmpfs", 0, "size=64k,mode=750");
    mount(at("src"), at("dst"), NULL, MS_BIND, NULL);
    mount(NULL, at("dst"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
    show_mount_line("mounts", at("t"), "tmpfs", "size=64k");
    show_mount_line("mounts", at("t"), "tmpfs", "mode=750");
    show_mount_line("mounts", at("dst"), "bind", NULL);
    show_mount_line("mountinfo", at("t"), "tmpfs", NULL);
    show_mount_line("mountinfo", at("dst"), "bind", NULL);
    umount(at("t"));
    umount(at("dst"));
    show_mount_line("mounts", at("t"), "tmpfs after umount", NULL);
    show_mount_line("mountinfo", at("dst"), "bind after umount", NULL);
}

/* -- sysfs and proc mounted again, /proc/filesystems ---------------------------------- */

static void test_pseudo(void)
{
    char line[64], buf[64];
    int listed = 0;
    FILE *f = fopen("/proc/filesystems", "r");
    while (f && fgets(line, sizeof line, f))
        listed |= strcmp(line, "nodev\tsysfs\n") == 0;
    if (f)
        fclose(f);
    printf("/proc/filesystems lists sysfs: %d\n", listed);
    mkdir(at("s"), 0755);
    result("mount sysfs", mount("sysfs", at("s"), "sysfs", MS_RDONLY, NULL));
    struct statfs sf;
    printf("its f_type is SYSFS_MAGIC: %d\n",
           statfs(at("s"), &sf) == 0 && sf.f_type == 0x62656572);
    int fd = open(at("s/devices/system/cpu/possible"), O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("the same possible CPUs as /sys: %d\n", n > 0 && strstr(buf, "0") == buf);
    close(fd);
    result("umount sysfs", umount(at("s")));
    mkdir(at("p"), 0755);
    result("mount proc", mount("proc", at("p"), "proc", 0, NULL));
    char self[64];
    snprintf(self, sizeof self, "%s/self", at("p"));
    struct stat st;
    printf("its self is a link: %d\n", lstat(self, &st) == 0 && S_ISLNK(st.st_mode));
    result("umount proc", umount(at("p")));
    result("mount nonsensefs", mount("x", at("s"), "nonsensefs", 0, NULL));
}

/* -- namespaces --------------------------------------------------------------------- */

static void ns_link(const char *path, char *out, size_t size)
{
    ssize_t n = readlink(path, out, size - 1);
    out[n > 0 ? n : 0] = 0;
}

static void test_unshare(void)
{
    struct utsname before, after;
    uname(&before);
    char ns_parent[64], ns_child[64];
    ns_link("/proc/self/ns/uts", ns_parent, sizeof ns_parent);
    mkdir(at("t"), 0755);
    int pipefd[2], done[2];
    pipe(pipefd);
    pipe(done);
    pid_t pid = fork();
    if (pid == 0) {
        result("unshare(CLONE_NEWUTS)", unshare(CLONE_NEWUTS));
        result("sethostname", sethostname("inner-host", 10));
        struct utsname u;
        uname(&u);
        printf("child's node name: %s\n", u.nodename);
        ns_link("/proc/self/ns/uts", ns_child, sizeof ns_child);
        printf("child's uts namespace differs: %d\n", strcmp(ns_child, ns_parent) != 0);
        result("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
        mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
        result("mount in the child's namespace", mount("none", at("t"), "tmpfs", 0, NULL));
        printf("child sees the tmpfs: %d\n", is_tmpfs(at("t")));
        fflush(stdout);
        write(pipefd[1], "x", 1);
        char c;
        read(done[0], &c, 1);  /* holds its namespaces while the parent looks */
        _exit(0);
    }
    char c;
    read(pipefd[0], &c, 1);
    printf("parent sees the tmpfs: %d\n", is_tmpfs(at("t")));
    char path[64], ns_mnt[64];
    snprintf(path, sizeof path, "/proc/%d/ns/mnt", pid);
    ns_link(path, ns_mnt, sizeof ns_mnt);
    ns_link("/proc/self/ns/mnt", ns_child, sizeof ns_child);
    printf("child's mnt namespace differs: %d\n", strcmp(ns_mnt, ns_child) != 0);
    pid_t joiner = fork();
    if (joiner == 0) {
        snprintf(path, sizeof path, "/proc/%d/ns/uts", pid);
        int uts = open(path, O_RDONLY);
        snprintf(path, sizeof path, "/proc/%d/ns/mnt", pid);
        int mnt = open(path, O_RDONLY);
        result("setns(uts fd, CLONE_NEWNS)", setns(uts, CLONE_NEWNS));
        result("setns(a directory fd)", setns(open("/", O_RDONLY), 0));
        result("setns(bad fd)", setns(-1, 0));
        result("setns(uts fd, CLONE_NEWUTS)", setns(uts, CLONE_NEWUTS));
        struct utsname u;
        uname(&u);
        printf("joiner's node name: %s\n", u.nodename);
        printf("joiner sees the tmpfs before: %d\n", is_tmpfs(at("t")));
        result("setns(mnt fd, 0)", setns(mnt, 0));
        show_cwd("joiner's cwd");
        printf("joiner sees the tmpfs after: %d\n", is_tmpfs(at("t")));
        fflush(stdout);
        _exit(0);
    }
    waitpid(joiner, NULL, 0);
    write(done[1], "x", 1);
    waitpid(pid, NULL, 0);
    uname(&after);
    printf("parent's node name unchanged: %d\n", strcmp(before.nodename, after.nodename) == 0);

    pid = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        sethostname("cloned-host", 11);
        struct utsname u;
        uname(&u);
        printf("clone(CLONE_NEWUTS) child's node name: %s\n", u.nodename);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    uname(&after);
    printf("parent's node name still unchanged: %d\n",
           strcmp(before.nodename, after.nodename) == 0);
    result("clone(CLONE_NEWNS|CLONE_FS)", syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD,
                                                  0, 0, 0, 0));
    result("unshare(bad flag)", unshare(0x100000));
}

/* -- pivot_root --------------------------------------------------------------------- */

static void test_pivot_root(void)
{
    char t[256];
    strcpy(t, at("newroot"));
    mkdir(t, 0755);
    put(at("marker"), "the old root's file");
    result("pivot_root onto a plain dir", syscall(SYS_pivot_root, top, top));
    mount("none", t, "tmpfs", 0, NULL);
    mkdir(at("newroot/old"), 0755);
    put(at("newroot/hello"), "in the new root");
    chdir(t);
    result("pivot_root", syscall(SYS_pivot_root, ".", "old"));
    chdir("/");
    show_file("/hello", "/hello");
    char old_marker[256];
    snprintf(old_marker, sizeof old_marker, "/old%s/marker", top);
    show_file("the old root's file under /old", old_marker);
    result("umount2 /old MNT_DETACH", umount2("/old", MNT_DETACH));
    show_file("after detaching /old", old_marker);
    /* runc's way: the old root stacked on the new one, then detached */
    mkdir("/next", 0755);
    mount("none", "/next", "tmpfs", 0, NULL);
    put("/next/there", "in the next root");
    chdir("/next");
    result("pivot_root(., .)", syscall(SYS_pivot_root, ".", "."));
    result("umount2(., MNT_DETACH)", umount2(".", MNT_DETACH));
    chdir("/");
    show_file("/there", "/there");
    show_file("/hello (the old root's)", "/hello");
    show_cwd("cwd");
}

/* -- without privilege -------------------------------------------------------------- */

static void test_unprivileged(void)
{
    chmod(top, 0755);
    mkdir(at("t"), 0755);
    mount("none", at("t"), "tmpfs", 0, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setuid(65534);
        result("chroot", chroot("/"));
        result("chroot of a missing dir", chroot("/nonexistent-dir-xyz"));
        result("mount", mount("none", at("t"), "tmpfs", 0, NULL));
        result("mount on a missing dir", mount("none", at("missing"), "tmpfs", 0, NULL));
        result("umount", umount(at("t")));
        result("unshare(CLONE_NEWUTS)", unshare(CLONE_NEWUTS));
        result("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
        result("sethostname", sethostname("x", 1));
        result("pivot_root", syscall(SYS_pivot_root, "/", "/"));
        result("setns", setns(open("/proc/self/ns/uts", O_RDONLY), 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    result("umount as root", umount(at("t")));
}

/* -- running each in a private namespace -------------------------------------------- */

static int remove_one(const char *path, const struct stat *st, int kind, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return kind == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tree(const char *dir)
{
    if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        printf("removing %s: %s\n", dir, errname(errno));
}

static void run(const char *name, void (*body)(void))
{
    if (!section(name))
        return;
    fflush(stdout);
    strcpy(top, "/tmp/mounts.XXXXXX");
    if (mkdtemp(top) == NULL) {
        printf("mkdtemp: %s\n", errname(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* a namespace of its own whose mounts never reach the host's */
        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            printf("private namespace: %s\n", errname(errno));
        body();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("section child: status %#x\n", status);
    remove_tree(top);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    run("chroot", test_chroot);
    run("tmpfs", test_tmpfs);
    run("bind", test_bind);
    run("proc_mounts", test_proc_mounts);
    run("pseudo", test_pseudo);
    run("unshare", test_unshare);
    run("pivot_root", test_pivot_root);
    run("unprivileged", test_unprivileged);
    return 0;
}
