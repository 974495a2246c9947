/* cache_pressure.c — more file pages than the machine's memory pass through private mappings (each file mapped, read, unmapped), then anonymous memory is touched: the page cache must give its unmapped pages back (run under a small --mem). Prints only what native Linux prints too. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "testdir.h"

#define FILES 24
#define SIZE (4 << 20)

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    testdir_enter("cache_pressure");
    char *chunk = malloc(SIZE);
    int mapped = 0;
    long sum = 0;
    for (int i = 0; i < FILES; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d", i);
        memset(chunk, 'a' + i % 26, SIZE);
        int fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0644);
        write(fd, chunk, SIZE);
        char *p = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            for (long off = 0; off < SIZE; off += 4096)
                sum += p[off];
            munmap(p, SIZE);
            mapped++;
        }
        close(fd);
        unlink(name);
    }
    printf("files mapped and read: %d of %d, checksum %ld\n", mapped, FILES, sum);
    char *anon = mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long off = 0; off < (32 << 20); off += 4096)
        anon[off] = 1;
    printf("then 32 MiB of anonymous memory: touched\n");
    testdir_leave();
    return 0;
}
