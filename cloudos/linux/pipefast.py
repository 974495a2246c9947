"""Pipe reads and writes served in the personality: a read or write of a pipe or FIFO end
calls the VFS's pipe code itself (``ServerApi.local``: ``servers/vfs/pipe.Local``), not
through a call to its port, and a read that finds the pipe empty sleeps here and gives
the CPU to the next thread inside the call (``switch.asleep``), woken by the write that
fills it (``switch.wake``).

Through the port, each such call is the IPC fast path's direct call (the message, its
decoding, the server's step, the reply capability of a parked read) and a read that waits
sleeps on a reply; for a ping-pong over two pipes that machinery was most of the cost.
Here the same pipe code runs on the same state, in the same order: it runs only while
the VFS's code waits in its receive with nothing queued or pending, as a direct call
does, so every call the VFS has taken is served before it, and nothing the VFS does can
interleave with it (one CPU, in the SYSCALL hook). The fd is looked up in the VFS's own
table each time (no copy of it to keep up to date: close, dup2, exec's CLOEXEC, fork,
passing fds over AF_UNIX all change that one table).

A parked read is a ``LocalRequest`` in the pipe's queue of blocked readers, beside the
parked calls of other readers: whoever makes it readable (a write here or through the
port, a splice, the last writer's close) answers it with the pipe's own ``changed``,
which finds out whether its reader still waits (``Waiter.waits``: a signal that woke it
with EINTR, or restarted its call, or its death, leaves the bytes in the pipe) and hands
the bytes over (``Waiter.finish``: copied into its buffer, and it wakes).

Preconditions; when one fails the call goes through the port as before, and gets the
same answer: the fast path is on (``CLOUDOS_FASTPATH=0`` turns it off), a call may do
the scheduler's steps itself (``switch.inline``: the direct switch is the dispatcher's,
no tracer), one CPU, the thread has no signal to take, the process is not ptraced; its
FILE capability is still the one its lookup found; the VFS waits in receive with nothing
queued, no fault to inject and no tracer's Service; the fd is a pipe's or FIFO's end
open for the direction; the buffer is all there (else the call's own EFAULT). A read
of 0 bytes, a write that must wait, writes in part or fails (EPIPE and SIGPIPE), a
readv, a splice: through the port.
Called by: ``sys_file.sys_read``, ``sys_file.sys_write``.
"""

from __future__ import annotations

import time
from typing import Any

from cloudos.abi.vfs import INLINE_MAX
from cloudos.errno import Errno, KernelError
from cloudos.kernel.cap import Cap
from cloudos.kernel.mm.vm import Prot
from cloudos.kernel.task import State, Thread
from cloudos.linux import fastpath, switch
from cloudos.linux.switch import DirectSwitch

BLOCKED = State.BLOCKED
# A write larger than this never all goes into a pipe (pipe-max-size's default: only a
# privileged F_SETPIPE_SZ makes one larger): through the port, its bytes not copied twice
WRITE_MAX = 1 << 20
_WRITE = int(Prot.WRITE)


class Waiter:
    """A read of an empty pipe that sleeps here: what its ``LocalRequest`` tells."""

    __slots__ = ("thread", "buf")

    def __init__(self, thread: Thread, buf: int) -> None:
        self.thread, self.buf = thread, buf

    def waits(self) -> bool:
        """Whether the reader still sleeps in this read (not woken by a signal, killed):
        the channel it sleeps on is this waiter (its own, compared by identity)."""
        thread = self.thread
        return thread.state is BLOCKED and thread.channel is self

    def finish(self, result: Any, pieces: list[tuple[int, bytes]]) -> None:
        """The read's answer: its bytes go into the reader's buffer and it wakes with the
        count (EFAULT if its buffer went meanwhile, as for a read whose bytes came inline)."""
        if not self.waits():
            return
        thread = self.thread
        result = int(result)
        try:
            for offset, piece in pieces:
                thread.process.aspace.copy_out(self.buf + offset, piece)
        except KernelError as err:
            result = -err.errno
        switch.wake(thread.process.kernel, thread, result)

    def hand(self, data: bytes) -> None:
        """``finish`` of a read that takes all of ``data`` (a write that found it
        waiting, ``waits`` said so just now): into its buffer, and it wakes."""
        thread = self.thread
        process = thread.process
        try:
            process.aspace.copy_out(self.buf, data)
            result = len(data)
        except KernelError as err:
            result = -err.errno
        switch.wake(process.kernel, thread, result)


def _local(t: Thread) -> Any:
    """The VFS's ``Local`` for ``t`` if the preconditions hold, else None."""
    process = t.process
    kernel = process.kernel
    personality = process.personality
    if t.notify or kernel.smp is not None or personality.ptrace is not None \
            or type(kernel.dispatcher.on_stop) is not DirectSwitch:  # (``switch.inline``)
        return None
    held = personality.files_cap  # (``sys_file.call``'s remembered FILE capability)
    token = personality.files
    if held is None or not token or held[0] != token:
        return None
    cap: Cap = held[1]
    ipc = kernel.ipc
    space = ipc.caps.spaces.get(process.pid)
    if not cap.valid or space is None or space.get(token) is not cap:
        return None
    port = ipc.ports.get(cap.obj)
    if port is None:
        return None
    runtime = port.server
    if runtime is None or port.queue or runtime.pending is not None \
            or runtime.direct is not None or runtime.crash_on \
            or runtime.redelivered is not None:
        return None
    server = runtime.thread
    if server.state is not BLOCKED or server.service is not runtime:
        return None
    return runtime.api.local


def _all_writable(t: Thread, buf: int, count: int) -> bool:
    """Whether every byte of [buf, buf+count) may be written (as a grant of all of it)."""
    aspace = t.process.aspace
    try:
        aspace.user_frame(buf, True)
        last = buf + count - 1
        if not (last ^ buf) >> 12:  # (within one page: that page is checked)
            return True
        if count <= INLINE_MAX:  # (two pages: each checked, as ``sys_file._all_good``)
            aspace.user_frame(last, True)
            return True
    except KernelError:
        return False
    end, va = buf + count, buf
    while va < end:
        vma = aspace.find(va)
        if vma is None or not vma.prot & _WRITE:
            return False
        va = vma.end
    return True


def read(t: Thread, fd: int, buf: int, count: int) -> int | None:
    """read(2) of a pipe end: the result, or None (through the port). ``count`` > 0."""
    local = _local(t)
    if local is None:
        return None
    process = t.process
    pid = process.pid
    file = local.end(pid, fd, False)
    if file is None:
        return None
    if (buf ^ (buf + count - 1)) >> 12:  # (more than one page)
        if not _all_writable(t, buf, count):
            return None
    else:
        try:
            process.aspace.user_frame(buf, True)
        except KernelError:
            return None
    entry = time.perf_counter()
    got = local.read(pid, file, count)
    if type(got) is bytes:
        process.aspace.copy_out(buf, got)
        return len(got)
    if type(got) is int:
        return got
    waiter = Waiter(t, buf)
    local.park(pid, file, count, waiter)
    kernel = process.kernel
    kernel.scheduler.sleep_on(t, waiter, None, -Errno.EINTR)  # (its channel: the waiter)
    return switch.asleep(kernel, t, entry)


def write(t: Thread, fd: int, buf: int, count: int) -> int | None:
    """write(2) of a pipe end that takes all of it now: the count, or None (through the
    port). ``count`` > 0."""
    local = _local(t)
    if local is None:
        return None
    if count > WRITE_MAX:
        return None
    pid = t.process.pid
    file = local.end(pid, fd, True)
    if file is None:
        return None
    try:
        data = t.process.aspace.copy_in(buf, count)
    except KernelError:
        return None
    result: int | None = local.write(pid, file, data)
    return result


ENABLED = fastpath.ENABLED
