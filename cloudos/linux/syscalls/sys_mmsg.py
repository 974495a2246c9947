"""sendmmsg(2) and recvmmsg(2): a batch of sendmsg or recvmsg calls to the VFS.

A message is one call to the VFS, and its answer may come long after the call (a
receive that waits for a datagram), so one run of the handler cannot loop over the
batch: a run sends or receives one message (``sys_file.sendmsg_parts``,
``recvmsg_parts``), and its answer, once it has written the entry's msg_len, either
ends the call with its result or makes it run again (``t.restart``) for the next
entry. Between runs the batch's progress is kept per thread (``_batches``, as
``sys_pidfd`` keeps its lookups); a run continues a batch only when it is the same
call run again (the same arguments, ``t.restart`` naming it), else it starts anew.

The results are Linux's (net/socket.c: ``__sys_sendmmsg``, ``do_recvmmsg``): the count
of messages done, or the error if none was; an entry whose msg_len cannot be written
is not counted. sendmmsg takes at most UIO_MAXIOV entries and stops after a short
send; recvmmsg turns MSG_DONTWAIT on after the first message for MSG_WAITFORONE, stops
after a message with MSG_OOB, and checks its timeout after each message only (as
Linux: a receive that waits is not cut short by it), writing back the time left.
A signal ends a batch as on Linux: at the first message that must wait (``_signalled``).
Linux keeps the error that ended a recvmmsg after some messages (any but EAGAIN: a bad
entry's or msg_len's EFAULT, a signal's ERESTARTSYS, 512 as it is) in the socket's
sk_err, which the socket's next recvmmsg, receive, send or getsockopt(SO_ERROR) reports
and clears, and poll shows as POLLERR; here it is dropped (AF_UNIX sockets keep no
error, and no VFS request sets one).
Never: waits itself, or keeps a batch's progress past the call's result.
Called by: the syscall table.
"""

from __future__ import annotations

import functools
import struct
import weakref
from typing import Callable

from cloudos.abi import net, vfs
from cloudos.abi.dataclass import dataclass
from cloudos.abi.sysno import Sysno
from cloudos.abi.vfs import BytesOut, Received
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message
from cloudos.kernel.task import Thread
from cloudos.linux.process import linux_thread
from cloudos.linux.syscalls import sys_file
from cloudos.linux.syscalls.args import deadline, pack_time, read_timespec, s32

MMSGHDR_SIZE = 64  # struct mmsghdr: a struct msghdr (56 bytes), msg_len, padding
MSG_LEN = struct.Struct("<I")
MSG_LEN_AT = 56
MSG_OOB, MSG_DONTWAIT, MSG_WAITFORONE = 0x1, 0x40, 0x10000
MSG_CMSG_COMPAT = 0x8000_0000  # a 32-bit program's flag: EINVAL from a 64-bit one
UIO_MAXIOV = sys_file.UIO_MAXIOV  # the most entries one sendmmsg takes


@dataclass(eq=False)
class Batch:
    """A sendmmsg's or recvmmsg's progress between the runs of the call."""

    key: tuple[int, ...]  # the call: its number and raw arguments
    vlen: int
    flags: int  # the next message's
    done: int = 0  # entries done, each with its msg_len written
    end: float | None = None  # recvmmsg's timeout: when it runs out (scheduler clock)
    left: float = 0.0  # recvmmsg's time left after its last message
    handled: int = 0  # the thread's handler frames when it last went to run again


_batches: weakref.WeakKeyDictionary[Thread, Batch] = weakref.WeakKeyDictionary()


def _resumed(t: Thread, key: tuple[int, ...]) -> Batch | None:
    """The batch this run of the call continues, if it is one run again."""
    batch = _batches.pop(t, None)
    if batch is not None and batch.key == key and t.restart == t.syscall:
        _signalled(t, batch)
        return batch
    return None


def _signalled(t: Thread, batch: Batch) -> None:
    """If a signal's handler ran between this run and the last, the rest of the batch does
    not wait: Linux takes a signal only once the call returns, but one pending cuts the
    wait of the next message that must wait short, the count so far the result, so the
    messages that need no wait are still taken, and the first that would wait (here:
    EAGAIN) ends the batch. (The handler ran in the middle of the call, where Linux's runs
    after it: a run of the call again goes through user mode.)"""
    if linux_thread(t).handled != batch.handled:
        batch.flags |= MSG_DONTWAIT


def sys_sendmmsg(t: Thread, fd: int, vec: int, vlen: int, flags: int, *_: int) -> int:
    """Implements Linux sendmmsg(2): a sendmsg per entry, at most UIO_MAXIOV of them."""
    batch = _resumed(t, (Sysno.SENDMMSG, fd, vec, vlen, flags))
    if batch is None:
        if flags & MSG_CMSG_COMPAT:
            raise KernelError(Errno.EINVAL, "MSG_CMSG_COMPAT")
        count = min(vlen & 0xFFFF_FFFF, UIO_MAXIOV)
        if not count:
            return _socket_then(t, s32(fd), 0)
        batch = Batch((Sysno.SENDMMSG, fd, vec, vlen, flags), count, s32(flags))
    return _next(t, batch, fd, vec, sys_file.sendmsg_parts, _sent)


def _next(t: Thread, batch: Batch, fd: int, vec: int,
          parts_of: Callable[[Thread, int, int, int], sys_file.MsgCall],
          answered: Callable[..., int]) -> int:
    """The batch's next entry: its sendmsg's or recvmsg's call to the VFS, whose answer
    goes to ``answered`` (``_sent``, ``_received``)."""
    entry = vec + batch.done * MMSGHDR_SIZE
    try:
        parts = parts_of(t, s32(fd), entry, batch.flags)
    except KernelError as err:
        return _failed(t, batch, -err.errno, s32(fd))
    return _message(t, batch, parts, functools.partial(answered, t, batch, entry, parts))


def _counted(t: Thread, batch: Batch, entry: int, result: int) -> int | None:
    """One message's result: written as its entry's msg_len and counted (None), or the
    call's result when it ends the batch (the message's error, or msg_len's EFAULT)."""
    if result < 0:
        return _finish(t, batch, result)
    try:
        t.process.aspace.copy_out(entry + MSG_LEN_AT, MSG_LEN.pack(result))
    except KernelError as err:
        return _finish(t, batch, -err.errno)
    batch.done += 1
    return None


def _sent(t: Thread, batch: Batch, entry: int, parts: sys_file.MsgCall, answer: Message) -> int:
    """One sendmsg's answer: the next entry, or the call's result."""
    result = parts.deliver(answer) if parts.deliver is not None else int(answer.body)
    ended = _counted(t, batch, entry, result)
    if ended is not None:
        return ended
    if result < parts.size or batch.done == batch.vlen:  # (a short send ends the batch)
        return _finish(t, batch, 0)
    return _again(t, batch)


def sys_recvmmsg(t: Thread, fd: int, vec: int, vlen: int, flags: int, timeout: int,
                 *_: int) -> int:
    """Implements Linux recvmmsg(2): a recvmsg per entry; MSG_WAITFORONE, a timeout
    checked after each message."""
    key = (Sysno.RECVMMSG, fd, vec, vlen, flags, timeout)
    batch = _resumed(t, key)
    if batch is None:
        flags &= 0xFFFF_FFFF
        if flags & MSG_CMSG_COMPAT:
            raise KernelError(Errno.EINVAL, "MSG_CMSG_COMPAT")
        end = deadline(t, read_timespec(t.process.aspace, timeout)) if timeout else None
        if not vlen & 0xFFFF_FFFF:
            return _socket_then(t, s32(fd), 0)
        batch = Batch(key, vlen & 0xFFFF_FFFF, flags & ~MSG_WAITFORONE, end=end)
    return _next(t, batch, fd, vec, sys_file.recvmsg_parts, _received)


def _received(t: Thread, batch: Batch, entry: int, parts: sys_file.MsgCall,
              answer: Message) -> int:
    """One recvmsg's answer: the next entry, or the call's result."""
    assert parts.deliver is not None  # (a receive's answer writes the msghdr back)
    result = parts.deliver(answer)
    ended = _counted(t, batch, entry, result)
    if ended is not None:
        return ended
    if batch.key[4] & MSG_WAITFORONE:
        batch.flags |= MSG_DONTWAIT
    if batch.end is not None:
        batch.left = max(0.0, batch.end - t.process.kernel.scheduler.clock())
        if not batch.left:
            return _finish(t, batch, 0)
    got = answer.body
    if batch.done == batch.vlen or isinstance(got, Received) and got.msg_flags & MSG_OOB:
        return _finish(t, batch, 0)
    return _again(t, batch)


def _message(t: Thread, batch: Batch, parts: sys_file.MsgCall,
             deliver: Callable[[Message], int]) -> int:
    """Send or receive one entry's message: the call's result, or it runs again."""
    _batches[t] = batch
    try:
        return sys_file.call(t, parts.request, grants=parts.grants, deliver=deliver,
                             interrupted=functools.partial(_interrupted, t, batch))
    except KernelError as err:
        return _finish(t, batch, -err.errno)


def _again(t: Thread, batch: Batch) -> int:
    """Run the call again for the next entry."""
    batch.handled = linux_thread(t).handled
    _batches[t] = batch
    t.restart = t.syscall
    return 0


def _interrupted(t: Thread, batch: Batch) -> int:
    """A signal took a message's call back undone: the count so far, if any message was
    done (Linux returns it), else EINTR or the call runs again."""
    if batch.done:
        return _finish(t, batch, -Errno.EINTR)
    _batches.pop(t, None)
    return sys_file.undone_by_signal(t)


def _failed(t: Thread, batch: Batch, error: int, fd: int) -> int:
    """An entry that could not be decoded (EFAULT, EINVAL...): for the first, Linux
    looks up the socket first (EBADF, ENOTSOCK); after it, the count so far."""
    if batch.done:
        return _finish(t, batch, error)
    _batches.pop(t, None)
    return _socket_then(t, fd, error)


def _finish(t: Thread, batch: Batch, error: int) -> int:
    """The call's result: the count done, else ``error``; recvmmsg writes back the time
    its timeout has left once some message came."""
    _batches.pop(t, None)
    if not batch.done:
        return error
    timeout = batch.key[5] if batch.key[0] == Sysno.RECVMMSG else 0
    if timeout:
        try:
            t.process.aspace.copy_out(timeout, pack_time(batch.left))
        except KernelError as err:
            return -err.errno
    return batch.done


def _socket_then(t: Thread, fd: int, result: int) -> int:
    """``result``, unless ``fd`` is not an open socket: EBADF or ENOTSOCK first."""
    def deliver(msg: Message) -> int:
        if isinstance(msg.body, BytesOut):
            return result
        answer = int(msg.body)
        return answer if answer < 0 else result
    return sys_file.call(t, vfs.Getsockopt(fd, net.SOL_SOCKET, net.SO_TYPE), deliver=deliver)
