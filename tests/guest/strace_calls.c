/* System calls whose strace lines are the same on Linux and under CloudOS (after pids
 * and addresses are taken out): tests/trace/test_strace.py runs this under the host's
 * `strace -f -s 32` and under `cloudos run --strace` and compares the lines between
 * the BEGIN and END writes. argv[1]: a directory to make (it must not exist). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    const char *dir = argv[1];
    char buf[128];
    struct stat st;
    write(1, "BEGIN\n", 6);
    umask(022);
    mkdir(dir, 0755);
    chdir(dir);
    int fd = open("data.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "hello, world\n", 13);
    static const char binary[] = "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\20t\2\0\0\0\0\0\0\0tail";
    write(fd, binary, sizeof binary - 1);
    write(fd, "quote\" back\\slash\ttab\r\n", 23);
    close(fd);
    fd = open("data.txt", O_RDONLY | O_CLOEXEC);
    read(fd, buf, 13);
    lseek(fd, 0, SEEK_SET);
    pread(fd, buf, 5, 7);
    fstat(fd, &st);
    close(fd);
    stat("data.txt", &st);
    lstat("missing", &st);
    open("missing", O_RDONLY);
    open("data.txt", O_WRONLY | O_CREAT | O_EXCL, 0600);
    access("data.txt", R_OK | W_OK);
    access("missing", F_OK);
    int p[2];
    pipe2(p, O_CLOEXEC);
    write(p[1], "ab\0\1\0019", 6);
    read(p[0], buf, sizeof buf);
    dup2(p[0], 10);
    fcntl(10, F_GETFD);
    fcntl(10, F_SETFD, FD_CLOEXEC);
    close(10);
    close(p[0]);
    close(p[1]);
    close(99);
    DIR *d = opendir(".");
    while (readdir(d))
        ;
    closedir(d);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, "sock");
    bind(s, (struct sockaddr *)&addr, sizeof addr);
    listen(s, 5);
    close(s);
    unlink("sock");
    rename("data.txt", "moved.txt");
    symlink("moved.txt", "link");
    readlink("link", buf, sizeof buf);
    unlink("link");
    unlink("moved.txt");
    chdir("/");
    rmdir(dir);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    kill(getpid(), SIGUSR1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);
    pid_t child = fork();
    if (child == 0) {
        write(1, "child\n", 6);
        _exit(3);
    }
    int status;
    wait4(-1, &status, 0, NULL);
    write(1, "END\n", 4);
    return 0;
}
