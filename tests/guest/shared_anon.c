// MAP_SHARED|MAP_ANONYMOUS memory stays shared across fork; MAP_PRIVATE does not.
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int *shared = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *private = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared[0] = 1;
    private[0] = 1;
    pid_t child = fork();
    if (child == 0) {
        shared[0] = 42;      /* a page touched before the fork */
        shared[1500] = 7;    /* a page nobody had touched */
        private[0] = 99;
        return 0;
    }
    waitpid(child, 0, 0);
    printf("shared: %d %d, private: %d\n", shared[0], shared[1500], private[0]);
    return 0;
}
