/* cloudos.h — CloudOS's native IPC and capability calls for guest programs.
 *
 * These system calls are CloudOS's own, numbered 600-612, above the Linux x86_64
 * range (0-334 in the guide's table; Linux itself stops below 600). On Linux they
 * return -1 with errno ENOSYS. Capabilities are 64-bit tokens in the guide's layout:
 * type (8 bits) | object (32) | rights (16) | valid (1) | keyed checksum (7).
 * A token works only in a process that holds it; rights are checked on every call
 * (EPERM). Timeouts are in nanoseconds: negative waits forever, 0 never waits.
 */
#ifndef CLOUDOS_H
#define CLOUDOS_H

#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>

#define CLOUDOS_SYS_PORT_CREATE 600
#define CLOUDOS_SYS_SEND        601
#define CLOUDOS_SYS_RECEIVE     602
#define CLOUDOS_SYS_CALL        603
#define CLOUDOS_SYS_REPLY       604
#define CLOUDOS_SYS_POLL        605
#define CLOUDOS_SYS_SEND_ASYNC  606
#define CLOUDOS_SYS_CAP_GRANT   607
#define CLOUDOS_SYS_CAP_REVOKE  608
#define CLOUDOS_SYS_CAP_INSPECT 609
#define CLOUDOS_SYS_GRANT_READ  610
#define CLOUDOS_SYS_GRANT_WRITE 611
#define CLOUDOS_SYS_REPLY_RECV  612

/* The guide's 16 rights. */
#define CLOUDOS_RIGHT_READ     (1u << 0)
#define CLOUDOS_RIGHT_WRITE    (1u << 1)
#define CLOUDOS_RIGHT_EXEC     (1u << 2)
#define CLOUDOS_RIGHT_SEND     (1u << 3)
#define CLOUDOS_RIGHT_RECV     (1u << 4)
#define CLOUDOS_RIGHT_GRANT    (1u << 5)
#define CLOUDOS_RIGHT_REVOKE   (1u << 6)
#define CLOUDOS_RIGHT_DEBUG    (1u << 7)
#define CLOUDOS_RIGHT_KILL     (1u << 8)
#define CLOUDOS_RIGHT_SUSPEND  (1u << 9)
#define CLOUDOS_RIGHT_PRIORITY (1u << 10)
#define CLOUDOS_RIGHT_MEMORY   (1u << 11)
#define CLOUDOS_RIGHT_DEVICE   (1u << 12)
#define CLOUDOS_RIGHT_NETWORK  (1u << 13)
#define CLOUDOS_RIGHT_FILE     (1u << 14)
#define CLOUDOS_RIGHT_ADMIN    (1u << 15)

/* Object types (a token's top byte). */
#define CLOUDOS_OBJ_PORT  1
#define CLOUDOS_OBJ_REPLY 2
#define CLOUDOS_OBJ_GRANT 3

#define CLOUDOS_MSG_MAX  4096  /* payload bytes per message: EMSGSIZE beyond */
#define CLOUDOS_CAPS_MAX 4     /* capabilities per message */
#define CLOUDOS_QUEUE_MAX 64   /* messages waiting in a port */

typedef uint64_t cloudos_cap_t;

struct cloudos_msg {
    uint64_t tag;            /* a label chosen by the sender */
    void *data;              /* the payload */
    uint32_t len;            /* send: payload bytes; receive: capacity in, bytes stored out */
    uint32_t ncaps;          /* capabilities carried (each needs GRANT) or received */
    cloudos_cap_t caps[CLOUDOS_CAPS_MAX];
    cloudos_cap_t reply;     /* receive: the reply capability of a call, else 0 */
    uint64_t sender;         /* receive: the sender's pid */
    void *grant_base;        /* send: memory lent to the receiver, or NULL */
    uint64_t grant_len;
    uint64_t grant_rights;   /* CLOUDOS_RIGHT_READ and/or CLOUDOS_RIGHT_WRITE */
    cloudos_cap_t grant;     /* receive: the grant capability, else 0 */
};

struct cloudos_cap_info {
    uint32_t type, object, rights, valid;
};

static inline long cloudos_port_create(void) { return syscall(CLOUDOS_SYS_PORT_CREATE); }
static inline long cloudos_send(cloudos_cap_t port, const struct cloudos_msg *m, int64_t timeout_ns)
{ return syscall(CLOUDOS_SYS_SEND, port, m, timeout_ns); }
static inline long cloudos_send_async(cloudos_cap_t port, const struct cloudos_msg *m)
{ return syscall(CLOUDOS_SYS_SEND_ASYNC, port, m); }
static inline long cloudos_receive(cloudos_cap_t port, struct cloudos_msg *m, int64_t timeout_ns)
{ return syscall(CLOUDOS_SYS_RECEIVE, port, m, timeout_ns); }
static inline long cloudos_poll(cloudos_cap_t port, struct cloudos_msg *m)
{ return syscall(CLOUDOS_SYS_POLL, port, m); }
static inline long cloudos_call(cloudos_cap_t port, const struct cloudos_msg *m,
                                struct cloudos_msg *reply, int64_t timeout_ns)
{ return syscall(CLOUDOS_SYS_CALL, port, m, reply, timeout_ns); }
static inline long cloudos_reply(cloudos_cap_t reply, const struct cloudos_msg *m)
{ return syscall(CLOUDOS_SYS_REPLY, reply, m); }
/* A server's loop in one call (seL4's ReplyRecv): answer the call `reply` (0: none) with
 * `m`, then receive on `port` into `in` as cloudos_receive. An error of the answer is
 * returned with nothing received; a bad `port` or `in` is refused before the answer. */
static inline long cloudos_reply_recv(cloudos_cap_t reply, const struct cloudos_msg *m,
                                      cloudos_cap_t port, struct cloudos_msg *in,
                                      int64_t timeout_ns)
{ return syscall(CLOUDOS_SYS_REPLY_RECV, reply, m, port, in, timeout_ns); }
static inline long cloudos_cap_grant(cloudos_cap_t cap, uint32_t rights)
{ return syscall(CLOUDOS_SYS_CAP_GRANT, cap, rights); }
static inline long cloudos_cap_revoke(cloudos_cap_t cap) { return syscall(CLOUDOS_SYS_CAP_REVOKE, cap); }
static inline long cloudos_cap_inspect(cloudos_cap_t cap, struct cloudos_cap_info *info)
{ return syscall(CLOUDOS_SYS_CAP_INSPECT, cap, info); }
static inline long cloudos_grant_read(cloudos_cap_t grant, uint64_t offset, void *buf, uint64_t len)
{ return syscall(CLOUDOS_SYS_GRANT_READ, grant, offset, buf, len); }
static inline long cloudos_grant_write(cloudos_cap_t grant, uint64_t offset, const void *buf, uint64_t len)
{ return syscall(CLOUDOS_SYS_GRANT_WRITE, grant, offset, buf, len); }

#endif
