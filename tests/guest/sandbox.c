/* sandbox.c — runs file operations given as argv (read P | write P DATA | append P DATA | mkdir P | unlink P | rename A B | stat P) and prints each result; CloudOS only (it refuses to run elsewhere: it writes to /etc): test_sandbox.py checks what reaches the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "errname.h"

static void fail(const char *op, const char *path)
{
    printf("%s %s: -1 %s\n", op, path, errname(errno));
}

static void put(const char *op, const char *path, const char *data, int flags)
{
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
    if (fd < 0)
        return fail(op, path);
    ssize_t n = write(fd, data, strlen(data));
    if (n < 0)
        fail(op, path);
    else
        printf("%s %s: %zd\n", op, path, n);
    close(fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct utsname u;
    if (uname(&u) != 0 || strstr(u.release, "cloudos") == NULL) {
        fprintf(stderr, "sandbox: refusing to run outside CloudOS\n");
        return 3;
    }
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i], *path = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(op, "read")) {
            static char buf[1 << 16];
            int fd = open(path, O_RDONLY);
            if (fd < 0) {
                fail(op, path);
            } else {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0)
                    fail(op, path);
                else
                    printf("read %s: [%.*s]\n", path, (int)n, buf);
                close(fd);
            }
            i += 1;
        } else if (!strcmp(op, "write") || !strcmp(op, "append")) {
            put(op, path, i + 2 < argc ? argv[i + 2] : "", !strcmp(op, "write") ? O_TRUNC : O_APPEND);
            i += 2;
        } else if (!strcmp(op, "mkdir")) {
            if (mkdir(path, 0755) != 0)
                fail(op, path);
            else
                printf("mkdir %s: 0\n", path);
            i += 1;
        } else if (!strcmp(op, "unlink")) {
            if (unlink(path) != 0)
                fail(op, path);
            else
                printf("unlink %s: 0\n", path);
            i += 1;
        } else if (!strcmp(op, "rename")) {
            const char *to = i + 2 < argc ? argv[i + 2] : "";
            if (rename(path, to) != 0)
                fail(op, path);
            else
                printf("rename %s: 0\n", path);
            i += 2;
        } else if (!strcmp(op, "stat")) {
            struct stat st;
            if (stat(path, &st) != 0)
                fail(op, path);
            else if (S_ISREG(st.st_mode))
                printf("stat %s: file size=%lld\n", path, (long long)st.st_size);
            else
                printf("stat %s: %s\n", path, S_ISDIR(st.st_mode) ? "dir" : "other");
            i += 1;
        } else {
            printf("unknown operation %s\n", op);
            return 2;
        }
    }
    return 0;
}
