// Calls and replies whose messages take the C transfer (sys_cloudos._move: header and
// payload in one page each side) and those that must not (payload in another page, a
// header across pages, a reply buffer the caller cannot write, capacities that cut,
// bad pointers, an oversized message): each answer is the same either way.
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
    case EFAULT: return "EFAULT";
    case EMSGSIZE: return "EMSGSIZE";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

// The server's receive buffer capacity for each request it gets, in order.
static const unsigned capacities[] = {64, 64, 64, 3, 64, 64, 64, 64, 64, 64};
#define REQUESTS (sizeof capacities / sizeof capacities[0])
static const char far_answer[] = "an answer from .rodata";

static void server(cloudos_cap_t port) {
    for (unsigned i = 0; i < REQUESTS; i++) {
        char buf[64], answer[96];
        struct cloudos_msg in, out;
        memset(&in, 0, sizeof in);
        memset(buf, 0, sizeof buf);
        in.data = buf;
        in.len = capacities[i];
        long n = cloudos_receive(port, &in, -1);
        printf("server request %u: %ld bytes tag %lu '%.*s' sender %s\n", i, n,
               (unsigned long)in.tag, (int)(n > 0 ? n : 0), buf,
               in.sender == (uint64_t)getppid() ? "parent" : "other");
        memset(&out, 0, sizeof out);
        if (i == 6) {  // the answer from another page than the header's
            out.data = (void *)far_answer;
            out.len = sizeof far_answer;
        } else {
            int len = snprintf(answer, sizeof answer, "answer %u to %.*s", i,
                               (int)(n > 0 ? n : 0), buf);
            out.data = answer;
            out.len = (uint32_t)len + 1;
        }
        out.tag = in.tag + 100;
        printf("server reply %u: %s\n", i, err(cloudos_reply(in.reply, &out)));
    }
}

static void call(const char *what, cloudos_cap_t port, struct cloudos_msg *req,
                 struct cloudos_msg *rep) {
    long n = cloudos_call(port, req, rep, -1);
    if (n < 0) {
        printf("client %s: %s\n", what, err(n));
        return;
    }
    printf("client %s: %ld bytes tag %lu '%.*s' sender %s\n", what, n, (unsigned long)rep->tag,
           (int)n, (char *)rep->data, rep->sender == 0 ? "zero" : "set");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long port = cloudos_port_create();
    pid_t child = fork();
    if (child == 0) {
        server(port);
        return 0;
    }
    char small[8], buf[96];
    uint64_t word = 0x6f6c6c6568;  // "hello"
    struct cloudos_msg req, rep;
#define RESET(data_, len_, tag_)                                            \
    do {                                                                    \
        memset(&req, 0, sizeof req); memset(&rep, 0, sizeof rep);           \
        req.data = (void *)(data_); req.len = (len_); req.tag = (tag_);     \
        rep.data = buf; rep.len = sizeof buf; memset(buf, 0, sizeof buf);   \
    } while (0)
    char text[16] = "on the stack";
    RESET(text, 13, 1);  // 0: the first (the server may not wait yet)
    call("first", port, &req, &rep);
    RESET(text, 13, 2);  // 1: both sides in one page each: the common case
    call("stack", port, &req, &rep);
    RESET("from .rodata", 13, 3);  // 2: the request's payload in another page
    call("rodata", port, &req, &rep);
    RESET(&word, 6, 4);  // 3: the server's capacity (3) cuts the request
    call("cut request", port, &req, &rep);
    RESET(text, 13, 5);  // 4: the caller's capacity (4) cuts the answer
    rep.data = small; rep.len = 4; memset(small, 0, sizeof small);
    call("cut answer", port, &req, &rep);
    // Errors found before the server hears of it: it still waits for request 5
    RESET((void *)16, 4, 6);
    call("bad payload", port, &req, &rep);
    printf("client bad request: %s\n", err(cloudos_call(port, (void *)16, &rep, -1)));
    RESET(text, 13, 7);
    printf("client bad reply buffer: %s\n", err(cloudos_call(port, &req, (void *)16, -1)));
    RESET(text, 5000, 8);
    call("oversized", port, &req, &rep);
    // 5: a request whose header crosses a page boundary
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct cloudos_msg *across = (struct cloudos_msg *)(pages + 4096 - 40);
    RESET(text, 13, 9);
    memcpy(across, &req, sizeof req);
    call("header across pages", port, across, &rep);
    // 6: the answer's payload in another page than its header (the server's side)
    RESET(text, 13, 10);
    call("far answer", port, &req, &rep);
    // 7: the reply's header in a page the caller cannot write: the answer cannot land
    struct cloudos_msg *frozen = (struct cloudos_msg *)(pages + 128);
    memcpy(frozen, &rep, sizeof rep);
    frozen->data = pages + 512;
    mprotect(pages, 4096, PROT_READ);
    RESET(text, 13, 11);
    printf("client read-only reply: %s\n", err(cloudos_call(port, &req, frozen, -1)));
    mprotect(pages, 4096, PROT_READ | PROT_WRITE);
    // 8: an empty request (no payload pointer at all)
    RESET(NULL, 0, 12);
    call("empty", port, &req, &rep);
    // 9: the reply and its buffer in a page of a new mapping
    char *fresh_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    RESET(text, 13, 13);
    rep.data = fresh_page + 256;
    struct cloudos_msg *fresh = (struct cloudos_msg *)fresh_page;
    memcpy(fresh, &rep, sizeof rep);
    call("fresh page", port, &req, fresh);
    int status;
    waitpid(child, &status, 0);
    printf("client: server exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
