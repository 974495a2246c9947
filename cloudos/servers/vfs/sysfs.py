"""sysfs: /sys, the machine's devices as Linux's sysfs shows them (read-only).

Owns: which files /sys has and what they read: the CPUs under devices/system/cpu
(``online``, ``possible``, ``present``, ``offline``, ``isolated``, ``kernel_max``, and a
directory per CPU with its ``topology``: one package and one die, a core per CPU, no
SMT siblings, as the machine's vCPUs are), below the top-level directories Linux
always has (block, bus, class, dev, devices, firmware, fs, kernel, module, power).
glibc's sysconf(_SC_NPROCESSORS_ONLN/_CONF) reads ``online`` and ``possible``;
lscpu, ps and top read the rest.
The machine's CPUs are fixed at boot, so the tree never changes and every file is
read-only (0444: Linux's cpuN/online is 0644, and writing it takes a CPU off line,
which a CloudOS machine cannot). Attributes are sized 4096 and directories count
their subdirectories in st_nlink, as kernfs does.
Never: shows the host's devices; has NUMA nodes, cgroups or transparent huge pages
(linux/kconfig.py: the mempolicy calls are ENOSYS, and CloudOS has neither cgroups nor
huge pages, so Linux built that way would have none of those directories either).
Called by: the machine, which mounts it on /sys (the sandbox leaves the mount point).
"""

from __future__ import annotations

import stat
import time

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import UNTIL_CHANGED, Attr, DType, FileSystem, Node, StatFs

SYSFS_MAGIC = 0x62656572
KERNEL_MAX = 8191  # NR_CPUS - 1 of x86_64's defconfig (MAXSMP off): kernel_max's value
ATTR_SIZE = 4096  # what stat reports for every attribute (a page: kernfs's)
TOP = ("block", "bus", "class", "dev", "devices", "firmware", "fs", "kernel", "module",
       "power")


class SysNode(Node):
    """A directory (``text`` None, ``names`` its entries) or an attribute (``text``)."""

    __slots__ = ("text", "names")

    def __init__(self, fs: SysFs, ino: int, text: bytes | None) -> None:
        super().__init__(fs, ino)
        self.text = text
        self.names: dict[bytes, SysNode] = {}


def cpu_list(cpus: range) -> bytes:
    """A CPU list as sysfs prints one ("0-3", "0", "" when empty), with its newline."""
    if not cpus:
        return b"\n"
    if len(cpus) == 1:
        return b"%d\n" % cpus[0]
    return b"%d-%d\n" % (cpus[0], cpus[-1])


def cpu_mask(cpus: range, width: int) -> bytes:
    """A CPU mask as sysfs prints one: hex, ``width`` bits (the possible CPUs) wide, in
    32-bit words separated by commas ("3" for CPUs 0-1 of 2, "000000ff,ffffffff")."""
    mask = sum(1 << cpu for cpu in cpus)
    digits = f"{mask:0{(width + 3) // 4}x}"
    words: list[str] = []
    while digits:
        words.insert(0, digits[-8:])
        digits = digits[:-8]
    return ",".join(words).encode() + b"\n"


class SysFs(FileSystem):
    """/sys of a machine with ``cpus`` vCPUs."""

    name = "sysfs"
    cache_ttl_ns = UNTIL_CHANGED  # (the tree never changes)

    def __init__(self, cpus: int) -> None:
        super().__init__(readonly=True)
        self.cpus = cpus
        self.born = time.time_ns()
        self._inos = 1
        self._root = self._dir()
        self._tree: SysNode | None = None

    def _dir(self) -> SysNode:
        self._inos += 1
        return SysNode(self, self._inos, None)

    def _add(self, path: str, text: bytes | None = None) -> SysNode:
        """The node at ``path`` below the root, made with its missing directories: an
        attribute reading ``text``, or a directory when ``text`` is None."""
        here = self._root
        *dirs, last = path.encode().split(b"/")
        for name in dirs:
            here = here.names.get(name) or here.names.setdefault(name, self._dir())
        if text is None:
            return here.names.get(last) or here.names.setdefault(last, self._dir())
        self._inos += 1
        node = here.names[last] = SysNode(self, self._inos, text)
        return node

    def _build(self) -> SysNode:
        """The tree, made at the first look (most runs never look at /sys)."""
        if self._tree is None:
            for name in TOP:
                self._add(name)
            cpus = range(self.cpus)
            base = "devices/system/cpu"
            for name, text in (("online", cpu_list(cpus)), ("possible", cpu_list(cpus)),
                               ("present", cpu_list(cpus)), ("offline", b"\n"),
                               ("isolated", b"\n"), ("kernel_max", b"%d\n" % KERNEL_MAX)):
                self._add(f"{base}/{name}", text)
            for cpu in cpus:
                if cpu:  # (the boot CPU has no online file on x86: it cannot go off line)
                    self._add(f"{base}/cpu{cpu}/online", b"1\n")
                alone, every = range(cpu, cpu + 1), cpus
                for name, text in (
                        ("physical_package_id", b"0\n"), ("die_id", b"0\n"),
                        ("core_id", b"%d\n" % cpu), ("cluster_id", b"65535\n"),
                        ("thread_siblings", cpu_mask(alone, self.cpus)),
                        ("thread_siblings_list", cpu_list(alone)),
                        ("core_cpus", cpu_mask(alone, self.cpus)),
                        ("core_cpus_list", cpu_list(alone)),
                        ("cluster_cpus", cpu_mask(alone, self.cpus)),
                        ("cluster_cpus_list", cpu_list(alone)),
                        ("core_siblings", cpu_mask(every, self.cpus)),
                        ("core_siblings_list", cpu_list(every)),
                        ("die_cpus", cpu_mask(every, self.cpus)),
                        ("die_cpus_list", cpu_list(every)),
                        ("package_cpus", cpu_mask(every, self.cpus)),
                        ("package_cpus_list", cpu_list(every))):
                    self._add(f"{base}/cpu{cpu}/topology/{name}", text)
            self._tree = self._root
        return self._tree

    def _node(self, node: Node) -> SysNode:
        assert isinstance(node, SysNode) and node.fs is self
        return node

    def root(self) -> Node:
        return self._root

    def getattr(self, node: Node) -> Attr:
        n = self._node(node)
        if n.text is None:
            self._build()
            subdirs = sum(1 for child in n.names.values() if child.text is None)
            mode, nlink, size = stat.S_IFDIR | 0o755, 2 + subdirs, 0
        else:
            mode, nlink, size = stat.S_IFREG | 0o444, 1, ATTR_SIZE
        return Attr(n.ino, mode, nlink, 0, 0, size, 0, 4096, 0, self.born, self.born,
                    self.born, self.dev)

    def lookup(self, dir: Node, name: bytes) -> Node:
        d = self._node(dir)
        if d.text is not None:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        self._build()
        found = d.names.get(name)
        if found is None:
            raise KernelError(Errno.ENOENT, f"no {name!r} in sysfs")
        return found

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        d = self._node(dir)
        if d.text is not None:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        self._build()
        return [(name, child.ino, DType.REG if child.text is not None else DType.DIR)
                for name, child in sorted(d.names.items())]

    def readlink(self, node: Node) -> bytes:
        raise KernelError(Errno.EINVAL, "not a symlink")

    def read(self, node: Node, offset: int, size: int) -> bytes:
        n = self._node(node)
        if n.text is None:
            raise KernelError(Errno.EISDIR, "a directory")
        return n.text[offset:offset + size]

    def statfs(self) -> StatFs:
        return (SYSFS_MAGIC, 4096, 0, 0, 0, 0, 0)

    def _read_only(self, *_: object, **__: object) -> None:
        self._check_writable()
        raise KernelError(Errno.EACCES, "sysfs attributes are read-only")

    write = truncate = setattr = _read_only  # type: ignore[assignment]
    create = mkdir = symlink = mknod = link = _read_only  # type: ignore[assignment]
    unlink = rmdir = rename = _read_only  # type: ignore[assignment]
