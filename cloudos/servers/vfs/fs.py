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

The walk cache (Linux's dcache, for ``paths`` only): each file system remembers
the names it was asked to look up (the node found, or that there was none), the
attributes of the nodes a walk went through and the targets of the symlinks it
followed, for as long as its ``cache_ttl_ns`` says (None: never, for a file
system whose entries change by themselves, as /proc's do), and until the file
system changes: every change it makes (create ... setattr, ``CHANGES``) empties
its cache, whatever its class, and the caches of every file system layered on it
(``watch``), so a change made through any mount of a file system is seen at once
through all of them. What changes behind the VFS's back (the host's files under a
hostfs) is seen when the entry expires.
"""

from __future__ import annotations

import functools
import itertools
import stat
import time
import weakref
from abc import ABC, abstractmethod
from typing import Any, Callable

from cloudos.abi.dataclass import dataclass
from cloudos.abi.enums import IntEnum
from cloudos.errno import Errno, KernelError

NAME_MAX = 255       # bytes in one name
SYMLINK_MAX = 4095   # bytes in a symlink's target (PATH_MAX less the NUL)
MAX_FILE_SIZE = (1 << 63) - 1  # bytes in the largest file (MAX_LFS_FILESIZE)
ZERO_PIECE = 1 << 20  # bytes of zeros a hole punched by writing is written in at a time
UNTIL_CHANGED = 1 << 62  # a cache_ttl_ns: good until the file system changes (~146 years)
# (an entry's expiry at or past it was made with that ttl: good with no look at the clock)
CACHE_MAX = 8192     # entries one file system's walk cache holds before it starts again
# The operations that change what a walk sees (names, kinds, modes, owners): each empties
# the walk cache of its file system (FileSystem.__init_subclass__ sees to it).
CHANGES = ("create", "mkdir", "symlink", "mknod", "link", "relink", "unlink", "rmdir",
           "rename", "exchange", "setattr")


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


# The types mount(2) takes (servers/vfs/mounts.py; /proc/filesystems lists them), in
# the order Linux registers them: none is on a device
MOUNTABLE = ("sysfs", "tmpfs", "proc", "devtmpfs", "devpts")

# f_type, bsize, blocks, bfree, bavail (free to unprivileged users), files, ffree
StatFs = tuple[int, int, int, int, int, int, int]

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


def _counted(change: Callable[..., Any]) -> Callable[..., Any]:
    """``change``, then ``changed()`` once it has run (or failed part-way: a host rename
    may have happened before an error)."""
    @functools.wraps(change)
    def counted(self: FileSystem, *args: Any, **kwargs: Any) -> Any:
        try:
            return change(self, *args, **kwargs)
        finally:
            self.changed()
    return counted


class FileSystem(ABC):
    """The operations the VFS calls; every mutating one raises EROFS when ``readonly``."""

    name: str
    source = ""  # what /proc/mounts names as its source ("": its type's usual name)
    options = ""  # its mount options, after "rw" or "ro", as /proc/mounts shows them
    # how long a walk may trust what it learnt here, in ns (None: never)
    cache_ttl_ns: int | None = None
    cache_clock: Callable[[], int] = staticmethod(time.monotonic_ns)  # the walk cache's

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """No walk cache outlives a change: every CHANGES method a class defines calls
        ``changed`` (a class cannot forget to)."""
        super().__init_subclass__(**kwargs)
        for name in CHANGES:
            if name in cls.__dict__:
                setattr(cls, name, _counted(cls.__dict__[name]))

    def __init__(self, readonly: bool) -> None:
        self.readonly = readonly
        self.dev = next(_devs)  # st_dev of every node, unique per instance
        self.changes = 0  # CHANGES made here or below
        self._watchers: weakref.WeakSet[FileSystem] = weakref.WeakSet()  # layered on it
        # the walk cache, emptied by every change: (dir, name) -> (node or None for
        # ENOENT, expiry) and node -> (attributes, expiry)
        self._names: dict[tuple[Node, bytes], tuple[Node | None, int]] = {}
        self._attrs: dict[Node, tuple[Attr, int]] = {}
        self._links: dict[Node, tuple[bytes, int]] = {}  # symlink -> (target, expiry)

    def watch(self, layered: FileSystem) -> None:
        """``layered`` shows this file system's files (a layer, an inner one): every change
        here is one of its too."""
        self._watchers.add(layered)

    def changed(self) -> None:
        """Counts a change and forgets what walks learnt, here and in every file system
        layered on this one (which also lets go of the nodes: a removed tmpfs file's bytes
        stay charged while anything holds its node)."""
        self.changes += 1
        self._names.clear()
        self._attrs.clear()
        self._links.clear()
        for layered in self._watchers:
            layered.changed()

    def walk_lookup(self, dir: Node, name: bytes) -> Node:
        """``lookup`` through the walk cache: a name looked up before is not asked again
        while the file system is unchanged and the entry young (ENOENT included)."""
        key = (dir, name)
        hit = self._names.get(key)
        if hit is not None and (hit[1] >= UNTIL_CHANGED or hit[1] > self.cache_clock()):
            if hit[0] is None:
                raise KernelError(Errno.ENOENT, f"no entry {name!r}")
            return hit[0]
        try:
            node: Node | None = self.lookup(dir, name)
        except KernelError as err:
            if err.errno != Errno.ENOENT:
                raise
            node = None
        if self.cache_ttl_ns is not None:
            self._remember(self._names, key, (node, self.cache_clock() + self.cache_ttl_ns))
        if node is None:
            raise KernelError(Errno.ENOENT, f"no entry {name!r}")
        return node

    def walk_attr(self, node: Node) -> Attr:
        """``getattr`` through the walk cache, for the walk's own checks (a directory's
        type, mode and owner, a symlink's type): never handed to anyone who changes it."""
        hit = self._attrs.get(node)
        if hit is not None and (hit[1] >= UNTIL_CHANGED or hit[1] > self.cache_clock()):
            return hit[0]
        attr = self.getattr(node)
        if self.cache_ttl_ns is not None:
            self._remember(self._attrs, node, (attr, self.cache_clock() + self.cache_ttl_ns))
        return attr

    def walk_readlink(self, node: Node) -> bytes:
        """``readlink`` through the walk cache, for the walk's own following of a symlink
        (/bin -> usr/bin at every exec): a target read before is not asked again while
        the file system is unchanged and the entry young."""
        hit = self._links.get(node)
        if hit is not None and (hit[1] >= UNTIL_CHANGED or hit[1] > self.cache_clock()):
            return hit[0]
        target = self.readlink(node)
        if self.cache_ttl_ns is not None:
            self._remember(self._links, node, (target, self.cache_clock() + self.cache_ttl_ns))
        return target

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, entry: Any) -> None:
        if len(cache) >= CACHE_MAX:
            cache.clear()
        cache[key] = entry

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

    def allocate_range(self, node: Node, offset: int, length: int, keep_size: bool) -> None:
        """fallocate(2)'s mode 0 (or KEEP_SIZE, ``keep_size``) on a regular file: the holes
        of [offset, offset + length) are allocated, and without ``keep_size`` the file grows
        to its end. A file system that keeps no holes of its own (a host directory's blocks
        are the host's) has nothing to allocate, and only grows the file."""
        if not keep_size and offset + length > self.getattr(node).size:
            self.truncate(node, offset + length)

    def punch_hole(self, node: Node, offset: int, length: int) -> None:
        """fallocate(2)'s PUNCH_HOLE|KEEP_SIZE on a regular file: [offset, offset + length)
        reads back zeros, and what it held is freed where the file system can. Here: zeros
        are written over the part within the file."""
        end = min(offset + length, self.getattr(node).size)
        while offset < end:
            piece = min(end - offset, ZERO_PIECE)
            self.write(node, offset, bytes(piece))
            offset += piece

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
