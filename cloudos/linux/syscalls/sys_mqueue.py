"""POSIX message queues: mq_open(2), mq_unlink(2), mq_timedsend(2), mq_timedreceive(2),
mq_notify(2), mq_getsetattr(2).

The queues and their descriptors are the VFS's (``servers/vfs/mqueue.py``): these
handlers decode the guest's arguments (names, messages, struct mq_attr, struct
sigevent, absolute CLOCK_REALTIME timeouts), copy messages in and out of its memory,
and ask the VFS.
"""

from __future__ import annotations

import struct
import time

from cloudos.abi import vfs
from cloudos.abi.vfs import MqAttr, MqReceived
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message
from cloudos.kernel.task import Thread
from cloudos.linux.syscalls.args import deadline, read_timespec, s32, user_string
from cloudos.linux.syscalls.sys_file import call

MQ_ATTR = struct.Struct("<qqqq32x")  # mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs, reserved
SIGEVENT_HEAD = struct.Struct("<Qii")  # sigev_value, sigev_signo, sigev_notify
O_CREAT, O_NONBLOCK = 0o100, 0o4000
MQ_PRIO_MAX = 32768
HARD_MSGSIZEMAX = 16 << 20
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD = 0, 1, 2
NSIG = 64
PATH_MAX = 4096


def _name(t: Thread, addr: int) -> bytes:
    return user_string(t.process.aspace, addr, PATH_MAX)


def _until(t: Thread, timeout: int) -> float | None:
    """An absolute CLOCK_REALTIME timeout as a scheduler deadline (EINVAL, EFAULT)."""
    if not timeout:
        return None
    return deadline(t, read_timespec(t.process.aspace, timeout) - time.time())


def sys_mq_open(t: Thread, name: int, flags: int, mode: int, attr: int, *_: int) -> int:
    """Implements Linux mq_open(2)."""
    flags, text = s32(flags), _name(t, name)
    maxmsg = msgsize = 0
    if flags & O_CREAT and attr:
        _, maxmsg, msgsize, _ = MQ_ATTR.unpack(t.process.aspace.copy_in(attr, MQ_ATTR.size))
        if maxmsg <= 0 or msgsize <= 0:
            raise KernelError(Errno.EINVAL, "mq_maxmsg and mq_msgsize must be positive")
    return call(t, vfs.MqOpen(text, flags, mode & 0o7777, min(maxmsg, 1 << 31),
                              min(msgsize, 1 << 31)))


def sys_mq_unlink(t: Thread, name: int, *_: int) -> int:
    """Implements Linux mq_unlink(2)."""
    return call(t, vfs.MqUnlink(_name(t, name)))


def sys_mq_timedsend(t: Thread, fd: int, msg: int, length: int, prio: int, timeout: int,
                     *_: int) -> int:
    """Implements Linux mq_timedsend(2)."""
    until = _until(t, timeout)
    if prio & 0xFFFF_FFFF >= MQ_PRIO_MAX:
        raise KernelError(Errno.EINVAL, f"priority {prio}")
    if length > HARD_MSGSIZEMAX:  # over any queue's mq_msgsize
        raise KernelError(Errno.EMSGSIZE, f"a message of {length} bytes")
    data = t.process.aspace.copy_in(msg, length)
    return call(t, vfs.MqTimedsend(s32(fd), data, prio & 0xFFFF_FFFF), deadline=until)


def sys_mq_timedreceive(t: Thread, fd: int, msg: int, length: int, prio: int, timeout: int,
                        *_: int) -> int:
    """Implements Linux mq_timedreceive(2)."""
    until = _until(t, timeout)
    aspace = t.process.aspace

    def deliver(answer: Message) -> int:
        """The message, taken off the queue: a bad buffer loses it (EFAULT), as on Linux."""
        if not isinstance(answer.body, MqReceived):
            return int(answer.body)
        aspace.copy_out(msg, answer.body.data)
        if prio:
            aspace.copy_out(prio, struct.pack("<I", answer.body.prio))
        return len(answer.body.data)

    return call(t, vfs.MqTimedreceive(s32(fd), min(length, 1 << 31)), deadline=until,
                deliver=deliver)


def sys_mq_notify(t: Thread, fd: int, sevp: int, *_: int) -> int:
    """Implements Linux mq_notify(2): SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD (a
    netlink socket's message in Linux) is ENOSYS."""
    if not sevp:
        return call(t, vfs.MqNotify(s32(fd), -1, 0, 0))
    value, signo, how = SIGEVENT_HEAD.unpack(t.process.aspace.copy_in(sevp, SIGEVENT_HEAD.size))
    if how not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD):
        raise KernelError(Errno.EINVAL, f"sigev_notify {how}")
    if how == SIGEV_SIGNAL and not 0 <= signo <= NSIG:
        raise KernelError(Errno.EINVAL, f"signal {signo}")
    if how == SIGEV_THREAD:
        raise KernelError(Errno.ENOSYS, "SIGEV_THREAD needs netlink notification")
    return call(t, vfs.MqNotify(s32(fd), how, signo, value))


def sys_mq_getsetattr(t: Thread, fd: int, new: int, old: int, *_: int) -> int:
    """Implements Linux mq_getsetattr(2): only O_NONBLOCK of mq_flags can change."""
    aspace = t.process.aspace
    flags = -1
    if new:
        flags = MQ_ATTR.unpack(aspace.copy_in(new, MQ_ATTR.size))[0]
        if flags & ~O_NONBLOCK:
            raise KernelError(Errno.EINVAL, f"mq_flags {flags:#x}")

    def deliver(answer: Message) -> int:
        if not isinstance(answer.body, MqAttr):
            return int(answer.body)
        if old:
            a = answer.body
            aspace.copy_out(old, MQ_ATTR.pack(a.flags, a.maxmsg, a.msgsize, a.curmsgs))
        return 0

    return call(t, vfs.MqGetsetattr(s32(fd), flags), deliver=deliver)
