"""The interface between the VFS and the file systems it mounts.

Owns: ``Attr`` (what stat(2) reports), ``Node`` (a file in some file system),
the ``FileSystem`` operations every file system implements, and what they all
share: directory-entry types, statfs magic numbers, st_dev numbering and the
check that a name is one component. Names are ``bytes``, as Linux's are;
errors are ``KernelError`` with Linux's error numbers.
Never: resolves a path, sees ``.`` or ``..``, follows a symlink (the VFS does
all three, in ``paths``), or knows about fds, processes or mounts.
Called by: ``vfs.paths`` and ``vfs.server``; implemented by ``tmpfs``,
``hostfs`` and ``overlay``.

A node stays the same object while someone holds it: looking the same name up
again returns that object, so the VFS may compare nodes with ``is``.
"""

from __future__ import annotations

import itertools
import stat
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum

from cloudos.errno import Errno, KernelError

NAME_MAX = 255       # bytes in one name
SYMLINK_MAX = 4095   # bytes in a symlink's target (PATH_MAX less the NUL)


@dataclass(slots=True)
class Attr:
    """What stat(2) reports about a node."""

    ino: int
    mode: int        # S_IF* type bits | permission bits
    nlink: int
    uid: int
    gid: int
    size: int
    rdev: int
    blksize: int
    blocks: int      # in 512-byte units
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    dev: int


class DType(IntEnum):
    """Directory-entry types of getdents64's d_type."""

    FIFO = 1
    CHR = 2
    DIR = 4
    BLK = 6
    REG = 8
    LNK = 10
    SOCK = 12


_DTYPE_OF_FORMAT = {
    stat.S_IFIFO: DType.FIFO, stat.S_IFCHR: DType.CHR, stat.S_IFDIR: DType.DIR,
    stat.S_IFBLK: DType.BLK, stat.S_IFREG: DType.REG, stat.S_IFLNK: DType.LNK,
    stat.S_IFSOCK: DType.SOCK,
}


def dtype(mode: int) -> DType:
    """The d_type of a node whose st_mode is ``mode``."""
    return _DTYPE_OF_FORMAT[stat.S_IFMT(mode)]


class Magic(IntEnum):
    """statfs(2) f_type of each file system (linux/magic.h)."""

    TMPFS = 0x01021994
    HOSTFS = 0x00C0FFEE
    OVERLAYFS = 0x794C7630


StatFs = tuple[int, int, int, int, int, int]  # f_type, bsize, blocks, bfree, files, ffree

_devs = itertools.count(1)  # anonymous devices, as Linux numbers them for tmpfs and overlay


def check_name(name: bytes) -> None:
    """Refuses anything but a single path component.

    The VFS never passes b"", b".", b"..", or a name containing b"/"; a file
    system checks anyway because a bad name is how a path would escape it.
    EINVAL for those and for NUL (which no Linux name contains).
    """
    if name in (b"", b".", b"..") or b"/" in name or b"\0" in name:
        raise KernelError(Errno.EINVAL, f"not a single name: {name!r}")
    if len(name) > NAME_MAX:
        raise KernelError(Errno.ENAMETOOLONG, "name longer than 255 bytes")


def check_target(target: bytes) -> None:
    """Refuses a symlink target Linux would: empty (ENOENT), with a NUL, or too long."""
    if not target:
        raise KernelError(Errno.ENOENT, "empty symlink target")
    if b"\0" in target:
        raise KernelError(Errno.EINVAL, "NUL in symlink target")
    if len(target) > SYMLINK_MAX:
        raise KernelError(Errno.ENAMETOOLONG, "symlink target too long")


class Node:
    """A file in some file system; each file system subclasses it."""

    __slots__ = ("fs", "ino", "__weakref__")

    def __init__(self, fs: FileSystem, ino: int) -> None:
        self.fs = fs
        self.ino = ino


class FileSystem(ABC):
    """The operations the VFS calls; every mutating one raises EROFS when ``readonly``."""

    name: str
    source = ""  # what /proc/mounts names as its source ("": its type's usual name)
    options = ""  # its mount options, after "rw" or "ro", as /proc/mounts shows them

    def __init__(self, readonly: bool) -> None:
        self.readonly = readonly
        self.dev = next(_devs)  # st_dev of every node, unique per instance

    def _check_writable(self) -> None:
        if self.readonly:
            raise KernelError(Errno.EROFS, f"{self.name} is mounted read-only")

    def close(self) -> None:
        """Releases what the instance holds on the host; umount calls it."""

    @abstractmethod
    def root(self) -> Node: ...

    @abstractmethod
    def getattr(self, node: Node) -> Attr: ...

    @abstractmethod
    def lookup(self, dir: Node, name: bytes) -> Node:
        """The entry ``name`` of ``dir``, not following it if a symlink; ENOENT, ENOTDIR."""

    @abstractmethod
    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        """(name, ino, d_type) of each entry, without . and ..; ENOTDIR."""

    @abstractmethod
    def readlink(self, node: Node) -> bytes:
        """A symlink's target; EINVAL for anything else."""

    def magic_link(self, node: Node) -> bool:
        """Whether ``node`` is a magic link (/proc/<pid>/fd/N, exe, cwd, root, ns/*): a
        link to an object, not a path (openat2's RESOLVE_NO_MAGICLINKS refuses them)."""
        return False

    @abstractmethod
    def read(self, node: Node, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset``; EISDIR on a directory."""

    @abstractmethod
    def write(self, node: Node, offset: int, data: bytes) -> int:
        """Writes at ``offset`` (a gap past the end reads as zeros); returns the count."""

    @abstractmethod
    def truncate(self, node: Node, size: int) -> None: ...

    @abstractmethod
    def create(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        """A new regular file; EEXIST."""

    @abstractmethod
    def mkdir(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node: ...

    @abstractmethod
    def symlink(self, dir: Node, name: bytes, target: bytes, uid: int, gid: int) -> Node: ...

    @abstractmethod
    def mknod(self, dir: Node, name: bytes, mode: int, rdev: int, uid: int, gid: int) -> Node:
        """A fifo, socket or device node (or a regular file, as mknod(2) allows)."""

    @abstractmethod
    def link(self, node: Node, dir: Node, name: bytes) -> None:
        """A new name for ``node``; EPERM for a directory, EEXIST."""

    @abstractmethod
    def unlink(self, dir: Node, name: bytes) -> None:
        """Removes a name; EISDIR for a directory, as Linux's unlink(2) does."""

    @abstractmethod
    def rmdir(self, dir: Node, name: bytes) -> None:
        """Removes an empty directory; ENOTDIR, ENOTEMPTY."""

    @abstractmethod
    def rename(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        """rename(2) within this file system, replacing ``newname`` if it exists."""

    def seek_data(self, node: Node, offset: int, data: bool) -> int:
        """lseek's SEEK_DATA (``data``) or SEEK_HOLE from ``offset`` in a regular file: a
        file system that keeps no holes has data everywhere below the size and one hole at
        the end; ENXIO at or past the end, as Linux."""
        size = self.getattr(node).size
        if offset < 0 or offset >= size:
            raise KernelError(Errno.ENXIO, "at or past the end of the file")
        return offset if data else size

    def relink(self, node: Node, dir: Node, name: bytes) -> None:
        """A name for ``node``, which has none left: an O_TMPFILE file linked with linkat
        (Linux's I_LINKABLE). A file system without O_TMPFILE has no such file: ENOENT."""
        raise KernelError(Errno.ENOENT, "file has been removed")

    def exchange(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        """renameat2(2)'s RENAME_EXCHANGE: the two names, which both exist, swap their files
        at once; a file system that cannot says EINVAL, as Linux's do."""
        raise KernelError(Errno.EINVAL, f"{self.name} cannot exchange names")

    @abstractmethod
    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        """chmod, chown, utimensat and truncate in one; ``mode`` keeps the type bits."""

    @abstractmethod
    def statfs(self) -> StatFs: ...
