/* dac.c — file permissions (DAC): root makes files, an unprivileged child (uid/gid 65534)
 * is allowed or denied as Linux decides: read/write/execute bits, search on directories,
 * the sticky bit, owner-only chmod/chown/utimes, new files' owner, set-group-ID
 * directories, access(2) with the real ids, chown clearing set-user-ID. Runs as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

#define NOBODY 65534

static void result(const char *label, int rc)
{
    printf("%s: %s\n", label, rc >= 0 ? "ok" : errname(errno));
}

static int open_close(const char *path, int flags)
{
    int fd = open(path, flags, 0644);
    if (fd >= 0)
        close(fd);
    return fd;
}

static void make(const char *path, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "data\n", 5) != 5)
        printf("make %s: %s\n", path, errname(errno));
    close(fd);
    chmod(path, mode);
}

static void show(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("stat %s: %s\n", path, errname(errno));
        return;
    }
    printf("%s: uid %u gid %u mode %04o\n", path, st.st_uid, st.st_gid, st.st_mode & 07777);
}

static void as_nobody(void)
{
    setgroups(0, NULL);
    if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
        printf("cannot become nobody: %s\n", errname(errno));
        return;
    }
    result("read a 0644 file", open_close("public", O_RDONLY));
    result("write a 0644 file", open_close("public", O_WRONLY));
    result("O_TRUNC a 0644 file", open_close("public", O_RDONLY | O_TRUNC));
    result("read a 0600 file", open_close("private", O_RDONLY));
    result("read a 0604 file (other bits)", open_close("other_only", O_RDONLY));
    result("O_PATH of a 0600 file", open_close("private", O_PATH));
    result("O_NOATIME of another's file", open_close("public", O_RDONLY | O_NOATIME));
    result("stat in a 0700 directory", access("closed/inner", F_OK));
    result("chdir into a 0700 directory", chdir("closed"));
    result("open a directory 0711 for reading", open_close("searchonly", O_RDONLY | O_DIRECTORY));
    result("stat through a 0711 directory", access("searchonly/inner", F_OK));
    result("execute a 0644 file", execl("./public", "public", (char *)NULL));
    result("chmod another's file", chmod("public", 0666));
    result("chown another's file to me", chown("public", NOBODY, -1));
    result("chown -1 -1 of another's file", chown("public", -1, -1));
    result("utimes now of another's 0644 file", utimensat(AT_FDCWD, "public", NULL, 0));
    result("utimes now of another's 0666 file", utimensat(AT_FDCWD, "everyone", NULL, 0));
    struct timespec ts[2] = {{1, 0}, {2, 0}};
    result("utimes explicit of another's 0666 file", utimensat(AT_FDCWD, "everyone", ts, 0));
    result("truncate another's 0644 file", truncate("public", 0));
    result("truncate another's 0666 file", truncate("everyone", 0));
    result("access R_OK 0600", access("private", R_OK));
    result("access W_OK 0666", access("everyone", W_OK));
    result("unlink in a root 0755 directory", unlink("readonly_dir/f"));
    result("create in a root 0755 directory", open_close("readonly_dir/new", O_CREAT | O_WRONLY));
    result("mkdir in a root 0755 directory", mkdir("readonly_dir/d", 0755));
    result("unlink another's file in a sticky dir", unlink("sticky/roots"));
    result("rename another's file in a sticky dir", rename("sticky/roots", "sticky/moved"));
    result("create in the sticky dir", open_close("sticky/mine", O_CREAT | O_WRONLY));
    show("sticky/mine");
    result("chmod my file 02755", chmod("sticky/mine", 02755));
    show("sticky/mine");
    result("chown my file to group 0", chown("sticky/mine", -1, 0));
    result("chown my file to my own group", chown("sticky/mine", -1, NOBODY));
    result("utimes explicit of my file", utimensat(AT_FDCWD, "sticky/mine", ts, 0));
    result("rename my file in the sticky dir", rename("sticky/mine", "sticky/mine2"));
    result("unlink my file in the sticky dir", unlink("sticky/mine2"));
    result("mkdir in the sticky dir", mkdir("sticky/mydir", 0700));
    result("rmdir it", rmdir("sticky/mydir"));
    result("symlink in a root 0755 directory", symlink("x", "readonly_dir/l"));
    result("link into the sticky dir (my own file)", open_close("sticky/f2", O_CREAT | O_WRONLY));
    result("hard link to it", link("sticky/f2", "sticky/f3"));
    result("hard link to root's 0644 file (protected_hardlinks)", link("public", "sticky/p"));
    result("hard link to root's 0666 file", link("everyone", "sticky/e"));
    result("setuid 0 again", setuid(0));
}

int main(void)
{
    if (geteuid() != 0) {
        printf("not root\n");
        return 1;
    }
    umask(022);
    testdir_enter("dac");
    chmod(".", 0755);
    make("public", 0644);
    make("private", 0600);
    make("other_only", 0604);
    make("everyone", 0666);
    mkdir("closed", 0700);
    make("closed/inner", 0644);
    mkdir("searchonly", 0711);
    make("searchonly/inner", 0644);
    mkdir("readonly_dir", 0755);
    make("readonly_dir/f", 0644);
    mkdir("sticky", 0777);
    chmod("sticky", 01777);
    make("sticky/roots", 0666);

    /* root: owner of new files, set-group-ID directories, chown clearing set-ID bits */
    mkdir("sgid", 0755);
    chown("sgid", 0, 100);
    chmod("sgid", 02755);
    make("sgid/f", 0644);
    mkdir("sgid/sub", 0755);
    show("public");
    show("sgid");
    show("sgid/f");
    show("sgid/sub");
    make("setuid", 06755);
    show("setuid");
    result("root chowns a set-ID program", chown("setuid", 1, 1));
    show("setuid");
    make("setgid_noexec", 02644);
    result("root chowns a set-group-ID file without group execute", chown("setgid_noexec", 1, 1));
    show("setgid_noexec");
    result("root reads a 0000 file", (chmod("private", 0), open_close("private", O_RDONLY)));
    result("root executes a 0644 file", access("public", X_OK));
    result("root searches a 0000 directory", (chmod("closed", 0), access("closed/inner", F_OK)));
    chmod("private", 0600);
    chmod("closed", 0700);
    symlink("public", "link");
    result("fchmodat2 AT_SYMLINK_NOFOLLOW of a link",
           syscall(SYS_fchmodat2, AT_FDCWD, "link", 0600, AT_SYMLINK_NOFOLLOW));
    result("fchmodat2 following it", syscall(SYS_fchmodat2, AT_FDCWD, "link", 0640, 0));
    show("public");
    chmod("public", 0644);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        as_nobody();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));
    /* a process that is root by its effective id only: access(2) asks for the real one */
    pid = fork();
    if (pid == 0) {
        setresuid(NOBODY, 0, 0);
        result("euid 0, real nobody: access R_OK 0600", access("private", R_OK));
        result("euid 0, real nobody: open 0600", open_close("private", O_RDONLY));
        result("euid 0, real nobody: faccessat2 AT_EACCESS R_OK 0600",
               syscall(SYS_faccessat2, AT_FDCWD, "private", R_OK, AT_EACCESS));
        result("faccessat2 bad flags", syscall(SYS_faccessat2, AT_FDCWD, "private", R_OK, 0x8));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    chdir("/");
    testdir_rm(testdir_path);
    printf("test directory removed: %s\n", access(testdir_path, F_OK) ? "yes" : "no");
    return 0;
}
