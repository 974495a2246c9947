"""devfs: the device files a Linux program expects under /dev.

Owns: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty,
/dev/console, /dev/ptmx (which the VFS opens as a new pseudo-terminal: ``pty``), the
/dev/shm and /dev/pts mount points, and the /dev/fd, /dev/stdin, /dev/stdout,
/dev/stderr links.
The names are fixed: no file can be created or removed (EPERM). /dev/console (and
/dev/tty when the host's stdin is a terminal; else it has none: ENXIO) reads the host's
stdin and writes its stdout until the tty server (issue 6) owns the console.
Never: touches any host file; randomness comes from the host's CSPRNG.
Called by: the VFS, which mounts it at /dev.
"""

from __future__ import annotations

import os
import stat
import time
from typing import NoReturn

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import Attr, FileSystem, Node, StatFs, dtype

DEVPTS_MAGIC = 0x1373  # DEVFS_SUPER_MAGIC
# name: (mode, major, minor) as on Linux (Documentation/admin-guide/devices.txt)
DEVICES = {b"null": (1, 3), b"zero": (1, 5), b"full": (1, 7), b"random": (1, 8),
           b"urandom": (1, 9), b"tty": (5, 0), b"console": (5, 1), b"ptmx": (5, 2)}
LINKS = {b"fd": b"/proc/self/fd", b"stdin": b"/proc/self/fd/0",
         b"stdout": b"/proc/self/fd/1", b"stderr": b"/proc/self/fd/2"}


class DevNode(Node):
    __slots__ = ("name", "mode", "rdev", "target")

    def __init__(self, fs: DevFs, ino: int, name: bytes, mode: int, rdev: int = 0,
                 target: bytes = b"") -> None:
        super().__init__(fs, ino)
        self.name, self.mode, self.rdev, self.target = name, mode, rdev, target


class DevFs(FileSystem):
    """A fixed set of character devices and links."""

    name = "devfs"

    def __init__(self) -> None:
        super().__init__(readonly=False)
        self.born = time.time_ns()
        self._root = DevNode(self, 1, b"", stat.S_IFDIR | 0o755)
        self.nodes: dict[bytes, DevNode] = {}
        for ino, (name, (major, minor)) in enumerate(DEVICES.items(), 2):
            self.nodes[name] = DevNode(self, ino, name, stat.S_IFCHR | 0o666,
                                       os.makedev(major, minor))
        for ino, (name, target) in enumerate(LINKS.items(), 2 + len(DEVICES)):
            self.nodes[name] = DevNode(self, ino, name, stat.S_IFLNK | 0o777, target=target)
        # where POSIX shared memory lives, and pseudo-terminals' slaves: the machine
        # mounts a tmpfs and a devpts on them
        ino = 2 + len(DEVICES) + len(LINKS)
        self.nodes[b"shm"] = DevNode(self, ino, b"shm", stat.S_IFDIR | 0o1777)
        self.nodes[b"pts"] = DevNode(self, ino + 1, b"pts", stat.S_IFDIR | 0o755)

    def root(self) -> Node:
        return self._root

    def is_terminal(self, node: Node) -> bool:
        """/dev/tty and /dev/console: the VFS opens them as the console itself."""
        return isinstance(node, DevNode) and node.name in (b"tty", b"console")

    def is_tty(self, node: Node) -> bool:
        """/dev/tty: the caller's controlling terminal."""
        return isinstance(node, DevNode) and node.name == b"tty"

    def is_ptmx(self, node: Node) -> bool:
        """/dev/ptmx: the VFS opens it as a new pseudo-terminal's master."""
        return isinstance(node, DevNode) and node.name == b"ptmx"

    def device(self, rdev: int) -> Node | None:
        """The character device numbered ``rdev``, for a device node made elsewhere."""
        for node in self.nodes.values():
            if stat.S_ISCHR(node.mode) and node.rdev == rdev:
                return node
        return None

    def getattr(self, node: Node) -> Attr:
        assert isinstance(node, DevNode)
        nlink = 2 if node is self._root else 1
        return Attr(node.ino, node.mode, nlink, 0, 0, len(node.target), node.rdev, 4096, 0,
                    self.born, self.born, self.born, self.dev)

    def lookup(self, dir: Node, name: bytes) -> Node:
        if dir is not self._root:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        node = self.nodes.get(name)
        if node is None:
            raise KernelError(Errno.ENOENT, f"/dev/{name.decode(errors='replace')}")
        return node

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        if dir is not self._root:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        return [(n.name, n.ino, dtype(n.mode)) for n in self.nodes.values()]

    def readlink(self, node: Node) -> bytes:
        assert isinstance(node, DevNode)
        if not node.target:
            raise KernelError(Errno.EINVAL, "not a symbolic link")
        return node.target

    def read(self, node: Node, offset: int, size: int) -> bytes:
        assert isinstance(node, DevNode)
        if node is self._root:
            raise KernelError(Errno.EISDIR, "/dev")
        if node.name == b"null":
            return b""
        if node.name in (b"zero", b"full"):
            return bytes(size)
        if node.name in (b"random", b"urandom"):
            return os.urandom(min(size, 1 << 25))
        return os.read(0, min(size, 1 << 20))  # tty, console: the host's terminal

    def write(self, node: Node, offset: int, data: bytes) -> int:
        assert isinstance(node, DevNode)
        if node.name == b"full":
            raise KernelError(Errno.ENOSPC, "/dev/full")
        if node.name in (b"tty", b"console"):
            return os.write(1, data)
        return len(data)

    def truncate(self, node: Node, size: int) -> None:
        return None  # truncating a device is a no-op, as O_TRUNC on /dev/null is

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        return None

    def statfs(self) -> StatFs:
        return (DEVPTS_MAGIC, 4096, 0, 0, 0, len(self.nodes), 0)

    def _fixed(self, *_: object) -> NoReturn:
        raise KernelError(Errno.EPERM, "devfs names are fixed")

    create = mkdir = symlink = mknod = link = unlink = rmdir = rename = _fixed  # type: ignore[assignment]
