/* files_host.c — the host's files seen read-only: /etc/os-release (a relative symlink; first line and length), / and /etc are directories, a listing of / holds etc and usr. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errname.h"

int main(void)
{
    static char buf[1 << 16];
    int fd = open("/etc/os-release", O_RDONLY);
    SHOW("open /etc/os-release", fd >= 0 ? 0 : -1);
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf + total, 7)) > 0)  /* small reads, to cross many offsets */
        total += n;
    close(fd);
    buf[total] = 0;
    char *nl = strchr(buf, '\n');
    printf("first line: [%.*s]\n", nl ? (int)(nl - buf) : (int)total, buf);
    printf("total length: %zu\n", total);
    struct stat st, lst;
    stat("/etc/os-release", &st);
    printf("stat size matches the bytes read: %s\n", (size_t)st.st_size == total ? "yes" : "no");
    lstat("/etc/os-release", &lst);
    printf("lstat: symlink=%d\n", S_ISLNK(lst.st_mode) ? 1 : 0);
    if (S_ISLNK(lst.st_mode)) {
        char target[256];
        n = readlink("/etc/os-release", target, sizeof target);
        printf("readlink: [%.*s]\n", (int)(n < 0 ? 0 : n), target);
    }
    fd = open("/etc/os-release", O_RDONLY);
    n = pread(fd, buf, 10, 5);
    printf("pread 10 at 5: %zd\n", n);
    SHOW("lseek SEEK_END", lseek(fd, 0, SEEK_END));
    close(fd);

    stat("/", &st);
    printf("/ is a directory: %s\n", S_ISDIR(st.st_mode) ? "yes" : "no");
    stat("/etc", &st);
    printf("/etc is a directory: %s\n", S_ISDIR(st.st_mode) ? "yes" : "no");
    stat("/etc/..", &st);
    struct stat root;
    stat("/", &root);
    printf("/etc/.. is /: %s\n", st.st_ino == root.st_ino && st.st_dev == root.st_dev ? "yes" : "no");
    stat("/..", &st);
    printf("/.. is /: %s\n", st.st_ino == root.st_ino && st.st_dev == root.st_dev ? "yes" : "no");

    DIR *d = opendir("/");
    int etc = 0, usr = 0, tmp = 0, entries = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        entries++;
        etc |= !strcmp(e->d_name, "etc");
        usr |= !strcmp(e->d_name, "usr");
        tmp |= !strcmp(e->d_name, "tmp");
    }
    closedir(d);
    printf("/ lists etc: %d, usr: %d, tmp: %d, more than 5 entries: %s\n", etc, usr, tmp,
           entries > 5 ? "yes" : "no");
    SHOW("chdir /etc", chdir("/etc"));
    fd = open("os-release", O_RDONLY);
    n = read(fd, buf, sizeof buf);
    printf("relative read from /etc: %s\n", (size_t)n == total ? "same length" : "different");
    close(fd);
    SHOW("open a missing host file", open("/etc/cloudos-no-such-file", O_RDONLY));
    SHOW("stat a missing host file", stat("/cloudos-no-such-dir/x", &st));
    SHOW("access /etc/os-release R_OK", access("/etc/os-release", R_OK));
    return 0;
}
