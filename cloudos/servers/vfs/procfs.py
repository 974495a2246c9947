"""procfs: the first /proc — processes and a few system files, generated on read.

Owns: /proc/self (the calling process), /proc/<pid>/{stat,statm,status,cmdline,comm,
maps,exe,fd/}, /proc/meminfo, /proc/uptime, /proc/stat, /proc/loadavg (what procps's
ps, top, free, uptime and pgrep read), /proc/net/{tcp,tcp6,udp,udp6} (netstat's).
Contents come from a ``ProcView`` the machine provides (read-only facts about
processes, memory and sockets), so this file system never
holds state of its own and never reaches into the kernel by itself.
Never: lets anything be written or created (EACCES / EPERM as on Linux).
Called by: the VFS, which mounts it at /proc.
"""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass, field, replace
from typing import Callable, NoReturn, Protocol

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import Attr, FileSystem, Node, StatFs, dtype

PROC_SUPER_MAGIC = 0x9FA0
RLIM_INFINITY = (1 << 64) - 1  # stat's rsslim
PID_FILES = ("stat", "statm", "status", "cmdline", "comm", "maps")
NET_FILES = ("tcp", "tcp6", "udp", "udp6")  # in /proc/net
SYSTEM_FILES = ("meminfo", "uptime", "stat", "loadavg", "cpuinfo")
HZ = 100  # clock ticks a second, as USER_HZ (procps reads times in these)
PAGE = 4096


@dataclass(frozen=True)
class ProcInfo:
    """What /proc shows of one process."""

    pid: int
    name: str
    state: str                  # R, S, Z ...
    ppid: int
    pgid: int
    sid: int
    threads: int
    uid: int
    gid: int
    cmdline: bytes
    exe: bytes
    maps: list[tuple[int, int, int, str]] = field(default_factory=list)  # start, end, prot, name
    rss_pages: int = 0
    utime: float = 0.0
    stime: float = 0.0


class ProcView(Protocol):
    def pids(self) -> list[int]: ...
    def info(self, pid: int) -> ProcInfo | None: ...
    def fds(self, pid: int) -> dict[int, bytes]: ...
    def memory(self) -> tuple[int, int]: ...  # total and free bytes
    def uptime(self) -> float: ...
    def cpus(self) -> int: ...  # the machine's vCPUs
    def net(self, name: str) -> bytes: ...  # /proc/net/NAME (servers/net/procnet.py)


class ProcNode(Node):
    __slots__ = ("kind", "pid", "name")

    def __init__(self, fs: ProcFs, kind: str, pid: int = 0, name: str = "") -> None:
        super().__init__(fs, hash((kind, pid, name)) & 0x7FFF_FFFF | 1)
        self.kind, self.pid, self.name = kind, pid, name


class ProcFs(FileSystem):
    """/proc, generated from a view of the machine."""

    name = "proc"

    def __init__(self, view: ProcView, caller: Callable[[], int]) -> None:
        super().__init__(readonly=False)
        self.view, self.caller = view, caller
        self._root = ProcNode(self, "root")
        self.born = time.time_ns()

    def root(self) -> Node:
        return self._root

    def _node(self, node: Node) -> ProcNode:
        assert isinstance(node, ProcNode)
        return node

    def _info(self, pid: int) -> ProcInfo:
        info = self.view.info(pid)
        if info is None:
            raise KernelError(Errno.ENOENT, f"no process {pid}")
        return info

    def getattr(self, node: Node) -> Attr:
        n = self._node(node)
        mode = {"root": stat.S_IFDIR | 0o555, "pid": stat.S_IFDIR | 0o555,
                "netdir": stat.S_IFDIR | 0o555,
                "fddir": stat.S_IFDIR | 0o500, "link": stat.S_IFLNK | 0o777,
                "file": stat.S_IFREG | 0o444}[n.kind]
        uid = gid = 0
        if n.pid:
            info = self._info(n.pid)
            uid, gid = info.uid, info.gid
        return Attr(n.ino, mode, 2 if stat.S_ISDIR(mode) else 1, uid, gid, 0, 0, 1024, 0,
                    self.born, self.born, self.born, self.dev)

    def lookup(self, dir: Node, name: bytes) -> Node:
        d, text = self._node(dir), name.decode(errors="replace")
        if d.kind == "root":
            if text == "self":
                return ProcNode(self, "link", 0, "self")
            if text in SYSTEM_FILES:
                return ProcNode(self, "file", 0, text)
            if text == "net":
                return ProcNode(self, "netdir", 0, "net")
            if text.isdigit() and self.view.info(int(text)) is not None:
                return ProcNode(self, "pid", int(text))
        elif d.kind == "netdir":
            if text in NET_FILES:
                return ProcNode(self, "file", 0, f"net/{text}")
        elif d.kind == "pid":
            if text in PID_FILES:
                return ProcNode(self, "file", d.pid, text)
            if text == "exe":
                return ProcNode(self, "link", d.pid, "exe")
            if text == "fd":
                return ProcNode(self, "fddir", d.pid)
        elif d.kind == "fddir":
            if text.isdigit() and int(text) in self.view.fds(d.pid):
                return ProcNode(self, "link", d.pid, f"fd/{text}")
        else:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        raise KernelError(Errno.ENOENT, text)

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        d = self._node(dir)
        if d.kind == "root":
            nodes = [self.lookup(d, n.encode()) for n in ("self", "net", *SYSTEM_FILES)]
            nodes += [ProcNode(self, "pid", pid) for pid in self.view.pids()]
        elif d.kind == "pid":
            nodes = [self.lookup(d, n.encode()) for n in (*PID_FILES, "exe", "fd")]
        elif d.kind == "fddir":
            nodes = [ProcNode(self, "link", d.pid, f"fd/{fd}") for fd in self.view.fds(d.pid)]
        elif d.kind == "netdir":
            nodes = [self.lookup(d, n.encode()) for n in NET_FILES]
        else:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        return [(self._entry_name(self._node(n)), n.ino, dtype(self.getattr(n).mode))
                for n in nodes]

    @staticmethod
    def _entry_name(n: ProcNode) -> bytes:
        if n.kind == "pid":
            return str(n.pid).encode()
        return n.name.rsplit("/", 1)[-1].encode()

    def readlink(self, node: Node) -> bytes:
        n = self._node(node)
        if n.kind != "link":
            raise KernelError(Errno.EINVAL, "not a symbolic link")
        if n.name == "self":
            return str(self.caller()).encode()
        if n.name == "exe":
            return self._info(n.pid).exe
        path = self.view.fds(n.pid).get(int(n.name[3:]))
        if path is None:
            raise KernelError(Errno.ENOENT, "fd closed")
        return path

    def read(self, node: Node, offset: int, size: int) -> bytes:
        n = self._node(node)
        if n.kind != "file":
            raise KernelError(Errno.EISDIR if n.kind != "link" else Errno.EINVAL, n.name)
        return self._content(n)[offset:offset + size]

    def _content(self, n: ProcNode) -> bytes:
        if n.name == "meminfo":
            total, free = self.view.memory()
            return (f"MemTotal:       {total >> 10:8d} kB\nMemFree:        {free >> 10:8d} kB\n"
                    f"MemAvailable:   {free >> 10:8d} kB\n").encode()
        if n.name == "uptime":
            up = self.view.uptime()
            return f"{up:.2f} {up:.2f}\n".encode()
        if n.name.startswith("net/"):
            return self.view.net(n.name[4:])
        if n.pid == 0:
            return self._system(n.name)
        info = self._info(n.pid)
        if n.pid == self.caller() and info.state == "S":  # it waits for this very read
            info = replace(info, state="R")
        if n.name == "cmdline":
            return info.cmdline
        if n.name == "maps":
            return "".join(_map_line(*m) for m in info.maps).encode()
        if n.name == "status":
            return (f"Name:\t{info.name}\nState:\t{info.state}\nTgid:\t{info.pid}\n"
                    f"Pid:\t{info.pid}\nPPid:\t{info.ppid}\nUid:\t{info.uid}\t{info.uid}\t"
                    f"{info.uid}\t{info.uid}\nGid:\t{info.gid}\t{info.gid}\t{info.gid}\t"
                    f"{info.gid}\nVmSize:\t{sum(e - s for s, e, _, _ in info.maps) >> 10} kB\n"
                    f"VmRSS:\t{info.rss_pages * 4} kB\n"
                    f"Threads:\t{info.threads}\n").encode()
        size = sum(e - s for s, e, _, _ in info.maps)
        if n.name == "comm":
            return info.name.encode() + b"\n"
        if n.name == "statm":  # pages: size resident shared text lib data dt
            return f"{size // PAGE} {info.rss_pages} 0 0 0 0 0\n".encode()
        ticks = (int(info.utime * HZ), int(info.stime * HZ))
        # proc(5)'s 52 fields; the start time is the boot's (processes keep none)
        fields = [info.pid, f"({info.name})", info.state, info.ppid, info.pgid, info.sid,
                  0, -1, 0, 0, 0, 0, 0, ticks[0], ticks[1], 0, 0, 20, 0, info.threads, 0, 0,
                  size, info.rss_pages, RLIM_INFINITY] + [0] * 27
        return (" ".join(str(f) for f in fields) + "\n").encode()

    def _system(self, name: str) -> bytes:
        """/proc/stat, /proc/loadavg and /proc/cpuinfo, from the processes' times and states."""
        cpus = self.view.cpus()
        if name == "cpuinfo":  # (procps's stat reader needs it: a CPU each, as /proc/stat)
            return b"".join(f"processor\t: {n}\nvendor_id\t: CloudOS\nmodel name\t: x86_64\n"
                            f"physical id\t: 0\ncore id\t\t: {n}\ncpu cores\t: {cpus}\n\n"
                            .encode() for n in range(cpus))
        infos = [i for i in map(self.view.info, self.view.pids()) if i is not None]
        running = sum(1 for i in infos if i.state == "R")
        if name == "loadavg":
            last = max((i.pid for i in infos), default=0)
            return f"0.00 0.00 0.00 {running}/{sum(i.threads for i in infos)} {last}\n".encode()
        up = self.view.uptime()
        user = int(sum(i.utime for i in infos) * HZ)
        system = int(sum(i.stime for i in infos) * HZ)
        idle = max(0, int(up * HZ) * cpus - user - system)
        cpu = f"{user} 0 {system} {idle} 0 0 0 0 0 0"
        # (glibc counts the cpuN lines for sysconf(_SC_NPROCESSORS_ONLN), Python's cpu_count)
        each = "".join(f"cpu{n} {user // cpus} 0 {system // cpus} {idle // cpus} 0 0 0 0 0 0\n"
                       for n in range(cpus))
        return (f"cpu  {cpu}\n{each}intr 0\nctxt 0\nbtime {int(time.time() - up)}\n"
                f"processes {len(infos)}\nprocs_running {running}\nprocs_blocked 0\n").encode()

    def write(self, node: Node, offset: int, data: bytes) -> int:
        raise KernelError(Errno.EACCES, "procfs files are read-only here")

    def truncate(self, node: Node, size: int) -> None:
        raise KernelError(Errno.EACCES, "procfs files are read-only here")

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        raise KernelError(Errno.EPERM, "procfs attributes are fixed")

    def statfs(self) -> StatFs:
        return (PROC_SUPER_MAGIC, 4096, 0, 0, 0, 0)

    def _fixed(self, *_: object) -> NoReturn:
        raise KernelError(Errno.EPERM, "procfs names are fixed")

    create = mkdir = symlink = mknod = link = unlink = rmdir = rename = _fixed  # type: ignore[assignment]


def _map_line(start: int, end: int, prot: int, name: str) -> str:
    perms = ("r" if prot & 1 else "-") + ("w" if prot & 2 else "-") + ("x" if prot & 4 else "-")
    return f"{start:08x}-{end:08x} {perms}p 00000000 00:00 0{' ' * 19}{name}\n"
