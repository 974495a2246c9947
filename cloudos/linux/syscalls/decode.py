"""How strace shows each system call's arguments, as data beside the syscall table.

Owns: one row per decoded call, keyed by ``Sysno`` as ``table.py``'s rows are: the kind
of each argument in order (a path, a buffer whose length is another argument or the
result, open(2)'s flags, a struct stat the call writes ...), which arguments are written
by the call (shown when it returns, as strace does), and how the result reads (a number,
an address, an octal mask, nothing). Also the names of the flag bits, in strace's order.
A call without a row shows its arguments as numbers (``RAW``).
Never: reads guest memory or formats anything: ``cloudos.trace.render`` turns a kind and
a register into text.
Called by: ``cloudos.trace`` (``--strace`` and ``--trace``).
"""

from __future__ import annotations

from enum import Enum, auto

from cloudos.abi.dataclass import dataclass
from cloudos.abi.sysno import Sysno


class Kind(Enum):
    """What an argument register holds, for display."""

    INT = auto()          # a C int, signed decimal
    LONG = auto()         # a long, signed decimal
    ULONG = auto()        # size_t, unsigned decimal
    HEX = auto()          # a number strace shows in hex (an offset, a mask)
    PTR = auto()          # an address: NULL or 0x...
    FD = auto()
    DIRFD = auto()        # AT_FDCWD or a descriptor
    PATH = auto()         # a NUL-terminated file name, shown whole
    STR = auto()          # a NUL-terminated string, cut at -s
    BUF = auto()          # bytes; ``length``: their count (an argument, or the result)
    RANDOM = auto()       # getrandom's bytes: hex escapes, as strace shows them
    GRND_FLAGS = auto()
    IOVEC = auto()        # struct iovec[]; ``length``: the count argument
    OPEN_FLAGS = auto()
    FD_FLAGS = auto()     # pipe2's and dup3's O_CLOEXEC|O_NONBLOCK (0 when none)
    MODE = auto()         # permission bits in octal
    CREAT_MODE = auto()   # open's mode: shown only when the flags create
    ACCESS_MODE = auto()  # F_OK or R_OK|W_OK|X_OK
    AT_FLAGS = auto()
    PROT = auto()
    MAP_FLAGS = auto()
    MREMAP_FLAGS = auto()
    MADVICE = auto()
    WHENCE = auto()
    SIGNAL = auto()
    SIGSET = auto()       # a sigset_t
    SIGHOW = auto()       # SIG_BLOCK ...
    SIGACTION = auto()    # struct sigaction
    STAT = auto()         # struct stat
    PIPEFDS = auto()      # int[2]
    WAIT_STATUS = auto()  # int *: what wait4 stored
    WAIT_OPTIONS = auto()
    CLONE_FLAGS = auto()
    ARGV = auto()         # char *[]
    ENVP = auto()         # char *[]: shown as its address and count
    SOCK_DOMAIN = auto()
    SOCK_TYPE = auto()
    SOCKADDR = auto()     # ``length``: the address length argument
    TIMESPEC = auto()
    CLOCK = auto()
    FUTEX_OP = auto()
    FCNTL_CMD = auto()
    FCNTL_ARG = auto()    # as the command says: none, FD_CLOEXEC, status flags, a number
    IOCTL_REQ = auto()
    ARCH_PRCTL = auto()
    PRCTL_OPTION = auto()  # prctl's option; its other arguments are as it says (PRCTL_ARG)
    PRCTL_ARG = auto()
    SECCOMP_OP = auto()
    SECCOMP_FLAGS = auto()
    SECCOMP_ARG = auto()  # as the operation says: a sock_fprog, an action, NULL
    DIRENTS = auto()      # getdents64's buffer: its address and entry count
    UTSNAME = auto()
    RLIMIT = auto()       # a resource number
    RLIMIT_VAL = auto()   # struct rlimit
    SHUT_HOW = auto()
    POLLFDS = auto()      # struct pollfd[]; ``length``: the count argument
    SIGFRAME = auto()     # rt_sigreturn's frame on the stack: the mask it restores
    RAW = auto()          # a call strace would decode and this table does not: hex


RESULT = -1  # ``Arg.length``: the result is the length (read's buffer)


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument: its kind, whether the call writes it, what gives its length."""

    kind: Kind
    out: bool = False
    length: int = RESULT


class Ret(Enum):
    """How a call's result reads."""

    DEC = auto()
    HEX = auto()     # an address (mmap, brk)
    OCTAL = auto()   # umask
    NONE = auto()    # it does not return (exit): ``= ?``


@dataclass(frozen=True, slots=True)
class Shape:
    """A decoded call: its arguments in order and how its result reads."""

    args: tuple[Arg, ...]
    ret: Ret = Ret.DEC


def _s(*args: Arg | Kind, ret: Ret = Ret.DEC) -> Shape:
    return Shape(tuple(a if isinstance(a, Arg) else Arg(a) for a in args), ret)


def _out(kind: Kind, length: int = RESULT) -> Arg:
    return Arg(kind, True, length)


def _in(kind: Kind, length: int) -> Arg:
    return Arg(kind, False, length)


K = Kind
SHAPES: dict[Sysno, Shape] = {
    Sysno.READ: _s(K.FD, _out(K.BUF), K.ULONG),
    Sysno.WRITE: _s(K.FD, _in(K.BUF, 2), K.ULONG),
    Sysno.OPEN: _s(K.PATH, K.OPEN_FLAGS, K.CREAT_MODE),
    Sysno.CLOSE: _s(K.FD),
    Sysno.STAT: _s(K.PATH, _out(K.STAT)),
    Sysno.FSTAT: _s(K.FD, _out(K.STAT)),
    Sysno.LSTAT: _s(K.PATH, _out(K.STAT)),
    Sysno.POLL: _s(_in(K.POLLFDS, 1), K.INT, K.INT),
    Sysno.LSEEK: _s(K.FD, K.LONG, K.WHENCE),
    Sysno.MMAP: _s(K.PTR, K.ULONG, K.PROT, K.MAP_FLAGS, K.FD, K.HEX, ret=Ret.HEX),
    Sysno.MPROTECT: _s(K.PTR, K.ULONG, K.PROT),
    Sysno.MUNMAP: _s(K.PTR, K.ULONG),
    Sysno.BRK: _s(K.PTR, ret=Ret.HEX),
    Sysno.RT_SIGACTION: _s(K.SIGNAL, K.SIGACTION, _out(K.SIGACTION), K.ULONG),
    Sysno.RT_SIGPROCMASK: _s(K.SIGHOW, K.SIGSET, _out(K.SIGSET), K.ULONG),
    Sysno.RT_SIGRETURN: _s(K.SIGFRAME),
    Sysno.IOCTL: _s(K.FD, K.IOCTL_REQ, K.PTR),
    Sysno.PREAD64: _s(K.FD, _out(K.BUF), K.ULONG, K.LONG),
    Sysno.PWRITE64: _s(K.FD, _in(K.BUF, 2), K.ULONG, K.LONG),
    Sysno.READV: _s(K.FD, _out(K.IOVEC, 2), K.INT),
    Sysno.WRITEV: _s(K.FD, _in(K.IOVEC, 2), K.INT),
    Sysno.ACCESS: _s(K.PATH, K.ACCESS_MODE),
    Sysno.PIPE: _s(_out(K.PIPEFDS)),
    Sysno.SCHED_YIELD: _s(),
    Sysno.MREMAP: _s(K.PTR, K.ULONG, K.ULONG, K.MREMAP_FLAGS, K.PTR, ret=Ret.HEX),
    Sysno.MADVISE: _s(K.PTR, K.ULONG, K.MADVICE),
    Sysno.DUP: _s(K.FD),
    Sysno.DUP2: _s(K.FD, K.FD),
    Sysno.PAUSE: _s(),
    Sysno.NANOSLEEP: _s(K.TIMESPEC, K.PTR),
    Sysno.ALARM: _s(K.INT),
    Sysno.GETPID: _s(),
    Sysno.SOCKET: _s(K.SOCK_DOMAIN, K.SOCK_TYPE, K.INT),
    Sysno.CONNECT: _s(K.FD, _in(K.SOCKADDR, 2), K.INT),
    Sysno.ACCEPT: _s(K.FD, K.PTR, K.PTR),
    Sysno.SENDTO: _s(K.FD, _in(K.BUF, 2), K.ULONG, K.HEX, K.PTR, K.INT),
    Sysno.RECVFROM: _s(K.FD, _out(K.BUF), K.ULONG, K.HEX, K.PTR, K.PTR),
    Sysno.SHUTDOWN: _s(K.FD, K.SHUT_HOW),
    Sysno.BIND: _s(K.FD, _in(K.SOCKADDR, 2), K.INT),
    Sysno.LISTEN: _s(K.FD, K.INT),
    Sysno.SOCKETPAIR: _s(K.SOCK_DOMAIN, K.SOCK_TYPE, K.INT, _out(K.PIPEFDS)),
    Sysno.CLONE: _s(_out(K.CLONE_FLAGS)),  # its five registers, as strace names them,
    Sysno.FORK: _s(),
    Sysno.VFORK: _s(),
    Sysno.EXECVE: _s(K.PATH, K.ARGV, K.ENVP),
    Sysno.EXIT: _s(K.INT, ret=Ret.NONE),
    Sysno.WAIT4: _s(K.INT, _out(K.WAIT_STATUS), K.WAIT_OPTIONS, K.PTR),
    Sysno.KILL: _s(K.INT, K.SIGNAL),
    Sysno.UNAME: _s(_out(K.UTSNAME)),
    Sysno.FCNTL: _s(K.FD, K.FCNTL_CMD, K.FCNTL_ARG),
    Sysno.FSYNC: _s(K.FD),
    Sysno.FDATASYNC: _s(K.FD),
    Sysno.TRUNCATE: _s(K.PATH, K.LONG),
    Sysno.FTRUNCATE: _s(K.FD, K.LONG),
    Sysno.GETCWD: _s(_out(K.STR), K.ULONG),
    Sysno.CHDIR: _s(K.PATH),
    Sysno.CHROOT: _s(K.PATH),
    Sysno.PIVOT_ROOT: _s(K.PATH, K.PATH),
    Sysno.MOUNT: _s(K.STR, K.PATH, K.STR, K.HEX, K.PTR),
    Sysno.UMOUNT2: _s(K.PATH, K.HEX),
    Sysno.UNSHARE: _s(K.HEX),
    Sysno.SETNS: _s(K.FD, K.HEX),
    Sysno.FCHDIR: _s(K.FD),
    Sysno.RENAME: _s(K.PATH, K.PATH),
    Sysno.MKDIR: _s(K.PATH, K.MODE),
    Sysno.RMDIR: _s(K.PATH),
    Sysno.CREAT: _s(K.PATH, K.MODE),
    Sysno.LINK: _s(K.PATH, K.PATH),
    Sysno.UNLINK: _s(K.PATH),
    Sysno.SYMLINK: _s(K.PATH, K.PATH),
    Sysno.READLINK: _s(K.PATH, _out(K.BUF), K.ULONG),
    Sysno.CHMOD: _s(K.PATH, K.MODE),
    Sysno.FCHMOD: _s(K.FD, K.MODE),
    Sysno.UMASK: _s(K.MODE, ret=Ret.OCTAL),
    Sysno.GETRLIMIT: _s(K.RLIMIT, _out(K.RLIMIT_VAL)),
    Sysno.GETUID: _s(),
    Sysno.GETGID: _s(),
    Sysno.SETUID: _s(K.INT),
    Sysno.SETGID: _s(K.INT),
    Sysno.GETEUID: _s(),
    Sysno.GETEGID: _s(),
    Sysno.SETPGID: _s(K.INT, K.INT),
    Sysno.GETPPID: _s(),
    Sysno.GETPGRP: _s(),
    Sysno.SETSID: _s(),
    Sysno.GETPGID: _s(K.INT),
    Sysno.GETSID: _s(K.INT),
    Sysno.RT_SIGSUSPEND: _s(K.SIGSET, K.ULONG),
    Sysno.GETTID: _s(),
    Sysno.TKILL: _s(K.INT, K.SIGNAL),
    Sysno.FUTEX: _s(K.PTR, K.FUTEX_OP, K.INT, K.PTR, K.PTR, K.INT),
    Sysno.ARCH_PRCTL: _s(K.ARCH_PRCTL, K.PTR),
    Sysno.PRCTL: _s(K.PRCTL_OPTION, *[_out(K.PRCTL_ARG)] * 4),
    Sysno.SECCOMP: _s(K.SECCOMP_OP, K.SECCOMP_FLAGS, _out(K.SECCOMP_ARG)),
    Sysno.GETDENTS64: _s(K.FD, _out(K.DIRENTS), K.ULONG),
    Sysno.SET_TID_ADDRESS: _s(K.PTR),
    Sysno.CLOCK_GETTIME: _s(K.CLOCK, _out(K.TIMESPEC)),
    Sysno.CLOCK_NANOSLEEP: _s(K.CLOCK, K.HEX, K.TIMESPEC, K.PTR),
    Sysno.EXIT_GROUP: _s(K.INT, ret=Ret.NONE),
    Sysno.TGKILL: _s(K.INT, K.INT, K.SIGNAL),
    Sysno.OPENAT: _s(K.DIRFD, K.PATH, K.OPEN_FLAGS, K.CREAT_MODE),
    Sysno.MKDIRAT: _s(K.DIRFD, K.PATH, K.MODE),
    Sysno.NEWFSTATAT: _s(K.DIRFD, K.PATH, _out(K.STAT), K.AT_FLAGS),
    Sysno.UNLINKAT: _s(K.DIRFD, K.PATH, K.AT_FLAGS),
    Sysno.RENAMEAT: _s(K.DIRFD, K.PATH, K.DIRFD, K.PATH),
    Sysno.LINKAT: _s(K.DIRFD, K.PATH, K.DIRFD, K.PATH, K.AT_FLAGS),
    Sysno.SYMLINKAT: _s(K.PATH, K.DIRFD, K.PATH),
    Sysno.READLINKAT: _s(K.DIRFD, K.PATH, _out(K.BUF), K.ULONG),
    Sysno.FCHMODAT: _s(K.DIRFD, K.PATH, K.MODE),
    Sysno.FACCESSAT: _s(K.DIRFD, K.PATH, K.ACCESS_MODE),
    Sysno.PPOLL: _s(_in(K.POLLFDS, 1), K.INT, K.TIMESPEC, K.SIGSET, K.ULONG),
    Sysno.SET_ROBUST_LIST: _s(K.PTR, K.ULONG),
    Sysno.DUP3: _s(K.FD, K.FD, K.FD_FLAGS),
    Sysno.PIPE2: _s(_out(K.PIPEFDS), K.FD_FLAGS),
    Sysno.PRLIMIT64: _s(K.INT, K.RLIMIT, K.RLIMIT_VAL, _out(K.RLIMIT_VAL)),
    Sysno.GETRANDOM: _s(_out(K.RANDOM), K.ULONG, K.GRND_FLAGS),
    Sysno.RSEQ: _s(K.PTR, K.HEX, K.HEX, K.HEX),
    Sysno.PIDFD_SEND_SIGNAL: _s(K.FD, K.SIGNAL, K.PTR, K.HEX),
    Sysno.PIDFD_OPEN: _s(K.INT, K.FD_FLAGS),
    Sysno.CLONE3: _s(K.PTR, K.ULONG),
    Sysno.OPENAT2: _s(K.DIRFD, K.PATH, K.PTR, K.ULONG),
    Sysno.PIDFD_GETFD: _s(K.FD, K.INT, K.HEX),
    Sysno.EPOLL_PWAIT2: _s(K.FD, K.PTR, K.INT, K.PTR, K.PTR, K.ULONG),
    Sysno.MEMBARRIER: _s(K.HEX, K.HEX, K.INT),
    Sysno.FUTEX_WAITV: _s(K.PTR, K.INT, K.HEX, K.PTR, K.CLOCK),
}

# Flag words, as strace names the bits, in the order it prints them.
OPEN_ACCESS = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")
OPEN_BITS = ((0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
             (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"),
             (0o10000, "O_DSYNC"), (0o20000, "O_ASYNC"), (0o40000, "O_DIRECT"),
             (0o100000, "O_LARGEFILE"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
             (0o2000000, "O_CLOEXEC"), (0o10000000, "O_PATH"), (0o20200000, "O_TMPFILE"),
             (0o200000, "O_DIRECTORY"))
O_CREAT, O_TMPFILE = 0o100, 0o20200000
ACCESS_BITS = ((4, "R_OK"), (2, "W_OK"), (1, "X_OK"))
AT_BITS = ((0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"),
           (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH"))
PROT_BITS = ((1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"), (0x1000000, "PROT_GROWSDOWN"),
             (0x2000000, "PROT_GROWSUP"))
MAP_TYPES = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
MAP_BITS = ((0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x40, "MAP_32BIT"),
            (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"),
            (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"),
            (0x10000, "MAP_NONBLOCK"), (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"),
            (0x80000, "MAP_SYNC"), (0x100000, "MAP_FIXED_NOREPLACE"))
MREMAP_BITS = ((1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"), (4, "MREMAP_DONTUNMAP"))
MADVICES = {0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED",
            4: "MADV_DONTNEED", 8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK",
            11: "MADV_DOFORK", 12: "MADV_MERGEABLE", 14: "MADV_HUGEPAGE",
            15: "MADV_NOHUGEPAGE"}
WHENCES = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
SIGHOWS = {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}
SA_BITS = ((0x04000000, "SA_RESTORER"), (0x08000000, "SA_ONSTACK"), (0x10000000, "SA_RESTART"),
           (0x40000000, "SA_NODEFER"), (0x80000000, "SA_RESETHAND"), (4, "SA_SIGINFO"),
           (1, "SA_NOCLDSTOP"), (2, "SA_NOCLDWAIT"))
WAIT_BITS = ((1, "WNOHANG"), (2, "WUNTRACED"), (8, "WCONTINUED"), (0x20000000, "__WNOTHREAD"),
             (0x40000000, "__WALL"), (0x80000000, "__WCLONE"))
CLONE_BITS = ((0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"),
              (0x800, "CLONE_SIGHAND"), (0x1000, "CLONE_PIDFD"), (0x2000, "CLONE_PTRACE"),
              (0x4000, "CLONE_VFORK"), (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"),
              (0x20000, "CLONE_NEWNS"), (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"),
              (0x100000, "CLONE_PARENT_SETTID"), (0x200000, "CLONE_CHILD_CLEARTID"),
              (0x400000, "CLONE_DETACHED"), (0x800000, "CLONE_UNTRACED"),
              (0x1000000, "CLONE_CHILD_SETTID"), (0x2000000, "CLONE_NEWCGROUP"),
              (0x4000000, "CLONE_NEWUTS"), (0x8000000, "CLONE_NEWIPC"),
              (0x10000000, "CLONE_NEWUSER"), (0x20000000, "CLONE_NEWPID"),
              (0x40000000, "CLONE_NEWNET"), (0x80000000, "CLONE_IO"))
DOMAINS = {0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK"}
SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}
SOCK_BITS = ((0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC"))
CLOCKS = {0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID",
          3: "CLOCK_THREAD_CPUTIME_ID", 4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE",
          6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME"}
FUTEX_OPS = {0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 2: "FUTEX_FD", 3: "FUTEX_REQUEUE",
             4: "FUTEX_CMP_REQUEUE", 5: "FUTEX_WAKE_OP", 6: "FUTEX_LOCK_PI",
             7: "FUTEX_UNLOCK_PI", 8: "FUTEX_TRYLOCK_PI", 9: "FUTEX_WAIT_BITSET",
             10: "FUTEX_WAKE_BITSET"}
FUTEX_PRIVATE, FUTEX_CLOCK_REALTIME = 128, 256
FCNTL_CMDS = {0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL",
              5: "F_GETLK", 6: "F_SETLK", 7: "F_SETLKW", 1030: "F_DUPFD_CLOEXEC"}
FCNTL_NO_ARG = frozenset({1, 3})  # F_GETFD, F_GETFL: strace shows two arguments
IOCTLS = {0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF",
          0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP", 0x5413: "TIOCGWINSZ", 0x5414: "TIOCSWINSZ",
          0x541B: "FIONREAD", 0x5421: "FIONBIO", 0x5429: "TIOCGSID", 0x5450: "FIONCLEX",
          0x5451: "FIOCLEX"}
ARCH_PRCTLS = {0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS",
               0x1004: "ARCH_GET_GS", 0x3001: "ARCH_CET_STATUS"}
# prctl's options as strace shows them: the name, and what each argument after it is
# (fewer than four: the rest are not shown); an option named here without a layout shows
# its four arguments in hex, as strace does. Argument kinds: "signal", "*signal" (where
# the call stores one), "int" (decimal), "*int", "*ptr", "str", "*str" (stored by the
# call), "cap", "dumpable", "ambient", "ptracer", "tsc", "*tsc", "seccomp_mode",
# "seccomp_prog".
_FOUR = ("int",) * 4
PRCTLS: dict[int, tuple[str, tuple[str, ...] | None]] = {
    1: ("PR_SET_PDEATHSIG", ("signal",)), 2: ("PR_GET_PDEATHSIG", ("*signal",)),
    3: ("PR_GET_DUMPABLE", ()), 4: ("PR_SET_DUMPABLE", ("dumpable",)),
    5: ("PR_GET_UNALIGN", None), 6: ("PR_SET_UNALIGN", None),
    7: ("PR_GET_KEEPCAPS", ()), 8: ("PR_SET_KEEPCAPS", ("int",)),
    15: ("PR_SET_NAME", ("str",)), 16: ("PR_GET_NAME", ("*str",)),
    19: ("PR_GET_ENDIAN", ("*ptr",)), 20: ("PR_SET_ENDIAN", ("int",)),
    21: ("PR_GET_SECCOMP", ()), 22: ("PR_SET_SECCOMP", ("seccomp_mode", "seccomp_prog")),
    23: ("PR_CAPBSET_READ", ("cap",)), 24: ("PR_CAPBSET_DROP", ("cap",)),
    25: ("PR_GET_TSC", ("*tsc",)), 26: ("PR_SET_TSC", ("tsc",)),
    27: ("PR_GET_SECUREBITS", ()), 28: ("PR_SET_SECUREBITS", None),
    29: ("PR_SET_TIMERSLACK", ("int",)), 30: ("PR_GET_TIMERSLACK", ()),
    31: ("PR_TASK_PERF_EVENTS_DISABLE", ()), 32: ("PR_TASK_PERF_EVENTS_ENABLE", ()),
    33: ("PR_MCE_KILL", None), 34: ("PR_MCE_KILL_GET", _FOUR), 35: ("PR_SET_MM", None),
    36: ("PR_SET_CHILD_SUBREAPER", ("int",)), 37: ("PR_GET_CHILD_SUBREAPER", ("*int",)),
    38: ("PR_SET_NO_NEW_PRIVS", _FOUR), 39: ("PR_GET_NO_NEW_PRIVS", _FOUR),
    40: ("PR_GET_TID_ADDRESS", ("*ptr",)), 41: ("PR_SET_THP_DISABLE", _FOUR),
    42: ("PR_GET_THP_DISABLE", _FOUR), 45: ("PR_SET_FP_MODE", None),
    46: ("PR_GET_FP_MODE", None), 47: ("PR_CAP_AMBIENT", ("ambient", "cap", "int", "int")),
    52: ("PR_GET_SPECULATION_CTRL", None), 53: ("PR_SET_SPECULATION_CTRL", None),
    0x53564D41: ("PR_SET_VMA", None), 0x59616D61: ("PR_SET_PTRACER", ("ptracer",)),
}
PR_GET_DUMPABLE, PR_MCE_KILL_GET = 3, 34
DUMPABLES = {0: "SUID_DUMP_DISABLE", 1: "SUID_DUMP_USER", 2: "SUID_DUMP_ROOT"}
MCE_KILLS = {0: "PR_MCE_KILL_LATE", 1: "PR_MCE_KILL_EARLY", 2: "PR_MCE_KILL_DEFAULT"}
TSCS = {1: "PR_TSC_ENABLE", 2: "PR_TSC_SIGSEGV"}
AMBIENT_OPS = {1: "PR_CAP_AMBIENT_IS_SET", 2: "PR_CAP_AMBIENT_RAISE",
               3: "PR_CAP_AMBIENT_LOWER", 4: "PR_CAP_AMBIENT_CLEAR_ALL"}
CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE")
SECCOMP_MODES = {0: "SECCOMP_MODE_DISABLED", 1: "SECCOMP_MODE_STRICT",
                 2: "SECCOMP_MODE_FILTER"}
SECCOMP_OPS = {0: "SECCOMP_SET_MODE_STRICT", 1: "SECCOMP_SET_MODE_FILTER",
               2: "SECCOMP_GET_ACTION_AVAIL", 3: "SECCOMP_GET_NOTIF_SIZES"}
SECCOMP_FILTER_BITS = ((1, "SECCOMP_FILTER_FLAG_TSYNC"), (2, "SECCOMP_FILTER_FLAG_LOG"),
                       (4, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
                       (8, "SECCOMP_FILTER_FLAG_NEW_LISTENER"),
                       (16, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH"),
                       (32, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))
SECCOMP_ACTIONS = {0x8000_0000: "SECCOMP_RET_KILL_PROCESS", 0: "SECCOMP_RET_KILL_THREAD",
                   0x0003_0000: "SECCOMP_RET_TRAP", 0x0005_0000: "SECCOMP_RET_ERRNO",
                   0x7FC0_0000: "SECCOMP_RET_USER_NOTIF", 0x7FF0_0000: "SECCOMP_RET_TRACE",
                   0x7FFC_0000: "SECCOMP_RET_LOG", 0x7FFF_0000: "SECCOMP_RET_ALLOW"}
RLIMITS = ("RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
           "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
           "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
           "RLIMIT_RTPRIO", "RLIMIT_RTTIME")
GRND_BITS = ((1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"), (4, "GRND_INSECURE"))
SHUT_HOWS = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
POLL_BITS = ((1, "POLLIN"), (2, "POLLPRI"), (4, "POLLOUT"), (8, "POLLERR"), (16, "POLLHUP"),
             (32, "POLLNVAL"), (64, "POLLRDNORM"), (128, "POLLRDBAND"), (256, "POLLWRNORM"),
             (512, "POLLWRBAND"), (0x2000, "POLLRDHUP"))
FILE_TYPES = {0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG",
              0o60000: "S_IFBLK", 0o40000: "S_IFDIR", 0o20000: "S_IFCHR", 0o10000: "S_IFIFO"}
# si_code names for the --- SIGxxx {...} --- lines (asm-generic/siginfo.h)
SI_CODES = {0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
            -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL"}
CLD_CODES = {1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED",
             5: "CLD_STOPPED", 6: "CLD_CONTINUED"}
SEGV_CODES = {1: "SEGV_MAPERR", 2: "SEGV_ACCERR"}
