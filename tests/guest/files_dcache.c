/* files_dcache.c — path lookups see every change at once (the VFS's walk cache): names made, removed and renamed, modes and owners, sizes; "host DIR" (not in the sections run by default) watches a host directory a test changes behind its back. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"
#include "section.h"

static char top[64];

static const char *at(const char *name)
{
    static char paths[4][160];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", top, name);
    return p;
}

/* stat's answer for NAME: its size (a file's: a directory's is the file system's own),
 * mode and owner, or its error */
static void show_stat(const char *label, const char *name)
{
    struct stat st;
    if (stat(at(name), &st) == 0)
        printf("%s: size=%lld mode=%04o uid=%d\n", label,
               S_ISREG(st.st_mode) ? (long long)st.st_size : -1LL, st.st_mode & 07777,
               (int)st.st_uid);
    else
        printf("%s: -1 %s\n", label, errname(errno));
}

static void show_open(const char *label, const char *name)
{
    int fd = open(at(name), O_RDONLY);
    char buf[32] = "";
    if (fd < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    printf("%s: [%s]\n", label, buf);
}

static void put(const char *name, const char *data)
{
    int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, strlen(data)) < 0)
        perror(name);
    close(fd);
}

static void names(void)
{
    show_stat("missing", "a");
    show_stat("missing again", "a");  /* a remembered ENOENT must not outlive a create */
    put("a", "one");
    show_open("created", "a");
    SHOW("rename a b", rename(at("a"), at("b")));
    show_stat("old name", "a");
    show_open("new name", "b");
    put("c", "three");
    SHOW("rename c over b", rename(at("c"), at("b")));
    show_open("b after rename over", "b");
    SHOW("unlink b", unlink(at("b")));
    show_stat("unlinked", "b");
    show_open("unlinked, open", "b");
    SHOW("mkdir d", mkdir(at("d"), 0755));
    put("d/f", "in d");
    show_open("d/f", "d/f");
    SHOW("rename d e", rename(at("d"), at("e")));
    show_open("d/f after the rename", "d/f");
    show_open("e/f", "e/f");
    SHOW("unlink e/f", unlink(at("e/f")));
    SHOW("rmdir e", rmdir(at("e")));
    show_stat("e/ after rmdir", "e/");
    SHOW("mkdir e again", mkdir(at("e"), 0700));
    show_stat("e again", "e");
    put("t1", "first");
    put("t2", "second");
    SHOW("symlink l -> t1", symlink("t1", at("l")));
    show_open("through l", "l");
    SHOW("unlink l", unlink(at("l")));
    SHOW("symlink l -> t2", symlink("t2", at("l")));
    show_open("through the new l", "l");
    SHOW("link t1 h", link(at("t1"), at("h")));
    show_open("hard link", "h");
}

static void attrs(void)
{
    put("f", "12345");
    show_stat("written", "f");
    SHOW("chmod 600", chmod(at("f"), 0600));
    show_stat("after chmod", "f");
    SHOW("chown 1:2", chown(at("f"), 1, 2));
    show_stat("after chown", "f");
    SHOW("truncate 2", truncate(at("f"), 2));
    show_stat("after truncate", "f");
    int fd = open(at("f"), O_WRONLY | O_APPEND);
    SHOW("append", write(fd, "abcdefgh", 8));
    close(fd);
    show_stat("after append", "f");
    show_open("content", "f");
    SHOW("mkdir d", mkdir(at("d"), 0755));
    SHOW("chmod d 711", chmod(at("d"), 0711));
    show_stat("d after chmod", "d");
}

/* A child that gives up root looks PATH up: the directories' search bits decide. */
static void unprivileged_open(const char *label, const char *name)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
            perror("setresuid");
            _exit(2);
        }
        show_open(label, name);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void search(void)
{
    SHOW("mkdir d", mkdir(at("d"), 0755));
    put("d/f", "readable");
    SHOW("chmod d/f 644", chmod(at("d/f"), 0644));
    unprivileged_open("nobody opens d/f", "d/f");
    SHOW("chmod d 700", chmod(at("d"), 0700));
    unprivileged_open("nobody opens d/f after chmod 700", "d/f");
    SHOW("chmod d 701", chmod(at("d"), 0701));
    unprivileged_open("nobody opens d/f after chmod 701", "d/f");
    SHOW("chown d 65534", chown(at("d"), 65534, 65534));
    SHOW("chmod d 300", chmod(at("d"), 0300));
    unprivileged_open("nobody opens d/f in its own d (300)", "d/f");
}

/* "host DIR": DIR/f holds "old" and DIR/gone exists; after "go" on stdin the test has
 * rewritten f in place, made DIR/new and removed DIR/gone. Content is seen at once;
 * names within HOST_TTL_NS (1 s): it says whether they were by 2 s. */
static int host(const char *dir)
{
    snprintf(top, sizeof top, "%s", dir);
    show_open("f before", "f");
    show_stat("new before", "new");
    show_stat("gone before", "gone");
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    show_open("f at once", "f");
    struct stat st;
    int seen = 0;
    for (int i = 0; i < 40 && !seen; i++) {
        seen = stat(at("new"), &st) == 0 && stat(at("gone"), &st) != 0;
        if (!seen)
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    printf("new and gone seen by 2 s: %s\n", seen ? "yes" : "no");
    show_open("new", "new");
    show_stat("gone", "gone");
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2 && strcmp(argv[1], "host") == 0)
        return host(argv[2]);
    only = argc > 1 ? argv[1] : NULL;
    static const struct { const char *name; void (*run)(void); } sections[] = {
        {"names", names}, {"attrs", attrs}, {"search", search},
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        snprintf(top, sizeof top, "/tmp/cloudos-dcache-XXXXXX");
        if (!mkdtemp(top)) {
            perror("mkdtemp");
            return 1;
        }
        chmod(top, 0755);
        if (section(sections[i].name))
            sections[i].run();
        chmod(at("d"), 0700);  /* (search leaves it unwritable) */
        if (nftw(top, remove_one, 8, FTW_DEPTH | FTW_PHYS) != 0)
            return 1;
    }
    return 0;
}
