"""overlay: a writable tmpfs over a read-only file system, as Linux's overlayfs.

Owns: the merged view of the two layers (an entry of the upper layer hides
the lower one; directories in both are merged), copy-up (a lower file is
copied, with its attributes, into the upper layer the first time it changes,
its parent directories first), whiteouts (names deleted from the lower
layer) and opaque directories (upper directories made where a lower one was
deleted, which must not show its entries). Whiteouts and opacity are kept
here, keyed by the upper directory's inode number (tmpfs never reuses one),
so the guest can make any file in the upper layer, 0:0 devices included.
Never: changes the lower layer (it may be shared, and is the host's ``/`` for
the default root), or renames a directory that has a lower part (EXDEV, as
Linux overlayfs without redirect_dir; ``mv`` then copies).
Called by: the VFS, whose default root is the host's ``/`` read-only under a tmpfs.

Inode numbers are the upper node's if it has one, else the lower's: a file's
st_ino changes when it is copied up. A merged directory reports nlink 1, as
Linux overlayfs does, meaning "count unknown".
"""

from __future__ import annotations

import itertools
import stat
import weakref
from typing import Callable

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import Attr, FileSystem, Magic, Node, StatFs, check_name
from cloudos.servers.vfs.tmpfs import TmpFs

COPY_CHUNK = 1 << 20


class OverlayNode(Node):
    """A file of the merged view: its upper node, its lower node, or both (a merged directory)."""

    __slots__ = ("upper", "lower", "kind", "parent", "name", "children")
    fs: OverlayFs

    def __init__(self, fs: OverlayFs, upper: Node | None, lower: Node | None, kind: int,
                 parent: OverlayNode | None, name: bytes) -> None:
        layer = upper if upper is not None else lower
        assert layer is not None
        super().__init__(fs, layer.ino)
        self.upper = upper
        self.lower = lower
        self.kind = kind    # S_IFMT bits; copy-up keeps them
        self.parent = parent  # where copy-up puts it; None for the root and once removed
        self.name = name
        # Nodes handed out for entries of this directory, so a name maps to one node
        # and a copy-up is seen by every holder.
        self.children: weakref.WeakValueDictionary[bytes, OverlayNode] = \
            weakref.WeakValueDictionary()


def _find(fs: FileSystem, dir: Node | None, name: bytes) -> Node | None:
    """``name`` in one layer's ``dir``, or None."""
    if dir is None:
        return None
    try:
        return fs.lookup(dir, name)
    except KernelError as err:
        if err.errno == Errno.ENOENT:
            return None
        raise


class OverlayFs(FileSystem):
    """``upper`` (a tmpfs) over ``lower`` (read-only, usually a hostfs)."""

    name = "overlay"

    def __init__(self, lower: FileSystem, upper: TmpFs, readonly: bool = False) -> None:
        super().__init__(readonly)
        self.lower = lower
        self.upper = upper
        self._whiteouts: dict[int, set[bytes]] = {}  # upper dir ino -> lower names deleted
        self._opaque: set[int] = set()                # upper dir inos hiding their lower dir
        self._orphans = itertools.count()
        self._root = OverlayNode(self, upper.root(), lower.root(), stat.S_IFDIR, None, b"")
        # a walk trusts the merged view as long as it trusts both layers
        if lower.cache_ttl_ns is None or upper.cache_ttl_ns is None:
            self.cache_ttl_ns = None
        else:
            self.cache_ttl_ns = min(lower.cache_ttl_ns, upper.cache_ttl_ns)
        lower.watch(self)
        upper.watch(self)

    def close(self) -> None:
        """Closes both layers: the overlay is their only user."""
        self.upper.close()
        self.lower.close()

    # Decoding.

    def _node(self, node: Node) -> OverlayNode:
        if not isinstance(node, OverlayNode) or node.fs is not self:
            raise KernelError(Errno.EXDEV, "node of another file system")
        return node

    def _dir(self, node: Node) -> OverlayNode:
        n = self._node(node)
        if n.kind != stat.S_IFDIR:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        return n

    def _layer(self, node: Node) -> tuple[FileSystem, Node]:
        n = self._node(node)
        if n.upper is not None:
            return self.upper, n.upper
        assert n.lower is not None
        return self.lower, n.lower

    def _whited_out(self, dir: OverlayNode, name: bytes) -> bool:
        return dir.upper is not None and name in self._whiteouts.get(dir.upper.ino, ())

    def _in_lower(self, dir: OverlayNode, name: bytes) -> bool:
        """Whether the lower layer has ``name`` under ``dir``, deleted or not."""
        return _find(self.lower, dir.lower, name) is not None

    def _maybe(self, dir: OverlayNode, name: bytes) -> OverlayNode | None:
        try:
            return self._lookup(dir, name)
        except KernelError as err:
            if err.errno == Errno.ENOENT:
                return None
            raise

    def _check_free(self, dir: Node, name: bytes) -> OverlayNode:
        self._check_writable()
        d = self._dir(dir)
        check_name(name)
        if self._maybe(d, name) is not None:
            raise KernelError(Errno.EEXIST, f"{name!r} exists")
        return d

    def _existing(self, dir: Node, name: bytes) -> tuple[OverlayNode, OverlayNode]:
        self._check_writable()
        d = self._dir(dir)
        return d, self._lookup(d, name)

    # The merged view.

    def _lookup(self, d: OverlayNode, name: bytes) -> OverlayNode:
        check_name(name)
        upper = _find(self.upper, d.upper, name)
        lower = None
        if not self._whited_out(d, name):
            if upper is None:
                lower = _find(self.lower, d.lower, name)
            elif self._is_dir(self.upper, upper) and upper.ino not in self._opaque:
                below = _find(self.lower, d.lower, name)
                lower = below if below is not None and self._is_dir(self.lower, below) else None
        if upper is None and lower is None:
            raise KernelError(Errno.ENOENT, f"no entry {name!r}")
        node = d.children.get(name)
        if node is None or node.upper is not upper or (upper is None and node.lower is not lower):
            layer, fs = (upper, self.upper) if upper is not None else (lower, self.lower)
            assert layer is not None
            kind = stat.S_IFMT(fs.getattr(layer).mode)
            node = OverlayNode(self, upper, lower, kind, d, name)
            d.children[name] = node
        node.lower = lower
        return node

    @staticmethod
    def _is_dir(fs: FileSystem, node: Node) -> bool:
        return stat.S_ISDIR(fs.getattr(node).mode)

    def _cover(self, d: OverlayNode, name: bytes, upper: Node) -> None:
        """Records that new upper entry ``name`` of ``d`` hides what the lower layer has there."""
        assert d.upper is not None
        hidden = self._whiteouts.get(d.upper.ino, set())
        if self._is_dir(self.upper, upper) and (name in hidden or self._in_lower(d, name)):
            self._opaque.add(upper.ino)
        hidden.discard(name)

    def _detach(self, d: OverlayNode, name: bytes) -> None:
        """Forgets the node handed out for ``name``: whoever holds it holds a removed file."""
        node = d.children.pop(name, None)
        if node is not None:
            node.parent = None
            if node.kind == stat.S_IFDIR:
                node.lower = None  # a removed directory lists nothing

    def _delete(self, d: OverlayNode, name: bytes) -> None:
        """After ``name`` left ``d``'s upper layer: hides the lower one, forgets the node."""
        assert d.upper is not None
        if self._in_lower(d, name):
            self._whiteouts.setdefault(d.upper.ino, set()).add(name)
        self._detach(d, name)

    def _forget(self, upper_dir: Node) -> None:
        self._whiteouts.pop(upper_dir.ino, None)
        self._opaque.discard(upper_dir.ino)

    # Copy-up.

    def copy_up(self, node: Node) -> None:
        """Gives ``node`` an upper copy, parents first (the VFS may call it at open for writing)."""
        self._check_writable()
        n = self._node(node)
        if n.upper is not None:
            return
        assert n.lower is not None
        if n.parent is not None:
            self.copy_up(n.parent)
            parent, name = n.parent.upper, n.name
        elif n.kind == stat.S_IFDIR:
            raise KernelError(Errno.ENOENT, "directory has been removed")
        else:  # removed but still open: copy it up under a name it loses at once
            parent = self.upper.root()
            name = b".overlay-orphan-%d" % next(self._orphans)
            while _find(self.upper, parent, name) is not None:
                name = b".overlay-orphan-%d" % next(self._orphans)
        assert parent is not None
        times = self.upper.getattr(parent)  # a copy-up is no change the guest made
        upper = self._copy(n.lower, parent, name)
        if n.parent is None:
            self.upper.unlink(parent, name)
        self.upper.setattr(parent, atime_ns=times.atime_ns, mtime_ns=times.mtime_ns)
        n.upper, n.ino = upper, upper.ino

    def _copy(self, lower: Node, upper_dir: Node, name: bytes) -> Node:
        attr = self.lower.getattr(lower)
        kind = stat.S_IFMT(attr.mode)
        if kind == stat.S_IFDIR:
            upper = self.upper.mkdir(upper_dir, name, attr.mode, attr.uid, attr.gid)
        elif kind == stat.S_IFREG:
            upper = self.upper.create(upper_dir, name, attr.mode, attr.uid, attr.gid)
            try:
                self._copy_data(lower, upper)
            except KernelError:
                self.upper.unlink(upper_dir, name)
                raise
        elif kind == stat.S_IFLNK:
            target = self.lower.readlink(lower)
            upper = self.upper.symlink(upper_dir, name, target, attr.uid, attr.gid)
        else:
            upper = self.upper.mknod(upper_dir, name, attr.mode, attr.rdev, attr.uid, attr.gid)
        self.upper.setattr(upper, mode=None if kind == stat.S_IFLNK else attr.mode,
                           atime_ns=attr.atime_ns, mtime_ns=attr.mtime_ns)
        return upper

    def _copy_data(self, lower: Node, upper: Node) -> None:
        """Copies the lower file's data, and only its data: its holes stay holes (a sparse
        file copied up stays sparse, as Linux overlayfs copies one)."""
        size = self.lower.getattr(lower).size
        offset = 0
        while offset < size:
            try:
                offset = self.lower.seek_data(lower, offset, True)
            except KernelError as err:
                if err.errno != Errno.ENXIO:
                    raise
                break  # a hole to the end
            end = self.lower.seek_data(lower, offset, False)
            while offset < end:
                chunk = self.lower.read(lower, offset, min(COPY_CHUNK, end - offset))
                if not chunk:  # (the host's file shrank meanwhile)
                    return
                if self.upper.write(upper, offset, chunk) < len(chunk):
                    raise KernelError(Errno.ENOSPC, "no room to copy up")
                offset += len(chunk)
        self.upper.truncate(upper, size)

    def _make(self, dir: Node, name: bytes, make: Callable[[Node], Node]) -> Node:
        d = self._check_free(dir, name)
        self.copy_up(d)
        assert d.upper is not None
        self._cover(d, name, make(d.upper))
        return self._lookup(d, name)

    # The interface.

    def root(self) -> Node:
        return self._root

    def getattr(self, node: Node) -> Attr:
        n = self._node(node)
        fs, layer = self._layer(n)
        attr = fs.getattr(layer)
        attr.dev = self.dev
        if n.upper is not None and n.lower is not None and n.kind == stat.S_IFDIR:
            attr.nlink = 1
        return attr

    def lookup(self, dir: Node, name: bytes) -> Node:
        return self._lookup(self._dir(dir), name)

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        d = self._dir(dir)
        entries: dict[bytes, tuple[bytes, int, int]] = {}
        if d.upper is not None:
            entries = {entry[0]: entry for entry in self.upper.readdir(d.upper)}
        if d.lower is not None:
            hidden = self._whiteouts.get(d.upper.ino, set()) if d.upper is not None else set()
            for entry in self.lower.readdir(d.lower):
                if entry[0] not in entries and entry[0] not in hidden:
                    entries[entry[0]] = entry
        return list(entries.values())

    def readlink(self, node: Node) -> bytes:
        fs, layer = self._layer(node)
        return fs.readlink(layer)

    def read(self, node: Node, offset: int, size: int) -> bytes:
        fs, layer = self._layer(node)
        return fs.read(layer, offset, size)

    def seek_data(self, node: Node, offset: int, data: bool) -> int:
        fs, layer = self._layer(node)
        return fs.seek_data(layer, offset, data)

    def _upper_file(self, node: Node, offset: int) -> Node:
        """The upper copy of regular file ``node`` (copied up now if it had none), to
        change at ``offset``."""
        self._check_writable()
        n = self._node(node)
        if n.kind == stat.S_IFDIR:
            raise KernelError(Errno.EISDIR, "is a directory")
        if n.kind != stat.S_IFREG or offset < 0:
            raise KernelError(Errno.EINVAL, "not a regular file, or a negative offset")
        self.copy_up(n)
        assert n.upper is not None
        return n.upper

    def write(self, node: Node, offset: int, data: bytes) -> int:
        return self.upper.write(self._upper_file(node, offset), offset, data)

    def allocate_range(self, node: Node, offset: int, length: int, keep_size: bool) -> None:
        self.upper.allocate_range(self._upper_file(node, offset), offset, length, keep_size)

    def punch_hole(self, node: Node, offset: int, length: int) -> None:
        self.upper.punch_hole(self._upper_file(node, offset), offset, length)

    def truncate(self, node: Node, size: int) -> None:
        self.setattr(node, size=size)

    def create(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        return self._make(dir, name, lambda d: self.upper.create(d, name, mode, uid, gid))

    def mkdir(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        return self._make(dir, name, lambda d: self.upper.mkdir(d, name, mode, uid, gid))

    def symlink(self, dir: Node, name: bytes, target: bytes, uid: int, gid: int) -> Node:
        return self._make(dir, name, lambda d: self.upper.symlink(d, name, target, uid, gid))

    def mknod(self, dir: Node, name: bytes, mode: int, rdev: int, uid: int, gid: int) -> Node:
        return self._make(dir, name,
                          lambda d: self.upper.mknod(d, name, mode, rdev, uid, gid))

    def link(self, node: Node, dir: Node, name: bytes) -> None:
        n = self._node(node)
        d = self._check_free(dir, name)
        if n.kind == stat.S_IFDIR:
            raise KernelError(Errno.EPERM, "hard link to a directory")
        self.copy_up(n)
        self.copy_up(d)
        assert n.upper is not None and d.upper is not None
        self.upper.link(n.upper, d.upper, name)
        self._cover(d, name, n.upper)

    def relink(self, node: Node, dir: Node, name: bytes) -> None:
        n = self._node(node)
        d = self._check_free(dir, name)
        self.copy_up(d)
        assert n.upper is not None and d.upper is not None  # (made in the upper layer)
        self.upper.relink(n.upper, d.upper, name)
        self._cover(d, name, n.upper)
        d.children[name] = n
        n.parent, n.name = d, name

    def unlink(self, dir: Node, name: bytes) -> None:
        d, n = self._existing(dir, name)
        if n.kind == stat.S_IFDIR:
            raise KernelError(Errno.EISDIR, "unlink of a directory")
        self.copy_up(d)
        assert d.upper is not None
        if n.upper is not None:
            self.upper.unlink(d.upper, name)
        self._delete(d, name)

    def rmdir(self, dir: Node, name: bytes) -> None:
        d, n = self._existing(dir, name)
        if n.kind != stat.S_IFDIR:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        if self.readdir(n):
            raise KernelError(Errno.ENOTEMPTY, "directory not empty")
        self.copy_up(d)
        assert d.upper is not None
        if n.upper is not None:
            self.upper.rmdir(d.upper, name)  # empty in upper too: whiteouts live here
            self._forget(n.upper)
        self._delete(d, name)

    def _check_rename(self, node: OverlayNode, newdir: OverlayNode,
                      old: OverlayNode | None) -> None:
        if node.kind != stat.S_IFDIR:
            if old is not None and old.kind == stat.S_IFDIR:
                raise KernelError(Errno.EISDIR, "non-directory over a directory")
            return
        ancestor: OverlayNode | None = newdir
        while ancestor is not None:
            if ancestor is node:
                raise KernelError(Errno.EINVAL, "directory moved into itself")
            ancestor = ancestor.parent
        if old is not None and old.kind != stat.S_IFDIR:
            raise KernelError(Errno.ENOTDIR, "directory over a non-directory")
        if old is not None and self.readdir(old):
            raise KernelError(Errno.ENOTEMPTY, "target directory not empty")
        if node.lower is not None:
            raise KernelError(Errno.EXDEV, "directory has a lower part")

    def rename(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        src, node = self._existing(olddir, oldname)
        dst = self._dir(newdir)
        check_name(newname)
        old = self._maybe(dst, newname)
        if old is not None and old.ino == node.ino and (old.upper is None) == (node.upper is None):
            return  # two names of one file: POSIX says do nothing
        self._check_rename(node, dst, old)
        for n in (src, dst, node):
            self.copy_up(n)
        assert src.upper is not None and dst.upper is not None and node.upper is not None
        self.upper.rename(src.upper, oldname, dst.upper, newname)
        if old is not None and old.upper is not None and old.kind == stat.S_IFDIR:
            self._forget(old.upper)
        self._delete(src, oldname)
        self._detach(dst, newname)  # the file replaced, if any
        self._cover(dst, newname, node.upper)
        dst.children[newname] = node
        node.parent, node.name, node.lower = dst, newname, None

    def exchange(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        """RENAME_EXCHANGE in the upper layer (both files copied up first); a directory with
        a lower part cannot move (EXDEV), as for rename."""
        src, a = self._existing(olddir, oldname)
        dst, b = self._existing(newdir, newname)
        if a is b:
            return
        if any(n.kind == stat.S_IFDIR and n.lower is not None for n in (a, b)):
            raise KernelError(Errno.EXDEV, "directory has a lower part")
        for n in (src, dst, a, b):
            self.copy_up(n)
        assert src.upper is not None and dst.upper is not None
        assert a.upper is not None and b.upper is not None
        self.upper.exchange(src.upper, oldname, dst.upper, newname)
        self._detach(src, oldname)
        self._detach(dst, newname)
        for n, d, name in ((a, dst, newname), (b, src, oldname)):
            self._cover(d, name, n.upper)  # type: ignore[arg-type]
            d.children[name] = n
            n.parent, n.name, n.lower = d, name, None

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        self._check_writable()
        n = self._node(node)
        if size is not None and n.kind == stat.S_IFDIR:
            raise KernelError(Errno.EISDIR, "is a directory")
        if size is not None and (n.kind != stat.S_IFREG or size < 0):
            raise KernelError(Errno.EINVAL, "negative size or not a regular file")
        self.copy_up(n)
        assert n.upper is not None
        self.upper.setattr(n.upper, mode, uid, gid, atime_ns, mtime_ns, size)

    def statfs(self) -> StatFs:
        return (Magic.OVERLAYFS, *self.upper.statfs()[1:])
