/* fork_tree.c — a tree of 50 processes: each node exits with the sum of (depth+1) over its subtree; the root prints the total. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODES 50 /* nodes are numbered 1..NODES like a binary heap: node n has children 2n, 2n+1 */

static int depth_of(int node)
{
    int d = 0;
    while (node > 1) {
        node /= 2;
        d++;
    }
    return d;
}

/* Forks the children of `node`, reaps them, and returns the sum of (depth+1) over its subtree
 * (or -1 if a child failed); every non-root node passes its sum up as its exit status. */
static int run_node(int node)
{
    int sum = depth_of(node) + 1, forked = 0;
    pid_t kids[2];
    for (int c = 2 * node; c <= 2 * node + 1 && c <= NODES; c++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            int s = run_node(c);
            _exit(s < 0 || s > 254 ? 255 : s);
        }
        kids[forked++] = pid;
    }
    for (int i = 0; i < forked; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) == 255)
            return -1;
        sum += WEXITSTATUS(st);
    }
    return sum;
}

int main(void)
{
    int expected = 0;
    for (int n = 1; n <= NODES; n++)
        expected += depth_of(n) + 1;
    int sum = run_node(1);
    printf("tree of %d processes: sum of (depth+1) = %d (expected %d) %s\n", NODES, sum, expected,
           sum == expected ? "ok" : "MISMATCH");
    return sum == expected ? 0 : 1;
}
