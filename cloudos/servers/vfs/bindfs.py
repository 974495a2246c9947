"""bindfs: a bind mount, another file system seen from one of its directories.

Owns: the per-mount read-only flag of a bind mount (mount(2) with MS_BIND, then
MS_REMOUNT|MS_BIND|MS_RDONLY): every change through this mount is EROFS while it
is set, while the same files stay writable through their other mounts, as on
Linux. Everything else is the inner file system's own answer: the nodes are its
nodes (so st_dev and st_ino are the same on both sides, and a file written on one
side is the file read on the other).
Never: closes the inner file system (it stays mounted where it was), or lets a
walk climb above its root (paths.py keeps ".." to the mount's walk).
Called by: ``vfs.mounts`` (which makes it), through the VFS like any file system.
"""

from __future__ import annotations

from cloudos.servers.vfs.fs import Attr, FileSystem, Node, StatFs


def underlying(fs: FileSystem) -> FileSystem:
    """The file system ``fs`` shows: itself, or a bind mount's (for what its kind can do)."""
    return fs.inner if isinstance(fs, BindFs) else fs


class BindFs(FileSystem):
    """``inner`` from ``top`` (a directory or file of it), at ``root_path`` in it."""

    def __init__(self, inner: FileSystem, top: Node, root_path: bytes,
                 readonly: bool = False) -> None:
        self.inner, self.top, self.root_path = inner, top, root_path
        super().__init__(readonly)
        self.name = inner.name
        self.dev = inner.dev  # one file system: a bind mount has its st_dev
        self.source = inner.source
        self.options = inner.options
        self.cache_ttl_ns = inner.cache_ttl_ns
        inner.watch(self)

    @property
    def readonly(self) -> bool:
        """Read-only by this mount's flag or its file system's."""
        return self.mount_readonly or self.inner.readonly

    @readonly.setter
    def readonly(self, value: bool) -> None:
        self.mount_readonly = value

    def _check_writable(self) -> None:
        super()._check_writable()
        self.inner._check_writable()

    def root(self) -> Node:
        return self.top

    def getattr(self, node: Node) -> Attr:
        return self.inner.getattr(node)

    def lookup(self, dir: Node, name: bytes) -> Node:
        return self.inner.lookup(dir, name)

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        return self.inner.readdir(dir)

    def readlink(self, node: Node) -> bytes:
        return self.inner.readlink(node)

    def read(self, node: Node, offset: int, size: int) -> bytes:
        return self.inner.read(node, offset, size)

    def write(self, node: Node, offset: int, data: bytes) -> int:
        self._check_writable()
        return self.inner.write(node, offset, data)

    def truncate(self, node: Node, size: int) -> None:
        self._check_writable()
        self.inner.truncate(node, size)

    def allocate_range(self, node: Node, offset: int, length: int, keep_size: bool) -> None:
        self._check_writable()
        self.inner.allocate_range(node, offset, length, keep_size)

    def punch_hole(self, node: Node, offset: int, length: int) -> None:
        self._check_writable()
        self.inner.punch_hole(node, offset, length)

    def create(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        self._check_writable()
        return self.inner.create(dir, name, mode, uid, gid)

    def mkdir(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        self._check_writable()
        return self.inner.mkdir(dir, name, mode, uid, gid)

    def symlink(self, dir: Node, name: bytes, target: bytes, uid: int, gid: int) -> Node:
        self._check_writable()
        return self.inner.symlink(dir, name, target, uid, gid)

    def mknod(self, dir: Node, name: bytes, mode: int, rdev: int, uid: int, gid: int) -> Node:
        self._check_writable()
        return self.inner.mknod(dir, name, mode, rdev, uid, gid)

    def link(self, node: Node, dir: Node, name: bytes) -> None:
        self._check_writable()
        self.inner.link(node, dir, name)

    def unlink(self, dir: Node, name: bytes) -> None:
        self._check_writable()
        self.inner.unlink(dir, name)

    def rmdir(self, dir: Node, name: bytes) -> None:
        self._check_writable()
        self.inner.rmdir(dir, name)

    def rename(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        self._check_writable()
        self.inner.rename(olddir, oldname, newdir, newname)

    def seek_data(self, node: Node, offset: int, data: bool) -> int:
        return self.inner.seek_data(node, offset, data)

    def relink(self, node: Node, dir: Node, name: bytes) -> None:
        self._check_writable()
        self.inner.relink(node, dir, name)

    def exchange(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        self._check_writable()
        self.inner.exchange(olddir, oldname, newdir, newname)

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        self._check_writable()
        self.inner.setattr(node, mode, uid, gid, atime_ns, mtime_ns, size)

    def statfs(self) -> StatFs:
        return self.inner.statfs()
