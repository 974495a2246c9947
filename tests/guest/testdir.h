/* testdir.h — each file test works in a fresh directory /tmp/cloudos-test-NAME-PID, removed at the end. */
#ifndef TESTDIR_H
#define TESTDIR_H
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char testdir_path[256];

/* Creates the directory and makes it the working directory; prints nothing. */
static void testdir_enter(const char *name)
{
    snprintf(testdir_path, sizeof testdir_path, "/tmp/cloudos-test-%s-%d", name, (int)getpid());
    if (mkdir(testdir_path, 0755) != 0 || chdir(testdir_path) != 0) {
        perror(testdir_path);
        exit(99);
    }
}

static void testdir_rm(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                char sub[4096];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                testdir_rm(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Leaves the directory and removes it with everything in it. */
static void testdir_leave(void)
{
    if (chdir("/tmp") == 0)
        testdir_rm(testdir_path);
}
#endif
