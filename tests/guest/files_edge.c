/* files_edge.c — path edge cases, one per section (argv[1]; none: all): rmdir("."), "file/." on a regular file, O_CREAT through a dangling symlink. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"
#include "testdir.h"

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    testdir_enter("files_edge");
    struct stat st;

    if (section("rmdir_dot")) {
        mkdir("d", 0755);
        chdir("d");
        SHOW("rmdir .", rmdir("."));
        SHOW("rmdir ..", rmdir(".."));
        chdir("..");
        SHOW("rmdir d/.", rmdir("d/."));
        SHOW("d still exists", stat("d", &st));
        rmdir("d");
    }

    if (section("dot_after_file")) {
        close(open("file", O_WRONLY | O_CREAT, 0644));
        SHOW("open file/.", open("file/.", O_RDONLY));
        SHOW("stat file/.", stat("file/.", &st));
        SHOW("stat file/..", stat("file/..", &st));
    }

    if (section("creat_dangling")) {
        symlink("created-through-link", "dangling");
        int fd = open("dangling", O_WRONLY | O_CREAT, 0644);
        SHOW("O_CREAT through a dangling link", fd >= 0 ? 0 : -1);
        if (fd >= 0) {
            write(fd, "via link", 8);
            close(fd);
        }
        SHOW("the target now exists", lstat("created-through-link", &st));
        printf("  regular file of 8 bytes: %s\n", S_ISREG(st.st_mode) && st.st_size == 8 ? "yes" : "no");
        SHOW("the link is still a link", lstat("dangling", &st));
        printf("  symlink: %s\n", S_ISLNK(st.st_mode) ? "yes" : "no");
    }

    testdir_leave();
    return 0;
}
