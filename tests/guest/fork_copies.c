/* fork_copies.c — rounds of fork where both sides write the same pages (the stack top,
   globals, the heap) at once: each side sees only its own writes, and the child sees the
   parent's memory as it was at the fork. (CloudOS copies such pages at fork time when a
   child before wrote them: the meaning must stay fork's.) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long globals[1024];  /* two pages of .bss */
static volatile long scalar = 7;     /* .data */

int main(void)
{
    volatile long local[64];
    volatile long *heap = calloc(1024, sizeof(long));
    int wrong = 0, rounds = 6;
    if (heap == NULL)
        return 1;
    for (int round = 0; round < rounds; round++) {
        int go[2];
        if (pipe(go))
            return 1;
        for (int i = 0; i < 64; i++)
            local[i] = round * 100 + i;
        globals[round] = round;
        scalar = round;
        heap[round] = round;
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {  /* the child writes first, then reads after the parent wrote */
            char c;
            local[0] = -1;
            globals[600] = -1;
            scalar = -1;
            heap[600] = -1;
            if (read(go[0], &c, 1) != 1)
                _exit(3);
            int ok = local[0] == -1 && local[1] == round * 100 + 1 && globals[round] == round
                     && globals[700] == 0 && globals[600] == -1 && scalar == -1
                     && heap[round] == round && heap[700] == 0 && heap[600] == -1;
            _exit(ok ? 0 : 4);
        }
        local[1] = -2;  /* the parent's writes after the fork: the child must not see them */
        globals[700] = -2;
        heap[700] = -2;
        if (write(go[1], "x", 1) != 1)
            return 1;
        int st;
        if (waitpid(pid, &st, 0) != pid)
            return 1;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            wrong++;
        if (local[0] != round * 100 || local[1] != -2 || globals[600] != 0 || scalar != round
            || heap[600] != 0 || globals[700] != -2 || heap[700] != -2)
            wrong++;
        globals[700] = 0;
        heap[700] = 0;
        close(go[0]);
        close(go[1]);
    }
    printf("fork rounds: %d, with a wrong view: %d\n", rounds, wrong);
    return wrong != 0;
}
