/* files_dup.c — dup/dup2 redirection of stdout into a file and back, dup3 + O_CLOEXEC, fcntl F_DUPFD lowest-free, F_GETFD/F_SETFD, F_GETFL/F_SETFL. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "errname.h"
#include "testdir.h"

static void show_fl(const char *label, int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        printf("%s: F_GETFL %s\n", label, errname(errno));
        return;
    }
    const char *acc = (fl & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "O_RDWR";
    printf("%s: %s%s%s\n", label, acc, fl & O_APPEND ? "|O_APPEND" : "", fl & O_NONBLOCK ? "|O_NONBLOCK" : "");
}

int main(void)
{
    testdir_enter("files_dup");
    printf("before redirection\n");
    fflush(stdout);

    /* stdout into a file and back */
    int fd = open("out", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW("open out", fd);
    fflush(stdout);
    int saved = dup(1);
    int r = dup2(fd, 1);
    printf("this line goes to the file (dup2 returned %d)\n", r);
    fflush(stdout);
    int r2 = dup2(saved, 1);
    close(saved);
    SHOW("dup2 restore", r2);
    SHOW("dup of saved closed it", fcntl(saved, F_GETFD));
    char buf[256];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n < 0 ? 0 : n] = 0;
    printf("file holds %zd bytes: [%s]\n", n, buf);
    SHOW("shared offset after writes through fd 1", lseek(fd, 0, SEEK_CUR));

    /* dup shares the offset and status flags, not the fd flags */
    int d = dup(fd);
    SHOW("dup", d);
    lseek(fd, 3, SEEK_SET);
    SHOW("offset seen through the dup", lseek(d, 0, SEEK_CUR));
    SHOW("dup2 onto itself", dup2(fd, fd));
    SHOW("dup2 from a bad fd", dup2(77, 20));
    SHOW("dup2 onto a negative fd", dup2(fd, -1));
    SHOW("dup of a bad fd", dup(77));
    close(d);

    /* dup3 and close-on-exec */
    SHOW("dup3 O_CLOEXEC onto 10", dup3(fd, 10, O_CLOEXEC));
    SHOW("F_GETFD 10", fcntl(10, F_GETFD));
    SHOW("F_GETFD of the original", fcntl(fd, F_GETFD));
    SHOW("dup3 onto itself", dup3(fd, fd, 0));
    SHOW("dup3 bad flags", dup3(fd, 11, O_APPEND));
    SHOW("dup3 without O_CLOEXEC onto 10", dup3(fd, 10, 0));
    SHOW("F_GETFD 10 now", fcntl(10, F_GETFD));
    SHOW("F_SETFD FD_CLOEXEC", fcntl(10, F_SETFD, FD_CLOEXEC));
    SHOW("F_GETFD 10 after F_SETFD", fcntl(10, F_GETFD));
    SHOW("F_GETFD bad fd", fcntl(99, F_GETFD));
    close(10);

    /* F_DUPFD gives the lowest free fd at or above its argument */
    int a = open("out", O_RDONLY), b = open("out", O_RDONLY), c = open("out", O_RDONLY);
    printf("opened %d %d %d\n", a, b, c);
    close(b);
    SHOW("F_DUPFD 0 with a gap", fcntl(fd, F_DUPFD, 0));
    SHOW("F_DUPFD 0 again", fcntl(fd, F_DUPFD, 0));
    SHOW("F_DUPFD 20", fcntl(fd, F_DUPFD, 20));
    SHOW("F_DUPFD 20 again", fcntl(fd, F_DUPFD, 20));
    SHOW("F_DUPFD_CLOEXEC 30", fcntl(fd, F_DUPFD_CLOEXEC, 30));
    SHOW("F_GETFD 30", fcntl(30, F_GETFD));
    SHOW("F_GETFD 20", fcntl(20, F_GETFD));
    SHOW("F_DUPFD negative", fcntl(fd, F_DUPFD, -1));
    SHOW("open takes the lowest free", (close(a), open("out", O_RDONLY)));

    /* F_GETFL / F_SETFL */
    show_fl("flags of out (O_RDWR)", fd);
    SHOW("F_SETFL O_APPEND|O_NONBLOCK", fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK));
    show_fl("flags now", fd);
    show_fl("flags through fd 20 (shared)", 20);
    lseek(fd, 0, SEEK_SET);
    write(fd, "<appended>", 10);
    SHOW("offset after append write", lseek(fd, 0, SEEK_CUR));
    SHOW("F_SETFL cannot change the access mode", fcntl(fd, F_SETFL, O_WRONLY));
    show_fl("flags after F_SETFL O_WRONLY", fd);
    int ro = open("out", O_RDONLY | O_APPEND);
    show_fl("open O_RDONLY|O_APPEND", ro);
    int wo = open("out", O_WRONLY | O_NONBLOCK);
    show_fl("open O_WRONLY|O_NONBLOCK", wo);
    SHOW("F_SETFL 0", fcntl(wo, F_SETFL, 0));
    show_fl("cleared", wo);
    n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n < 0 ? 0 : n] = 0;
    printf("final file: [%s]\n", buf);

    testdir_leave();
    return 0;
}
