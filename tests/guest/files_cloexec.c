/* files_cloexec.c — O_CLOEXEC, F_SETFD and dup3 close-on-exec: fds survive fork, and execve of argv[1] (fdcheck) closes exactly the close-on-exec ones. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

static int open_with(const char *name, const char *text, int flags)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | flags, 0644);
    write(fd, text, strlen(text));
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void show_status(const char *label, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", label, WTERMSIG(st));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: files_cloexec FDCHECK\n");
        return 2;
    }
    testdir_enter("files_cloexec");
    int a = open_with("a", "closed-on-exec", O_CLOEXEC);
    int b = open_with("b", "inherited", 0);
    int c = open_with("c", "set-by-F_SETFD", 0);
    fcntl(c, F_SETFD, FD_CLOEXEC);
    int d = dup3(b, 6, O_CLOEXEC);
    int e = dup2(a, 7);  /* a duplicate does not inherit FD_CLOEXEC */
    printf("parent: fds %d %d %d %d %d, FD_CLOEXEC %d %d %d %d %d\n", a, b, c, d, e,
           fcntl(a, F_GETFD), fcntl(b, F_GETFD), fcntl(c, F_GETFD), fcntl(d, F_GETFD),
           fcntl(e, F_GETFD));
    fflush(stdout);

    /* fork keeps every fd, close-on-exec or not */
    pid_t pid = fork();
    if (pid == 0) {
        printf("forked child: fd 3 %s, fd 5 %s\n", fcntl(3, F_GETFD) >= 0 ? "open" : "closed",
               fcntl(5, F_GETFD) >= 0 ? "open" : "closed");
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);

    /* execve closes the close-on-exec ones */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *args[] = {"fdcheck", "3", "4", "5", "6", "7", "8", NULL};
        execv(argv[1], args);
        printf("execv failed: %s\n", errname(errno));
        fflush(stdout);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    show_status("parent: fdcheck", st);
    /* the child read through the shared offset of b */
    SHOW("parent: offset of b after the child read it", lseek(b, 0, SEEK_CUR));

    /* flags changed in the child before its exec */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        fcntl(4, F_SETFD, FD_CLOEXEC);
        fcntl(3, F_SETFD, 0);
        lseek(3, 0, SEEK_SET);
        char *args[] = {"fdcheck", NULL};
        execv(argv[1], args);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    show_status("parent: fdcheck with flags flipped", st);
    printf("parent: fd 4 still without FD_CLOEXEC here: %s\n", fcntl(4, F_GETFD) == 0 ? "yes" : "no");
    testdir_leave();
    return 0;
}
