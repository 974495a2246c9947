/* files_symloop.c — path resolution errors: a symlink loop and a 45-link chain give ELOOP (a 30-link chain works), a 300-byte component ENAMETOOLONG, "file/x" ENOTDIR, O_NOFOLLOW, O_EXCL on a dangling link. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

int main(void)
{
    testdir_enter("files_symloop");
    struct stat st;
    char name[400], target[400];

    /* a loop */
    symlink("b", "a");
    symlink("a", "b");
    SHOW("open a (a->b->a)", open("a", O_RDONLY));
    SHOW("stat a", stat("a", &st));
    SHOW("lstat a", lstat("a", &st));
    SHOW("open a/x", open("a/x", O_RDONLY));
    SHOW("O_CREAT through the loop", open("a", O_WRONLY | O_CREAT, 0644));
    symlink("self", "self");
    SHOW("open self (self->self)", open("self", O_RDONLY));

    /* chains: link0 -> link1 -> ... -> linkN-1 -> target */
    int fd = open("target", O_WRONLY | O_CREAT, 0644);
    write(fd, "end of chain", 12);
    close(fd);
    for (int i = 0; i < 45; i++) {
        snprintf(name, sizeof name, "chain45-%d", i);
        if (i == 44)
            snprintf(target, sizeof target, "target");
        else
            snprintf(target, sizeof target, "chain45-%d", i + 1);
        symlink(target, name);
    }
    SHOW("open a chain of 45 links", open("chain45-0", O_RDONLY));
    SHOW("open the last 40 links of it", open("chain45-5", O_RDONLY) >= 0 ? 0 : -1);
    SHOW("open the last 41 links of it", open("chain45-4", O_RDONLY) >= 0 ? 0 : -1);
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "chain30-%d", i);
        if (i == 29)
            snprintf(target, sizeof target, "target");
        else
            snprintf(target, sizeof target, "chain30-%d", i + 1);
        symlink(target, name);
    }
    fd = open("chain30-0", O_RDONLY);
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("read through a chain of 30 links: [%.*s]\n", (int)(n < 0 ? 0 : n), buf);
    close(fd);

    /* too long */
    memset(name, 'n', 300);
    name[300] = 0;
    SHOW("open a 300-byte name", open(name, O_RDONLY));
    SHOW("create a 300-byte name", open(name, O_WRONLY | O_CREAT, 0644));
    SHOW("mkdir a 300-byte name", mkdir(name, 0755));
    name[255] = 0;
    SHOW("create a 255-byte name", open(name, O_WRONLY | O_CREAT, 0644) >= 0 ? 0 : -1);
    SHOW("unlink it", unlink(name));
    name[256] = 0;
    name[255] = 'n';
    SHOW("create a 256-byte name", open(name, O_WRONLY | O_CREAT, 0644));

    /* a file in the middle of a path */
    close(open("file", O_WRONLY | O_CREAT, 0644));
    SHOW("open file/x", open("file/x", O_RDONLY));
    SHOW("create file/x", open("file/x", O_WRONLY | O_CREAT, 0644));
    SHOW("stat file/", stat("file/", &st));
    SHOW("mkdir file/x", mkdir("file/x", 0755));
    SHOW("open target/..", open("target/..", O_RDONLY));

    /* O_NOFOLLOW; O_CREAT|O_EXCL does not follow a dangling link */
    SHOW("O_NOFOLLOW on a symlink", open("chain30-28", O_RDONLY | O_NOFOLLOW));
    SHOW("O_NOFOLLOW on a file", open("target", O_RDONLY | O_NOFOLLOW) >= 0 ? 0 : -1);
    symlink("never-created", "dangling");
    SHOW("O_CREAT|O_EXCL on a dangling symlink", open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644));
    SHOW("its target was not created", lstat("never-created", &st));

    /* symlinks to directories */
    mkdir("realdir", 0755);
    close(open("realdir/inside", O_WRONLY | O_CREAT, 0644));
    symlink("realdir", "dirlink");
    symlink("../realdir/inside", "realdir/up-and-back");
    SHOW("stat dirlink/inside", stat("dirlink/inside", &st));
    SHOW("stat dirlink/up-and-back", stat("dirlink/up-and-back", &st));
    SHOW("lstat dirlink/ (trailing slash follows)", lstat("dirlink/", &st));
    printf("  is a directory: %s\n", S_ISDIR(st.st_mode) ? "yes" : "no");
    SHOW("rmdir dirlink", rmdir("dirlink"));
    SHOW("chdir dirlink", chdir("dirlink"));
    SHOW("stat inside from there", stat("inside", &st));
    SHOW("stat ../target (.. of the real directory)", stat("../target", &st));
    chdir(testdir_path);

    testdir_leave();
    return 0;
}
