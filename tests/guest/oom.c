/* oom.c — touches more anonymous memory than a small machine has: the kernel must kill it (SIGKILL, as Linux's OOM killer), not crash. Prints how far it got. */
#include <stdio.h>
#include <sys/mman.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    long size = 256L << 20;
    /* MAP_NORESERVE: Linux (and CloudOS) refuse one committed request larger than RAM */
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    for (long off = 0; off < size; off += 4096) {
        p[off] = 1;
        if (off % (32L << 20) == 0)
            printf("touched %ld MiB\n", off >> 20);
    }
    printf("all touched\n");
    return 0;
}
