/* escapes.c — attempts to get out of the CloudOS sandbox, one line per attempt:
 *   "NAME: held ERRNO" or "NAME: held SIGNAL"  the system refused;
 *   "NAME: ok DETAIL"                           it worked inside the guest (a guest path, the
 *                                               guest's own tmpfs): test_escapes.py judges it
 *                                               from the host side;
 *   "NAME: ESCAPED DETAIL"                      the guest got something of the host.
 * argv[1] picks a section (fs swap proc chroot handles devices mount sockets inet tty procs
 * caps cpu secrets pseudo) or "all". The host's side of the test is described by -e variables:
 * ESC_BASE (the host directory holding every mount and outside/), ESC_PIDS (host pids),
 * ESC_PORT (a host TCP port listening on 127.0.0.1), ESC_ABSTRACT (a host abstract socket
 * name), ESC_HANDLE (a host file handle "TYPE:HEX" of outside/canary.txt), ESC_INJECT (a host
 * path TIOCSTI would have a shell touch), ESC_SWAPS (iterations of the swap walk).
 * Guest mounts: /esc/ro (read-only), /esc/rw and /esc/swap (:rw), /esc/bin (this program).
 * Every host file outside the mounts holds "CLOUDOS-CANARY": reading it is an escape.
 * CloudOS only: natively, as root, several attempts would succeed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <ifaddrs.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <termios.h>
#include <unistd.h>
#include "../../include/cloudos.h"

#define CANARY "CLOUDOS-CANARY"

static const char *only;
static char base[512];  /* the host directory of the test (no trailing slash) */

static int section(const char *name)
{
    if (only && strcmp(only, "all") != 0 && strcmp(only, name) != 0)
        return 0;
    printf("== %s\n", name);
    return 1;
}

static void held(const char *name)
{
    printf("%s: held %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
}

/* Reads a path; the canary in what comes back is an escape. */
static void try_read(const char *name, const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return held(name);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int err = errno;
    close(fd);
    if (n < 0) {
        errno = err;
        return held(name);
    }
    buf[n] = 0;
    if (strstr(buf, CANARY))
        printf("%s: ESCAPED read the host's %s\n", name, path);
    else
        printf("%s: ok read %zd bytes of a guest file\n", name, n);
}

static void try_read_at(const char *name, int dirfd, const char *path)
{
    char buf[256];
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd < 0)
        return held(name);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    printf("%s: %s\n", name, strstr(buf, CANARY) ? "ESCAPED read the host's file" : "ok a guest file");
}

/* Writes through a path: what the host gets is checked by the test. */
static void try_write(const char *name, const char *path, int flags)
{
    int fd = open(path, O_WRONLY | flags, 0644);
    if (fd < 0)
        return held(name);
    if (write(fd, "PWNED", 5) < 0)
        held(name);
    else
        printf("%s: ok wrote a guest file\n", name);
    close(fd);
}

static void result(const char *name, long r)
{
    if (r < 0)
        held(name);
    else
        printf("%s: ok %ld\n", name, r);
}

static char *join(const char *a, const char *b)
{
    static char bufs[8][1024];
    static int next;
    char *out = bufs[next++ % 8];
    snprintf(out, sizeof bufs[0], "%s%s", a, b);
    return out;
}

/* --- file system: '..' and symlinks out of every mount --------------------------------- */

static void fs_mount(const char *m, int writable)
{
    char name[128], path[1024];
    const char *reads[][2] = {
        {"dotdot", "/../outside/canary.txt"}, {"host_rel_link", "/up"},
        {"host_abs_link", "/abs"}, {"host_rel_dirlink", "/updir/canary.txt"},
        {"host_abs_dirlink", "/absdir/canary.txt"}, {"host_deep_link", "/deep"},
        {"host_root_link", "/rootlink/etc/shadow"}, {"host_loop_link", "/loop"},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        snprintf(name, sizeof name, "fs.%s.%s", m + 5, reads[i][0]);
        try_read(name, join(m, reads[i][1]));
    }
    snprintf(path, sizeof path, "%s/../../../../../../../..%s/outside/canary.txt", m, base);
    snprintf(name, sizeof name, "fs.%s.many_dotdots", m + 5);
    try_read(name, path);
    snprintf(path, sizeof path, "%s/rootlink%s/outside/canary.txt", m, base);
    snprintf(name, sizeof name, "fs.%s.root_link_to_base", m + 5);
    try_read(name, path);

    int dir = open(m, O_RDONLY | O_DIRECTORY);
    snprintf(name, sizeof name, "fs.%s.openat_dotdot", m + 5);
    snprintf(path, sizeof path, "../../../../..%s/outside/canary.txt", base);
    try_read_at(name, dir, path);
    snprintf(name, sizeof name, "fs.%s.chdir_dotdot", m + 5);
    if (fchdir(dir) == 0) {
        for (int i = 0; i < 40; i++)
            if (chdir("..") != 0)
                break;
        try_read(name, join(base + 1, "/outside/canary.txt"));  /* relative, from "/" */
        chdir("/");
    } else {
        held(name);
    }
    close(dir);

    if (!writable)
        return;
    const char *writes[][2] = {
        {"write_rel_link", "/up"}, {"write_abs_link", "/abs"},
        {"create_in_rel_dirlink", "/updir/new.txt"}, {"create_in_abs_dirlink", "/absdir/new.txt"},
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        snprintf(name, sizeof name, "fs.%s.%s", m + 5, writes[i][0]);
        try_write(name, join(m, writes[i][1]), O_CREAT | O_TRUNC);
    }
    snprintf(name, sizeof name, "fs.%s.mkdir_in_dirlink", m + 5);
    result(name, mkdir(join(m, "/absdir/newdir"), 0755));
    snprintf(name, sizeof name, "fs.%s.unlink_in_dirlink", m + 5);
    result(name, unlink(join(m, "/updir/canary.txt")));
    snprintf(name, sizeof name, "fs.%s.rename_out", m + 5);
    result(name, rename(join(m, "/inside.txt"), join(m, "/updir/moved.txt")));
    snprintf(name, sizeof name, "fs.%s.chmod_through_link", m + 5);
    result(name, chmod(join(m, "/abs"), 0777));
    snprintf(name, sizeof name, "fs.%s.truncate_through_link", m + 5);
    result(name, truncate(join(m, "/up"), 0));
    snprintf(name, sizeof name, "fs.%s.hardlink_follow", m + 5);
    result(name, linkat(AT_FDCWD, join(m, "/abs"), AT_FDCWD, join(m, "/hard"), AT_SYMLINK_FOLLOW));

    /* Links the guest makes itself, to the host's absolute path and up past the mount. */
    snprintf(path, sizeof path, "%s/outside/canary.txt", base);
    snprintf(name, sizeof name, "fs.%s.guest_abs_link", m + 5);
    result(name, symlink(path, join(m, "/glink")));
    snprintf(name, sizeof name, "fs.%s.guest_abs_link_read", m + 5);
    try_read(name, join(m, "/glink"));
    snprintf(name, sizeof name, "fs.%s.guest_abs_link_write", m + 5);
    try_write(name, join(m, "/glink"), O_TRUNC);
    snprintf(path, sizeof path, "../../../../../..%s/outside", base);
    snprintf(name, sizeof name, "fs.%s.guest_up_dirlink", m + 5);
    result(name, symlink(path, join(m, "/gdir")));
    snprintf(name, sizeof name, "fs.%s.guest_up_dirlink_read", m + 5);
    try_read(name, join(m, "/gdir/canary.txt"));
    snprintf(name, sizeof name, "fs.%s.guest_up_dirlink_create", m + 5);
    try_write(name, join(m, "/gdir/gnew.txt"), O_CREAT);
    snprintf(name, sizeof name, "fs.%s.guest_dotdot_link", m + 5);
    result(name, symlink("../outside", join(m, "/gup")));
    snprintf(name, sizeof name, "fs.%s.guest_dotdot_link_read", m + 5);
    try_read(name, join(m, "/gup/canary.txt"));
    snprintf(name, sizeof name, "fs.%s.hardlink_across_mounts", m + 5);
    result(name, link("/esc/ro/inside.txt", join(m, "/hard2")));
}

static void fs(void)
{
    fs_mount("/esc/ro", 0);
    fs_mount("/esc/rw", 1);
}

/* --- a host directory swapped for a symlink while the guest walks it ------------------- */

static int lists_outside(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL)
        found |= strcmp(e->d_name, "outside-only.txt") == 0;
    if (d)
        closedir(d);
    return found;
}

static void swap(void)
{
    int n = getenv("ESC_SWAPS") ? atoi(getenv("ESC_SWAPS")) : 300;
    int inside = 0, refused = 0, leaked = 0, listed = 0, wrote = 0;
    char buf[256];
    for (int i = 0; i < n; i++) {
        int fd = open(i % 2 ? "/esc/swap/d/canary.txt" : "/esc/swap/d/../d/canary.txt", O_RDONLY);
        if (fd >= 0) {
            ssize_t k = read(fd, buf, sizeof buf - 1);
            buf[k > 0 ? k : 0] = 0;
            close(fd);
            if (strstr(buf, CANARY))
                leaked++;
            else
                inside++;
        } else {
            refused++;
        }
        if (i % 4 == 0 && chdir("/esc/swap/d") == 0) {
            fd = open("canary.txt", O_RDONLY);
            if (fd >= 0) {
                ssize_t k = read(fd, buf, sizeof buf - 1);
                buf[k > 0 ? k : 0] = 0;
                leaked += strstr(buf, CANARY) != NULL;
                close(fd);
            }
            chdir("/");
        }
        if (i % 4 == 1)
            listed += lists_outside("/esc/swap/d");
        if (i % 4 == 2) {
            fd = open("/esc/swap/d/canary.txt", O_WRONLY | O_APPEND);
            if (fd >= 0) {
                wrote += write(fd, "guest\n", 6) == 6;
                close(fd);
            }
            fd = open("/esc/swap/d/guest-new.txt", O_WRONLY | O_CREAT, 0644);
            if (fd >= 0)
                close(fd);
            unlink("/esc/swap/d/guest-new.txt");
        }
    }
    if (leaked || listed)
        printf("swap.walk: ESCAPED %d reads and %d listings of the host's outside/ "
               "(%d inside)\n", leaked, listed, inside);
    else
        printf("swap.walk: held %d reads inside, %d refused, %d appends inside\n",
               inside, refused, wrote);
}

/* --- /proc ----------------------------------------------------------------------------- */

static void proc_links_of(const char *pid)
{
    char name[128], path[1024];
    snprintf(name, sizeof name, "proc.%s.root", pid);
    snprintf(path, sizeof path, "/proc/%s/root%s/outside/canary.txt", pid, base);
    try_read(name, path);
    snprintf(name, sizeof name, "proc.%s.root_dotdot", pid);
    snprintf(path, sizeof path, "/proc/%s/root/../../..%s/outside/canary.txt", pid, base);
    try_read(name, path);
    snprintf(name, sizeof name, "proc.%s.cwd_dotdot", pid);
    snprintf(path, sizeof path, "/proc/%s/cwd/../outside/canary.txt", pid);
    try_read(name, path);
    snprintf(name, sizeof name, "proc.%s.root_shadow", pid);
    snprintf(path, sizeof path, "/proc/%s/root/etc/shadow", pid);
    try_read(name, path);
    snprintf(name, sizeof name, "proc.%s.environ", pid);
    snprintf(path, sizeof path, "/proc/%s/environ", pid);
    char buf[65536];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return held(name);
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    printf("%s: %s\n", name, n > 0 && memmem(buf, n, CANARY, strlen(CANARY))
           ? "ESCAPED the host's canary variable" : "ok no canary");
}

static void proc(void)
{
    char path[1024], link[1024];
    if (chdir("/esc/ro") != 0)
        printf("proc.chdir: held %s\n", strerrorname_np(errno));
    proc_links_of("self");
    proc_links_of("1");
    DIR *d = opendir("/proc");
    struct dirent *e;
    int pids = 0;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && strcmp(e->d_name, "1") != 0 && pids++ < 4)
            proc_links_of(e->d_name);
    if (d)
        closedir(d);
    int dir = open("/esc/ro", O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "/proc/self/fd/%d/../outside/canary.txt", dir);
    try_read("proc.fd_dotdot", path);
    snprintf(path, sizeof path, "/proc/self/fd/%d/up", dir);
    try_read("proc.fd_host_link", path);
    close(dir);
    const char *links[] = {"/proc/self/root", "/proc/self/cwd", "/proc/self/exe"};
    for (int i = 0; i < 3; i++) {
        ssize_t n = readlink(links[i], link, sizeof link - 1);
        link[n > 0 ? n : 0] = 0;
        if (n < 0)
            printf("proc.readlink%s: held %s\n", links[i] + 10, strerrorname_np(errno));
        else
            printf("proc.readlink%s: %s %s\n", links[i] + 10,
                   strstr(link, base) ? "ESCAPED shows the host path" : "ok", link);
    }
    try_read("proc.exe_dotdot", "/proc/self/exe/../../outside/canary.txt");
    try_write("proc.exe_write", "/proc/self/exe", 0);
    try_read("proc.kcore", "/proc/kcore");
    try_read("proc.kallsyms", "/proc/kallsyms");
    try_read("proc.host_mem", "/proc/self/mem");  /* the guest's own: offset 0 is unmapped */
    chdir("/");
    const char *pids_env = getenv("ESC_PIDS");
    char pids_copy[256];
    snprintf(pids_copy, sizeof pids_copy, "%s", pids_env ? pids_env : "");
    for (char *p = strtok(pids_copy, ","); p; p = strtok(NULL, ",")) {
        char name[64];
        snprintf(name, sizeof name, "host_%s", p);
        struct stat st;
        snprintf(path, sizeof path, "/proc/%s", p);
        if (stat(path, &st) == 0) {
            printf("proc.%s.exists: ok (a guest pid too)\n", name);
            continue;
        }
        printf("proc.%s.exists: held %s\n", name, strerrorname_np(errno));
    }
}

/* --- chroot and '..' ------------------------------------------------------------------- */

static void chroot_escape(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/outside/canary.txt", base);
    mkdir("/tmp/jail", 0755);
    mkdir("/tmp/jail/inner", 0755);
    int top = open("/", O_RDONLY | O_DIRECTORY);
    pid_t child = fork();
    if (child == 0) {
        int r = chroot("/tmp/jail");
        result("chroot.enter", r);
        if (r == 0) {
            chdir("inner");
            for (int i = 0; i < 40; i++)
                chdir("..");
            try_read("chroot.dotdot", path);
            fchdir(top);  /* the classic: a directory fd from outside the chroot */
            for (int i = 0; i < 40; i++)
                chdir("..");
            result("chroot.fchdir_out", chroot("."));
            try_read("chroot.fchdir_dotdot", path + 1);
            try_read("chroot.fchdir_shadow", "etc/shadow");
        }
        result("chroot.esc_ro", chroot("/esc/ro"));
        for (int i = 0; i < 40; i++)
            chdir("..");
        try_read("chroot.esc_ro_dotdot", "outside/canary.txt");
        try_read("chroot.esc_ro_host", path);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    close(top);
}

/* --- file handles ---------------------------------------------------------------------- */

static void handles(void)
{
    struct { struct file_handle h; unsigned char bytes[128]; } fh;
    int mount_id;
    fh.h.handle_bytes = 128;
    result("handles.name_to_handle_at",
           name_to_handle_at(AT_FDCWD, "/esc/ro/inside.txt", &fh.h, &mount_id, 0));
    const char *host = getenv("ESC_HANDLE");
    int mfd = open("/esc/rw", O_RDONLY | O_DIRECTORY);
    if (host && strchr(host, ':')) {  /* the host's own handle of outside/canary.txt */
        fh.h.handle_type = atoi(host);
        const char *hex = strchr(host, ':') + 1;
        fh.h.handle_bytes = strlen(hex) / 2;
        for (unsigned i = 0; i < fh.h.handle_bytes && i < 128; i++)
            sscanf(hex + 2 * i, "%2hhx", &fh.bytes[i]);
        const char *mounts[] = {"/esc/rw", "/esc/ro", "/", "/tmp"};
        for (int i = 0; i < 4; i++) {
            char name[64];
            snprintf(name, sizeof name, "handles.host_handle_at%s", mounts[i]);
            int dfd = open(mounts[i], O_RDONLY | O_DIRECTORY);
            int fd = open_by_handle_at(dfd, &fh.h, O_RDONLY);
            if (fd < 0) {
                held(name);
            } else {
                char buf[256] = {0};
                read(fd, buf, sizeof buf - 1);
                printf("%s: %s\n", name, strstr(buf, CANARY) ? "ESCAPED read the host file"
                                                          : "ok a guest file");
                close(fd);
            }
            close(dfd);
        }
    }
    int accepted = 0;  /* guessed handles: inode numbers with generation 0 */
    for (unsigned ino = 2; ino < 200; ino++) {
        fh.h.handle_type = 1;  /* FILEID_INO32_GEN */
        fh.h.handle_bytes = 8;
        memcpy(fh.bytes, &ino, 4);
        memset(fh.bytes + 4, 0, 4);
        int fd = open_by_handle_at(mfd, &fh.h, O_RDONLY);
        if (fd >= 0) {
            accepted++;
            close(fd);
        }
    }
    printf("handles.guessed: %s %d of 198 opened\n", accepted ? "ESCAPED" : "held", accepted);
    close(mfd);
}

/* --- device nodes ---------------------------------------------------------------------- */

static void devices(void)
{
    const char *devs[] = {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/sda", "/dev/vda",
                          "/dev/nvme0n1", "/dev/kmsg", "/dev/tty0", "/dev/loop0"};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "devices.open%s", devs[i] + 4);
        int fd = open(devs[i], O_RDONLY);
        if (fd < 0) {
            held(name);
        } else {
            printf("%s: ESCAPED opened the host's %s\n", name, devs[i]);
            close(fd);
        }
    }
    struct { const char *path; mode_t kind; int major, minor; } nodes[] = {
        {"/tmp/mem", S_IFCHR, 1, 1}, {"/tmp/kmem", S_IFCHR, 1, 2}, {"/tmp/port", S_IFCHR, 1, 4},
        {"/tmp/sda", S_IFBLK, 8, 0}, {"/esc/rw/mem", S_IFCHR, 1, 1}, {"/esc/rw/sda", S_IFBLK, 8, 0},
        {"/esc/rw/ttyS0", S_IFCHR, 4, 64},
    };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "devices.mknod%s", nodes[i].path);
        if (mknod(nodes[i].path, nodes[i].kind | 0666, makedev(nodes[i].major, nodes[i].minor)) != 0) {
            held(name);
            continue;
        }
        snprintf(name, sizeof name, "devices.open_made%s", nodes[i].path);
        int fd = open(nodes[i].path, O_RDONLY);
        if (fd < 0) {
            held(name);
        } else {
            char buf[16];
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0)
                held(name);
            else
                printf("%s: ESCAPED device %d:%d read %zd bytes\n", name, nodes[i].major,
                       nodes[i].minor, n);
            close(fd);
        }
    }
}

/* --- mount and namespaces ------------------------------------------------------------- */

static void mounts(void)
{
    mkdir("/tmp/p", 0755);
    result("mount.proc", mount("proc", "/tmp/p", "proc", 0, NULL));
    result("mount.sysfs", mount("sysfs", "/tmp/p", "sysfs", 0, NULL));
    result("mount.devtmpfs", mount("devtmpfs", "/tmp/p", "devtmpfs", 0, NULL));
    result("mount.bind_root", mount("/", "/tmp/p", NULL, MS_BIND | MS_REC, NULL));
    result("mount.remount_rw", mount(NULL, "/esc/ro", NULL, MS_REMOUNT | MS_BIND, NULL));
    try_write("mount.write_after_remount", "/esc/ro/made-after-remount", O_CREAT);
    result("mount.umount_ro", umount2("/esc/ro", MNT_DETACH));
    result("mount.umount_root", umount2("/", MNT_DETACH));
    result("mount.pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp/p"));
    result("mount.unshare", unshare(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID));
    result("mount.setns", setns(0, 0));
    result("mount.open_tree", syscall(428, AT_FDCWD, "/esc/ro", 1 /* OPEN_TREE_CLONE */));
    result("mount.fsopen", syscall(430, "proc", 0));
    try_read("mount.after_dotdot", join(join("/esc/ro/..", base), "/outside/canary.txt"));
}

/* --- host UNIX sockets and the network ------------------------------------------------- */

static void try_connect(const char *name, int domain, int type, struct sockaddr *sa, socklen_t len)
{
    int s = socket(domain, type, 0);
    if (s < 0)
        return held(name);
    if (connect(s, sa, len) != 0)
        held(name);
    else
        printf("%s: ESCAPED connected\n", name);
    close(s);
}

static void sockets(void)
{
    const char *paths[] = {"/esc/rw/host.sock", "/esc/ro/host.sock", "/esc/rw/dgram.sock"};
    for (int i = 0; i < 3; i++) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char name[64];
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", paths[i]);
        snprintf(name, sizeof name, "sockets.path_stream%s", paths[i] + 4);
        try_connect(name, AF_UNIX, SOCK_STREAM, (struct sockaddr *)&sa, sizeof sa);
        snprintf(name, sizeof name, "sockets.path_dgram%s", paths[i] + 4);
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (s < 0 || sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
            held(name);
        else
            printf("%s: ESCAPED sent a datagram\n", name);
        if (s >= 0)
            close(s);
    }
    const char *abstract = getenv("ESC_ABSTRACT");
    if (abstract) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(abstract);
        memcpy(sa.sun_path + 1, abstract, len);
        socklen_t salen = offsetof(struct sockaddr_un, sun_path) + 1 + len;
        try_connect("sockets.abstract_stream", AF_UNIX, SOCK_STREAM, (struct sockaddr *)&sa, salen);
        try_connect("sockets.abstract_seqpacket", AF_UNIX, SOCK_SEQPACKET, (struct sockaddr *)&sa, salen);
    }
}

static void inet(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    sa.sin_port = htons(getenv("ESC_PORT") ? atoi(getenv("ESC_PORT")) : 1);
    try_connect("inet.tcp_loopback", AF_INET, SOCK_STREAM, (struct sockaddr *)&sa, sizeof sa);
    /* A UDP datagram to the host's port on 127.0.0.1 goes to the guest's own loopback,
     * where nobody holds that port: the host's socket must not get it (test_escapes.py
     * checks), and a connected socket hears the port is unreachable. */
    struct sockaddr_in su = sa;
    su.sin_port = htons(getenv("ESC_UDP_PORT") ? atoi(getenv("ESC_UDP_PORT")) : 1);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    char byte;
    if (u < 0 || connect(u, (struct sockaddr *)&su, sizeof su) < 0 || send(u, "x", 1, 0) < 0
        || recv(u, &byte, 1, 0) < 0)
        held("inet.udp_loopback");
    else
        printf("inet.udp_loopback: ESCAPED an answer\n");
    if (u >= 0)
        close(u);
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = sa.sin_port,
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    try_connect("inet.tcp6_loopback", AF_INET6, SOCK_STREAM, (struct sockaddr *)&sa6, sizeof sa6);
    /* The guest's rtnetlink shows its own lo, never the host's interfaces. */
    struct ifaddrs *ifs = NULL;
    const char *seen = NULL;
    if (getifaddrs(&ifs) == 0)
        for (struct ifaddrs *i = ifs; i && !seen; i = i->ifa_next)
            if (strcmp(i->ifa_name, "lo") != 0)
                seen = i->ifa_name;
    if (seen)
        printf("inet.host_interfaces: ESCAPED saw %s\n", seen);
    else
        held("inet.host_interfaces");
    if (ifs)
        freeifaddrs(ifs);
    int generic = socket(AF_NETLINK, SOCK_RAW, 16 /* NETLINK_GENERIC */);
    if (generic < 0)
        held("inet.socket_netlink_generic");
    else
        printf("inet.socket_netlink_generic: ESCAPED a socket\n");
    int families[][3] = {{AF_PACKET, SOCK_RAW, 0x0300},
                         {AF_INET, SOCK_RAW, IPPROTO_ICMP}, {40 /* AF_VSOCK */, SOCK_STREAM, 0},
                         {AF_BLUETOOTH, SOCK_RAW, 0}, {AF_ALG, SOCK_SEQPACKET, 0}};
    const char *names[] = {"packet", "raw_icmp", "vsock", "bluetooth", "alg"};
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "inet.socket_%s", names[i]);
        int s = socket(families[i][0], families[i][1], families[i][2]);
        if (s < 0)
            held(name);
        else
            printf("%s: ESCAPED a socket of family %d\n", name, families[i][0]);
        if (s >= 0)
            close(s);
    }
}

/* --- the console: TIOCSTI and its kin ------------------------------------------------- */

static void tty(void)
{
    char cmd[600];
    const char *inject = getenv("ESC_INJECT");
    snprintf(cmd, sizeof cmd, "touch %s\n", inject ? inject : "/tmp/cloudos-injected");
    int fds[] = {0, 1, 2, open("/dev/tty", O_RDWR | O_NOCTTY), open("/dev/console", O_RDWR | O_NOCTTY)};
    const char *names[] = {"stdin", "stdout", "stderr", "dev_tty", "dev_console"};
    printf("tty.stdin_isatty: ok %d\n", isatty(0));
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "tty.tiocsti_%s", names[i]);
        int ok = fds[i] >= 0;
        for (char *c = cmd; ok && *c; c++)
            ok = ioctl(fds[i], TIOCSTI, c) == 0;
        if (!ok)
            held(name);
        else  /* it may reach the guest's own input queue; the host's shell is checked */
            printf("%s: ok pushed into the guest's input\n", name);
        snprintf(name, sizeof name, "tty.tioccons_%s", names[i]);
        result(name, fds[i] < 0 ? -1 : ioctl(fds[i], TIOCCONS));
        snprintf(name, sizeof name, "tty.tioclinux_%s", names[i]);
        char sub = 12;  /* TIOCL_GETKMSGREDIRECT */
        result(name, fds[i] < 0 ? -1 : ioctl(fds[i], TIOCLINUX, &sub));
    }
    /* Drain what the guest pushed into its own queue, so nothing is left to echo. */
    tcflush(0, TCIFLUSH);
}

/* --- other processes: the host's pids --------------------------------------------------- */

static int guest_pid(int pid)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d", pid);
    return stat(path, &st) == 0;
}

static void procs(void)
{
    const char *pids_env = getenv("ESC_PIDS");
    char copy[256];
    snprintf(copy, sizeof copy, "%s", pids_env ? pids_env : "");
    for (char *p = strtok(copy, ","); p; p = strtok(NULL, ",")) {
        int pid = atoi(p);
        char name[64];
        char buf[64];
        struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
        if (guest_pid(pid)) {
            printf("procs.host_%d: ok also a guest pid (skipped)\n", pid);
            continue;
        }
        snprintf(name, sizeof name, "procs.host_%d.kill0", pid);
        result(name, kill(pid, 0));
        snprintf(name, sizeof name, "procs.host_%d.kill_stop", pid);
        result(name, kill(pid, SIGSTOP));
        snprintf(name, sizeof name, "procs.host_%d.tgkill", pid);
        result(name, syscall(SYS_tgkill, pid, pid, SIGSTOP));
        snprintf(name, sizeof name, "procs.host_%d.sigqueue", pid);
        result(name, syscall(SYS_rt_sigqueueinfo, pid, SIGSTOP, &(siginfo_t){0}));
        snprintf(name, sizeof name, "procs.host_%d.ptrace_attach", pid);
        result(name, ptrace(PTRACE_ATTACH, pid, 0, 0));
        snprintf(name, sizeof name, "procs.host_%d.ptrace_seize", pid);
        result(name, ptrace(PTRACE_SEIZE, pid, 0, 0));
        snprintf(name, sizeof name, "procs.host_%d.vm_readv", pid);
        result(name, process_vm_readv(pid, &local, 1, &remote, 1, 0));
        snprintf(name, sizeof name, "procs.host_%d.vm_writev", pid);
        result(name, process_vm_writev(pid, &local, 1, &remote, 1, 0));
        snprintf(name, sizeof name, "procs.host_%d.pidfd_open", pid);
        result(name, syscall(SYS_pidfd_open, pid, 0));
        snprintf(name, sizeof name, "procs.host_%d.kcmp", pid);
        result(name, syscall(SYS_kcmp, getpid(), pid, 0, 0, 0));
        snprintf(name, sizeof name, "procs.host_%d.setpgid", pid);
        result(name, setpgid(pid, getpid()));
        snprintf(name, sizeof name, "procs.host_%d.getsid", pid);
        result(name, getsid(pid));
        snprintf(name, sizeof name, "procs.host_%d.prlimit", pid);
        struct rlimit lim = {0, 0};
        result(name, prlimit(pid, RLIMIT_NOFILE, &lim, NULL));
        snprintf(name, sizeof name, "procs.host_%d.sched_setaffinity", pid);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        result(name, sched_setaffinity(pid, sizeof set, &set));
    }
    int answered = 0, first = 0;  /* every pid that answers kill(0) must be a guest process */
    for (int pid = 2; pid < 5000; pid++)
        if (kill(pid, 0) == 0 && !guest_pid(pid) && answered++ == 0)
            first = pid;
    if (answered)
        printf("procs.kill_scan: ESCAPED %d pids not in the guest answer (first %d)\n", answered, first);
    else
        printf("procs.kill_scan: held no pid outside the guest answers\n");
}

/* --- capability tokens ------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t token(unsigned type, uint32_t obj, unsigned rights, unsigned mac)
{
    return (uint64_t)type << 56 | (uint64_t)obj << 24 | (uint64_t)(rights & 0xFFFF) << 8 | 1u << 7 | (mac & 0x7F);
}

/* A token is honoured when inspect works on it (with a right beyond ``allowed``, when it
 * names something held) or grant derives from it (which needs GRANT: no ``allowed`` has it). */
static int honoured(uint64_t t, unsigned allowed)
{
    struct cloudos_cap_info info;
    if (cloudos_cap_inspect(t, &info) == 0 && (allowed == 0 || (info.rights & ~allowed)))
        return 1;
    return cloudos_cap_grant(t, CLOUDOS_RIGHT_SEND) >= 0;
}

static long held_tokens[2];  /* the port this process made and the narrowed copy */
static int tried, accepted;

/* One forged token; an exact copy of a token this process holds is no forgery. */
static void forge(uint64_t t, unsigned allowed_rights)
{
    if (t == (uint64_t)held_tokens[0] || t == (uint64_t)held_tokens[1])
        return;
    tried++;
    if (honoured(t, allowed_rights)) {
        if (accepted++ == 0)
            printf("caps.first_accepted: %#llx\n", (unsigned long long)t);
    }
}

static void caps(void)
{
    long port = cloudos_port_create();
    if (port < 0) {
        printf("caps.port_create: held %s (no native calls: nothing to forge)\n", strerrorname_np(errno));
        return;
    }
    struct cloudos_cap_info info;
    cloudos_cap_inspect(port, &info);
    long narrow = cloudos_cap_grant(port, CLOUDOS_RIGHT_SEND);
    held_tokens[0] = port;
    held_tokens[1] = narrow;
    result("caps.narrow", narrow);
    result("caps.widen_by_grant", cloudos_cap_grant(narrow, 0xFFFF));
    uint32_t obj = (narrow >> 24) & 0xFFFFFFFF;
    /* Widened: the narrowed token with more rights and each of the 128 checksums. */
    for (unsigned mac = 0; mac < 128; mac++)
        forge(token(narrow >> 56, obj, 0xFFFF & ~CLOUDOS_RIGHT_READ, mac), CLOUDOS_RIGHT_SEND);
    for (unsigned r = 0; r < 16; r++)
        for (unsigned mac = 0; mac < 128 && (1u << r) != CLOUDOS_RIGHT_SEND; mac++)
            forge(token(narrow >> 56, obj, CLOUDOS_RIGHT_SEND | 1u << r, mac), CLOUDOS_RIGHT_SEND);
    /* A port another process holds: its exact token, and each checksum. */
    int pipefd[2];
    pipe(pipefd);
    pid_t child = fork();
    if (child == 0) {
        long theirs = cloudos_port_create();
        write(pipefd[1], &theirs, sizeof theirs);
        pause();
        _exit(0);
    }
    long theirs = -1;
    read(pipefd[0], &theirs, sizeof theirs);
    for (unsigned mac = 0; mac < 128 && theirs > 0; mac++)
        forge(((uint64_t)theirs & ~0x7Full) | mac, 0);
    /* Tokens of every type, objects near the real ones, every right. */
    while (tried < 7000)
        forge(token(1 + rng() % 5, (uint32_t)(info.object + (rng() % 64) - 32), 0xFFFF, rng()), 0);
    while (tried < 10000) {  /* and plain random 64-bit values, none naming our port */
        uint64_t t = rng();
        if ((t >> 24) != ((uint64_t)port >> 24) && (t >> 24) != ((uint64_t)narrow >> 24))
            forge(t, 0);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("caps.forged: %s %d of %d forged or widened tokens accepted\n",
           accepted ? "ESCAPED" : "held", accepted, tried);
}

/* --- privileged instructions and the kernel half ---------------------------------------- */

static sigjmp_buf back;
static void on_signal(int sig) { siglongjmp(back, sig); }

static void attempt(const char *name, void (*body)(void))
{
    int sig = sigsetjmp(back, 1);
    if (sig == 0) {
        body();
        printf("cpu.%s: ESCAPED ran at ring 3\n", name);
    } else {
        printf("cpu.%s: held %s\n", name, sigabbrev_np(sig));
    }
}

static volatile uint64_t sink;
#define KHALF 0xffff800000000000ull
static void hlt(void) { __asm__ volatile("hlt"); }
static void cli(void) { __asm__ volatile("cli"); }
static void sti(void) { __asm__ volatile("sti"); }
static void rd_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); sink = v; }
static void wr_cr3(void) { __asm__ volatile("mov %0, %%cr3" : : "r"(0ull)); }
static void wr_cr0(void) { __asm__ volatile("mov %0, %%cr0" : : "r"(0x80000011ull)); }
static void wr_cr4(void) { __asm__ volatile("mov %0, %%cr4" : : "r"(0ull)); }
static void wr_dr7(void) { __asm__ volatile("mov %0, %%dr7" : : "r"(0x400ull)); }
static void wrmsr(void) { __asm__ volatile("wrmsr" : : "c"(0xC0000082u), "a"(0), "d"(0)); }
static void rdmsr(void) { uint32_t a, d; __asm__ volatile("rdmsr" : "=a"(a), "=d"(d) : "c"(0xC0000080u)); sink = a; }
static void lgdt(void) { struct { uint16_t l; uint64_t b; } __attribute__((packed)) t = {0, 0}; __asm__ volatile("lgdt %0" : : "m"(t)); }
static void lidt(void) { struct { uint16_t l; uint64_t b; } __attribute__((packed)) t = {0, 0}; __asm__ volatile("lidt %0" : : "m"(t)); }
static void ltr(void) { __asm__ volatile("ltr %0" : : "r"((uint16_t)0x40)); }
static void invlpg(void) { __asm__ volatile("invlpg (%0)" : : "r"(&sink) : "memory"); }
static void wbinvd(void) { __asm__ volatile("wbinvd"); }
static void clts(void) { __asm__ volatile("clts"); }
static void swapgs(void) { __asm__ volatile("swapgs"); }
static void sysret(void) { __asm__ volatile("sysretq"); }
static void in_port(void) { unsigned char v; __asm__ volatile("inb $0x64, %0" : "=a"(v)); sink = v; }
static void out_port(void) { __asm__ volatile("outb %0, $0x80" : : "a"((unsigned char)0)); }
static void in_dx(void) { unsigned char v; __asm__ volatile("inb %%dx, %0" : "=a"(v) : "d"(0xcf8)); sink = v; }
static void outsb(void) { char c = 0; __asm__ volatile("outsb" : : "S"(&c), "d"(0x3f8)); }
static void iretq_ring0(void)
{
    /* An iret frame that returns to the kernel's code selector (ring 0). */
    __asm__ volatile("mov %%rsp, %%rax\n push $0x10\n push %%rax\n pushfq\n push $0x08\n"
                     "lea 1f(%%rip), %%rax\n push %%rax\n iretq\n 1:" : : : "rax", "memory");
}
static void far_ring0(void)
{
    struct { uint64_t off; uint16_t sel; } __attribute__((packed)) target = {(uint64_t)&sink, 0x08};
    __asm__ volatile("rex64 ljmp *%0" : : "m"(target));
}
static void int_0e(void) { __asm__ volatile("int $0x0e"); }
static void sysenter(void) { __asm__ volatile("sysenter"); }
static void kread(void) { sink = *(volatile uint64_t *)KHALF; }
static void kread_stub(void) { sink = *(volatile uint64_t *)(KHALF + 0x4000); }
static void kwrite(void) { *(volatile uint64_t *)(KHALF + 0x1000) = 0; }
static void kwrite_top(void) { *(volatile uint64_t *)0xffffffff80000000ull = 0; }
static void kexec(void) { ((void (*)(void))(KHALF + 0x4000))(); }
static void noncanonical(void) { sink = *(volatile uint64_t *)0x0000800000000000ull; }
static void top_page(void) { sink = *(volatile uint64_t *)0x00007ffffffff000ull; }

static void cpu(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_NODEFER;
    int sigs[] = {SIGSEGV, SIGILL, SIGBUS, SIGTRAP, SIGFPE};
    for (int i = 0; i < 5; i++)
        sigaction(sigs[i], &sa, NULL);
    struct { const char *name; void (*body)(void); } cases[] = {
        {"hlt", hlt}, {"cli", cli}, {"sti", sti}, {"mov_from_cr3", rd_cr3}, {"mov_to_cr3", wr_cr3},
        {"mov_to_cr0", wr_cr0}, {"mov_to_cr4", wr_cr4}, {"mov_to_dr7", wr_dr7}, {"wrmsr", wrmsr},
        {"rdmsr", rdmsr}, {"lgdt", lgdt}, {"lidt", lidt}, {"ltr", ltr}, {"invlpg", invlpg},
        {"wbinvd", wbinvd}, {"clts", clts}, {"swapgs", swapgs}, {"sysretq", sysret},
        {"in_imm", in_port}, {"in_dx", in_dx}, {"out_imm", out_port}, {"outsb", outsb},
        {"iretq_to_ring0", iretq_ring0}, {"ljmp_to_ring0", far_ring0}, {"int_0e", int_0e},
        {"sysenter", sysenter}, {"read_kernel_half", kread}, {"read_kernel_stub", kread_stub},
        {"write_kernel_half", kwrite}, {"write_kernel_top", kwrite_top},
        {"exec_kernel_half", kexec}, {"read_noncanonical", noncanonical}, {"read_top_page", top_page},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        attempt(cases[i].name, cases[i].body);

    /* The kernel's memory through system calls: every one must be EFAULT. */
    static char buf[64] = "kernel-half pointer test\n";
    int p[2];
    pipe(p);
    struct { const char *name; uint64_t addr; } ptrs[] = {
        {"bit48", (uint64_t)buf | 1ull << 48}, {"bit63", (uint64_t)buf | 1ull << 63},
        {"kernel_half", KHALF}, {"kernel_stub", KHALF + 0x4000}, {"kernel_top", 0xffffffff80000000ull},
        {"noncanonical", 0x0000800000000000ull},
    };
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "cpu.write_from_%s", ptrs[i].name);
        result(name, write(p[1], (void *)ptrs[i].addr, 8));
        snprintf(name, sizeof name, "cpu.read_into_%s", ptrs[i].name);
        write(p[1], "XXXXXXXX", 8);
        result(name, read(p[0], (void *)ptrs[i].addr, 8));
        char drain[64];
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        while (read(p[0], drain, sizeof drain) > 0)
            ;
        snprintf(name, sizeof name, "cpu.mmap_fixed_%s", ptrs[i].name);
        void *m = mmap((void *)(ptrs[i].addr & ~0xFFFull), 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        result(name, m == MAP_FAILED ? -1 : 0);
    }
    void *m = mmap((void *)0x7ffffffff000ull, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    result("cpu.mmap_fixed_top_page", m == MAP_FAILED ? -1 : 0);
}

/* --- the default sandbox's secrets ---------------------------------------------------- */

/* /sys is the machine's own sysfs: its top-level directories, empty but for
   devices/system/cpu. Anything else (the host's kernel/, class/net/, block/ ...) came
   from the host. */
static int sysfs_walk, sysfs_foreign;

static int sysfs_entry(const char *path, const struct stat *st, int kind, struct FTW *ftw)
{
    (void)st;
    sysfs_walk++;
    int own = ftw->level <= 1 && kind == FTW_D;  /* /sys and its top-level directories */
    own |= strcmp(path, "/sys/devices/system") == 0;
    own |= strncmp(path, "/sys/devices/system/cpu", 23) == 0 && strchr("/", path[23]);
    if (!own) {
        if (sysfs_foreign < 3)
            printf("sysfs.foreign: %s\n", path);
        sysfs_foreign++;
    }
    return 0;
}

static void secrets(void)
{
    try_read("secrets.shadow", "/etc/shadow");
    try_read("secrets.gshadow", "/etc/gshadow");
    try_read("secrets.sudoers", "/etc/sudoers");
    try_read("secrets.machine_id", "/etc/machine-id");
    DIR *d = opendir("/etc/ssh");
    struct dirent *e;
    int keys = 0;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, "_key") == 0)
            keys++;
    }
    if (d)
        closedir(d);
    printf("secrets.ssh_host_keys: %s %d private keys listed\n", keys ? "ESCAPED" : "held", keys);
    const char *dirs[] = {"/root", "/home", "/run", "/srv", "/mnt", "/media",
                          "/var/log", "/boot", "/opt"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char name[64];
        int entries = 0;
        snprintf(name, sizeof name, "secrets.list%s", dirs[i]);
        d = opendir(dirs[i]);
        if (!d) {
            held(name);
            continue;
        }
        while ((e = readdir(d)) != NULL)
            entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
        closedir(d);
        printf("%s: %s %d entries\n", name, entries ? "ESCAPED" : "held", entries);
    }
    sysfs_walk = sysfs_foreign = 0;
    if (nftw("/sys", sysfs_entry, 16, FTW_PHYS) != 0)
        held("secrets.sysfs");
    else
        printf("secrets.sysfs: %s %d of %d entries not the machine's CPUs\n",
               sysfs_foreign ? "ESCAPED" : "held", sysfs_foreign, sysfs_walk);
    extern char **environ;
    int seen = 0;
    for (char **v = environ; *v; v++)
        seen |= strstr(*v, CANARY) != NULL || strncmp(*v, "CLOUDOS_ESCAPE_CANARY", 21) == 0;
    printf("secrets.environ: %s\n", seen ? "ESCAPED the host's canary variable" : "held not inherited");
    try_read("secrets.proc_self_environ", "/proc/self/environ");
}

/* --- host pseudo file systems mounted inside a shared directory ----------------------- */

static void pseudo(void)
{
    const char *mq = getenv("ESC_MQUEUE") ? getenv("ESC_MQUEUE") : "none";
    const char *kinds[][2] = {{"devtmpfs", "mem"}, {"mqueue", mq}, {"proc", "self/environ"},
                              {"sysfs", "kernel/uevent_seqnum"}};
    for (int i = 0; i < 4; i++) {
        char name[64], dir[128], path[256];
        snprintf(dir, sizeof dir, "/esc/rw/pseudo-%s", kinds[i][0]);
        snprintf(name, sizeof name, "pseudo.%s.list", kinds[i][0]);
        struct stat st;
        if (stat(dir, &st) != 0 && errno == ENOENT) {
            printf("%s: held ENOENT (not mounted by the test)\n", name);
            continue;
        }
        DIR *d = opendir(dir);
        if (!d) {
            held(name);
        } else {
            int entries = 0;
            char first[256] = "";
            struct dirent *e;
            while ((e = readdir(d)) != NULL)
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && entries++ == 0)
                    snprintf(first, sizeof first, "%s", e->d_name);
            closedir(d);
            if (entries)
                printf("%s: ESCAPED lists %d host entries (%s, ...)\n", name, entries, first);
            else
                printf("%s: held empty\n", name);
        }
        snprintf(name, sizeof name, "pseudo.%s.open", kinds[i][0]);
        snprintf(path, sizeof path, "%s/%s", dir, kinds[i][1]);
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            held(name);
            continue;
        }
        char buf[128];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
            held(name);
        else
            printf("%s: ESCAPED read %zd bytes of the host's %s\n", name, n, kinds[i][1]);
        close(fd);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct utsname u;
    if (uname(&u) != 0 || strstr(u.release, "cloudos") == NULL) {
        fprintf(stderr, "escapes: refusing to run outside CloudOS\n");
        return 3;
    }
    only = argc > 1 ? argv[1] : "all";
    snprintf(base, sizeof base, "%s", getenv("ESC_BASE") ? getenv("ESC_BASE") : "/nonexistent");
    printf("whoami: uid %d\n", (int)getuid());
    if (section("fs")) fs();
    if (section("swap")) swap();
    if (section("proc")) proc();
    if (section("chroot")) chroot_escape();
    if (section("handles")) handles();
    if (section("devices")) devices();
    if (section("mount")) mounts();
    if (section("sockets")) sockets();
    if (section("inet")) inet();
    if (section("tty")) tty();
    if (section("procs")) procs();
    if (section("caps")) caps();
    if (section("cpu")) cpu();
    if (section("secrets")) secrets();
    if (section("pseudo")) pseudo();
    printf("== done\n");
    return 0;
}
