"""Copies between open files inside the VFS: sendfile(2) and copy_file_range(2).

Owns: the checks Linux makes of the two files and the copy itself, from a regular file
to any writable file (sendfile) or to another regular file (copy_file_range). A copy
into a pipe or socket takes what fits now; with no room, a blocking one waits for the
file to become writable (a poller of server.py) without having read anything, so a
signal then ends it with nothing copied and no offset moved.
Never: copies through the caller's memory (the bytes stay in the server).
Called by: the VFS server's dispatch (server.py).
"""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING, Callable

from cloudos.abi import vfs as abi
from cloudos.errno import Errno, KernelError
from cloudos.servers.runtime import Request
from cloudos.servers.vfs import netsock, pipe, regular
from cloudos.servers.vfs.files import O_APPEND, O_NONBLOCK, OpenFile

if TYPE_CHECKING:
    from cloudos.servers.vfs.server import Proc, Vfs

MAX_RW_COUNT = 0x7FFF_F000  # Linux's cap on one read or write
CHUNK = 1 << 20  # bytes read from the source per step (a short count is allowed)
POLLOUT = 4


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
                          lambda n: regular.file_read(vfs, src.fs, src.node, at, n),
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
    data = regular.file_read(vfs, src.fs, src.node, at, min(count, CHUNK))
    done = regular.Regular.write_at(vfs, request, dst, data, to, False) if data else 0
    if r.in_offset is None:
        src.offset = at + done
    if r.out_offset is None:
        dst.offset = to + done
    return done


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
