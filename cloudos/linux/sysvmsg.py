"""System V message queues: msgget(2), msgsnd(2), msgrcv(2), msgctl(2).

Owns: the machine's queues (messages, byte counts, pids, times) and the threads
asleep on each: receivers waiting for a message of their type, senders waiting
for room. As Linux's pipelined_send, a message sent while a receiver waits for
its type goes straight to that receiver (copied into its memory, its call
answered with the length); a receiver whose buffer is too small wakes with E2BIG
and the message goes on. When a receive makes room, the waiting senders' messages
go in, in order, each sender answered 0. IPC_RMID wakes every sleeper with EIDRM;
a signal (EINTR) or a timeout ends a sleep through the scheduler, which leaves the
waiter stale and skipped.
Never: holds a message longer than its queue (IPC_RMID frees them).
Called by: the system call table, through ``syscalls.sys_ipc`` (which imports this module
at the first message queue call).

Limits: /proc/sys/kernel/msgmax (a message), msgmnb (a new queue's bytes) and msgmni
(queues). MSG_COPY is not supported (ENOSYS, as a kernel without
CONFIG_CHECKPOINT_RESTORE answers).
"""

from __future__ import annotations

import struct
import time
from typing import Any

from cloudos.abi import sysctl
from cloudos.abi.dataclass import dataclass, field
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import sysvipc
from cloudos.linux.creds import CAP_SYS_RESOURCE
from cloudos.linux.process import linux
from cloudos.linux.syscalls.args import s32, s64
from cloudos.linux.sysvipc import (IPC_64, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT,
                                   READ, WRITE, IpcObject, Registry, Waiter)

MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
MSG_NOERROR, MSG_EXCEPT, MSG_COPY = 0o10000, 0o20000, 0o40000
MTYPE = struct.Struct("<q")  # the long that starts a struct msgbuf
# struct msqid64_ds of x86_64 after its ipc64_perm: stime, rtime, ctime, cbytes, qnum,
# qbytes, lspid, lrpid, two unused longs
MSQID_DS = "qqqQQQiiQQ"
MSQID_DS_SIZE = 48 + 72
MSGINFO = struct.Struct("<7iH2x")  # msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz,
#                                    msgtql, msgseg
# Linux's constants of struct msginfo (include/uapi/linux/msg.h): MSGMNI * MSGMNB / 1024,
# MSGMNB, MSGMNB, 16, 0xffff
MSGPOOL, MSGMAP, MSGTQL, MSGSSZ, MSGSEG = 32000 * 16384 // 1024, 16384, 16384, 16, 0xFFFF


@dataclass
class Message:
    """One message on a queue: its type and its text."""

    mtype: int
    text: bytes


@dataclass
class Receiver(Waiter):
    """A msgrcv asleep until a message of its type comes."""

    msgtyp: int = 0
    flags: int = 0
    buf: int = 0
    size: int = 0

    def wants(self, message: Message) -> bool:
        return _matches(message, self.msgtyp, self.flags)


@dataclass
class Sender(Waiter):
    """A msgsnd asleep until its message fits."""

    message: Message = field(default_factory=lambda: Message(0, b""))


@dataclass
class MsgQueue(IpcObject):
    """One message queue: its messages, and the senders and receivers asleep on it."""

    qbytes: int = 0
    messages: list[Message] = field(default_factory=list)
    cbytes: int = 0  # the bytes of its messages
    stime: int = 0
    rtime: int = 0
    lspid: int = 0
    lrpid: int = 0
    receivers: list[Receiver] = field(default_factory=list)
    senders: list[Sender] = field(default_factory=list)

    def fits(self, size: int) -> bool:
        """msg_fits_inqueue: the bytes and the count of messages stay within qbytes."""
        return self.cbytes + size <= self.qbytes and len(self.messages) + 1 <= self.qbytes


def queues_of(kernel: Any) -> Registry[MsgQueue]:
    queues: Registry[MsgQueue] = sysvipc.state_of(kernel, "msg",
                                                  lambda: Registry("message queue"))
    return queues


def sys_msgget(t: Thread, key: int, flags: int, *_: int) -> int:
    """Implements Linux msgget(2)."""
    key, flags = s32(key), s32(flags)
    queues = queues_of(t.process.kernel)
    want = (flags >> 6 | flags >> 3 | flags) & 7
    found = queues.lookup(t, key, flags, want)
    if found is not None:
        return found.ident
    table = sysctl.of(t.process.kernel)
    uid, gid = sysvipc.creator(t)
    queue = MsgQueue(queues.next_ident(table.number("kernel/msgmni")), key, flags & 0o777,
                     uid, gid, qbytes=table.number("kernel/msgmnb"))
    queues.by_id[queue.ident] = queue
    return queue.ident


def _deliver(queue: MsgQueue, receiver: Receiver, message: Message) -> None:
    """Answer a parked msgrcv with ``message`` (its memory, written here, may be bad:
    then it gets EFAULT and the message is lost, as on Linux)."""
    thread = receiver.thread
    text = message.text[:receiver.size]
    try:
        thread.process.aspace.copy_out(receiver.buf, MTYPE.pack(message.mtype) + text)
    except KernelError as err:
        sysvipc.answer(receiver, -err.errno)
        return
    queue.lrpid, queue.rtime = thread.process.pid, int(time.time())
    sysvipc.answer(receiver, len(text))


def _pipelined(queue: MsgQueue, message: Message) -> bool:
    """pipelined_send: give ``message`` to the first receiver waiting for it (receivers
    whose buffer is too small wake with E2BIG on the way). True when one took it."""
    for receiver in list(queue.receivers):
        if not receiver.waiting():
            queue.receivers.remove(receiver)
            continue
        if not receiver.wants(message):
            continue
        queue.receivers.remove(receiver)
        if len(message.text) > receiver.size and not receiver.flags & MSG_NOERROR:
            sysvipc.answer(receiver, -Errno.E2BIG)
            continue
        _deliver(queue, receiver, message)
        return True
    return False


def _enqueue(queue: MsgQueue, message: Message, pid: int) -> None:
    queue.lspid, queue.stime = pid, int(time.time())
    if not _pipelined(queue, message):
        queue.messages.append(message)
        queue.cbytes += len(message.text)


def _admit_senders(queue: MsgQueue) -> None:
    """Room was made: the parked senders whose messages fit now send them, in order."""
    for sender in list(queue.senders):
        if not sender.waiting():
            queue.senders.remove(sender)
        elif queue.fits(len(sender.message.text)):
            queue.senders.remove(sender)
            _enqueue(queue, sender.message, sender.thread.process.pid)
            sysvipc.answer(sender, 0)


def sys_msgsnd(t: Thread, ident: int, msgp: int, msgsz: int, flags: int, *_: int) -> int:
    """Implements Linux msgsnd(2)."""
    ident, msgsz, flags = s32(ident), s64(msgsz), s32(flags)
    msgmax = sysctl.of(t.process.kernel).number("kernel/msgmax")
    if msgsz > msgmax or msgsz < 0 or ident < 0:
        raise KernelError(Errno.EINVAL, f"message of {msgsz} bytes")
    aspace = t.process.aspace
    mtype = MTYPE.unpack(aspace.copy_in(msgp, MTYPE.size))[0]
    if mtype < 1:
        raise KernelError(Errno.EINVAL, f"message type {mtype}")
    message = Message(mtype, aspace.copy_in(msgp + MTYPE.size, msgsz))
    queues = queues_of(t.process.kernel)
    queue = queues.get(ident)
    if not sysvipc.allowed(t, queue, WRITE):
        raise KernelError(Errno.EACCES, f"message queue {ident}")
    # (the host holds the messages: all queues together stay within the machine's RAM)
    held = sum(q.cbytes for q in queues.by_id.values())
    if held + msgsz > t.process.kernel.frames.total_bytes:
        raise KernelError(Errno.ENOMEM, f"{held} bytes of messages queued")
    if queue.fits(msgsz):
        _enqueue(queue, message, t.process.pid)
        return 0
    if flags & IPC_NOWAIT:
        raise KernelError(Errno.EAGAIN, f"message queue {ident} is full")
    seq = sysvipc.park(t, ("msgsnd", ident), None, 0)
    queue.senders.append(Sender(t, seq, message))
    raise Stop


def _matches(message: Message, msgtyp: int, flags: int) -> bool:
    """testmsg for msgtyp > 0 (with MSG_EXCEPT: any other type) and msgtyp 0."""
    if msgtyp == 0:
        return True
    if msgtyp > 0:
        return (message.mtype != msgtyp) == bool(flags & MSG_EXCEPT)
    return message.mtype <= -msgtyp


def _find(queue: MsgQueue, msgtyp: int, flags: int) -> Message | None:
    """The message msgrcv takes: the first that matches; for a negative msgtyp, the first
    of the lowest type not above -msgtyp."""
    candidates = [m for m in queue.messages if _matches(m, msgtyp, flags)]
    if msgtyp < 0 and candidates:
        lowest = min(m.mtype for m in candidates)
        return next(m for m in candidates if m.mtype == lowest)
    return candidates[0] if candidates else None


def sys_msgrcv(t: Thread, ident: int, msgp: int, msgsz: int, msgtyp: int, flags: int,
               *_: int) -> int:
    """Implements Linux msgrcv(2)."""
    ident, msgsz, msgtyp, flags = s32(ident), s64(msgsz), s64(msgtyp), s32(flags)
    if ident < 0 or msgsz < 0:
        raise KernelError(Errno.EINVAL, f"msgrcv of {msgsz} bytes")
    if flags & MSG_COPY:
        if flags & MSG_EXCEPT or not flags & IPC_NOWAIT:
            raise KernelError(Errno.EINVAL, "MSG_COPY needs IPC_NOWAIT, not MSG_EXCEPT")
        raise KernelError(Errno.ENOSYS, "MSG_COPY")
    queue = queues_of(t.process.kernel).get(ident)
    if not sysvipc.allowed(t, queue, READ):
        raise KernelError(Errno.EACCES, f"message queue {ident}")
    message = _find(queue, msgtyp, flags)
    if message is None:
        if flags & IPC_NOWAIT:
            raise KernelError(Errno.ENOMSG, f"no message of type {msgtyp}")
        seq = sysvipc.park(t, ("msgrcv", ident), None, 0)
        queue.receivers.append(Receiver(t, seq, msgtyp, flags, msgp, msgsz))
        raise Stop
    if len(message.text) > msgsz and not flags & MSG_NOERROR:
        raise KernelError(Errno.E2BIG, f"a message of {len(message.text)} bytes")
    # Taken off the queue first: a bad buffer loses it (EFAULT), as on Linux
    queue.messages.remove(message)
    queue.cbytes -= len(message.text)
    queue.lrpid, queue.rtime = t.process.pid, int(time.time())
    _admit_senders(queue)
    text = message.text[:msgsz]
    t.process.aspace.copy_out(msgp, MTYPE.pack(message.mtype) + text)
    return len(text)


def _stat(t: Thread, queue: MsgQueue, buf: int) -> None:
    t.process.aspace.copy_out(buf, sysvipc.pack_perm(
        MSQID_DS, queue, queue.stime, queue.rtime, queue.ctime, queue.cbytes,
        len(queue.messages), queue.qbytes, queue.lspid, queue.lrpid, 0, 0))


def _info(t: Thread, queues: Registry[MsgQueue], cmd: int, buf: int) -> int:
    """IPC_INFO, MSG_INFO: the limits (MSG_INFO: msgpool, msgmap and msgtql count the
    queues, messages and bytes in use); the highest slot in use."""
    table = sysctl.of(t.process.kernel)
    pool, count, tql = MSGPOOL, MSGMAP, MSGTQL
    if cmd == MSG_INFO:
        pool = len(queues.by_id)
        count = sum(len(q.messages) for q in queues.by_id.values())
        tql = sum(q.cbytes for q in queues.by_id.values())
    t.process.aspace.copy_out(buf, MSGINFO.pack(
        pool, count, table.number("kernel/msgmax"), table.number("kernel/msgmnb"),
        table.number("kernel/msgmni"), MSGSSZ, tql, MSGSEG))
    return queues.highest_slot()


def _set(t: Thread, queue: MsgQueue, buf: int) -> None:
    """IPC_SET: owner, mode and msg_qbytes (over msgmnb needs CAP_SYS_RESOURCE)."""
    fields = struct.unpack("<" + sysvipc.IPC64_PERM + MSQID_DS,
                           t.process.aspace.copy_in(buf, MSQID_DS_SIZE))
    qbytes = fields[14]
    if qbytes > sysctl.of(t.process.kernel).number("kernel/msgmnb") \
            and not linux(t.process).creds.capable(CAP_SYS_RESOURCE):
        raise KernelError(Errno.EPERM, f"msg_qbytes {qbytes} over msgmnb")
    sysvipc.set_perm(queue, fields[1], fields[2], fields[5])
    queue.qbytes = qbytes
    _admit_senders(queue)


def _remove(queues: Registry[MsgQueue], queue: MsgQueue) -> None:
    """IPC_RMID: the queue and its messages go; whoever waits on it wakes with EIDRM."""
    queues.remove(queue)
    for waiter in [*queue.receivers, *queue.senders]:
        if waiter.waiting():
            sysvipc.answer(waiter, -Errno.EIDRM)
    queue.receivers.clear()
    queue.senders.clear()
    queue.messages.clear()
    queue.cbytes = 0


def sys_msgctl(t: Thread, ident: int, cmd: int, buf: int, *_: int) -> int:
    """Implements Linux msgctl(2): IPC_STAT, MSG_STAT(_ANY), IPC_SET, IPC_RMID, IPC_INFO,
    MSG_INFO."""
    ident, cmd = s32(ident), s32(cmd) & ~IPC_64
    queues = queues_of(t.process.kernel)
    if cmd in (IPC_INFO, MSG_INFO):
        return _info(t, queues, cmd, buf)
    if cmd in (MSG_STAT, MSG_STAT_ANY):
        queue = queues.by_slot(ident)
        if cmd == MSG_STAT and not sysvipc.allowed(t, queue, READ):
            raise KernelError(Errno.EACCES, f"message queue {queue.ident}")
        _stat(t, queue, buf)
        return queue.ident
    if cmd not in (IPC_STAT, IPC_SET, IPC_RMID):
        raise KernelError(Errno.EINVAL, f"msgctl command {cmd}")
    queue = queues.get(ident)
    if cmd == IPC_STAT:
        if not sysvipc.allowed(t, queue, READ):
            raise KernelError(Errno.EACCES, f"message queue {ident}")
        _stat(t, queue, buf)
    elif cmd == IPC_SET:
        sysvipc.check_owner(t, queue)
        _set(t, queue, buf)
    else:
        sysvipc.check_owner(t, queue)
        _remove(queues, queue)
    return 0
