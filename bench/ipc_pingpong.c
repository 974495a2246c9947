/* ipc_pingpong.c — CloudOS IPC benchmark: N call/reply round trips between a parent and a child over a port (include/cloudos.h; Linux: ENOSYS). The server answers each call and waits for the next in one cloudos_reply_recv (seL4's ReplyRecv: two system calls per round trip); built with -DSPLIT (bench/ipc_split.c), it replies and receives in two (three per round trip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cloudos.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000, ok = 0;
    long port = cloudos_port_create();
    if (port < 0) {
        perror("cloudos_port_create");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {  /* the server: n requests, each answered with the value plus one */
        uint64_t v, answer;
        struct cloudos_msg in, out;
        memset(&in, 0, sizeof in);
        in.data = &v;
        in.len = sizeof v;
        if (n > 0 && cloudos_receive(port, &in, -1) < 0)
            _exit(1);
        for (long i = 0; i < n; i++) {
            answer = v + 1;
            memset(&out, 0, sizeof out);
            out.data = &answer;
            out.len = sizeof answer;
            cloudos_cap_t reply = in.reply;
            memset(&in, 0, sizeof in);
            in.data = &v;
            in.len = sizeof v;
            if (i == n - 1) {  /* the last: nothing more comes */
                if (cloudos_reply(reply, &out) < 0)
                    _exit(1);
                break;
            }
#ifdef SPLIT
            if (cloudos_reply(reply, &out) < 0 || cloudos_receive(port, &in, -1) < 0)
                _exit(1);
#else
            if (cloudos_reply_recv(reply, &out, port, &in, -1) < 0)
                _exit(1);
#endif
        }
        _exit(0);
    }
    for (long i = 0; i < n; i++) {
        uint64_t v = (uint64_t)i, r = 0;
        struct cloudos_msg req, rep;
        memset(&req, 0, sizeof req);
        memset(&rep, 0, sizeof rep);
        req.data = &v;
        req.len = sizeof v;
        rep.data = &r;
        rep.len = sizeof r;
        if (cloudos_call(port, &req, &rep, -1) < 0) {
            perror("cloudos_call");
            return 1;
        }
        ok += r == v + 1;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("ipc_pingpong n=%ld ok=%ld\n", n, ok);
    return ok == n && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
