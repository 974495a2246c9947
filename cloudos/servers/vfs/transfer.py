"""Copies between open files inside the VFS: sendfile(2), copy_file_range(2), splice(2),
tee(2) and vmsplice(2).

Owns: the checks Linux makes of the two files and the copy itself, from a regular file
to any writable file (sendfile), to another regular file (copy_file_range), between a
pipe and any file that reads or writes (splice), from one pipe to another leaving the
bytes in the first (tee), between a pipe and the caller's memory (vmsplice). A copy
into a pipe or socket takes what fits now; with no room (or, out of a pipe or socket,
nothing to take), a blocking one waits for its files to change (a poller of server.py)
without having taken anything, so a signal then ends it with nothing copied and no
offset moved. A pipe's bytes are looked at first and taken only as far as the other
file took them.
Never: copies through the caller's memory (the bytes stay in the server).
Called by: the VFS server's dispatch (server.py).
"""

from __future__ import annotations

import stat
import struct
from functools import partial
from typing import TYPE_CHECKING, Callable

from cloudos.abi import vfs as abi
from cloudos.abi.flags import SpliceFlag
from cloudos.errno import Errno, KernelError
from cloudos.servers.runtime import Request
from cloudos.servers.vfs import netsock, notify, pipe, regular
from cloudos.servers.vfs.fileops import scatter
from cloudos.servers.vfs.files import O_APPEND, O_NONBLOCK, OpenFile, Pipe

if TYPE_CHECKING:
    from cloudos.servers.vfs.server import Proc, Vfs

MAX_RW_COUNT = 0x7FFF_F000  # Linux's cap on one read or write
CHUNK = 1 << 20  # bytes read from the source per step (a short count is allowed)
POLLOUT = 4
SPLICE_F_NONBLOCK = int(SpliceFlag.NONBLOCK)  # (MOVE, MORE, GIFT: hints; no page moves here)


def _regular(file: OpenFile, errno: Errno = Errno.EINVAL) -> None:
    if file.kind != "node" or not stat.S_ISREG(file.fs.getattr(file.node).mode):
        raise KernelError(errno, "not a regular file")


def sendfile(vfs: Vfs, request: Request, r: abi.Sendfile) -> int | None:
    proc = vfs.proc(request)
    dst, src = proc.fds.get(r.out_fd), proc.fds.get(r.in_fd)
    if not src.readable() or not dst.writable():
        raise KernelError(Errno.EBADF, "sendfile: in not readable or out not writable")
    _regular(src)
    if dst.flags & O_APPEND:
        raise KernelError(Errno.EINVAL, "sendfile to an O_APPEND file")
    if r.offset is not None and r.offset < 0:
        raise KernelError(Errno.EINVAL, "negative offset")
    count = min(r.count, MAX_RW_COUNT)
    if count == 0:
        return 0

    def attempt() -> int | None:
        at = src.offset if r.offset is None else r.offset
        done = _write_now(vfs, request, proc, r.out_fd, dst,
                          lambda n: _file_read(vfs, src, at, n),
                          min(count, CHUNK))
        if done is not None and r.offset is None:
            src.offset = at + done
        return done

    return _or_wait(vfs, request, proc, r.out_fd, dst, attempt)


def copy_file_range(vfs: Vfs, request: Request, r: abi.CopyFileRange) -> int | None:
    proc = vfs.proc(request)
    src, dst = proc.fds.get(r.in_fd), proc.fds.get(r.out_fd)
    if not src.readable() or not dst.writable():
        raise KernelError(Errno.EBADF, "copy_file_range: in not readable or out not writable")
    if dst.flags & O_APPEND:
        raise KernelError(Errno.EBADF, "copy_file_range to an O_APPEND file")
    for file in (src, dst):
        if file.kind == "node" and stat.S_ISDIR(file.fs.getattr(file.node).mode):
            raise KernelError(Errno.EISDIR, "a directory")
        _regular(file)
    if any(o is not None and o < 0 for o in (r.in_offset, r.out_offset)):
        raise KernelError(Errno.EINVAL, "negative offset")
    at = src.offset if r.in_offset is None else r.in_offset
    to = dst.offset if r.out_offset is None else r.out_offset
    count = min(r.count, MAX_RW_COUNT)
    same = src.fs is dst.fs and src.node is dst.node
    if same and at < to + count and to < at + count:
        raise KernelError(Errno.EINVAL, "overlapping ranges of one file")
    data = _file_read(vfs, src, at, min(count, CHUNK))
    done = regular.Regular.write_at(vfs, request, dst, data, to, False) if data else 0
    if r.in_offset is None:
        src.offset = at + done
    if r.out_offset is None:
        dst.offset = to + done
    return done


def _file_read(vfs: Vfs, src: OpenFile, at: int, count: int) -> bytes:
    """A copy's read of its source file: an ACCESS for inotify if it read anything (before
    the destination's MODIFY, as Linux's order is)."""
    data = regular.file_read(vfs, src.fs, src.node, at, count)
    if data and vfs.state.notify.marks:
        notify.file_event(vfs, src.walk, notify.ACCESS)
    return data


def _write_now(vfs: Vfs, request: Request, proc: Proc, fd: int, dst: OpenFile,
               read: Callable[[int], bytes], most: int) -> int | None:
    """Copy what ``dst`` takes now of the next ``most`` bytes: the count, or None when a
    pipe or socket has no room (nothing is read then)."""
    from cloudos.servers.vfs.server import KINDS

    ops = KINDS[dst.kind]
    if dst.kind in ("pipe", "socket", "inet"):
        if not ops.poll(vfs, proc, fd, dst, POLLOUT):
            return None
        data = read(most)
        if not data:
            return 0
        if dst.kind == "inet":  # (the net server's checks: unconnected, shut ...)
            return netsock.send_whole(vfs, request, dst, data)
        written = pipe.write(vfs, request, dst, data, 0, dontwait=True)
        assert written is not None  # (dontwait: never deferred)
        return written
    if dst.kind not in ("node", "console"):  # eventfd, timerfd, epoll...: no write_iter
        raise KernelError(Errno.EINVAL, f"sendfile to a {dst.kind}")
    data = read(most)
    if not data:
        return 0
    if dst.kind == "node":
        return regular.Regular.write_at(vfs, request, dst, data, dst.offset, True)
    written = ops.write(vfs, request, dst, data)
    assert written is not None  # (the console writes at once)
    return written


def _or_wait(vfs: Vfs, request: Request, proc: Proc, fd: int, dst: OpenFile,
             attempt: Callable[[], int | None]) -> int | None:
    done = attempt()
    if done is not None:
        return done
    if dst.flags & O_NONBLOCK:
        raise KernelError(Errno.EAGAIN, "no room in the pipe or socket")
    vfs.state.pollers.append((request, [(fd, POLLOUT)], proc, attempt))
    return None


# -- splice, tee, vmsplice ------------------------------------------------------------------
Attempt = Callable[[], "int | None"]  # one try at a copy: its count, or None to wait


def _pipe_of(file: OpenFile) -> Pipe | None:
    """Linux's get_pipe_info: the pipe of a pipe's or FIFO's end (a socket is no pipe here,
    whatever it is built on)."""
    return file.pipe if file.kind in ("pipe", "fifo") else None


def splice(vfs: Vfs, request: Request, r: abi.Splice) -> int | None:
    """splice(2), as Linux's __do_splice and do_splice check it: an offset beside a pipe
    is ESPIPE, an unreadable offset EFAULT, a file not open the right way EBADF, the same
    pipe at both ends or no pipe at all EINVAL."""
    proc = vfs.proc(request)
    src, dst = proc.fds.get(r.fd_in), proc.fds.get(r.fd_out)
    ipipe, opipe = _pipe_of(src), _pipe_of(dst)
    if (ipipe is not None and r.in_offset) or (opipe is not None and r.out_offset):
        raise KernelError(Errno.ESPIPE, "an offset for a pipe")
    grants = iter(request.grants)
    in_grant = next(grants) if r.in_offset else None
    out_grant = next(grants) if r.out_offset else None
    in_at, out_at = _read_offset(vfs, in_grant), _read_offset(vfs, out_grant)
    if not src.readable() or not dst.writable():
        raise KernelError(Errno.EBADF, "splice: in not readable or out not writable")
    nonblock = bool(r.flags & SPLICE_F_NONBLOCK)
    attempt: Attempt
    if ipipe is not None and opipe is not None:
        if ipipe is opipe:
            raise KernelError(Errno.EINVAL, "splice of a pipe to itself")
        nonblock |= bool((src.flags | dst.flags) & O_NONBLOCK)
        attempt = partial(_pipe_to_pipe, vfs, request, ipipe, dst, r.count, False)
    elif ipipe is not None:
        _check_offset(dst, out_at, writing=True)
        nonblock |= bool(src.flags & O_NONBLOCK)
        attempt = partial(_from_pipe, vfs, request, proc, r.fd_out, ipipe, dst, out_at,
                          r.count)
    elif opipe is not None:
        _check_offset(src, in_at, writing=False)
        nonblock |= bool((dst.flags | _socket_flags(src)) & O_NONBLOCK)
        attempt = partial(_to_pipe, vfs, request, src, opipe, dst, in_at, r.count)
    else:
        raise KernelError(Errno.EINVAL, "splice: neither file is a pipe")

    def attempt_and_move() -> int | None:
        done = attempt()
        if done:
            _move_offset(vfs, in_grant, src, in_at, done)
            _move_offset(vfs, out_grant, dst, out_at, done)
        return done
    return _until_done(vfs, request, proc, attempt_and_move, nonblock)


def _read_offset(vfs: Vfs, grant: int | None) -> int | None:
    """A loff_t the caller passed (EFAULT if its memory is not there), None without."""
    if grant is None:
        return None
    return int(struct.unpack("<q", vfs.api.copy_in(grant, 0, 8))[0])


def _move_offset(vfs: Vfs, grant: int | None, file: OpenFile, start: int | None,
                 done: int) -> None:
    """The caller's offset moves by what was copied; a device's stays, as it has no
    positions (Linux's /dev/null, /dev/zero leave ki_pos alone)."""
    if grant is None or start is None:
        return
    if stat.S_ISCHR(file.fs.getattr(file.node).mode):
        return
    vfs.api.copy_out(grant, 0, struct.pack("<q", start + done))


def tee(vfs: Vfs, request: Request, r: abi.Tee) -> int | None:
    """tee(2) (Linux's do_tee): both files pipes, and not the same one (EINVAL); the bytes
    copied stay in ``fd_in``."""
    proc = vfs.proc(request)
    src, dst = proc.fds.get(r.fd_in), proc.fds.get(r.fd_out)
    if not src.readable() or not dst.writable():
        raise KernelError(Errno.EBADF, "tee: in not readable or out not writable")
    ipipe, opipe = _pipe_of(src), _pipe_of(dst)
    if ipipe is None or opipe is None or ipipe is opipe:
        raise KernelError(Errno.EINVAL, "tee needs two different pipes")
    nonblock = bool(r.flags & SPLICE_F_NONBLOCK or (src.flags | dst.flags) & O_NONBLOCK)
    attempt = partial(_pipe_to_pipe, vfs, request, ipipe, dst, r.count, True)
    return _until_done(vfs, request, proc, attempt, nonblock)


def vmsplice(vfs: Vfs, request: Request, r: abi.Vmsplice) -> int | None:
    """vmsplice(2) (Linux's vmsplice_type, then vmsplice_to_pipe or vmsplice_to_user): the
    caller's buffers (the request's grants) into a pipe open for writing, as far as it has
    room once it has any; or out of one open for reading once it has bytes, as a readv.
    An fd open neither way is EBADF before the iovecs are looked at; any other file is
    EBADF after (and after nothing to move, 0)."""
    proc = vfs.proc(request)
    file = proc.fds.get(r.fd)
    if not file.readable() and not file.writable():
        raise KernelError(Errno.EBADF, "vmsplice: not open for reading or writing")
    if r.iov_error:
        raise KernelError(Errno(r.iov_error), "the iovec array")
    if not sum(r.lengths):
        return 0
    target = _pipe_of(file)
    if target is None:
        raise KernelError(Errno.EBADF, "vmsplice: not a pipe")
    attempt: Attempt
    if file.writable():
        data = b"".join(vfs.api.copy_in(g, 0, n) for g, n in zip(request.grants, r.lengths))
        attempt = partial(_into_pipe, vfs, request, file, target, lambda n: data[:n],
                          len(data))
    else:
        attempt = partial(_to_user, vfs, request, target, r.lengths)
    return _until_done(vfs, request, proc, attempt, bool(r.flags & SPLICE_F_NONBLOCK))


def _check_offset(file: OpenFile, offset: int | None, writing: bool) -> None:
    """The file at a pipe's other end: one that reads or writes by splice (Linux's
    splice_read, splice_write: a regular file or a device, a socket, the console for
    writing; not a directory), an offset only for a file with pread/pwrite, never
    O_APPEND when written."""
    node = file.kind == "node" and not stat.S_ISDIR(file.fs.getattr(file.node).mode)
    if writing:  # (an internet socket's checks are the net server's, as sendfile's)
        spliceable = file.kind in ("console", "inet") or file.kind == "socket" and \
            file.tx is not None
    else:  # a connected AF_UNIX socket's incoming bytes (not yet an internet socket's)
        spliceable = file.kind == "socket" and file.pipe is not None
    if not node and not spliceable:
        raise KernelError(Errno.EINVAL, f"splice with a {file.kind}")
    if offset is not None and not node:
        raise KernelError(Errno.EINVAL, "an offset for a file without pread/pwrite")
    if writing and file.flags & O_APPEND:
        raise KernelError(Errno.EINVAL, "splice to an O_APPEND file")
    if offset is not None and offset < 0:
        raise KernelError(Errno.EINVAL, "negative offset")


def _socket_flags(file: OpenFile) -> int:
    """A socket read by splice waits or not by its own O_NONBLOCK too."""
    return file.flags if file.kind in ("socket", "inet") else 0


def _until_done(vfs: Vfs, request: Request, proc: Proc, attempt: Attempt,
                nonblock: bool) -> int | None:
    """Run ``attempt`` now; if it must wait, EAGAIN when nonblocking, else park it among
    the pollers, which run it again at each change until it answers."""
    done = attempt()
    if done is not None:
        return done
    if nonblock:
        raise KernelError(Errno.EAGAIN, "splice would wait")
    vfs.state.pollers.append((request, [], proc, attempt))
    return None


def _source_empty(source: Pipe) -> int | None:
    """What a splice out of an empty pipe answers: 0 (end of file) when no writer is left,
    else None (it waits)."""
    return 0 if source.writers == 0 or source.readers == 0 else None


def _pipe_to_pipe(vfs: Vfs, request: Request, ipipe: Pipe, dst: OpenFile, count: int,
                  keep: bool) -> int | None:
    """Linux's splice_pipe_to_pipe (``keep``: link_pipe, tee's): once ``ipipe`` has bytes,
    as many as ``dst``'s pipe has room for."""
    if not ipipe.buffer:
        return _source_empty(ipipe)
    data = bytes(ipipe.buffer[:count])
    done = _into_pipe(vfs, request, dst, dst.pipe, lambda n: data[:n], len(data))
    if done and not keep:
        _consume(vfs, ipipe, done)
    return done


def _into_pipe(vfs: Vfs, request: Request, dst: OpenFile, opipe: Pipe | None,
               take: Callable[[int], bytes], most: int) -> int | None:
    """Linux's wait_for_space, then the bytes ``take`` gives of what fits: EPIPE (and
    SIGPIPE, by the personality) with no reader, None while the pipe is full."""
    assert opipe is not None
    if opipe.readers == 0:
        raise KernelError(Errno.EPIPE, "no reader")
    space = pipe.room(opipe, most)
    if space == 0:
        return None
    data = take(min(most, space))
    if not data:
        return 0
    written = pipe.write(vfs, request, dst, data, 0, dontwait=True)
    assert written == len(data)  # (it fits: no wait, nothing left over)
    return written


def _consume(vfs: Vfs, source: Pipe, count: int) -> bytes:
    """Take up to ``count`` bytes out of a pipe (or a socket's incoming pipe, a message at
    most) for a splice."""
    data, passed = pipe.take(source, count)
    for file in passed:  # (files passed with those bytes go nowhere: no recvmsg took them)
        vfs.unref(file)
    pipe.changed(vfs, source)
    pipe.signal_async(vfs, source.async_writers)
    return data


def _from_pipe(vfs: Vfs, request: Request, proc: Proc, fd: int, ipipe: Pipe, dst: OpenFile,
               offset: int | None, count: int) -> int | None:
    """A pipe's bytes to a file or socket (Linux's splice_from_pipe_next waits for them):
    as many as it takes now, taken out of the pipe."""
    if not ipipe.buffer:
        return _source_empty(ipipe)
    data = bytes(ipipe.buffer[:count])
    if dst.kind == "node":
        at = dst.offset if offset is None else offset
        done: int | None = regular.Regular.write_at(vfs, request, dst, data, at, offset is None)
    else:
        done = _write_now(vfs, request, proc, fd, dst, lambda n: data[:n], len(data))
    if done:
        _consume(vfs, ipipe, done)
    return done


def _to_pipe(vfs: Vfs, request: Request, src: OpenFile, opipe: Pipe, dst: OpenFile,
             offset: int | None, count: int) -> int | None:
    """A file's or socket's bytes into a pipe once it has room (Linux's splice_file_to_pipe):
    a regular file's from ``offset`` (None: its position, which moves), a socket's as
    they come."""
    if src.kind == "node":
        at = src.offset if offset is None else offset

        def read(n: int) -> bytes:
            data = _file_read(vfs, src, at, n)
            if offset is None:
                src.offset = at + len(data)
            return data
        return _into_pipe(vfs, request, dst, opipe, read, count)
    source = src.pipe
    assert source is not None  # (_check_offset: a socket with an incoming pipe)
    if not source.readable():
        return _source_empty(source)
    return _into_pipe(vfs, request, dst, opipe, partial(_consume, vfs, source), count)


def _to_user(vfs: Vfs, request: Request, source: Pipe, lengths: list[int]) -> int | None:
    """vmsplice out of a pipe: its bytes into the caller's buffers, once it has any."""
    if not source.buffer:
        return _source_empty(source)
    data = bytes(source.buffer[:sum(lengths)])
    scatter(vfs.api, request.grants, data, lengths)  # (EFAULT here leaves the pipe as it was)
    return len(_consume(vfs, source, len(data)))
