/* file_rw.c — file throughput benchmark: write an N MiB file in /tmp in 64 KiB blocks, read it back and check it, unlink it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 16, blocks = mib * (1024 * 1024 / BLOCK), ok = 0;
    char path[64];
    snprintf(path, sizeof path, "/tmp/cloudos-bench-file_rw-%d", (int)getpid());
    static unsigned char buf[BLOCK], in[BLOCK];
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    for (long b = 0; b < blocks; b++) {
        memset(buf, (int)(b & 0xff), sizeof buf);
        if (write(fd, buf, BLOCK) != BLOCK) {
            perror("write");
            return 1;
        }
    }
    lseek(fd, 0, SEEK_SET);
    for (long b = 0; b < blocks; b++) {
        if (read(fd, in, BLOCK) != BLOCK) {
            perror("read");
            return 1;
        }
        ok += in[0] == (unsigned char)b && in[BLOCK - 1] == (unsigned char)b;
    }
    close(fd);
    unlink(path);
    printf("file_rw mib=%ld blocks=%ld ok=%ld\n", mib, blocks, ok);
    return ok == blocks ? 0 : 1;
}
