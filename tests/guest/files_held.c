/* files_held.c — files and directories removed while held stay usable, as on Linux:
 * an open file after unlink or rename over it, a working directory after rmdir.
 * Usage: files_held DIR (a writable directory: a host directory mounted :rw in CloudOS). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static void unlinked_file(void)
{
    char buf[64] = {0};
    struct stat st;
    int fd = open("held.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    show("write before unlink", write(fd, "before ", 7));
    show("unlink", unlink("held.txt"));
    show("write after unlink", write(fd, "after", 5));
    show("lseek", lseek(fd, 0, SEEK_SET));
    show("read", read(fd, buf, sizeof buf - 1));
    printf("content: %s\n", buf);
    fstat(fd, &st);
    printf("nlink %ld size %ld\n", (long)st.st_nlink, (long)st.st_size);
    show("fchmod", fchmod(fd, 0600));
    fstat(fd, &st);
    printf("mode %o\n", st.st_mode & 0777);
    show("ftruncate", ftruncate(fd, 3));
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);
    show("stat by name", stat("held.txt", &st));
    close(fd);
}

static void renamed_over(void)
{
    char buf[64] = {0};
    int fd = open("old.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "old content", 11);
    int fd2 = open("new.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd2, "new", 3);
    close(fd2);
    show("rename over", rename("new.txt", "old.txt"));
    show("pread old fd", pread(fd, buf, sizeof buf - 1, 0));
    printf("old fd reads: %s\n", buf);
    close(fd);
    memset(buf, 0, sizeof buf);
    fd = open("old.txt", O_RDONLY);
    show("read by name", read(fd, buf, sizeof buf - 1));
    printf("name reads: %s\n", buf);
    close(fd);
    unlink("old.txt");
}

static void removed_cwd(const char *top)
{
    struct stat st;
    show("mkdir gone", mkdir("gone", 0755));
    show("chdir gone", chdir("gone"));
    show("rmdir ../gone", rmdir("../gone"));
    show("stat .", stat(".", &st));
    printf("nlink of removed cwd: %ld\n", (long)st.st_nlink);
    show("create in removed cwd", open("x", O_CREAT | O_WRONLY, 0644));
    show("mkdir ../gone again", mkdir("../gone", 0755));
    show("chdir ../gone", chdir("../gone"));
    int fd = open("y", O_CREAT | O_WRONLY, 0644);
    show("create in new dir", fd >= 0 ? 0 : -1);
    close(fd);
    unlink("y");
    chdir(top);
    rmdir("gone");
}

int main(int argc, char **argv)
{
    if (argc != 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: files_held WRITABLE_DIR\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    unlinked_file();
    renamed_over();
    removed_cwd(argv[1]);
    return 0;
}
