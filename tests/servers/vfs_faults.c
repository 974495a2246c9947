// Makes 150 file system calls and counts how many failed with EIO (the VFS crashed) and
// how many worked; the file written before the crashes must still read back afterwards.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    int eio = 0, ok = 0, other = 0;
    struct stat st;
    for (int i = 0; i < 150; i++) {
        if (stat("/", &st) == 0) ok++;
        else if (errno == EIO) eio++;
        else other++;
    }
    int fd = open("/tmp/after-crashes", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, "still here", 10);
    close(fd);
    char buf[16] = {0};
    fd = open("/tmp/after-crashes", O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    printf("eio=%d ok=%d other=%d file=%s\n", eio, ok, other, buf);
    return 0;
}
