/* cow.c — copy-on-write fork: the child sees the parent's 1 MiB heap buffer and global array, and its writes stay private. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUF_SIZE (1024 * 1024)
#define GLOBAL_SIZE (64 * 1024)

static unsigned char global_array[GLOBAL_SIZE];
static int global_scalar = 12345;

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + 3); }

static int has_pattern(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(i))
            return 0;
    return 1;
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

int main(void)
{
    unsigned char *buf = malloc(BUF_SIZE);
    if (!buf)
        return 1;
    for (size_t i = 0; i < BUF_SIZE; i++)
        buf[i] = pattern(i);
    for (size_t i = 0; i < GLOBAL_SIZE; i++)
        global_array[i] = pattern(i);
    int stack_value = 777;

    printf("parent: filled buffers\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        printf("child: sees heap pattern: %s\n", has_pattern(buf, BUF_SIZE) ? "yes" : "no");
        printf("child: sees global pattern: %s\n", has_pattern(global_array, GLOBAL_SIZE) ? "yes" : "no");
        printf("child: sees scalars: %d %d\n", global_scalar, stack_value);
        memset(buf, 0x5a, BUF_SIZE);
        memset(global_array, 0xa5, GLOBAL_SIZE);
        global_scalar = -1;
        stack_value = -2;
        printf("child: own writes visible: %s\n",
               all_bytes(buf, BUF_SIZE, 0x5a) && all_bytes(global_array, GLOBAL_SIZE, 0xa5) &&
                       global_scalar == -1 && stack_value == -2
                   ? "yes" : "no");
        fflush(stdout);
        exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("parent: child failed (status 0x%x)\n", st);
        return 1;
    }
    printf("parent: heap buffer unchanged: %s\n", has_pattern(buf, BUF_SIZE) ? "ok" : "CHANGED");
    printf("parent: global array unchanged: %s\n", has_pattern(global_array, GLOBAL_SIZE) ? "ok" : "CHANGED");
    printf("parent: scalars unchanged: %s\n", global_scalar == 12345 && stack_value == 777 ? "ok" : "CHANGED");

    /* The parent can still write its (now unshared) pages. */
    memset(buf, 0x11, BUF_SIZE);
    global_array[0] = 0x22;
    printf("parent: writes after the child exited: %s\n",
           all_bytes(buf, BUF_SIZE, 0x11) && global_array[0] == 0x22 ? "ok" : "FAIL");
    free(buf);
    return 0;
}
