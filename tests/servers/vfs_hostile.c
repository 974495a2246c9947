/* vfs_hostile.c — input that crashed the VFS server, and calls a server crash must not
 * leave half done. Sections (argv[1] picks one): poll_bits and utimes run natively too
 * (Linux's answers are the reference); fd_ops is run under --inject-crash at every call
 * and must print the same each time; raw_ipc talks to the VFS on the process's own FILE
 * capability (CloudOS only: on Linux it says "no native IPC"). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../../include/cloudos.h"
#include "../guest/section.h"

#define SHOWN (POLLIN | POLLOUT | POLLERR | POLLHUP | POLLNVAL)

static void poll_bits(void)
{
    int p[2];
    pipe(p);
    write(p[1], "x", 1);
    short asks[] = {POLLIN | (short)0x8000, (short)0x8000, POLLOUT | 0x4000 | (short)0x8000};
    for (int round = 0; round < 3; round++) {  /* it crashed the VFS on every call */
        for (int i = 0; i < 3; i++) {
            struct pollfd fds[2] = {{p[0], asks[i], 0}, {p[1], asks[i], 0}};
            int n = poll(fds, 2, 0);
            if (round == 0)
                printf("events %#06hx: %d ready, revents %#x %#x, events kept %d\n",
                       (unsigned short)asks[i], n, fds[0].revents & SHOWN,
                       fds[1].revents & SHOWN, fds[0].events == asks[i]);
        }
    }
}

static void utimes_(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/vfs_hostile.%d.times", getpid());
    close(open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644));
    long long secs[] = {INT64_MAX, INT64_MIN, 1LL << 40, -1};
    for (int i = 0; i < 4; i++) {
        struct timespec ts[2] = {{secs[i], 5}, {secs[i], 999999999}};
        int r = utimensat(AT_FDCWD, path, ts, 0);
        struct stat st;
        int s = stat(path, &st);
        /* the file system may clamp (ext4 at 2446, tmpfs at time64_t's ends): it is
         * only asked to store something and read back a time of the same sign */
        printf("tv_sec %lld: utimensat %d, stat %d, sign kept %d\n", secs[i], r, s,
               (st.st_mtim.tv_sec > 0) == (secs[i] > 0));
    }
    long bad[] = {-1, 1000000000, (1L << 30) - 3, 1L << 40, INT64_MAX};
    for (int i = 0; i < 5; i++) {
        struct timespec ts[2] = {{1, 0}, {INT64_MAX, bad[i]}};
        errno = 0;
        int r = utimensat(AT_FDCWD, path, ts, 0);
        printf("tv_nsec %ld: %d %s\n", bad[i], r, strerrorname_np(errno));
    }
    struct timespec set[2] = {{1000, 1}, {2000, 2}}, omit[2] = {{7, UTIME_OMIT}, {9, UTIME_OMIT}};
    utimensat(AT_FDCWD, path, set, 0);
    int r = utimensat(AT_FDCWD, path, omit, 0);
    struct stat st;
    stat(path, &st);
    printf("UTIME_OMIT twice: %d, atime %lld.%ld mtime %lld.%ld\n", r,
           (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec,
           st.st_mtim.tv_nsec);
    struct timespec half[2] = {{3000, 3}, {0, UTIME_OMIT}};
    utimensat(AT_FDCWD, path, half, 0);
    stat(path, &st);
    printf("atime only: atime %lld mtime %lld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec);
    errno = 0;
    r = utimensat(AT_FDCWD, path, NULL, 0x8000);
    printf("unknown flag: %d %s\n", r, strerrorname_np(errno));
    unlink(path);
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 16; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

/* Every call checked: under --inject-crash each one in turn meets a crash of the VFS. */
static void fd_ops(void)
{
    int before = open_fds();
    char path[64];
    snprintf(path, sizeof path, "/tmp/vfs_hostile.%d.data", getpid());
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    int saved = fcntl(1, F_DUPFD, 10);          /* what dash does around a redirection */
    int r1 = dup2(fd, 1);
    write(1, "into the file\n", 14);
    int r2 = dup2(saved, 1);
    int r3 = close(saved);
    int again = fcntl(saved, F_GETFD);          /* closed: EBADF */
    int r4 = close(fd);
    int p[2];
    int r5 = pipe(p);
    int w = write(p[1], "pipe bytes", 10);
    char buf[32] = {0};
    int r = read(p[0], buf, sizeof buf - 1);
    int r6 = close(p[0]) | close(p[1]);
    fd = open(path, O_RDONLY);
    char file[32] = {0};
    int got = read(fd, file, sizeof file - 1);
    close(fd);
    unlink(path);
    saved = saved >= 10;
    printf("saved %d dup2 %d %d close %d closed %d close %d pipe %d %d/%d '%s' close %d "
           "file %d '%.13s'\n", saved, r1, r2, r3, again == -1 && errno == EBADF, r4, r5, w,
           r, buf, r6, got, file);
    printf("fds left open: %d\n", open_fds() - before);
}

/* The process's FILE capability on the VFS port, found the way a hostile program would. */
static cloudos_cap_t file_capability(void)
{
    for (uint64_t port = 1; port < 64; port++)
        for (uint64_t mac = 0; mac < 128; mac++) {
            cloudos_cap_t token = (uint64_t)CLOUDOS_OBJ_PORT << 56 | port << 24
                | (uint64_t)(CLOUDOS_RIGHT_SEND | CLOUDOS_RIGHT_FILE) << 8 | 1 << 7 | mac;
            struct cloudos_cap_info info;
            if (cloudos_cap_inspect(token, &info) == 0)
                return token;
        }
    return 0;
}

static void raw_ipc(void)
{
    cloudos_cap_t vfs = file_capability();
    if (!vfs) {
        printf("no native IPC\n");
        return;
    }
    char data[16] = "hostile", answer[16];
    uint64_t tags[] = {12345, 0, 3, 7, 162, 1003, UINT64_MAX};
    for (int i = 0; i < 7; i++) {
        struct cloudos_msg m = {.tag = tags[i], .data = data, .len = sizeof data};
        struct cloudos_msg reply = {.data = answer, .len = sizeof answer};
        long r = cloudos_call(vfs, &m, &reply, 1000000000);
        printf("call tag %lld: %ld, answer %lld from %lld\n", (long long)tags[i], r,
               (long long)reply.tag, (long long)reply.sender);
    }
    int sent = 0;
    for (int i = 0; i < 2000; i++) {  /* notifications: nobody to answer, nothing to crash */
        struct cloudos_msg m = {.tag = tags[i % 7], .data = data, .len = sizeof data};
        sent += cloudos_send_async(vfs, &m) == 0;
    }
    usleep(100000);
    struct stat st;
    printf("notifications sent %d, stat after: %d\n", sent > 0, stat("/", &st));
    long first = cloudos_cap_grant(vfs, CLOUDOS_RIGHT_SEND), same = 0;
    for (int i = 0; i < 5000; i++)  /* one capability, not 5,000 in its derivation list */
        same += cloudos_cap_grant(vfs, CLOUDOS_RIGHT_SEND) == first;
    printf("granted again: the same token %d times\n", (int)same);
    int ports = 0;
    long last = 0;
    while (ports < 1000 && (last = cloudos_port_create()) > 0)
        ports++;
    printf("ports: %d, then %s\n", ports, last == -1 ? strerrorname_np(errno) : "more");
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (section("poll_bits"))
        poll_bits();
    if (section("utimes"))
        utimes_();
    if (section("fd_ops"))
        fd_ops();
    if (section("raw_ipc"))
        raw_ipc();
    return 0;
}
