"""filterfs: a read-only view of another file system, less the entries a rule hides.

Owns: deciding, for every name looked up or listed, whether it exists in the
view: ``hidden_path(path)`` is asked with the entry's path from the view's
root before the inner file system is (so it never sees a name hidden by
path), then ``hidden(path, attr)`` with its attributes; a hidden entry is
ENOENT to lookup and absent from readdir, as if it had never been there. It
is how the default root shows the host's system directories without their
secrets (the rule is policy and lives in ``cloudos.sandbox``).
Never: writes (every change is EROFS; the overlay above it takes writes), or
hands out a node of a hidden entry, so nothing under a hidden directory can
be reached either.
Called by: ``overlay`` (as the lower layer of the default root), through the VFS.
"""

from __future__ import annotations

import stat
import weakref
from typing import Callable, NoReturn

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import Attr, FileSystem, Node, StatFs, check_name

PathRule = Callable[[bytes], bool]  # path from the root (b"/etc/shadow") -> hide it?
Rule = Callable[[bytes, Attr], bool]  # path, its attributes -> hide it?


class FilterNode(Node):
    """A node of the inner file system, with its path in the view."""

    __slots__ = ("inner", "path", "kind", "children")
    fs: FilterFs

    def __init__(self, fs: FilterFs, inner: Node, path: bytes, kind: int) -> None:
        super().__init__(fs, inner.ino)
        self.inner = inner
        self.path = path
        self.kind = kind
        # Nodes handed out for entries of this directory, so a name maps to one node.
        self.children: weakref.WeakValueDictionary[bytes, FilterNode] = \
            weakref.WeakValueDictionary()


class FilterFs(FileSystem):
    """``inner`` read-only, without the entries ``hidden`` names."""

    name = "filter"

    def __init__(self, inner: FileSystem, hidden_path: PathRule, hidden: Rule) -> None:
        super().__init__(readonly=True)
        self.inner = inner
        self.hidden_path = hidden_path
        self.hidden = hidden
        self._root = FilterNode(self, inner.root(), b"", stat.S_IFDIR)
        self.cache_ttl_ns = inner.cache_ttl_ns  # (the rules never change)
        inner.watch(self)

    def close(self) -> None:
        self.inner.close()

    def _refuse(self) -> NoReturn:
        raise KernelError(Errno.EROFS, f"{self.name} is read-only")

    def _node(self, node: Node) -> FilterNode:
        if not isinstance(node, FilterNode) or node.fs is not self:
            raise KernelError(Errno.EXDEV, "node of another file system")
        return node

    def _dir(self, node: Node) -> FilterNode:
        n = self._node(node)
        if n.kind != stat.S_IFDIR:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        return n

    def _child(self, dir: FilterNode, name: bytes) -> FilterNode:
        path = dir.path + b"/" + name
        if self.hidden_path(path):
            raise KernelError(Errno.ENOENT, f"no entry {name!r}")
        inner = self.inner.lookup(dir.inner, name)
        attr = self.inner.getattr(inner)
        if self.hidden(path, attr):
            raise KernelError(Errno.ENOENT, f"no entry {name!r}")
        node = dir.children.get(name)
        if node is None or node.inner is not inner:
            node = FilterNode(self, inner, path, stat.S_IFMT(attr.mode))
            dir.children[name] = node
        return node

    # The interface: reads pass through, changes are EROFS.

    def root(self) -> Node:
        return self._root

    def getattr(self, node: Node) -> Attr:
        attr = self.inner.getattr(self._node(node).inner)
        attr.dev = self.dev
        return attr

    def lookup(self, dir: Node, name: bytes) -> Node:
        check_name(name)
        return self._child(self._dir(dir), name)

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        d = self._dir(dir)
        shown = []
        for entry in self.inner.readdir(d.inner):
            try:
                self._child(d, entry[0])
            except KernelError:  # hidden, refused by the inner file system, or gone
                continue
            shown.append(entry)
        return shown

    def readlink(self, node: Node) -> bytes:
        return self.inner.readlink(self._node(node).inner)

    def read(self, node: Node, offset: int, size: int) -> bytes:
        return self.inner.read(self._node(node).inner, offset, size)

    def seek_data(self, node: Node, offset: int, data: bool) -> int:
        return self.inner.seek_data(self._node(node).inner, offset, data)

    def write(self, node: Node, offset: int, data: bytes) -> int:
        self._refuse()

    def truncate(self, node: Node, size: int) -> None:
        self._refuse()

    def create(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        self._refuse()

    def mkdir(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        self._refuse()

    def symlink(self, dir: Node, name: bytes, target: bytes, uid: int, gid: int) -> Node:
        self._refuse()

    def mknod(self, dir: Node, name: bytes, mode: int, rdev: int, uid: int, gid: int) -> Node:
        self._refuse()

    def link(self, node: Node, dir: Node, name: bytes) -> None:
        self._refuse()

    def unlink(self, dir: Node, name: bytes) -> None:
        self._refuse()

    def rmdir(self, dir: Node, name: bytes) -> None:
        self._refuse()

    def rename(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        self._refuse()

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        self._refuse()

    def statfs(self) -> StatFs:
        return self.inner.statfs()
