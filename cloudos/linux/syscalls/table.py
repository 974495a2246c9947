"""The Linux x86_64 system call table, as data: one row per number.

Every number of Linux's table from 0 (``read``) to 462 (``mseal``) has a row, keyed by
its ``Sysno``: its handler (or none), its support level and a note saying where
CloudOS differs from Linux (gVisor's ``linux64.go`` is the model). ``handlers()`` is
what the kernel seals into its dispatcher; ``cloudos syscalls`` prints ``table()``. A
number without a handler returns -ENOSYS and is counted, never silently ignored;
so do the unused numbers 335-423 (rows of their own) and those above the table.
"""


import importlib
from typing import TYPE_CHECKING, Any

from cloudos.abi.dataclass import dataclass
from cloudos.abi.enums import Enum
from cloudos.abi.sysno import LINUX_TABLE_END, UNUSED, Sysno
from cloudos.kernel.task import Thread
from cloudos.kernel.trap import Handler
from cloudos.linux.syscalls import (sys_file, sys_fork, sys_futex, sys_ipc, sys_mm, sys_ns,
                                    sys_proc, sys_ptrace, sys_sched, sys_signal, sys_time)


class _Later:
    """A handler whose module loads at its first call: the rarer families' (message
    queues, POSIX timers, prctl, seccomp, syslog, sendmmsg, pidfds, System V shared
    memory), which most programs never call, spared at every start (~2 ms)."""

    __slots__ = ("module", "name", "function")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name
        self.function: Handler | None = None

    def __call__(self, t: Thread, *args: int) -> Any:
        function = self.function
        if function is None:
            function = self.function = getattr(importlib.import_module(self.module),
                                               self.name)
        return function(t, *args)


class _Module:
    """``module.name`` is a ``_Later`` of that handler."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, handler: str) -> _Later:
        return _Later(self.name, handler)


if TYPE_CHECKING:
    from cloudos.linux import sysvshm
    from cloudos.linux.syscalls import (sys_mmsg, sys_mqueue, sys_pidfd, sys_prctl,
                                        sys_seccomp, sys_syslog, sys_timer)
else:
    sysvshm = _Module("cloudos.linux.sysvshm")
    sys_mmsg, sys_mqueue, sys_pidfd, sys_prctl, sys_seccomp, sys_syslog, sys_timer = (
        _Module(f"cloudos.linux.syscalls.{name}") for name in (
            "sys_mmsg", "sys_mqueue", "sys_pidfd", "sys_prctl", "sys_seccomp", "sys_syslog",
            "sys_timer"))


class Support(Enum):
    """How much of a system call CloudOS implements."""

    FULL = "full"
    PARTIAL = "partial"
    NONE = "ENOSYS"


@dataclass(frozen=True, slots=True)
class Syscall:
    """One row of the table."""

    number: int
    name: str
    handler: Handler | None
    support: Support
    note: str = ""


@dataclass(frozen=True, slots=True)
class _Row:
    """A row as written below, before the table gives it its number and name."""

    handler: Handler | None
    support: Support
    note: str


def full(handler: Handler, note: str = "") -> _Row:
    """Implemented as Linux has it (the note says how, where it matters)."""
    return _Row(handler, Support.FULL, note)


def partial(handler: Handler, note: str) -> _Row:
    """Implemented in part: the note says what is missing or different."""
    return _Row(handler, Support.PARTIAL, note)


def enosys(note: str = "") -> _Row:
    """Not implemented: the call returns -ENOSYS."""
    return _Row(None, Support.NONE, note)


_ROWS: dict[Sysno, _Row] = {
    Sysno.READ: full(sys_file.sys_read),
    Sysno.WRITE: full(sys_file.sys_write),
    Sysno.OPEN: partial(sys_file.sys_open, "O_TMPFILE on tmpfs and the overlay only "
                        "(elsewhere EOPNOTSUPP)"),
    Sysno.CLOSE: full(sys_file.sys_close),
    Sysno.STAT: full(sys_file.sys_stat),
    Sysno.FSTAT: full(sys_file.sys_fstat),
    Sysno.LSTAT: full(sys_file.sys_lstat),
    Sysno.POLL: partial(sys_file.sys_poll, "pipes, eventfds, files, console input, "
                        "pseudo-terminals"),
    Sysno.LSEEK: partial(sys_file.sys_lseek, "SEEK_DATA/SEEK_HOLE: host files' holes are the "
                         "host's; tmpfs files' are found to 64 KiB where data begins"),
    Sysno.MMAP: partial(sys_mm.sys_mmap,
                        "anonymous (shared survives fork), private files via the page cache, "
                        "shared files; pages past the end of a file read zero instead of SIGBUS"),
    Sysno.MPROTECT: full(sys_mm.sys_mprotect),
    Sysno.MUNMAP: full(sys_mm.sys_munmap),
    Sysno.BRK: full(sys_mm.sys_brk,
                    "heap after the program, as Linux; RLIMIT_AS and the RAM bound one request"),
    Sysno.RT_SIGACTION: full(sys_signal.sys_rt_sigaction),
    Sysno.RT_SIGPROCMASK: full(sys_signal.sys_rt_sigprocmask),
    Sysno.RT_SIGRETURN: partial(sys_signal.sys_rt_sigreturn,
                                "SSE state kept in the kernel; fpstate is NULL"),
    Sysno.IOCTL: partial(sys_file.sys_ioctl,
                         "TCGETS, TCSETS*, TCFLSH, TIOC[GS]PGRP, TIOCGSID, TIOCGWINSZ, FIONREAD, "
                         "FIONBIO, FIO[N]CLEX; on pseudo-terminals also TIOCSWINSZ, TIOCSCTTY, "
                         "TIOCNOTTY, TCSBRK, TIOCOUTQ, TIOCGPTN, TIOC[GS]PTLCK, TIOCGPTPEER "
                         "(no packet mode, TIOCSTI, TIOCSETD; TIOCSPGRP does not check that "
                         "the group exists; a master never becomes a controlling terminal); "
                         "on internet sockets SIOCATMARK; on any socket SIOCGIF{NAME,INDEX,"
                         "FLAGS,MTU,ADDR,NETMASK} of lo"),
    Sysno.PREAD64: full(sys_file.sys_pread64),
    Sysno.PWRITE64: full(sys_file.sys_pwrite64),
    Sysno.READV: full(sys_file.sys_readv),
    Sysno.WRITEV: full(sys_file.sys_writev),
    Sysno.ACCESS: full(sys_file.sys_access),
    Sysno.PIPE: full(sys_file.sys_pipe),
    Sysno.SELECT: partial(sys_file.sys_select, "via poll; timeout not updated"),
    Sysno.SCHED_YIELD: full(sys_sched.sys_sched_yield),
    Sysno.MREMAP: partial(sys_mm.sys_mremap,
                          "old_size 0 (duplicating a shared mapping) is EINVAL; grown file "
                          "mappings read zero"),
    Sysno.MSYNC: full(sys_mm.sys_msync),
    Sysno.MINCORE: partial(sys_mm.sys_mincore,
                           "reports pages mapped in this process (not the page cache)"),
    Sysno.MADVISE: partial(sys_mm.sys_madvise,
                           "MADV_DONTNEED and MADV_FREE drop private pages; other advice ignored"),
    Sysno.SHMGET: partial(sysvshm.sys_shmget,
                          "pages are allocated at once (ENOMEM beyond free memory)"),
    Sysno.SHMAT: full(sysvshm.sys_shmat),
    Sysno.SHMCTL: partial(sysvshm.sys_shmctl,
                          "IPC_STAT, SHM_STAT(_ANY), IPC_SET, IPC_RMID, SHM_(UN)LOCK; no IPC_INFO,"
                          " SHM_INFO"),
    Sysno.DUP: full(sys_file.sys_dup),
    Sysno.DUP2: full(sys_file.sys_dup2),
    Sysno.PAUSE: full(sys_signal.sys_pause),
    Sysno.NANOSLEEP: partial(sys_time.sys_nanosleep, "blocks in the scheduler; rem is not written"),
    Sysno.GETITIMER: partial(sys_time.sys_getitimer, "CPU-time timers: looked "
                             "at by a kernel timer, late by up to a slice"),
    Sysno.ALARM: full(sys_time.sys_alarm),
    Sysno.SETITIMER: partial(sys_time.sys_setitimer, "CPU-time timers: looked "
                             "at by a kernel timer, late by up to a slice"),
    Sysno.GETPID: full(sys_proc.sys_getpid),
    Sysno.SENDFILE: full(sys_file.sys_sendfile, "from a regular file; into a pipe or "
                                                "AF_UNIX socket, what fits now (a short "
                                                "count); into a TCP socket with room, up to "
                                                "1 MiB whole"),
    Sysno.SOCKET: partial(sys_file.sys_socket,
                          "AF_UNIX SOCK_STREAM, SOCK_SEQPACKET and SOCK_DGRAM (SOCK_RAW: "
                          "EPROTONOSUPPORT, Linux makes it a datagram socket); "
                          "AF_INET and AF_INET6 SOCK_STREAM (TCP) and SOCK_DGRAM (UDP); "
                          "AF_NETLINK NETLINK_ROUTE (lo's link and addresses, read-only); raw "
                          "and packet sockets EPERM; other families EAFNOSUPPORT"),
    Sysno.CONNECT: partial(sys_file.sys_connect,
                           "AF_UNIX stream (a full backlog is EAGAIN, never a wait), AF_UNIX "
                           "datagram (a default destination; AF_UNSPEC dissolves it); TCP and "
                           "UDP: the guest's loopback, else the host's network with --net "
                           "host (NETWORK), else ENETUNREACH; past a loopback listener's "
                           "backlog a TCP connect waits for an accept (Linux's SYN retry)"),
    Sysno.ACCEPT: full(sys_file.sys_accept),
    Sysno.SENDTO: partial(sys_file.sys_sendto,
                          "connected sockets, UDP and AF_UNIX datagrams to an address (no "
                          "autobind with SO_PASSCRED); MSG_DONTWAIT, "
                          "MSG_NOSIGNAL (MSG_MORE, MSG_CONFIRM, MSG_EOR: no effect); MSG_OOB "
                          "on loopback TCP (POLLPRI, SO_OOBINLINE; no SIGURG), EOPNOTSUPP "
                          "off the machine and on UDP"),
    Sysno.RECVFROM: partial(sys_file.sys_recvfrom,
                            "MSG_DONTWAIT; internet sockets: MSG_PEEK, MSG_WAITALL, MSG_TRUNC "
                            "and a UDP sender's address; AF_UNIX datagram sockets of "
                            "socket(2): MSG_PEEK, MSG_TRUNC and the sender's address; "
                            "MSG_OOB: TCP's urgent byte"),
    Sysno.SENDMSG: partial(sys_file.sys_sendmsg,
                           "SCM_RIGHTS on AF_UNIX; msg_name for UDP and AF_UNIX datagrams; "
                           "other ancillary data (SCM_CREDENTIALS) "
                           "EOPNOTSUPP"),
    Sysno.RECVMSG: partial(sys_file.sys_recvmsg,
                           "SCM_RIGHTS; a UDP or AF_UNIX datagram sender's address in msg_name, "
                           "MSG_TRUNC; no "
                           "other ancillary data (IP_PKTINFO, timestamps)"),
    Sysno.SHUTDOWN: partial(sys_file.sys_shutdown,
                            "a TCP peer's writes after SHUT_RD fail with EPIPE (Linux takes "
                            "them)"),
    Sysno.BIND: partial(sys_file.sys_bind,
                        "internet sockets: the loopback's addresses and the wildcards (others "
                        "EADDRNOTAVAIL); ports below 1024 are not reserved"),
    Sysno.LISTEN: full(sys_file.sys_listen),
    Sysno.GETSOCKNAME: full(sys_file.sys_getsockname),
    Sysno.GETPEERNAME: full(sys_file.sys_getpeername),
    Sysno.SOCKETPAIR: partial(sys_file.sys_socketpair,
                              "AF_UNIX: SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM (messages "
                              "charged their sk_buff truesize against SO_SNDBUF, which "
                              "setsockopt sets)"),
    Sysno.SETSOCKOPT: partial(sys_file.sys_setsockopt,
                              "internet sockets: SO_REUSEADDR, SO_REUSEPORT, SO_RCVBUF, "
                              "SO_SNDBUF (doubled; UDP's queue limit), SO_LINGER, SO_KEEPALIVE, "
                              "SO_BROADCAST, TCP_NODELAY, TCP_KEEP*, IP_TOS, IP_TTL, IPV6_V6ONLY "
                              "kept (keepalive, linger, TOS, TTL change nothing here), "
                              "SO_RCVTIMEO/SO_SNDTIMEO (receives, accept, sends, connect); "
                              "AF_UNIX: SO_SNDBUF of a socketpair's message socket (doubled); "
                              "other "
                              "SOL_SOCKET options accepted without effect"),
    Sysno.GETSOCKOPT: partial(sys_file.sys_getsockopt,
                              "SOL_SOCKET: type, error, domain, protocol, buffers, reuse, "
                              "keepalive, linger, timeouts, peer credentials; TCP_NODELAY, "
                              "TCP_MAXSEG, "
                              "TCP_KEEP*; IP_TOS, IP_TTL; IPV6_V6ONLY"),
    Sysno.CLONE: partial(sys_fork.sys_clone,
                         "threads and COW processes; CLONE_NEWNS and CLONE_NEWUTS as "
                         "unshare; CLONE_PIDFD (not with CLONE_VFORK or CLONE_THREAD: EINVAL; "
                         "made after the child, so an EMFILE leaves it running); CLONE_PTRACE "
                         "(a tracee's child is traced too); other namespace flags: EINVAL"),
    Sysno.FORK: full(sys_fork.sys_fork, "copy-on-write"),
    Sysno.VFORK: partial(sys_fork.sys_vfork, "a COW fork whose parent waits for exec or exit"),
    Sysno.EXECVE: full(sys_fork.sys_execve,
                       "static and dynamic ELF, #! scripts; read through the VFS"),
    Sysno.EXIT: full(sys_fork.sys_exit),
    Sysno.WAIT4: full(sys_fork.sys_wait4),
    Sysno.KILL: partial(sys_signal.sys_kill,
                        "core files are always ./core (core_pattern is not read)"),
    Sysno.UNAME: full(sys_proc.sys_uname, "sysname Linux, release 6.12.0-cloudos; nodename "
                                          "from --hostname or sethostname"),
    Sysno.SEMGET: full(sys_ipc.sys_semget),
    Sysno.SEMOP: partial(sys_ipc.sys_semop, "SEM_UNDO adjustments are per process (a clone "
                         "with CLONE_SYSVSEM but not CLONE_VM does not share them)"),
    Sysno.SEMCTL: full(sys_ipc.sys_semctl),
    Sysno.SHMDT: full(sysvshm.sys_shmdt),
    Sysno.MSGGET: full(sys_ipc.sys_msgget),
    Sysno.MSGSND: full(sys_ipc.sys_msgsnd),
    Sysno.MSGRCV: partial(sys_ipc.sys_msgrcv, "no MSG_COPY (ENOSYS, as without "
                          "CONFIG_CHECKPOINT_RESTORE)"),
    Sysno.MSGCTL: full(sys_ipc.sys_msgctl),
    Sysno.FCNTL: partial(sys_file.sys_fcntl,
                         "dup, cloexec, status flags, record and OFD locks (EDEADLK), "
                         "leases (broken by open, SIGIO), pipe sizes, F_SETOWN(_EX), "
                         "F_SETSIG, O_ASYNC on pipes and sockets (not ttys; no si_fd), "
                         "F_NOTIFY (dnotify, with si_fd); seals: EINVAL"),
    Sysno.FLOCK: full(sys_file.sys_flock, "independent of fcntl locks, as Linux's"),
    Sysno.FSYNC: full(sys_file.sys_fsync, "file systems write through"),
    Sysno.FDATASYNC: full(sys_file.sys_fsync, "file systems write through"),
    Sysno.TRUNCATE: full(sys_file.sys_truncate),
    Sysno.FTRUNCATE: full(sys_file.sys_ftruncate),
    Sysno.GETDENTS: enosys(),
    Sysno.GETCWD: full(sys_file.sys_getcwd),
    Sysno.CHDIR: full(sys_file.sys_chdir),
    Sysno.FCHDIR: full(sys_file.sys_fchdir),
    Sysno.RENAME: full(sys_file.sys_rename),
    Sysno.MKDIR: full(sys_file.sys_mkdir),
    Sysno.RMDIR: full(sys_file.sys_rmdir),
    Sysno.CREAT: full(sys_file.sys_creat),
    Sysno.LINK: full(sys_file.sys_link),
    Sysno.UNLINK: full(sys_file.sys_unlink),
    Sysno.SYMLINK: full(sys_file.sys_symlink),
    Sysno.READLINK: full(sys_file.sys_readlink),
    Sysno.CHMOD: full(sys_file.sys_chmod),
    Sysno.FCHMOD: full(sys_file.sys_fchmod),
    Sysno.CHOWN: partial(sys_file.sys_chown, "stored where the file system can"),
    Sysno.FCHOWN: partial(sys_file.sys_fchown, "stored where the file system can"),
    Sysno.LCHOWN: partial(sys_file.sys_lchown, "stored where the file system can"),
    Sysno.UMASK: full(sys_file.sys_umask),
    Sysno.GETTIMEOFDAY: full(sys_time.sys_gettimeofday, "time zone is UTC"),
    Sysno.GETRLIMIT: full(sys_proc.sys_getrlimit),
    Sysno.GETRUSAGE: partial(sys_sched.sys_getrusage, "CPU times only"),
    Sysno.SYSINFO: partial(sys_proc.sys_sysinfo, "no swap, shared or buffer memory"),
    Sysno.TIMES: full(sys_sched.sys_times),
    Sysno.PTRACE: partial(sys_ptrace.sys_ptrace, "TRACEME/ATTACH/SEIZE/INTERRUPT/LISTEN/"
                          "DETACH/KILL, CONT/SYSCALL/SINGLESTEP, PEEK/POKE text/"
                          "data/user, GET/SETREGS, GETFPREGS, GET/SETREGSET NT_PRSTATUS "
                          "(NT_PRFPREG read), GETSIGINFO, GETEVENTMSG, GET_SYSCALL_INFO; "
                          "options SYSGOOD/FORK/VFORK/VFORKDONE/CLONE/EXEC/EXIT (at exit "
                          "calls, not fatal signals)/EXITKILL; a vfork's events come when "
                          "its parent wakes; one thread per tracee is traced (CLONE_THREAD "
                          "is no event); no seccomp stops, SETSIGINFO/SETFPREGS, debug "
                          "registers; calls without a handler (ENOSYS) have no "
                          "syscall-stops"),
    Sysno.GETUID: full(sys_proc.sys_getuid, "real uid; --user sets the first process's"),
    Sysno.SYSLOG: partial(sys_syslog.sys_syslog,
                          "CloudOS's own kernel log (its last 1,000 lines); READ does not "
                          "wait for a line: EAGAIN"),
    Sysno.GETGID: full(sys_proc.sys_getgid),
    Sysno.SETUID: full(sys_proc.sys_setuid, "Linux's rules; capabilities follow the uids"),
    Sysno.SETGID: full(sys_proc.sys_setgid),
    Sysno.GETEUID: full(sys_proc.sys_geteuid),
    Sysno.GETEGID: full(sys_proc.sys_getegid),
    Sysno.SETPGID: full(sys_proc.sys_setpgid),
    Sysno.GETPPID: full(sys_proc.sys_getppid, "0 for init, as on Linux"),
    Sysno.GETPGRP: full(sys_proc.sys_getpgrp),
    Sysno.SETSID: full(sys_proc.sys_setsid),
    Sysno.SETREUID: full(sys_proc.sys_setreuid),
    Sysno.SETREGID: full(sys_proc.sys_setregid),
    Sysno.GETGROUPS: full(sys_proc.sys_getgroups),
    Sysno.SETGROUPS: full(sys_proc.sys_setgroups, "CAP_SETGID; the VFS checks with them"),
    Sysno.SETRESUID: full(sys_proc.sys_setresuid),
    Sysno.GETRESUID: full(sys_proc.sys_getresuid),
    Sysno.SETRESGID: full(sys_proc.sys_setresgid),
    Sysno.GETRESGID: full(sys_proc.sys_getresgid),
    Sysno.GETPGID: full(sys_proc.sys_getpgid),
    Sysno.SETFSUID: full(sys_proc.sys_setfsuid),
    Sysno.SETFSGID: full(sys_proc.sys_setfsgid),
    Sysno.GETSID: full(sys_proc.sys_getsid),
    Sysno.CAPGET: full(sys_proc.sys_capget, "versions 1-3; root's sets follow its uids"),
    Sysno.CAPSET: partial(sys_proc.sys_capset, "the caller's own sets; no bounding set, "
                                              "no file capabilities"),
    Sysno.RT_SIGPENDING: full(sys_signal.sys_rt_sigpending),
    Sysno.RT_SIGTIMEDWAIT: partial(sys_signal.sys_rt_sigtimedwait,
                                   "a stop and continue start the timeout again"),
    Sysno.RT_SIGQUEUEINFO: full(sys_signal.sys_rt_sigqueueinfo),
    Sysno.RT_SIGSUSPEND: full(sys_signal.sys_rt_sigsuspend),
    Sysno.SIGALTSTACK: full(sys_signal.sys_sigaltstack),
    Sysno.UTIME: full(sys_file.sys_utime),
    Sysno.MKNOD: partial(sys_file.sys_mknod, "as mknodat"),
    Sysno.USELIB: enosys(),
    Sysno.PERSONALITY: partial(sys_fork.sys_personality,
                               "kept across fork and exec (set-ID exec clears Linux's "
                               "PER_CLEAR_ON_SETID flags); ADDR_NO_RANDOMIZE honoured, the "
                               "other flags and domains only reported"),
    Sysno.USTAT: enosys(),
    Sysno.STATFS: full(sys_file.sys_statfs),
    Sysno.FSTATFS: full(sys_file.sys_fstatfs),
    Sysno.SYSFS: enosys(),
    Sysno.GETPRIORITY: partial(sys_sched.sys_getpriority,
                               "nice recorded; the MLFQ does not weigh it"),
    Sysno.SETPRIORITY: partial(sys_sched.sys_setpriority,
                               "nice recorded; the MLFQ does not weigh it"),
    Sysno.SCHED_SETPARAM: full(sys_sched.sys_sched_setparam),
    Sysno.SCHED_GETPARAM: full(sys_sched.sys_sched_getparam),
    Sysno.SCHED_SETSCHEDULER: partial(sys_sched.sys_sched_setscheduler, "FIFO/RR on MLFQ level 0"),
    Sysno.SCHED_GETSCHEDULER: full(sys_sched.sys_sched_getscheduler),
    Sysno.SCHED_GET_PRIORITY_MAX: full(sys_sched.sys_sched_get_priority_max),
    Sysno.SCHED_GET_PRIORITY_MIN: full(sys_sched.sys_sched_get_priority_min),
    Sysno.SCHED_RR_GET_INTERVAL: partial(sys_sched.sys_sched_rr_get_interval,
                                         "the MLFQ's quantum (RR 1 ms, FIFO 0, normal 1-64 ms)"),
    Sysno.MLOCK: partial(sys_mm.sys_mlock,
                         "range checked; memory is never swapped, no RLIMIT_MEMLOCK"),
    Sysno.MUNLOCK: full(sys_mm.sys_munlock),
    Sysno.MLOCKALL: partial(sys_mm.sys_mlockall, "flags checked; memory is never swapped"),
    Sysno.MUNLOCKALL: full(sys_mm.sys_munlockall),
    Sysno.VHANGUP: enosys(),
    Sysno.MODIFY_LDT: enosys(),
    Sysno.PIVOT_ROOT: partial(sys_ns.sys_pivot_root,
                              "old root moved under the new one (or stacked for umount2 "
                              "with put_old = new_root); processes there follow; EINVAL "
                              "inside a chroot"),
    Sysno._SYSCTL: enosys(),
    Sysno.PRCTL: partial(sys_prctl.sys_prctl,
                         "names, death signal, dumpable, keepcaps/securebits, bounding set, "
                         "timer slack (recorded), child subreaper, no_new_privs, THP flag, "
                         "seccomp (PR_SET_SECCOMP as seccomp(2)), PR_GET_TSC, "
                         "PR_MCE_KILL_GET; PR_SET_TSC, PR_MCE_KILL, PR_SET_MM, PR_SET_VMA: "
                         "EINVAL"),
    Sysno.ARCH_PRCTL: partial(sys_proc.sys_arch_prctl,
                              "ARCH_SET/GET_FS and _GS; CET and CPUID codes: EINVAL"),
    Sysno.ADJTIMEX: partial(sys_time.sys_adjtimex, "reads an unsynchronised clock; changes: EPERM"),
    Sysno.SETRLIMIT: partial(sys_proc.sys_setrlimit,
                             "enforced: NOFILE (up to fs/nr_open), FSIZE, AS, STACK, CPU, "
                             "NPROC, CORE; others recorded"),
    Sysno.CHROOT: full(sys_ns.sys_chroot, "per process, inherited; \"..\" stops at it; "
                                          "getcwd outside it: \"(unreachable)\""),
    Sysno.SYNC: full(sys_file.sys_sync),
    Sysno.ACCT: enosys(),
    Sysno.SETTIMEOFDAY: partial(sys_time.sys_settimeofday,
                                "checked as Linux, then EPERM: the host's clock"),
    Sysno.MOUNT: partial(sys_ns.sys_mount,
                         "tmpfs (size=, nr_inodes=, mode=), bind (MS_REC; read-only by "
                         "remount), MS_MOVE, tmpfs remount; proc, devtmpfs and devpts are the "
                         "machine's instance; no propagation, no nosuid/noexec/nodev; "
                         "other types: ENODEV"),
    Sysno.UMOUNT2: partial(sys_ns.sys_umount2,
                           "MNT_DETACH; EBUSY for cwd/root/open files/submounts, and "
                           "for / even detached; MNT_EXPIRE's mark is not cleared by use; "
                           "MNT_FORCE: a plain unmount"),
    Sysno.SWAPON: enosys(),
    Sysno.SWAPOFF: enosys(),
    Sysno.REBOOT: enosys(),
    Sysno.SETHOSTNAME: full(sys_proc.sys_sethostname, "the process's UTS namespace "
                                                       "(shared with its family); root only"),
    Sysno.SETDOMAINNAME: full(sys_proc.sys_setdomainname, "as sethostname"),
    Sysno.IOPL: enosys(),
    Sysno.IOPERM: enosys(),
    Sysno.CREATE_MODULE: enosys(),
    Sysno.INIT_MODULE: enosys(),
    Sysno.DELETE_MODULE: enosys(),
    Sysno.GET_KERNEL_SYMS: enosys(),
    Sysno.QUERY_MODULE: enosys(),
    Sysno.QUOTACTL: enosys(),
    Sysno.NFSSERVCTL: enosys(),
    Sysno.GETPMSG: enosys(),
    Sysno.PUTPMSG: enosys(),
    Sysno.AFS_SYSCALL: enosys(),
    Sysno.TUXCALL: enosys(),
    Sysno.SECURITY: enosys(),
    Sysno.GETTID: full(sys_proc.sys_gettid),
    Sysno.READAHEAD: full(sys_file.sys_readahead, "a hint: checked, nothing read ahead"),
    Sysno.SETXATTR: partial(sys_file.sys_xattr_path,
                            "no file system has xattrs: ENOTSUP (ENOENT etc. first)"),
    Sysno.LSETXATTR: partial(sys_file.sys_xattr_path,
                             "no file system has xattrs: ENOTSUP (ENOENT etc. first)"),
    Sysno.FSETXATTR: partial(sys_file.sys_xattr_fd, "no file system has xattrs: ENOTSUP"),
    Sysno.GETXATTR: partial(sys_file.sys_xattr_path,
                            "no file system has xattrs: ENOTSUP (ENOENT etc. first)"),
    Sysno.LGETXATTR: partial(sys_file.sys_xattr_path,
                             "no file system has xattrs: ENOTSUP (ENOENT etc. first)"),
    Sysno.FGETXATTR: partial(sys_file.sys_xattr_fd, "no file system has xattrs: ENOTSUP"),
    Sysno.LISTXATTR: partial(sys_file.sys_xattr_path,
                             "no file system has xattrs: ENOTSUP (ENOENT etc. first)"),
    Sysno.LLISTXATTR: partial(sys_file.sys_xattr_path,
                              "no file system has xattrs: ENOTSUP (ENOENT etc. first)"),
    Sysno.FLISTXATTR: partial(sys_file.sys_xattr_fd, "no file system has xattrs: ENOTSUP"),
    Sysno.REMOVEXATTR: partial(sys_file.sys_xattr_path,
                               "no file system has xattrs: ENOTSUP (ENOENT etc. first)"),
    Sysno.LREMOVEXATTR: partial(sys_file.sys_xattr_path,
                                "no file system has xattrs: ENOTSUP (ENOENT etc. first)"),
    Sysno.FREMOVEXATTR: partial(sys_file.sys_xattr_fd, "no file system has xattrs: ENOTSUP"),
    Sysno.TKILL: partial(sys_signal.sys_tkill, "as kill"),
    Sysno.TIME: full(sys_time.sys_time),
    Sysno.FUTEX: partial(sys_futex.sys_futex,
                         "WAIT, WAKE, *_BITSET, REQUEUE, CMP_REQUEUE; PI ops: ENOSYS"),
    Sysno.SCHED_SETAFFINITY: partial(sys_sched.sys_sched_setaffinity,
                                     "kept and reported, not enforced: threads run on every CPU"),
    Sysno.SCHED_GETAFFINITY: full(sys_sched.sys_sched_getaffinity, "every CPU of the machine"),
    Sysno.SET_THREAD_AREA: enosys(),
    Sysno.IO_SETUP: enosys(),
    Sysno.IO_DESTROY: enosys(),
    Sysno.IO_GETEVENTS: enosys(),
    Sysno.IO_SUBMIT: enosys(),
    Sysno.IO_CANCEL: enosys(),
    Sysno.GET_THREAD_AREA: enosys(),
    Sysno.LOOKUP_DCOOKIE: enosys(),
    Sysno.EPOLL_CREATE: full(sys_file.sys_epoll_create),
    Sysno.EPOLL_CTL_OLD: enosys(),
    Sysno.EPOLL_WAIT_OLD: enosys(),
    Sysno.REMAP_FILE_PAGES: enosys(),
    Sysno.GETDENTS64: full(sys_file.sys_getdents64),
    Sysno.SET_TID_ADDRESS: full(sys_proc.sys_set_tid_address),
    Sysno.RESTART_SYSCALL: enosys(),
    Sysno.SEMTIMEDOP: partial(sys_ipc.sys_semtimedop, "as semop"),
    Sysno.FADVISE64: partial(sys_file.sys_fadvise64, "checked, then ignored"),
    Sysno.TIMER_CREATE: partial(sys_timer.sys_timer_create,
                                "REALTIME, MONOTONIC, BOOTTIME clocks (no CPU-time timers)"),
    Sysno.TIMER_SETTIME: full(sys_timer.sys_timer_settime),
    Sysno.TIMER_GETTIME: full(sys_timer.sys_timer_gettime),
    Sysno.TIMER_GETOVERRUN: full(sys_timer.sys_timer_getoverrun),
    Sysno.TIMER_DELETE: full(sys_timer.sys_timer_delete),
    Sysno.CLOCK_SETTIME: partial(sys_time.sys_clock_settime,
                                 "checked as Linux, then EPERM: the host's clock"),
    Sysno.CLOCK_GETTIME: partial(sys_time.sys_clock_gettime,
                                 "CPU-time clocks of other pids: EINVAL"),
    Sysno.CLOCK_GETRES: full(sys_time.sys_clock_getres),
    Sysno.CLOCK_NANOSLEEP: partial(sys_time.sys_clock_nanosleep,
                                   "blocks in the scheduler; rem is not written"),
    Sysno.EXIT_GROUP: full(sys_fork.sys_exit_group),
    Sysno.EPOLL_WAIT: partial(sys_file.sys_epoll_wait,
                              "pipes, sockets, eventfds, timerfds, signalfds, console; regular "
                              "files EPERM at epoll_ctl"),
    Sysno.EPOLL_CTL: partial(sys_file.sys_epoll_ctl,
                             "EPOLLET reports changes of readiness; EPOLLEXCLUSIVE wakes one "
                             "waiting instance per change; loops and deep nesting ELOOP"),
    Sysno.TGKILL: partial(sys_signal.sys_tgkill, "as kill"),
    Sysno.UTIMES: full(sys_file.sys_utimes),
    Sysno.VSERVER: enosys(),
    Sysno.MBIND: enosys(),
    Sysno.SET_MEMPOLICY: enosys(),
    Sysno.GET_MEMPOLICY: enosys(),
    Sysno.MQ_OPEN: partial(sys_mqueue.sys_mq_open, "queues are named in the VFS; no mqueue file "
                           "system to mount, list or read"),
    Sysno.MQ_UNLINK: full(sys_mqueue.sys_mq_unlink),
    Sysno.MQ_TIMEDSEND: full(sys_mqueue.sys_mq_timedsend),
    Sysno.MQ_TIMEDRECEIVE: full(sys_mqueue.sys_mq_timedreceive),
    Sysno.MQ_NOTIFY: partial(sys_mqueue.sys_mq_notify,
                             "SIGEV_SIGNAL, SIGEV_NONE; SIGEV_THREAD ENOSYS (no netlink)"),
    Sysno.MQ_GETSETATTR: full(sys_mqueue.sys_mq_getsetattr),
    Sysno.KEXEC_LOAD: enosys(),
    Sysno.WAITID: full(sys_fork.sys_waitid, "P_ALL, P_PID, P_PGID, P_PIDFD"),
    Sysno.ADD_KEY: enosys(),
    Sysno.REQUEST_KEY: enosys(),
    Sysno.KEYCTL: enosys(),
    Sysno.IOPRIO_SET: partial(sys_sched.sys_ioprio_set,
                              "recorded per process (no I/O queue to order)"),
    Sysno.IOPRIO_GET: partial(sys_sched.sys_ioprio_get, "per process"),
    Sysno.INOTIFY_INIT: full(sys_file.sys_inotify_init),
    Sysno.INOTIFY_ADD_WATCH: partial(sys_file.sys_inotify_add_watch,
                                     "events of the VFS's changes; none from exec's reads, "
                                     "mmap'd pages or anonymous pipes"),
    Sysno.INOTIFY_RM_WATCH: full(sys_file.sys_inotify_rm_watch),
    Sysno.MIGRATE_PAGES: enosys(),
    Sysno.OPENAT: partial(sys_file.sys_openat, "O_TMPFILE on tmpfs and the overlay only "
                          "(elsewhere EOPNOTSUPP)"),
    Sysno.MKDIRAT: full(sys_file.sys_mkdirat),
    Sysno.MKNODAT: partial(sys_file.sys_mknodat, "device nodes open only devfs's devices "
                           "(others ENXIO); host directories get no device nodes (EPERM)"),
    Sysno.FCHOWNAT: partial(sys_file.sys_fchownat, "stored where the file system can"),
    Sysno.FUTIMESAT: full(sys_file.sys_futimesat),
    Sysno.NEWFSTATAT: full(sys_file.sys_newfstatat),
    Sysno.UNLINKAT: full(sys_file.sys_unlinkat),
    Sysno.RENAMEAT: full(sys_file.sys_renameat),
    Sysno.LINKAT: full(sys_file.sys_linkat),
    Sysno.SYMLINKAT: full(sys_file.sys_symlinkat),
    Sysno.READLINKAT: full(sys_file.sys_readlinkat),
    Sysno.FCHMODAT: full(sys_file.sys_fchmodat),
    Sysno.FACCESSAT: full(sys_file.sys_faccessat),
    Sysno.PSELECT6: partial(sys_file.sys_pselect6, "via poll; the timeout is not updated"),
    Sysno.PPOLL: partial(sys_file.sys_ppoll, "the timeout is not updated"),
    Sysno.UNSHARE: partial(sys_ns.sys_unshare,
                           "CLONE_NEWNS (own mount table) and CLONE_NEWUTS; NEWIPC, NEWPID, "
                           "NEWNET, NEWUSER, NEWCGROUP, NEWTIME: EINVAL; FS/FILES: no-ops"),
    Sysno.SET_ROBUST_LIST: full(sys_proc.sys_set_robust_list,
                                "walked at thread exit, process death and exec"),
    Sysno.GET_ROBUST_LIST: full(sys_proc.sys_get_robust_list),
    Sysno.SPLICE: partial(sys_file.sys_splice, "pipe to pipe, file, device, console or "
                          "socket; file, device or connected socket to pipe (not the console "
                          "or a UDP socket: EINVAL); copies"),
    Sysno.TEE: full(sys_file.sys_tee, "copies (pages are not shared)"),
    Sysno.SYNC_FILE_RANGE: full(sys_file.sys_sync_file_range, "file systems write through"),
    Sysno.VMSPLICE: full(sys_file.sys_vmsplice, "copies (SPLICE_F_GIFT is ignored)"),
    Sysno.MOVE_PAGES: enosys(),
    Sysno.UTIMENSAT: full(sys_file.sys_utimensat),
    Sysno.EPOLL_PWAIT: full(sys_file.sys_epoll_pwait),
    Sysno.SIGNALFD: full(sys_file.sys_signalfd),
    Sysno.TIMERFD_CREATE: partial(sys_file.sys_timerfd_create,
                                  "REALTIME, MONOTONIC, BOOTTIME clocks"),
    Sysno.EVENTFD: full(sys_file.sys_eventfd),
    Sysno.FALLOCATE: partial(sys_file.sys_fallocate, "tmpfs's modes (0, KEEP_SIZE, PUNCH_HOLE) "
                             "on tmpfs, the overlay and host files (whose blocks are not "
                             "allocated ahead)"),
    Sysno.TIMERFD_SETTIME: partial(sys_file.sys_timerfd_settime,
                                   "TFD_TIMER_CANCEL_ON_SET never cancels"),
    Sysno.TIMERFD_GETTIME: full(sys_file.sys_timerfd_gettime),
    Sysno.ACCEPT4: full(sys_file.sys_accept4),
    Sysno.SIGNALFD4: partial(sys_file.sys_signalfd4,
                             "read(2) only (readv: EINVAL); ssi_utime/ssi_stime are 0"),
    Sysno.EVENTFD2: full(sys_file.sys_eventfd2),
    Sysno.EPOLL_CREATE1: full(sys_file.sys_epoll_create1),
    Sysno.DUP3: full(sys_file.sys_dup3),
    Sysno.PIPE2: full(sys_file.sys_pipe2),
    Sysno.INOTIFY_INIT1: full(sys_file.sys_inotify_init1),
    Sysno.PREADV: full(sys_file.sys_preadv),
    Sysno.PWRITEV: full(sys_file.sys_pwritev),
    Sysno.RT_TGSIGQUEUEINFO: full(sys_signal.sys_rt_tgsigqueueinfo),
    Sysno.PERF_EVENT_OPEN: enosys(),
    Sysno.RECVMMSG: partial(sys_mmsg.sys_recvmmsg,
                            "as recvmsg, each message a run of the call; an error after "
                            "some messages is dropped (Linux keeps it for the next call)"),
    Sysno.FANOTIFY_INIT: enosys(),
    Sysno.FANOTIFY_MARK: enosys(),
    Sysno.PRLIMIT64: full(sys_proc.sys_prlimit64),
    Sysno.NAME_TO_HANDLE_AT: enosys(),
    Sysno.OPEN_BY_HANDLE_AT: enosys(),
    Sysno.CLOCK_ADJTIME: partial(sys_time.sys_clock_adjtime,
                                 "CLOCK_REALTIME as adjtimex; others EOPNOTSUPP"),
    Sysno.SYNCFS: full(sys_file.sys_syncfs, "file systems write through"),
    Sysno.SENDMMSG: partial(sys_mmsg.sys_sendmmsg,
                            "as sendmsg, each message a run of the call"),
    Sysno.SETNS: partial(sys_ns.sys_setns,
                         "/proc/<pid>/ns/* files: mnt and uts joined (the namespace its "
                         "process is in now), others are the machine's one; pidfds: EINVAL"),
    Sysno.GETCPU: full(sys_proc.sys_getcpu, "the CPU it runs on; one NUMA node"),
    Sysno.PROCESS_VM_READV: full(sys_ptrace.sys_process_vm_readv),
    Sysno.PROCESS_VM_WRITEV: full(sys_ptrace.sys_process_vm_writev),
    Sysno.KCMP: enosys(),
    Sysno.FINIT_MODULE: enosys(),
    Sysno.SCHED_SETATTR: enosys(),
    Sysno.SCHED_GETATTR: enosys(),
    Sysno.RENAMEAT2: partial(sys_file.sys_renameat2, "RENAME_EXCHANGE on tmpfs and the overlay "
                             "(host directories: EINVAL); RENAME_WHITEOUT: EINVAL"),
    Sysno.SECCOMP: partial(sys_seccomp.sys_seccomp,
                           "strict mode; classic BPF filters checked and run as Linux does "
                           "(stacked, inherited, kept across exec; TSYNC, TSYNC_ESRCH, LOG, "
                           "SPEC_ALLOW; every action, TRACE as without a tracer); "
                           "GET_ACTION_AVAIL; no user notification: NEW_LISTENER and "
                           "GET_NOTIF_SIZES are EINVAL, USER_NOTIF fails the call ENOSYS"),
    Sysno.GETRANDOM: full(sys_time.sys_getrandom, "host CSPRNG"),
    Sysno.MEMFD_CREATE: partial(sys_file.sys_memfd_create,
                                "MFD_CLOEXEC, MFD_ALLOW_SEALING (no seals: F_ADD_SEALS is EINVAL)"),
    Sysno.KEXEC_FILE_LOAD: enosys(),
    Sysno.BPF: enosys(),
    Sysno.EXECVEAT: full(sys_fork.sys_execveat),
    Sysno.USERFAULTFD: enosys(),
    Sysno.MEMBARRIER: partial(sys_sched.sys_membarrier,
                              "all but the RSEQ commands: one vCPU honours a barrier by "
                              "running alone, several by stopping the vCPUs that run the "
                              "memory (all for GLOBAL*)"),
    Sysno.MLOCK2: partial(sys_mm.sys_mlock2,
                          "range checked; memory is never swapped, no RLIMIT_MEMLOCK"),
    Sysno.COPY_FILE_RANGE: full(sys_file.sys_copy_file_range, "copies (no reflinks)"),
    Sysno.PREADV2: partial(sys_file.sys_preadv2, "RWF_NOWAIT: EOPNOTSUPP"),
    Sysno.PWRITEV2: partial(sys_file.sys_pwritev2, "RWF_NOWAIT, RWF_APPEND: EOPNOTSUPP"),
    Sysno.PKEY_MPROTECT: enosys(),
    Sysno.PKEY_ALLOC: enosys(),
    Sysno.PKEY_FREE: enosys(),
    Sysno.STATX: partial(sys_file.sys_statx, "basic fields"),
    Sysno.IO_PGETEVENTS: enosys(),
    Sysno.RSEQ: enosys("glibc falls back without it"),
    Sysno.PIDFD_SEND_SIGNAL: full(sys_pidfd.sys_pidfd_send_signal,
                                  "siginfo or none; PIDFD_SIGNAL_{THREAD,THREAD_GROUP,"
                                  "PROCESS_GROUP}"),
    Sysno.IO_URING_SETUP: enosys("programs fall back to plain reads and writes"),
    Sysno.IO_URING_ENTER: enosys(),
    Sysno.IO_URING_REGISTER: enosys(),
    Sysno.OPEN_TREE: enosys(),
    Sysno.MOVE_MOUNT: enosys(),
    Sysno.FSOPEN: enosys(),
    Sysno.FSCONFIG: enosys(),
    Sysno.FSMOUNT: enosys(),
    Sysno.FSPICK: enosys(),
    Sysno.PIDFD_OPEN: partial(sys_pidfd.sys_pidfd_open,
                              "PIDFD_NONBLOCK; PIDFD_THREAD (a thread's pidfd): EINVAL; "
                              "poll: POLLIN once the process exits, no POLLHUP once reaped; "
                              "fdinfo's Pid: stays after the reap (Linux: -1)"),
    Sysno.CLONE3: partial(sys_fork.sys_clone3,
                          "clone's flags and limits (see clone), CLONE_CLEAR_SIGHAND; "
                          "set_tid: EPERM, CLONE_INTO_CGROUP: EBADF (no pid namespaces, no "
                          "cgroup2)"),
    Sysno.CLOSE_RANGE: full(sys_file.sys_close_range,
                            "CLOSE_RANGE_UNSHARE: fd tables are never shared"),
    Sysno.OPENAT2: full(sys_file.sys_openat2,
                        "RESOLVE_NO_XDEV (by file system), NO_MAGICLINKS (/proc's), "
                        "NO_SYMLINKS, BENEATH, IN_ROOT; RESOLVE_CACHED: every walk is cached"),
    Sysno.PIDFD_GETFD: full(sys_pidfd.sys_pidfd_getfd,
                            "permission: same real uid and gid, or CAP_SYS_PTRACE (Linux's "
                            "ptrace access check reduced to ids)"),
    Sysno.FACCESSAT2: full(sys_file.sys_faccessat2),
    Sysno.PROCESS_MADVISE: enosys(),
    Sysno.EPOLL_PWAIT2: full(sys_file.sys_epoll_pwait2),
    Sysno.MOUNT_SETATTR: enosys(),
    Sysno.QUOTACTL_FD: enosys(),
    Sysno.LANDLOCK_CREATE_RULESET: enosys(),
    Sysno.LANDLOCK_ADD_RULE: enosys(),
    Sysno.LANDLOCK_RESTRICT_SELF: enosys(),
    Sysno.MEMFD_SECRET: enosys(),
    Sysno.PROCESS_MRELEASE: enosys(),
    Sysno.FUTEX_WAITV: partial(sys_futex.sys_futex_waitv,
                               "32-bit futexes (FUTEX2_SIZE_U32, PRIVATE); FUTEX2_NUMA and "
                               "MPOL: EINVAL; FUTEX_REQUEUE does not move its sleepers"),
    Sysno.SET_MEMPOLICY_HOME_NODE: enosys(),
    Sysno.CACHESTAT: enosys(),
    Sysno.FCHMODAT2: full(sys_file.sys_fchmodat2,
                          "AT_SYMLINK_NOFOLLOW on a link: EOPNOTSUPP, as Linux"),
    Sysno.MAP_SHADOW_STACK: enosys(),
    Sysno.FUTEX_WAKE: enosys(),
    Sysno.FUTEX_WAIT: enosys(),
    Sysno.FUTEX_REQUEUE: enosys(),
    Sysno.STATMOUNT: enosys(),
    Sysno.LISTMOUNT: enosys(),
    Sysno.LSM_GET_SELF_ATTR: enosys(),
    Sysno.LSM_SET_SELF_ATTR: enosys(),
    Sysno.LSM_LIST_MODULES: enosys(),
    Sysno.MSEAL: enosys(),
}


_TABLE: tuple[Syscall, ...] = ()


def table() -> tuple[Syscall, ...]:
    """Every row, index = number (made at the first call: ``cloudos syscalls`` and
    --strace read it, a run does not, and its 463 rows cost ~3 ms of every start)."""
    global _TABLE
    if not _TABLE:
        assert sorted(_ROWS) == [n for n in range(LINUX_TABLE_END) if n not in UNUSED], \
            "one row per number, 0 to 334 and 424 to 462"
        unused = _Row(None, Support.NONE, "no system call has this number on x86_64")
        rows = []
        for nr in range(LINUX_TABLE_END):
            row = _ROWS[Sysno(nr)] if nr not in UNUSED else unused
            name = Sysno(nr).call_name if nr not in UNUSED else f"syscall_{nr:#x}"
            rows.append(Syscall(nr, name, row.handler, row.support, row.note))
        _TABLE = tuple(rows)
    return _TABLE


def calls() -> list[Syscall]:
    """The rows of Linux's system calls (the table without the unused numbers)."""
    return [row for row in table() if row.number not in UNUSED]


def handlers() -> tuple[Handler | None, ...]:
    """The dispatch tuple the kernel seals: index = system call number. While a process
    is traced, ``ptrace.retable`` has each handler wrapped to stop a tracee resumed by
    PTRACE_SYSCALL at the call's entry and exit."""
    return tuple(None if nr in UNUSED else _ROWS[nr].handler  # type: ignore[index]
                 for nr in range(LINUX_TABLE_END))
