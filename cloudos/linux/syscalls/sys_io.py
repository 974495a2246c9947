"""Console I/O: read(2), write(2), readv(2), writev(2), fstat(2) on fds 0, 1 and 2.

The console fds pass through to the host's stdin, stdout and stderr. Files,
pipes and the fd table come with the VFS server (issue 5); until then any
other fd is EBADF.
"""

import os
import struct

from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.task import Thread
from cloudos.linux.syscalls.args import host_error, s32

CONSOLE_FDS = (0, 1, 2)
IOV_MAX = 1024
MAX_RW = 0x7FFF_F000  # Linux caps one read or write at this many bytes
IOVEC = struct.Struct("<QQ")
# struct stat on x86_64: dev, ino, nlink, mode, uid, gid, pad, rdev, size, blksize, blocks,
# then atime, mtime, ctime as (sec, nsec) pairs and three reserved longs.
STAT = struct.Struct("<QQQIIIiQqqq" + "qq" * 3 + "qqq")
AT_EMPTY_PATH = 0x1000


def _console(fd: int) -> int:
    fd = s32(fd)
    if fd not in CONSOLE_FDS:
        raise KernelError(Errno.EBADF, f"fd {fd}")
    return fd


def _host_write(fd: int, data: bytes) -> int:
    try:
        return os.write(fd, data)
    except OSError as err:
        raise host_error(err) from None


def sys_write(t: Thread, fd: int, buf: int, count: int, *_: int) -> int:
    """Implements Linux write(2)."""
    fd = _console(fd)
    data = t.process.aspace.copy_in(buf, min(count, MAX_RW))
    return _host_write(fd, data) if data else 0


def sys_read(t: Thread, fd: int, buf: int, count: int, *_: int) -> int:
    """Implements Linux read(2)."""
    fd = _console(fd)
    count = min(count, MAX_RW, 1 << 20)
    if count == 0:
        return 0
    aspace = t.process.aspace
    aspace.user_frame(buf, True)  # fail before consuming input that could not be stored
    try:
        data = os.read(fd, count)
    except OSError as err:
        raise host_error(err) from None
    aspace.copy_out(buf, data)
    return len(data)


def _iovecs(t: Thread, iov: int, iovcnt: int) -> list[tuple[int, int]]:
    iovcnt = s32(iovcnt)
    if not 0 <= iovcnt <= IOV_MAX:
        raise KernelError(Errno.EINVAL, f"iovcnt {iovcnt}")
    raw = t.process.aspace.copy_in(iov, IOVEC.size * iovcnt)
    vecs = [IOVEC.unpack_from(raw, i * IOVEC.size) for i in range(iovcnt)]
    if sum(length for _, length in vecs) > MAX_RW or any(length >> 63 for _, length in vecs):
        raise KernelError(Errno.EINVAL, "iovec lengths overflow")
    return vecs


def sys_writev(t: Thread, fd: int, iov: int, iovcnt: int, *_: int) -> int:
    """Implements Linux writev(2)."""
    fd = _console(fd)
    aspace = t.process.aspace
    data = b"".join(aspace.copy_in(base, length) for base, length in _iovecs(t, iov, iovcnt))
    return _host_write(fd, data) if data else 0


def sys_readv(t: Thread, fd: int, iov: int, iovcnt: int, *_: int) -> int:
    """Implements Linux readv(2): one host read, scattered over the buffers."""
    fd = _console(fd)
    vecs = [(base, length) for base, length in _iovecs(t, iov, iovcnt) if length]
    if not vecs:
        return 0
    aspace = t.process.aspace
    aspace.user_frame(vecs[0][0], True)
    try:
        data = os.read(fd, min(sum(length for _, length in vecs), 1 << 20))
    except OSError as err:
        raise host_error(err) from None
    done = 0
    for base, length in vecs:
        piece = data[done:done + length]
        aspace.copy_out(base, piece)
        done += len(piece)
    return done


def _stat_console(t: Thread, fd: int, buf: int) -> int:
    try:
        st = os.fstat(fd)
    except OSError as err:
        raise host_error(err) from None
    raw = STAT.pack(st.st_dev, st.st_ino, st.st_nlink, st.st_mode, st.st_uid, st.st_gid, 0,
                    st.st_rdev, st.st_size, st.st_blksize, st.st_blocks,
                    int(st.st_atime), st.st_atime_ns % 10**9, int(st.st_mtime),
                    st.st_mtime_ns % 10**9, int(st.st_ctime), st.st_ctime_ns % 10**9, 0, 0, 0)
    t.process.aspace.copy_out(buf, raw)
    return 0


def sys_fstat(t: Thread, fd: int, buf: int, *_: int) -> int:
    """Implements Linux fstat(2) for the console fds."""
    return _stat_console(t, _console(fd), buf)


def sys_newfstatat(t: Thread, dirfd: int, path: int, buf: int, flags: int, *_: int) -> int:
    """Implements Linux newfstatat(2) with AT_EMPTY_PATH on the console fds (fstat's form)."""
    if not flags & AT_EMPTY_PATH or t.process.aspace.copy_string(path) != b"":
        raise KernelError(Errno.ENOSYS, "path lookup needs the VFS server (issue 5)")
    return _stat_console(t, _console(dirfd), buf)
