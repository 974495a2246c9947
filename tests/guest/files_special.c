/* files_special.c — special files and the less common file calls: mknod of each type and its errors (device nodes for root only), O_TMPFILE, SEEK_DATA/SEEK_HOLE, fallocate's modes (on /dev/shm, a tmpfs on Linux too), renameat2's RENAME_NOREPLACE and RENAME_EXCHANGE, utimensat's UTIME_OMIT and UTIME_NOW (argv[1] picks one section; none: all). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

static void ok(const char *label, long r)
{
    int e = errno;
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(e));
    else
        printf("%s: ok\n", label);
}

static const char *type(mode_t m)
{
    return S_ISREG(m) ? "reg" : S_ISDIR(m) ? "dir" : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "sock"
        : S_ISCHR(m) ? "chr" : S_ISBLK(m) ? "blk" : S_ISLNK(m) ? "lnk" : "?";
}

static void show(const char *name)
{
    struct stat st;
    if (lstat(name, &st) != 0) {
        printf("%s: -1 %s\n", name, errname(errno));
        return;
    }
    printf("%s: %s mode %04o", name, type(st.st_mode), st.st_mode & 07777);
    if (!S_ISDIR(st.st_mode))  /* (a directory's size is the file system's own) */
        printf(" size %ld", (long)st.st_size);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        printf(" rdev %u:%u", major(st.st_rdev), minor(st.st_rdev));
    printf("\n");
}

static void mknods(void)
{
    umask(022);
    SHOW("mknod fifo", mknod("fifo", S_IFIFO | 0666, 0));
    show("fifo");
    SHOW("mknod sock", mknod("sock", S_IFSOCK | 0600, 0));
    show("sock");
    ok("open sock", open("sock", O_RDONLY));
    SHOW("mknod reg (S_IFREG)", mknod("reg", S_IFREG | 0640, 0));
    show("reg");
    SHOW("mknod plain (type 0)", mknod("plain", 0644, 0));
    show("plain");
    SHOW("mknod dir", mknod("dir", S_IFDIR | 0755, 0));
    SHOW("mknod bad type", mknod("bad", 0160000 | 0644, 0));
    SHOW("mknod existing", mknod("fifo", S_IFIFO | 0644, 0));
    SHOW("mknod in a missing directory", mknod("nodir/x", S_IFIFO | 0644, 0));
    SHOW("mknodat", mknodat(AT_FDCWD, "fifo2", S_IFIFO | 0600, 0));
    show("fifo2");
    SHOW("mknod chr 1:3 (root)", mknod("null", S_IFCHR | 0666, makedev(1, 3)));
    show("null");
    int fd = open("null", O_RDWR);
    ok("open it", fd);
    SHOW("write to it", write(fd, "gone", 4));
    char buf[8];
    SHOW("read from it", read(fd, buf, sizeof buf));
    close(fd);
    SHOW("mknod chr 42:42 (no driver)", mknod("nodev", S_IFCHR | 0600, makedev(42, 42)));
    show("nodev");
    ok("open it", open("nodev", O_RDONLY));
    mkdir("open", 0777);
    chmod("open", 0777);  /* (a directory anyone may write in) */
    mknod("open/fifo", S_IFIFO | 0666, 0);
    pid_t child = fork();
    if (child == 0) {
        if (setuid(65534) != 0 || chdir("open") != 0)
            _exit(9);
        SHOW("unprivileged mknod chr", mknod("null2", S_IFCHR | 0666, makedev(1, 3)));
        SHOW("unprivileged mknod blk", mknod("blk2", S_IFBLK | 0666, makedev(7, 0)));
        SHOW("unprivileged mknod chr over an existing name", mknod("fifo", S_IFCHR, 0));
        SHOW("unprivileged mknod fifo", mknod("fifo3", S_IFIFO | 0666, 0));
        SHOW("unprivileged mknod fifo in root's 0755 directory", mknod("../fifo4", S_IFIFO, 0));
        ok("unprivileged O_TMPFILE there", open("..", O_TMPFILE | O_RDWR, 0600));
        ok("unprivileged open of root's 0600 FIFO", open("../fifo2", O_RDONLY | O_NONBLOCK));
        ok("unprivileged open of its own FIFO", open("fifo3", O_RDONLY | O_NONBLOCK));
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void tmpfiles(void)
{
    mkdir("d", 0755);
    int fd = open("d", O_TMPFILE | O_RDWR, 0600);
    ok("O_TMPFILE|O_RDWR", fd);
    struct stat st;
    fstat(fd, &st);
    printf("fstat: %s mode %04o nlink %ld\n", type(st.st_mode), st.st_mode & 07777,
           (long)st.st_nlink);
    SHOW("write", write(fd, "unnamed", 7));
    char buf[16] = {0};
    SHOW("pread", pread(fd, buf, sizeof buf - 1, 0));
    printf("bytes: [%s]\n", buf);
    int entries = 0;
    DIR *dir = opendir("d");
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        entries += e->d_name[0] != '.';
    closedir(dir);
    printf("names in d: %d\n", entries);
    SHOW("rmdir d (empty)", rmdir("d"));
    close(fd);
    mkdir("d", 0755);
    ok("O_TMPFILE|O_RDONLY", open("d", O_TMPFILE | O_RDONLY, 0600));
    ok("O_TMPFILE|O_CREAT", open("d", O_TMPFILE | O_CREAT | O_RDWR, 0600));
    close(open("file", O_CREAT | O_WRONLY, 0644));
    ok("O_TMPFILE on a file", open("file", O_TMPFILE | O_RDWR, 0600));
    ok("O_TMPFILE in a missing directory", open("nodir", O_TMPFILE | O_RDWR, 0600));
    umask(077);
    fd = open(".", O_TMPFILE | O_WRONLY, 0666);
    fstat(fd, &st);
    printf("umask applies: mode %04o\n", st.st_mode & 07777);
    SHOW("read on O_WRONLY", read(fd, buf, 1));
    close(fd);
    umask(022);
    fd = open(".", O_TMPFILE | O_RDWR, 0640);
    write(fd, "named later", 11);
    SHOW("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH));
    SHOW("stat the new name", stat("named", &st));
    printf("named: %s mode %04o nlink %ld size %ld\n", type(st.st_mode), st.st_mode & 07777,
           (long)st.st_nlink, (long)st.st_size);
    fstat(fd, &st);
    printf("fstat of the fd: nlink %ld\n", (long)st.st_nlink);
    SHOW("linkat it again", linkat(fd, "", AT_FDCWD, "named2", AT_EMPTY_PATH));
    SHOW("linkat onto an existing name", linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH));
    SHOW("linkat bad flags", linkat(fd, "", AT_FDCWD, "x", 0x8000));
    close(fd);
    fd = open(".", O_TMPFILE | O_RDWR, 0600);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    SHOW("linkat /proc/self/fd/N AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, link, AT_FDCWD, "viaproc",
                                                            AT_SYMLINK_FOLLOW));
    show("viaproc");
    close(fd);
    fd = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
    ok("O_TMPFILE|O_EXCL", fd);
    SHOW("linkat of an O_EXCL one", linkat(fd, "", AT_FDCWD, "never", AT_EMPTY_PATH));
    close(fd);
    fd = open("gone", O_CREAT | O_RDWR, 0600);
    unlink("gone");
    SHOW("linkat of an unlinked file", linkat(fd, "", AT_FDCWD, "back", AT_EMPTY_PATH));
    close(fd);
}

static void seeks(void)
{
    int fd = open("data", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char block[100];
    memset(block, 'x', sizeof block);
    write(fd, block, sizeof block);
    SHOW("SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
    SHOW("SEEK_DATA 50", lseek(fd, 50, SEEK_DATA));
    SHOW("SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
    SHOW("SEEK_HOLE 99", lseek(fd, 99, SEEK_HOLE));
    SHOW("SEEK_DATA at the end", lseek(fd, 100, SEEK_DATA));
    SHOW("SEEK_HOLE past the end", lseek(fd, 200, SEEK_HOLE));
    SHOW("SEEK_DATA -1", lseek(fd, -1, SEEK_DATA));
    lseek(fd, 10, SEEK_SET);
    SHOW("position after a failed SEEK_DATA", lseek(fd, 0, SEEK_CUR));
    SHOW("SEEK_HOLE 7 moved to", lseek(fd, 7, SEEK_HOLE));
    SHOW("position", lseek(fd, 0, SEEK_CUR));
    SHOW("whence 5", lseek(fd, 0, 5));
    close(fd);
    int empty = open("empty", O_CREAT | O_RDWR, 0644);
    SHOW("SEEK_DATA 0 of an empty file", lseek(empty, 0, SEEK_DATA));
    SHOW("SEEK_HOLE 0 of an empty file", lseek(empty, 0, SEEK_HOLE));
    close(empty);
}

static long size_of(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return (long)st.st_size;
}

static void fallocates(void)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/cloudos-test-falloc-%d", (int)getpid());
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    write(fd, "0123456789abcdefghij", 20);
    SHOW("mode 0, 0+4096", fallocate(fd, 0, 0, 4096));
    printf("size: %ld\n", size_of(fd));
    SHOW("mode 0 inside the file", fallocate(fd, 0, 100, 100));
    printf("size: %ld\n", size_of(fd));
    SHOW("KEEP_SIZE past the end", fallocate(fd, FALLOC_FL_KEEP_SIZE, 4096, 8192));
    printf("size: %ld\n", size_of(fd));
    SHOW("PUNCH_HOLE without KEEP_SIZE", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 5, 5));
    SHOW("PUNCH_HOLE|KEEP_SIZE 5+5", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                               5, 5));
    char buf[21] = {0};
    pread(fd, buf, 20, 0);
    for (int i = 0; i < 20; i++)
        buf[i] = buf[i] ? buf[i] : '_';
    printf("bytes: [%s], size %ld\n", buf, size_of(fd));
    SHOW("PUNCH_HOLE|KEEP_SIZE past the end", fallocate(fd, FALLOC_FL_PUNCH_HOLE |
                                                        FALLOC_FL_KEEP_SIZE, 8000, 100));
    printf("size: %ld\n", size_of(fd));
    SHOW("ZERO_RANGE", fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 10));
    SHOW("COLLAPSE_RANGE", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096));
    SHOW("COLLAPSE_RANGE|KEEP_SIZE", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE |
                                               FALLOC_FL_KEEP_SIZE, 0, 4096));
    SHOW("PUNCH_HOLE|ZERO_RANGE", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |
                                            FALLOC_FL_KEEP_SIZE, 0, 10));
    SHOW("unknown mode bit", fallocate(fd, 0x1000, 0, 10));
    SHOW("length 0", fallocate(fd, 0, 0, 0));
    SHOW("offset -1", fallocate(fd, 0, -1, 10));
    SHOW("past the largest file", fallocate(fd, 0, 0x7fffffffffffffffLL, 10));
    int ro = open(path, O_RDONLY);
    SHOW("read-only fd", fallocate(ro, 0, 0, 10));
    close(ro);
    int p[2];
    pipe(p);
    SHOW("pipe", fallocate(p[1], 0, 0, 10));
    int dir = open("/dev/shm", O_RDONLY | O_DIRECTORY);
    SHOW("directory (read-only fd)", fallocate(dir, 0, 0, 10));
    SHOW("bad fd", fallocate(99, 0, 0, 10));
    close(fd);
    unlink(path);
}

static void write_file(const char *name, const char *text)
{
    int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    close(fd);
}

static void show_content(const char *name)
{
    char buf[32] = {0};
    int fd = open(name, O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s holds [%s]\n", name, buf);
}

static long rename2(const char *a, const char *b, unsigned flags)
{
    return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void renames(void)
{
    write_file("a", "AAA");
    write_file("b", "BBB");
    SHOW("NOREPLACE onto an existing name", rename2("a", "b", RENAME_NOREPLACE));
    SHOW("NOREPLACE onto a new name", rename2("a", "c", RENAME_NOREPLACE));
    show_content("c");
    SHOW("NOREPLACE of a missing name", rename2("a", "d", RENAME_NOREPLACE));
    SHOW("EXCHANGE b c", rename2("b", "c", RENAME_EXCHANGE));
    show_content("b");
    show_content("c");
    mkdir("dir", 0755);
    write_file("dir/inner", "III");
    SHOW("EXCHANGE a file and a directory", rename2("b", "dir", RENAME_EXCHANGE));
    show("b");
    show("dir");
    show_content("b/inner");
    SHOW("EXCHANGE with a missing name", rename2("c", "missing", RENAME_EXCHANGE));
    SHOW("EXCHANGE a missing name", rename2("missing", "c", RENAME_EXCHANGE));
    SHOW("NOREPLACE|EXCHANGE", rename2("b", "c", RENAME_NOREPLACE | RENAME_EXCHANGE));
    SHOW("unknown flag", rename2("b", "c", 8));
    mkdir("b/sub", 0755);
    SHOW("EXCHANGE a directory with its own subdirectory", rename2("b", "b/sub",
                                                                    RENAME_EXCHANGE));
    SHOW("EXCHANGE a name with itself", rename2("c", "c", RENAME_EXCHANGE));
    mkdir("other", 0755);
    write_file("other/o", "OOO");
    SHOW("EXCHANGE across directories", rename2("c", "other/o", RENAME_EXCHANGE));
    show_content("c");
    show_content("other/o");
    struct stat st;
    stat("b", &st);
    printf("b's nlink (itself, ., sub's ..): %ld\n", (long)st.st_nlink);
    SHOW("rmdir b (not empty)", rmdir("b"));
}

static void utimes_(void)
{
    write_file("t", "t");
    struct timespec set[2] = {{1000, 0}, {2000, 0}};
    SHOW("utimensat 1000 2000", utimensat(AT_FDCWD, "t", set, 0));
    struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    SHOW("UTIME_OMIT atime, UTIME_NOW mtime", utimensat(AT_FDCWD, "t", omit_now, 0));
    struct stat st;
    stat("t", &st);
    time_t now = time(NULL);
    printf("atime %ld, mtime is now: %d\n", (long)st.st_atime, st.st_mtime >= now - 5);
    struct timespec set_omit[2] = {{3000, 500}, {0, UTIME_OMIT}};
    int fd = open("t", O_RDONLY);
    SHOW("futimens 3000, UTIME_OMIT", futimens(fd, set_omit));
    fstat(fd, &st);
    printf("atime %ld.%09ld, mtime is now: %d\n", (long)st.st_atime, st.st_atim.tv_nsec,
           st.st_mtime >= now - 5);
    struct timespec both_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    SHOW("both UTIME_OMIT", futimens(fd, both_omit));
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    SHOW("tv_nsec 1e9", futimens(fd, bad));
    close(fd);
}

/* The same calls on /dev/shm: a plain tmpfs (the other sections work in /tmp, which
 * CloudOS keeps in its root overlay). */
static void shm(void)
{
    char dir[128];
    snprintf(dir, sizeof dir, "/dev/shm/cloudos-test-special-%d", (int)getpid());
    SHOW("mkdir", mkdir(dir, 0755));
    if (chdir(dir) != 0)
        return;
    SHOW("mkfifo", mkfifo("fifo", 0600));
    int rw = open("fifo", O_RDWR);
    SHOW("write through the FIFO", write(rw, "shm", 3));
    char buf[8] = {0};
    SHOW("read", read(rw, buf, sizeof buf - 1));
    close(rw);
    write_file("file", "FILE");
    SHOW("EXCHANGE fifo file", rename2("fifo", "file", RENAME_EXCHANGE));
    show("file");
    show_content("fifo");
    SHOW("NOREPLACE", rename2("fifo", "file", RENAME_NOREPLACE));
    int fd = open(".", O_TMPFILE | O_RDWR, 0600);
    ok("O_TMPFILE", fd);
    SHOW("write", write(fd, "0123456789", 10));
    SHOW("SEEK_HOLE 3", lseek(fd, 3, SEEK_HOLE));
    SHOW("fallocate 0+100", fallocate(fd, 0, 0, 100));
    SHOW("SEEK_DATA 50", lseek(fd, 50, SEEK_DATA));
    SHOW("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, "linked", AT_EMPTY_PATH));
    show("linked");
    close(fd);
    unlink("linked");
    unlink("fifo");
    unlink("file");
    if (chdir(testdir_path) != 0)
        return;
    SHOW("rmdir", rmdir(dir));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    only = argc > 1 ? argv[1] : NULL;
    testdir_enter("special");
    if (section("mknod"))
        mknods();
    if (section("tmpfile"))
        tmpfiles();
    if (section("seek"))
        seeks();
    if (section("fallocate"))
        fallocates();
    if (section("renameat2"))
        renames();
    if (section("utimensat"))
        utimes_();
    if (section("shm"))
        shm();
    testdir_leave();
    return 0;
}
