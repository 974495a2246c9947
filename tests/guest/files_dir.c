/* files_dir.c — a directory of 20 files and 3 subdirectories listed with readdir (sorted) and counted with raw getdents64 through a 64-byte buffer. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists path with opendir/readdir and prints the sorted names with their types. */
static void list(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        printf("opendir %s: %s\n", path, errname(errno));
        return;
    }
    char *names[64];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 64) {
        char type = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_UNKNOWN ? '?' : 'o';
        names[count] = malloc(strlen(e->d_name) + 3);
        sprintf(names[count], "%s %c", e->d_name, type);
        count++;
    }
    closedir(d);
    qsort(names, count, sizeof names[0], cmp);
    printf("readdir %s: %d entries\n", path, count);
    for (int i = 0; i < count; i++) {
        printf("  %s\n", names[i]);
        free(names[i]);
    }
}

/* Counts entries with getdents64 through a buffer of bufsize bytes. */
static void count_raw(const char *path, size_t bufsize)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        printf("open %s: %s\n", path, errname(errno));
        return;
    }
    char buf[4096];
    int calls = 0, entries = 0, dirs = 0, regs = 0, dots = 0, bad = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, bufsize);
        if (n < 0) {
            printf("getdents64 %s: -1 %s\n", path, errname(errno));
            break;
        }
        calls++;
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + off);
            if (e->d_reclen == 0 || e->d_reclen % 8 != 0 || off + e->d_reclen > n ||
                strlen(e->d_name) + 20 > e->d_reclen) {
                bad++;
                if (e->d_reclen == 0)
                    break;
            }
            entries++;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                dots++;
            else if (e->d_type == DT_DIR)
                dirs++;
            else if (e->d_type == DT_REG)
                regs++;
            off += e->d_reclen;
        }
    }
    printf("getdents64 %s (%zu-byte buffer): %d entries (%d dot, %d dirs, %d files), "
           "more than 2 calls: %s, malformed records: %d\n",
           path, bufsize, entries, dots, dirs, regs, calls > 2 ? "yes" : "no", bad);
    close(fd);
}

int main(void)
{
    testdir_enter("files_dir");
    mkdir("dir", 0755);
    char name[64];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "dir/file%02d-%.*s", i, i % 7, "abcdefg");
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            printf("create %s: %s\n", name, errname(errno));
        close(fd);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "dir/sub%d", i);
        if (mkdir(name, 0755) != 0)
            printf("mkdir %s: %s\n", name, errname(errno));
    }
    list("dir");
    count_raw("dir", 64);
    count_raw("dir", 4096);
    list("dir/sub1");

    /* a buffer too small for even one record */
    int fd = open("dir", O_RDONLY | O_DIRECTORY);
    char small[64];
    SHOW("getdents64 with a 10-byte buffer", syscall(SYS_getdents64, fd, small, 10));
    close(fd);
    fd = open("dir/file00-", O_RDONLY);
    SHOW("getdents64 on a file", syscall(SYS_getdents64, fd, small, sizeof small));
    close(fd);
    SHOW("getdents64 on a bad fd", syscall(SYS_getdents64, 999, small, sizeof small));
    SHOW("opendir missing (open O_DIRECTORY)", open("nodir", O_RDONLY | O_DIRECTORY));

    /* entries removed while the directory stays open are not listed by a fresh listing */
    for (int i = 0; i < 20; i += 2) {
        snprintf(name, sizeof name, "dir/file%02d-%.*s", i, i % 7, "abcdefg");
        unlink(name);
    }
    rmdir("dir/sub0");
    list("dir");

    /* rewinddir after the directory changed */
    DIR *d = opendir("dir/sub2");
    int before = 0, after = 0;
    while (readdir(d))
        before++;
    close(open("dir/sub2/late", O_WRONLY | O_CREAT, 0644));
    rewinddir(d);
    while (readdir(d))
        after++;
    closedir(d);
    printf("sub2 entries before: %d, after creating one and rewinddir: %d\n", before, after);

    testdir_leave();
    return 0;
}
