"""The VFS protocol: every request the VFS server takes and every answer that is not an int.

Owns: ``Op`` (a request's number: the Linux system call it serves, or a
lifecycle op above Linux's numbers), one frozen dataclass per request with its
arguments named and typed (a ``Record``: frozen and slotted, like a frozen dataclass
but cheap to declare), the typed answers (``Again``, ``SignalsReady``,
``Received``, ``PollReady``, ``BytesOut``, ``ExecImage``, ``MappedFile``,
``LockHolder``, ``FileOwner``, ``PidTarget``), the
server runtime's own ``Interrupt``, and ``decode``, which turns a guest's raw
message (a tag and no typed body) into the request it names or the errno to
answer it with. Buffers never travel in a request: they are memory grants, the
message's capabilities, in the order the request says; except that a read or write of
up to ``INLINE_MAX`` bytes may carry its bytes in the request (``Write.data``) or have
them carried back (``Read.inline``, an ``Inline``), with no grant.
Never: does anything; it is data both ends import.
Called by: the Linux personality (``linux.syscalls.sys_file`` builds requests and
reads answers) and the VFS server (``servers.vfs.server`` dispatches on a
request's type).
"""

from __future__ import annotations

from typing import ClassVar

from cloudos.abi.enums import Enum, IntEnum
from cloudos.abi.record import Record
from cloudos.abi.shapes import Shape, shape_of
from cloudos.abi.errno import Errno

SOCK_STREAM, AF_UNIX = 1, 1


class Op(IntEnum):
    """A VFS request's number (the message tag): Linux's system call number where it
    serves one, else a lifecycle or notification op above Linux's numbers."""

    READ, WRITE, CLOSE, POLL, LSEEK, IOCTL = 0, 1, 3, 7, 8, 16
    PREAD, PWRITE, READV, WRITEV, DUP, DUP2 = 17, 18, 19, 20, 32, 33
    SOCKET, CONNECT, SENDTO, RECVFROM, SENDMSG, RECVMSG = 41, 42, 44, 45, 46, 47
    SHUTDOWN, BIND, LISTEN, GETSOCKNAME, GETPEERNAME = 48, 49, 50, 51, 52
    SOCKETPAIR, SETSOCKOPT, GETSOCKOPT = 53, 54, 55
    FCNTL, FLOCK, FSYNC, FDATASYNC, TRUNCATE, FTRUNCATE = 72, 73, 74, 75, 76, 77
    GETCWD, CHDIR, FCHDIR, FCHMOD, UMASK, STATFS, FSTATFS, SYNC = 79, 80, 81, 91, 95, 137, 138, 162
    READAHEAD = 187
    SETXATTR, LSETXATTR, FSETXATTR, GETXATTR, LGETXATTR, FGETXATTR = 188, 189, 190, 191, 192, 193
    LISTXATTR, LLISTXATTR, FLISTXATTR = 194, 195, 196
    REMOVEXATTR, LREMOVEXATTR, FREMOVEXATTR = 197, 198, 199
    GETDENTS64, EPOLL_WAIT, EPOLL_CTL = 217, 232, 233
    OPENAT, MKDIRAT, MKNODAT, FCHOWNAT, NEWFSTATAT, UNLINKAT = 257, 258, 259, 260, 262, 263
    LINKAT, FALLOCATE = 265, 285
    SYMLINKAT, READLINKAT, FCHMODAT, FACCESSAT, UTIMENSAT = 266, 267, 268, 269, 280
    TIMERFD_CREATE, TIMERFD_SETTIME, TIMERFD_GETTIME, ACCEPT4 = 283, 286, 287, 288
    SIGNALFD4, EVENTFD2, EPOLL_CREATE1, DUP3, PIPE2 = 289, 290, 291, 292, 293
    RENAMEAT2, MEMFD_CREATE, STATX = 316, 319, 332
    SENDFILE, COPY_FILE_RANGE, CLOSE_RANGE = 40, 326, 436
    MQ_OPEN, MQ_UNLINK, MQ_TIMEDSEND, MQ_TIMEDRECEIVE, MQ_NOTIFY = 240, 241, 242, 243, 244
    MQ_GETSETATTR = 245
    PIVOT_ROOT, CHROOT, MOUNT, UMOUNT2, UNSHARE, SETNS = 155, 161, 165, 166, 272, 308
    SPLICE, TEE, VMSPLICE = 275, 276, 278
    # lifecycle: sent by the personality when a process starts, forks, execs or exits
    SPAWN, FORK, EXEC, EXIT = 1000, 1001, 1002, 1003
    EXEC_READ, MMAP_READ = 1004, 1005  # execve's and mmap's reads
    TIMER_FIRED = 1006  # a timerfd's expiry: the kernel's notification (ServerApi.notify_at)
    MAP_ATTACH, MAP_SYNC = 1007, 1008  # a shared mapping's pages lent, written back
    CONSOLE_INPUT = 1009  # bytes typed at the host terminal (cloudos/machine.py)
    SIGNALS_PENDING = 1010  # a process's pending signals changed (linux/signals.py)
    CORE_DUMP = 1011  # a dying process's core file, for its working directory
    # a signal for the caller of a call with this reply id: the server runtime (of any
    # server) answers it at once if the server parked it (linux/syscalls/sys_file.py)
    INTERRUPT = 1012
    CREDENTIALS = 1013  # a process's ids changed (linux/creds.py): its file permissions
    FCNTL_LOCK, FCNTL_OWNER = 1014, 1015  # fcntl's lock and owner commands, decoded
    LEASE_TIMEOUT = 1016  # a lease being broken had lease-break-time to let go (locks.py)
    # from the net server (abi/netsrv.py): an fd for its new socket, its sockets' poll
    # events, and that it restarted
    SOCKET_MADE, SOCKET_EVENTS, NET_RESTARTED = 1019, 1020, 1021
    PIDFD_OPEN, PIDFD_GETFD = 434, 438
    INOTIFY_ADD_WATCH, INOTIFY_RM_WATCH, INOTIFY_INIT1 = 254, 255, 294
    PTY_TIMER = 1022  # a pseudo-terminal's VTIME ran out (servers/vfs/pty.py)
    PIDFD_TARGET = 1023  # the process a pidfd names (pidfd_send_signal, waitid P_PIDFD)


# Ops the server runtime answers itself, for any server: no request class, no handler.
RUNTIME_OPS = frozenset({Op.INTERRUPT})


# -- answers that are not an int -------------------------------------------------------
class Again(Enum):
    """An answer that is no result: the personality acts, then runs the call again."""

    RESTART = "restart"  # a crash of the server left the call undone (servers/runtime.py)
    # a background job used the terminal: its group stops (SIGTTIN, SIGTTOU), and the call
    # runs again once it is continued
    BACKGROUND = "background"
    # a signal came for the caller while the server had the call parked, nothing done:
    # the personality answers EINTR or restarts the call, as the signal's SA_RESTART says
    INTERRUPTED = "interrupted"


class SignalsReady(Record):
    """A signalfd read: signals of ``mask`` are pending; the personality takes them."""

    mask: int


class Received(Record):
    """A recvmsg: bytes received, control-buffer bytes used, and the msg_flags to report."""

    count: int
    control_used: int
    msg_flags: int
    name: bytes = b""  # the sender's sockaddr (msg_name), if it has one


class MqReceived(Record):
    """A message mq_timedreceive took, and its priority."""

    data: bytes
    prio: int


class MqAttr(Record):
    """A queue's struct mq_attr, as it was before mq_getsetattr changed it."""

    flags: int
    maxmsg: int
    msgsize: int
    curmsgs: int


class PidTarget(Record):
    """A pidfd's process: its pid, whether it has exited (the pid may be reaped), and
    whether the pidfd is PIDFD_NONBLOCK (waitid's P_PIDFD answers EAGAIN, not waits)."""

    pid: int
    exited: bool
    nonblock: bool


class PollReady(Record):
    """A poll without a pollfd array (select's): the count ready and each fd's revents."""

    count: int
    revents: tuple[int, ...]


class BytesOut(Record):
    """A result with bytes the personality copies to the caller's (buffer, length) pair,
    cut to the buffer, with the full length written back (a sockaddr, an option)."""

    result: int
    data: bytes


class ExecImage(Record):
    """What execve needs: the program's path and bytes, the dynamic loader it names (or
    None), the argv a #! line prepends, and the identities that key the page cache."""

    path: bytes
    program: bytes
    loader: bytes | None
    prefix: tuple[bytes, ...]
    program_id: object
    loader_id: object
    set_ids: tuple[int | None, int | None] = (None, None)  # set-user/group-ID: the owner's
    loader_path: bytes = b""  # where the loader was found, symbolic links resolved


class Sharing(IntEnum):
    """How a file is mapped (``MmapRead``): what the VFS checks of the open file."""

    PRIVATE = 0
    SHARED_READ = 1  # MAP_SHARED without PROT_WRITE: readable
    SHARED_WRITE = 2  # MAP_SHARED with PROT_WRITE: readable and writable


class MappedFile(Record):
    """An ``MmapRead``'s answer: the bytes, and the file's identity for the page cache:
    (st_dev, st_ino) for a shared mapping (its one set of pages), (st_dev, st_ino, size,
    mtime) for a private one; ``writable``: the file is open for writing."""

    data: bytes | memoryview  # (a view: of bytes the VFS keeps, never changed)
    key: tuple[int, ...]
    writable: bool = False
    path: bytes = b""  # the file's path, for /proc/<pid>/maps


class LockHolder(Record):
    """An F_GETLK's answer when a lock conflicts: the holder's lock as struct flock
    reports it (``length`` 0: to the end of the file; ``pid`` -1: an OFD lock)."""

    type: int
    start: int
    length: int
    pid: int


class NsTarget(Record):
    """A setns's namespace file: its namespace's CLONE_NEW* flag and the process whose
    namespace it is (the VFS joined a mount namespace itself; the personality joins a
    UTS namespace)."""

    flag: int
    pid: int


class FileOwner(Record):
    """An F_GETOWN_EX's answer: struct f_owner_ex (an ``OwnerType`` and an id)."""

    type: int
    pid: int


INLINE_MAX = 4096  # the most bytes a read or write carries in its messages (no grant)


class Inline:
    """The buffer of a small read that travels back with the answer instead of through a
    grant: the server puts what it reads here, as (offset, bytes) pieces, as it would copy
    them through a grant of ``length`` bytes; the personality, which made it for the
    call and checked the caller's buffer could take all of it, copies the pieces there
    once the answer comes (``servers.runtime.ServerApi`` copies to either)."""

    __slots__ = ("length", "pieces")

    def __init__(self, length: int) -> None:
        self.length = length
        self.pieces: list[tuple[int, bytes]] = []


# -- requests -----------------------------------------------------------------------
class Read(Record):
    """read(2) into one grant, or (``inline``) into the answer; ``pgid``/``sid``: the
    caller's job, for the terminal."""
    OP: ClassVar[Op] = Op.READ
    fd: int
    count: int
    pgid: int = 0
    sid: int = 0
    inline: Inline | None = None


class Write(Record):
    """write(2) from one grant, or of ``data`` (``count`` bytes, carried in the request);
    ``pgid`` 0: SIGTTOU would not stop the writer."""
    OP: ClassVar[Op] = Op.WRITE
    fd: int
    count: int
    pgid: int = 0
    sid: int = 0
    data: bytes | None = None


class Readv(Record):
    """readv(2): one grant per iovec, of these lengths; ``iov_error``: the errno of an iovec
    array the personality could not take, answered once the fd has passed Linux's checks."""
    OP: ClassVar[Op] = Op.READV
    fd: int
    lengths: list[int]
    pgid: int = 0
    sid: int = 0
    iov_error: int = 0


class Writev(Record):
    """writev(2): one grant per iovec, of these lengths; ``iov_error``: the errno of an iovec
    array the personality could not take, answered once the fd has passed Linux's checks."""
    OP: ClassVar[Op] = Op.WRITEV
    fd: int
    lengths: list[int]
    pgid: int = 0
    sid: int = 0
    iov_error: int = 0


class Pread(Record):
    """pread64, or preadv with ``lengths`` (one grant each)."""
    OP: ClassVar[Op] = Op.PREAD
    fd: int
    count: int
    offset: int
    lengths: tuple[int, ...] | None = None
    iov_error: int = 0  # (as Readv's)


class Pwrite(Record):
    """pwrite64, or pwritev with ``lengths`` (one grant each)."""
    OP: ClassVar[Op] = Op.PWRITE
    fd: int
    count: int
    offset: int
    lengths: tuple[int, ...] | None = None
    iov_error: int = 0  # (as Readv's)


class Close(Record):
    OP: ClassVar[Op] = Op.CLOSE
    fd: int


class Lseek(Record):
    OP: ClassVar[Op] = Op.LSEEK
    fd: int
    offset: int
    whence: int


class Ioctl(Record):
    """ioctl(2); a request with a buffer has one grant on it."""
    OP: ClassVar[Op] = Op.IOCTL
    fd: int
    cmd: int
    arg: int
    pgid: int = 0
    sid: int = 0


class Dup(Record):
    OP: ClassVar[Op] = Op.DUP
    fd: int


class Dup2(Record):
    OP: ClassVar[Op] = Op.DUP2
    old: int
    new: int


class Dup3(Record):
    OP: ClassVar[Op] = Op.DUP3
    old: int
    new: int
    flags: int


class Fcntl(Record):
    OP: ClassVar[Op] = Op.FCNTL
    fd: int
    cmd: int
    arg: int


class FcntlLock(Record):
    """fcntl(2)'s record lock commands (F_GETLK, F_SETLK, F_SETLKW and the F_OFD_
    forms) with the struct flock the personality read: the answer is 0, or for a
    GETLK a ``LockHolder`` when a lock conflicts (else 0: F_UNLCK)."""
    OP: ClassVar[Op] = Op.FCNTL_LOCK
    fd: int
    cmd: int
    type: int
    whence: int
    start: int
    length: int
    pid: int


class FcntlOwner(Record):
    """F_SETOWN_EX with struct f_owner_ex, or F_GETOWN_EX (answered ``FileOwner``)."""
    OP: ClassVar[Op] = Op.FCNTL_OWNER
    fd: int
    cmd: int
    type: int = 0
    pid: int = 0


class Flock(Record):
    """flock(2): a ``FlockOp``."""
    OP: ClassVar[Op] = Op.FLOCK
    fd: int
    operation: int


class Fsync(Record):
    OP: ClassVar[Op] = Op.FSYNC
    fd: int


class Readahead(Record):
    """readahead(2)'s checks of the open file: open for reading (else EBADF), and a
    regular file or a block device (else EINVAL); nothing is read ahead."""
    OP: ClassVar[Op] = Op.READAHEAD
    fd: int


class Sync(Record):
    OP: ClassVar[Op] = Op.SYNC


class Poll(Record):
    """poll(2) of (fd, events) pairs; with a grant on the pollfd array, else (select) the
    answer is a ``PollReady``. ``timeout_ms`` -1: no limit."""
    OP: ClassVar[Op] = Op.POLL
    fds: list[tuple[int, int]]
    timeout_ms: int


# -- names and metadata --
class Openat(Record):
    """openat(2), and openat2(2) with its ``resolve`` flags (abi/flags.py ResolveFlag);
    ``sid``: the caller's session, which a terminal may come to control."""
    OP: ClassVar[Op] = Op.OPENAT
    dirfd: int
    path: bytes
    flags: int
    mode: int
    resolve: int = 0
    sid: int = 0


class Mkdirat(Record):
    OP: ClassVar[Op] = Op.MKDIRAT
    dirfd: int
    path: bytes
    mode: int


class Mknodat(Record):
    """mknodat(2): ``mode`` with its file type bits, ``rdev`` as os.makedev makes it."""
    OP: ClassVar[Op] = Op.MKNODAT
    dirfd: int
    path: bytes
    mode: int
    rdev: int


class Fallocate(Record):
    """fallocate(2)."""
    OP: ClassVar[Op] = Op.FALLOCATE
    fd: int
    mode: int
    offset: int
    length: int


class Unlinkat(Record):
    OP: ClassVar[Op] = Op.UNLINKAT
    dirfd: int
    path: bytes
    flags: int


class Renameat2(Record):
    OP: ClassVar[Op] = Op.RENAMEAT2
    olddirfd: int
    old: bytes
    newdirfd: int
    new: bytes
    flags: int


class Linkat(Record):
    OP: ClassVar[Op] = Op.LINKAT
    olddirfd: int
    old: bytes
    newdirfd: int
    new: bytes
    flags: int


class Symlinkat(Record):
    OP: ClassVar[Op] = Op.SYMLINKAT
    target: bytes
    newdirfd: int
    path: bytes


class Readlinkat(Record):
    """readlinkat(2) into one grant of ``size`` bytes."""
    OP: ClassVar[Op] = Op.READLINKAT
    dirfd: int
    path: bytes
    size: int


class Newfstatat(Record):
    """newfstatat(2) into one grant (struct stat)."""
    OP: ClassVar[Op] = Op.NEWFSTATAT
    dirfd: int
    path: bytes
    flags: int


class Statx(Record):
    """statx(2) into one grant (struct statx)."""
    OP: ClassVar[Op] = Op.STATX
    dirfd: int
    path: bytes
    flags: int
    mask: int


class Faccessat(Record):
    OP: ClassVar[Op] = Op.FACCESSAT
    dirfd: int
    path: bytes
    mode: int
    flags: int


class Fchmodat(Record):
    OP: ClassVar[Op] = Op.FCHMODAT
    dirfd: int
    path: bytes
    mode: int
    flags: int = 0


class Fchmod(Record):
    OP: ClassVar[Op] = Op.FCHMOD
    fd: int
    mode: int


class Fchownat(Record):
    OP: ClassVar[Op] = Op.FCHOWNAT
    dirfd: int
    path: bytes
    uid: int
    gid: int
    flags: int


class Utimensat(Record):
    """utimensat(2): times in ns (None: UTIME_OMIT), or None for now; path None: the fd."""
    OP: ClassVar[Op] = Op.UTIMENSAT
    dirfd: int
    path: bytes | None
    times: tuple[int | None, int | None] | None
    flags: int


class Truncate(Record):
    OP: ClassVar[Op] = Op.TRUNCATE
    path: bytes
    length: int


class Ftruncate(Record):
    OP: ClassVar[Op] = Op.FTRUNCATE
    fd: int
    length: int


class Statfs(Record):
    """statfs(2) into one grant (struct statfs)."""
    OP: ClassVar[Op] = Op.STATFS
    path: bytes


class Fstatfs(Record):
    OP: ClassVar[Op] = Op.FSTATFS
    fd: int


class Getdents64(Record):
    """getdents64(2) into one grant of ``count`` bytes."""
    OP: ClassVar[Op] = Op.GETDENTS64
    fd: int
    count: int


class Getcwd(Record):
    OP: ClassVar[Op] = Op.GETCWD
    size: int


class Chdir(Record):
    OP: ClassVar[Op] = Op.CHDIR
    path: bytes


class Fchdir(Record):
    OP: ClassVar[Op] = Op.FCHDIR
    fd: int


class Chroot(Record):
    """chroot(2); the personality checked CAP_SYS_CHROOT."""
    OP: ClassVar[Op] = Op.CHROOT
    path: bytes


class Mount(Record):
    """mount(2) with its strings read (b"" for a NULL one); the personality checked
    CAP_SYS_ADMIN."""
    OP: ClassVar[Op] = Op.MOUNT
    source: bytes
    target: bytes
    fstype: bytes
    flags: int
    data: bytes


class Umount2(Record):
    OP: ClassVar[Op] = Op.UMOUNT2
    target: bytes
    flags: int


class PivotRoot(Record):
    OP: ClassVar[Op] = Op.PIVOT_ROOT
    new_root: bytes
    put_old: bytes


class Unshare(Record):
    """Process ``pid`` leaves its mount namespace for a copy (unshare or clone with
    CLONE_NEWNS)."""
    OP: ClassVar[Op] = Op.UNSHARE
    pid: int


class Setns(Record):
    """setns(2) on ``fd``, which must be a /proc/<pid>/ns/* file of type ``nstype``
    (0: any); the personality checked CAP_SYS_ADMIN."""
    OP: ClassVar[Op] = Op.SETNS
    fd: int
    nstype: int


class Umask(Record):
    OP: ClassVar[Op] = Op.UMASK
    mask: int


class XattrPath(Record):
    """The *xattr calls on a path (``follow`` False: the l- forms)."""
    OP: ClassVar[Op] = Op.SETXATTR
    path: bytes
    follow: bool


class XattrFd(Record):
    OP: ClassVar[Op] = Op.FSETXATTR
    fd: int


# -- files that are not on a file system --
class Pipe2(Record):
    """pipe2(2); the two fds go to one grant of 8 bytes."""
    OP: ClassVar[Op] = Op.PIPE2
    flags: int


class MqOpen(Record):
    """mq_open(2) of ``name`` (without its leading slash); ``maxmsg`` 0: no attributes
    given (the defaults)."""
    OP: ClassVar[Op] = Op.MQ_OPEN
    name: bytes
    flags: int
    mode: int
    maxmsg: int
    msgsize: int


class MqUnlink(Record):
    OP: ClassVar[Op] = Op.MQ_UNLINK
    name: bytes


class MqTimedsend(Record):
    """mq_timedsend(2) of ``data`` (copied in by the personality)."""
    OP: ClassVar[Op] = Op.MQ_TIMEDSEND
    fd: int
    data: bytes
    prio: int


class MqTimedreceive(Record):
    """mq_timedreceive(2) into a buffer of ``size`` bytes; the answer is an ``MqReceived``."""
    OP: ClassVar[Op] = Op.MQ_TIMEDRECEIVE
    fd: int
    size: int


class MqNotify(Record):
    """mq_notify(2): ``notify`` -1 unregisters; else SIGEV_NONE (1) or SIGEV_SIGNAL (0)
    of ``signo`` with ``value``."""
    OP: ClassVar[Op] = Op.MQ_NOTIFY
    fd: int
    notify: int
    signo: int
    value: int


class MqGetsetattr(Record):
    """mq_getsetattr(2): ``flags`` -1 changes nothing; the answer is an ``MqAttr``."""
    OP: ClassVar[Op] = Op.MQ_GETSETATTR
    fd: int
    flags: int


class Eventfd2(Record):
    OP: ClassVar[Op] = Op.EVENTFD2
    initval: int
    flags: int


class InotifyInit1(Record):
    OP: ClassVar[Op] = Op.INOTIFY_INIT1
    flags: int


class InotifyAddWatch(Record):
    """inotify_add_watch(2); ``path`` None: the personality could not read it (EFAULT,
    after the fd's own checks)."""
    OP: ClassVar[Op] = Op.INOTIFY_ADD_WATCH
    fd: int
    path: bytes | None
    mask: int


class InotifyRmWatch(Record):
    OP: ClassVar[Op] = Op.INOTIFY_RM_WATCH
    fd: int
    wd: int


class PidfdOpen(Record):
    """pidfd_open(2), or clone's CLONE_PIDFD: a pidfd for ``pid``, which the personality
    found alive or a zombie (``exited``); ``flags`` are already checked."""
    OP: ClassVar[Op] = Op.PIDFD_OPEN
    pid: int
    flags: int
    exited: bool


class PidfdGetfd(Record):
    """pidfd_getfd(2): a copy of fd ``fd`` of the process ``pidfd`` names."""
    OP: ClassVar[Op] = Op.PIDFD_GETFD
    pidfd: int
    fd: int
    flags: int


class PidfdTarget(Record):
    """The process pidfd ``fd`` names: answered a ``PidTarget`` (or an errno). With
    ``proc_dir`` (pidfd_send_signal's), an fd of a /proc/<pid> directory names one too."""
    OP: ClassVar[Op] = Op.PIDFD_TARGET
    fd: int
    proc_dir: bool = False


class MemfdCreate(Record):
    OP: ClassVar[Op] = Op.MEMFD_CREATE
    name: bytes
    flags: int


class Signalfd4(Record):
    OP: ClassVar[Op] = Op.SIGNALFD4
    fd: int
    mask: int
    flags: int


class TimerfdCreate(Record):
    OP: ClassVar[Op] = Op.TIMERFD_CREATE
    clock: int
    flags: int


class TimerfdSettime(Record):
    """timerfd_settime(2), times in seconds; a grant (if any) takes the old value."""
    OP: ClassVar[Op] = Op.TIMERFD_SETTIME
    fd: int
    flags: int
    interval: float
    value: float
    absolute: bool


class TimerfdGettime(Record):
    OP: ClassVar[Op] = Op.TIMERFD_GETTIME
    fd: int


class EpollCreate1(Record):
    OP: ClassVar[Op] = Op.EPOLL_CREATE1
    flags: int


class EpollCtl(Record):
    OP: ClassVar[Op] = Op.EPOLL_CTL
    epfd: int
    op: int
    fd: int
    events: int
    data: int


class EpollWait(Record):
    """epoll_wait(2) into one grant of ``maxevents`` events; ``timeout_ms`` -1: no limit."""
    OP: ClassVar[Op] = Op.EPOLL_WAIT
    epfd: int
    maxevents: int
    timeout_ms: int


# -- AF_UNIX sockets --
class Socket(Record):
    """socket(2): an AF_UNIX one, or an internet one (``domain`` AF_INET, AF_INET6)."""
    OP: ClassVar[Op] = Op.SOCKET
    flags: int
    socktype: int = SOCK_STREAM
    domain: int = AF_UNIX


class Socketpair(Record):
    """socketpair(2); the two fds go to one grant of 8 bytes."""
    OP: ClassVar[Op] = Op.SOCKETPAIR
    flags: int
    socktype: int = SOCK_STREAM


class Bind(Record):
    OP: ClassVar[Op] = Op.BIND
    fd: int
    addr: bytes


class Connect(Record):
    """connect(2); ``network``: the caller holds the NETWORK right (abi/net.py), so an
    internet socket may reach beyond the machine."""
    OP: ClassVar[Op] = Op.CONNECT
    fd: int
    addr: bytes
    network: bool = False


class Listen(Record):
    OP: ClassVar[Op] = Op.LISTEN
    fd: int
    backlog: int


class Accept4(Record):
    """accept4(2); the answer is a ``BytesOut`` (the new fd, the peer's address)."""
    OP: ClassVar[Op] = Op.ACCEPT4
    fd: int
    flags: int


class Getsockname(Record):
    OP: ClassVar[Op] = Op.GETSOCKNAME
    fd: int


class Getpeername(Record):
    OP: ClassVar[Op] = Op.GETPEERNAME
    fd: int


class Getsockopt(Record):
    OP: ClassVar[Op] = Op.GETSOCKOPT
    fd: int
    level: int
    option: int


class Setsockopt(Record):
    OP: ClassVar[Op] = Op.SETSOCKOPT
    fd: int
    level: int
    option: int
    value: bytes = b""  # the option's bytes (at most 256)


class Shutdown(Record):
    OP: ClassVar[Op] = Op.SHUTDOWN
    fd: int
    how: int


class Sendto(Record):
    """sendto(2) from one grant; ``named``: an address was given (EISCONN)."""
    OP: ClassVar[Op] = Op.SENDTO
    fd: int
    count: int
    flags: int
    named: bool
    addr: bytes = b""  # the destination's sockaddr, when named
    network: bool = False  # as Connect's


class Recvfrom(Record):
    """recvfrom(2); the answer is a count, or a ``BytesOut`` (the count, the sender's
    sockaddr) from a socket whose messages have a sender."""
    OP: ClassVar[Op] = Op.RECVFROM
    fd: int
    count: int
    flags: int


class Sendmsg(Record):
    """sendmsg(2): one grant per iovec, and the fds of its SCM_RIGHTS."""
    OP: ClassVar[Op] = Op.SENDMSG
    fd: int
    lengths: list[int]
    flags: int
    fds: list[int]
    addr: bytes = b""  # msg_name: the destination's sockaddr
    network: bool = False  # as Connect's


class Recvmsg(Record):
    """recvmsg(2): one grant per iovec, then one on the control buffer if ``room``."""
    OP: ClassVar[Op] = Op.RECVMSG
    fd: int
    lengths: list[int]
    flags: int
    room: int


# -- lifecycle and notifications --
class Spawn(Record):
    OP: ClassVar[Op] = Op.SPAWN
    pid: int


class Fork(Record):
    OP: ClassVar[Op] = Op.FORK
    parent: int
    child: int


class Exec(Record):
    OP: ClassVar[Op] = Op.EXEC
    pid: int


class Exit(Record):
    OP: ClassVar[Op] = Op.EXIT
    pid: int


class Sendfile(Record):
    """sendfile(2): ``count`` bytes of the regular file ``in_fd`` from ``offset`` (None:
    its file position, which moves) to ``out_fd``."""
    OP: ClassVar[Op] = Op.SENDFILE
    out_fd: int
    in_fd: int
    offset: int | None
    count: int


class CopyFileRange(Record):
    """copy_file_range(2) between regular files; an offset None is the fd's position."""
    OP: ClassVar[Op] = Op.COPY_FILE_RANGE
    in_fd: int
    in_offset: int | None
    out_fd: int
    out_offset: int | None
    count: int


class Splice(Record):
    """splice(2): up to ``count`` bytes from ``fd_in`` to ``fd_out``, one of them a pipe.
    ``in_offset``, ``out_offset``: whether the caller passed that file's offset (a grant
    of its 8 bytes each, in order, which the VFS reads and moves); without, the file's
    position is used (a pipe has none). ``flags``: SPLICE_F_*."""
    OP: ClassVar[Op] = Op.SPLICE
    fd_in: int
    in_offset: bool
    fd_out: int
    out_offset: bool
    count: int
    flags: int


class Tee(Record):
    """tee(2): up to ``count`` bytes of pipe ``fd_in`` copied to pipe ``fd_out``, left
    in ``fd_in``."""
    OP: ClassVar[Op] = Op.TEE
    fd_in: int
    fd_out: int
    count: int
    flags: int


class Vmsplice(Record):
    """vmsplice(2): the grants (one per iovec, of these lengths) into the pipe ``fd`` if
    it is open for writing, else out of it."""
    OP: ClassVar[Op] = Op.VMSPLICE
    fd: int
    lengths: list[int]
    flags: int
    iov_error: int = 0  # (as Readv's)


class CloseRange(Record):
    OP: ClassVar[Op] = Op.CLOSE_RANGE
    first: int
    last: int
    flags: int


class Credentials(Record):
    """Who a process is for file permissions: real ids (access(2)), file-system ids,
    supplementary groups, effective capabilities (linux/creds.py's bits)."""
    OP: ClassVar[Op] = Op.CREDENTIALS
    pid: int
    uid: int
    gid: int
    fsuid: int
    fsgid: int
    groups: tuple[int, ...]
    caps: int


class ExecRead(Record):
    """What execve (execveat: ``flags`` AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW) needs, read
    with the caller's rights; answered with an ``ExecImage``."""
    OP: ClassVar[Op] = Op.EXEC_READ
    dirfd: int
    path: bytes
    flags: int = 0


class MmapRead(Record):
    """The bytes behind a file mapping (a ``Sharing``); answered with a ``MappedFile``."""
    OP: ClassVar[Op] = Op.MMAP_READ
    fd: int
    offset: int
    length: int
    sharing: int


class MapAttach(Record):
    """A shared mapping's pages lent (one grant) for the file (st_dev, st_ino)."""
    OP: ClassVar[Op] = Op.MAP_ATTACH
    key: tuple[int, int]
    length: int


class MapSync(Record):
    OP: ClassVar[Op] = Op.MAP_SYNC
    key: tuple[int, int]
    data: bytes | None
    final: bool


class TimerFired(Record):
    OP: ClassVar[Op] = Op.TIMER_FIRED
    key: int
    generation: int


class LeaseTimeout(Record):
    OP: ClassVar[Op] = Op.LEASE_TIMEOUT
    generation: int


class ConsoleInput(Record):
    OP: ClassVar[Op] = Op.CONSOLE_INPUT
    data: bytes


class SignalsPending(Record):
    OP: ClassVar[Op] = Op.SIGNALS_PENDING
    pid: int
    pending: int


class CoreDump(Record):
    OP: ClassVar[Op] = Op.CORE_DUMP
    pid: int
    image: bytes
    name: bytes = b"core"  # kernel/core_pattern expanded: relative to its directory


class SocketMade(Record):
    """From the net server, with the caller's reply: an internet socket it made (socket,
    or accept4's connection, with ``peer``: its sockaddr) wants an fd; ``events``: its
    poll events now (later ones come as ``SocketEvents``)."""
    OP: ClassVar[Op] = Op.SOCKET_MADE
    handle: int
    flags: int
    events: int
    peer: bytes | None = None


class SocketEvents(Record):
    """From the net server: the poll events of its sockets that changed, (handle, events);
    ``watched``: the answer to a ``NetWatch`` (abi/netsrv.py), the events of each."""
    OP: ClassVar[Op] = Op.SOCKET_EVENTS
    changes: tuple[tuple[int, int], ...]
    watched: bool = False


class NetRestarted(Record):
    """From the net server, as it starts: sockets with a handle below ``first`` were the
    state of an incarnation that crashed, and are reset."""
    OP: ClassVar[Op] = Op.NET_RESTARTED
    first: int


class PtyTimer(Record):
    """The VFS's own timer notification: pseudo-terminal ``index``'s VTIME ran out (the
    ``generation``-th it set; an older one is stale)."""
    OP: ClassVar[Op] = Op.PTY_TIMER
    index: int
    generation: int


# -- the server runtime's own (servers/runtime.py), for any server -------------------
class Interrupt(Record):
    """A signal for the caller of the call whose reply capability is ``reply_id``: the
    runtime answers it at once if the server parked it (linux/syscalls/sys_file.py)."""
    OP: ClassVar[Op] = Op.INTERRUPT
    reply_id: int


REQUESTS: tuple[type, ...] = (
    Read, Write, Readv, Writev, Pread, Pwrite, Close, Lseek, Ioctl, Dup, Dup2, Dup3, Fcntl,
    FcntlLock, FcntlOwner, Flock,
    Fsync, Readahead, Sync, Poll, Openat, Mkdirat, Mknodat, Fallocate, Unlinkat, Renameat2, Linkat,
    Symlinkat, Readlinkat,
    Newfstatat, Statx, Faccessat, Fchmodat, Fchmod, Fchownat, Utimensat, Truncate, Ftruncate,
    Statfs, Fstatfs, Getdents64, Getcwd, Chdir, Fchdir, Chroot, Mount, Umount2,
    PivotRoot, Unshare, Setns, Umask, XattrPath, XattrFd, Pipe2,
    Eventfd2, MemfdCreate, Signalfd4, TimerfdCreate, TimerfdSettime, TimerfdGettime,
    EpollCreate1, EpollCtl, EpollWait, Socket, Socketpair, Bind, Connect, Listen, Accept4,
    Getsockname, Getpeername, Getsockopt, Setsockopt, Shutdown, Sendto, Recvfrom, Sendmsg,
    Recvmsg, Spawn, Fork, Exec, Exit, ExecRead, MmapRead, MapAttach, MapSync, TimerFired,
    LeaseTimeout, ConsoleInput, SignalsPending, CoreDump, Credentials, Sendfile,
    CopyFileRange, CloseRange, Splice, Tee, Vmsplice, SocketMade, SocketEvents,
    NetRestarted, MqOpen, MqUnlink, MqTimedsend, MqTimedreceive, MqNotify, MqGetsetattr,
    PidfdOpen, PidfdGetfd, PidfdTarget, PtyTimer, InotifyInit1, InotifyAddWatch, InotifyRmWatch)
# A request class by its op; some classes serve several ops alike.
BY_OP: dict[int, type] = {
    **{cls.OP: cls for cls in REQUESTS},  # type: ignore[attr-defined]
    Op.FDATASYNC: Fsync,
    **{op: XattrPath for op in (Op.LSETXATTR, Op.GETXATTR, Op.LGETXATTR, Op.LISTXATTR,
                               Op.LLISTXATTR, Op.REMOVEXATTR, Op.LREMOVEXATTR)},
    **{op: XattrFd for op in (Op.FGETXATTR, Op.FLISTXATTR, Op.FREMOVEXATTR)},
}
_SHAPES: dict[type, Shape] = {}


def decode(op: object, args: tuple[object, ...] = ()) -> object:
    """The request an untyped message (op, *args) makes, or the errno that answers it:
    ENOSYS for an op the VFS does not serve, EINVAL for arguments that do not fit. (Every
    sender in CloudOS sends typed requests; a guest's raw message on the VFS port, by
    the native IPC calls, has a tag and no arguments.)"""
    cls = BY_OP.get(op) if isinstance(op, int) else None
    if cls is None:
        return Errno.ENOSYS
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = shape_of(cls)
    if not shape.accepts(args):
        return Errno.EINVAL
    return cls(*args)
