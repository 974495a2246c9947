/* exec_rewrite.c — execve of a file rewritten between two execs runs the new bytes: the
 * program copies itself to a scratch file, execs the copy (which prints its marker), then
 * changes the copy's marker in place (same size, same inode), by growing it, and by
 * renaming another copy over it, and execs it again after each change; a private mapping
 * of the file made after a rewrite shows the new bytes too. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "section.h"

static const char marker[] = "EXEC-REWRITE-MARK:A";
static char *image;
static size_t image_size, mark_at;

static void load_self(const char *self)
{
    int fd = open(self, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror("open self");
        exit(1);
    }
    image_size = st.st_size;
    image = malloc(image_size);
    if (!image || read(fd, image, image_size) != (ssize_t)image_size) {
        perror("read self");
        exit(1);
    }
    close(fd);
    for (mark_at = 0; mark_at + sizeof marker <= image_size; mark_at++)
        if (memcmp(image + mark_at, marker, sizeof marker) == 0)
            return;
    fprintf(stderr, "marker not found\n");
    exit(1);
}

/* Write the image with its marker's last letter set to ``letter`` (and ``extra`` zero
 * bytes after it) into ``path``, in place (O_TRUNC keeps the inode). */
static void write_copy(const char *path, char letter, size_t extra)
{
    image[mark_at + sizeof marker - 2] = letter;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd < 0 || write(fd, image, image_size) != (ssize_t)image_size) {
        perror("write copy");
        exit(1);
    }
    char zeros[4096] = {0};
    if (extra && write(fd, zeros, extra) != (ssize_t)extra) {
        perror("grow copy");
        exit(1);
    }
    close(fd);
}

static void run(const char *label, const char *path)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)path, "child", NULL};
        execv(path, argv);
        printf("execv: %s\n", strerror(errno));
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("%s: exit %d\n", label, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static ino_t inode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* The marker's letter as a private read-only mapping of ``path`` shows it. */
static char mapped_letter(const char *path)
{
    int fd = open(path, O_RDONLY);
    char *p = fd < 0 ? MAP_FAILED : mmap(NULL, image_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    char letter = p[mark_at + sizeof marker - 2];
    munmap(p, image_size);
    close(fd);
    return letter;
}

static off_t size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("running %s\n", marker);
        return 0;
    }
    only = argc > 1 ? argv[1] : NULL;
    load_self("/proc/self/exe");
    char dir[] = "/tmp/exec_rewrite.XXXXXX", path[64], other[64];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/prog", dir);
    snprintf(other, sizeof other, "%s/other", dir);
    write_copy(path, 'A', 0);
    run("first exec", path);
    ino_t first = inode(path);
    if (section("rewritten in place")) {
        write_copy(path, 'B', 0);
        printf("same inode %d, same size %d\n", inode(path) == first,
               size(path) == (off_t)image_size);
        run("exec after rewrite", path);
        run("exec again", path);
    }
    if (section("grown")) {
        write_copy(path, 'C', 100);
        run("exec after growing", path);
    }
    if (section("renamed over")) {
        write_copy(other, 'D', 0);
        if (rename(other, path) != 0)
            perror("rename");
        printf("new inode %d\n", inode(path) != first);
        run("exec after rename", path);
    }
    if (section("mapped after a rewrite")) {
        write_copy(path, 'E', 0);
        printf("mapped: %c\n", mapped_letter(path));
        write_copy(path, 'F', 0);
        printf("mapped after rewrite: %c\n", mapped_letter(path));
        run("exec after mapping", path);
    }
    unlink(path);
    unlink(other);
    rmdir(dir);
    return 0;
}
