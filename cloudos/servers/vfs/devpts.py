"""devpts: the file system of pseudo-terminal slaves, mounted at /dev/pts.

Owns: the machine's pseudo-terminals (``servers.tty.pty.Pty``) by index, handing out
the lowest free index to each new master (as Linux's ida), at most PTY_MAX of them;
the names it shows: /dev/pts/ptmx (5:2, mode 0000 as Linux mounts it by default)
and one /dev/pts/N for each pseudo-terminal whose master is open (136:N, owned by the
opener, group tty, mode 0620); an index is free again once both sides are closed.
No name can be created or removed (EPERM).
Never: opens a file or moves data (``servers.vfs.pty`` does).
Called by: the VFS (path operations), and ``servers.vfs.pty`` (allocating, naming).
"""

from __future__ import annotations

import os
import stat
import time
from typing import TYPE_CHECKING, NoReturn

from cloudos.abi.tty import (DEVPTS_SUPER_MAGIC, PTMX_MINOR, PTY_MASTER_MAJOR, PTY_MAX,
                             PTY_SLAVE_MAJOR)
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import Attr, FileSystem, Node, StatFs, dtype

if TYPE_CHECKING:  # (servers.tty.pty loads at the first open of /dev/ptmx: allocate)
    from cloudos.servers.tty.pty import Pty

TTY_GID = 5  # the tty group: devpts's usual gid= mount option
SLAVE_MODE = 0o620
FIRST_SLAVE_INO = 3  # as Linux: the root is 1, ptmx 2, /dev/pts/N is N + 3


class PtsNode(Node):
    __slots__ = ("pty",)

    def __init__(self, fs: DevPts, ino: int, pty: Pty | None = None) -> None:
        super().__init__(fs, ino)
        self.pty = pty


class DevPts(FileSystem):
    """The pseudo-terminals and their slave names."""

    name = "devpts"

    def __init__(self) -> None:
        super().__init__(readonly=False)
        self.born = time.time_ns()
        self._root = PtsNode(self, 1)
        self.ptmx = PtsNode(self, 2)
        self.ptys: dict[int, Pty] = {}       # every pseudo-terminal, by index
        self.names: dict[int, PtsNode] = {}  # those with a name: the master is open

    # -- pseudo-terminals ---------------------------------------------------------------
    def allocate(self, uid: int) -> Pty:
        """A new pseudo-terminal (locked) with the lowest free index; ENOSPC past PTY_MAX."""
        index = next((i for i in range(PTY_MAX) if i not in self.ptys), None)
        if index is None:
            raise KernelError(Errno.ENOSPC, "every pseudo-terminal index is taken")
        from cloudos.servers.tty.pty import Pty

        pty = Pty(index, uid, TTY_GID, SLAVE_MODE, time.time_ns())
        self.ptys[index] = pty
        self.names[index] = PtsNode(self, FIRST_SLAVE_INO + index, pty)
        return pty

    def node_of(self, pty: Pty) -> PtsNode:
        """The slave's node (which an open slave keeps after its name is gone)."""
        return self.names.get(pty.index) or PtsNode(self, FIRST_SLAVE_INO + pty.index, pty)

    def unname(self, pty: Pty) -> None:
        """The master closed: /dev/pts/N goes (Linux's devpts_pty_kill)."""
        self.names.pop(pty.index, None)
        self.forget(pty)

    def forget(self, pty: Pty) -> None:
        """The index is free once neither side is open."""
        if not pty.master_open and pty.slaves == 0 and self.ptys.get(pty.index) is pty:
            del self.ptys[pty.index]

    # -- the file system ------------------------------------------------------------------
    def root(self) -> Node:
        return self._root

    def getattr(self, node: Node) -> Attr:
        assert isinstance(node, PtsNode)
        if node is self._root:
            return Attr(1, stat.S_IFDIR | 0o755, 2, 0, 0, 0, 0, 1024, 0, self.born,
                        self.born, self.born, self.dev)
        if node is self.ptmx:
            return Attr(2, stat.S_IFCHR, 1, 0, 0, 0,
                        os.makedev(PTY_MASTER_MAJOR, PTMX_MINOR), 1024, 0, self.born,
                        self.born, self.born, self.dev)
        pty = node.pty
        assert pty is not None
        return Attr(node.ino, stat.S_IFCHR | pty.mode, 1, pty.uid, pty.gid, 0,
                    os.makedev(PTY_SLAVE_MAJOR, pty.index), 1024, 0, pty.born, pty.born,
                    pty.born, self.dev)

    def lookup(self, dir: Node, name: bytes) -> Node:
        if dir is not self._root:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        if name == b"ptmx":
            return self.ptmx
        node = self.names.get(int(name)) if name.isdigit() and name == b"%d" % int(name) \
            else None
        if node is None:
            raise KernelError(Errno.ENOENT, f"/dev/pts/{name.decode(errors='replace')}")
        return node

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        if dir is not self._root:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        entries = [(b"ptmx", 2, int(dtype(stat.S_IFCHR)))]
        return entries + [(b"%d" % i, n.ino, int(dtype(stat.S_IFCHR)))
                          for i, n in sorted(self.names.items())]

    def readlink(self, node: Node) -> bytes:
        raise KernelError(Errno.EINVAL, "not a symbolic link")

    def read(self, node: Node, offset: int, size: int) -> bytes:
        raise KernelError(Errno.EISDIR if node is self._root else Errno.ENXIO, "devpts")

    def write(self, node: Node, offset: int, data: bytes) -> int:
        raise KernelError(Errno.EISDIR if node is self._root else Errno.ENXIO, "devpts")

    def truncate(self, node: Node, size: int) -> None:
        return None  # O_TRUNC on a terminal changes nothing

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        assert isinstance(node, PtsNode)
        if node.pty is not None:  # chown and chmod (what grantpt once did) are kept
            if mode is not None:
                node.pty.mode = mode & 0o7777
            if uid is not None and uid >= 0:
                node.pty.uid = uid
            if gid is not None and gid >= 0:
                node.pty.gid = gid

    def statfs(self) -> StatFs:
        return (DEVPTS_SUPER_MAGIC, 4096, 0, 0, 0, 0, 0)

    def _fixed(self, *_: object) -> NoReturn:
        raise KernelError(Errno.EPERM, "devpts names are its pseudo-terminals'")

    create = mkdir = symlink = mknod = link = unlink = rmdir = rename = _fixed  # type: ignore[assignment]
