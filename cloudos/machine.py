"""A whole machine: the kernel, the Linux personality, and the user-space servers.

Owns: the order of bring-up (boot; seal the system call table; start the
servers — vfs and the reincarnation server rs — and give the personality its
capability on the VFS port; start init; run), the default namespace (the
host's / read-only with a tmpfs on top, devfs on /dev, extra mounts), and the
reports (per-syscall statistics, the scheduler trace).
It is the one module that imports both ``linux`` and ``servers``: they meet
only through IPC. Called by: the CLI and the tests.
"""

from __future__ import annotations

import functools
import os
import signal as host_signal
import time
from typing import TYPE_CHECKING, Iterable, NamedTuple, Sequence, TextIO, cast

from cloudos.abi import sysctl
from cloudos.abi.dataclass import dataclass
from cloudos.hal.ram import DEFAULT_SIZE
from cloudos.errno import Errno, KernelError
from cloudos.hal.console import KernelLog
from cloudos.kernel.boot import Kernel
from cloudos.kernel.cap import Right
from cloudos.kernel.ipc import Message
from cloudos.kernel.mm.vm import SegFault
from cloudos.kernel.task import Policy, Process, State, Thread
from cloudos.linux import loadavg, process, signals, switch, vdso
from cloudos.linux import maps as mapped
from cloudos.linux.creds import CAP_SYS_PTRACE, Creds
from cloudos.linux.signals import SIG_DFL, SIG_IGN
from cloudos.linux.pagecache import cache_of
from cloudos.linux.personality import LinuxPersonality
from cloudos.linux.process import (RLIM_INFINITY, RLIMIT_FSIZE, RLIMIT_MSGQUEUE, RLIMIT_NOFILE,
                                   LinuxProcess, LinuxThread)
from cloudos.linux.syscalls import sys_file, sys_fork, sys_ptrace
from cloudos.linux.syscalls.sys_ptrace import RemoteMemory
from cloudos.linux.syscalls.sys_fork import wait_status
from cloudos.linux.syscalls.sys_cloudos import native_handlers
from cloudos.linux.syscalls.sys_proc import UTS_RELEASE
from cloudos.linux.syscalls.table import handlers, table
from cloudos.linux.elf import ExecError
from cloudos.sandbox import Mount, Sandbox, name_files
from cloudos.servers import rs
from cloudos.servers.net import start as netserver
from cloudos.servers.vfs import pty
from cloudos.servers.runtime import Request, ServerApi, ServerRuntime
from cloudos.servers.vfs.console import Console, ConsoleInterrupt
from cloudos.servers.vfs.files import FdTable, OpenFiles
from cloudos.servers.vfs.locks import proc_locks
from cloudos.servers.vfs.paths import Namespace, Walk, is_dir, path_of, relative
from cloudos.servers.vfs.fs import FileSystem
from cloudos.servers.vfs.procfs import NS_INIT, ProcFs
from cloudos.servers.vfs.sysfs import SysFs
from cloudos.servers.vfs.perm import EVERY_CAP, ROOT, Who
from cloudos.abi.signal import SI_MESGQ, SIGIO
from cloudos.abi.flags import OwnerType
from cloudos.abi.vfs import ConsoleInput, ExecRead, Op, Spawn
from cloudos.servers.vfs.server import (AT_FDCWD, VFS_ID, Proc, Vfs, VfsState, fd_info,
                                        fd_paths, serve)
from cloudos.servers.tty.ldisc import LineDiscipline, Termios
from cloudos.servers.vfs.tmpfs import size_to_ram

if TYPE_CHECKING:  # (procinfo loads at the first read of /proc, not at every start)
    from cloudos.servers.vfs.procinfo import Counters, ProcInfo

__all__ = ["Machine", "Mount", "Sandbox", "Start", "default_namespace"]


def default_namespace(sandbox: Sandbox = Sandbox()) -> Namespace:
    """The guest's mount table as ``sandbox`` describes it (the default: the host's system
    directories without their secrets, under a tmpfs); the machine adds /proc."""
    return sandbox.namespace()


@dataclass(frozen=True)
class Start:
    """How init starts: its directory, identity and limits, and when the machine stops it."""

    workdir: str = "/"
    uid: int = os.getuid()
    gid: int = os.getgid()
    rlimits: tuple[tuple[int, int], ...] = ()  # (RLIMIT_*, value): soft and hard
    timeout: float | None = None   # wall-clock seconds, then every process is killed
    cpu_time: int | None = None    # RLIMIT_CPU of every process (enforced here)
    hostname: str = "cloudos"      # the node name of its UTS namespace


UTS_INIT_INO = NS_INIT["uts"]
EXIT_TIMEOUT = 124  # timeout(1)'s status when the time ran out
POLL_MSG = 3  # an I/O signal's si_code: an input message (dnotify's)
POLLIN, POLLRDNORM, POLLMSG = 0x1, 0x40, 0x400  # its si_band
CPU_CHECK = 0.1     # seconds between checks of the processes' CPU time
HALT_POLL = 0.05    # seconds between looks at the halts host signals asked for
RLIMIT_CPU = 0


# What init's program is: (path, program, loader, #! argv prefix, page-cache identities,
# the loader's path)
Found = tuple[bytes, bytes, bytes | None, tuple[bytes, ...], tuple[object, ...], bytes]


class SetupError(Exception):
    """The machine cannot start the program as asked (a working directory that is not there)."""


def _check_format(program: str, data: bytes) -> None:
    """A clear word for a file that is no Linux program, before the ELF loader's."""
    if data.startswith(b"MZ"):
        raise ExecError(Errno.ENOEXEC, f"{program}: a Windows program (PE): CloudOS runs "
                                       "Linux x86_64 programs")
    if not data.startswith(b"\x7fELF"):
        raise ExecError(Errno.ENOEXEC, f"{program}: not a program (no ELF header, no #! line)")


class Slice(NamedTuple):
    """One stretch of a thread on a CPU: an entry of the scheduler's trace."""

    start: float       # seconds since boot
    duration: float    # seconds
    pid: int
    tid: int
    level: int         # its MLFQ level
    reason: str        # why it ended: quantum, preempt, block, yield, exit, trap
    cpu: int


STATES = {State.RUNNING: "R", State.READY: "R", State.BLOCKED: "S",
          State.TERMINATED: "Z", State.CREATED: "R"}


RLIMIT_SIGPENDING = 11


def _areas(p: Process) -> tuple[int, int, int, int]:
    """Where execve put its argument and environment strings (stat's arg_start, arg_end,
    env_start, env_end)."""
    linux = p.personality
    if not isinstance(linux, LinuxProcess) or linux.env_area == (0, 0):
        return (0, 0, 0, 0)
    env_start, env_end = linux.env_area
    return env_start - len(p.cmdline), env_start, env_start, env_end


def _rlimit(p: Process, resource: int) -> int:
    linux = p.personality
    return linux.rlimits[resource][0] if isinstance(linux, LinuxProcess) else 0


def _signal_mask(signals: Iterable[int]) -> int:
    """Signals as status's bit masks (signal n is bit n - 1)."""
    return sum(1 << (sig - 1) for sig in set(signals))


def _thread_signals(t: Thread) -> tuple[int, int]:
    """A thread's own pending signals (sent to it alone: tgkill) and those it blocks."""
    state = t.personality
    if not isinstance(state, LinuxThread):
        return (0, 0)
    return _signal_mask(state.pending.infos), state.sigmask


def _signals(p: Process) -> tuple[int, int, int, int, int]:
    """(pending for its first thread, pending for the process, blocked by its first
    thread, ignored, caught), as status's bit masks."""
    linux = p.personality
    if not isinstance(linux, LinuxProcess) or not p.threads:
        return (0, 0, 0, 0, 0)
    mine, blocked = _thread_signals(p.threads[0])
    handlers = {sig: int.from_bytes(raw[:8], "little") for sig, raw in linux.sigactions.items()}
    return (mine, _signal_mask(linux.pending_set.infos), blocked,
            _signal_mask(s for s, h in handlers.items() if h == SIG_IGN),
            _signal_mask(s for s, h in handlers.items() if h not in (SIG_DFL, SIG_IGN)))


def _thread_name(t: Thread) -> str:
    """A thread's comm: its own (prctl PR_SET_NAME), or its process's."""
    state = t.personality
    name = state.comm if isinstance(state, LinuxThread) else b""
    return name.decode(errors="replace") if name else t.process.name


def _priority(t: Thread) -> tuple[int, int]:
    """proc(5)'s priority and nice: 20 + nice, or -1 - the real-time priority."""
    if t.policy in (Policy.FIFO, Policy.RR):
        return -1 - t.rt_priority, 0
    return 20 + t.nice, t.nice


def _seccomp(t: Thread) -> tuple[int, int]:
    """A thread's seccomp mode and number of filters (``linux.seccomp``'s state)."""
    state = t.personality.seccomp if isinstance(t.personality, LinuxThread) else None
    return (0, 0) if state is None else (int(state.mode), state.count)


def _thread_start(t: Thread, default: float) -> float:
    state = t.personality
    return state.started if isinstance(state, LinuxThread) and state.started else default


class KernelProcView:
    """The facts /proc shows, read from the kernel's tables and the VFS's fd tables."""

    def __init__(self, kernel: Kernel, vfs: VfsState) -> None:
        self.kernel, self.vfs = kernel, vfs
        self.net_boot: netserver.NetBoot | None = None  # the net server's (/proc/net)
        self.init_uts = process.Uts()
        self.namespaces: dict[int, int] = {}  # other UTS namespaces' inode numbers

    def pids(self) -> list[int]:
        return sorted(self.kernel.processes)

    def owner(self, pid: int) -> tuple[int, int, tuple[int, ...]] | None:
        p = self.kernel.processes.get(pid)
        if p is None:
            return None
        linux = p.personality  # (Linux's task_dump_owner: the effective ids)
        ids = (linux.creds.euid, linux.creds.egid) if isinstance(linux, LinuxProcess) else (0, 0)
        return (*ids, tuple(t.tid for t in p.threads if t.state is not State.TERMINATED))

    def exe(self, pid: int) -> bytes | None:
        p = self.kernel.processes.get(pid)
        return None if p is None else p.exe

    def info(self, pid: int) -> ProcInfo | None:
        from cloudos.servers.vfs.procinfo import Mapping, ProcInfo, TaskInfo

        p = self.kernel.processes.get(pid)
        if p is None:
            return None
        live = [t for t in p.threads if t.state is not State.TERMINATED]
        state = "Z" if p.zombie else min((STATES[t.state] for t in live), default="S")
        user, system = process.cputimes(p)
        linux = p.personality  # a server process has no Linux state: root's ids
        c = linux.creds if isinstance(linux, LinuxProcess) else Creds.of(0, 0)
        start = linux.started if isinstance(linux, LinuxProcess) else 0.0
        if isinstance(linux, LinuxProcess) and linux.stopped and not p.zombie:
            state = "T"
        maps = [] if p.zombie else [Mapping(first, last, v.prot, v.shared, name, *where)
                                    for v in p.aspace.vmas
                                    for first, last, name, *where in mapped.describe(p.aspace, v)]
        tasks = tuple(TaskInfo(t.tid, state if state in "TZ" else STATES[t.state],
                               t.user_time, t.sys_time, _thread_start(t, start),
                               _thread_name(t), *_priority(t), t.cpu, t.rt_priority,
                               int(t.policy), *_thread_signals(t), _seccomp(t))
                      for t in live)
        return ProcInfo(pid, p.name, state, p.ppid, p.pgid, p.sid, len(live), c.uid, c.gid,
                        p.cmdline, p.exe, maps, 0 if p.zombie else p.aspace.resident,
                        user, system, start, tasks,
                        (c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid),
                        c.capable(CAP_SYS_PTRACE),
                        not isinstance(linux, LinuxProcess) or linux.dumpable == 1,
                        c.groups, (c.inheritable, c.permitted, c.effective, c.bounding),
                        isinstance(linux, LinuxProcess) and linux.no_new_privs,
                        _signals(p), _rlimit(p, RLIMIT_SIGPENDING),
                        0 if p.zombie else p.aspace.brk_start, _areas(p), wait_status(p),
                        pty.session_terminal(self.vfs, p.sid))

    def fds(self, pid: int) -> dict[int, bytes]:
        return fd_paths(self.vfs, pid)

    def memory(self) -> tuple[int, int]:
        return self.kernel.frames.total_bytes, self.kernel.frames.free_bytes

    def uptime(self) -> float:
        return time.time() - self.kernel.boot_time

    def locks(self) -> bytes:
        return proc_locks(self.vfs.locks)

    def cpus(self) -> int:
        return len(self.kernel.cpus)

    def cpuid(self, leaf: int, subleaf: int) -> tuple[int, int, int, int]:
        return self.kernel.cpu.cpuid(leaf, subleaf)

    def config(self) -> bytes:
        from cloudos.linux import kconfig  # (at the first read of /proc/config.gz)

        return kconfig.text()

    def sysctl(self) -> sysctl.Sysctl:
        return sysctl.of(self.kernel)

    def _uts(self, pid: int) -> process.Uts:
        p = self.kernel.processes.get(pid)
        linux = p.personality if p is not None else None
        # a server or the machine itself (pid 0) reads the first namespace, init's
        return linux.uts if isinstance(linux, LinuxProcess) else self.init_uts

    def uts(self, pid: int) -> tuple[bytes, bytes]:
        uts = self._uts(pid)
        return uts.nodename, uts.domainname

    def set_uts(self, pid: int, nodename: bytes | None, domainname: bytes | None) -> None:
        uts = self._uts(pid)
        uts.nodename = uts.nodename if nodename is None else nodename
        uts.domainname = uts.domainname if domainname is None else domainname

    def release(self) -> tuple[bytes, bytes]:
        return UTS_RELEASE[0], UTS_RELEASE[1]

    def counters(self) -> Counters:
        from cloudos.servers.vfs.procinfo import Counters

        kernel = self.kernel
        return Counters(loadavg.text(kernel), loadavg.runnable(kernel), len(kernel.threads()),
                        kernel.next_pid - 1, kernel.profile.context_switches,
                        kernel.profile.page_faults)

    def environ(self, pid: int) -> bytes:
        p = self.kernel.processes.get(pid)
        if p is None or p.zombie or not isinstance(p.personality, LinuxProcess):
            return b""  # a zombie's memory is gone: Linux reads nothing either
        start, end = p.personality.env_area
        try:
            return p.aspace.copy_in(start, end - start)
        except SegFault:  # the program unmapped its stack
            return b""

    def auxv(self, pid: int) -> bytes:
        p = self.kernel.processes.get(pid)
        if p is None or p.zombie or not isinstance(p.personality, LinuxProcess):
            return b""  # (a zombie's is gone with its memory, as on Linux)
        return p.personality.auxv

    def cmdline(self, pid: int) -> bytes:
        p = self.kernel.processes.get(pid)
        if p is None or p.zombie:
            return b""  # as Linux: a zombie has no memory to read its arguments from
        linux = p.personality
        if not isinstance(linux, LinuxProcess) or linux.env_area == (0, 0):
            return p.cmdline
        env_start, env_end = linux.env_area
        arg_start = env_start - len(p.cmdline)  # execve put them just below
        try:
            args = p.aspace.copy_in(arg_start, env_start - arg_start)
            if args[-1:] != b"\0":  # setproctitle wrote over the end: one string, which
                # may run on into the environment (Linux's get_mm_proctitle), with its NUL
                title = p.aspace.copy_in(arg_start, env_end - arg_start)
                args = title[:title.index(b"\0") + 1] if b"\0" in title else title
        except SegFault:
            return b""
        return args

    def open_memory(self, pid: int) -> RemoteMemory:
        """Process ``pid``'s memory for the caller, if it may ptrace it with its
        file-system ids (sys_ptrace.open_memory: EACCES otherwise)."""
        target = self.kernel.processes.get(pid)
        opener = self.kernel.processes.get(self.vfs.caller)
        if target is None:
            raise KernelError(Errno.ESRCH, f"no process {pid}")
        if target.zombie:  # no memory left: Linux opens it, and reads and writes nothing
            return RemoteMemory(target)
        if opener is None or not isinstance(opener.personality, LinuxProcess) \
                or not isinstance(target.personality, LinuxProcess):
            raise KernelError(Errno.EACCES, f"the memory of process {pid}")
        return sys_ptrace.open_memory(opener, target)

    def uts_ns(self, pid: int) -> int:
        uts = self._uts(pid)
        if uts is self.init_uts:
            return UTS_INIT_INO
        return self.namespaces.setdefault(id(uts), UTS_INIT_INO + 0x100 + len(self.namespaces))

    def mnt_ns(self, pid: int) -> int:
        proc = self.vfs.procs.get(pid)
        ns = proc.namespace(self.vfs.namespace) if proc is not None else self.vfs.namespace
        return ns.ino or NS_INIT["mnt"]

    def fdinfo(self, pid: int, fd: int) -> tuple[int, int, int, int, bytes] | None:
        return fd_info(self.vfs, pid, fd)

    def mounts(self, pid: int) -> list[tuple[bytes, FileSystem]]:
        """Those of its namespace that it sees from its root (chroot), by the path there."""
        proc = self.vfs.procs.get(pid)
        if proc is None:
            return list(self.vfs.namespace.mounts.items())
        top = path_of(proc.top(self.vfs.namespace)).rstrip(b"/")
        return [(path[len(top):] or b"/", fs)
                for path, fs in proc.namespace(self.vfs.namespace).mounts.items()
                if path == top or path.startswith(top + b"/") or not top]

    def umask(self, pid: int) -> int:
        proc = self.vfs.procs.get(pid)
        return proc.umask if proc is not None else 0o022

    def cwd(self, pid: int, root: bool = False) -> bytes:
        """The path of its working directory (or root), as the process reading /proc sees
        it from its own root (Linux's d_path: "(unreachable)/..." outside it)."""
        proc = self.vfs.procs.get(pid)
        if proc is None:
            raise KernelError(Errno.ENOENT, f"process {pid} has no working directory")
        reader = self.vfs.procs.get(self.vfs.caller)
        top = reader.top(self.vfs.namespace) if reader is not None \
            else self.vfs.namespace.root()
        return relative(proc.top(self.vfs.namespace) if root else proc.cwd, top)
    def net(self, name: str) -> bytes:
        from cloudos.servers.net import procnet  # (with the net stack's code: net/start.py)
        from cloudos.servers.net.inet import NetState
        stack = self.net_boot.stack if self.net_boot is not None else None
        return procnet.render(stack or NetState(), name, os.getuid(),
                              lambda file: file.inet.handle)


class Machine:
    """One virtual machine running Linux programs."""

    def __init__(self, mem: int = DEFAULT_SIZE, log: KernelLog | None = None,
                 sandbox: Sandbox = Sandbox(),
                 crash: dict[str, tuple[int, int]] | None = None, files: bool = True,
                 aslr: str = "boot", cpus: int = 1,
                 preempt_stress: int | None = None, network: str = "none",
                 publish: Sequence[tuple[str, int, int, bool]] = ()) -> None:
        self.kernel = kernel = Kernel(mem, log, cpus)
        if preempt_stress is not None:
            for cpu in kernel.cpus:
                cpu.stress(preempt_stress + cpu.index)
        kernel.install_syscalls(handlers(), native_handlers())
        self.direct_switch = switch.install(kernel)
        kernel.personality = LinuxPersonality(kernel)
        vdso.of(kernel)  # the vDSO's pages and clock, for the machine's life
        try:
            namespace = default_namespace(sandbox)
        except (KernelError, OSError) as err:
            raise SetupError(f"the guest's file system cannot be built: {err}") from None
        self.sandbox = sandbox
        self.vfs_state = VfsState(namespace)
        state = self.vfs_state  # tmpfs gets half the RAM; fds stop at RLIMIT_NOFILE
        size_to_ram([*state.namespace.mounts.values(), state.memfds], mem)
        OpenFiles.for_ram(mem)  # file-max: ENFILE past one open file per 10 KiB of RAM
        state.fd_limit = self._nofile
        state.fsize_limit = functools.partial(self._rlimit, RLIMIT_FSIZE)
        state.msgqueue_limit = functools.partial(self._rlimit, RLIMIT_MSGQUEUE)
        state.send_sigio = self._send_sigio
        state.send_poll_signal = self._send_poll_signal
        state.send_mq_signal = self._send_mq_signal
        state.map_limit = mem
        self.halted: int | None = None  # the status a halt (timeout, host signal) gives
        self._halts: list[int] = []  # halts host signal handlers asked for (_halt_soon)
        self._polling = False
        self.vfs_state.sysctl = sysctl.of(kernel)  # one record: pipe-max-size for the VFS
        sysctl.of(kernel).values["kernel/threads-max"] = sys_fork.threads_max(kernel)
        self.view = view = KernelProcView(kernel, self.vfs_state)
        self.vfs_state.namespace.mount(b"/proc", ProcFs(view, lambda: self.vfs_state.caller))
        self.vfs_state.namespace.mount(b"/sys", SysFs(len(kernel.cpus)))
        crash_on, crashes = (crash or {}).get("vfs", (0, 1))
        self.vfs = ServerRuntime(kernel, "vfs", VFS_ID, serve(self.vfs_state), crash_on, crashes)
        self.net_boot = self.view.net_boot = netserver.NetBoot(vfs_port=self.vfs.port)
        self._publish(publish)
        crash_on, crashes = (crash or {}).get("net", (0, 1))
        self.net = ServerRuntime(kernel, "net", netserver.NET_ID,
                                 netserver.serve(self.net_boot), crash_on, crashes)
        self.vfs_state.net_port = self.net.port
        self.rs = rs.start(kernel, [self.vfs, self.net])
        # --net host: the first process's capability on the VFS holds NETWORK too, so its
        # internet sockets reach the host's network (servers/net/host.py)
        reach = Right.NETWORK if network == "host" else 0
        kernel.services[sys_file.VFS] = self.vfs.client_cap(Right.SEND | Right.FILE
                                                            | Right.GRANT | reach)
        self.files, self.aslr = files, aslr
        kernel.log.info("system services: rs, vfs, net")

    def _send_sigio(self, kind: int, who: int, sig: int) -> None:
        """A signal the VFS sends an open file's owner (F_SETOWN: a thread's process, a
        process, or a group), as a lease break does."""
        for p in list(self.kernel.processes.values()):
            if p.zombie:
                continue
            if p.pgid == who if kind == OwnerType.PGRP else \
                    p.pid == who or any(t.tid == who for t in p.threads):
                signals.send(p, signals.SigInfo(sig, signals.SI_KERNEL))
    def _send_poll_signal(self, kind: int, who: int, sig: int, fd: int) -> None:
        """An I/O signal about fd ``fd`` for an open file's owner (a dnotify event): with
        F_SETSIG's signal ``sig`` its siginfo says POLL_MSG and names the fd (si_band,
        si_fd), as Linux's send_sigio_to_task; without (0), a plain SIGIO."""
        info = signals.SigInfo(SIGIO, signals.SI_KERNEL) if not sig else \
            signals.SigInfo(sig, POLL_MSG, band=POLLIN | POLLRDNORM | POLLMSG, fd=fd)
        for p in list(self.kernel.processes.values()):
            if p.zombie:
                continue
            if p.pgid == who if kind == OwnerType.PGRP else \
                    p.pid == who or any(t.tid == who for t in p.threads):
                signals.send(p, info)

    def _send_mq_signal(self, pid: int, sig: int, sender: int, uid: int, value: int) -> None:
        """The signal of an mq_notify: a message came to the queue ``pid`` watches."""
        process = self.kernel.processes.get(pid)
        if process is not None and not process.zombie:
            signals.send(process, signals.SigInfo(sig, SI_MESGQ, sender, uid,
                                                  value=value))

    def _publish(self, publish: Sequence[tuple[str, int, int, bool]]) -> None:
        """--publish: listen on (or for UDP, bind) each host address and port now
        (SetupError if taken), for the net server to poll (servers/net/host.py forwards
        what comes)."""
        if not publish:
            return
        import socket  # (here, not at every start: its import builds enums, ~8 ms)

        for address, host_port, guest_port, udp in publish:
            try:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                if udp:
                    listening = socket.socket(family, socket.SOCK_DGRAM)
                    listening.bind((address, host_port))
                else:
                    listening = socket.create_server((address, host_port), family=family)
            except OSError as err:
                raise SetupError(f"--publish {address}:{host_port}: {err.strerror}") from None
            listening.setblocking(False)
            self.net_boot.published.append((listening, guest_port))

    def _nofile(self, pid: int) -> int:
        """``_rlimit(RLIMIT_NOFILE, pid)``, without the partial's second call: every open
        asks it."""
        process = self.kernel.processes.get(pid)
        state = process.personality if process is not None else None
        return state.rlimits[RLIMIT_NOFILE][0] if type(state) is LinuxProcess \
            else self._rlimit(RLIMIT_NOFILE, pid)

    def _rlimit(self, resource: int, pid: int) -> int:
        """The soft limit ``resource`` of process ``pid``, for the VFS (files, fds)."""
        process = self.kernel.processes.get(pid)
        state = process.personality if process else None
        return state.rlimits[resource][0] if isinstance(state, LinuxProcess) else RLIM_INFINITY

    def run(self, program: str, argv: list[str], env: dict[str, str],
            start: Start = Start()) -> int:
        """Run ``program`` as init until every process has ended; return init's shell
        status (or the status of the halt that ended the run).

        ``program`` is found in the guest's namespace, as execvp would: a path from
        ``start.workdir``, or a name in ``env``'s PATH. ExecError when it cannot run;
        SetupError when the machine cannot start it as asked.
        """
        if not self.sandbox.root_writable:  # (the machine's names, not the host's)
            try:
                name_files(self.vfs_state.namespace, start.hostname)
            except (KernelError, OSError) as err:
                raise SetupError(f"/etc/hostname and /etc/hosts cannot be written: {err}") \
                    from None
        cwd = self._workdir(start.workdir)
        who = Who(start.uid, start.gid, start.uid, start.gid, (),
                  EVERY_CAP if start.uid == 0 else 0)  # as creds.Creds.of
        path, data, loader, prefix, ids, loader_path = self._find(program, env, cwd, who)
        args = [os.fsencode(a) for a in argv]
        args = [*prefix, *args[1:]] if prefix else args
        init = process.spawn(self.kernel, path, data, loader, args,
                             [f"{k}={v}".encode() for k, v in env.items()], self.aslr, ids,
                             start.uid, start.gid, loader_path, os.fsencode(program))
        process.linux(init).uts = self.view.init_uts
        self.view.init_uts.nodename = os.fsencode(start.hostname)
        limits = process.linux(init).rlimits
        for resource, value in start.rlimits:
            limits[resource] = (value, value)
        self._register(init.pid, cwd, who)
        if self.files:
            sys_file.grant_files(self.kernel, init)
        self.kernel.log.info(f"init: pid {init.pid} {os.fsdecode(path)}")
        self._watch(start)
        loadavg.start(self.kernel)
        try:
            self.kernel.run()
        finally:
            if start.timeout is not None:
                host_signal.setitimer(host_signal.ITIMER_REAL, 0)
        cache_of(self.kernel).drop()  # every process is gone: no page is mapped any more
        give_back = getattr(self.kernel.cpu, "give_back_tables", None)
        if give_back is not None:  # (KVM: the frames of gone tables it kept)
            give_back()
        if not init.zombie:
            raise RuntimeError("the scheduler stopped while init was still alive")
        return self.halted if self.halted is not None else sys_fork.shell_status(init)

    def _boot_vfs(self) -> Vfs:
        """The VFS's code on its state, called directly: only during bring-up, before the
        server has run, so nothing else touches the state (no IPC: no API needed)."""
        return Vfs(cast(ServerApi, None), self.vfs_state)

    def _workdir(self, workdir: str) -> Walk:
        namespace = self.vfs_state.namespace
        try:
            walk = namespace.resolve(namespace.root(), workdir.encode())[0]
        except KernelError as err:
            raise SetupError(f"working directory {workdir}: {os.strerror(err.errno)} "
                             "in the guest") from None
        if not is_dir(walk[-1]):
            raise SetupError(f"working directory {workdir}: not a directory in the guest")
        return walk

    def _find(self, program: str, env: dict[str, str], cwd: Walk, who: Who = ROOT) -> Found:
        """(path, program, loader, #! argv prefix, page-cache identities), read with execve's
        rules by the VFS from the guest's namespace, searching PATH as execvp does."""
        if "/" in program:
            candidates = [program]
        else:
            candidates = [f"{d or '.'}/{program}" for d in env.get("PATH", "").split(":")]
        state, denied = self.vfs_state, False
        state.procs[0] = Proc(FdTable(), cwd, pid=0, who=who)  # pid 0: no process has it
        try:
            for name in candidates:
                try:
                    image = self._boot_vfs().exec_read(
                        Request(Op.EXEC_READ, 0, 0), ExecRead(AT_FDCWD, os.fsencode(name)))
                except KernelError as err:
                    if len(candidates) == 1 or err.errno not in (Errno.ENOENT, Errno.EACCES,
                                                                 Errno.ENOTDIR):
                        raise ExecError(err.errno, f"{program}: {os.strerror(err.errno)}") \
                            from None
                    denied = denied or (err.errno == Errno.EACCES)
                    continue
                _check_format(program, image.program)
                return (image.path, image.program, image.loader, image.prefix,
                        (image.program_id, image.loader_id), image.loader_path)
        finally:
            del state.procs[0]
        errno = Errno.EACCES if denied else Errno.ENOENT
        raise ExecError(errno, f"{program}: {os.strerror(errno)} (looked in the guest's PATH)")

    def _register(self, pid: int, cwd: Walk, who: Who = ROOT) -> None:
        """Tells the VFS of init (its console fds) and gives it its working directory
        and credentials."""
        self._boot_vfs().spawn(Request(Op.SPAWN, 0, 0), Spawn(pid))
        self.vfs_state.procs[pid].cwd = cwd
        self.vfs_state.procs[pid].who = who

    def _watch(self, start: Start) -> None:
        """Arms what may end the run early: the wall-clock timeout, the CPU-time limit."""
        scheduler = self.kernel.scheduler
        if start.timeout is not None:  # a host timer: it cuts a console read short too
            host_signal.signal(host_signal.SIGALRM, lambda _s, _f: self._halt_soon(EXIT_TIMEOUT))
            host_signal.setitimer(host_signal.ITIMER_REAL, start.timeout)
            self._poll_halts()
        if start.cpu_time is None:
            return
        limit = start.cpu_time
        for p in self.kernel.processes.values():
            process.linux(p).rlimits[RLIMIT_CPU] = (limit, limit)

        def check() -> None:  # RLIMIT_CPU, as Linux enforces it at the hard limit
            for p in list(self.kernel.processes.values()):
                hard = process.linux(p).rlimits[RLIMIT_CPU][1]
                if not p.zombie and sum(process.cputimes(p)) >= hard:
                    signals.send(p, signals.SigInfo(signals.SIGKILL, signals.SI_KERNEL))
            if self.kernel.threads():
                scheduler.call_at(scheduler.clock() + CPU_CHECK, check)

        scheduler.call_at(scheduler.clock() + CPU_CHECK, check)

    def _halt_soon(self, status: int) -> None:
        """From a host signal handler: the next poll halts the machine; a console read
        waiting on the host is cut short so that the poll comes."""
        self._halts.append(status)
        if Console.reading:
            raise ConsoleInterrupt()

    def _poll_halts(self) -> None:
        """Acts on ``_halt_soon`` every 50 ms (kernel state changes between slices only)."""
        if self._polling:
            return
        self._polling = True
        scheduler = self.kernel.scheduler

        def poll() -> None:
            if self._halts:
                self.halt(self._halts[0])
            if self.kernel.threads():
                scheduler.call_at(scheduler.clock() + HALT_POLL, poll)

        scheduler.call_at(scheduler.clock() + HALT_POLL, poll)

    def halt(self, status: int) -> None:
        """Stops the machine: every process is killed, and ``run`` returns ``status``."""
        if self.halted is None:
            self.halted = status
            self.kernel.log.info(f"halting the machine (status {status})")
        for p in list(self.kernel.processes.values()):
            if not p.zombie:
                signals.send(p, signals.SigInfo(signals.SIGKILL, signals.SI_KERNEL))

    def halt_on_host_signals(self) -> None:
        """SIGINT, SIGTERM or SIGHUP sent to CloudOS (not typed at a terminal it reads:
        those go to the guest) halts the machine with 128 + the signal, as a shell
        reports a command the signal ended."""
        for sig in (host_signal.SIGINT, host_signal.SIGTERM, host_signal.SIGHUP):
            host_signal.signal(sig, lambda signum, _frame: self._halt_soon(128 + signum))
        self._poll_halts()

    def forward_interrupts(self) -> None:
        """^C, ^Z, ^\\ on the host terminal: SIGINT, SIGTSTP, SIGQUIT for the console's
        foreground group.

        The host's SIGINT sets a flag that a kernel timer picks up every 50 ms (kernel
        state is only touched between slices); a console read in progress is cut
        short (EINTR), as a terminal's read is when its foreground job is signalled.
        """
        interrupted: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            interrupted.append(signum)
            if Console.reading:
                raise ConsoleInterrupt()

        def poll() -> None:
            while interrupted:
                self._signal_foreground(interrupted.pop(0))
            if self.kernel.threads():
                self.kernel.scheduler.call_at(self.kernel.scheduler.clock() + 0.05, poll)

        # ^C, ^Z and ^\ typed at the host terminal reach CloudOS: they go on to the guest
        for sig in (host_signal.SIGINT, host_signal.SIGTSTP, host_signal.SIGQUIT):
            host_signal.signal(sig, on_signal)
        self.kernel.scheduler.call_at(self.kernel.scheduler.clock() + 0.05, poll)

    def attach_terminal(self, fd: int = 0) -> None:
        """Make the host terminal on ``fd`` the console, with CloudOS's line discipline.

        The host terminal goes raw on input (no canonical mode, echo or signal keys;
        output processing stays the host's, with the guest's c_oflag). A kernel timer
        reads what is typed every 20 ms and sends it to the VFS (CONSOLE_INPUT), and
        sends the signals the line discipline raised, and SIGWINCH when the host
        window is resized, to the console's foreground group.
        The caller restores the host terminal afterwards.
        """
        import os
        import select
        import termios

        mode = termios.tcgetattr(fd)
        chars = bytearray(c if isinstance(c, int) else c[0] for c in mode[6][:19])
        self.vfs_state.tty = LineDiscipline(Termios(mode[0], mode[1], mode[2], mode[3], 0,
                                                    chars))
        raw = list(mode)
        raw[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.ISTRIP
                    | termios.IXON)
        raw[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
        raw[6] = list(mode[6])
        raw[6][termios.VMIN], raw[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSADRAIN, raw)
        port = self.kernel.ipc.ports[self.vfs.client_cap(Right.SEND).obj]
        scheduler = self.kernel.scheduler
        resized: list[int] = []  # the host window changed size: SIGWINCH for the guest
        host_signal.signal(host_signal.SIGWINCH, lambda signum, _frame: resized.append(signum))

        def poll() -> None:
            if resized:
                resized.clear()
                self._signal_foreground(signals.SIGWINCH)
            if select.select([fd], [], [], 0)[0]:
                data = os.read(fd, 4096)
                if data:
                    self.kernel.ipc.notify(port, Message(Op.CONSOLE_INPUT, b"", 0,
                                                         body=ConsoleInput(data)))
            while self.vfs_state.tty_signals:
                self._signal_foreground(self.vfs_state.tty_signals.pop(0))
            if self.kernel.threads():
                scheduler.call_at(scheduler.clock() + 0.02, poll)

        scheduler.call_at(scheduler.clock() + 0.02, poll)

    def _signal_foreground(self, sig: int) -> None:
        group = self.vfs_state.foreground  # the console's foreground process group
        for p in list(self.kernel.processes.values()):
            if p.pgid == group and not p.zombie:
                signals.send(p, signals.SigInfo(sig, signals.SI_KERNEL))

    def write_sched_trace(self, path: str) -> None:
        """The scheduler's decisions as Chrome/Perfetto trace-event JSON, a track per thread."""
        events: list[dict[str, object]] = []
        names = {(p.pid, t.tid): p.name for p in self.kernel.processes.values() for t in p.threads}
        for (pid, tid), name in names.items():
            events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                           "args": {"name": f"{name}[{tid}]"}})
        for s in map(Slice._make, self.kernel.scheduler.trace):
            events.append({"ph": "X", "name": f"L{s.level} {s.reason}", "cat": "sched",
                           "pid": s.pid, "tid": s.tid, "ts": round(s.start * 1e6, 1),
                           "dur": round(s.duration * 1e6, 1),
                           "args": {"level": s.level, "ended_by": s.reason, "cpu": s.cpu}})
        import json  # (here, not at every start of CloudOS)

        with open(path, "w") as f:
            json.dump({"traceEvents": events, "displayTimeUnit": "ms"}, f)

    def print_stats(self, out: TextIO) -> None:
        d = self.kernel.dispatcher
        rows = sorted(((count, nr) for nr, count in enumerate(d.counts) if count), reverse=True)
        out.write(f"{'calls':>10} {'µs each':>9}  syscall\n")
        known = table()
        for count, nr in rows:
            name = known[nr].name if nr < len(known) else "(numbers above the table)"
            each = d.times[nr] / count * 1e6 if nr < len(d.times) else 0.0
            missing = "  ENOSYS" if nr >= len(known) or known[nr].handler is None else ""
            out.write(f"{count:>10} {each:>9.1f}  {name}{missing}\n")
        p = self.kernel.profile
        out.write(f"ENOSYS returned {d.enosys} times; {p.page_faults} page faults; "
                  f"{p.exceptions} exceptions; {p.context_switches} context switches\n")
        if self.direct_switch is not None:
            out.write(f"{self.direct_switch.switches} context switches in the SYSCALL hook "
                      f"(direct switch; {self.direct_switch.yields} in sched_yield, "
                      f"{self.direct_switch.handoffs} handed to a called server or an "
                      f"answered caller, "
                      f"{self.direct_switch.blocks} by a call that slept)\n")
        for server in (self.vfs, self.net):
            out.write(f"{server.name}: {server.requests} calls, {server.served_now} served on "
                      f"the IPC fast path ({server.served_direct} by a direct call); "
                      f"{server.inline} reads and writes with their bytes inline\n")
            local = server.api.local
            if local is not None:
                out.write(f"{server.name}: {local.served} pipe reads and writes served by "
                          f"the personality itself ({local.parked} reads waited)\n")
        if self.kernel.smp is not None:
            out.write(f"{len(self.kernel.cpus)} CPUs; {self.kernel.smp.shootdowns} shootdowns "
                      "(a CPU stopped in guest code and waited for)\n")
        from cloudos.hal.kvm import KvmCpu  # (here: Unicorn's runs never load it)

        for cpu in self.kernel.cpus:
            if isinstance(cpu, KvmCpu):  # what guest code left the vCPU for
                out.write(f"CPU {cpu.index}: {cpu.exits} exits ({cpu.exit_syscalls} system "
                          f"calls, {cpu.exit_faults} exceptions, {cpu.exit_stops} timer or "
                          f"kick stops); {cpu.zaps} zaps, {cpu.forgotten} forgets")
                if self.kernel.smp is not None:
                    out.write(f"; {cpu.guest_time:.3f} s in guest code, "
                              f"{cpu.lock_wait:.3f} s waiting for the lock")
                out.write("\n")
