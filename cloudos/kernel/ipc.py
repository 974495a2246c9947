"""IPC: ports with bounded message queues; send, receive, call and (deferred) reply.

Owns: ports and their queues, threads blocked sending to a full queue or
receiving from an empty one, one-shot reply capabilities for calls, memory
grants, and moving capabilities inside messages. A message for a thread that
is already waiting is handed to it directly (its ``deliver`` callback copies
it into its memory) and, on a call, the receiver runs next: handoff.
Every operation starts by checking the caller's capability (``cap``): EPERM.
Never: decodes a guest's message layout (the ABI handlers do, in ``deliver``).
Called by: the native IPC system calls and, later, the server runtime.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from cloudos.abi.dataclass import dataclass, field
from cloudos.kernel.cap import Cap, CapTable, ObjType, Right
from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.mm.vm import AddressSpace
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import Stop

if TYPE_CHECKING:
    from cloudos.kernel.boot import Kernel

MSG_MAX = 4096     # bytes of payload in one message
QUEUE_MAX = 64     # messages waiting in one port
CAPS_MAX = 4       # capabilities carried by one message


@dataclass
class Grant:
    """A window on a sender's memory, lent to a receiver."""

    aspace: AddressSpace
    owner: int
    start: int
    length: int


@dataclass
class Message:
    """What travels through a port."""

    tag: int
    data: bytes
    sender: int
    caps: list[Cap] = field(default_factory=list)
    reply: Cap | None = None
    body: Any = None  # structured payload between in-kernel-process servers and the personality


Deliver = Callable[[Message], int]  # copies a message into the receiver; returns RAX


@dataclass(eq=False)
class Port:
    id: int
    queue: deque[Message] = field(default_factory=deque)
    server: Any = None  # the service that receives on it, if one does (the fast path's)


class Ipc:
    """All ports, reply slots and grants of one machine."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel, self.caps = kernel, CapTable()
        self.ports: dict[int, Port] = {}
        self.grants: dict[int, Grant] = {}
        self.replies: dict[int, Thread] = {}      # reply id -> caller waiting for it
        self.receivers: dict[Thread, Deliver] = {}
        self.outbox: dict[Thread, tuple[Port, Message]] = {}
        self.next_id = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def create_port(self, pid: int) -> int:
        port = Port(self._id())
        self.ports[port.id] = port
        return self.caps.install(pid, Cap(ObjType.PORT, port.id, 0xFFFF))

    def port(self, pid: int, token: int, need: int) -> Port:
        return self.ports[self.caps.lookup(pid, token, ObjType.PORT, need).obj]

    def message(self, pid: int, tag: int, data: bytes, tokens: list[int]) -> Message:
        """Build a message; every capability it carries needs GRANT (checked before any moves)."""
        if len(data) > MSG_MAX or len(tokens) > CAPS_MAX:
            raise KernelError(Errno.EMSGSIZE, f"{len(data)} bytes, {len(tokens)} capabilities")
        held = [self._held(pid, token) for token in tokens]
        return Message(tag, data, pid, [self.caps.derive(c, c.rights) for c in held])

    def _held(self, pid: int, token: int) -> Cap:
        cap = self.caps.spaces.get(pid, {}).get(token)
        if cap is None:  # lookup() explains why: forged or not held
            self.caps.lookup(pid, token, ObjType.PORT, 0)
        assert cap is not None
        if not cap.rights & Right.GRANT:
            raise KernelError(Errno.EPERM, "passing needs GRANT")
        return cap

    def lend(self, pid: int, aspace: AddressSpace, start: int, length: int, rights: int) -> Cap:
        """A grant capability on [start, start+length) of the caller's memory."""
        grant_id = self._id()
        self.grants[grant_id] = Grant(aspace, pid, start, length)
        return Cap(ObjType.GRANT, grant_id, rights & (Right.READ | Right.WRITE) | Right.GRANT)

    def grant(self, pid: int, token: int, offset: int, length: int, write: bool) -> Grant:
        """The grant behind ``token`` if [offset, offset+length) is inside it; else EPERM/EFAULT."""
        cap = self.caps.lookup(pid, token, ObjType.GRANT, Right.WRITE if write else Right.READ)
        grant = self.grants.get(cap.obj)
        owner = self.kernel.processes.get(grant.owner) if grant else None
        # Owner 0 is the kernel (a memory object): its grant lasts until it is withdrawn.
        if grant is None or grant.owner and (owner is None or owner.zombie
                                             or owner.aspace is not grant.aspace):
            raise KernelError(Errno.EFAULT, "the granting process is gone")
        if offset < 0 or length < 0 or offset + length > grant.length:
            raise KernelError(Errno.EFAULT, "outside the grant")
        return grant

    # -- sending --------------------------------------------------------------
    def send(self, thread: Thread, port: Port, msg: Message, deadline: float | None,
             block: bool) -> int:
        """Queue ``msg`` or hand it to a waiting receiver; block while the queue is full."""
        if self._handoff(port, msg):
            return 0
        if len(port.queue) < QUEUE_MAX:
            port.queue.append(msg)
            return 0
        if not block:
            raise KernelError(Errno.EAGAIN, "port queue full")
        self.outbox[thread] = (port, msg)
        self.kernel.scheduler.sleep_on(thread, ("send", port.id), deadline, -Errno.ETIMEDOUT)
        raise Stop

    def notify(self, port: Port, msg: Message) -> None:
        """A message from the kernel itself: never refused for a full queue."""
        if not self._handoff(port, msg):
            port.queue.append(msg)

    def _handoff(self, port: Port, msg: Message) -> bool:
        scheduler = self.kernel.scheduler
        for receiver in list(scheduler.channels.get(("recv", port.id), [])):
            deliver = self.receivers.pop(receiver, None)
            if deliver is None or receiver.state is not State.BLOCKED:
                continue
            try:
                result = deliver(msg)
            except KernelError as err:  # (it stays for the next receive: queued once)
                result = -err.errno
                port.queue.appendleft(msg)
            scheduler.wake(receiver, result, front=msg.reply is not None)  # a call: handoff
            return True
        return False

    def call(self, thread: Thread, port: Port, msg: Message, deliver_reply: Deliver,
             deadline: float | None, timeout_result: int = -Errno.ETIMEDOUT) -> int:
        """Send with a one-shot reply capability, then wait for the reply."""
        reply_id = self._id()
        msg.reply = Cap(ObjType.REPLY, reply_id, Right.SEND)
        self.replies[reply_id] = thread
        self.receivers[thread] = deliver_reply
        try:
            self.send(thread, port, msg, deadline, False)
        except KernelError:
            del self.replies[reply_id], self.receivers[thread]
            raise
        self.kernel.scheduler.sleep_on(thread, ("reply", reply_id), deadline, timeout_result)
        raise Stop

    def withdraw(self, port: Port, msg: Message) -> bool:
        """Take back a call's message that no server has received yet (False if one has)."""
        for i, queued in enumerate(port.queue):
            if queued is msg:
                del port.queue[i]
                self.receivers.pop(self.replies.pop(msg.reply.obj), None)  # type: ignore[union-attr]
                return True
        return False

    def waits(self, pid: int, token: int) -> bool:
        """Whether the caller behind reply capability ``token`` still waits for it."""
        cap = self.caps.spaces.get(pid, {}).get(token)
        caller = self.replies.get(cap.obj) if cap else None
        return caller is not None and caller.channel == ("reply", cap.obj)  # type: ignore[union-attr]

    def reply(self, pid: int, token: int, msg: Message) -> int:
        """Answer a call (now or long after it arrived): the caller wakes with the reply."""
        cap = self.caps.lookup(pid, token, ObjType.REPLY, Right.SEND)
        cap.valid = False  # one reply per call
        caller = self.replies.pop(cap.obj, None)
        # A caller that gave up (timeout) may be waiting on a newer call by now.
        if caller is None or caller.state is not State.BLOCKED \
                or caller.channel != ("reply", cap.obj):
            raise KernelError(Errno.ESRCH, "the caller no longer waits")
        deliver = self.receivers.pop(caller)
        try:
            result = deliver(msg)
        except KernelError as err:
            result = -err.errno
        self.kernel.scheduler.wake(caller, result)
        return 0

    # -- receiving ------------------------------------------------------------
    def receive(self, thread: Thread, port: Port, deliver: Deliver, deadline: float | None,
                block: bool) -> int:
        """Take the oldest message (``deliver`` stores it); block on an empty port."""
        if port.queue:
            result = deliver(port.queue[0])
            port.queue.popleft()
            self._refill(port)
            return result
        if not block:
            raise KernelError(Errno.EAGAIN, "no message")
        self.receivers[thread] = deliver
        self.kernel.scheduler.sleep_on(thread, ("recv", port.id), deadline, -Errno.ETIMEDOUT)
        raise Stop

    def _refill(self, port: Port) -> None:
        """A slot freed: the first live blocked sender's message goes in; it wakes."""
        scheduler = self.kernel.scheduler
        for sender in list(scheduler.channels.get(("send", port.id), [])):
            entry = self.outbox.pop(sender, None)
            if entry is not None and sender.state is State.BLOCKED:
                port.queue.append(entry[1])
                scheduler.wake(sender, 0)
                return
