"""procfs: the first /proc — processes and a few system files, generated on read.

Owns: /proc/self, /proc/<pid>/{stat,statm,status,cmdline,comm,environ,auxv,maps,mounts,
mountinfo,mem,exe,fd/,fdinfo/,task/<tid>/{stat,status,comm,maps,mem},ns/} (mem's reads and
writes: ``procmem``), /proc/mounts,
/proc/{meminfo,uptime,stat,loadavg,vmstat,cpuinfo} (what procps's ps, top, free,
uptime, vmstat and pgrep read, what lsof and debuggers read), /proc/locks (lslocks's),
/proc/config.gz (the kernel configuration, gzipped: zcat's),
/proc/net/{tcp,tcp6,udp,udp6} (netstat's) and /proc/sys (the tunables and more:
``procsys``). Contents come from a ``ProcView`` the machine provides (facts about
processes, memory, mappings and sockets, the machine's counters and sysctl record;
the records are ``procinfo``'s), so this file system never holds state of its own and
never reaches into the kernel by itself.
Never: lets a name be created (ENOENT, as Linux's lookup) or removed (EPERM); lets
anything but root write a /proc/sys file its mode allows (EACCES).
Called by: the VFS, which mounts it at /proc.
"""

from __future__ import annotations

import os
import stat
import time
from typing import TYPE_CHECKING, Callable, NoReturn, Protocol

from cloudos.abi.dataclass import replace
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import MOUNTABLE, Attr, FileSystem, Node, StatFs, dtype
from cloudos.servers.vfs import procsys
from cloudos.servers.vfs.bindfs import BindFs
from cloudos.servers.vfs.hostfs import HostFs
from cloudos.servers.vfs.procsys import SysFiles, SysView

if TYPE_CHECKING:  # (what the view returns: procinfo loads at the first read of /proc)
    from cloudos.servers.vfs.procinfo import Counters, Mapping, ProcInfo, TaskInfo

PROC_SUPER_MAGIC = 0x9FA0
RLIM_INFINITY = (1 << 64) - 1  # stat's rsslim
PID_FILES = ("stat", "statm", "status", "cmdline", "comm", "maps", "environ", "auxv",
             "mounts", "mountinfo", "mem")
PID_LINKS = ("exe", "cwd", "root")
PID_DIRS = {"fd": "fddir", "fdinfo": "fdinfodir", "task": "taskdir", "ns": "nsdir"}
TASK_FILES = ("stat", "status", "comm", "maps", "mem")
SYSTEM_FILES = ("meminfo", "uptime", "stat", "loadavg", "cpuinfo", "vmstat", "locks",
                "config.gz", "filesystems")
STATE_NAMES = {"R": "running", "S": "sleeping", "Z": "zombie", "T": "stopped"}
# The namespaces every process is in (CloudOS makes no others but UTS and mount ones): the
# inode numbers of Linux's initial ones (include/linux/proc_ns.h; net and mnt are
# allocated at boot, these are what a booted Linux shows first)
NS_INIT = {"cgroup": 4026531835, "ipc": 4026531839, "mnt": 4026531841, "net": 4026531840,
           "pid": 4026531836, "pid_for_children": 4026531836, "time": 4026531834,
           "time_for_children": 4026531834, "user": 4026531837, "uts": 4026531838}
# Mount table: Linux's type and source for each file system (a host directory's source
# is its host path; UML's hostfs is the Linux type of the same idea)
MOUNT_TYPES = {"devfs": ("devtmpfs", "devtmpfs"), "tmpfs": ("tmpfs", "tmpfs"),
               "overlay": ("overlay", "overlay"), "proc": ("proc", "proc"),
               "hostfs": ("hostfs", "hostfs")}
FIRST_MOUNT_ID = 21  # the root's; those below are Linux's internal mounts
INTERNAL_MOUNT_ID = 13  # pipefs, sockfs, anon_inodefs: where pipes and sockets live
NET_FILES = ("tcp", "tcp6", "udp", "udp6")  # in /proc/net
SIGCHLD = 17  # a process's exit signal (stat's field 38; a thread's is -1)
SIGNALS_31 = 0x7FFF_FFFF  # stat's signal masks: signals 1-31 (status has them all)
HZ = 100  # clock ticks a second, as USER_HZ (procps reads times in these)
PAGE = 4096


class Memory(Protocol):
    """A process's memory, granted to one opener of /proc/<pid>/mem (procmem.py)."""

    def read(self, addr: int, size: int) -> bytes: ...  # EIO if ``addr`` is unreadable
    def write(self, addr: int, data: bytes) -> int: ...  # even read-only pages


class ProcView(SysView, Protocol):
    def pids(self) -> list[int]: ...
    def info(self, pid: int) -> ProcInfo | None: ...
    # what a stat of /proc/<pid>/... needs, cheaply: (euid, egid, its threads' ids)
    def owner(self, pid: int) -> tuple[int, int, tuple[int, ...]] | None: ...
    def exe(self, pid: int) -> bytes | None: ...  # the path of the program it runs
    def fds(self, pid: int) -> dict[int, bytes]: ...
    def memory(self) -> tuple[int, int]: ...  # total and free bytes
    def uptime(self) -> float: ...
    def cpus(self) -> int: ...  # the machine's vCPUs
    def cpuid(self, leaf: int, subleaf: int) -> tuple[int, int, int, int]: ...  # as guests see it
    def locks(self) -> bytes: ...  # /proc/locks (the VFS's lock table)
    def config(self) -> bytes: ...  # the kernel configuration's text (linux/kconfig.py)
    def net(self, name: str) -> bytes: ...  # /proc/net/NAME (servers/net/procnet.py)
    def counters(self) -> Counters: ...
    def environ(self, pid: int) -> bytes: ...  # its environment strings, from its stack
    def auxv(self, pid: int) -> bytes: ...  # the auxiliary vector its execve gave it
    def cmdline(self, pid: int) -> bytes: ...  # its argument strings, from its stack
    # its memory, for the caller if its file-system ids may ptrace it (else EACCES)
    def open_memory(self, pid: int) -> Memory: ...
    def uts_ns(self, pid: int) -> int: ...  # the inode number of its UTS namespace
    def mnt_ns(self, pid: int) -> int: ...  # that of its mount namespace
    def fdinfo(self, pid: int, fd: int) -> tuple[int, int, int, int, bytes] | None: ...
    # (position, flags with O_CLOEXEC, st_dev, st_ino, its kind's lines) of an open fd
    # mount point (as seen from its root), in mount order, of its mount namespace
    def mounts(self, pid: int) -> list[tuple[bytes, FileSystem]]: ...
    # its working directory's path (or its root's) as the reader sees it
    def cwd(self, pid: int, root: bool = False) -> bytes: ...
    def umask(self, pid: int) -> int: ...




class ProcNode(Node):
    __slots__ = ("kind", "pid", "name")

    def __init__(self, fs: ProcFs, kind: str, pid: int = 0, name: str = "",
                 ino: int = 0) -> None:
        super().__init__(fs, ino or hash((kind, pid, name)) & 0x7FFF_FFFF | 1)
        self.kind, self.pid, self.name = kind, pid, name


# The modes of what a process's directory holds (Linux's fs/proc/base.c)
DIR_MODES = {"root": 0o555, "pid": 0o555, "sysdir": 0o555, "netdir": 0o555, "fddir": 0o500,
             "fdinfodir": 0o500, "taskdir": 0o555, "task": 0o555, "nsdir": 0o511}
FILE_MODES = {"environ": 0o400, "auxv": 0o400, "mem": 0o600}


class ProcFs(FileSystem):
    """/proc, generated from a view of the machine."""

    name = "proc"

    def __init__(self, view: ProcView, caller: Callable[[], int]) -> None:
        super().__init__(readonly=False)
        self.view, self.caller = view, caller
        self._root = ProcNode(self, "root")
        self.born = time.time_ns()
        self.sys = SysFiles(view, caller)

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

    def _task(self, info: ProcInfo, tid: int) -> TaskInfo:
        task = next((t for t in info.tasks if t.tid == tid), None)
        if task is None:
            raise KernelError(Errno.ENOENT, f"no thread {tid}")
        return task

    def getattr(self, node: Node) -> Attr:
        n = self._node(node)
        if n.kind == "sysfile":
            mode = stat.S_IFREG | procsys.MODES[n.name]
        elif n.kind in ("file", "nsfile"):
            mode = stat.S_IFREG | FILE_MODES.get(_base(n.name), 0o444)
        elif n.kind == "link":
            mode = stat.S_IFLNK | 0o777
        else:
            mode = stat.S_IFDIR | DIR_MODES[n.kind]
        uid = gid = 0
        if n.pid:  # (cheap: ls /proc stats every process's directory)
            owner = self.view.owner(n.pid)
            if owner is None:
                raise KernelError(Errno.ENOENT, f"no process {n.pid}")
            uid, gid, tids = owner
            if (n.kind == "task" or n.name.startswith("task/")) \
                    and int(n.name.split("/")[1]) not in tids:
                raise KernelError(Errno.ENOENT, f"no thread {n.name}")
        # (Linux sizes its files 0 but config.gz, whose size is known when it is built)
        size = len(_config_gz(self.view)) if n.kind == "file" and n.name == "config.gz" else 0
        return Attr(n.ino, mode, 2 if stat.S_ISDIR(mode) else 1, uid, gid, size, 0, 1024, 0,
                    self.born, self.born, self.born, self.dev)

    def lookup(self, dir: Node, name: bytes) -> Node:
        d, text = self._node(dir), name.decode(errors="replace")
        found = {"root": self._lookup_root, "pid": self._lookup_pid,
                 "fddir": self._lookup_fd, "fdinfodir": self._lookup_fd,
                 "taskdir": self._lookup_task, "task": self._lookup_task,
                 "nsdir": self._lookup_ns, "sysdir": self._lookup_sys,
                 "netdir": self._lookup_net}.get(d.kind)
        if found is None:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        node = found(d, text)
        if node is None:
            raise KernelError(Errno.ENOENT, text)
        return node

    def _lookup_root(self, d: ProcNode, text: str) -> ProcNode | None:
        if text in ("self", "mounts"):
            return ProcNode(self, "link", 0, text)
        if text in SYSTEM_FILES:
            return ProcNode(self, "file", 0, text)
        if text == "sys":
            return ProcNode(self, "sysdir", 0, "")
        if text == "net":
            return ProcNode(self, "netdir", 0, "net")
        pid = _number(text)
        if pid is not None and self.view.owner(pid) is not None:
            return ProcNode(self, "pid", pid)
        return None

    def _lookup_net(self, d: ProcNode, text: str) -> ProcNode | None:
        return ProcNode(self, "file", 0, f"net/{text}") if text in NET_FILES else None

    def _lookup_pid(self, d: ProcNode, text: str) -> ProcNode | None:
        if text in PID_FILES:
            return ProcNode(self, "file", d.pid, text)
        if text in PID_LINKS:
            return ProcNode(self, "link", d.pid, text)
        if text in PID_DIRS:
            return ProcNode(self, PID_DIRS[text], d.pid, text)
        return None

    def _lookup_fd(self, d: ProcNode, text: str) -> ProcNode | None:
        fd = _number(text)
        if fd is None or fd not in self.view.fds(d.pid):
            return None
        if d.kind == "fdinfodir":
            return ProcNode(self, "file", d.pid, f"fdinfo/{fd}")
        return ProcNode(self, "link", d.pid, f"fd/{fd}")

    def _lookup_task(self, d: ProcNode, text: str) -> ProcNode | None:
        if d.kind == "task":
            return ProcNode(self, "file", d.pid, f"{d.name}/{text}") if text in TASK_FILES \
                else None
        owner = self.view.owner(d.pid)
        tid = _number(text)
        if tid is not None and owner is not None and tid in owner[2]:
            return ProcNode(self, "task", d.pid, f"task/{tid}")
        return None

    def _lookup_ns(self, d: ProcNode, text: str) -> ProcNode | None:
        names = self._namespaces(d.pid)
        if text in names:
            return ProcNode(self, "link", d.pid, f"ns/{text}")
        # what a link names: "uts:[4026531838]", the namespace's file (nsfs's inode)
        kind, _, number = text.partition(":[")
        if kind in names and number == f"{names[kind]}]":
            return ProcNode(self, "nsfile", d.pid, text, ino=names[kind])
        return None

    def _lookup_sys(self, d: ProcNode, text: str) -> ProcNode | None:
        path = f"{d.name}/{text}" if d.name else text
        if path in procsys.DIRS:
            return ProcNode(self, "sysdir", 0, path)
        if path in procsys.MODES:
            return ProcNode(self, "sysfile", 0, path)
        return None

    def _namespaces(self, pid: int) -> dict[str, int]:
        return {**NS_INIT, "uts": self.view.uts_ns(pid), "mnt": self.view.mnt_ns(pid)}

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        d = self._node(dir)
        if d.kind == "root":
            names = ["self", "mounts", *SYSTEM_FILES, "sys", "net"]
            extra = [ProcNode(self, "pid", pid) for pid in self.view.pids()]
        elif d.kind == "pid":
            names, extra = [*PID_FILES, *PID_LINKS, *PID_DIRS], []
        elif d.kind in ("fddir", "fdinfodir"):
            names, extra = [str(fd) for fd in self.view.fds(d.pid)], []
        elif d.kind == "taskdir":
            owner = self.view.owner(d.pid)
            names, extra = [str(tid) for tid in (owner[2] if owner else ())], []
        elif d.kind == "task":
            names, extra = list(TASK_FILES), []
        elif d.kind == "nsdir":
            names, extra = sorted(self._namespaces(d.pid)), []
        elif d.kind == "sysdir":
            names, extra = procsys.children(d.name), []
        elif d.kind == "netdir":
            names, extra = list(NET_FILES), []
        else:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        nodes = [self.lookup(d, name.encode()) for name in names] + extra
        return [(self._entry_name(self._node(n)), n.ino, dtype(self.getattr(n).mode))
                for n in nodes]

    @staticmethod
    def _entry_name(n: ProcNode) -> bytes:
        if n.kind == "pid":
            return str(n.pid).encode()
        if n.kind == "sysdir" and not n.name:
            return b"sys"
        return n.name.rsplit("/", 1)[-1].encode()

    @staticmethod
    def process_dir(node: Node) -> int:
        """The pid of a /proc/<pid> directory (Linux's tgid directories, which
        pidfd_send_signal takes for a pidfd); 0 for any other node."""
        return node.pid if isinstance(node, ProcNode) and node.kind == "pid" else 0

    def fd_link(self, node: Node) -> tuple[int, int] | None:
        """(pid, fd) of a /proc/<pid>/fd/N link, which opening follows to the open file
        itself (Linux's magic link); None for any other node."""
        if isinstance(node, ProcNode) and node.kind == "link" and node.name.startswith("fd/"):
            return node.pid, int(node.name[3:])
        return None

    def magic_link(self, node: Node) -> bool:
        n = self._node(node)
        return n.kind == "link" and n.name not in ("self", "mounts")

    def readlink(self, node: Node) -> bytes:
        n = self._node(node)
        if n.kind != "link":
            raise KernelError(Errno.EINVAL, "not a symbolic link")
        if n.name == "self":
            return str(self.caller()).encode()
        if n.name == "mounts":
            return b"self/mounts"
        if n.name == "exe":  # (cheap: a static glibc program reads it as it starts)
            exe = self.view.exe(n.pid)
            if exe is None:
                raise KernelError(Errno.ENOENT, f"no process {n.pid}")
            return exe
        if n.name in ("cwd", "root"):
            info = self._info(n.pid)
            reader = self.view.info(self.caller())
            if reader is None or not _may_read_memory(reader, info):
                raise KernelError(Errno.EACCES, f"the {n.name} of process {n.pid}")
            return self.view.cwd(n.pid, n.name == "root")
        if n.name.startswith("ns/"):
            kind = n.name[3:]
            return f"{kind.removesuffix('_for_children')}:[{self._namespaces(n.pid)[kind]}]" \
                .encode()
        path = self.view.fds(n.pid).get(int(n.name[3:]))
        if path is None:
            raise KernelError(Errno.ENOENT, "fd closed")
        return path

    def open_memory(self, node: Node) -> Memory | None:
        """What an open of /proc/<pid>/mem reads and writes (Linux checks its opener
        once, here); None for any other node."""
        n = self._node(node)
        if n.kind != "file" or _base(n.name) != "mem":
            return None  # (a thread's, task/<tid>/mem, is its process's memory)
        return self.view.open_memory(n.pid)

    def read(self, node: Node, offset: int, size: int) -> bytes:
        n = self._node(node)
        if n.kind == "sysfile":
            return self.sys.read(n.name)[offset:offset + size]
        if n.kind == "nsfile":
            return b""
        if n.kind != "file":
            raise KernelError(Errno.EISDIR if n.kind != "link" else Errno.EINVAL, n.name)
        return self._content(n)[offset:offset + size]

    def _content(self, n: ProcNode) -> bytes:
        if n.name.startswith("net/"):
            return self.view.net(n.name[4:])
        if n.pid == 0:
            return self._system(n.name)
        if _base(n.name) == "mem":  # (only through its open file, with the opener's grant)
            raise KernelError(Errno.EIO, "/proc/<pid>/mem is read through an open file")
        info = self._info(n.pid)
        if n.pid == self.caller() and info.state == "S":  # it waits for this very read
            info = replace(info, state="R")
        if n.name.startswith("task/"):
            _, tid, name = n.name.split("/")
            task = self._task(info, int(tid))
            if name != "maps":
                return self._task_file(info, task, name)
        if n.name.startswith("fdinfo/"):
            return self._fdinfo(n.pid, int(n.name[7:]))
        if n.name in ("stat", "status", "comm"):
            return self._task_file(info, None, n.name)
        if n.name == "cmdline":
            return self.view.cmdline(n.pid)
        if n.name in ("environ", "auxv"):
            return self._memory_file(info, n.name)
        if _base(n.name) == "maps":  # (a thread's, task/<tid>/maps, its process's)
            return "".join(map(_map_line, info.maps)).encode(errors="surrogateescape")
        if n.name in ("mounts", "mountinfo"):
            return self._mounts(n.pid, n.name == "mountinfo")
        # statm, in pages: size resident shared text lib data dt (as Linux: text is the
        # program's code, data its private writable memory and stack; shared unknown: 0)
        kb = dict(_vm_sizes(info))
        return (f"{kb['VmSize'] // 4} {info.rss_pages} 0 {kb['VmExe'] // 4} 0 "
                f"{(kb['VmData'] + kb['VmStk']) // 4} 0\n").encode()

    def _task_file(self, info: ProcInfo, task: TaskInfo | None, name: str) -> bytes:
        """stat, status or comm of the process (``task`` None) or of one of its threads."""
        main = next((t for t in info.tasks if t.tid == info.pid), None)
        if task is None:
            pid, state, utime, stime, start = (info.pid, info.state, info.utime, info.stime,
                                               info.start)
            comm = info.name
        else:
            pid, state, utime, stime, start = task.tid, task.state, task.utime, task.stime, \
                task.start
            comm = task.name
        if name == "comm":
            return comm.encode() + b"\n"
        from cloudos.servers.vfs.procinfo import TaskInfo  # (loaded by the view's info)

        thread = task or main or TaskInfo(pid, state, 0.0, 0.0, 0.0)
        size = sum(m.end - m.start for m in info.maps)
        if name == "status":
            return self._status(info, comm, state, pid, task or main)
        # proc(5)'s 52 fields: times in clock ticks, the start in ticks after boot
        reader = self.view.info(self.caller())  # addresses: for those who may trace it
        shown = reader is not None and _may_read_memory(reader, info)
        code = [m for m in info.maps if m.prot & 4 and _is(m, info.exe) and shown]
        data = [m for m in info.maps if m.prot & 2 and _is(m, info.exe) and shown]
        _, _, _, ignored, caught = info.signals
        fields = [pid, f"({comm})", state, info.ppid, info.pgid, info.sid,
                  *info.tty, 0, 0, 0, 0, 0, int(utime * HZ), int(stime * HZ), 0, 0,
                  thread.priority, thread.nice, info.threads, 0, int(start * HZ), size,
                  info.rss_pages, RLIM_INFINITY,
                  # (1 for whom may not see them, as Linux: not 0, which means no memory)
                  *((min((m.start for m in code), default=0),
                     max((m.end for m in code), default=0)) if shown else (1, 1)),
                  # (the thread's own pending and blocked, 31 bits, as Linux's do_task_stat)
                  0, 0, 0, thread.pending & SIGNALS_31, thread.blocked & SIGNALS_31,
                  ignored & SIGNALS_31, caught & SIGNALS_31, 0, 0, 0,
                  SIGCHLD if task is None or task.tid == info.pid else -1, thread.cpu,
                  thread.rt_priority, thread.policy, 0, 0, 0,
                  min((m.start for m in data), default=0), max((m.end for m in data), default=0),
                  *((info.brk_start, *info.areas) if shown else (0,) * 5),
                  info.exit_status if state == "Z" and shown else 0]
        return (" ".join(str(f) for f in fields) + "\n").encode()

    def _status(self, info: ProcInfo, comm: str, state: str, pid: int,
                thread: TaskInfo | None) -> bytes:
        """/proc/<pid>/status, in Linux's order (fs/proc/array.c), without what CloudOS
        does not count (peak sizes are the current ones, no context-switch counts);
        SigPnd, SigBlk and the Seccomp lines are ``thread``'s (if None, SigPnd and
        SigBlk are the process's first thread's, the Seccomp lines its leader's)."""
        uids, gids = "\t".join(map(str, info.ids[:4])), "\t".join(map(str, info.ids[4:]))
        fds = self.view.fds(info.pid)
        fd_size = 64
        while fds and max(fds) >= fd_size:
            fd_size *= 2
        kb = _vm_sizes(info)
        cpus = self.view.cpus()
        pending, shared, blocked, ignored, caught = info.signals
        if thread is not None:
            pending, blocked = thread.pending, thread.blocked
        queued = bin(pending).count("1") + bin(shared).count("1")
        task = thread or next((t for t in info.tasks if t.tid == info.pid), None)
        seccomp, filters = task.seccomp if task is not None else (0, 0)
        lines = [("Name", comm), ("Umask", f"{self.view.umask(info.pid):04o}"),
                 ("State", f"{state} ({STATE_NAMES[state]})"), ("Tgid", info.pid),
                 ("Ngid", 0), ("Pid", pid), ("PPid", info.ppid), ("TracerPid", 0),
                 ("Uid", uids), ("Gid", gids), ("FDSize", fd_size),
                 ("Groups", "".join(f"{g} " for g in info.groups) or " "),
                 ("NStgid", info.pid), ("NSpid", pid), ("NSpgid", info.pgid),
                 ("NSsid", info.sid), ("Kthread", 0),
                 *((key, f"{value:8d} kB") for key, value in kb),
                 ("Threads", info.threads), ("SigQ", f"{queued}/{info.sigpending_limit}"),
                 ("SigPnd", f"{pending:016x}"), ("ShdPnd", f"{shared:016x}"),
                 ("SigBlk", f"{blocked:016x}"), ("SigIgn", f"{ignored:016x}"),
                 ("SigCgt", f"{caught:016x}"),
                 *((key, f"{value:016x}") for key, value in
                   zip(("CapInh", "CapPrm", "CapEff", "CapBnd"), info.caps)),
                 ("CapAmb", f"{0:016x}"), ("NoNewPrivs", int(info.no_new_privs)),
                 ("Seccomp", seccomp), ("Seccomp_filters", filters),
                 ("Cpus_allowed", f"{(1 << cpus) - 1:x}"),
                 ("Cpus_allowed_list", "0" if cpus == 1 else f"0-{cpus - 1}")]
        return "".join(f"{key}:\t{value}\n" for key, value in lines).encode()

    def _memory_file(self, info: ProcInfo, name: str) -> bytes:
        """environ (the bytes of its environment on its stack) or auxv (its auxiliary
        vector), for whom Linux's ptrace_may_access (PTRACE_MODE_READ_FSCREDS) lets read
        its memory; EACCES for others."""
        reader = self.view.info(self.caller())
        if reader is None or not _may_read_memory(reader, info):
            raise KernelError(Errno.EACCES, f"the {name} of process {info.pid}")
        return self.view.environ(info.pid) if name == "environ" else self.view.auxv(info.pid)

    def _fdinfo(self, pid: int, fd: int) -> bytes:
        """pos, flags (octal, close-on-exec included), mnt_id and ino, as fs/proc/fd.c,
        then the lines of the file's kind (a pidfd's Pid:)."""
        facts = self.view.fdinfo(pid, fd)
        if facts is None:
            raise KernelError(Errno.ENOENT, "fd closed")
        pos, flags, dev, ino, kind_lines = facts
        mount = next((i for i, (_, fs) in enumerate(self.view.mounts(pid)) if fs.dev == dev),
                     None)
        mnt_id = FIRST_MOUNT_ID + mount if mount is not None else INTERNAL_MOUNT_ID
        return f"pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t{mnt_id}\nino:\t{ino}\n".encode() \
            + kind_lines

    def _mounts(self, pid: int, info: bool) -> bytes:
        """/proc/<pid>/mounts (fstab's format) or mountinfo (proc(5)'s), in mount order."""
        mounts = self.view.mounts(pid)
        lines = []
        for index, (path, fs) in enumerate(mounts):
            kind, source = MOUNT_TYPES.get(fs.name, (fs.name, fs.name))
            if isinstance(fs, HostFs):
                source = fs.host_root
            source = fs.source or source
            opts = "ro" if fs.readonly else "rw"
            root = fs.root_path if isinstance(fs, BindFs) else b"/"
            point = _escape(path)
            if not info:
                lines.append(f"{_escape(source)} {point} {kind} {opts},relatime{fs.options} 0 0\n")
                continue
            parent = max((i for i, (p, _) in enumerate(mounts[:index])
                          if path.startswith(p.rstrip(b"/") + b"/")),
                         key=lambda i: len(mounts[i][0]), default=None)
            parent_id = FIRST_MOUNT_ID + parent if parent is not None else 1
            lines.append(f"{FIRST_MOUNT_ID + index} {parent_id} {os.major(fs.dev)}:"
                         f"{os.minor(fs.dev)} {_escape(root)} {point} {opts},relatime - {kind} "
                         f"{_escape(source)} {opts}{fs.options}\n")
        return "".join(lines).encode(errors="surrogateescape")

    def _system(self, name: str) -> bytes:
        """/proc/stat, /proc/loadavg, /proc/vmstat, /proc/meminfo, /proc/uptime,
        /proc/cpuinfo and /proc/locks, from the processes' times and states, the kernel's
        counters and the VFS's lock table."""
        if name == "locks":
            return self.view.locks()
        if name == "config.gz":
            return _config_gz(self.view)
        if name == "filesystems":  # (mount(8) looks a type up here before it mounts)
            return "".join(f"nodev\t{kind}\n" for kind in MOUNTABLE).encode()
        cpus = self.view.cpus()
        if name == "cpuinfo":  # (a CPU each, as /proc/stat: procps's stat reader needs it)
            from cloudos.servers.vfs import cpuinfo  # (at the first read)
            return cpuinfo.text(self.view.cpuid, cpus)
        if name == "uptime":
            up = self.view.uptime()
            idle = max(0.0, up * cpus - sum(i.utime + i.stime for i in self._infos()))
            return f"{up:.2f} {idle:.2f}\n".encode()
        counters = self.view.counters()
        reader = self.view.info(self.caller())  # it waits for this read: it runs, to Linux
        if reader is not None and reader.state == "S":
            counters = replace(counters, runnable=counters.runnable + 1)
        if name == "loadavg":
            return (f"{counters.loadavg} {counters.runnable}/{counters.threads} "
                    f"{counters.last_pid}\n").encode()
        total, free = self.view.memory()
        if name == "meminfo":
            return "".join(f"{key + ':':<16}{value >> 10:8d} kB\n" for key, value in (
                ("MemTotal", total), ("MemFree", free), ("MemAvailable", free),
                ("Buffers", 0), ("Cached", 0), ("SwapCached", 0), ("Active", 0),
                ("Inactive", 0), ("SwapTotal", 0), ("SwapFree", 0), ("Shmem", 0),
                ("Slab", 0), ("SReclaimable", 0))).encode()
        if name == "vmstat":
            return "".join(f"{key} {value}\n" for key, value in (
                ("nr_free_pages", free // PAGE), ("pgpgin", 0), ("pgpgout", 0),
                ("pswpin", 0), ("pswpout", 0), ("pgfault", counters.page_faults),
                ("pgmajfault", 0))).encode()
        infos = self._infos()
        up = self.view.uptime()
        user = int(sum(i.utime for i in infos) * HZ)
        system = int(sum(i.stime for i in infos) * HZ)
        idle = max(0, int(up * HZ) * cpus - user - system)
        cpu = f"{user} 0 {system} {idle} 0 0 0 0 0 0"
        # (glibc counts the cpuN lines for sysconf(_SC_NPROCESSORS_ONLN), Python's cpu_count)
        each = "".join(f"cpu{n} {user // cpus} 0 {system // cpus} {idle // cpus} 0 0 0 0 0 0\n"
                       for n in range(cpus))
        return (f"cpu  {cpu}\n{each}intr 0\nctxt {counters.context_switches}\n"
                f"btime {int(time.time() - up)}\nprocesses {counters.last_pid}\n"
                f"procs_running {counters.runnable}\nprocs_blocked 0\n").encode()

    def _infos(self) -> list[ProcInfo]:
        return [i for i in map(self.view.info, self.view.pids()) if i is not None]

    # -- /proc/sys ----------------------------------------------------------------------
    def _sys_writable(self, n: ProcNode) -> None:
        info = self.view.info(self.caller())
        self.sys.check_writable(n.name if n.kind == "sysfile" else "",
                                info.ids[1] if info is not None else None)

    def write(self, node: Node, offset: int, data: bytes) -> int:
        n = self._node(node)
        if n.kind != "sysfile":
            raise KernelError(Errno.EACCES, "procfs files are read-only here")
        self._sys_writable(n)
        return self.sys.write(n.name, offset, data)

    def truncate(self, node: Node, size: int) -> None:
        self._sys_writable(self._node(node))  # O_TRUNC of a sysctl file: nothing to cut

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        raise KernelError(Errno.EPERM, "procfs attributes are fixed")

    def statfs(self) -> StatFs:
        return (PROC_SUPER_MAGIC, 4096, 0, 0, 0, 0, 0)

    def _fixed(self, *_: object) -> NoReturn:
        raise KernelError(Errno.EPERM, "procfs names are fixed")

    def _no_new(self, *_: object) -> NoReturn:  # Linux's lookup fails first: ENOENT
        raise KernelError(Errno.ENOENT, "procfs makes no new names")

    create = mkdir = symlink = mknod = link = _no_new  # type: ignore[assignment]
    unlink = rmdir = rename = _fixed  # type: ignore[assignment]


def _config_gz(view: ProcView) -> bytes:
    """/proc/config.gz: the same bytes at every read (no time stamp), so that a reader
    that reads it in pieces gets one gzip stream."""
    import gzip  # (here, not at every start of CloudOS)

    return gzip.compress(view.config(), mtime=0)


def _base(name: str) -> str:
    """A file's name in its directory: "mem" for "task/<tid>/mem"."""
    return name.rsplit("/", 1)[-1]


def _is(m: Mapping, path: bytes) -> bool:
    return m.name.encode(errors="surrogateescape") == path


def _number(text: str) -> int | None:
    """A pid, tid or fd as a name: decimal digits without a leading zero, below 2**31
    (Linux's name_to_int); None for anything else."""
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0") \
            or len(text) > 10 or int(text) >= 1 << 31:
        return None
    return int(text)


def _vm_sizes(info: ProcInfo) -> list[tuple[str, int]]:
    """status's Vm lines in KiB, from the mappings: data is private writable memory but
    the stack, text the program's executable mappings, lib the others'."""
    def kib(maps: list[Mapping]) -> int:
        return sum(m.end - m.start for m in maps) >> 10
    size, rss = kib(info.maps), info.rss_pages * PAGE >> 10
    stack = [m for m in info.maps if m.name == "[stack]"]
    data = [m for m in info.maps if m.prot & 2 and not m.shared and m.name != "[stack]"]
    code = [m for m in info.maps if m.prot & 4 and m.name]
    exe = kib([m for m in code if m.name.encode(errors="surrogateescape") == info.exe])
    return [("VmPeak", size), ("VmSize", size), ("VmLck", 0), ("VmPin", 0), ("VmHWM", rss),
            ("VmRSS", rss), ("VmData", kib(data)), ("VmStk", kib(stack)), ("VmExe", exe),
            ("VmLib", kib(code) - exe), ("VmSwap", 0)]


def _may_read_memory(reader: ProcInfo, target: ProcInfo) -> bool:
    """ptrace_may_access with the reader's file-system ids: itself; its user's (all
    three uids and gids the reader's fsuid and fsgid) while dumpable; CAP_SYS_PTRACE."""
    if reader.pid == target.pid or reader.may_trace:
        return True
    fsuid, fsgid = reader.ids[3], reader.ids[7]
    return target.dumpable and all(i == fsuid for i in target.ids[:3]) \
        and all(i == fsgid for i in target.ids[4:7])


def _escape(text: bytes | str) -> str:
    """A path as the mount files show it: space, tab, newline and backslash in octal
    (other bytes as they are, as Linux's mangle)."""
    raw = text if isinstance(text, bytes) else text.encode()
    for c in b"\\ \t\n":
        raw = raw.replace(bytes([c]), f"\\{c:03o}".encode())
    return raw.decode(errors="surrogateescape")


def _map_line(m: Mapping) -> str:
    """A line as Linux's show_map_vma: the name, if any, in the 74th column."""
    perms = ("r" if m.prot & 1 else "-") + ("w" if m.prot & 2 else "-") \
        + ("x" if m.prot & 4 else "-") + ("s" if m.shared else "p")
    line = (f"{m.start:08x}-{m.end:08x} {perms} {m.offset:08x} {os.major(m.dev):02x}:"
            f"{os.minor(m.dev):02x} {m.ino} ")
    return (line.ljust(73) + m.name if m.name else line) + "\n"
