/* syslog.c — syslog(2) (klogctl), as dmesg uses it: the record format, the buffer
   rules, the errors and who may do what. Only calls that change nothing run natively
   (never CLEAR, READ or a console level: they would change the host's log). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

static void report(const char *what, int r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errname(errno));
    else
        printf("%s: %d\n", what, r);
    errno = 0;
}

static int well_formed(const char *text, int n)
{
    int lines = 0;
    for (const char *p = text; p < text + n;) {
        const char *end = memchr(p, '\n', text + n - p);
        if (!end)
            return 0;
        unsigned level;
        unsigned long sec, usec;
        char bracket;
        if (sscanf(p, "<%u>[%lu.%lu%c", &level, &sec, &usec, &bracket) != 4 || bracket != ']')
            return 0;
        lines++;
        p = end + 1;
    }
    return lines > 0;
}

static int dmesg_restrict(void)
{
    FILE *f = fopen("/proc/sys/kernel/dmesg_restrict", "r");
    int v = -1;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* What changes the log (run under CloudOS only): READ consumes, CLEAR empties what
   READ_ALL shows, the console level. */
static void changes(void)
{
    char buf[65536];
    int unread = klogctl(9, NULL, 0);
    int n = klogctl(2, buf, sizeof buf);
    printf("READ: all that was unread %d, well formed %d\n", n == unread,
           n > 0 && well_formed(buf, n));
    printf("first record is the boot's: %d\n", n > 0 && strstr(buf, "boot: firmware") != NULL);
    report("SIZE_UNREAD after READ", klogctl(9, NULL, 0));
    report("READ with nothing unread", klogctl(2, buf, sizeof buf));
    report("CONSOLE_LEVEL 8", klogctl(8, NULL, 8));
    report("CONSOLE_OFF", klogctl(6, NULL, 0));
    report("CONSOLE_ON", klogctl(7, NULL, 0));
    report("CONSOLE_LEVEL 4", klogctl(8, NULL, 4));
    n = klogctl(4, buf, sizeof buf);
    printf("READ_CLEAR: positive %d\n", n > 0);
    report("READ_ALL after READ_CLEAR", klogctl(3, buf, sizeof buf));
    report("CLEAR", klogctl(5, NULL, 0));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "changes")) {
        changes();
        return 0;
    }
    int size = klogctl(10, NULL, 0);
    printf("SIZE_BUFFER positive: %d\n", size > 0);
    char *buf = malloc(size > 0 ? size : 1);
    int n = klogctl(3, buf, size);
    printf("READ_ALL: positive %d, at most the buffer %d, records well formed %d\n", n > 0,
           n <= size, n > 0 && well_formed(buf, n));
    n = klogctl(3, buf, 4096);
    printf("READ_ALL 4096: at most 4096 %d, whole records %d\n", n <= 4096,
           n > 0 && well_formed(buf, n));
    report("READ_ALL length 0", klogctl(3, buf, 0));
    report("READ_ALL NULL", klogctl(3, NULL, 10));
    report("READ_ALL length -1", klogctl(3, buf, -1));
    report("READ_ALL 10 (no record fits)", klogctl(3, buf, 10));
    report("READ_ALL into an unmapped page", klogctl(3, (char *)8, size));
    report("OPEN", klogctl(1, NULL, 0));
    report("CLOSE", klogctl(0, NULL, 0));
    printf("SIZE_UNREAD not negative: %d\n", klogctl(9, NULL, 0) >= 0);
    report("action 99", klogctl(99, NULL, 0));
    report("action -1", klogctl(-1, NULL, 0));
    report("CONSOLE_LEVEL 0", klogctl(8, NULL, 0));
    report("CONSOLE_LEVEL 9", klogctl(8, NULL, 9));
    int restrict_ = dmesg_restrict();
    printf("dmesg_restrict readable: %d\n", restrict_ == 0 || restrict_ == 1);
    pid_t pid = fork();
    if (pid == 0) {
        if (setresuid(1000, 1000, 1000) < 0)
            _exit(2);
        int r = klogctl(3, buf, 4096);
        printf("non-root READ_ALL as dmesg_restrict says: %d\n",
               restrict_ ? r < 0 && errno == EPERM : r > 0);
        errno = 0;
        report("non-root SIZE_UNREAD", klogctl(9, NULL, 0));
        report("non-root CLOSE", klogctl(0, NULL, 0));
        report("non-root action 99", klogctl(99, NULL, 0));
        report("non-root CLEAR", klogctl(5, NULL, 0));
        printf("non-root SIZE_BUFFER as dmesg_restrict says: %d\n",
               restrict_ ? klogctl(10, NULL, 0) < 0 : klogctl(10, NULL, 0) > 0);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("non-root child exited with %d\n", WEXITSTATUS(status));
    return 0;
}
