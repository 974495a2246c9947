"""What /proc shows of processes and of the machine: the records a ``ProcView`` returns.

Owns: ``ProcInfo`` (a process), ``TaskInfo`` (one of its threads), ``Mapping`` (a line of
its maps) and ``Counters`` (the machine's counters), frozen snapshots taken when /proc
is read.
Never: holds or changes state; they are facts handed from the machine to procfs.
Called by: the machine's ``KernelProcView``, which makes them, and ``procfs``, which
renders them. Both import this module at the first read of /proc, not at every start of
CloudOS: declaring these four dataclasses cost about 3 ms of each start.
"""

from __future__ import annotations

from cloudos.abi.dataclass import dataclass, field


@dataclass(frozen=True)
class Mapping:
    """One line of /proc/<pid>/maps: an area and what it maps."""

    start: int
    end: int
    prot: int                   # PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4
    shared: bool
    name: str                   # the file's path, [heap], [stack], or "" (anonymous)
    offset: int = 0             # in the file, of the area's first byte
    dev: int = 0
    ino: int = 0


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
    maps: list[Mapping] = field(default_factory=list)
    rss_pages: int = 0
    utime: float = 0.0
    stime: float = 0.0
    start: float = 0.0          # seconds after boot it was made
    tasks: tuple[TaskInfo, ...] = ()
    ids: tuple[int, ...] = (0,) * 8  # uid, euid, suid, fsuid, gid, egid, sgid, fsgid
    may_trace: bool = True      # CAP_SYS_PTRACE: it may read any process's memory
    dumpable: bool = True       # others of its user may read its memory (environ)
    groups: tuple[int, ...] = ()
    caps: tuple[int, int, int, int] = (0, 0, 0, 0)  # inheritable, permitted, effective, bounding
    no_new_privs: bool = False
    # its first thread's pending, the process's pending, blocked, ignored, caught signals
    signals: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    sigpending_limit: int = 0   # RLIMIT_SIGPENDING
    # stat's addresses: the program break's start, its arguments' and environment's
    # strings (arg_start, arg_end = env_start, env_end)
    brk_start: int = 0
    areas: tuple[int, int, int, int] = (0, 0, 0, 0)
    exit_status: int = 0        # a zombie's wait status word
    # its controlling terminal's device (stat's tty_nr encoding) and foreground group
    # (tpgid; -1: none)
    tty: tuple[int, int] = (0, -1)


@dataclass(frozen=True)
class TaskInfo:
    """What /proc/<pid>/task/<tid> shows of one thread."""

    tid: int
    state: str
    utime: float
    stime: float
    start: float
    name: str = ""              # its comm
    priority: int = 20          # proc(5)'s: 20 + nice, or -1 - its real-time priority
    nice: int = 0
    cpu: int = 0                # the CPU it last ran on
    rt_priority: int = 0
    policy: int = 0             # SCHED_*
    pending: int = 0            # signals sent to it alone (tgkill), as status's bit mask
    blocked: int = 0            # its signal mask
    seccomp: tuple[int, int] = (0, 0)  # its seccomp mode, and how many filters it has


@dataclass(frozen=True)
class Counters:
    """The machine's counters that /proc/loadavg, /proc/stat and /proc/vmstat show."""

    loadavg: str                # "0.42 0.10 0.03", as Linux rounds avenrun
    runnable: int               # threads running or ready
    threads: int
    last_pid: int               # the last pid (or tid) handed out
    context_switches: int
    page_faults: int
