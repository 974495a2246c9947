"""tmpfs: a file system that lives in memory.

Owns: its inodes (numbered from a counter, never reused), directories as
dicts of name -> node, file data in ``FileData`` (64 KiB chunks, so a growing file is
never copied whole and a read or write copies each byte once), hard links, and the size
limit: file data beyond ``max_bytes``, or linked inodes beyond ``max_inodes``,
give ENOSPC. The data of a file stays charged until its node is dropped, so
an unlinked file still open through an fd keeps counting, as on Linux.
Sizes: a machine gives each tmpfs not sized explicitly half its RAM, as Linux
does (``size_to_ram``), and the tmpfs mounts of one machine also draw on one
shared ``Pool`` of that size, because their data lives in host memory beside
the guest's RAM: whatever the guest writes, tmpfs costs the host at most half
of ``--mem`` more. Unlike Linux's, files are not sparse: growing one with
ftruncate charges (and holds) the bytes.
Never: touches the host, or frees a node someone still holds (nodes are
plain objects; the VFS holds them in fds and walks).
Called by: the VFS (mounts, /tmp, the writable half of the root ``overlay``).

Reads do not update atime (as if mounted noatime).
"""

from __future__ import annotations

import stat
import time
from typing import Callable, Iterable

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import (
    UNTIL_CHANGED, Attr, FileSystem, Magic, Node, StatFs, check_name, check_target, dtype,
)

PAGE = 4096
DEFAULT_BYTES = 256 << 20  # until the machine sizes it to its RAM (``size_to_ram``)
DIRENT_SIZE = 20  # a directory's st_size grows by this per entry (Linux's BOGO_DIRENT_SIZE)
SPECIAL_FORMATS = (stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK)


CHUNK = 64 << 10  # bytes of file data per chunk


class FileData:
    """A file's bytes: full ``CHUNK``-byte bytearrays, the last one only as long as the
    file reaches into it."""

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: list[bytearray] = []
        self.size = 0

    def resize(self, size: int) -> None:
        """Cut or grow (with zeros) to ``size`` bytes."""
        chunks = self.chunks
        if size < self.size:
            keep = (size + CHUNK - 1) // CHUNK
            del chunks[keep:]
            if size % CHUNK:
                del chunks[-1][size % CHUNK:]
        elif size > self.size:
            have = self.size
            if chunks and len(chunks[-1]) < CHUNK:  # fill the last chunk first
                grow = min(CHUNK - len(chunks[-1]), size - have)
                chunks[-1].extend(bytes(grow))
                have += grow
            while have < size:
                piece = min(CHUNK, size - have)
                chunks.append(bytearray(piece))
                have += piece
        self.size = size

    def read(self, offset: int, count: int) -> bytes:
        """Up to ``count`` bytes from ``offset`` (fewer at the end), in one copy."""
        end = min(self.size, offset + count)
        if end <= offset:
            return b""
        index, start = divmod(offset, CHUNK)
        if start + end - offset <= CHUNK:  # inside one chunk
            with memoryview(self.chunks[index]) as view:
                return bytes(view[start:start + end - offset])
        parts = []
        while offset < end:
            index, start = divmod(offset, CHUNK)
            size = min(CHUNK - start, end - offset)
            parts.append(memoryview(self.chunks[index])[start:start + size])
            offset += size
        return b"".join(parts)

    def write(self, offset: int, data: memoryview) -> None:
        """Put ``data`` at ``offset``, growing the file first if it ends beyond."""
        end = offset + len(data)
        if end > self.size:
            self.resize(end)
        done, chunks = 0, self.chunks
        while offset < end:
            index, start = divmod(offset, CHUNK)
            size = min(CHUNK - start, end - offset)
            chunks[index][start:start + size] = data[done:done + size]
            done += size
            offset += size


class TmpNode(Node):
    """An inode: what every kind of tmpfs file has."""

    __slots__ = ("mode", "nlink", "uid", "gid", "atime_ns", "mtime_ns", "ctime_ns")
    fs: TmpFs

    def __init__(self, fs: TmpFs, mode: int, uid: int, gid: int) -> None:
        super().__init__(fs, fs._next_ino())
        now = fs.clock()
        self.mode = mode
        self.nlink = 1
        self.uid = uid
        self.gid = gid
        self.atime_ns = self.mtime_ns = self.ctime_ns = now


class TmpFile(TmpNode):
    __slots__ = ("data",)

    def __init__(self, fs: TmpFs, mode: int, uid: int, gid: int) -> None:
        super().__init__(fs, stat.S_IFREG | mode & 0o7777, uid, gid)
        self.data = FileData()

    def __del__(self) -> None:
        self.fs._charge(-self.data.size)  # the last holder let go: release the charge


class TmpDir(TmpNode):
    __slots__ = ("entries", "parent")

    def __init__(self, fs: TmpFs, mode: int, uid: int, gid: int,
                 parent: TmpDir | None) -> None:
        super().__init__(fs, stat.S_IFDIR | mode & 0o7777, uid, gid)
        self.nlink = 2
        self.entries: dict[bytes, TmpNode] = {}
        self.parent = parent  # None for the root; a directory has exactly one parent


class TmpLink(TmpNode):
    __slots__ = ("target",)

    def __init__(self, fs: TmpFs, target: bytes, uid: int, gid: int) -> None:
        super().__init__(fs, stat.S_IFLNK | 0o777, uid, gid)
        self.target = target


class TmpSpecial(TmpNode):
    """A fifo, socket or device node: only its attributes live here."""

    __slots__ = ("rdev",)

    def __init__(self, fs: TmpFs, mode: int, rdev: int, uid: int, gid: int) -> None:
        super().__init__(fs, mode, uid, gid)
        self.rdev = rdev


class Pool:
    """Bytes that every tmpfs of one machine draws on together."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0


class TmpFs(FileSystem):
    """An in-memory file system."""

    name = "tmpfs"
    cache_ttl_ns = UNTIL_CHANGED  # nothing changes it but its own operations

    def __init__(self, max_bytes: int | None = None, max_inodes: int | None = None,
                 readonly: bool = False, clock: Callable[[], int] = time.time_ns,
                 mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        super().__init__(readonly)
        self.clock = clock
        self.sized = max_bytes is not None or max_inodes is not None  # else: by the RAM
        self._limit(DEFAULT_BYTES if max_bytes is None else max_bytes, max_inodes)
        self.pool = Pool(self.max_bytes)
        self.used_bytes = 0    # file data of every live node, linked or not
        self.used_inodes = 1   # linked inodes, the root included
        self._inos = 0
        self._root = TmpDir(self, mode, uid, gid, None)

    def _limit(self, max_bytes: int, max_inodes: int | None) -> None:
        self.max_bytes = max_bytes
        # Linux's default nr_inodes: one per page of the size
        self.max_inodes = max_inodes if max_inodes is not None else max(max_bytes // PAGE, 1024)

    def _free_bytes(self) -> int:
        return max(0, min(self.max_bytes - self.used_bytes, self.pool.limit - self.pool.used))

    def _charge(self, delta: int) -> None:
        self.used_bytes += delta
        self.pool.used += delta

    def _next_ino(self) -> int:
        self._inos += 1
        return self._inos

    # Decoding: each raises for a node of the wrong kind, and changes nothing.

    def _node(self, node: Node) -> TmpNode:
        if not isinstance(node, TmpNode) or node.fs is not self:
            raise KernelError(Errno.EXDEV, "node of another file system")
        return node

    def _dir(self, node: Node) -> TmpDir:
        node = self._node(node)
        if not isinstance(node, TmpDir):
            raise KernelError(Errno.ENOTDIR, "not a directory")
        return node

    def _file(self, node: Node) -> TmpFile:
        node = self._node(node)
        if isinstance(node, TmpDir):
            raise KernelError(Errno.EISDIR, "is a directory")
        if not isinstance(node, TmpFile):
            raise KernelError(Errno.EINVAL, "not a regular file")
        return node

    def _entry(self, dir: Node, name: bytes) -> tuple[TmpDir, TmpNode]:
        parent = self._dir(dir)
        check_name(name)
        node = parent.entries.get(name)
        if node is None:
            raise KernelError(Errno.ENOENT, f"no entry {name!r}")
        return parent, node

    def _free_name(self, dir: Node, name: bytes) -> TmpDir:
        """The directory to add ``name`` to, once it is known to be free."""
        self._check_writable()
        parent = self._dir(dir)
        check_name(name)
        if parent.nlink == 0:
            raise KernelError(Errno.ENOENT, "directory has been removed")
        if name in parent.entries:
            raise KernelError(Errno.EEXIST, f"{name!r} exists")
        return parent

    def _check_inode_free(self) -> None:
        if self.used_inodes >= self.max_inodes:
            raise KernelError(Errno.ENOSPC, "no free inodes")

    def _check_room(self, node: TmpFile, end: int) -> None:
        if end - node.data.size > self._free_bytes():
            raise KernelError(Errno.ENOSPC, "tmpfs is full")

    # Mutation helpers: called only once every check has passed.

    def _touch(self, *nodes: TmpNode, content: bool = True) -> None:
        now = self.clock()
        for node in nodes:
            node.ctime_ns = now
            if content:
                node.mtime_ns = now

    def _resize(self, node: TmpFile, size: int) -> None:
        self._charge(size - node.data.size)
        node.data.resize(size)

    def _add(self, parent: TmpDir, name: bytes, node: TmpNode) -> TmpNode:
        parent.entries[name] = node
        if isinstance(node, TmpDir):
            parent.nlink += 1
        self.used_inodes += 1
        self._touch(parent)
        return node

    def _drop_link(self, node: TmpNode) -> None:
        node.nlink = 0 if isinstance(node, TmpDir) else node.nlink - 1
        if node.nlink == 0:
            self.used_inodes -= 1
        self._touch(node, content=False)

    def _remove(self, parent: TmpDir, name: bytes) -> None:
        node = parent.entries.pop(name)
        if isinstance(node, TmpDir):
            parent.nlink -= 1
        self._drop_link(node)
        self._touch(parent)

    # The interface.

    def root(self) -> Node:
        return self._root

    def getattr(self, node: Node) -> Attr:
        n = self._node(node)
        size, rdev = 0, 0
        if isinstance(n, TmpFile):
            size = n.data.size
        elif isinstance(n, TmpDir):
            size = DIRENT_SIZE * (len(n.entries) + 2)
        elif isinstance(n, TmpLink):
            size = len(n.target)
        elif isinstance(n, TmpSpecial):
            rdev = n.rdev
        blocks = (size + PAGE - 1) // PAGE * (PAGE // 512) if isinstance(n, TmpFile) else 0
        return Attr(ino=n.ino, mode=n.mode, nlink=n.nlink, uid=n.uid, gid=n.gid, size=size,
                    rdev=rdev, blksize=PAGE, blocks=blocks, atime_ns=n.atime_ns,
                    mtime_ns=n.mtime_ns, ctime_ns=n.ctime_ns, dev=self.dev)

    def lookup(self, dir: Node, name: bytes) -> Node:
        return self._entry(dir, name)[1]

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        parent = self._dir(dir)
        return [(name, n.ino, dtype(n.mode)) for name, n in parent.entries.items()]

    def readlink(self, node: Node) -> bytes:
        n = self._node(node)
        if not isinstance(n, TmpLink):
            raise KernelError(Errno.EINVAL, "not a symlink")
        return n.target

    def read(self, node: Node, offset: int, size: int) -> bytes:
        n = self._file(node)
        if offset < 0 or size < 0:
            raise KernelError(Errno.EINVAL, "negative offset or size")
        return n.data.read(offset, size)  # one copy, out of the file's chunks

    def write(self, node: Node, offset: int, data: bytes) -> int:
        """Writes what fits: a short count when tmpfs fills, ENOSPC when nothing fits."""
        self._check_writable()
        n = self._file(node)
        if offset < 0:
            raise KernelError(Errno.EINVAL, "negative offset")
        if not data:
            return 0
        room = n.data.size + self._free_bytes() - offset
        if room <= 0:
            raise KernelError(Errno.ENOSPC, "tmpfs is full")
        piece = memoryview(data)[:room]
        end = offset + len(piece)
        if end > n.data.size:
            self._charge(end - n.data.size)
        n.data.write(offset, piece)  # (a gap before ``offset`` reads as zeros)
        self._touch(n)
        return len(piece)

    def truncate(self, node: Node, size: int) -> None:
        self.setattr(node, size=size)

    def create(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        parent = self._free_name(dir, name)
        self._check_inode_free()
        return self._add(parent, name, TmpFile(self, mode, uid, gid))

    def mkdir(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        parent = self._free_name(dir, name)
        self._check_inode_free()
        return self._add(parent, name, TmpDir(self, mode, uid, gid, parent))

    def symlink(self, dir: Node, name: bytes, target: bytes, uid: int, gid: int) -> Node:
        parent = self._free_name(dir, name)
        check_target(target)
        self._check_inode_free()
        return self._add(parent, name, TmpLink(self, target, uid, gid))

    def mknod(self, dir: Node, name: bytes, mode: int, rdev: int, uid: int, gid: int) -> Node:
        parent = self._free_name(dir, name)
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFDIR:
            raise KernelError(Errno.EPERM, "mknod cannot make a directory")
        if kind not in (0, stat.S_IFREG) + SPECIAL_FORMATS:
            raise KernelError(Errno.EINVAL, "unknown file type")
        self._check_inode_free()
        if kind in SPECIAL_FORMATS:
            node: TmpNode = TmpSpecial(self, kind | mode & 0o7777, rdev, uid, gid)
        else:
            node = TmpFile(self, mode, uid, gid)
        return self._add(parent, name, node)

    def link(self, node: Node, dir: Node, name: bytes) -> None:
        n = self._node(node)
        parent = self._free_name(dir, name)
        if isinstance(n, TmpDir):
            raise KernelError(Errno.EPERM, "hard link to a directory")
        if n.nlink == 0:
            raise KernelError(Errno.ENOENT, "file has been removed")
        parent.entries[name] = n
        n.nlink += 1
        self._touch(n, content=False)
        self._touch(parent)

    def relink(self, node: Node, dir: Node, name: bytes) -> None:
        n = self._node(node)
        if n.nlink:
            self.link(node, dir, name)
            return
        parent = self._free_name(dir, name)
        self._check_inode_free()
        n.nlink = 0  # _add counts the inode linked again
        self._add(parent, name, n)
        n.nlink = 1
        self._touch(n, content=False)

    def unlink(self, dir: Node, name: bytes) -> None:
        self._check_writable()
        parent, node = self._entry(dir, name)
        if isinstance(node, TmpDir):
            raise KernelError(Errno.EISDIR, "unlink of a directory")
        self._remove(parent, name)

    def rmdir(self, dir: Node, name: bytes) -> None:
        self._check_writable()
        parent, node = self._entry(dir, name)
        if not isinstance(node, TmpDir):
            raise KernelError(Errno.ENOTDIR, "not a directory")
        if node.entries:
            raise KernelError(Errno.ENOTEMPTY, "directory not empty")
        self._remove(parent, name)

    def _check_rename(self, node: TmpNode, newdir: TmpDir, old: TmpNode | None) -> None:
        if isinstance(node, TmpDir):
            ancestor: TmpDir | None = newdir
            while ancestor is not None:
                if ancestor is node:
                    raise KernelError(Errno.EINVAL, "directory moved into itself")
                ancestor = ancestor.parent
            if old is not None and not isinstance(old, TmpDir):
                raise KernelError(Errno.ENOTDIR, "directory over a non-directory")
            if isinstance(old, TmpDir) and old.entries:
                raise KernelError(Errno.ENOTEMPTY, "target directory not empty")
        elif isinstance(old, TmpDir):
            raise KernelError(Errno.EISDIR, "non-directory over a directory")
        if newdir.nlink == 0:
            raise KernelError(Errno.ENOENT, "target directory has been removed")

    def rename(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        self._check_writable()
        src, node = self._entry(olddir, oldname)
        dst = self._dir(newdir)
        check_name(newname)
        old = dst.entries.get(newname)
        if old is node:
            return  # two names of one file: POSIX says do nothing
        self._check_rename(node, dst, old)
        if old is not None:
            self._remove(dst, newname)
        del src.entries[oldname]
        dst.entries[newname] = node
        if isinstance(node, TmpDir):
            src.nlink -= 1
            dst.nlink += 1
            node.parent = dst
        self._touch(src, dst)
        self._touch(node, content=False)

    def exchange(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        self._check_writable()
        src, a = self._entry(olddir, oldname)
        dst, b = self._entry(newdir, newname)
        if a is b:
            return
        for moved, into, errno in ((a, dst, Errno.EINVAL), (b, src, Errno.ENOTEMPTY)):
            ancestor: TmpDir | None = into
            while isinstance(moved, TmpDir) and ancestor is not None:
                if ancestor is moved:
                    raise KernelError(errno, "a directory exchanged into itself")
                ancestor = ancestor.parent
        src.entries[oldname], dst.entries[newname] = b, a
        if src is not dst:
            for moved, left, came in ((a, src, dst), (b, dst, src)):
                if isinstance(moved, TmpDir):
                    left.nlink -= 1
                    came.nlink += 1
                    moved.parent = came
        self._touch(src, dst)
        self._touch(a, b, content=False)

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        self._check_writable()
        n = self._node(node)
        if size is not None:
            file = self._file(n)
            if size < 0:
                raise KernelError(Errno.EINVAL, "negative size")
            self._check_room(file, size)
            self._resize(file, size)
            self._touch(file)
        if mode is not None:
            n.mode = stat.S_IFMT(n.mode) | mode & 0o7777
        if uid is not None:
            n.uid = uid
        if gid is not None:
            n.gid = gid
        if atime_ns is not None:
            n.atime_ns = atime_ns
        if mtime_ns is not None:
            n.mtime_ns = mtime_ns
        n.ctime_ns = self.clock()

    def statfs(self) -> StatFs:
        """Its size and use, as df shows them (free is less while other tmpfs hold the pool)."""
        blocks = self.max_bytes // PAGE
        free = min(blocks - (self.used_bytes + PAGE - 1) // PAGE, self._free_bytes() // PAGE)
        return (Magic.TMPFS, PAGE, blocks, max(0, free), max(0, free), self.max_inodes,
                self.max_inodes - self.used_inodes)


def size_to_ram(filesystems: Iterable[FileSystem], ram: int) -> None:
    """Give each writable tmpfs among ``filesystems`` (an overlay's upper layer included)
    that was not sized explicitly half of ``ram``, as Linux does, all drawing on one pool
    of that size. Called by the machine before anything is written."""
    pool = Pool(ram // 2)
    for fs in filesystems:
        upper = getattr(fs, "upper", None)  # an overlay keeps its writes in a tmpfs
        tmp = upper if isinstance(upper, TmpFs) else fs
        if isinstance(tmp, TmpFs) and not tmp.readonly and not tmp.sized:
            assert tmp.used_bytes == 0, "sized before anything is written"
            tmp._limit(pool.limit, None)
            tmp.pool = pool
