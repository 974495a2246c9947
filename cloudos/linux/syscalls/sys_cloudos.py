"""CloudOS's native calls for guest programs (600-611): ports, messages, capabilities.

The guest ABI of ``include/cloudos.h`` over the kernel's ``ipc`` and ``cap``:
these handlers decode ``struct cloudos_msg`` from the caller's memory, and give
the kernel a ``deliver`` function that writes a message into the receiver's
``struct cloudos_msg`` and installs the capabilities it carries.
"""

from __future__ import annotations

import struct
from typing import Callable

from cloudos.kernel.cap import Cap, ObjType, Right
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import MSG_MAX, Deliver, Message
from cloudos.kernel.task import Thread
from cloudos.kernel.trap import Handler
from cloudos.linux.syscalls.args import s64

# struct cloudos_msg: tag, data, len, ncaps, caps[4], reply, sender, grant_base,
# grant_len, grant_rights, grant.
MSG = struct.Struct("<QQII4QQQQQQQ")
CAP_INFO = struct.Struct("<IIII")
PORT_CREATE, SEND, RECEIVE, CALL, REPLY, POLL, SEND_ASYNC = 600, 601, 602, 603, 604, 605, 606
CAP_GRANT, CAP_REVOKE, CAP_INSPECT, GRANT_READ, GRANT_WRITE = 607, 608, 609, 610, 611


def _deadline(t: Thread, timeout_ns: int) -> float | None:
    timeout = s64(timeout_ns)
    return None if timeout < 0 else t.process.kernel.scheduler.clock() + timeout / 1e9


def _outgoing(t: Thread, msg_addr: int) -> Message:
    """The message described by the caller's ``struct cloudos_msg``."""
    aspace, ipc = t.process.aspace, t.process.kernel.ipc
    fields = MSG.unpack(aspace.copy_in(msg_addr, MSG.size))
    tag, data, length, ncaps = fields[:4]
    caps = list(fields[4:8])
    grant_base, grant_len, grant_rights = fields[10:13]
    if ncaps > len(caps) or length > MSG_MAX:
        raise KernelError(Errno.EMSGSIZE, f"{length} bytes, {ncaps} capabilities")
    msg = ipc.message(t.process.pid, tag, aspace.copy_in(data, length), caps[:ncaps])
    if grant_base:
        aspace.copy_in(grant_base, min(grant_len, 1))  # the lender must own the memory
        msg.caps.append(ipc.lend(t.process.pid, aspace, grant_base, grant_len, grant_rights))
    return msg


def _receiver(t: Thread, msg_addr: int) -> Deliver:
    """How a message lands in this thread's ``struct cloudos_msg`` at ``msg_addr``."""
    aspace, ipc = t.process.aspace, t.process.kernel.ipc
    data_addr, capacity = MSG.unpack(aspace.copy_in(msg_addr, MSG.size))[1:3]

    def deliver(msg: Message) -> int:
        payload = msg.data[:capacity]
        aspace.copy_out(data_addr, payload)
        pid = t.process.pid
        grants = [c for c in msg.caps if c.type is ObjType.GRANT]
        tokens = [ipc.caps.install(pid, c) for c in msg.caps if c.type is not ObjType.GRANT]
        grant = ipc.caps.install(pid, grants[0]) if grants else 0
        reply = ipc.caps.install(pid, msg.reply) if msg.reply is not None else 0
        header = MSG.pack(msg.tag, data_addr, len(payload), len(tokens),
                          *(tokens + [0] * (4 - len(tokens))), reply, msg.sender, 0, 0, 0, grant)
        aspace.copy_out(msg_addr, header)
        return len(payload)

    return deliver


def sys_port_create(t: Thread, *_: int) -> int:
    """A new port; the caller holds every right on it."""
    return t.process.kernel.ipc.create_port(t.process.pid)


def _send(t: Thread, token: int, msg_addr: int, timeout_ns: int, block: bool) -> int:
    ipc = t.process.kernel.ipc
    port = ipc.port(t.process.pid, token, Right.SEND)
    return ipc.send(t, port, _outgoing(t, msg_addr), _deadline(t, timeout_ns),
                    block and s64(timeout_ns) != 0)


def sys_send(t: Thread, token: int, msg: int, timeout_ns: int, *_: int) -> int:
    """Send a message; wait while the port's queue is full (ETIMEDOUT, or EAGAIN for 0)."""
    return _send(t, token, msg, timeout_ns, True)


def sys_send_async(t: Thread, token: int, msg: int, *_: int) -> int:
    """Send without ever waiting: EAGAIN when the queue is full."""
    return _send(t, token, msg, 0, False)


def _receive(t: Thread, token: int, msg_addr: int, timeout_ns: int) -> int:
    ipc = t.process.kernel.ipc
    port = ipc.port(t.process.pid, token, Right.RECV)
    return ipc.receive(t, port, _receiver(t, msg_addr), _deadline(t, timeout_ns),
                       s64(timeout_ns) != 0)


def sys_receive(t: Thread, token: int, msg: int, timeout_ns: int, *_: int) -> int:
    """Receive the oldest message; wait for one (ETIMEDOUT, or EAGAIN for 0)."""
    return _receive(t, token, msg, timeout_ns)


def sys_poll(t: Thread, token: int, msg: int, *_: int) -> int:
    """Receive without waiting: EAGAIN when the port is empty."""
    return _receive(t, token, msg, 0)


def sys_call(t: Thread, token: int, msg: int, reply: int, timeout_ns: int, *_: int) -> int:
    """Send a request with a reply capability and wait for the answer."""
    ipc = t.process.kernel.ipc
    port = ipc.port(t.process.pid, token, Right.SEND)
    return ipc.call(t, port, _outgoing(t, msg), _receiver(t, reply),
                    _deadline(t, timeout_ns))


def sys_reply(t: Thread, token: int, msg: int, *_: int) -> int:
    """Answer a call through its one-shot reply capability."""
    return t.process.kernel.ipc.reply(t.process.pid, token, _outgoing(t, msg))


def _held(t: Thread, token: int, need: int) -> Cap:
    caps = t.process.kernel.ipc.caps
    cap = caps.spaces.get(t.process.pid, {}).get(token)
    return caps.lookup(t.process.pid, token, cap.type if cap else ObjType.PORT, need)


def sys_cap_grant(t: Thread, token: int, rights: int, *_: int) -> int:
    """A derived capability with a subset of the rights (needs GRANT)."""
    caps = t.process.kernel.ipc.caps
    cap = _held(t, token, Right.GRANT)
    return caps.install(t.process.pid, caps.derive(cap, rights & 0xFFFF))


def sys_cap_revoke(t: Thread, token: int, *_: int) -> int:
    """Revoke everything derived from a capability (needs REVOKE); returns how many."""
    return t.process.kernel.ipc.caps.revoke(_held(t, token, Right.REVOKE))


def sys_cap_inspect(t: Thread, token: int, info: int, *_: int) -> int:
    """Type, object, rights and validity of a held capability."""
    cap = _held(t, token, 0)
    t.process.aspace.copy_out(info, CAP_INFO.pack(cap.type, cap.obj, cap.rights, 1))
    return 0


def _grant_copy(t: Thread, token: int, offset: int, buf: int, length: int, write: bool) -> int:
    grant = t.process.kernel.ipc.grant(t.process.pid, token, s64(offset), s64(length), write)
    if write:
        grant.aspace.copy_out(grant.start + offset, t.process.aspace.copy_in(buf, length))
    else:
        t.process.aspace.copy_out(buf, grant.aspace.copy_in(grant.start + offset, length))
    return length


def sys_grant_read(t: Thread, token: int, offset: int, buf: int, length: int, *_: int) -> int:
    """Copy from memory lent by another process (needs READ on the grant)."""
    return _grant_copy(t, token, offset, buf, length, False)


def sys_grant_write(t: Thread, token: int, offset: int, buf: int, length: int, *_: int) -> int:
    """Copy into memory lent by another process (needs WRITE on the grant)."""
    return _grant_copy(t, token, offset, buf, length, True)


NATIVE: dict[int, tuple[str, Callable[..., int]]] = {
    PORT_CREATE: ("cloudos_port_create", sys_port_create),
    SEND: ("cloudos_send", sys_send),
    RECEIVE: ("cloudos_receive", sys_receive),
    CALL: ("cloudos_call", sys_call),
    REPLY: ("cloudos_reply", sys_reply),
    POLL: ("cloudos_poll", sys_poll),
    SEND_ASYNC: ("cloudos_send_async", sys_send_async),
    CAP_GRANT: ("cloudos_cap_grant", sys_cap_grant),
    CAP_REVOKE: ("cloudos_cap_revoke", sys_cap_revoke),
    CAP_INSPECT: ("cloudos_cap_inspect", sys_cap_inspect),
    GRANT_READ: ("cloudos_grant_read", sys_grant_read),
    GRANT_WRITE: ("cloudos_grant_write", sys_grant_write),
}


def native_handlers() -> dict[int, Handler]:
    return {number: handler for number, (_, handler) in NATIVE.items()}
