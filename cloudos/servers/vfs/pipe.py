"""Pipes: a buffer (64 KiB, or F_SETPIPE_SZ's size) between the ends that write and read it.

Owns: creating a pipe (pipe2), its size (F_GETPIPE_SZ, F_SETPIPE_SZ), its reads and
writes (a read of an empty pipe waits, a write to a full one waits: deferred replies,
answered in turn by ``changed`` as the buffer or an end changes; writes up to PIPE_BUF
are atomic; EOF and EPIPE when an end closes), message boundaries for the message
sockets built on pipes, the open files in flight with their bytes (SCM_RIGHTS, taken
by the read that takes those bytes), a pipe end's poll events (Linux's pipe_poll,
FIFOs' too), opening a pipe end again by its /proc fd link (a new end of the same
pipe), and letting go of an end. The buffer itself and the ``Pipe`` record are in
``files``; AF_UNIX sockets (``unix``) are two pipes; FIFOs (``fifo``) are pipes a
file system node owns.
Never: touches guest memory except through a request's grants.
Called by: ``vfs.server`` (pipe2, and every operation on a pipe end) and ``unix``;
the net server (``net.sockets``) for its TCP connections' pipes.
"""

from __future__ import annotations

import os
import stat
import struct
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from cloudos.abi.signal import Signal
from cloudos.abi.vfs import Pipe2, Received
from cloudos.errno import Errno, KernelError
from cloudos.servers.runtime import LocalRequest, Request
from cloudos.servers.vfs import files
from cloudos.servers.vfs.fileops import FileOps, scatter
from cloudos.servers.vfs.files import (O_CLOEXEC, O_NONBLOCK, PIPE_BUF, OpenFile, Pipe)
from cloudos.servers.vfs.fs import Attr

if TYPE_CHECKING:
    from cloudos.servers.vfs.server import Proc, Vfs

SOCK_DGRAM = 2
O_DIRECT = 0o40000  # pipe2 accepts it (packet mode); it changes nothing here
SOL_SOCKET, SCM_RIGHTS, CMSG_HEADER, MSG_CTRUNC, MSG_CMSG_CLOEXEC = 1, 1, 16, 0x8, 0x40000000
POLLIN, POLLOUT, POLLERR, POLLHUP = 1, 4, 8, 16
PIPEFS_DEV = 0x0C
PAGE = 4096  # a pipe's size is in pages
SIGIO = int(Signal.SIGIO)
CAP_SYS_RESOURCE = 24  # capabilities(7): a pipe beyond pipe-max-size
# What Linux charges a message against its sender's buffer is its sk_buff's truesize: the
# sk_buff itself, and a head from kmalloc (a power of two, from 512 bytes) holding the
# 64-byte-aligned data and the shared info; past SKB_MAX_ALLOC the rest is in whole pages.
SKB_SIZE, SKB_SHINFO, SKB_ALIGN = 256, 320, 64  # x86_64's aligned struct sizes
SKB_MAX_ALLOC = (PAGE << 2) - SKB_SHINFO
MAX_SKB_FRAGS = 17
MESSAGE_SLACK = 32  # a datagram may be as large as the send buffer less this (EMSGSIZE)
MAX_DGRAM_QLEN = 10  # net.unix.max_dgram_qlen's default
# An AF_UNIX stream's sk_buff (unix_stream_sendmsg): a head of up to SKB_MAX_HEAD(0) bytes
# (a page less the shared info) and the rest in pages of at most order 3 (32 KiB); the
# sender waits while its charges reach its size
STREAM_HEAD, STREAM_FRAGS, STREAM_ORDER = PAGE - SKB_SHINFO, 32768, 3


class PipeServer(Protocol):
    """The server whose pipes these are (the VFS, or the net server for its sockets):
    how a parked read or write is answered, and whom a change wakes."""

    api: Any
    state: Any

    def answer(self, request: Request, result: Any) -> None: ...

    def wake_pollers(self) -> None: ...

    def unref(self, file: OpenFile) -> None: ...


def pipe2(vfs: Vfs, request: Request, r: Pipe2) -> int:
    """Implements Linux pipe2(2): the two fds go to the request's grant."""
    proc = vfs.proc(request)
    if r.flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT):
        raise KernelError(Errno.EINVAL, f"pipe2 flags {r.flags:#x}")
    proc.fds.check_free(2)
    pipe = Pipe(readers=1, writers=1, slots=deque())
    status = r.flags & O_NONBLOCK
    cloexec = bool(r.flags & O_CLOEXEC)
    read_fd = proc.fds.install(OpenFile("pipe", files.O_RDONLY | status, pipe=pipe), cloexec)
    write_fd = proc.fds.install(OpenFile("pipe", files.O_WRONLY | status, pipe=pipe), cloexec)
    vfs.api.copy_out(request.grants[0], 0, struct.pack("<ii", read_fd, write_fd))
    return 0


def signal_async(vfs: PipeServer, waiting: list[OpenFile]) -> None:
    """I/O happened on a pipe: SIGIO (or F_SETSIG's signal) to the owner of each of its
    O_ASYNC ends ``waiting`` (its readers after a write, its writers after a read)."""
    for file in waiting:
        kind, who = file.owner
        if who:
            vfs.state.send_sigio(kind, who, file.signum or SIGIO)


def fasync(file: OpenFile, on: bool) -> None:
    """F_SETFL O_ASYNC on a pipe end or a socket: it is signalled as data comes to what it
    reads, and (a pipe's write end) as room comes in what it writes."""
    ends = [(file.pipe, True)] if file.readable() and file.pipe is not None else []
    if file.kind == "pipe" and file.writable() and file.pipe is not None:
        ends.append((file.pipe, False))  # (a socket is signalled for room only after it
        # found none, which sends here never see: its readers only)
    for pipe, reading in ends:
        where = pipe.async_readers if reading else pipe.async_writers
        if on and file not in where:
            where.append(file)
        elif not on and file in where:
            where.remove(file)


def pipe_size(vfs: Vfs, file: OpenFile, setting: bool, arg: int) -> int:
    """F_GETPIPE_SZ, F_SETPIPE_SZ (Linux's pipe_set_size): a size of whole pages, a power
    of two of them; beyond pipe-max-size only with privilege (EPERM); never smaller than
    the pages the data in it fills (EBUSY). Any other file is EBADF."""
    pipe = file.pipe
    if file.kind != "pipe" or pipe is None:
        raise KernelError(Errno.EBADF, "not a pipe")
    if not setting:
        return pipe.capacity
    size = arg & 0xFFFFFFFF  # an unsigned int
    if size > 1 << 31:
        raise KernelError(Errno.EINVAL, f"pipe size {size}")
    size = PAGE if size < PAGE else 1 << (size - 1).bit_length()
    if size > pipe.capacity and size > vfs.state.sysctl.pipe_max_size \
            and not vfs.who().capable(CAP_SYS_RESOURCE):
        raise KernelError(Errno.EPERM, "beyond /proc/sys/fs/pipe-max-size")
    held = len(pipe.slots) * PAGE if pipe.slots is not None else len(pipe.buffer)
    if size < held:
        raise KernelError(Errno.EBUSY, "the pipe holds more pages than that")
    grew, pipe.capacity = size > pipe.capacity, size
    if grew:
        changed(vfs, pipe)  # blocked writers have room
    return size
class Resumable:
    """A parked read that serves itself when the pipe changes (an internet socket's
    MSG_PEEK and MSG_WAITALL receives): ``resume`` answers the request and says True, or
    takes what it may and says False to stay parked."""

    def resume(self, vfs: PipeServer, request: Request, pipe: Pipe, count: int, grant: Any,
               lengths: list[int] | None) -> bool:
        raise NotImplementedError


def read(vfs: PipeServer, request: Request, file: OpenFile, count: int, grant: Any,
         lengths: list[int] | None, dontwait: bool = False, control: Any = None) -> Any:
    """A read of what ``file`` reads from (a pipe's buffer, a socket's incoming pipe):
    now, or None (answered when a writer comes). ``lengths``: the grants of a readv,
    filled in order; ``control``: recvmsg's (grant, room, flags) for passed files."""
    pipe = file.pipe
    assert pipe is not None
    if count == 0:
        return 0
    if not pipe.readable():
        if (pipe.writers == 0 or pipe.readers == 0) and file.socktype != SOCK_DGRAM:
            return 0  # end of file (or a socket shut for reading); datagrams have none
        if file.flags & O_NONBLOCK or dontwait:
            raise KernelError(Errno.EAGAIN, "pipe empty")
        pipe.blocked_readers.append((request, count, grant, lengths, control))
        return None  # answered when a writer comes
    data, passed = take(pipe, count)
    changed(vfs, pipe)
    signal_async(vfs, pipe.async_writers)
    return hand_over(vfs, request, grant, data, lengths, passed, control)


def truesize(length: int) -> int:
    """The charge of a message of ``length`` bytes (Linux's unix_dgram_sendmsg skb)."""
    paged = 0
    if length > SKB_MAX_ALLOC:
        paged = min(length - SKB_MAX_ALLOC, MAX_SKB_FRAGS * PAGE)
        paged = -(-paged // PAGE) * PAGE
    head = -(-(length - paged) // SKB_ALIGN) * SKB_ALIGN + SKB_SHINFO
    return (1 << (head - 1).bit_length()) + SKB_SIZE + paged


def stream_truesize(size: int) -> int:
    """The charge of an AF_UNIX stream's sk_buff of ``size`` bytes (Linux's
    unix_stream_sendmsg, alloc_skb_with_frags): a head from kmalloc, and whole pages for
    the rest, each run of them the largest power of two that the rest fills."""
    paged = min(size, -(-max(size - STREAM_HEAD, 0) // PAGE) * PAGE)
    head = -(-(size - paged) // SKB_ALIGN) * SKB_ALIGN + SKB_SHINFO
    charge = (1 << (head - 1).bit_length()) + SKB_SIZE
    order = STREAM_ORDER
    while paged:
        while order and paged < PAGE << order:
            order -= 1
        charge += PAGE << order
        paged -= min(paged, PAGE << order)
    return charge


def _stream_chunks(pipe: Pipe, count: int) -> list[int]:
    """The sk_buffs a stream write of ``count`` bytes allocates now, in order: each at
    most half the sender's size less 64 bytes and a head and 32 KiB of pages; one more
    while its charges are under its size."""
    most = min((pipe.capacity >> 1) - 64, STREAM_HEAD + STREAM_FRAGS)
    charged, chunks = pipe.charged, []
    while count > 0 and charged < pipe.capacity:
        size = min(count, most)
        chunks.append(size)
        charged += stream_truesize(size)
        count -= size
    return chunks


def _charge_stream(pipe: Pipe, count: int) -> None:
    """An AF_UNIX stream's write of ``count`` bytes at the end of what it holds: its
    sk_buffs are charged (``_stream_chunks``, which the write's room came from)."""
    skbs = pipe.skbs
    assert skbs is not None
    end = pipe.consumed + len(pipe.buffer)
    for size in _stream_chunks(pipe, count):
        end += size
        charge = stream_truesize(size)
        skbs.append([end, charge])
        pipe.charged += charge


def _release_stream(pipe: Pipe) -> None:
    """An AF_UNIX stream's sk_buffs read to their end are freed, their charges with them."""
    skbs = pipe.skbs
    while skbs and skbs[0][0] <= pipe.consumed:
        pipe.charged -= skbs.popleft()[1]


def _room(pipe: Pipe, message: int, merge: int = 0) -> int:
    """How many bytes a write may add now: a pipe's free pages and the ``merge`` bytes
    its last page takes; a stream's free bytes (an AF_UNIX stream's: what the sk_buffs
    it may allocate now hold, for a write of ``message`` bytes); a message socket's whole
    ``message`` while its queued messages' charges are under its size."""
    if pipe.slots is not None:
        return merge + (pipe.capacity // PAGE - len(pipe.slots)) * PAGE
    if pipe.skbs is not None:
        return sum(_stream_chunks(pipe, message))
    if pipe.bounds is None:  # (a TCP socket's may have shrunk below what it holds)
        return max(pipe.capacity - len(pipe.buffer), 0)
    return message if pipe.charged < pipe.capacity and not _queue_full(pipe) else 0


def room(pipe: Pipe, most: int) -> int:
    """How many bytes a write of ``most`` (a splice's, a tee's) may add now."""
    return _room(pipe, most, _merge(pipe, most))


def _merge(pipe: Pipe, total: int) -> int:
    """What a write of ``total`` bytes puts in the pipe's last page, before new ones: its
    bytes past whole pages (the first ``total % PAGE``) if they all fit there, else none
    (Linux's pipe_write); 0 for a socket's pipe."""
    slots = pipe.slots
    chars = total & (PAGE - 1)
    if slots and chars and slots[-1][0] + slots[-1][1] + chars <= PAGE:
        return chars
    return 0


def _fill(pipe: Pipe, count: int, merge: int) -> None:
    """A pipe's pages after a write of ``count`` bytes, ``merge`` of them into its last
    page: the rest in new pages, whole but the last."""
    slots = pipe.slots
    if slots is None:
        if pipe.skbs is not None:
            _charge_stream(pipe, count)
        return
    if merge:
        slots[-1][1] += merge
        count -= merge
    while count > 0:
        slots.append([0, min(PAGE, count)])
        count -= PAGE


def _drain(pipe: Pipe, count: int) -> None:
    """A pipe's pages after a read of ``count`` bytes: a page read to its end is free."""
    slots = pipe.slots
    while count > 0 and slots:
        first = slots[0]
        used = min(count, first[1])
        first[0] += used
        first[1] -= used
        count -= used
        if not first[1]:
            slots.popleft()


def has_room(pipe: Pipe) -> bool:
    """Whether a waiting writer goes on (and poll says POLLOUT): a free page of a pipe
    (Linux's pipe_full), a byte of a stream's room; for a message socket, charges down to
    a quarter of its size (Linux's unix_writable)."""
    if pipe.slots is not None:
        return len(pipe.slots) < pipe.capacity // PAGE
    if pipe.bounds is None and pipe.skbs is None:
        return len(pipe.buffer) < pipe.capacity
    return pipe.charged * 4 <= pipe.capacity and not _queue_full(pipe)


def _queue_full(pipe: Pipe) -> bool:
    """A datagram socket's own queue holds more than net.unix.max_dgram_qlen messages
    (Linux's unix_recvq_full: its senders wait, or get EAGAIN)."""
    return pipe.senders is not None and pipe.bounds is not None \
        and len(pipe.bounds) > MAX_DGRAM_QLEN


def _queue_message(pipe: Pipe, length: int, sender: OpenFile) -> None:
    """The message just added to a message socket's buffer ends here and is charged; a
    datagram socket's queue keeps who sent it (its address, b"" when unbound)."""
    assert pipe.bounds is not None
    pipe.bounds.append(pipe.consumed + len(pipe.buffer))
    pipe.charged += truesize(length)
    if pipe.senders is not None:
        pipe.senders.append(sender.name)


def take(pipe: Pipe, count: int) -> tuple[bytes, list[OpenFile]]:
    """Up to ``count`` bytes from the pipe, stopping after the bytes that carry open
    files (SCM_RIGHTS), and those files."""
    start = pipe.consumed
    end = start + min(count, len(pipe.buffer))
    if pipe.bounds:  # a message: no more than one (files of the next are not this read's)
        end = min(end, pipe.bounds[0])
    passed: list[OpenFile] = []
    for chunk in pipe.rights:
        if chunk[0] < end and chunk[1] > start:
            end, passed = min(end, chunk[1]), chunk[2]
            pipe.rights.remove(chunk)
            break
    with memoryview(pipe.buffer) as view:  # one copy; the view goes before the buffer shrinks
        data = bytes(view[:end - start])
    if pipe.bounds:
        end = pipe.bounds.popleft()
        pipe.charged -= truesize(end - start)
        if pipe.senders:  # (whoever takes a datagram, its sender goes with it)
            pipe.senders.popleft()
    del pipe.buffer[:end - start]
    pipe.consumed = end
    if pipe.slots is not None:
        _drain(pipe, end - start)
    elif pipe.skbs:
        _release_stream(pipe)
    return data, passed


def _drop_unwritten_rights(vfs: PipeServer, pipe: Pipe) -> None:
    """Files queued for bytes that were never written go back."""
    written = pipe.consumed + len(pipe.buffer)
    for chunk in [c for c in pipe.rights if c[0] >= written]:
        pipe.rights.remove(chunk)
        for file in chunk[2]:
            vfs.unref(file)


def hand_over(vfs: PipeServer, request: Request, grant: Any, data: bytes | memoryview,
              lengths: list[int] | None,
            passed: list[OpenFile], control: Any) -> Any:
    """Copy what a pipe or socket read took; files that came with it go to recvmsg's
    control buffer (installed as new fds) or, for other reads, are dropped."""
    scatter(vfs.api, grant, data, lengths)
    if control is None:
        for file in passed:
            vfs.unref(file)
        return len(data)
    token, room, flags = control
    fit = max(0, (room - CMSG_HEADER) // 4) if passed else 0
    given, dropped = passed[:fit], passed[fit:]
    for file in dropped:
        vfs.unref(file)
    proc = vfs.state.procs.get(request.sender)
    if proc is None:  # the receiver is gone: nobody takes them
        for file in given:
            vfs.unref(file)
        given = []
    # the message's hold on each file becomes the new fd's
    fds = [proc.fds.install(file, bool(flags & MSG_CMSG_CLOEXEC)) for file in given
           if proc is not None]
    used = 0
    if fds:
        cmsg = struct.pack(f"<Qii{len(fds)}i", CMSG_HEADER + 4 * len(fds), SOL_SOCKET,
                           SCM_RIGHTS, *fds)
        vfs.api.copy_out(token, 0, cmsg)
        used = min(room, (len(cmsg) + 7) & ~7)
    msg_flags = flags & MSG_CMSG_CLOEXEC | (MSG_CTRUNC if dropped else 0)
    return Received(len(data), used, msg_flags)


def write(vfs: PipeServer, request: Request, file: OpenFile, data: bytes, done: int,
          dontwait: bool = False, to: Pipe | None = None) -> int | None:
    """A write to what ``file`` writes to (a pipe, a socket's outgoing pipe, or ``to``: a
    datagram's destination) of ``data`` past its first ``done`` bytes: the count, or None
    (answered when there is room)."""
    pipe = to or (file.tx if file.kind in ("socket", "inet") else file.pipe)
    assert pipe is not None
    if pipe.readers == 0 or pipe.writers == 0:
        if file.socktype == SOCK_DGRAM and pipe.readers == 0:
            raise KernelError(Errno.ECONNREFUSED, "the peer is gone")
        raise KernelError(Errno.EPIPE, "no reader (or a socket shut for writing)")
    nonblock = bool(file.flags & O_NONBLOCK) or dontwait
    merge = _merge(pipe, len(data)) if not done else 0
    room = _room(pipe, len(data), merge)
    left = len(data) - done
    messages = pipe.bounds is not None
    if messages and len(data) > pipe.capacity - MESSAGE_SLACK:
        raise KernelError(Errno.EMSGSIZE, "a message larger than the socket's buffer")
    if room < left and (left <= PIPE_BUF and pipe.slots is not None or room == 0 or messages):
        # (atomic writes: a pipe's or FIFO's up to PIPE_BUF, a message; a stream's are
        # never atomic: it takes what fits, or waits for room)
        if nonblock:
            if done:
                return done
            raise KernelError(Errno.EAGAIN, "pipe full")
        if done:
            request.on_crash = done
        pipe.blocked_writers.append((request, file, data, done))
        changed(vfs, pipe)
        return None
    fits = min(room, left)
    _fill(pipe, fits, merge)
    while fits and pipe.blocked_readers and not pipe.buffer and not messages \
            and not pipe.rights:
        given = _give_waiting(vfs, pipe, data, done, fits)  # (the bytes skip the buffer)
        if not given:
            break
        _drain(pipe, given)
        done, fits = done + given, fits - given
        if not fits and done < len(data):  # a reader took them all: the pipe is empty
            fits = min(_room(pipe, len(data)), len(data) - done)  # and the write goes on
            _fill(pipe, fits, 0)
    pipe.buffer += memoryview(data)[done:done + fits]  # (one copy)
    done += fits
    if messages:
        _queue_message(pipe, len(data), file)
    changed(vfs, pipe)
    signal_async(vfs, pipe.async_readers)
    if done < len(data):
        if nonblock:
            return done
        request.on_crash = done  # written already: a crash must not make it write twice
        pipe.blocked_writers.append((request, file, data, done))
        return None
    return done


def _give_waiting(vfs: PipeServer, pipe: Pipe, data: bytes, done: int, fits: int) -> int:
    """A write of ``fits`` bytes of ``data`` (from ``done``) to an empty byte-stream pipe
    with a reader waiting: the first reader still waiting takes its share straight from
    the writer's bytes, copied once into its memory, not through the buffer (what a
    write then ``changed`` would give it, in the same order); returns the bytes given."""
    while pipe.blocked_readers:
        request, count, grant, lengths, control = pipe.blocked_readers[0]
        if isinstance(control, Resumable):  # a read of its own kind: ``changed`` serves it
            return 0
        pipe.blocked_readers.popleft()
        if not vfs.api.waiting(request):
            continue  # interrupted (EINTR): it must not take the data
        given = min(count, fits)
        pipe.consumed += given
        if pipe.skbs:
            _release_stream(pipe)
        signal_async(vfs, pipe.async_writers)
        try:
            vfs.answer(request, hand_over(vfs, request, grant,
                                          memoryview(data)[done:done + given], lengths, [],
                                          control))
        except KernelError as err:
            vfs.answer(request, -err.errno)
        return given
    return 0


SHUT_READ, SHUT_WRITE = 1, 2  # OpenFile.shut bits


def shut(vfs: PipeServer, file: OpenFile, how: int) -> int:
    """shutdown(2) of a connected socket (AF_UNIX's, or one of the net server's) whose
    data flows in two pipes: ``file.pipe`` in, ``file.tx`` out. The directions in ``how``
    not shut before lose their end (a reader sees end of file, a writer EPIPE), and the
    callers waiting on either pipe are answered. Returns the directions newly shut."""
    new = how & ~file.shut
    file.shut |= new
    if file.pipe is not None and file.tx is not None:
        if new & SHUT_READ:
            file.pipe.readers -= 1
        if new & SHUT_WRITE:
            file.tx.writers -= 1
        changed(vfs, file.pipe)
        changed(vfs, file.tx)
    return new


def changed(vfs: PipeServer, pipe: Pipe) -> None:
    """Data or an end changed: answer the blocked readers, writers and pollers that can
    go on."""
    while pipe.blocked_readers and (pipe.readable() or pipe.writers == 0
                                    or pipe.readers == 0):
        request, count, grant, lengths, control = pipe.blocked_readers.popleft()
        if not vfs.api.waiting(request):
            continue  # interrupted (EINTR): it must not take the data
        if isinstance(control, Resumable):  # a read of its own kind (net.sockets')
            if not control.resume(vfs, request, pipe, count, grant, lengths):
                pipe.blocked_readers.appendleft((request, count, grant, lengths, control))
                break
            continue
        data, passed = take(pipe, count)
        signal_async(vfs, pipe.async_writers)
        try:
            vfs.answer(request, hand_over(vfs, request, grant, data, lengths, passed, control))
        except KernelError as err:
            vfs.answer(request, -err.errno)
    while pipe.blocked_writers and (has_room(pipe) or pipe.readers == 0 or pipe.writers == 0):
        request, file, data, done = pipe.blocked_writers.popleft()
        if not vfs.api.waiting(request):  # interrupted: its bytes, and files, never come
            _drop_unwritten_rights(vfs, pipe)
            continue
        if pipe.readers == 0 or pipe.writers == 0:  # (a datagram's receiver closed)
            gone = Errno.ECONNREFUSED if pipe.senders is not None else Errno.EPIPE
            vfs.answer(request, done or -gone)
            continue
        fits = min(_room(pipe, len(data)), len(data) - done)
        if pipe.bounds is not None and fits < len(data):  # a message goes whole
            pipe.blocked_writers.appendleft((request, file, data, done))
            break
        _fill(pipe, fits, 0)  # (a write that waited goes on in new pages)
        pipe.buffer += memoryview(data)[done:done + fits]  # (one copy)
        done += fits
        signal_async(vfs, pipe.async_readers)
        if pipe.bounds is not None:
            _queue_message(pipe, len(data), file)
        if done < len(data):
            request.on_crash = done
            pipe.blocked_writers.appendleft((request, file, data, done))
            break
        vfs.answer(request, done)
    if pipe.blocked_readers and pipe.readable():
        changed(vfs, pipe)
    vfs.wake_pollers()


def poll_events(file: OpenFile, events: int) -> int:
    """A pipe or FIFO end's poll events, as Linux's pipe_poll: a readable end has POLLIN
    (bytes) and POLLHUP (no writer, once a writer has come: ``version``), a writable one
    POLLOUT (room) and POLLERR (no reader); an end open for both has both."""
    pipe = file.pipe
    assert pipe is not None
    mask = 0
    if file.readable():
        if pipe.buffer:
            mask |= POLLIN
        if not pipe.writers and file.version != pipe.w_counter:
            mask |= POLLHUP
    if file.writable():
        if has_room(pipe):
            mask |= POLLOUT
        if not pipe.readers:
            mask |= POLLERR
    return mask & (events | POLLHUP | POLLERR)


def anon_attr(file: OpenFile, mode: int, dev: int) -> Attr:
    """What fstat shows of a pipe end or a socket: no file system node behind it."""
    now = time.time_ns()
    return Attr(id(file.pipe) & 0xFFFFFF, mode, 1, os.getuid(), os.getgid(), 0, 0, 4096, 0,
                now, now, now, dev)


def anon_path(file: OpenFile) -> bytes:
    """What /proc/<pid>/fd shows of a pipe end or a connected socket."""
    return f"{file.kind}:[{id(file.pipe) & 0xFFFFFF}]".encode()


class PipeEnd(FileOps):
    """The pipe kind of open file: one end of a pipe."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> Any:
        return read(vfs, request, file, count, grant, None)

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        vfs.check_readable(file)  # one read fills the buffers in order
        return read(vfs, request, file, sum(lengths), grants, lengths)

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        return write(vfs, request, file, data, 0)

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        return poll_events(file, events)

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        raise KernelError(Errno.ESPIPE, "not seekable")

    def stat(self, file: OpenFile) -> Attr:
        return anon_attr(file, stat.S_IFIFO | 0o600, PIPEFS_DEV)

    def path(self, file: OpenFile) -> bytes:
        return anon_path(file)

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        return len(file.pipe.buffer) if file.pipe is not None else 0

    def reopen(self, vfs: Vfs, request: Request, proc: Proc, file: OpenFile, status: int,
               cloexec: bool) -> Any:
        """/proc/<pid>/fd/N of a pipe end: a new end of the same pipe, reading, writing or
        both as the flags say (Linux's fifo_open for a pipe, which never waits)."""
        pipe = file.pipe
        assert pipe is not None
        proc.fds.check_free(1)
        end = OpenFile("pipe", status, pipe=pipe)
        if end.readable():
            pipe.r_counter += 1
            pipe.readers += 1
        if end.writable():
            pipe.w_counter += 1
            pipe.writers += 1
        changed(vfs, pipe)
        return proc.fds.install(end, cloexec)
    def fasync(self, vfs: Vfs, file: OpenFile, on: bool) -> bool:
        fasync(file, on)
        return True

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        pipe = file.pipe
        assert pipe is not None
        fasync(file, False)
        if file.writable():  # (an end opened again O_RDWR, /proc/self/fd/N, is both)
            pipe.writers -= 1
        if file.readable():
            pipe.readers -= 1
        changed(vfs, pipe)


PARK = object()  # ``Local.read``'s answer: the pipe is empty, and the read waits


class Local:
    """The reads and writes of pipe and FIFO ends a personality makes itself, not as calls
    to the VFS's port (``linux/pipefast``; ``ServerApi.local``): the common cases of
    ``read`` and ``write`` above on the same state, in the same steps, run while the VFS's
    code waits in its receive with nothing queued (so nothing it has yet to serve comes
    after them). Anything else (a socket, a write that must wait or fails, a vector) is
    the personality's usual call. A read that waits is parked as a call's is, as a
    ``LocalRequest``: a writer, or the end's closing, answers it by telling its waiter."""

    def __init__(self, vfs: Vfs) -> None:
        self.vfs = vfs
        self.procs = vfs.state.procs
        self.marks = vfs.state.notify.marks  # (inotify's and dnotify's: notify.py)
        self.served = 0  # reads and writes served (--syscall-stats), and of them
        self.parked = 0  # the reads that waited

    def end(self, pid: int, fd: int, writing: bool) -> OpenFile | None:
        """Process ``pid``'s fd ``fd`` if it is a pipe's or FIFO's end open for the
        direction (``writing`` or reading); None for anything else (not open, another
        kind, the other direction: the usual call answers)."""
        proc = self.procs.get(pid)
        if proc is None:
            return None
        entry = proc.fds.entries.get(fd)
        if entry is None:
            return None
        file = entry.file
        if file.kind != "pipe" and file.kind != "fifo" or file.pipe is None \
                or file.pipe.slots is None:
            return None
        if self.marks and file.kind == "fifo":  # (something is watched: through the port,
            return None                         # where a FIFO's I/O makes its events)
        return file if (file.writable() if writing else file.readable()) else None

    def read(self, pid: int, file: OpenFile, count: int) -> Any:
        """``read`` of ``count`` (> 0) bytes now: the bytes, 0 (end of file), -EAGAIN, or
        PARK (empty: the caller parks, ``park``)."""
        pipe = file.pipe
        assert pipe is not None
        if not pipe.buffer:
            if pipe.writers == 0 or pipe.readers == 0:
                self.served += 1
                return 0
            if file.flags & O_NONBLOCK:
                self.served += 1
                return -Errno.EAGAIN
            return PARK
        self.served += 1
        vfs = self.vfs
        vfs.state.caller = pid
        data, passed = take(pipe, count)
        changed(vfs, pipe)
        signal_async(vfs, pipe.async_writers)
        for end in passed:  # (a pipe carries none: a socket's would)
            vfs.unref(end)
        return data

    def park(self, pid: int, file: OpenFile, count: int, waiter: Any) -> None:
        """A read that found the pipe empty waits, as ``read`` parks one: answered in turn
        by ``changed`` (``waiter.finish``)."""
        pipe = file.pipe
        assert pipe is not None
        self.served += 1
        self.parked += 1
        request = LocalRequest(pid, waiter, count)
        pipe.blocked_readers.append((request, count, request.inline, None, None))

    def write(self, pid: int, file: OpenFile, data: bytes) -> int | None:
        """``write`` of ``data`` when all of it goes in now (the count), with a reader and
        no writer waiting before it; None otherwise (the usual call: it waits, writes in
        part, or fails with EPIPE and SIGPIPE)."""
        pipe = file.pipe
        assert pipe is not None
        count = len(data)
        if pipe.readers == 0 or pipe.writers == 0 or pipe.blocked_writers:
            return None
        readers = pipe.blocked_readers
        if readers and not pipe.buffer and not pipe.slots and not pipe.rights \
                and count <= pipe.capacity:  # (an empty pipe's room: all of it)
            request, want, _, _, _ = readers[0]
            waiter = request.waiter
            if waiter is not None and count <= want and waiter.waits():
                # ``write``'s steps when the first reader waiting is a personality's
                # and takes all of it (``_give_waiting``): the bytes go to it at once,
                # not through the pipe's pages (its pages before and after: none)
                self.served += 1
                vfs = self.vfs
                vfs.state.caller = pid
                readers.popleft()
                pipe.consumed += count
                if pipe.async_writers:
                    signal_async(vfs, pipe.async_writers)
                request.answered = True
                waiter.hand(data)
                vfs.wake_pollers()  # (``changed``'s one step here: the pipe is empty,
                # with a reader and a writer, and no writer waits)
                if pipe.async_readers:
                    signal_async(vfs, pipe.async_readers)
                return count
        if _room(pipe, count, _merge(pipe, count)) < count:
            return None
        self.served += 1
        vfs = self.vfs
        vfs.state.caller = pid
        done = write(vfs, _UNPARKED, file, data, 0)
        assert done == count  # (all of it had room: nothing parks)
        return done


_UNPARKED = Request(0, 0, 0)  # ``Local.write``'s request: its write never parks
