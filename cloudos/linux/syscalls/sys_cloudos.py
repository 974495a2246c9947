"""CloudOS's native calls for guest programs (600-612): ports, messages, capabilities.

The guest ABI of ``include/cloudos.h`` over the kernel's ``ipc`` and ``cap``:
these handlers decode ``struct cloudos_msg`` from the caller's memory, and give
the kernel a ``deliver`` function (a ``_Receiver``) that writes a message into the
receiver's ``struct cloudos_msg`` and installs the capabilities it carries. The common
round trip (a call to a server waiting in receive, its reply) moves each message from
one ``struct cloudos_msg`` to the other in one C call (``_ipcmsg.move``: no capabilities
or grant, each side's header and payload in one page); whatever else is Python's here.
A server's loop may answer and wait in one call (``sys_reply_recv``, seL4's ReplyRecv):
its caller then runs at once, handed the CPU as a call hands it to the server.
Also what keeps a loop of these calls from growing the host's memory: a capability
granted or received again is the one already held (not one more child in its
parent's derivation list), capabilities of a message that was never sent are taken
back, each process holds at most ``PORTS_MAX`` ports, and the ports of processes
gone (held by no one alive) are freed, every capability on them revoked.
"""

from __future__ import annotations

import struct
import time
import weakref
from typing import NamedTuple

from cloudos.abi.sysno import Native
from cloudos.kernel.cap import Cap, ObjType, Right
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import MSG_MAX, Deliver, Ipc, Message, Port
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import Handler, Stop
from cloudos.linux import _ipcmsg, switch  # type: ignore[attr-defined]
from cloudos.linux.syscalls.args import s64

# struct cloudos_msg: tag, data, len, ncaps, caps[4], reply, sender, grant_base,
# grant_len, grant_rights, grant.
MSG = struct.Struct("<QQII4QQQQQQQ")
CAP_INFO = struct.Struct("<IIII")
U64 = (1 << 64) - 1
PAGE_OFFSET = PAGE_SIZE - 1
PORTS_MAX = 256  # ports one process may have created and still hold
# Enum members the calls read each time, as plain names (on Python 3.11 a ``State.X``
# read costs ~0.25 us, a global's ~0.04) and the timeout's answer
BLOCKED, PORT, REPLY = State.BLOCKED, ObjType.PORT, ObjType.REPLY
TIMED_OUT = -Errno.ETIMEDOUT
_NONE: dict[int, Cap] = {}  # (the space of a process that holds nothing; never filled)
# The ports guests created, by machine: port id -> (creator's pid, the creator's capability).
_created: weakref.WeakKeyDictionary[Ipc, dict[int, tuple[int, Cap]]] = weakref.WeakKeyDictionary()


def _deadline(t: Thread, timeout_ns: int) -> float | None:
    if timeout_ns >> 63:  # (negative as a long: no deadline; the common case, no s64)
        return None
    return t.process.kernel.scheduler.clock() + s64(timeout_ns) / 1e9


def _in_page(msg_addr: int, data: int, length: int) -> bool:
    """Whether ``length`` bytes at ``data`` lie in the page of ``msg_addr``."""
    return data & ~PAGE_OFFSET == msg_addr & ~PAGE_OFFSET \
        and (data & PAGE_OFFSET) + length <= PAGE_SIZE


def _outgoing(t: Thread, msg_addr: int) -> Message:
    """The message described by the caller's ``struct cloudos_msg``."""
    process = t.process
    aspace = process.aspace
    ram = aspace.ram.bytes
    # The header's page (one translation, which the payload reuses when it lies in the
    # same page: a message on the stack does) and its offset there; -1: two pages
    offset = msg_addr & PAGE_OFFSET
    frame = aspace.user_frame(msg_addr, False) if offset + MSG.size <= PAGE_SIZE else -1
    if frame < 0:
        fields = MSG.unpack(aspace.copy_in(msg_addr, MSG.size))
    else:
        fields = MSG.unpack_from(ram, frame + offset)
    tag, data, length, ncaps = fields[:4]
    grant_base, grant_len, grant_rights = fields[10:13]
    if ncaps > 4 or length > MSG_MAX:
        raise KernelError(Errno.EMSGSIZE, f"{length} bytes, {ncaps} capabilities")
    if frame >= 0 and length and _in_page(msg_addr, data, length):
        at = frame + (data & PAGE_OFFSET)
        payload = bytes(ram[at:at + length])
    else:
        payload = aspace.copy_in(data, length)
    ipc = process.kernel.ipc
    # (without capabilities, ``Ipc.message`` has nothing to check: the size is checked above)
    msg = ipc.message(process.pid, tag, payload, list(fields[4:4 + ncaps])) if ncaps \
        else Message(tag, payload, process.pid)
    if grant_base:
        aspace.copy_in(grant_base, min(grant_len, 1))  # the lender must own the memory
        msg.caps.append(ipc.lend(process.pid, aspace, grant_base, grant_len, grant_rights))
    return msg


class _Receiver:
    """How a message lands in ``thread``'s ``struct cloudos_msg`` at ``msg_addr`` (a
    ``Deliver``): its buffer and capacity are read when it begins to wait. Called with a
    message, it copies it in (``__call__``); a call to a waiting server and a reply move
    one there in a single C call instead (``_ipcmsg.move``), when it is the common case:
    no capabilities or grant, the sender's header and payload in one present page, the
    receiver's in one present, writable page (-1: not that case, nothing done; the
    Python path decides, and answers any error)."""

    __slots__ = ("thread", "msg_addr", "data_addr", "capacity")

    def __init__(self, t: Thread, msg_addr: int) -> None:
        aspace = t.process.aspace
        ram = aspace.ram
        # (its header in one page: one C call; else, or a page to fault in, Python's)
        found = _ipcmsg.peek(ram.host_address, ram.size, aspace.pt.leaves, msg_addr)
        if found is None:
            found = MSG.unpack(aspace.copy_in(msg_addr, MSG.size))[1:3]
        self.thread, self.msg_addr = t, msg_addr
        self.data_addr, self.capacity = found

    def move(self, sender: Thread, msg_addr: int, reply_token: int) -> int:
        """``sender``'s message at ``msg_addr`` straight into this buffer, with
        ``reply_token`` (0: none) as its reply capability, in one C call
        (``_ipcmsg.move``): its size, or -1 when it is not the common case (nothing done)."""
        process = sender.process
        ram, leaves = process.aspace.ram, process.aspace.pt.leaves
        return int(_ipcmsg.move(ram.host_address, ram.size, leaves, msg_addr,
                                self.thread.process.aspace.pt.leaves, self.msg_addr,
                                self.data_addr, self.capacity, reply_token, process.pid & U64))

    def __call__(self, msg: Message) -> int:
        t, msg_addr, data_addr = self.thread, self.msg_addr, self.data_addr
        aspace, ipc = t.process.aspace, t.process.kernel.ipc
        payload = msg.data[:self.capacity]
        size = len(payload)
        # The payload first (as a copy that faults leaves no capability installed), then
        # the header; one translation when both lie in one page (made now: the
        # receiver's memory may have changed while it waited).
        ram, page, at = aspace.ram.bytes, -1, msg_addr & PAGE_OFFSET
        if data_addr & ~PAGE_OFFSET == msg_addr & ~PAGE_OFFSET \
                and (data_addr & PAGE_OFFSET) + size <= PAGE_SIZE and at + MSG.size <= PAGE_SIZE:
            page = aspace.user_frame(msg_addr, True)
            start = page + (data_addr & PAGE_OFFSET)
            ram[start:start + size] = payload
        else:
            aspace.copy_out(data_addr, payload)
        pid = t.process.pid
        reply = ipc.caps.install(pid, msg.reply) if msg.reply is not None else 0
        # A server's answer (its body, e.g. -ENOSYS) is the tag a guest caller sees;
        # servers have negative pids: both are stored as the u64 fields hold them.
        tag = msg.body if isinstance(msg.body, int) and not msg.tag else msg.tag
        if msg.caps:
            grants = [c for c in msg.caps if c.type is ObjType.GRANT]
            tokens = [_keep(ipc, pid, c) for c in msg.caps if c.type is not ObjType.GRANT]
            grant = ipc.caps.install(pid, grants[0]) if grants else 0
            header = MSG.pack(tag & U64, data_addr, size, len(tokens),
                              *(tokens + [0] * (4 - len(tokens))), reply, msg.sender & U64,
                              0, 0, 0, grant)
        else:
            header = MSG.pack(tag & U64, data_addr, size, 0, 0, 0, 0, 0, reply,
                              msg.sender & U64, 0, 0, 0, 0)
        if page < 0:
            aspace.copy_out(msg_addr, header)
        else:
            ram[page + at:page + at + MSG.size] = header
        return size


def _receiver_of(ipc: Ipc, thread: Thread | None, channel: tuple[str, int]) -> _Receiver | None:
    """``thread``'s ``_Receiver`` while it still sleeps on ``channel`` in one (a server in
    receive, a caller awaiting its answer): the C transfer's common case; else None."""
    if thread is None or thread.state is not BLOCKED or thread.channel != channel:
        return None
    deliver = ipc.receivers.get(thread)
    return deliver if isinstance(deliver, _Receiver) else None


def _keep(ipc: Ipc, pid: int, cap: Cap) -> int:
    """Install ``cap`` for ``pid``, unless ``pid`` already holds the same capability from
    the same parent: then that one stays and ``cap`` leaves its parent's derivation list."""
    token = ipc.caps.token(cap)
    held = ipc.caps.spaces.get(pid, {}).get(token)
    if held is not None and held is not cap and held.valid and held.parent is cap.parent \
            and not cap.children:
        _unlink(cap)
        return token
    return ipc.caps.install(pid, cap)


def _unlink(cap: Cap) -> None:
    """Take back a derived capability nobody holds (it leaves its parent's list)."""
    if cap.parent is not None and cap in cap.parent.children:
        cap.parent.children.remove(cap)


def sys_port_create(t: Thread, *_: int) -> int:
    """A new port; the caller holds every right on it (ENOMEM past ``PORTS_MAX``)."""
    ipc, pid = t.process.kernel.ipc, t.process.pid
    created = _created.setdefault(ipc, {})
    _free_orphans(t, created)
    if sum(owner == pid for owner, _ in created.values()) >= PORTS_MAX:
        raise KernelError(Errno.ENOMEM, f"{PORTS_MAX} ports already")
    token = ipc.create_port(pid)
    cap = ipc.caps.spaces[pid][token]
    created[cap.obj] = (pid, cap)
    return token


def _free_orphans(t: Thread, created: dict[int, tuple[int, Cap]]) -> None:
    """Free the ports whose creator is gone and that no live process holds a capability on."""
    kernel = t.process.kernel
    gone = [port for port, (owner, _) in created.items()
            if owner not in kernel.processes or kernel.processes[owner].state is State.TERMINATED]
    if not gone:
        return
    held = {cap.obj for pid, space in kernel.ipc.caps.spaces.items()
            if pid in kernel.processes and kernel.processes[pid].state is not State.TERMINATED
            for cap in space.values() if cap.type is ObjType.PORT and cap.valid}
    for port_id in gone:
        if port_id not in held:
            _free_port(kernel.ipc, port_id, created.pop(port_id)[1])


def _free_port(ipc: Ipc, port_id: int, root: Cap) -> None:
    """Revoke every capability on a port, take back its queued messages' capabilities,
    wake whoever waits on it (EPIPE), and drop it."""
    ipc.caps.revoke(root)
    root.valid = False
    port = ipc.ports.pop(port_id, None)
    scheduler = ipc.kernel.scheduler
    for msg in port.queue if port is not None else ():
        for cap in msg.caps:
            _unlink(cap)
        caller = ipc.replies.pop(msg.reply.obj, None) if msg.reply is not None else None
        if caller is not None:
            ipc.receivers.pop(caller, None)
            scheduler.wake(caller, -Errno.EPIPE)
    for sender in list(scheduler.channels.get(("send", port_id), [])):
        if ipc.outbox.pop(sender, None) is not None:
            scheduler.wake(sender, -Errno.EPIPE)


def _send(t: Thread, token: int, msg_addr: int, timeout_ns: int, block: bool) -> int:
    ipc = t.process.kernel.ipc
    port = ipc.port(t.process.pid, token, Right.SEND)
    msg = _outgoing(t, msg_addr)
    try:
        return ipc.send(t, port, msg, _deadline(t, timeout_ns), block and s64(timeout_ns) != 0)
    except KernelError:  # not sent (a full queue): the capabilities it carried go back
        for cap in msg.caps:
            _unlink(cap)
        raise


def _port(ipc: Ipc, pid: int, token: int, need: int) -> Port:
    """``Ipc.port``: the port ``pid``'s capability ``token`` names, with rights ``need``;
    its common case (a valid capability held, on a port that exists) read here, in one
    call; anything else is ``Ipc.port``'s, which answers the error (EPERM)."""
    cap = ipc.caps.spaces.get(pid, _NONE).get(token)
    if cap is not None and cap.valid and cap.type is PORT and cap.rights & need == need:
        port = ipc.ports.get(cap.obj)
        if port is not None:
            return port
    return ipc.port(pid, token, need)


def sys_send(t: Thread, token: int, msg: int, timeout_ns: int, *_: int) -> int:
    """Send a message; wait while the port's queue is full (ETIMEDOUT, or EAGAIN for 0)."""
    return _send(t, token, msg, timeout_ns, True)


def sys_send_async(t: Thread, token: int, msg: int, *_: int) -> int:
    """Send without ever waiting: EAGAIN when the queue is full."""
    return _send(t, token, msg, 0, False)


def sys_receive(t: Thread, token: int, msg: int, timeout_ns: int, *_: int) -> int:
    """Receive the oldest message; wait for one (ETIMEDOUT, or EAGAIN for 0)."""
    entry = time.perf_counter()
    kernel = t.process.kernel
    ipc = kernel.ipc
    port = _port(ipc, t.process.pid, token, Right.RECV)
    deliver = _Receiver(t, msg)
    direct = kernel.dispatcher.on_stop  # (``switch.inline``: the direct switch's, no tracer)
    if port.queue or not timeout_ns or not isinstance(direct, switch.DirectSwitch):
        return ipc.receive(t, port, deliver, None if timeout_ns >> 63 else
                           _deadline(t, timeout_ns), timeout_ns != 0)
    # ``Ipc.receive`` on an empty port, its wait: then the next thread runs at once if
    # it may (``switch.asleep``: ``block_now``), with no Stop through the dispatcher
    ipc.receivers[t] = deliver
    kernel.scheduler.sleep_on(t, ("recv", port.id), None if timeout_ns >> 63 else
                              _deadline(t, timeout_ns), TIMED_OUT)
    rax = direct.block_now(t, entry)
    if rax is None:
        raise Stop
    return rax


def sys_poll(t: Thread, token: int, msg: int, *_: int) -> int:
    """Receive without waiting: EAGAIN when the port is empty."""
    return sys_receive(t, token, msg, 0)


def sys_call(t: Thread, token: int, msg: int, reply: int, timeout_ns: int, *_: int) -> int:
    """Send a request with a reply capability and wait for the answer."""
    entry = time.perf_counter()
    process = t.process
    kernel = process.kernel
    ipc = kernel.ipc
    port = _port(ipc, process.pid, token, Right.SEND)
    direct = kernel.dispatcher.on_stop
    if isinstance(direct, switch.DirectSwitch):
        # ``_call_direct`` in its common case: the server waits in a ``_Receiver`` and
        # the request goes from the caller's ``struct cloudos_msg`` into the server's in
        # one C call (``_ipcmsg.move``), with no ``Message``. Anything else (capabilities,
        # a grant, a page to fault in or copy, a message across pages, an error to
        # answer) leaves nothing done: the steps below take the call, in their order.
        sleepers = kernel.scheduler.channels.get(("recv", port.id))
        server = sleepers[0] if sleepers else None  # (``_waiting``)
        deliver = _receiver_of(ipc, server, ("recv", port.id))
        if deliver is not None and server is not None and direct.may_hand_to(t, server):
            try:
                deliver_reply: _Receiver | None = _Receiver(t, reply)
            except KernelError:  # (answered below, after the request's own errors)
                deliver_reply = None
            if deliver_reply is not None:
                reply_id = ipc._id()
                cap = Cap(REPLY, reply_id, Right.SEND)
                reply_token = ipc.caps.token(cap)
                size = deliver.move(t, msg, reply_token)
                if size >= 0:
                    ipc.caps.spaces.setdefault(server.process.pid, {})[reply_token] = cap
                    ipc.replies[reply_id] = t
                    ipc.receivers[t] = deliver_reply
                    del ipc.receivers[server]
                    kernel.scheduler.sleep_on(t, ("reply", reply_id),
                                              None if timeout_ns >> 63 else
                                              _deadline(t, timeout_ns), TIMED_OUT)
                    return direct.hand_to(t, server, size, entry)
    outgoing = _outgoing(t, msg)
    try:
        deliver_reply = _Receiver(t, reply)
        deadline = _deadline(t, timeout_ns)
        if isinstance(direct, switch.DirectSwitch):
            server = _waiting(ipc, port)
            if server is not None and direct.may_hand_to(t, server):
                return _call_direct(t, direct, port, outgoing, server, deliver_reply,
                                    deadline, entry)
        return ipc.call(t, port, outgoing, deliver_reply, deadline)
    except KernelError:
        for cap in outgoing.caps:
            _unlink(cap)
        raise


def _waiting(ipc: Ipc, port: Port) -> Thread | None:
    """The receiver a message to ``port`` goes to now (``Ipc._handoff``'s first), if the
    first listed on the port is one, still waiting there; None: the slow path decides."""
    sleepers = ipc.kernel.scheduler.channels.get(("recv", port.id))
    if not sleepers:
        return None
    first = sleepers[0]
    if first.state is BLOCKED and first.channel == ("recv", port.id) \
            and first in ipc.receivers:
        return first
    return None


def _call_direct(t: Thread, direct: switch.DirectSwitch, port: Port, msg: Message,
                 server: Thread, deliver_reply: Deliver, deadline: float | None,
                 entry: float) -> int:
    """The fast path of a call to a server waiting in receive (seL4's): ``Ipc.call``'s
    steps with the message delivered straight into the server's buffer, the caller
    asleep on its reply, and the server run at once (``DirectSwitch.hand_to``): no trip
    through the run queue or the scheduler's pick. Returns the server's RAX."""
    ipc = t.process.kernel.ipc
    reply_id = ipc._id()
    msg.reply = Cap(ObjType.REPLY, reply_id, Right.SEND)
    ipc.replies[reply_id] = t
    ipc.receivers[t] = deliver_reply
    deliver = ipc.receivers.pop(server)
    try:
        result = deliver(msg)
    except KernelError as err:  # (it stays for the next receive: queued once, as _handoff)
        result = -err.errno
        port.queue.appendleft(msg)
    t.process.kernel.scheduler.sleep_on(t, ("reply", reply_id), deadline, -Errno.ETIMEDOUT)
    return direct.hand_to(t, server, result, entry)


def sys_reply(t: Thread, token: int, msg: int, *_: int) -> int:
    """Answer a call through its one-shot reply capability (spent, it leaves the
    replier's space: a server's space held every reply capability it ever used)."""
    kernel = t.process.kernel
    ipc = kernel.ipc
    space = ipc.caps.spaces.get(t.process.pid, {})
    cap = space.get(token)
    if cap is not None and cap.valid and cap.type is REPLY \
            and cap.rights & Right.SEND \
            and isinstance(kernel.dispatcher.on_stop, switch.DirectSwitch):  # (``inline``)
        # The common case in one C call (``_ipcmsg.move``: the answer straight from the
        # replier's ``struct cloudos_msg`` into the caller's), when the caller still
        # waits in a ``_Receiver``; else (or -1 from it) the steps below
        caller = ipc.replies.get(cap.obj)
        waiting = _receiver_of(ipc, caller, ("reply", cap.obj))
        if waiting is not None and caller is not None:
            size = waiting.move(t, msg, 0)
            if size >= 0:
                cap.valid = False
                del space[token], ipc.replies[cap.obj], ipc.receivers[caller]
                switch.wake(kernel, caller, size)
                return 0
    outgoing = _outgoing(t, msg)
    if cap is not None and cap.valid and cap.type is REPLY \
            and cap.rights & Right.SEND and switch.inline(kernel):
        # ``Ipc.reply``'s steps (the lookup's checks just made), the caller's wake-up
        # inline (``switch.wake``), and the spent capability out of the space at once
        cap.valid = False
        del space[token]
        caller = ipc.replies.pop(cap.obj, None)
        if caller is None or caller.state is not BLOCKED \
                or caller.channel != ("reply", cap.obj):
            raise KernelError(Errno.ESRCH, "the caller no longer waits")
        deliver = ipc.receivers.pop(caller)
        try:
            result = deliver(outgoing)
        except KernelError as err:
            result = -err.errno
        switch.wake(kernel, caller, result)
        return 0
    try:
        return ipc.reply(t.process.pid, token, outgoing)
    finally:
        space = ipc.caps.spaces.get(t.process.pid, {})
        cap = space.get(token)
        if cap is not None and cap.type is REPLY and not cap.valid:
            del space[token]


def sys_reply_recv(t: Thread, reply: int, msg: int, token: int, received: int,
                   timeout_ns: int, *_: int) -> int:
    """Answer a call and receive the next message, in one call (seL4's ReplyRecv)."""
    # ``port`` and ``received`` are checked first (an error leaves the call unanswered);
    # then the answer, whose error is returned with nothing received; then the receive.
    if not reply:
        return sys_receive(t, token, received, timeout_ns)
    entry = time.perf_counter()
    process = t.process
    kernel = process.kernel
    ipc = kernel.ipc
    port = _port(ipc, process.pid, token, Right.RECV)
    deliver = _Receiver(t, received)
    direct = kernel.dispatcher.on_stop
    space = ipc.caps.spaces.get(process.pid, _NONE)
    cap = space.get(reply)
    if cap is not None and cap.valid and cap.type is REPLY and cap.rights & Right.SEND \
            and timeout_ns and not port.queue and isinstance(direct, switch.DirectSwitch):
        # The common case: the answer moved in one C call (as ``sys_reply``'s), the
        # replier asleep on its port (as ``sys_receive``'s), and the caller run at once
        # (``hand_to``, as ``sys_call`` runs the server): no wake-up through the queue.
        caller = ipc.replies.get(cap.obj)
        answer = _receiver_of(ipc, caller, ("reply", cap.obj))
        if answer is not None and caller is not None and direct.may_hand_to(t, caller):
            size = answer.move(t, msg, 0)
            if size >= 0:
                cap.valid = False
                del space[reply], ipc.replies[cap.obj], ipc.receivers[caller]
                ipc.receivers[t] = deliver
                kernel.scheduler.sleep_on(t, ("recv", port.id), None if timeout_ns >> 63 else
                                          _deadline(t, timeout_ns), TIMED_OUT)
                return direct.hand_to(t, caller, size, entry)
    sys_reply(t, reply, msg)
    return sys_receive(t, token, received, timeout_ns)


def _held(t: Thread, token: int, need: int) -> Cap:
    caps = t.process.kernel.ipc.caps
    cap = caps.spaces.get(t.process.pid, {}).get(token)
    return caps.lookup(t.process.pid, token, cap.type if cap else ObjType.PORT, need)


def sys_cap_grant(t: Thread, token: int, rights: int, *_: int) -> int:
    """A derived capability with a subset of the rights (needs GRANT)."""
    ipc = t.process.kernel.ipc
    cap = _held(t, token, Right.GRANT)
    return _keep(ipc, t.process.pid, ipc.caps.derive(cap, rights & 0xFFFF))


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


class NativeCall(NamedTuple):
    """One row of the native table: the call's name in ``include/cloudos.h``, its handler."""

    name: str
    handler: Handler


def _row(number: Native, handler: Handler) -> NativeCall:
    return NativeCall(number.call_name, handler)


# One row per native number (``cloudos syscalls`` prints each handler's first doc line).
NATIVE: dict[Native, NativeCall] = {
    Native.PORT_CREATE: _row(Native.PORT_CREATE, sys_port_create),
    Native.SEND: _row(Native.SEND, sys_send),
    Native.RECEIVE: _row(Native.RECEIVE, sys_receive),
    Native.CALL: _row(Native.CALL, sys_call),
    Native.REPLY: _row(Native.REPLY, sys_reply),
    Native.POLL: _row(Native.POLL, sys_poll),
    Native.SEND_ASYNC: _row(Native.SEND_ASYNC, sys_send_async),
    Native.CAP_GRANT: _row(Native.CAP_GRANT, sys_cap_grant),
    Native.CAP_REVOKE: _row(Native.CAP_REVOKE, sys_cap_revoke),
    Native.CAP_INSPECT: _row(Native.CAP_INSPECT, sys_cap_inspect),
    Native.GRANT_READ: _row(Native.GRANT_READ, sys_grant_read),
    Native.GRANT_WRITE: _row(Native.GRANT_WRITE, sys_grant_write),
    Native.REPLY_RECV: _row(Native.REPLY_RECV, sys_reply_recv),
}
assert set(NATIVE) == set(Native), "one row per native number"


def native_handlers() -> dict[int, Handler]:
    """The native calls the kernel seals beside Linux's table, by number."""
    return {int(number): row.handler for number, row in NATIVE.items()}
