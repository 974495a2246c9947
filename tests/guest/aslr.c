// Prints where its code, its stack and an mmap land: ASLR moves them between runs.
#include <stdio.h>
#include <sys/mman.h>

int main(void) {
    int local;
    void *map = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("%p %p %p\n", (void *)main, (void *)&local, map);
    return 0;
}
