"""tmpfs: a file system that lives in memory.

Owns: its inodes (numbered from a counter, never reused), directories as
dicts of name -> node, file data in ``FileData`` (64 KiB chunks, so a growing file is
never copied whole and a read or write copies each byte once), hard links, and the size
limit: file data beyond ``max_bytes``, or linked inodes beyond ``max_inodes``,
give ENOSPC. Files are sparse, as Linux's: growing one (ftruncate, a write past the
end) allocates nothing, a write allocates only the chunks it touches, fallocate
allocates a range's holes and PUNCH_HOLE frees chunks again; what a file holds
(``FileData.allocated``) is what is charged and what st_blocks counts, and the holes
are what SEEK_DATA and SEEK_HOLE see. The data of a file stays charged until its node
is dropped, so an unlinked file still open through an fd keeps counting, as on Linux.
Sizes: a machine gives each tmpfs not sized explicitly half its RAM, as Linux
does (``size_to_ram``), and the tmpfs mounts of one machine also draw on one
shared ``Pool`` of that size, because their data lives in host memory beside
the guest's RAM: whatever the guest writes, tmpfs costs the host at most half
of ``--mem`` more.
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
    MAX_FILE_SIZE, UNTIL_CHANGED, Attr, FileSystem, Magic, Node, StatFs, check_name,
    check_target, dtype,
)

PAGE = 4096
DEFAULT_BYTES = 256 << 20  # until the machine sizes it to its RAM (``size_to_ram``)
DIRENT_SIZE = 20  # a directory's st_size grows by this per entry (Linux's BOGO_DIRENT_SIZE)
SPECIAL_FORMATS = (stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK)


CHUNK = 64 << 10  # bytes of file data per chunk
ZEROS = memoryview(bytes(CHUNK))  # what a hole reads as, up to a chunk at a time
EVERYTHING = 1 << 64  # an end past any file's (MAX_FILE_SIZE) and past what any holds


class FileData:
    """A file's bytes, sparse as Linux's tmpfs files are: chunk ``i`` holds the file's
    bytes from ``i * CHUNK`` up to the last one written (or allocated by fallocate) in
    it; what no chunk holds, the rest of a short chunk and a missing chunk alike, is a
    hole and reads as zeros up to ``size``. Growing the file allocates nothing;
    ``allocated`` counts the bytes held (what tmpfs charges and st_blocks counts).

    The chunks are a dict by index, not a list, so that a file truncated to 8 EiB costs
    nothing. The bytes a chunk holds past ``size`` are zeros (fallocate's KEEP_SIZE
    allocates them, a cut frees them), so growing over them needs no clearing."""

    __slots__ = ("chunks", "size", "allocated")

    def __init__(self) -> None:
        self.chunks: dict[int, bytearray] = {}
        self.size = 0
        self.allocated = 0

    def _held(self, first: int, last: int) -> list[int]:
        """The indices of the chunks held from ``first`` to ``last``, in no particular
        order (found by walking whichever is shorter: the range or the chunks held)."""
        chunks = self.chunks
        if last - first < len(chunks):
            return [index for index in range(first, last + 1) if index in chunks]
        return [index for index in chunks if first <= index <= last]

    def resize(self, size: int) -> int:
        """Cut to ``size`` bytes, freeing what lies past it, or grow, which allocates
        nothing (the new bytes are a hole). The bytes freed."""
        freed = self.free(size, EVERYTHING) if size < self.size else 0
        self.size = size
        return freed

    def read(self, offset: int, count: int) -> bytes:
        """Up to ``count`` bytes from ``offset`` (fewer at the end), in one copy."""
        end = min(self.size, offset + count)
        if end <= offset:
            return b""
        index, start = divmod(offset, CHUNK)
        chunk = self.chunks.get(index)
        if chunk is not None and start + end - offset <= len(chunk):  # held, in one chunk
            with memoryview(chunk) as view:
                return bytes(view[start:start + end - offset])
        parts = []
        while offset < end:
            index, start = divmod(offset, CHUNK)
            size = min(CHUNK - start, end - offset)
            chunk, held = self.chunks.get(index), 0
            if chunk is not None:
                held = max(0, min(size, len(chunk) - start))
                parts.append(memoryview(chunk)[start:start + held])
            if held < size:
                parts.append(ZEROS[:size - held])
            offset += size
        return b"".join(parts)

    def cost(self, offset: int, end: int) -> int:
        """The bytes that writing (or allocating) [``offset``, ``end``) would allocate:
        each chunk it touches comes to hold its bytes from the chunk's start."""
        if end <= offset:
            return 0
        first, last = offset // CHUNK, (end - 1) // CHUNK
        needed = end - first * CHUNK
        for index in self._held(first, last):
            needed -= min(len(self.chunks[index]), end - index * CHUNK)
        return needed

    def fit(self, offset: int, count: int, room: int) -> int:
        """How many of ``count`` bytes written at ``offset`` fit in ``room`` bytes more."""
        done = 0
        while done < count:
            index, start = divmod(offset + done, CHUNK)
            size = min(CHUNK - start, count - done)
            chunk = self.chunks.get(index)
            held = 0 if chunk is None else len(chunk)
            grow = start + size - held
            if grow > room:
                return done + max(0, held + room - start)
            room -= max(0, grow)
            done += size
        return count

    def write(self, offset: int, data: memoryview) -> int:
        """Put ``data`` at ``offset``, growing the file if it ends beyond; the bytes
        allocated (``cost`` said how many)."""
        end, done, grown = offset + len(data), 0, 0
        while offset < end:
            index, start = divmod(offset, CHUNK)
            size = min(CHUNK - start, end - offset)
            chunk = self.chunks.get(index)
            if chunk is None:
                chunk = self.chunks[index] = bytearray()
            held = len(chunk)
            if start > held:  # a hole before the bytes: zeros
                chunk += ZEROS[:start - held]
            chunk[start:start + size] = data[done:done + size]
            grown += len(chunk) - held
            done += size
            offset += size
        self.size = max(self.size, end)
        self.allocated += grown
        return grown

    def allocate(self, offset: int, end: int) -> int:
        """Fill the holes of [``offset``, ``end``) with zeros held (fallocate), whatever
        the size, which stays; the bytes allocated (``cost`` said how many)."""
        grown = 0
        for index in range(offset // CHUNK, (end - 1) // CHUNK + 1):
            chunk = self.chunks.get(index)
            if chunk is None:
                chunk = self.chunks[index] = bytearray()
            want = min(end - index * CHUNK, CHUNK)
            if want > len(chunk):
                grown += want - len(chunk)
                chunk += ZEROS[:want - len(chunk)]
        self.allocated += grown
        return grown

    def free(self, offset: int, end: int) -> int:
        """Make [``offset``, ``end``) a hole: what the chunks hold there is freed where it
        is a whole chunk or a chunk's tail, and zeroed elsewhere; the bytes freed."""
        freed = 0
        for index in self._held(offset // CHUNK, (end - 1) // CHUNK):
            chunk, base = self.chunks[index], index * CHUNK
            lo, hi = max(offset - base, 0), min(end - base, CHUNK)
            if lo >= len(chunk):
                continue
            if hi < len(chunk):
                chunk[lo:hi] = ZEROS[:hi - lo]
            elif lo:
                freed += len(chunk) - lo
                del chunk[lo:]
            else:
                freed += len(chunk)
                del self.chunks[index]
        self.allocated -= freed
        return freed

    def seek(self, offset: int, data: bool) -> int | None:
        """Where the first data (``data``) or hole at or after ``offset`` starts, for
        SEEK_DATA and SEEK_HOLE: a chunk's data runs from its start to its last byte held,
        rounded up to a page (Linux's holes are pages); None when no data follows, and the
        end of the file is a hole."""
        if data:
            starts = [max(offset, index * CHUNK) for index, chunk in self.chunks.items()
                      if index * CHUNK + _reach(chunk) > offset]
            found = min(starts, default=None)
            return found if found is not None and found < self.size else None
        index = offset // CHUNK
        chunk = self.chunks.get(index)
        while chunk is not None:
            stop = index * CHUNK + _reach(chunk)
            if stop <= offset:
                break
            offset = stop
            index += 1
            chunk = self.chunks.get(index) if stop % CHUNK == 0 else None
        return min(offset, self.size)


def _reach(chunk: bytearray) -> int:
    """How far into its chunk ``chunk``'s data reaches for SEEK_DATA: its bytes, to a page."""
    return min(-(-len(chunk) // PAGE) * PAGE, CHUNK)


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
        self.fs._charge(-self.data.allocated)  # the last holder let go: release the charge


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

    # Mutation helpers: called only once every check has passed.

    def _touch(self, *nodes: TmpNode, content: bool = True) -> None:
        now = self.clock()
        for node in nodes:
            node.ctime_ns = now
            if content:
                node.mtime_ns = now

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
        size, rdev, held = 0, 0, 0
        if isinstance(n, TmpFile):
            size, held = n.data.size, n.data.allocated
        elif isinstance(n, TmpDir):
            size = DIRENT_SIZE * (len(n.entries) + 2)
        elif isinstance(n, TmpLink):
            size = len(n.target)
        elif isinstance(n, TmpSpecial):
            rdev = n.rdev
        blocks = (held + PAGE - 1) // PAGE * (PAGE // 512)  # the pages held, not the size
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

    def seek_data(self, node: Node, offset: int, data: bool) -> int:
        """The file's own data and holes, to chunk granularity where data begins (to a
        page where it ends); ENXIO at or past the end, or for SEEK_DATA in a final hole."""
        n = self._file(node)
        found = n.data.seek(offset, data) if 0 <= offset < n.data.size else None
        if found is None:
            raise KernelError(Errno.ENXIO, "no data at or past the offset")
        return found

    def write(self, node: Node, offset: int, data: bytes) -> int:
        """Writes what fits: a short count when tmpfs fills (only the chunks a write
        touches take room), ENOSPC when nothing fits; EFBIG at the largest file."""
        self._check_writable()
        n = self._file(node)
        if offset < 0:
            raise KernelError(Errno.EINVAL, "negative offset")
        if not data:
            return 0
        if offset >= MAX_FILE_SIZE:
            raise KernelError(Errno.EFBIG, "at the largest file")
        count = n.data.fit(offset, min(len(data), MAX_FILE_SIZE - offset), self._free_bytes())
        if count == 0:
            raise KernelError(Errno.ENOSPC, "tmpfs is full")
        self._charge(n.data.write(offset, memoryview(data)[:count]))
        self._touch(n)
        return count

    def allocate_range(self, node: Node, offset: int, length: int, keep_size: bool) -> None:
        """Allocates the holes of [offset, offset + length), so that writes there cannot
        fail for room, past the end too; ENOSPC, changing nothing, when they do not fit."""
        self._check_writable()
        n = self._file(node)
        end = offset + length
        if n.data.cost(offset, end) > self._free_bytes():
            raise KernelError(Errno.ENOSPC, "tmpfs is full")
        self._charge(n.data.allocate(offset, end))
        if not keep_size and end > n.data.size:
            n.data.resize(end)
        self._touch(n)

    def punch_hole(self, node: Node, offset: int, length: int) -> None:
        """Frees the chunks (and chunks' tails) inside the range, zeros the rest of it."""
        self._check_writable()
        n = self._file(node)
        self._charge(-n.data.free(offset, offset + length))
        self._touch(n)

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
            self._charge(-file.data.resize(size))  # (growing allocates nothing)
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
