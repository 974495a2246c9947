// Two guest processes talk over a CloudOS port: call/reply, rights, revoke, forgery,
// queue limits, capability transfer, memory grants and a deferred reply.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cloudos.h"

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EMSGSIZE: return "EMSGSIZE";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static struct cloudos_msg text(const char *s, uint64_t tag) {
    struct cloudos_msg m;
    memset(&m, 0, sizeof m);
    m.tag = tag;
    m.data = (void *)s;
    m.len = strlen(s) + 1;
    return m;
}

static void server(cloudos_cap_t port) {
    char buf[128];
    struct cloudos_msg in;
    // 1. a call, answered at once
    memset(&in, 0, sizeof in); in.data = buf; in.len = sizeof buf;
    long n = cloudos_receive(port, &in, -1);
    printf("server got %ld bytes tag %lu: %s (reply cap: %s)\n", n, (unsigned long)in.tag, buf,
           in.reply ? "yes" : "no");
    struct cloudos_msg out = text("pong", 2);
    printf("server reply: %s\n", err(cloudos_reply(in.reply, &out)));
    printf("server second reply on the same cap: %s\n", err(cloudos_reply(in.reply, &out)));
    // 2. a message carrying a capability and a memory grant
    memset(&in, 0, sizeof in); in.data = buf; in.len = sizeof buf;
    cloudos_receive(port, &in, -1);
    printf("server got %u capabilities, grant: %s\n", in.ncaps, in.grant ? "yes" : "no");
    char lent[16] = {0};
    printf("server grant read: %s\n", err(cloudos_grant_read(in.grant, 0, lent, 8)));
    printf("server sees lent memory: %s\n", lent);
    printf("server grant write: %s\n", err(cloudos_grant_write(in.grant, 0, "GRANTED", 8)));
    printf("server grant read past its end: %s\n", err(cloudos_grant_read(in.grant, 60, lent, 16)));
    struct cloudos_msg back = text("via transferred cap", 3);
    printf("server send on transferred cap: %s\n", err(cloudos_send(in.caps[0], &back, -1)));
    // 3. a deferred reply: take the call, serve another message first, answer later
    struct cloudos_msg call_in;
    char call_buf[64];
    memset(&call_in, 0, sizeof call_in); call_in.data = call_buf; call_in.len = sizeof call_buf;
    cloudos_receive(port, &call_in, -1);
    memset(&in, 0, sizeof in); in.data = buf; in.len = sizeof buf;
    cloudos_receive(port, &in, -1);
    printf("server served '%s' before answering '%s'\n", buf, call_buf);
    struct cloudos_msg late = text("late answer", 4);
    cloudos_reply(call_in.reply, &late);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);  // lines appear as each process prints them
    long port = cloudos_port_create();
    if (port < 0) { printf("port_create: %s\n", err(port)); return 1; }
    long port2 = cloudos_port_create();
    pid_t child = fork();
    if (child == 0) { server(port); return 0; }

    char buf[128];
    struct cloudos_msg req = text("ping", 1), rep;
    memset(&rep, 0, sizeof rep); rep.data = buf; rep.len = sizeof buf;
    long n = cloudos_call(port, &req, &rep, -1);
    printf("client got %ld bytes tag %lu: %s\n", n, (unsigned long)rep.tag, buf);

    char shared[64] = "secret";
    struct cloudos_msg gift = text("gift", 5);
    gift.ncaps = 1;
    gift.caps[0] = port2;
    gift.grant_base = shared; gift.grant_len = sizeof shared;
    gift.grant_rights = CLOUDOS_RIGHT_READ | CLOUDOS_RIGHT_WRITE;
    cloudos_send(port, &gift, -1);
    struct cloudos_msg in;
    memset(&in, 0, sizeof in); in.data = buf; in.len = sizeof buf;
    cloudos_receive(port2, &in, -1);
    printf("client got on port2: %s; its memory now says: %s\n", buf, shared);

    struct cloudos_msg slow = text("answer me later", 6), other = text("first this", 7);
    memset(&rep, 0, sizeof rep); rep.data = buf; rep.len = sizeof buf;
    pid_t helper = fork();
    if (helper == 0) {  // a second client sends while the first call waits
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, 0);
        cloudos_send(port, &other, -1);
        return 0;
    }
    cloudos_call(port, &slow, &rep, -1);
    printf("client got the deferred reply: %s\n", buf);
    waitpid(helper, 0, 0);
    waitpid(child, 0, 0);

    // Rights: derived capabilities, narrowing only, revoke, forgery.
    long recv_only = cloudos_cap_grant(port, CLOUDOS_RIGHT_RECV | CLOUDOS_RIGHT_GRANT);
    struct cloudos_msg m = text("x", 0);
    printf("send without SEND: %s\n", err(cloudos_send(recv_only, &m, 0)));
    printf("widen RECV to RECV|SEND: %s\n",
           err(cloudos_cap_grant(recv_only, CLOUDOS_RIGHT_RECV | CLOUDOS_RIGHT_SEND)));
    long narrower = cloudos_cap_grant(recv_only, CLOUDOS_RIGHT_RECV);
    struct cloudos_cap_info info;
    cloudos_cap_inspect(narrower, &info);
    printf("derived: type %u rights %#x valid %u\n", info.type, info.rights, info.valid);
    printf("revoke without REVOKE: %s\n", err(cloudos_cap_revoke(recv_only)));
    printf("revoked: %ld\n", cloudos_cap_revoke(port));
    printf("inspect revoked: %s, grandchild: %s\n", err(cloudos_cap_inspect(recv_only, &info)),
           err(cloudos_cap_inspect(narrower, &info)));
    printf("forged checksum: %s\n", err(cloudos_cap_inspect(port ^ 1, &info)));
    printf("forged rights: %s\n", err(cloudos_cap_inspect(port ^ (1 << 20), &info)));

    // Queues: empty poll, full queue, timeouts, size limit.
    long q = cloudos_port_create();
    printf("poll empty: %s\n", err(cloudos_poll(q, &in)));
    printf("receive with 5 ms timeout: %s\n", err(cloudos_receive(q, &in, 5000000)));
    int sent = 0;
    while (cloudos_send_async(q, &m) == 0) sent++;
    printf("queued %d, then: %s\n", sent, err(-1));
    printf("send with 10 ms timeout: %s\n", err(cloudos_send(q, &m, 10000000)));
    static char big[CLOUDOS_MSG_MAX + 1];
    struct cloudos_msg huge = {.data = big, .len = sizeof big};
    printf("oversized message: %s\n", err(cloudos_send(port2, &huge, 0)));
    printf("bad message pointer: %s\n", err(cloudos_send(port2, (void *)8, 0)));

    // A receiver waiting with a bad buffer: the message it could not take stays queued,
    // once, for the next receive.
    long r = cloudos_port_create();
    fflush(stdout);
    pid_t sender = fork();
    if (sender == 0) {
        usleep(50000);
        struct cloudos_msg once = text("once", 4);
        cloudos_send(r, &once, -1);
        _exit(0);
    }
    char rbuf[16];
    struct cloudos_msg bad;
    memset(&bad, 0, sizeof bad); bad.data = (void *)8; bad.len = sizeof rbuf;
    printf("waiting receive into a bad buffer: %s\n", err(cloudos_receive(r, &bad, -1)));
    waitpid(sender, NULL, 0);
    memset(&in, 0, sizeof in); in.data = rbuf; in.len = sizeof rbuf;
    long got = cloudos_poll(r, &in);
    printf("then poll: %s %s", err(got), got >= 0 ? rbuf : "-");
    memset(&in, 0, sizeof in); in.data = rbuf; in.len = sizeof rbuf;
    printf(", then poll: %s\n", err(cloudos_poll(r, &in)));

    // The same with a call (the fast path's handoff, when the receiver waits): the receive
    // fails, the call stays queued for the next receive, and its reply reaches the caller.
    fflush(stdout);
    pid_t caller = fork();
    if (caller == 0) {
        usleep(50000);
        // The request's struct spans two pages; the reply's lies in one page with its buffer.
        char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        struct cloudos_msg *q = (void *)(two + 4096 - 40), *a = (void *)(two + 4096 + 64);
        char *answer = two + 4096 + 512;
        *q = text("question", 5);
        memset(a, 0, sizeof *a); a->data = answer; a->len = 16;
        long rc = cloudos_call(r, q, a, -1);
        printf("caller got: %s %s tag %lu\n", err(rc), rc >= 0 ? answer : "-",
               (unsigned long)a->tag);
        fflush(stdout);
        _exit(0);
    }
    printf("waiting receive into a bad buffer, a call: %s\n", err(cloudos_receive(r, &bad, -1)));
    // (received into a struct that spans two pages, its buffer in the second)
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct cloudos_msg *span = (void *)(two + 4096 - 48);
    memset(span, 0, sizeof *span); span->data = two + 4096 + 256; span->len = 16;
    got = cloudos_poll(r, span);
    printf("then poll: %s %s tag %lu (reply cap: %s)\n", err(got), got >= 0 ? (char *)span->data : "-",
           (unsigned long)span->tag, span->reply ? "yes" : "no");
    struct cloudos_msg answer = text("answer", 6);
    long replied = cloudos_reply(span->reply, &answer);
    fflush(stdout);
    waitpid(caller, NULL, 0);
    printf("reply: %s\n", err(replied));

    // A caller that gave up (its call timed out) is not answered by a late reply: ESRCH;
    // its next call gets its own answer. (The other process prints first, then this one.)
    long g = cloudos_port_create();
    fflush(stdout);
    pid_t quitter = fork();
    if (quitter == 0) {
        char got1[16] = "-", got2[16] = "-";
        struct cloudos_msg q1 = text("first", 7), q2 = text("second", 8), a1, a2;
        memset(&a1, 0, sizeof a1); a1.data = got1; a1.len = sizeof got1;
        memset(&a2, 0, sizeof a2); a2.data = got2; a2.len = sizeof got2;
        printf("quitter's first call: %s\n", err(cloudos_call(g, &q1, &a1, 20000000)));
        usleep(100000);  // (the server answers the first late, 60 ms after receiving it)
        long r2 = cloudos_call(g, &q2, &a2, -1);
        printf("quitter's second call: %s %s tag %lu\n", err(r2), r2 >= 0 ? got2 : "-",
               (unsigned long)a2.tag);
        fflush(stdout);
        _exit(0);
    }
    char gbuf[16];
    struct cloudos_msg gin;
    memset(&gin, 0, sizeof gin); gin.data = gbuf; gin.len = sizeof gbuf;
    cloudos_receive(g, &gin, -1);
    usleep(60000);
    struct cloudos_msg late = text("late", 9), on_time = text("on time", 10);
    long late_rc = cloudos_reply(gin.reply, &late);
    memset(&gin, 0, sizeof gin); gin.data = gbuf; gin.len = sizeof gbuf;
    cloudos_receive(g, &gin, -1);
    long second_rc = cloudos_reply(gin.reply, &on_time);
    waitpid(quitter, NULL, 0);
    printf("late reply to a caller that gave up: %s\n", err(late_rc));
    printf("reply to the second call (%s): %s\n", gbuf, err(second_rc));
    return 0;
}
