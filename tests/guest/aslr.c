// Prints where its code, its stack and an mmap land: ASLR moves them between runs.
// With an argument N > 0 it then execs itself (argv[0]) with N - 1, so one run
// prints the layouts of N + 1 execs of the same program, a line each.
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int local;
    void *map = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("%p %p %p\n", (void *)main, (void *)&local, map);
    int left = argc > 1 ? atoi(argv[1]) : 0;
    if (left > 0) {
        char next[16];
        snprintf(next, sizeof next, "%d", left - 1);
        fflush(stdout);
        execl(argv[0], argv[0], next, (char *)0);
        perror("execl");
        return 1;
    }
    return 0;
}
