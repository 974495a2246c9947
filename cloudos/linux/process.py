"""Linux process state and the creation of the first process from an ELF file.

Owns: what Linux adds to a kernel process (credentials, resource limits,
signal actions and masks, robust-list and tid-address registrations) and
``spawn``, which reads a program from the host, loads it and starts it.
Never: schedules or maps memory itself (the kernel and ``elf`` do).
Called by: the CLI (init) and the syscall handlers (their state).
"""

from __future__ import annotations

import os
import resource
import time
import weakref
from typing import Any

from cloudos.abi.dataclass import dataclass, field
from cloudos.kernel.boot import Kernel
from cloudos.kernel.mm.vm import AddressSpace, Prot
from cloudos.kernel.task import Process, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import aslr as layouts, elf, faultaround, vdso
from cloudos.linux.aspace import new_aspace
from cloudos.linux.creds import Creds
from cloudos.linux.pagecache import cache_of

RLIM_INFINITY = (1 << 64) - 1
RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_AS = 0, 1, 9
RLIMIT_STACK, RLIMIT_CORE, RLIMIT_NPROC, RLIMIT_NOFILE, RLIM_NLIMITS = 3, 4, 6, 7, 16
RLIMIT_MSGQUEUE = 12


def _host_limit(resource_id: int) -> tuple[int, int]:
    """The host's limit, so a guest starts with the limits the same program gets natively."""
    soft, hard = resource.getrlimit(resource_id)
    return (RLIM_INFINITY if soft < 0 else soft, RLIM_INFINITY if hard < 0 else hard)


@dataclass
class Pending:
    """Signals sent and not yet taken, by number (standard signals do not queue):
    each maps to its ``signals.SigInfo``."""

    infos: dict[int, Any] = field(default_factory=dict)


@dataclass
class Uts:
    """A UTS namespace: the names uname(2) reports that a process may change."""

    nodename: bytes = b"cloudos"
    domainname: bytes = b"(none)"


@dataclass
class LinuxProcess:
    """Linux-only state of a process."""

    creds: Creds
    rlimits: dict[int, tuple[int, int]] = field(
        default_factory=lambda: {r: _host_limit(r) for r in range(RLIM_NLIMITS)})
    sigactions: dict[int, bytes] = field(default_factory=dict)  # raw struct sigaction
    pending_set: Pending = field(default_factory=lambda: Pending())  # sent, not yet taken
    execed: bool = False        # setpgid on a child that has exec'd is EACCES
    files: int = 0              # token of its FILE capability on the VFS port (0: none)
    # (that token and the capability a lookup found under it, for ``sys_file.call``)
    files_cap: tuple[int, Any] | None = None
    itimer: tuple[float, float] = (0.0, 0.0)  # ITIMER_REAL: deadline (0: off), interval
    # ITIMER_VIRTUAL and ITIMER_PROF (by which): CPU-time deadline in seconds, interval
    # (fork: none; exec keeps them), and a generation that drops stale looks
    cpu_itimers: dict[int, tuple[float, float, int]] = field(default_factory=dict)
    aslr: str = layouts.DEFAULT  # how it lays out the programs it execs (aslr.MODES)
    persona: int = 0            # personality(2): PER_LINUX and its flags (ADDR_NO_RANDOMIZE)
    generation: int = 0         # bumped when the timer is re-armed, to drop stale expiries
    ended: list[float] = field(default_factory=lambda: [0.0, 0.0])  # its ended threads' times
    stopped: int = 0            # the signal that stopped it (0: it runs)
    # A fatal signal sent to it (0: none): each thread, woken from whatever it sleeps in,
    # ends the process on its way back to user mode (Linux's SIGNAL_GROUP_EXIT)
    group_exit: int = 0
    fatal_info: Any = None  # the SigInfo of the signal group_exit is for (strace shows it)
    # What its parent's wait has yet to collect: a stop (0x7f | signal << 8) or
    # a continue (0xffff) status word; 0: nothing
    wait_report: int = 0
    shm: dict[int, int] = field(default_factory=dict)  # System V attachments: address -> id
    timers: dict[int, Any] = field(default_factory=dict)  # POSIX timers (syscalls/sys_timer.py)
    next_timer: int = 0
    signalfd_mask: int = 0  # signals some signalfd of it watches: the VFS hears of them
    core_dumped: bool = False   # it died leaving a core file (WCOREDUMP)
    child_times: tuple[float, float] = (0.0, 0.0)  # user, system seconds of reaped children
    uts: Uts = field(default_factory=Uts)  # shared with its children: one namespace
    pdeathsig: int = 0          # prctl: the signal it gets when its parent exits
    dumpable: int = 1           # prctl PR_SET_DUMPABLE
    subreaper: bool = False     # prctl: adopts its descendants' orphans
    no_new_privs: bool = False  # prctl: execve ignores set-ID bits (inherited, for ever)
    thp_disable: bool = False
    started: float = 0.0  # seconds after boot it was made (fork), as /proc's starttime
    env_area: tuple[int, int] = (0, 0)  # its environment strings on the stack (execve's)
    auxv: bytes = b""  # the auxiliary vector execve gave it (/proc/<pid>/auxv)
    ioprio: int = 0  # ioprio_set (0: class none); recorded, inherited by fork
    ptrace: Any = None  # how its tracer traces it (``ptrace.Tracee``), None: untraced
    tracees: list[Process] = field(default_factory=list)  # the processes it traces
    # membarrier(2)'s REGISTER_* commands it made (its memory's: fork and exec clear them)
    membarrier: int = 0

    @property
    def uid(self) -> int:
        """The real user id (what RLIMIT_NPROC counts, what signals carry)."""
        return self.creds.uid

    @property
    def gid(self) -> int:
        return self.creds.gid

    def fork(self) -> LinuxProcess:
        return LinuxProcess(self.creds, dict(self.rlimits), dict(self.sigactions),
                            files=self.files, aslr=self.aslr, persona=self.persona,
                            shm=dict(self.shm),
                            signalfd_mask=self.signalfd_mask, uts=self.uts,
                            dumpable=self.dumpable, no_new_privs=self.no_new_privs,
                            thp_disable=self.thp_disable, env_area=self.env_area,
                            auxv=self.auxv, ioprio=self.ioprio)


@dataclass
class LinuxThread:
    """Linux-only state of a thread."""

    sigmask: int = 0
    robust_list: tuple[int, int] = (0, 0)
    pending: Pending = field(default_factory=lambda: Pending())  # sent to this thread
    fpu: list[list[int]] = field(default_factory=list)  # SSE state saved per handler frame
    suspended: int | None = None  # the mask sigsuspend replaced, restored after the handler
    altstack: tuple[int, int] = (0, 0)  # sigaltstack: base, size (size 0: none)
    sigwait: int = 0  # the signals rt_sigtimedwait waits for (while it sleeps)
    temporary_mask: bool = False  # ppoll/pselect6/epoll_pwait's mask: restored on return
    clear_child_tid: int = 0  # set_tid_address, CLONE_CHILD_CLEARTID: cleared at exit
    affinity: int = 0  # the CPU mask sched_setaffinity set (0: every CPU); not enforced
    comm: bytes = b""  # prctl PR_SET_NAME of a thread other than the main one
    sleep_rem: tuple[int, float] | None = None  # nanosleep's rem address and deadline
    select_sets: tuple[tuple[int, bytes], ...] = ()  # select's fd_sets as they came (address,
    #                         bytes): a signal that ends the wait puts them back
    answered: bool = False  # its call's answer is being delivered: a signal now is
    #                         pending, not an interruption (SIGPIPE of a write's EPIPE)
    timerslack: int = 50_000  # ns, prctl PR_SET_TIMERSLACK (recorded; timers are exact)
    default_timerslack: int = 50_000
    started: float = 0.0  # seconds after boot it was made, as /proc's task starttime
    inflight: Any = None  # (port, message) of its call to the VFS, taken back by a signal
    handled: int = 0  # handler frames pushed: a call run again across one sees it (sys_mmsg)
    vfs_restarts: int = 0  # times in a row its call ran again after the VFS crashed
    reply: Any = None  # (capability, token) of its direct calls' reply (linux/fastpath.py)
    # its seccomp mode: None (none), or ``seccomp.STRICT`` or its newest ``seccomp.Filter``;
    # fork and clone copy it, exec keeps it, nothing removes it
    seccomp: Any = None
    killed_by: int = 0  # the signal that ended this thread alone (seccomp's KILL_THREAD)

    def fork(self) -> LinuxThread:
        return LinuxThread(self.sigmask, affinity=self.affinity, timerslack=self.timerslack,
                           default_timerslack=self.timerslack, seccomp=self.seccomp)


def since_boot(kernel: Kernel) -> float:
    """Now, in seconds since the machine booted (the clock of /proc/uptime)."""
    return time.time() - kernel.boot_time


def linux(process: Process) -> LinuxProcess:
    state = process.personality
    assert isinstance(state, LinuxProcess)
    return state


def cputimes(process: Process) -> tuple[float, float]:
    """User and system seconds used by all threads of ``process``, live and ended (the
    kernel drops an ended thread that is not the leader: ``thread_ended`` keeps its times)."""
    user, system = linux(process).ended if isinstance(process.personality, LinuxProcess) \
        else (0.0, 0.0)
    return (user + sum(t.user_time for t in process.threads),
            system + sum(t.sys_time for t in process.threads))


def thread_ended(thread: Thread) -> None:
    """After ``Kernel.exit_thread``: the times of a thread it dropped count for its process."""
    if thread not in thread.process.threads:
        ended = linux(thread.process).ended
        ended[0] += thread.user_time
        ended[1] += thread.sys_time


def linux_thread(thread: Thread) -> LinuxThread:
    state = thread.personality
    assert isinstance(state, LinuxThread)
    return state


def load_program(kernel: Kernel, path: str, data: bytes, argv: list[bytes],
                 envp: list[bytes], loader: bytes | None = None, aslr: str = "off",
                 ids: tuple[Any, ...] = (None, None),
                 owner: tuple[int, int, int, int] = (0, 0, 0, 0),
                 loader_path: bytes = b"") -> tuple[AddressSpace, int, int]:
    """A new address space holding the program ``data``: (aspace, entry, rsp).

    ``owner`` (uid, euid, gid, egid) are the process's ids after the exec, told to
    the program in its auxiliary vector.

    ``aslr``: the layout's mode (``aslr.MODES``).
    ExecError when it cannot be run; nothing of the caller changes then.
    """
    aspace = new_aspace(kernel)
    try:
        image = elf.load(aspace, data, path, loader, layouts.bits(kernel, aslr, ids[0]),
                         cache_of(kernel), (ids[0], ids[1]),
                         loader_path)
        faultaround.privatize(kernel, aspace)
        rsp = elf.build_stack(aspace, image, argv, envp, os.fsencode(path), owner,
                              vdso.map_into(kernel, aspace))
    except BaseException:
        aspace.destroy()
        raise
    return aspace, image.entry, rsp


def spawn(kernel: Kernel, path: bytes, data: bytes, loader: bytes | None, argv: list[bytes],
          env: list[bytes], aslr: str = layouts.DEFAULT, ids: tuple[Any, ...] = (None, None),
          uid: int = 0, gid: int = 0, loader_path: bytes = b"", called: bytes = b"") -> Process:
    """Create a process running ``data``, the program found at ``path`` (with the
    dynamic ``loader`` it names), as ``uid``:``gid``; ExecError if it cannot run.
    ``called``, the path it was asked for (by default ``path``), names the process, as
    execve's path does."""
    aspace, entry, rsp = load_program(kernel, os.fsdecode(path), data, argv, env, loader,
                                      aslr, ids, (uid, uid, gid, gid), loader_path)
    process = kernel.new_process(os.path.basename(os.fsdecode(called or path))[:15], None,
                                 aspace)
    now = since_boot(kernel)
    process.personality = LinuxProcess(Creds.of(uid, gid), aslr=aslr, started=now,
                                       env_area=elf.env_area(aspace.stack_top, path, env),
                                       auxv=elf.saved_auxv(aspace, rsp, len(argv), len(env)))
    process.exe = path
    process.cmdline = b"".join(a + b"\0" for a in argv)
    thread = kernel.new_thread(process, kernel.cpu.new_context(aspace.pt.root, entry, rsp))
    thread.personality = LinuxThread(started=now)
    return process


def now_shares_memory(t: Thread, result: int) -> int:
    """``t``'s address space may now write memory that other processes map (a shared
    mapping, a SysV attach). On a multiprocessor it must not go on running beside a
    process on another CPU that writes shared memory too (``Machine._conflict``):
    then its slice ends here, with ``result`` for its call."""
    scheduler = t.process.kernel.scheduler
    if scheduler.conflict(t) is None:
        return result
    t.process.kernel.cpu.set_result(result)
    scheduler.add(t)  # it queues on the CPU it must take turns with
    raise Stop


# (writes memory shared with others, may write code it runs) per address space, for
# the multiprocessor's rules (``Machine._conflict``); dropped whenever a call may
# change its mappings' kinds (mmap, mprotect, mremap, shmat), recomputed when asked.
_KINDS: weakref.WeakKeyDictionary[AddressSpace, tuple[bool, bool]] = weakref.WeakKeyDictionary()


def memory_kinds(aspace: AddressSpace) -> tuple[bool, bool]:
    kinds = _KINDS.get(aspace)
    if kinds is None:
        shares = writes_code = False
        for vma in aspace.vmas:
            shares |= bool(vma.shared and vma.prot & Prot.WRITE)
            writes_code |= bool(vma.prot & Prot.EXEC and (vma.shared or vma.prot & Prot.WRITE))
        kinds = _KINDS[aspace] = (shares, writes_code)
    return kinds


def mappings_changed(aspace: AddressSpace) -> None:
    _KINDS.pop(aspace, None)
