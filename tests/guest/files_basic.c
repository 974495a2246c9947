/* files_basic.c — file basics: create/read/write/lseek (holes), stat, ftruncate, O_APPEND/O_EXCL, errors, mkdir/rmdir, rename, link, symlink, chmod, chdir, access. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

static void show_stat(const char *label, const struct stat *st)
{
    printf("%s: size=%lld reg=%d dir=%d lnk=%d nlink=%lu mode=%04o\n", label,
           (long long)st->st_size, S_ISREG(st->st_mode) ? 1 : 0, S_ISDIR(st->st_mode) ? 1 : 0,
           S_ISLNK(st->st_mode) ? 1 : 0, (unsigned long)st->st_nlink,
           (unsigned)(st->st_mode & 07777));
}

static void show_file(const char *name)
{
    char buf[256];
    int fd = open(name, O_RDONLY);
    if (fd < 0) {
        printf("content of %s: %s\n", name, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("content of %s: [%s]\n", name, buf);
}

static void write_file(const char *name, const char *text)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        printf("write_file %s failed: %s\n", name, errname(errno));
    close(fd);
}

/* Reads up to len bytes at the current offset and prints them. */
static void show_read(const char *label, int fd, size_t len)
{
    char buf[256];
    ssize_t n = read(fd, buf, len);
    int e = errno;
    if (n < 0)
        printf("%s: -1 %s\n", label, errname(e));
    else
        printf("%s: %zd [%.*s]\n", label, n, (int)n, buf);
}

static void show_mode(const char *label, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        printf("%s: stat failed %s\n", label, errname(errno));
    else
        printf("%s: %04o\n", label, (unsigned)(st.st_mode & 07777));
}

/* The working directory relative to the test directory ("." for the test directory itself). */
static void show_cwd(const char *label)
{
    char cwd[1024];
    size_t len = strlen(testdir_path);
    if (getcwd(cwd, sizeof cwd) == NULL)
        printf("%s: getcwd failed %s\n", label, errname(errno));
    else if (strcmp(cwd, testdir_path) == 0)
        printf("%s: .\n", label);
    else if (strncmp(cwd, testdir_path, len) == 0 && cwd[len] == '/')
        printf("%s: %s\n", label, cwd + len + 1);
    else
        printf("%s: outside the test directory\n", label);
}

int main(void)
{
    umask(022);
    testdir_enter("files_basic");
    struct stat st;
    char buf[256];

    /* create, write, read back, lseek */
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW("open f", fd);
    SHOW("write", write(fd, "hello world\n", 12));
    SHOW("lseek SEEK_CUR 0", lseek(fd, 0, SEEK_CUR));
    SHOW("lseek SEEK_SET 6", lseek(fd, 6, SEEK_SET));
    show_read("read 5", fd, 5);
    SHOW("lseek SEEK_CUR -3", lseek(fd, -3, SEEK_CUR));
    show_read("read 3", fd, 3);
    SHOW("lseek SEEK_END -2", lseek(fd, -2, SEEK_END));
    show_read("read near EOF", fd, 10);
    show_read("read at EOF", fd, 10);
    SHOW("lseek to -100", lseek(fd, -100, SEEK_SET));
    SHOW("lseek bad whence", lseek(fd, 0, 42));

    /* past EOF, then write: a hole that reads as zeros */
    SHOW("lseek SEEK_END +100", lseek(fd, 100, SEEK_END));
    show_read("read past EOF", fd, 10);
    SHOW("write past EOF", write(fd, "X", 1));
    fstat(fd, &st);
    show_stat("fstat after hole", &st);
    char hole[100];
    memset(hole, 0x55, sizeof hole);
    SHOW("pread hole", pread(fd, hole, sizeof hole, 12));
    int zeros = 1;
    for (size_t i = 0; i < sizeof hole; i++)
        zeros &= hole[i] == 0;
    printf("hole is zeros: %s\n", zeros ? "yes" : "no");
    SHOW("lseek SEEK_SET 112", lseek(fd, 112, SEEK_SET));
    show_read("read last byte", fd, 10);

    /* stat by name, ftruncate shrink and grow */
    stat("f", &st);
    show_stat("stat f", &st);
    SHOW("ftruncate 5", ftruncate(fd, 5));
    fstat(fd, &st);
    show_stat("after ftruncate 5", &st);
    SHOW("offset unchanged by ftruncate", lseek(fd, 0, SEEK_CUR));
    SHOW("ftruncate 8", ftruncate(fd, 8));
    memset(buf, 0x55, 16);
    SHOW("pread after grow", pread(fd, buf, 16, 0));
    printf("grown: [%.5s] tail zeros: %s\n", buf, buf[5] == 0 && buf[6] == 0 && buf[7] == 0 ? "yes" : "no");
    SHOW("ftruncate -1", ftruncate(fd, -1));
    SHOW("truncate by name 3", truncate("f", 3));
    close(fd);
    show_file("f");

    /* O_APPEND: every write goes to the end, whatever the offset */
    fd = open("f", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    SHOW("append write", write(fd, "+app", 4));
    SHOW("offset after append", lseek(fd, 0, SEEK_CUR));
    close(fd);
    show_file("f");
    fd = open("f", O_WRONLY | O_TRUNC);
    SHOW("O_TRUNC write", write(fd, "new", 3));
    close(fd);
    show_file("f");

    /* errors */
    SHOW("O_EXCL on existing", open("f", O_WRONLY | O_CREAT | O_EXCL, 0644));
    SHOW("open missing", open("missing", O_RDONLY));
    SHOW("open missing dir/file", open("nodir/file", O_RDONLY));
    SHOW("O_CREAT in missing dir", open("nodir/file", O_WRONLY | O_CREAT, 0644));
    fd = open("f", O_WRONLY);
    SHOW("read on write-only fd", read(fd, buf, 1));
    close(fd);
    fd = open("f", O_RDONLY);
    SHOW("write on read-only fd", write(fd, "x", 1));
    SHOW("ftruncate on read-only fd", ftruncate(fd, 0));
    close(fd);
    SHOW("read on closed fd", read(fd, buf, 1));
    SHOW("close closed fd", close(fd));
    SHOW("fstat closed fd", fstat(fd, &st));
    SHOW("lseek closed fd", lseek(fd, 0, SEEK_SET));
    fd = open(".", O_RDONLY);
    SHOW("read on a directory", read(fd, buf, 1));
    close(fd);
    SHOW("open directory for writing", open(".", O_WRONLY));
    SHOW("O_DIRECTORY on a file", open("f", O_RDONLY | O_DIRECTORY));

    /* unlink, also while open */
    write_file("gone", "still here");
    fd = open("gone", O_RDONLY);
    SHOW("unlink open file", unlink("gone"));
    fstat(fd, &st);
    printf("fstat after unlink: nlink=%lu\n", (unsigned long)st.st_nlink);
    show_read("read after unlink", fd, 100);
    close(fd);
    SHOW("stat unlinked", stat("gone", &st));
    SHOW("unlink again", unlink("gone"));

    /* directories */
    SHOW("mkdir d", mkdir("d", 0755));
    SHOW("mkdir d again", mkdir("d", 0755));
    stat("d", &st);
    printf("stat d: dir=%d nlink=%lu mode=%04o\n", S_ISDIR(st.st_mode) ? 1 : 0,
           (unsigned long)st.st_nlink, (unsigned)(st.st_mode & 07777));
    SHOW("mkdir d/e", mkdir("d/e", 0700));
    stat("d", &st);
    printf("nlink of d with a subdirectory: %lu\n", (unsigned long)st.st_nlink);
    SHOW("rmdir d/e", rmdir("d/e"));
    write_file("d/inner", "in");
    SHOW("rmdir non-empty", rmdir("d"));
    SHOW("unlink a directory", unlink("d"));
    SHOW("rmdir a file", rmdir("f"));
    SHOW("unlink d/inner", unlink("d/inner"));
    SHOW("rmdir d", rmdir("d"));
    SHOW("rmdir missing", rmdir("d"));
    SHOW("mkdir in missing dir", mkdir("nodir/x", 0755));

    /* rename over an existing file */
    write_file("a", "AAA");
    write_file("b", "BBBBB");
    SHOW("rename a -> b", rename("a", "b"));
    show_file("b");
    SHOW("stat a after rename", stat("a", &st));
    SHOW("rename missing", rename("a", "c"));
    mkdir("rd", 0755);
    SHOW("rename file over directory", rename("b", "rd"));
    SHOW("rename directory over file", rename("rd", "b"));
    SHOW("rename directory into itself", rename("rd", "rd/sub"));
    SHOW("rename directory", rename("rd", "rd2"));
    write_file("rd2/moved", "moved");
    SHOW("rename into a directory", rename("rd2/moved", "moved"));
    show_file("moved");
    unlink("moved");
    rmdir("rd2");

    /* hard links */
    SHOW("link b c", link("b", "c"));
    stat("b", &st);
    show_stat("stat b (2 links)", &st);
    SHOW("link onto existing", link("b", "c"));
    SHOW("link missing", link("missing", "e"));
    fd = open("c", O_WRONLY | O_APPEND);
    write(fd, "+c", 2);
    close(fd);
    show_file("b");
    SHOW("unlink c", unlink("c"));
    stat("b", &st);
    printf("nlink after unlink c: %lu\n", (unsigned long)st.st_nlink);

    /* symbolic links */
    SHOW("symlink b s", symlink("b", "s"));
    memset(buf, 0, sizeof buf);
    ssize_t n = readlink("s", buf, sizeof buf);
    printf("readlink s: %zd [%.*s]\n", n, (int)(n < 0 ? 0 : n), buf);
    n = readlink("s", buf, 0 + 1);
    printf("readlink s into 1 byte: %zd\n", n);
    SHOW("readlink on a file", readlink("b", buf, sizeof buf));
    SHOW("readlink missing", readlink("missing", buf, sizeof buf));
    lstat("s", &st);
    show_stat("lstat s", &st);
    stat("s", &st);
    show_stat("stat s", &st);
    show_file("s");
    SHOW("symlink onto existing", symlink("x", "s"));
    SHOW("symlink dangling", symlink("nowhere", "dangling"));
    SHOW("stat dangling", stat("dangling", &st));
    SHOW("lstat dangling", lstat("dangling", &st));
    SHOW("unlink symlink", unlink("s"));
    SHOW("target survives", stat("b", &st));

    /* chmod */
    SHOW("chmod b 0600", chmod("b", 0600));
    show_mode("mode", "b");
    chmod("b", 04751);
    show_mode("mode after chmod 4751", "b");
    fd = open("b", O_RDONLY);
    SHOW("fchmod 0640", fchmod(fd, 0640));
    fstat(fd, &st);
    printf("mode after fchmod: %04o\n", (unsigned)(st.st_mode & 07777));
    close(fd);
    SHOW("chmod missing", chmod("missing", 0644));
    mkdir("md", 0755);
    chmod("md", 0700);
    show_mode("directory mode after chmod 0700", "md");
    rmdir("md");
    umask(077);
    write_file("masked", "m");
    show_mode("mode created under umask 077", "masked");
    SHOW("umask returns the old mask", umask(022));

    /* getcwd / chdir */
    show_cwd("cwd");
    mkdir("sub", 0755);
    SHOW("chdir sub", chdir("sub"));
    show_cwd("cwd");
    write_file("../from-sub", "relative");
    SHOW("chdir ..", chdir(".."));
    show_cwd("cwd");
    show_file("from-sub");
    SHOW("chdir to a file", chdir("b"));
    SHOW("chdir missing", chdir("missing"));
    char *got = getcwd(buf, 2);
    int e = errno;
    printf("getcwd small buffer: %s %s\n", got ? "ok" : "NULL", got ? "" : errname(e));
    fd = open("sub", O_RDONLY | O_DIRECTORY);
    chdir("/");
    SHOW("fchdir", fchdir(fd));
    show_cwd("cwd after fchdir");
    close(fd);
    chdir(testdir_path);
    show_cwd("cwd");

    /* access */
    SHOW("access b F_OK", access("b", F_OK));
    SHOW("access b W_OK", access("b", W_OK));
    SHOW("access b R_OK|W_OK", access("b", R_OK | W_OK));
    SHOW("access missing F_OK", access("missing", F_OK));
    SHOW("access through a file", access("b/x", F_OK));
    SHOW("access . W_OK", access(".", W_OK));

    testdir_leave();
    SHOW("test directory removed (stat)", stat(testdir_path, &st));
    return 0;
}
