"""Open file system nodes: regular files, directories and device nodes opened by path.

Owns: the open-file operations of a node (reads and writes at the file's offset or
a given one, O_APPEND, RLIMIT_FSIZE's short write and EFBIG, seeking, FIONREAD,
and the path /proc shows), memfds (an unnamed regular file in memory), and the
files mapped MAP_SHARED: the personality lends the mapping's pages (MapAttach) and
they are the file's newest bytes, so reads, writes and truncation of the file go
through them, and its last unmap writes them back (MapSync). A mapping's bytes are
read here too (MmapRead).
Never: resolves paths (``server`` and ``paths`` do); touches guest memory except
through a request's grants and the mapping grants the personality lent.
Called by: ``vfs.server``.
"""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING, Any

from cloudos.abi import vfs as abi
from cloudos.abi.dataclass import dataclass
from cloudos.abi.vfs import MappedFile, Sharing
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files, notify
from cloudos.servers.vfs.devfs import DevFs
from cloudos.servers.vfs.fileops import FileOps, scatter
from cloudos.servers.vfs.files import O_APPEND, OpenFile
from cloudos.servers.vfs.fs import Attr, FileSystem, Node
from cloudos.servers.vfs.paths import Step, path_of

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

MFD_CLOEXEC, MFD_ALLOW_SEALING, MEMFD_NAME_MAX = 1, 2, 249
SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4
POLLIN, POLLOUT = 1, 4
IMAGE_MAX = 16 << 20  # a private mapping of a file this large at most is read whole, once
SYNC_PIECE = 64 << 10  # a shared mapping goes back to its file in pieces (tmpfs's chunks)


@dataclass
class Mapped:
    """A file with a shared mapping: the grant on its pages [0, length) (see linux/sharedfiles)."""

    fs: FileSystem
    node: Node
    grant: int = 0
    length: int = 0


def mmap_read(vfs: Vfs, request: Request, r: abi.MmapRead) -> MappedFile:
    """The bytes behind a file mapping (mmap of a regular file opened for reading).

    A shared mapping gets the file from its start, and the file is noted as
    mapped: its pages arrive with MapAttach.
    """
    file = vfs.proc(request).fds.get(r.fd)
    if file.kind != "node" or file.walk is None:
        raise KernelError(Errno.ENODEV, "only regular files can be mapped")
    fs, node = file.fs, file.node
    a = fs.getattr(node)  # (read once: the checks and the identity below)
    if not stat.S_ISREG(a.mode):  # (/proc/<pid>/mem too)
        raise KernelError(Errno.ENODEV, "only regular files can be mapped")
    if not file.readable() or r.sharing == Sharing.SHARED_WRITE and not file.writable():
        raise KernelError(Errno.EACCES, "file not open for reading (and writing)")
    if min(a.size, r.offset + r.length) - (0 if r.sharing else r.offset) > vfs.state.map_limit:
        # its pages are read now, all of them: more than the machine's RAM never fits
        raise KernelError(Errno.ENOMEM, "more of the file than the machine has RAM")
    if r.sharing:
        vfs.state.mapped.setdefault((a.dev, a.ino), Mapped(fs, node))
        return MappedFile(file_read(vfs, fs, node, 0, r.offset + r.length), (a.dev, a.ino),
                          file.writable(), path_of(file.walk))
    ident = (a.dev, a.ino, a.size, a.mtime_ns)
    if 0 < a.size <= IMAGE_MAX and (a.dev, a.ino) not in vfs.state.mapped:
        # (a library: ld.so maps it whole, then each segment from its offset)
        data: bytes | memoryview = vfs.image_bytes(fs, node, ident)
        if r.offset or r.length < len(data):
            data = memoryview(data)[r.offset:r.offset + r.length]
    else:
        data = file_read(vfs, fs, node, r.offset, r.length)
    return MappedFile(data, ident, path=path_of(file.walk))


def map_attach(vfs: Vfs, request: Request, r: abi.MapAttach) -> None:
    mapped = vfs.state.mapped.get(r.key)
    if mapped is not None:
        mapped.grant, mapped.length = request.grants[0], r.length


def map_sync(vfs: Vfs, request: Request, r: abi.MapSync) -> None:
    """Write a mapping's pages to the file (what lies past its end is dropped): only the
    pieces that changed, so that a sparse file's holes the guest left alone stay holes."""
    mapped = vfs.state.mapped.pop(r.key, None) if r.final else vfs.state.mapped.get(r.key)
    if mapped is None or r.data is None:
        return
    size = min(mapped.fs.getattr(mapped.node).size, len(r.data))
    old, new = mapped.fs.read(mapped.node, 0, size), r.data
    if old == new[:size]:
        return
    run = None  # where the changed pieces being gathered start
    for at in range(0, size + SYNC_PIECE, SYNC_PIECE):
        changed = at < size and old[at:at + SYNC_PIECE] != new[at:min(at + SYNC_PIECE, size)]
        if changed and run is None:
            run = at
        elif not changed and run is not None:
            mapped.fs.write(mapped.node, run, new[run:min(at, size)])
            run = None


def _mapping(vfs: Vfs, fs: FileSystem, node: Node) -> Mapped | None:
    if not vfs.state.mapped:
        return None
    a = fs.getattr(node)
    mapped = vfs.state.mapped.get((a.dev, a.ino))
    return mapped if mapped is not None and mapped.grant else None


def file_read(vfs: Vfs, fs: FileSystem, node: Node, at: int, count: int) -> bytes:
    """Read a regular file; where it is mapped shared, the mapped pages are the truth."""
    data = fs.read(node, at, count)
    mapped = _mapping(vfs, fs, node)
    if mapped is not None and at < mapped.length and data:
        try:
            newer = vfs.api.copy_in(mapped.grant, at, min(len(data), mapped.length - at))
        except KernelError:  # the last mapping went: its pages are in MapSync, on the way
            return data
        data = newer + data[len(newer):]
    return data


def _file_write(vfs: Vfs, fs: FileSystem, node: Node, at: int, data: bytes) -> int:
    written = fs.write(node, at, data)
    mapped = _mapping(vfs, fs, node)
    if mapped is not None and at < mapped.length:
        _to_mapping(vfs, mapped, at, data[:min(written, mapped.length - at)])
    return written


def punch_hole(vfs: Vfs, fs: FileSystem, node: Node, at: int, length: int) -> None:
    """fallocate's PUNCH_HOLE: [at, at + length) of the file reads back zeros, its mapped
    pages included."""
    fs.punch_hole(node, at, length)
    mapped = _mapping(vfs, fs, node)
    if mapped is not None and at < mapped.length:
        _to_mapping(vfs, mapped, at, bytes(min(length, mapped.length - at)))


def truncate(vfs: Vfs, fs: FileSystem, node: Node, length: int) -> None:
    fs.truncate(node, length)
    mapped = _mapping(vfs, fs, node)
    if mapped is not None and length < mapped.length:  # the cut pages read back zero
        _to_mapping(vfs, mapped, length, bytes(mapped.length - length))


def _to_mapping(vfs: Vfs, mapped: Mapped, at: int, data: bytes) -> None:
    try:
        vfs.api.copy_out(mapped.grant, at, data)
    except KernelError:
        pass  # the last mapping went: the file itself has the bytes


def memfd_create(vfs: Vfs, request: Request, r: abi.MemfdCreate) -> int:
    """An anonymous regular file in memory (/memfd:NAME), open for reading and writing."""
    if r.flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING) or len(r.name) > MEMFD_NAME_MAX:
        raise KernelError(Errno.EINVAL, f"memfd_create flags {r.flags:#x}")
    fs = vfs.state.memfds
    node = fs.create(fs.root(), b"m", 0o777, *vfs.owner())
    fs.unlink(fs.root(), b"m")  # linked for a moment only: a memfd has no name
    walk = (Step(b"", fs, fs.root()), Step(b"memfd:" + r.name + b" (deleted)", fs, node))
    file = OpenFile("node", files.O_RDWR, walk)
    return vfs.proc(request).fds.install(file, bool(r.flags & MFD_CLOEXEC))


class Regular(FileOps):
    """The node kind of open file: a file system node opened by path."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> int:
        if stat.S_ISDIR(file.fs.getattr(file.node).mode):
            raise KernelError(Errno.EISDIR, "read of a directory")
        data = file_read(vfs, file.fs, file.node, file.offset, count)
        file.offset += len(data)
        vfs.api.copy_out(grant, 0, data)
        if data and vfs.state.notify.marks:
            notify.file_event(vfs, file.walk, notify.ACCESS)
        return len(data)

    def pread(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any,
              offset: int, lengths: list[int] | None = None) -> int:
        if offset < 0:
            raise KernelError(Errno.EINVAL)
        vfs.check_readable(file)
        if stat.S_ISDIR(file.fs.getattr(file.node).mode):
            raise KernelError(Errno.EISDIR, "read of a directory")
        data = file_read(vfs, file.fs, file.node, offset, count)
        scatter(vfs.api, grant, data, lengths)
        if data and vfs.state.notify.marks:
            notify.file_event(vfs, file.walk, notify.ACCESS)
        return len(data)

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int:
        if file.flags & O_APPEND:
            file.offset = file.fs.getattr(file.node).size
        written = self._write(vfs, request, file, data, file.offset)
        file.offset += written
        return written

    def pwrite(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
               offset: int, lengths: list[int] | None = None) -> int:
        if offset < 0:
            raise KernelError(Errno.EINVAL)
        data = (vfs.api.copy_in(request.grants[0], 0, count) if lengths is None else
                b"".join(vfs.api.copy_in(g, 0, n) for g, n in zip(request.grants, lengths)))
        vfs.check_writable(file)
        return self._write(vfs, request, file, data, offset)

    @staticmethod
    def write_at(vfs: Vfs, request: Request, file: OpenFile, data: bytes, at: int,
                 moves: bool) -> int:
        """Write ``data`` at ``at`` of a file open for writing (``moves``: and advance its
        position, as write(2) does)."""
        if stat.S_ISDIR(file.fs.getattr(file.node).mode):
            raise KernelError(Errno.EISDIR, "a directory")
        written = Regular._write(vfs, request, file, data, at)
        if moves:
            file.offset = at + written
        return written

    @staticmethod
    def _write(vfs: Vfs, request: Request, file: OpenFile, data: bytes, at: int) -> int:
        fs, node = file.fs, file.node
        limit = vfs.state.fsize_limit(request.sender)  # RLIMIT_FSIZE, of regular files
        if data and at + len(data) > limit and stat.S_ISREG(fs.getattr(node).mode):
            if at >= limit:  # (the personality raises SIGXFSZ)
                raise KernelError(Errno.EFBIG, "at RLIMIT_FSIZE")
            data = data[:limit - at]  # a short write, up to the limit
        written = _file_write(vfs, fs, node, at, data)
        if written and vfs.state.notify.marks:
            notify.file_event(vfs, file.walk, notify.MODIFY)
        return written

    def resize(self, vfs: Vfs, request: Request, file: OpenFile, length: int) -> None:
        if not stat.S_ISREG(file.fs.getattr(file.node).mode):
            raise KernelError(Errno.EINVAL, "ftruncate of what is not a regular file")
        if length > vfs.state.fsize_limit(request.sender):
            raise KernelError(Errno.EFBIG, "beyond RLIMIT_FSIZE")
        truncate(vfs, file.fs, file.node, length)
        notify.file_event(vfs, file.walk, notify.MODIFY)

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        return (POLLIN | POLLOUT) & events  # files and directories are always ready

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        if isinstance(file.fs, DevFs):
            # /dev/console (opened as a device node when the host's stdin is no terminal)
            # is a terminal still, which Linux does not seek; its memory devices
            # stay at 0 whatever the call (null_lseek, noop_llseek)
            if file.fs.is_terminal(file.node):
                raise KernelError(Errno.ESPIPE, "a terminal is not seekable")
            file.offset = 0
            return 0
        if whence in (SEEK_DATA, SEEK_HOLE):
            return self._seek_data(file, offset, whence)
        base = {SEEK_SET: 0, SEEK_CUR: file.offset}.get(whence)
        if whence == SEEK_END:
            base = file.fs.getattr(file.node).size
        if base is None:
            raise KernelError(Errno.EINVAL, f"whence {whence}")
        if base + offset < 0:
            raise KernelError(Errno.EINVAL, "negative offset")
        file.offset = base + offset
        file.listing = None if file.offset == 0 else file.listing
        return file.offset

    @staticmethod
    def _seek_data(file: OpenFile, offset: int, whence: int) -> int:
        """SEEK_DATA and SEEK_HOLE, as the file system knows its holes."""
        if not stat.S_ISREG(file.fs.getattr(file.node).mode):
            raise KernelError(Errno.EINVAL, "SEEK_DATA/SEEK_HOLE of a non-regular file")
        file.offset = file.fs.seek_data(file.node, offset, whence == SEEK_DATA)
        return file.offset

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        return max(0, file.fs.getattr(file.node).size - file.offset)

    def stat(self, file: OpenFile) -> Attr:
        return file.fs.getattr(file.node)

    def path(self, file: OpenFile) -> bytes:
        assert file.walk is not None
        return path_of(file.walk)
