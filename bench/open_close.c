/* open_close.c — path lookup benchmark: N times open() + close() of an existing file in /tmp. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000, ok = 0;
    char path[64];
    snprintf(path, sizeof path, "/tmp/cloudos-bench-open_close-%d", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    close(fd);
    for (long i = 0; i < n; i++) {
        fd = open(path, O_RDONLY);
        ok += fd >= 0 && close(fd) == 0;
    }
    unlink(path);
    printf("open_close n=%ld ok=%ld\n", n, ok);
    return ok == n ? 0 : 1;
}
