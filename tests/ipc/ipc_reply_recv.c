// cloudos_reply_recv: a server's loop that answers each call and waits for the next in
// one system call (seL4's ReplyRecv), and each way the call refuses or stops part way:
// reply 0 (a plain receive); a port it may not receive on and a bad receive buffer
// (refused before the answer: the caller still waits, a plain reply reaches it); a spent
// reply capability (its error, nothing received: a queued message stays for the next
// receive); a message already queued when it answers (taken at once); a timeout of 0 on
// an empty port (the answer given, then EAGAIN); and an answer after which the server
// waits until it is killed. Pipes order the steps that need another process's.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cloudos.h"

#define LOOP 300

static int s2c[2], c2s[2];  // server to client, client to server: one byte per step

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN";
    default: return "other";
    }
}

static void set(struct cloudos_msg *m, void *data, uint32_t len, uint64_t tag) {
    memset(m, 0, sizeof *m);
    m->data = data;
    m->len = len;
    m->tag = tag;
}

static void step_wait(int fd) {
    char c;
    if (read(fd, &c, 1) != 1)
        _exit(3);
}

static void step_done(int fd) {
    if (write(fd, "s", 1) != 1)
        _exit(3);
}

static void server(cloudos_cap_t port, cloudos_cap_t send_only) {
    uint64_t v = 0, w;
    struct cloudos_msg in, out;
    // The loop: the first request by a reply_recv with no reply, then each answer and
    // the next request in one call.
    set(&in, &v, sizeof v, 0);
    long n = cloudos_reply_recv(0, NULL, port, &in, -1);
    long bad = 0;
    for (int i = 0; i < LOOP; i++) {
        if (n != sizeof v || in.tag != (uint64_t)i || in.reply == 0)
            bad++;
        w = v * 3 + 1;
        set(&out, &w, sizeof w, in.tag + 1000);
        cloudos_cap_t reply = in.reply;
        set(&in, &v, sizeof v, 0);
        n = cloudos_reply_recv(reply, &out, port, &in, -1);
    }
    printf("server loop: %d answered, %ld bad, then got %ld bytes tag %lu\n", LOOP, bad, n,
           (unsigned long)in.tag);
    // A (tag 1): refused twice before the answer, then answered by a plain reply
    cloudos_cap_t reply = in.reply;
    w = 77;
    set(&out, &w, sizeof w, 2001);
    printf("server port without RECV: %s\n",
           err(cloudos_reply_recv(reply, &out, send_only, &in, -1)));
    printf("server bad buffer: %s\n",
           err(cloudos_reply_recv(reply, &out, port, (struct cloudos_msg *)8, -1)));
    printf("server plain reply after both: %s\n", err(cloudos_reply(reply, &out)));
    // B (tag 2, sent without waiting) is queued: a spent reply's error leaves it there
    step_wait(c2s[0]);
    set(&in, &v, sizeof v, 0);
    printf("server spent reply: %s, tag left %lu\n",
           err(cloudos_reply_recv(reply, &out, port, &in, -1)), (unsigned long)in.tag);
    n = cloudos_receive(port, &in, -1);
    printf("server then received: %ld bytes tag %lu value %lu reply %s\n", n,
           (unsigned long)in.tag, (unsigned long)v, in.reply ? "yes" : "no");
    // C (tag 3, another process's call): D (tag 4) is queued while C waits for its
    // answer, and the reply_recv that answers C takes D at once
    n = cloudos_receive(port, &in, -1);
    printf("server got: %ld bytes tag %lu\n", n, (unsigned long)in.tag);
    step_done(s2c[1]);
    step_wait(c2s[0]);
    w = 88;
    set(&out, &w, sizeof w, 2003);
    reply = in.reply;
    set(&in, &v, sizeof v, 0);
    n = cloudos_reply_recv(reply, &out, port, &in, -1);
    printf("server queued: %ld bytes tag %lu value %lu\n", n, (unsigned long)in.tag,
           (unsigned long)v);
    // E (tag 5): answered, then nothing waits and the timeout is 0: EAGAIN
    set(&in, &v, sizeof v, 0);
    n = cloudos_receive(port, &in, -1);
    w = 99;
    set(&out, &w, sizeof w, 2005);
    reply = in.reply;
    printf("server got: %ld bytes tag %lu\n", n, (unsigned long)in.tag);
    printf("server empty port, no wait: %s\n",
           err(cloudos_reply_recv(reply, &out, port, &in, 0)));
    // F (tag 6): answered, then the server waits until it is killed
    set(&in, &v, sizeof v, 0);
    n = cloudos_receive(port, &in, -1);
    w = 111;
    set(&out, &w, sizeof w, 2006);
    printf("server got: %ld bytes tag %lu\n", n, (unsigned long)in.tag);
    fflush(stdout);
    cloudos_reply_recv(in.reply, &out, port, &in, -1);
    printf("server: never here\n");
}

static void call(const char *what, cloudos_cap_t port, uint64_t tag, uint64_t value) {
    uint64_t r = 0;
    struct cloudos_msg req, rep;
    set(&req, &value, sizeof value, tag);
    set(&rep, &r, sizeof r, 0);
    long n = cloudos_call(port, &req, &rep, -1);
    printf("client %s: %s, %ld bytes tag %lu value %lu\n", what, err(n), n,
           (unsigned long)rep.tag, (unsigned long)r);
    fflush(stdout);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    long port = cloudos_port_create(), other = cloudos_port_create();
    if (port < 0 || other < 0 || pipe(s2c) || pipe(c2s)) {
        perror("setup");
        return 1;
    }
    long send_only = cloudos_cap_grant(other, CLOUDOS_RIGHT_SEND);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        server(port, send_only);
        _exit(0);
    }
    long bad = 0;
    for (int i = 0; i < LOOP; i++) {
        uint64_t v = (uint64_t)i * 7, r = 0;
        struct cloudos_msg req, rep;
        set(&req, &v, sizeof v, (uint64_t)i);
        set(&rep, &r, sizeof r, 0);
        long n = cloudos_call(port, &req, &rep, -1);
        if (n != sizeof r || r != v * 3 + 1 || rep.tag != (uint64_t)i + 1000)
            bad++;
    }
    printf("client loop: %d calls, %ld bad\n", LOOP, bad);
    call("A", port, 1, 1);
    uint64_t b = 5, d = 6;
    struct cloudos_msg m;
    set(&m, &b, sizeof b, 2);
    printf("client B sent: %s\n", err(cloudos_send_async(port, &m)));
    step_done(c2s[1]);
    pid_t caller = fork();
    if (caller == 0) {
        call("C", port, 3, 3);
        _exit(0);
    }
    step_wait(s2c[0]);  // the server holds C
    set(&m, &d, sizeof d, 4);
    printf("client D sent: %s\n", err(cloudos_send_async(port, &m)));
    step_done(c2s[1]);
    int st;
    waitpid(caller, &st, 0);
    call("E", port, 5, 5);
    call("F", port, 6, 6);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        printf("client: server killed by signal %d\n", WTERMSIG(st));
    else
        printf("client: server exited %d\n", WEXITSTATUS(st));
    return 0;
}
