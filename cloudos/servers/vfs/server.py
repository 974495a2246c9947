"""The VFS server: Linux file semantics for every process, reached by IPC.

Owns: dispatching requests, the namespace (mounts and path operations: open,
stat, mkdir, rename, links, permissions, directories), each process's fd table,
working directory and umask, the process lifecycle (spawn, fork, exec, exit),
poll and its waiters, and execve's reads. A request is one of the typed requests
of the VFS protocol (``abi/vfs.py``): a Linux system call's arguments, already
decoded by the Linux personality (buffers arrive as memory grants), or a
lifecycle op or notification; ``handle`` dispatches on its type (a guest's raw
message is decoded first: ENOSYS, EINVAL). The answer is the system call's result
(a negative errno on failure), a typed answer (``Again``, ``SignalsReady``, ...),
or None from a handler that answers later (a deferred reply: a read of an empty
pipe waits while the server goes on serving others).
What an open file does is its kind's: every kind implements the file-operations
protocol (``fileops.py``) in a module of its own, found in ``KINDS`` (``regular``
files and the shared mappings of files, ``pipe``, ``fifo`` (named pipes), ``unix``
sockets, the ``console``, ``eventfd``, ``timerfd``, ``signalfd``, ``epoll``, ``pidfd``,
``notify``'s inotify instances, and ``netsock``, internet sockets, whose calls go on to the
net server, ``servers.net``); the calls only one kind serves (bind, timerfd_settime, ...)
go straight to its module. What each change does to a file is told to ``notify`` (inotify's
and dnotify's events) where the change is made here.
State lives in ``VfsState``, which outlives a crash of the server's code: ``rs``
restarts the code on the same state.
Never: touches guest memory except through the grants of a request.
Called by: the Linux personality (``linux.syscalls.sys_file``) through the VFS port.
"""

from __future__ import annotations

import os
import stat
import struct
import time
from collections import OrderedDict
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Generator, Sequence


from cloudos.abi import vfs
from cloudos.abi.dataclass import dataclass, field
from cloudos.abi.lazy import later
from cloudos.abi.flags import (AT_FDCWD, AtFlag, FallocFlag, FcntlCmd, OpenFlag, OwnerType,
                                RenameFlag, ResolveFlag, StatfsFlag)
from cloudos.abi.sysctl import Sysctl
from cloudos.abi.vfs import Again, ExecImage, FileOwner, PollReady
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Port
from cloudos.servers.runtime import Request, ServerApi
from cloudos.servers.vfs import console, files, locks, mounts, notify, perm, pipe, pty, regular
from cloudos.servers.vfs.bindfs import underlying
from cloudos.servers.vfs.console import BACKGROUND
from cloudos.servers.vfs.files import (O_ACCMODE, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL,
                                       O_NOFOLLOW, O_NONBLOCK, O_PATH, O_TRUNC, FdTable,
                                       OpenFile, Timer)
from cloudos.servers.vfs.devfs import DevFs
from cloudos.servers.vfs.devpts import DevPts, PtsNode
from cloudos.servers.vfs.fileops import FOLLOW, FileOps
from cloudos.servers.vfs.fs import MAX_FILE_SIZE, Attr, FileSystem, Node
from cloudos.servers.vfs.hostfs import HostFs
from cloudos.servers.vfs.overlay import OverlayFs
from cloudos.servers.vfs.locks import LockTable
from cloudos.servers.vfs.paths import (IFMT, MAX_SYMLINKS, UNSCOPED, Namespace, Scope, Step,
                                       Walk, is_dir, path_of, relative)
from cloudos.servers.vfs.perm import ROOT, Who
from cloudos.servers.vfs.procfs import ProcFs
from cloudos.servers.vfs.regular import Mapped
from cloudos.servers.vfs.textbusy import TextBusy
from cloudos.servers.vfs.tmpfs import TmpFs
from cloudos.servers.tty.ldisc import LineDiscipline

if TYPE_CHECKING:
    from cloudos.servers.vfs import (epoll, eventfd, fifo, mqueue, netsock, pidfd, procmem,
                                     signalfd, timerfd, transfer, unix)
else:  # the rarer kinds of file and calls: their code loads at its first use (abi/lazy.py)
    epoll, eventfd, fifo, mqueue, netsock, pidfd, procmem, signalfd, timerfd, transfer, \
        unix = later(*(f"cloudos.servers.vfs.{name}" for name in (
            "epoll", "eventfd", "fifo", "mqueue", "netsock", "pidfd", "procmem", "signalfd",
            "timerfd", "transfer", "unix")))

VFS_ID = -2
EXEC_MAX = 512 << 20
EXEC_CACHE_BYTES = 32 << 20  # the files' bytes execve and mmap keep (VfsState.exec_images)
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH = map(int, (
    AtFlag.SYMLINK_NOFOLLOW, AtFlag.REMOVEDIR, AtFlag.SYMLINK_FOLLOW, AtFlag.EMPTY_PATH))
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = map(int, (
    FcntlCmd.DUPFD, FcntlCmd.GETFD, FcntlCmd.SETFD, FcntlCmd.GETFL, FcntlCmd.SETFL,
    FcntlCmd.DUPFD_CLOEXEC))
F_SETOWN, F_GETOWN, F_SETSIG, F_GETSIG, F_GETOWN_EX = map(int, (
    FcntlCmd.SETOWN, FcntlCmd.GETOWN, FcntlCmd.SETSIG, FcntlCmd.GETSIG, FcntlCmd.GETOWN_EX))
F_SETPIPE_SZ, F_GETPIPE_SZ = int(FcntlCmd.SETPIPE_SZ), int(FcntlCmd.GETPIPE_SZ)
SEEK_MAX = 4  # SEEK_HOLE
F_SETLEASE, F_GETLEASE = int(FcntlCmd.SETLEASE), int(FcntlCmd.GETLEASE)
F_NOTIFY = int(FcntlCmd.NOTIFY)
# the commands an O_PATH fd takes (Linux's check_fcntl_cmd); any other is EBADF
PATH_FCNTL = frozenset({F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL})
OWNER_TID, OWNER_PID, OWNER_PGRP = int(OwnerType.TID), int(OwnerType.PID), int(OwnerType.PGRP)
NSIG = 64
FD_CLOEXEC = 1
FIONBIO, FIONCLEX, FIOCLEX = 0x5421, 0x5450, 0x5451
POLLNVAL = 32
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = map(int, (
    RenameFlag.NOREPLACE, RenameFlag.EXCHANGE, RenameFlag.WHITEOUT))
CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC = 2, 4
O_NOATIME = int(OpenFlag.NOATIME)
RESOLVE_CACHED = int(ResolveFlag.CACHED)  # every walk here is as cheap as a cached one
O_TMPFILE_BIT = files.O_TMPFILE & ~O_DIRECTORY  # __O_TMPFILE
MKNOD_FORMATS = (0, stat.S_IFREG, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK)
# The last names that are no entry of their directory ("" is "/"'s), which every call that
# makes, removes or moves a name refuses with its own error (Linux's LAST_ROOT, LAST_DOT,
# LAST_DOTDOT); rmdir's, by name:
DOTS = (b"", b".", b"..")
RMDIR_DOTS = {b"": Errno.EBUSY, b".": Errno.EINVAL, b"..": Errno.ENOTEMPTY}
FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE = int(FallocFlag.KEEP_SIZE), int(FallocFlag.PUNCH_HOLE)
# fallocate's operations, and whether KEEP_SIZE must (True), must not (False) or may (None)
# come with each
FALLOC_OPERATIONS: dict[int, bool | None] = {
    0: None, int(FallocFlag.UNSHARE_RANGE): None, int(FallocFlag.ZERO_RANGE): None,
    int(FallocFlag.PUNCH_HOLE): True, int(FallocFlag.COLLAPSE_RANGE): False,
    int(FallocFlag.INSERT_RANGE): False, int(FallocFlag.WRITE_ZEROES): False}
AF_UNIX = 1
R_OK, W_OK, X_OK = 4, 2, 1
STAT = struct.Struct("<QQQIIIiQqqqqqqqqqqqq")
DIRENT = struct.Struct("<QqHB")


class _Kinds(dict):  # type: ignore[type-arg]
    """Every kind of open file, by OpenFile.kind: its implementation of the file-operations
    protocol (fileops.py), in a module of its own. A rarer kind's is made, and its module
    loaded, when the VFS first meets a file of that kind."""

    LATER = {"fifo": (fifo, "FifoEnd"), "socket": (unix, "UnixSocket"),
             "eventfd": (eventfd, "EventFd"), "timerfd": (timerfd, "TimerFd"),
             "signalfd": (signalfd, "SignalFd"), "epoll": (epoll, "Epoll"),
             "inet": (netsock, "NetSocket"), "mqueue": (mqueue, "MqueueFile"),
             "pidfd": (pidfd, "Pidfd"), "procmem": (procmem, "ProcMem")}

    def __missing__(self, kind: str) -> FileOps:
        module, name = self.LATER[kind]
        ops = self[kind] = getattr(module, name)()
        return ops


KINDS: dict[str, FileOps] = _Kinds({
    "node": regular.Regular(), "pipe": pipe.PipeEnd(), "console": console.HostConsole(),
    "ptm": pty.PtyEnd(), "pts": pty.PtyEnd(), "inotify": notify.Inotify()})


# The socket calls, each served by the function of that name in AF_UNIX's module, or for
# an internet socket by the net server (``netsock`` forwards them: Vfs.socket_call).
SOCKET_CALLS: tuple[tuple[type, str], ...] = (
    (vfs.Bind, "bind"), (vfs.Connect, "connect"), (vfs.Listen, "listen"),
    (vfs.Accept4, "accept4"), (vfs.Getsockname, "getsockname"),
    (vfs.Getpeername, "getpeername"), (vfs.Getsockopt, "getsockopt"),
    (vfs.Setsockopt, "setsockopt"), (vfs.Shutdown, "shutdown"), (vfs.Sendto, "sendto"),
    (vfs.Recvfrom, "recvfrom"), (vfs.Sendmsg, "sendmsg"), (vfs.Recvmsg, "recvmsg"))


@dataclass
class Proc:
    """What the VFS knows of one process."""

    fds: FdTable
    cwd: Walk
    umask: int = 0o022
    pid: int = 0
    who: Who = ROOT  # its credentials (perm.py), as the personality last told them
    root: Walk | None = None  # chroot's root (None: its namespace's "/")
    ns: Namespace | None = None  # its mount namespace (None: the machine's first)

    def top(self, machine: Namespace) -> Walk:
        """Its root: where "/" starts and ".." stops."""
        return self.root if self.root is not None else self.namespace(machine).root()

    def namespace(self, machine: Namespace) -> Namespace:
        return self.ns if self.ns is not None else machine


@dataclass
class VfsState:
    """Everything that must survive a crash of the server's code."""

    namespace: Namespace
    procs: dict[int, Proc] = field(default_factory=dict)
    caller: int = 0  # the pid of the request being served (what /proc/self names)
    foreground: int = 1  # the console's foreground process group (TIOCSPGRP)
    # poll/select waiters (request, fds, proc, None) and epoll_wait waiters
    # (request, [], proc, (epoll file, maxevents))
    pollers: list[tuple[Request, list[tuple[int, int]], Proc, Any]] = field(default_factory=list)
    timers: dict[int, Timer] = field(default_factory=dict)  # open timerfds by key
    # bound AF_UNIX sockets by ("node", st_dev, st_ino) or ("abstract", name)
    unix_names: dict[Any, OpenFile] = field(default_factory=dict)
    autobinds: int = 0
    # the net server's port, and the internet sockets open here by its handle (netsock)
    net_port: Port | None = None
    net_files: dict[int, OpenFile] = field(default_factory=dict)
    # calls waiting for the events of sockets not watched yet, and whether a NetWatch
    # asking for them is out
    net_syncing: list[Request] = field(default_factory=list)
    net_watching: bool = False
    timer_keys: int = 0
    mount_namespaces: int = 0  # mount namespaces made (unshare): their inode numbers
    # files mapped MAP_SHARED, by (st_dev, st_ino): their pages are the file's newest bytes
    mapped: dict[tuple[int, int], Mapped] = field(default_factory=dict)
    memfds: TmpFs = field(default_factory=TmpFs)  # where memfd_create's files live, unnamed
    # A process's RLIMIT_NOFILE soft limit, by pid (the machine reads the personality's)
    fd_limit: Callable[[int], int] = lambda pid: files.MAX_FDS
    fsize_limit: Callable[[int], int] = lambda pid: 1 << 64  # RLIMIT_FSIZE, the same way
    msgqueue_limit: Callable[[int], int] = lambda pid: 819200  # RLIMIT_MSGQUEUE, the same way
    map_limit: int = 1 << 40  # bytes of a file one mapping may read (the machine: its RAM)
    # /proc/sys's values (fs/pipe-max-size for F_SETPIPE_SZ ...): the machine's record
    sysctl: Sysctl = field(default_factory=Sysctl)
    # The console's line discipline when it is a terminal (None: reads go to the host
    # as they are), reads waiting for it, and the signals its keys raised for the
    # machine to send to the foreground group.
    tty: LineDiscipline | None = None
    tty_readers: list[tuple[Request, int, Any, list[int] | None]] = field(default_factory=list)
    tty_signals: list[int] = field(default_factory=list)
    # signalfds: the pending signals of each process that has one (told by the
    # personality, which owns signals), and reads waiting for one of theirs
    signals_pending: dict[int, int] = field(default_factory=dict)
    signal_readers: list[tuple[Request, OpenFile]] = field(default_factory=list)
    text: TextBusy = field(default_factory=TextBusy)  # ETXTBSY's bookkeeping
    # The bytes of the programs, loaders and libraries execve and private mmaps read last,
    # by identity (st_dev, st_ino, st_size, st_mtime_ns: a rewritten file is another one),
    # newest last: a shell's loop runs the same few files again and again (at most
    # EXEC_CACHE_BYTES; Vfs.image_bytes)
    exec_images: OrderedDict[tuple[int, int, int, int], bytes] = \
        field(default_factory=OrderedDict)
    # FIFOs with openers: their pipe, by the node's (st_dev, st_ino)
    fifos: dict[tuple[int, int], fifo.Fifo] = field(default_factory=dict)
    tmpfiles: int = 0  # O_TMPFILE files made (their names while they are being made)
    locks: LockTable = field(default_factory=LockTable)  # fcntl and flock locks, leases
    pids: dict[int, files.PidRef] = field(default_factory=dict)  # live processes with pidfds
    # SIGIO (a lease's break, O_ASYNC I/O) for F_SETOWN's owner ((OwnerType, id), signal),
    # and a pseudo-terminal's signals (its keys, SIGWINCH, hang-up) for a process group or
    # a session leader the same way: the machine's
    send_sigio: Callable[[int, int, int], None] = lambda kind, who, sig: None
    # POSIX message queues by name (mqueue.py), and the machine's way to send the signal
    # of an mq_notify: (pid, signal, sender's pid, sender's uid, sigev_value)
    mqueues: dict[bytes, Any] = field(default_factory=dict)
    mqueue_bytes: dict[int, int] = field(default_factory=dict)  # charged, by real uid
    send_mq_signal: Callable[[int, int, int, int, int], None] = \
        lambda pid, sig, sender, uid, value: None
    # inotify's and dnotify's marks and what they count (notify.py), and the machine's way
    # to send a dnotify signal: (OwnerType, id, signal, the fd it names in si_fd)
    notify: notify.Notify = field(default_factory=notify.Notify)
    send_poll_signal: Callable[[int, int, int, int], None] = lambda kind, who, sig, fd: None


class Vfs:
    """One incarnation of the server's code over the shared state."""

    def __init__(self, api: ServerApi, state: VfsState) -> None:
        self.api, self.state = api, state
        if state is not None:  # (None: a test that only reads the handler table)
            state.namespace.may_search = self.may_search
        # the handler of each request type (abi/vfs.py declares them)
        self.handlers: dict[type, Callable[[Request, Any], Any]] = {
            vfs.Read: self.read, vfs.Write: self.write, vfs.Readv: self.readv,
            vfs.Writev: self.writev, vfs.Pread: self.pread, vfs.Pwrite: self.pwrite,
            vfs.Close: self.close, vfs.Lseek: self.lseek, vfs.Ioctl: self.ioctl,
            vfs.Dup: self.dup, vfs.Dup2: self.dup2, vfs.Dup3: self.dup3, vfs.Fcntl: self.fcntl,
            vfs.FcntlLock: self.fcntl_lock, vfs.FcntlOwner: self.fcntl_owner,
            vfs.Flock: self.flock, vfs.LeaseTimeout: self.lease_timeout,
            vfs.Fsync: self.fsync, vfs.Readahead: self.readahead, vfs.Sync: self.sync,
            vfs.Poll: self.poll,
            vfs.Openat: self.openat, vfs.Mkdirat: self.mkdirat, vfs.Mknodat: self.mknodat,
            vfs.Fallocate: self.fallocate, vfs.Unlinkat: self.unlinkat,
            vfs.Renameat2: self.renameat2, vfs.Linkat: self.linkat, vfs.Symlinkat: self.symlinkat,
            vfs.Readlinkat: self.readlinkat, vfs.Newfstatat: self.newfstatat, vfs.Statx: self.statx,
            vfs.Faccessat: self.faccessat, vfs.Fchmodat: self.fchmodat, vfs.Fchmod: self.fchmod,
            vfs.Fchownat: self.fchownat, vfs.Utimensat: self.utimensat,
            vfs.Truncate: self.truncate, vfs.Ftruncate: self.ftruncate, vfs.Statfs: self.statfs,
            vfs.Fstatfs: self.fstatfs, vfs.Getdents64: self.getdents64, vfs.Getcwd: self.getcwd,
            vfs.Chroot: self.chroot, vfs.Mount: self.mount, vfs.Umount2: self.umount2,
            vfs.PivotRoot: self.pivot_root, vfs.Unshare: self.unshare, vfs.Setns: self.setns,
            vfs.Chdir: self.chdir, vfs.Fchdir: self.fchdir, vfs.Umask: self.umask,
            vfs.XattrPath: self.xattr, vfs.XattrFd: self.fxattr, vfs.Spawn: self.spawn,
            vfs.Fork: self.fork, vfs.Exec: self.exec, vfs.Exit: self.exit,
            vfs.Credentials: self.credentials, vfs.CloseRange: self.close_range,
            vfs.Sendfile: self._later(transfer, "sendfile"),
            vfs.CopyFileRange: self._later(transfer, "copy_file_range"),
            vfs.Splice: self._later(transfer, "splice"), vfs.Tee: self._later(transfer, "tee"),
            vfs.Vmsplice: self._later(transfer, "vmsplice"),
            vfs.ExecRead: self.exec_read, vfs.CoreDump: self.core_dump,
            # files of a kind, served by the kind's module
            vfs.MmapRead: partial(regular.mmap_read, self),
            vfs.MapAttach: partial(regular.map_attach, self),
            vfs.MapSync: partial(regular.map_sync, self),
            vfs.MemfdCreate: partial(regular.memfd_create, self),
            vfs.Pipe2: partial(pipe.pipe2, self),
            vfs.Socket: self.socket, vfs.Socketpair: self._later(unix, "socketpair"),
            vfs.SocketMade: self._later(netsock, "socket_made"),
            vfs.SocketEvents: self._later(netsock, "socket_events"),
            vfs.NetRestarted: self.net_restarted,
            **{cls: partial(self.socket_call, name) for cls, name in SOCKET_CALLS},
            vfs.ConsoleInput: partial(console.console_input, self),
            vfs.Eventfd2: self.eventfd2, vfs.Signalfd4: self._later(signalfd, "signalfd4"),
            vfs.SignalsPending: self.signals_pending, vfs.TimerfdCreate: self.timerfd_create,
            vfs.TimerfdSettime: self._later(timerfd, "settime"),
            vfs.TimerfdGettime: self._later(timerfd, "gettime"),
            vfs.MqOpen: self._later(mqueue, "mq_open"),
            vfs.MqUnlink: self._later(mqueue, "mq_unlink"),
            vfs.MqTimedsend: self._later(mqueue, "mq_timedsend"),
            vfs.MqTimedreceive: self._later(mqueue, "mq_timedreceive"),
            vfs.MqNotify: self._later(mqueue, "mq_notify"),
            vfs.MqGetsetattr: self._later(mqueue, "mq_getsetattr"),
            vfs.TimerFired: self.timer_fired, vfs.EpollCreate1: self.epoll_create1,
            vfs.PtyTimer: partial(pty.timer_ran_out, self),
            vfs.EpollCtl: self._later(epoll, "ctl"), vfs.EpollWait: self._later(epoll, "wait"),
            vfs.PidfdOpen: self._later(pidfd, "pidfd_open"),
            vfs.PidfdGetfd: self._later(pidfd, "pidfd_getfd"),
            vfs.PidfdTarget: self._later(pidfd, "target"),
            vfs.InotifyInit1: partial(notify.inotify_init1, self),
            vfs.InotifyAddWatch: self.inotify_add_watch,
            vfs.InotifyRmWatch: partial(notify.rm_watch, self),
        }

    # -- dispatch ---------------------------------------------------------------
    def handle(self, request: Request) -> None:
        """Dispatch on the request's type; a message that is not a typed request (a guest's
        raw message) is decoded first: an op we do not serve is ENOSYS, arguments that do
        not fit the op EINVAL."""
        self.state.caller = request.sender
        body = request.body
        handler = self.handlers.get(type(body))
        if handler is None:
            body = vfs.decode(request.op)
            if isinstance(body, Errno):
                self.answer(request, -body)
                return
            handler = self.handlers[type(body)]
        try:
            result = handler(request, body)
        except KernelError as err:
            result = Again.BACKGROUND if err.errno == BACKGROUND else -err.errno
        except netsock.NetSync:
            netsock.wait_for_events(self, request)
            return
        if result is not None and request.reply_token:  # None: answered later (deferred)
            self.api.reply(request, result)  # (``answer``, inline)

    def answer(self, request: Request, result: Any) -> None:
        if request.reply_token:
            self.api.reply(request, result)

    def proc(self, request: Request) -> Proc:
        proc = self.state.procs.get(request.sender)
        if proc is None:
            raise KernelError(Errno.ESRCH, f"pid {request.sender} unknown to the VFS")
        fds = proc.fds  # (its limit is read, the caller's, only by calls that need it)
        fds.caller, fds.rlimit = request.sender, self.state.fd_limit
        return proc

    def socket(self, request: Request, r: vfs.Socket) -> Any:
        """socket(2): an AF_UNIX socket (``unix``), or an internet one (the net server's)."""
        return (unix.socket if r.domain == AF_UNIX else netsock.socket)(self, request, r)

    def socket_call(self, name: str, request: Request, r: Any) -> Any:
        """A socket call, served by AF_UNIX's module or forwarded to the net server."""
        kind = self.proc(request).fds.get(r.fd).kind
        return (netsock.socket_call if kind == "inet" else getattr(unix, name))(self, request, r)

    def net_restarted(self, request: Request, r: vfs.NetRestarted) -> None:
        """The net server (re)started: its sockets before are reset (netsock.py). At the
        first start there are none, nor calls waiting for their events: netsock's code
        need not load."""
        if self.state.net_files:
            netsock.net_restarted(self, request, r)
        else:
            self.state.net_watching = False

    def _later(self, module: Any, name: str) -> Callable[[Request, Any], Any]:
        """The handler ``partial(module.name, self)`` would be, with ``module`` loaded at
        its first call (a rarer kind's: ``later``)."""
        return lambda request, r: getattr(module, name)(self, request, r)

    # -- process lifecycle --------------------------------------------------------
    def spawn(self, request: Request, r: vfs.Spawn) -> int:
        """A first process: console on fds 0, 1 and 2, cwd and root at "/"."""
        fds = FdTable()
        namespace = self.state.namespace
        try:
            device: Walk | None = namespace.resolve(namespace.root(), b"/dev/console", True)[0]
        except KernelError:
            device = None  # a root without /dev: the console has no node to show
        for fd, mode in ((0, files.O_RDONLY), (1, files.O_WRONLY), (2, files.O_WRONLY)):
            fds.install(console.console(fd, mode, device), fd=fd)
        self.state.procs[r.pid] = Proc(fds, self.state.namespace.root(), pid=r.pid)
        self.state.text.execed(0, r.pid)  # init's program, read as pid 0
        return 0

    def fork(self, request: Request, r: vfs.Fork) -> int:
        p = self.state.procs.get(r.parent)
        if p is not None:
            self.state.procs[r.child] = Proc(p.fds.fork(), p.cwd, p.umask, r.child, p.who,
                                             p.root, p.ns)
        self.state.text.forked(r.parent, r.child)
        return 0

    def credentials(self, request: Request, r: vfs.Credentials) -> int:
        p = self.state.procs.get(r.pid)
        if p is not None:
            p.who = Who(r.uid, r.gid, r.fsuid, r.fsgid, r.groups, r.caps)
        return 0

    def resolve(self, proc: Proc, start: Walk, path: bytes, follow: bool = True,
                parent: bool = False, scope: Scope = UNSCOPED) -> tuple[Walk, bytes]:
        """``path`` from ``start`` in ``proc``'s mount namespace, under its root (and
        within openat2's ``scope``)."""
        ns = proc.ns if proc.ns is not None else self.state.namespace  # (``Proc.namespace``
        top = proc.root if proc.root is not None else ns.root()  # and ``Proc.top``, inline)
        return ns.resolve(start, path, follow, parent, top, scope)

    def caller_namespace(self) -> Namespace:
        """The mount namespace of the process whose request is being served."""
        proc = self.state.procs.get(self.state.caller)
        return proc.namespace(self.state.namespace) if proc is not None \
            else self.state.namespace

    def may_search(self, attr: Attr) -> None:
        """EACCES unless the caller may search the directory ``attr`` (a walk's check of
        each directory it goes through; ``who`` inline)."""
        if attr.mode & 0o111 != 0o111:  # (else anyone may: perm.check_search)
            proc = self.state.procs.get(self.state.caller)
            perm.check_search(proc.who if proc is not None else ROOT, attr)

    def who(self) -> Who:
        """The credentials of the process whose request is being served (root for the
        machine's own requests)."""
        proc = self.state.procs.get(self.state.caller)
        return proc.who if proc is not None else ROOT

    def exec(self, request: Request, r: vfs.Exec) -> int:
        self.state.text.execed(r.pid)
        p = self.state.procs.get(r.pid)
        if p is not None:
            for fd in [fd for fd, e in p.fds.entries.items() if e.cloexec]:
                self._close(p, fd)
        return 0

    def exec_read(self, request: Request, r: vfs.ExecRead) -> ExecImage:
        """What execve needs, read with the caller's rights: the program, the dynamic
        loader it names, and for a #! script the interpreter and the argv it prepends.

        Answers an ``ExecImage``; an identity keys the page cache.
        """
        proc = self.proc(request)
        name = r.path  # the name a script's interpreter is given: /dev/fd/N[/path] for one
        if r.dirfd != AT_FDCWD and not r.path.startswith(b"/"):  # found from a directory
            proc.fds.get(r.dirfd)  # fd (execveat): EBADF, and named as Linux names it
            name = b"/dev/fd/%d" % r.dirfd + (b"/" + r.path if r.path else b"")
            if proc.fds.entries[r.dirfd].cloexec:  # (a name the new program cannot open:
                name = b""                         # a script cannot run by it)
        where, data, ident, set_ids = self._executable(proc, r.dirfd, r.path, r.flags)
        images = [ident[:2]]
        prefix: tuple[bytes, ...] = ()
        if data.startswith(b"#!"):
            if not name:
                raise KernelError(Errno.ENOENT, "a script by a close-on-exec fd")
            line = data[2:data.find(b"\n") if b"\n" in data else 256][:256].strip()
            if not line:
                raise KernelError(Errno.ENOEXEC, "empty #! line")
            interp, _, arg = line.partition(b" ")
            prefix = (interp, *([arg.strip()] if arg.strip() else []), name)
            # a script's own set-ID bits never count: the interpreter's do
            where, data, ident, set_ids = self._executable(proc, AT_FDCWD, interp)
            images = [ident[:2]]
        loader = program_interpreter(data)
        loader_path, loader_data, loader_id, _ = (self._executable(proc, AT_FDCWD, loader)
                                                  if loader else (b"", None, None, None))
        if loader_id is not None:
            images.append(loader_id[:2])
        self.state.text.read_for_exec(proc.pid, tuple(images))
        return ExecImage(where, data, loader_data, prefix, ident, loader_id, set_ids,
                         loader_path)

    def _executable(self, proc: Proc, dirfd: int, path: bytes, flags: int = 0
                    ) -> tuple[bytes, bytes, Any, tuple[int | None, int | None]]:
        """The program (or dynamic loader) at ``path``, which the caller may execute:
        (its path, its bytes, its identity, the ids it runs as when set-ID). ``flags``:
        execveat's AT_EMPTY_PATH (``dirfd``'s file) and AT_SYMLINK_NOFOLLOW (ELOOP)."""
        try:
            walk = self.lookup(proc, dirfd, path, flags)
        except _NotANode as special:  # (an fd of a pipe, a socket...: not a program)
            raise KernelError(Errno.EACCES, "not an executable regular file") from special
        step = walk[-1]
        attr = step.fs.getattr(step.node)
        if stat.S_ISLNK(attr.mode):
            raise KernelError(Errno.ELOOP, "AT_SYMLINK_NOFOLLOW on a symbolic link")
        if not stat.S_ISREG(attr.mode) or not attr.mode & 0o111:
            raise KernelError(Errno.EACCES, "not an executable regular file")
        perm.check(proc.who, attr, perm.MAY_EXEC)
        self.state.text.may_run((attr.dev, attr.ino))
        if attr.size > EXEC_MAX:
            raise KernelError(Errno.E2BIG, "program too large")
        ident = (attr.dev, attr.ino, attr.size, attr.mtime_ns)
        return path_of(walk), self.image_bytes(step.fs, step.node, ident), ident, \
            _set_ids(attr)

    def image_bytes(self, fs: FileSystem, node: Node, ident: tuple[int, int, int, int]) -> bytes:
        """The whole of regular file ``node``, whose identity is ``ident``: read once while
        it keeps that identity and stays among the files execve or mmap read last (not a
        file mapped shared: writes to its pages change it without a new identity)."""
        images = self.state.exec_images
        if ident[:2] in self.state.mapped:
            images.pop(ident, None)
            return fs.read(node, 0, ident[2])
        data = images.get(ident)
        if data is not None:
            images.move_to_end(ident)
            return data
        data = fs.read(node, 0, ident[2])
        if len(data) == ident[2]:  # (a file that changed under the read is not kept)
            images[ident] = data
            total = sum(len(d) for d in images.values())
            while total > EXEC_CACHE_BYTES:
                total -= len(images.popitem(last=False)[1])
        return data

    def xattr(self, request: Request, r: vfs.XattrPath) -> int:
        """The *xattr calls on a path: the file must exist; no file system here has xattrs."""
        self.lookup(self.proc(request), AT_FDCWD, r.path, 0 if r.follow else AT_SYMLINK_NOFOLLOW)
        raise KernelError(Errno.EOPNOTSUPP, "extended attributes are not supported")

    def fxattr(self, request: Request, r: vfs.XattrFd) -> int:
        self.proc(request).fds.get(r.fd)
        raise KernelError(Errno.EOPNOTSUPP, "extended attributes are not supported")

    def core_dump(self, request: Request, r: vfs.CoreDump) -> None:
        """Write the core file where core_pattern's expansion says (a relative name from the
        process's working directory): a new file (mode 0600), or an existing regular file
        replaced, as Linux; nothing when its directory is not there."""
        proc = self.state.procs.get(r.pid)
        if proc is None:
            return
        try:
            parent, name = self.resolve(proc, proc.cwd, r.name, parent=True)
        except KernelError:
            return
        here = parent[-1]
        if not name or not is_dir(here):
            return
        try:
            node = here.fs.lookup(here.node, name)
        except KernelError:
            try:
                node = here.fs.create(here.node, name, 0o600, proc.who.fsuid, proc.who.fsgid)
            except KernelError:
                return  # a read-only or full directory: Linux writes no core either
        if not stat.S_ISREG(here.fs.getattr(node).mode):
            return  # Linux leaves anything else alone
        here.fs.truncate(node, 0)
        here.fs.write(node, 0, r.image)

    def exit(self, request: Request, r: vfs.Exit) -> int:
        self.state.text.exited(r.pid)
        pty.leader_exited(self, r.pid)  # (while it is still a known process)
        p = self.state.procs.pop(r.pid, None)
        if p is not None:
            for fd in list(p.fds.entries):
                self._close(p, fd)
        locks.exited(self, r.pid)
        if r.pid in self.state.pids:  # (a pidfd was opened on it)
            pidfd.exited(self, r.pid)
        return 0

    # -- fds ---------------------------------------------------------------------
    def _close(self, proc: Proc, fd: int) -> None:
        entry = proc.fds.entries.pop(fd, None)
        if entry is None:
            raise KernelError(Errno.EBADF, f"fd {fd}")
        if proc.pid in self.state.locks.by_pid:  # (else it holds no record lock to drop)
            locks.closed(self, proc.pid, entry.file)  # any close drops the process's locks
        if self.state.notify.marks:  # (an F_NOTIFY mark goes with any close of its fd)
            notify.closed_fd(self, proc.pid, entry.file)
        self.unref(entry.file)

    def unref(self, file: OpenFile) -> None:
        """One holder (an fd, or a message in flight) let go of ``file``."""
        file.refs -= 1
        if file.refs == 0:
            if file.write_key is not None:
                self.state.text.closed_for_writing(file.write_key)
            if file.lock_key is not None:  # (else it never was locked: ``locks.released``)
                locks.released(self, file)
            KINDS[file.kind].release(self, file)
            if self.state.notify.marks and file.walk is not None \
                    and not file.flags & files.O_PATH:
                self._notify_closed(file)

    def _notify_closed(self, file: OpenFile) -> None:
        """The last holder of a file opened by path let it go: CLOSE_WRITE (opened for
        writing) or CLOSE_NOWRITE; and a file with no name left and no other opener is
        gone (DELETE_SELF)."""
        assert file.walk is not None
        notify.file_event(self, file.walk, notify.CLOSE_WRITE if file.writable()
                          else notify.CLOSE_NOWRITE)
        step = file.walk[-1]
        if step.node in self.state.notify.marks and self._nameless(step) \
                and not self._open_elsewhere(step.node):
            notify.gone(self, step.node)

    def _nameless(self, step: Step) -> bool:
        try:
            return step.fs.getattr(step.node).nlink == 0
        except KernelError:
            return True

    def _open_elsewhere(self, node: Node) -> bool:
        """Whether some fd still has ``node`` open (what keeps a deleted file alive)."""
        return any(entry.file.walk is not None and entry.file.walk[-1].node is node
                   for proc in self.state.procs.values() for entry in proc.fds.entries.values())

    def close(self, request: Request, r: vfs.Close) -> int:
        self._close(self.proc(request), r.fd)
        return 0

    def close_range(self, request: Request, r: vfs.CloseRange) -> int:
        """close_range(2): close (or, CLOSE_RANGE_CLOEXEC, mark close-on-exec) every fd from
        ``first`` to ``last``; CLOSE_RANGE_UNSHARE changes nothing (fd tables are never
        shared between processes here)."""
        if r.flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or r.first > r.last:
            raise KernelError(Errno.EINVAL, "close_range flags or range")
        proc = self.proc(request)
        for fd in sorted(fd for fd in proc.fds.entries if r.first <= fd <= r.last):
            if r.flags & CLOSE_RANGE_CLOEXEC:
                proc.fds.entries[fd].cloexec = True
            else:
                self._close(proc, fd)
        return 0

    def dup(self, request: Request, r: vfs.Dup) -> int:
        proc = self.proc(request)
        file = proc.fds.get(r.fd)
        file.refs += 1
        return proc.fds.install(file)

    def dup2(self, request: Request, r: vfs.Dup2) -> int:
        proc = self.proc(request)
        proc.fds.get(r.old)
        if r.old == r.new:
            return r.new
        return self.dup3(request, vfs.Dup3(r.old, r.new, 0))

    def dup3(self, request: Request, r: vfs.Dup3) -> int:
        proc = self.proc(request)
        if r.old == r.new or r.flags & ~O_CLOEXEC:
            raise KernelError(Errno.EINVAL, "dup3 onto itself or bad flags")
        if not 0 <= r.new < proc.fds.limit:
            raise KernelError(Errno.EBADF, f"fd {r.new}")
        file = proc.fds.get(r.old)
        if r.new in proc.fds.entries:
            self._close(proc, r.new)
        file.refs += 1
        return proc.fds.install(file, bool(r.flags & O_CLOEXEC), fd=r.new)

    def fcntl(self, request: Request, r: vfs.Fcntl) -> int:
        proc = self.proc(request)
        file = proc.fds.get(r.fd)
        entry = proc.fds.entries[r.fd]
        if file.flags & files.O_PATH and r.cmd not in PATH_FCNTL:
            raise KernelError(Errno.EBADF, "an O_PATH fd")
        if r.cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
            if not 0 <= r.arg < proc.fds.limit:
                raise KernelError(Errno.EINVAL, f"fd {r.arg}")
            file.refs += 1
            return proc.fds.install(file, r.cmd == F_DUPFD_CLOEXEC, lowest=r.arg)
        if r.cmd == F_GETFD:
            return FD_CLOEXEC if entry.cloexec else 0
        if r.cmd == F_SETFD:
            entry.cloexec = bool(r.arg & FD_CLOEXEC)
            return 0
        if r.cmd == F_GETFL:
            return file.flags
        if r.cmd == F_SETFL:
            if (r.arg ^ file.flags) & files.O_ASYNC and \
                    KINDS[file.kind].fasync(self, file, bool(r.arg & files.O_ASYNC)):
                file.flags ^= files.O_ASYNC  # (a kind that cannot signal I/O drops it)
            file.flags = (file.flags & ~files.STATUS_FLAGS) | (r.arg & files.STATUS_FLAGS)
            return 0
        if r.cmd == F_SETSIG:  # the signal O_ASYNC I/O and lease breaks send (0: SIGIO)
            if not 0 <= r.arg <= NSIG:
                raise KernelError(Errno.EINVAL, f"signal {r.arg}")
            file.signum = r.arg
            return 0
        if r.cmd == F_GETSIG:
            return file.signum
        if r.cmd == F_SETOWN:  # (the personality checked that the process or group exists)
            file.owner = (OWNER_PGRP, -r.arg) if r.arg < 0 else (OWNER_PID, r.arg)
            return 0
        if r.cmd == F_GETOWN:
            kind, who = file.owner
            return -who if kind == OWNER_PGRP else who
        if r.cmd == F_SETLEASE:
            return locks.setlease(self, file, r.arg)
        if r.cmd == F_GETLEASE:
            return locks.getlease(self, file)
        if r.cmd in (F_SETPIPE_SZ, F_GETPIPE_SZ):
            return pipe.pipe_size(self, file, r.cmd == F_SETPIPE_SZ, r.arg)
        if r.cmd == F_NOTIFY:
            return notify.f_notify(self, proc, r.fd, file, r.arg)
        raise KernelError(Errno.EINVAL, f"fcntl command {r.cmd}")

    def fcntl_owner(self, request: Request, r: vfs.FcntlOwner) -> Any:
        """F_SETOWN_EX (the personality checked the id names a thread, process or group),
        F_GETOWN_EX."""
        file = self.proc(request).fds.get(r.fd)
        if file.flags & files.O_PATH:
            raise KernelError(Errno.EBADF, "an O_PATH fd")
        if r.cmd == F_GETOWN_EX:
            return FileOwner(*file.owner)
        if r.type not in (OWNER_TID, OWNER_PID, OWNER_PGRP):
            raise KernelError(Errno.EINVAL, f"owner type {r.type}")
        file.owner = (r.type, r.pid)
        return 0

    def fcntl_lock(self, request: Request, r: vfs.FcntlLock) -> Any:
        """fcntl's record and OFD lock commands (locks.py)."""
        file = self.proc(request).fds.get(r.fd)
        if file.flags & files.O_PATH:
            raise KernelError(Errno.EBADF, "an O_PATH fd")
        return locks.fcntl_lock(self, request, file, r)

    def inotify_add_watch(self, request: Request, r: vfs.InotifyAddWatch) -> int:
        """inotify_add_watch(2): Linux's checks in its order (the mask's, the fd's, the
        path's, then read permission on what it names), then the watch (notify.py)."""
        if r.mask & notify.MASK_ADD and r.mask & notify.MASK_CREATE \
                or not r.mask & notify.ALL_INOTIFY_BITS:
            raise KernelError(Errno.EINVAL, f"inotify mask {r.mask:#x}")
        proc = self.proc(request)
        group = notify.inotify_group(self, proc, r.fd)
        if r.path is None:
            raise KernelError(Errno.EFAULT, "the path")
        walk = self.lookup(proc, AT_FDCWD, r.path,
                           AT_SYMLINK_NOFOLLOW if r.mask & notify.DONT_FOLLOW else 0)
        attr = walk[-1].fs.getattr(walk[-1].node)
        if r.mask & notify.ONLYDIR and not stat.S_ISDIR(attr.mode):
            raise KernelError(Errno.ENOTDIR, r.path.decode(errors="replace"))
        perm.check(self.who(), attr, perm.MAY_READ)
        return notify.add_watch(self, group, walk, r.mask)

    def lease_timeout(self, request: Request, r: vfs.LeaseTimeout) -> None:
        locks.lease_timeout(self)

    def rerun(self, request: Request) -> None:
        """Serve a parked request again, its wait over (an open a lease held back): it is
        answered now, or parks again."""
        caller, self.state.caller = self.state.caller, request.sender
        try:
            result = self.handlers[type(request.body)](request, request.body)
        except KernelError as err:
            result = -err.errno
        finally:
            self.state.caller = caller
        if result is not None:
            self.answer(request, result)

    def flock(self, request: Request, r: vfs.Flock) -> Any:
        """flock(2): Linux ignores LOCK_MAND; checks the operation, then the fd."""
        if r.operation & locks.LOCK_MAND:
            return 0
        if r.operation & ~locks.LOCK_NB not in (locks.LOCK_SH, locks.LOCK_EX, locks.LOCK_UN):
            raise KernelError(Errno.EINVAL, f"flock operation {r.operation:#x}")
        file = self.proc(request).fds.get(r.fd)
        if file.flags & files.O_PATH:
            raise KernelError(Errno.EBADF, "an O_PATH fd")
        return locks.flock(self, request, file, r.operation)

    # -- opening -------------------------------------------------------------------
    def _base(self, proc: Proc, dirfd: int, path: bytes = b"") -> Walk:
        """Where a relative ``path`` starts: ``dirfd``'s directory (ENOTDIR, EBADF) or the
        cwd; an absolute one ignores ``dirfd``, as Linux's *at calls do."""
        if dirfd == AT_FDCWD or path.startswith(b"/"):
            return proc.cwd
        file = proc.fds.get(dirfd)
        if file.walk is None or not is_dir(file.walk[-1]):
            raise KernelError(Errno.ENOTDIR, f"fd {dirfd} is not a directory")
        return file.walk

    def lookup(self, proc: Proc, dirfd: int, path: bytes, flags: int = 0) -> Walk:
        if not path and flags & AT_EMPTY_PATH:
            if dirfd == AT_FDCWD:
                return proc.cwd
            file = proc.fds.get(dirfd)
            if file.walk is None:
                raise _NotANode(file)
            return file.walk
        follow = not flags & AT_SYMLINK_NOFOLLOW
        return self.resolve(proc, self._base(proc, dirfd, path), path, follow)[0]

    def lookup_parent(self, proc: Proc, dirfd: int, path: bytes) -> tuple[Walk, bytes]:
        """The directory a call that makes a name (mkdir, mknod, symlink, link) makes it
        in, and the name: "/", "." and ".." exist already (EEXIST, as Linux's
        filename_create finds before any permission)."""
        walk, name = self._parent_and_name(proc, dirfd, path)
        if name in DOTS:
            raise KernelError(Errno.EEXIST, (name or b"/").decode())
        return walk, name

    def _parent_and_name(self, proc: Proc, dirfd: int, path: bytes) -> tuple[Walk, bytes]:
        """The directory holding the last name of ``path``, and that name: "" for "/",
        "." and ".." as they are (each call has its own error for them)."""
        return self.resolve(proc, self._base(proc, dirfd, path), path, parent=True)

    def openat(self, request: Request, r: vfs.Openat) -> int | None:
        proc = self.proc(request)
        if r.flags & O_TMPFILE_BIT:
            return self._open_tmpfile(proc, r)
        cloexec = bool(r.flags & O_CLOEXEC)
        status = r.flags & ~(O_CREAT | O_EXCL | files.O_NOCTTY | O_TRUNC | O_CLOEXEC)
        path = r.path
        end = None if r.resolve & ~RESOLVE_CACHED or not (b"fd" in path or b"/dev/std" in path) \
            else self._fd_link(proc, r.dirfd, path, r.flags)  # (a scoped walk sees links)
        if end is not None:  # /proc/<pid>/fd/N: the open file's kind says what it opens
            reopened = KINDS[end.kind].reopen(self, request, proc, end, status, cloexec)
            if reopened is not FOLLOW:
                return reopened  # type: ignore[no-any-return]
        walk, created = self._open_walk(proc, r.dirfd, r.path, r.flags, r.mode, r.resolve)
        step = walk[-1]
        # (the walk's own cached attributes of the node it ended on, read only here: type,
        # mode, owner and identity, which only a change, which empties the cache, alters)
        attr = step.fs.walk_attr(step.node)
        kind = attr.mode & IFMT  # (the type, tested without stat's calls)
        if kind == stat.S_IFLNK and not r.flags & O_PATH:  # (O_PATH opens the link)
            raise KernelError(Errno.ELOOP, "O_NOFOLLOW on a symbolic link")
        if r.flags & O_CREAT and kind == stat.S_IFDIR:  # (O_CREAT through a symlink)
            raise KernelError(Errno.EISDIR, r.path.decode(errors="replace"))
        if r.flags & O_DIRECTORY and kind != stat.S_IFDIR:
            raise KernelError(Errno.ENOTDIR, r.path.decode(errors="replace"))
        if kind == stat.S_IFDIR and r.flags & O_ACCMODE != files.O_RDONLY:
            raise KernelError(Errno.EISDIR, r.path.decode(errors="replace"))
        if step.fs.readonly and kind == stat.S_IFREG and not r.flags & O_PATH \
                and (r.flags & O_ACCMODE != files.O_RDONLY or r.flags & O_TRUNC):
            raise KernelError(Errno.EROFS, "opening for writing on a read-only mount")
        if not created:  # a file this open made is the caller's whatever its mode
            self._may_open(proc.who, attr, r.flags)
        memory = step.fs.open_memory(step.node) \
            if type(step.fs) is ProcFs and not r.flags & O_PATH else None  # (no subclass)
        if memory is not None:  # /proc/<pid>/mem: checked once, for its opener
            file = OpenFile("procmem", status, walk, memory=memory)
            return proc.fds.install(file, cloexec)
        special = kind in (stat.S_IFIFO, stat.S_IFSOCK, stat.S_IFCHR, stat.S_IFBLK)
        if special and not r.flags & O_PATH:
            if stat.S_ISFIFO(attr.mode):
                opened = fifo.open_fifo(self, request, proc, (attr.dev, attr.ino), walk,
                                        status, cloexec)
                if opened is not None and self.state.notify.marks:  # (not one that waits)
                    notify.file_event(self, walk, notify.OPEN)
                return opened
            if stat.S_ISSOCK(attr.mode):
                raise KernelError(Errno.ENXIO, "a socket is connected to, not opened")
            if not isinstance(step.fs, (DevFs, DevPts)):  # a device node made with mknod
                walk = walk[:-1] + (self._device(attr.mode, attr.rdev, step.name),)
                step = walk[-1]
        if special and not r.flags & O_PATH:
            terminal = self._open_terminal(proc, r, walk, status, cloexec)
            if terminal is not None:
                return terminal
        writing = r.flags & O_ACCMODE in (files.O_WRONLY, files.O_RDWR) \
            and not r.flags & files.O_PATH and kind == stat.S_IFREG
        if writing:
            self.state.text.may_write((attr.dev, attr.ino))  # (ETXTBSY before a lease)
        if self.state.locks.leases and kind == stat.S_IFREG and not r.flags & files.O_PATH \
                and not locks.break_lease(self, request, ("node", attr.dev, attr.ino), r.flags):
            return None  # a lease is being broken: the open runs again when it goes
        file = OpenFile("node", status, walk)
        if writing:
            file.write_key = (attr.dev, attr.ino)
            self.state.text.opened_for_writing(file.write_key)
        truncating = r.flags & O_TRUNC and kind == stat.S_IFREG and file.writable()
        if truncating:
            regular.truncate(self, step.fs, step.node, 0)
        fd = proc.fds.install(file, cloexec)
        if self.state.notify.marks and not r.flags & O_PATH:
            self._notify_opened(walk, created, bool(truncating))
        return fd

    def _notify_opened(self, walk: Walk, created: bool, truncated: bool) -> None:
        """An open's events: CREATE (it made the file), OPEN, MODIFY (O_TRUNC)."""
        if created:
            notify.dir_event(self, walk[-2].node, notify.CREATE, walk[-1].name)
        notify.file_event(self, walk, notify.OPEN)
        if truncated and not created:
            notify.file_event(self, walk, notify.MODIFY)

    def _open_terminal(self, proc: Proc, r: vfs.Openat, walk: Walk, status: int,
                       cloexec: bool) -> int | None:
        """The terminals' opens: /dev/ptmx (a new pseudo-terminal), /dev/pts/N (its
        slave), /dev/tty (the caller's controlling pseudo-terminal, or else the host
        terminal, as /dev/console is, like fds 0-2; ENXIO when the host's stdin is no
        terminal, as Linux's for a session with none); None for any other device."""
        step = walk[-1]
        if isinstance(step.fs, DevPts):
            if step.node is step.fs.ptmx:
                return pty.open_master(self, proc, walk, status, cloexec)
            assert isinstance(step.node, PtsNode) and step.node.pty is not None
            return pty.open_slave(self, proc, step.node.pty, walk, r.flags, r.sid)
        if not isinstance(step.fs, DevFs):
            return None
        if step.fs.is_ptmx(step.node):
            return pty.open_master(self, proc, walk, status, cloexec)
        if step.fs.is_tty(step.node):
            controlling = pty.open_controlling(self, proc, r.flags, r.sid)
            if controlling is not None:
                return controlling
            if not os.isatty(0):  # the console is no terminal: no session has one
                raise KernelError(Errno.ENXIO, "no controlling terminal")
        if step.fs.is_terminal(step.node) and os.isatty(0):
            return proc.fds.install(console.console(0, status, walk), cloexec)
        return None

    def _device(self, mode: int, rdev: int, name: bytes) -> Step:
        """The device a device node made elsewhere than /dev opens (as the driver of its
        number would): one devfs has, else ENXIO, as Linux for a number with no driver."""
        for fs in self.caller_namespace().mounts.values():
            if isinstance(fs, DevFs) and stat.S_ISCHR(mode):
                node = fs.device(rdev)
                if node is not None:
                    return Step(name, fs, node)
        raise KernelError(Errno.ENXIO, f"no device {os.major(rdev)}:{os.minor(rdev)}")

    def _fd_link(self, proc: Proc, dirfd: int, path: bytes, flags: int) -> OpenFile | None:
        """The open file a /proc/<pid>/fd/N path names (/dev/fd/N, /dev/stdin lead there):
        Linux's magic link, which opening follows to the open file itself. None for any
        other path."""
        if flags & (O_NOFOLLOW | O_EXCL) or not (b"fd" in path or b"/dev/std" in path):
            return None
        try:
            walk = self.resolve(proc, self._base(proc, dirfd, path), path, False)[0]
            for _ in range(MAX_SYMLINKS):  # a link to a magic link (/dev/stdin) leads on
                step = walk[-1]
                if isinstance(step.fs, ProcFs) \
                        or step.fs.walk_attr(step.node).mode & IFMT != stat.S_IFLNK:
                    break
                walk = self.resolve(proc, walk[:-1], step.fs.walk_readlink(step.node), False)[0]
        except KernelError:
            return None
        step = walk[-1]
        if not isinstance(step.fs, ProcFs):
            return None
        link = step.fs.fd_link(step.node)
        owner = self.state.procs.get(link[0]) if link is not None else None
        entry = owner.fds.entries.get(link[1]) if owner is not None and link else None
        return entry.file if entry is not None else None

    def _open_tmpfile(self, proc: Proc, r: vfs.Openat) -> int:
        """open(2) with O_TMPFILE: an unnamed regular file in the directory ``r.path``
        (on tmpfs and the overlay, as Linux's; elsewhere EOPNOTSUPP), which linkat may name
        later unless O_EXCL said not."""
        if r.flags & files.O_TMPFILE != files.O_TMPFILE or r.flags & O_CREAT \
                or r.flags & O_ACCMODE not in (files.O_WRONLY, files.O_RDWR):
            raise KernelError(Errno.EINVAL, "O_TMPFILE needs O_DIRECTORY and write access")
        base = self._base(proc, r.dirfd, b"" if r.resolve & ~RESOLVE_CACHED else r.path)
        walk = self.resolve(proc, base, r.path, scope=Scope(r.resolve & ~RESOLVE_CACHED, base))[0]
        here = walk[-1]
        if not is_dir(here):
            raise KernelError(Errno.ENOTDIR, r.path.decode(errors="replace"))
        uid, gid, mode = self.new_file(walk, stat.S_IFREG | (r.mode & 0o7777 & ~proc.umask))
        if not isinstance(underlying(here.fs), (TmpFs, OverlayFs)):
            raise KernelError(Errno.EOPNOTSUPP, f"O_TMPFILE on {here.fs.name}")
        proc.fds.check_free(1)
        while True:  # linked under a free name for a moment only
            self.state.tmpfiles += 1
            name = b".#tmpfile-%d" % self.state.tmpfiles
            try:
                node = here.fs.create(here.node, name, mode, uid, gid)
                break
            except KernelError as err:
                if err.errno != Errno.EEXIST:
                    raise
        here.fs.unlink(here.node, name)
        attr = here.fs.getattr(node)
        status = r.flags & ~(files.O_TMPFILE | O_EXCL | files.O_NOCTTY | O_TRUNC | O_CLOEXEC)
        file = OpenFile("node", status,
                        walk + (Step(b"#%d (deleted)" % attr.ino, here.fs, node),),
                        linkable=not r.flags & O_EXCL)
        file.write_key = (attr.dev, attr.ino)  # (open for writing: ETXTBSY once linked)
        self.state.text.opened_for_writing(file.write_key)
        return proc.fds.install(file, bool(r.flags & O_CLOEXEC))

    @staticmethod
    def _may_open(who: Who, attr: Attr, flags: int) -> None:
        if flags & files.O_PATH:
            return  # a location only: no access to the file
        accmode = flags & O_ACCMODE
        want = (perm.MAY_READ if accmode in (files.O_RDONLY, files.O_RDWR) else 0) | \
            (perm.MAY_WRITE if accmode in (files.O_WRONLY, files.O_RDWR) or flags & O_TRUNC
             else 0)
        perm.check(who, attr, want)
        if flags & O_NOATIME:
            perm.check_owner(who, attr)

    def _open_walk(self, proc: Proc, dirfd: int, path: bytes, flags: int,
                   mode: int, resolve: int = 0) -> tuple[Walk, bool]:
        """Where open(2) opens (within openat2's ``resolve`` limits), and whether it made
        the file there (O_CREAT)."""
        scoped = resolve & ~RESOLVE_CACHED  # (a scope without flags limits nothing)
        base = self._base(proc, dirfd, b"" if scoped else path)  # (a scope needs dirfd's)
        scope = Scope(scoped, base) if scoped else UNSCOPED
        if not flags & O_CREAT:
            return self.resolve(proc, base, path, not flags & O_NOFOLLOW, scope=scope)[0], False
        for _ in range(40):  # O_CREAT through symlinks creates their target, as Linux does
            parent, name = self.resolve(proc, base, path, parent=True, scope=scope)
            if name in DOTS and flags & O_EXCL:  # (an existing directory, Linux's
                raise KernelError(Errno.EEXIST, path.decode(errors="replace"))  # order)
            if name in DOTS or path.endswith(b"/"):  # (Linux: trailing slashes)
                raise KernelError(Errno.EISDIR, path.decode(errors="replace"))
            here = parent[-1]
            try:
                node = here.fs.lookup(here.node, name)
            except KernelError as err:
                if err.errno != Errno.ENOENT:
                    raise
                uid, gid, new_mode = self.new_file(parent, stat.S_IFREG | (mode & 0o7777
                                                                        & ~proc.umask))
                node = here.fs.create(here.node, name, new_mode, uid, gid)
                return parent + (Step(name, here.fs, node),), True
            if flags & O_EXCL:
                raise KernelError(Errno.EEXIST, path.decode(errors="replace"))
            if flags & O_NOFOLLOW or not stat.S_ISLNK(here.fs.getattr(node).mode):
                return self.resolve(proc, parent, name, not flags & O_NOFOLLOW,
                                    scope=scope)[0], False
            if scope.flags:
                scope.follow(Step(name, here.fs, node))
            base, path = parent, here.fs.readlink(node)
        raise KernelError(Errno.ELOOP, "too many symbolic links")

    def owner(self) -> tuple[int, int]:
        """The caller's file-system ids: who owns what it makes."""
        who = self.who()
        return who.fsuid, who.fsgid

    def new_file(self, parent: Walk, mode: int) -> tuple[int, int, int]:
        """Who owns a new file in the directory ``parent``, and its mode: the caller's
        fs ids (perm.new_owner); the caller must be allowed to add names there."""
        here = parent[-1]
        if here.fs.readonly:
            raise KernelError(Errno.EROFS, "read-only file system")
        attr = here.fs.getattr(here.node)
        who = self.who()
        perm.check(who, attr, perm.MAY_WRITE | perm.MAY_EXEC)
        return perm.new_owner(who, attr, mode)

    def _may_add(self, parent: Walk, name: bytes, mode: int) -> tuple[int, int, int]:
        """A new name in ``parent`` (mkdir, symlink, link, mknod): EEXIST first, as
        Linux finds it before the permission; then ``new_file``."""
        here = parent[-1]
        try:
            here.fs.lookup(here.node, name)
        except KernelError as err:
            if err.errno != Errno.ENOENT:
                raise
        else:
            raise KernelError(Errno.EEXIST, name.decode(errors="replace"))
        return self.new_file(parent, mode)

    def _may_delete(self, parent: Walk, name: bytes) -> Attr:
        """Removing ``name`` from ``parent`` (unlink, rmdir, rename): its attributes."""
        here = parent[-1]
        if here.fs.readonly:
            raise KernelError(Errno.EROFS, "read-only file system")
        victim = here.fs.getattr(self.caller_namespace().resolve(parent, name, False)[0][-1].node)
        perm.check_delete(self.who(), here.fs.getattr(here.node), victim)
        return victim

    # -- reading and writing: each kind's (fileops.py) ----------------------------------
    def check_readable(self, file: OpenFile) -> None:
        if not file.readable():
            raise KernelError(Errno.EBADF, "not open for reading")

    def check_writable(self, file: OpenFile) -> None:
        if not file.writable():
            raise KernelError(Errno.EBADF, "not open for writing")

    def check_iovec(self, file: OpenFile, iov_error: int, writing: bool,
                    positional: bool = False) -> None:
        """A vectored call whose iovec array was bad: Linux looks it up only after the fd
        (preadv, pwritev: ESPIPE for a kind without positions; then EBADF for a file not
        open for the call's direction)."""
        if not iov_error:
            return
        if positional:
            kind = type(KINDS[file.kind])
            if (kind.pwrite is FileOps.pwrite) if writing else (kind.pread is FileOps.pread):
                raise KernelError(Errno.ESPIPE, f"a {file.kind} has no positions")
        (self.check_writable if writing else self.check_readable)(file)
        raise KernelError(Errno(iov_error), "the iovec array")

    def lent(self, request: Request, file: OpenFile, count: int, write: bool) -> int:
        """How much of a read's or write's ``count`` its one grant lends: the personality
        lends a buffer up to its first bad byte. A regular file's call moves up to there,
        as Linux copies up to the fault; any other kind's fails (EFAULT), as a pipe's or
        a socket's does on Linux for a buffer bad within the bytes it moves."""
        size = self.api.grant_size(request.grants[0], write)
        if size >= count:
            return count
        if KINDS[file.kind].copies_late:
            return count  # (its read fails in its copy, as Linux's does)
        if file.kind != "node":
            raise KernelError(Errno.EFAULT, "a buffer bad past its start")
        return size

    def lent_vector(self, request: Request, file: OpenFile, lengths: Sequence[int],
                    write: bool) -> list[int]:
        """``lent`` for a vectored call's buffers, one grant each: a regular file's call
        moves the bytes before the first bad one (EFAULT if that is the first byte of
        all), any other kind's fails."""
        grants = request.grants
        for i, length in enumerate(lengths):
            size = self.api.grant_size(grants[i], write) if length else 0
            if size >= length:
                continue
            if file.kind != "node" or not (size or any(lengths[:i])):
                raise KernelError(Errno.EFAULT, "an iovec's buffer")
            return [*lengths[:i], size]
        return list(lengths)

    def read_file(self, request: Request, ops: FileOps, file: OpenFile, count: int,
                  grant: Any) -> Any:
        """One read of ``file`` (of kind ``ops``) into one grant."""
        self.check_readable(file)
        return ops.read(self, request, file, count, grant)

    def read(self, request: Request, r: vfs.Read) -> Any:
        file = self.proc(request).fds.get(r.fd)
        ops = KINDS[file.kind]
        ops.foreground(self, file, r.pgid, r.sid, False)
        if r.inline is not None:  # (a small read: its bytes go back with the answer)
            self.api.runtime.inline += 1
            return self.read_file(request, ops, file, r.count, r.inline)
        count = self.lent(request, file, r.count, True)
        return self.read_file(request, ops, file, count, request.grants[0])

    def readv(self, request: Request, r: vfs.Readv) -> Any:
        file = self.proc(request).fds.get(r.fd)
        self.check_iovec(file, r.iov_error, False)
        ops = KINDS[file.kind]
        ops.foreground(self, file, r.pgid, r.sid, False)
        self.check_readable(file)
        lengths = self.lent_vector(request, file, r.lengths, True)
        return ops.readv(self, request, file, request.grants, lengths)

    def pread(self, request: Request, r: vfs.Pread) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        self.check_iovec(file, r.iov_error, False, positional=True)
        if r.lengths is None:
            return KINDS[file.kind].pread(self, request, file,
                                          self.lent(request, file, r.count, True),
                                          request.grants[0], r.offset)
        lengths = self.lent_vector(request, file, r.lengths, True)
        return KINDS[file.kind].pread(self, request, file, sum(lengths), request.grants,
                                      r.offset, lengths)

    def write(self, request: Request, r: vfs.Write) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        ops = KINDS[file.kind]
        ops.foreground(self, file, r.pgid, r.sid, True)
        if r.data is not None:  # (a small write's bytes came in the request)
            self.api.runtime.inline += 1
            return self._write(request, ops, file, r.data)
        count = self.lent(request, file, r.count, False)
        return self._write(request, ops, file, self.api.copy_in(request.grants[0], 0, count))

    def writev(self, request: Request, r: vfs.Writev) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        self.check_iovec(file, r.iov_error, True)
        ops = KINDS[file.kind]
        ops.foreground(self, file, r.pgid, r.sid, True)
        self.check_writable(file)
        lengths = self.lent_vector(request, file, r.lengths, False)
        data = b"".join(self.api.copy_in(g, 0, n) for g, n in zip(request.grants, lengths))
        return self._write(request, ops, file, data)

    def _write(self, request: Request, ops: FileOps, file: OpenFile, data: bytes) -> int | None:
        self.check_writable(file)
        return ops.write(self, request, file, data)

    def pwrite(self, request: Request, r: vfs.Pwrite) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        self.check_iovec(file, r.iov_error, True, positional=True)
        if r.lengths is None:
            return KINDS[file.kind].pwrite(self, request, file,
                                           self.lent(request, file, r.count, False), r.offset)
        lengths = self.lent_vector(request, file, r.lengths, False)
        return KINDS[file.kind].pwrite(self, request, file, sum(lengths), r.offset, lengths)

    # -- poll ------------------------------------------------------------------------
    def revents(self, proc: Proc, fd: int, events: int) -> int:
        """The poll events of ``events`` that fd ``fd`` has now (POLLNVAL: not open)."""
        entry = proc.fds.entries.get(fd)
        if entry is None:
            return POLLNVAL
        file = entry.file
        return KINDS[file.kind].poll(self, proc, fd, file, events)

    def poll(self, request: Request, r: vfs.Poll) -> int | None:
        proc = self.proc(request)
        ready = self._poll_once(request, proc, r.fds)
        if ready or r.timeout_ms == 0:
            return ready
        if console.host_wait(self, proc, r.fds, r.timeout_ms):
            return self._poll_once(request, proc, r.fds)  # (only the host could wake it)
        self.state.pollers.append((request, r.fds, proc, None))
        return None

    def _poll_once(self, request: Request, proc: Proc, fds: list[tuple[int, int]]) -> Any:
        """How many fds are ready; with no grant (select), also each fd's revents."""
        out, ready, all_revents = bytearray(), 0, []
        for fd, events in fds:
            revents = self.revents(proc, fd, events) if fd >= 0 else 0
            ready += bool(revents)
            all_revents.append(revents)
            # events is an unsigned short: a bit Linux does not know is carried, not checked
            out += struct.pack("<iHH", fd, events & 0xFFFF, revents & 0xFFFF)
        if not request.grants:
            return PollReady(ready, tuple(all_revents)) if ready else 0
        self.api.copy_out(request.grants[0], 0, bytes(out))
        return ready

    def wake_pollers(self) -> None:
        if not self.state.pollers:  # (every pipe write and read asks: most often, nobody)
            return
        waiting, self.state.pollers = self.state.pollers, []
        claimed: set[int] = set()  # files whose change woke an EPOLLEXCLUSIVE waiter
        for request, fds, proc, watching in waiting:
            if not self.api.waiting(request):
                continue
            try:
                if callable(watching):  # a copy waiting for room (transfer.py)
                    done = watching()
                    if done is not None:
                        self.answer(request, done)
                    else:
                        self.state.pollers.append((request, fds, proc, watching))
                    continue
                if watching is None:
                    ready = self._poll_once(request, proc, fds)
                else:
                    instance, maxevents = watching
                    ready = epoll.once(self, request, proc, instance, maxevents, claimed)
            except KernelError as err:
                self.answer(request, -err.errno)
                continue
            except netsock.NetSync:  # (a socket came in an epoll set: its events first)
                netsock.watch(self)
                self.state.pollers.append((request, fds, proc, watching))
                continue
            if ready:  # a count, or (count, revents) for select
                self.answer(request, ready)
            else:
                self.state.pollers.append((request, fds, proc, watching))

    # -- files not on a file system, made by their kind's module --------------------
    def eventfd2(self, request: Request, r: vfs.Eventfd2) -> int:
        return self.proc(request).fds.install(*eventfd.create(r))

    def timerfd_create(self, request: Request, r: vfs.TimerfdCreate) -> int:
        return self.proc(request).fds.install(*timerfd.create(self.state, r))

    def epoll_create1(self, request: Request, r: vfs.EpollCreate1) -> int:
        return self.proc(request).fds.install(*epoll.create(r))

    def signals_pending(self, request: Request, r: vfs.SignalsPending) -> None:
        signalfd.pending(self, r)

    def timer_fired(self, request: Request, r: vfs.TimerFired) -> None:
        timerfd.fired(self, r)

    # -- seeking, control -------------------------------------------------------------
    def lseek(self, request: Request, r: vfs.Lseek) -> int:
        file = self.proc(request).fds.get(r.fd)
        if not 0 <= r.whence <= SEEK_MAX:  # (Linux's ksys_lseek: before the file's own)
            raise KernelError(Errno.EINVAL, f"whence {r.whence}")
        return KINDS[file.kind].seek(file, r.offset, r.whence)

    def ioctl(self, request: Request, r: vfs.Ioctl) -> int:
        """The commands of any file here (as Linux's do_vfs_ioctl), the rest by its kind."""
        proc = self.proc(request)
        file = proc.fds.get(r.fd)
        if r.cmd == FIONBIO:  # any file: set or clear O_NONBLOCK
            (on,) = struct.unpack("<i", self.api.copy_in(request.grants[0], 0, 4))
            file.flags = file.flags | O_NONBLOCK if on else file.flags & ~O_NONBLOCK
            return 0
        if r.cmd in (FIONCLEX, FIOCLEX):
            proc.fds.entries[r.fd].cloexec = r.cmd == FIOCLEX
            return 0
        return KINDS[file.kind].ioctl(self, request, file, r)

    def fsync(self, request: Request, r: vfs.Fsync) -> int:
        """fsync(2), fdatasync(2): file systems write through, so a file, a directory (or a
        block device) has nothing to flush; as on Linux, what has no fsync of its own (a
        pipe, a socket, a character device, an eventfd...) is EINVAL, an O_PATH fd EBADF."""
        file = self.proc(request).fds.get(r.fd)
        if file.flags & files.O_PATH:
            raise KernelError(Errno.EBADF, "an O_PATH fd")
        if file.kind != "node" or stat.S_IFMT(file.fs.getattr(file.node).mode) not in (
                stat.S_IFREG, stat.S_IFDIR, stat.S_IFBLK):
            raise KernelError(Errno.EINVAL, f"fsync of a {file.kind} that has none")
        return 0

    def readahead(self, request: Request, r: vfs.Readahead) -> int:
        """readahead(2), in Linux's order (ksys_readahead): an fd not open for reading (or
        O_PATH) is EBADF, what is not a regular file or a block device EINVAL. File systems
        here keep no page cache to warm, so there is nothing more to do."""
        file = self.proc(request).fds.get(r.fd)
        if not file.readable():
            raise KernelError(Errno.EBADF, "not open for reading")
        if file.kind != "node" or stat.S_IFMT(file.fs.getattr(file.node).mode) not in (
                stat.S_IFREG, stat.S_IFBLK):
            raise KernelError(Errno.EINVAL, f"readahead of a {file.kind} that is no file")
        return 0

    def sync(self, request: Request, r: vfs.Sync) -> int:
        return 0

    # -- metadata ---------------------------------------------------------------------
    def newfstatat(self, request: Request, r: vfs.Newfstatat) -> int:
        attr = self._stat(self.proc(request), r.dirfd, r.path, r.flags)
        self.api.copy_out(request.grants[0], 0, pack_stat(attr))
        return 0

    def _stat(self, proc: Proc, dirfd: int, path: bytes, flags: int) -> Attr:
        """What stat(2) shows of a path: a pipe's fd link (/dev/fd/N) shows the pipe."""
        return self._stat_walk(proc, dirfd, path, flags)[0]

    def _stat_walk(self, proc: Proc, dirfd: int, path: bytes,
                   flags: int) -> tuple[Attr, Walk | None]:
        """``_stat``'s attributes, and the walk to them (None for a pipe's or a
        socket's, which no file system holds)."""
        end = None if flags & AT_SYMLINK_NOFOLLOW else self._fd_link(proc, dirfd, path, 0)
        if end is not None and end.walk is None:  # a file with no name to follow
            return KINDS[end.kind].stat(end), None
        try:
            walk = self.lookup(proc, dirfd, path, flags)
            return walk[-1].fs.getattr(walk[-1].node), walk
        except _NotANode as special:
            return special.attr(), None

    def statx(self, request: Request, r: vfs.Statx) -> int:
        a = self._stat(self.proc(request), r.dirfd, r.path, r.flags)

        def ts(ns: int) -> bytes:
            return struct.pack("<qIi", *timespec(ns), 0)
        raw = struct.pack("<IIQIIIHHQQQQ", 0x7FF, 4096 if not a.blksize else a.blksize, 0,
                          a.nlink, a.uid, a.gid, a.mode, 0, a.ino, a.size, a.blocks, 0)
        raw += ts(a.atime_ns) + ts(a.ctime_ns) + ts(a.ctime_ns) + ts(a.mtime_ns)
        raw += struct.pack("<IIII", os.major(a.rdev), os.minor(a.rdev), os.major(a.dev),
                           os.minor(a.dev))
        self.api.copy_out(request.grants[0], 0, raw.ljust(256, b"\0"))
        return 0

    def faccessat(self, request: Request, r: vfs.Faccessat) -> int:
        if r.mode & ~7:
            raise KernelError(Errno.EINVAL, f"mode {r.mode}")
        proc = self.proc(request)
        attr, walk = self._stat_walk(proc, r.dirfd, r.path, r.flags)
        if r.mode & W_OK and walk is not None and walk[-1].fs.readonly:
            raise KernelError(Errno.EROFS, "read-only file system")
        who = proc.who
        perm.check(who if r.flags & AtFlag.EACCESS else who.real(), attr, r.mode)
        return 0

    def getdents64(self, request: Request, r: vfs.Getdents64) -> int:
        file = self.proc(request).fds.get(r.fd)
        if file.walk is None or not stat.S_ISDIR(file.fs.getattr(file.node).mode):
            raise KernelError(Errno.ENOTDIR, f"fd {r.fd}")
        if file.listing is None:
            here = file.walk[-1]
            parent = file.walk[-2] if len(file.walk) > 1 else here
            file.listing = [(b".", file.fs.getattr(here.node).ino, 4),
                            (b"..", parent.fs.getattr(parent.node).ino, 4)]
            file.listing += file.fs.readdir(file.node)
        out = bytearray()
        while file.offset < len(file.listing):
            name, ino, kind = file.listing[file.offset]
            size = (DIRENT.size + len(name) + 1 + 7) & ~7
            if len(out) + size > r.count:
                if not out:
                    raise KernelError(Errno.EINVAL, "buffer too small")
                break
            out += DIRENT.pack(ino, file.offset + 1, size, kind) \
                + name.ljust(size - DIRENT.size, b"\0")
            file.offset += 1
        self.api.copy_out(request.grants[0], 0, bytes(out))
        notify.file_event(self, file.walk, notify.ACCESS)
        return len(out)

    def readlinkat(self, request: Request, r: vfs.Readlinkat) -> int:
        if r.size <= 0:
            raise KernelError(Errno.EINVAL, "buffer size")
        walk = self.lookup(self.proc(request), r.dirfd, r.path,
                            AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)
        target = walk[-1].fs.readlink(walk[-1].node)[:r.size]
        self.api.copy_out(request.grants[0], 0, target)
        return len(target)

    def getcwd(self, request: Request, r: vfs.Getcwd) -> int:
        proc = self.proc(request)
        path = relative(proc.cwd, proc.top(self.state.namespace)) + b"\0"
        if len(path) > r.size:
            raise KernelError(Errno.ERANGE, "buffer too small")
        self.api.copy_out(request.grants[0], 0, path)
        return len(path)

    def chdir(self, request: Request, r: vfs.Chdir) -> int:
        proc = self.proc(request)
        walk = self.resolve(proc, proc.cwd, r.path)[0]
        if not is_dir(walk[-1]):
            raise KernelError(Errno.ENOTDIR, r.path.decode(errors="replace"))
        perm.check(proc.who, walk[-1].fs.getattr(walk[-1].node), perm.MAY_EXEC)
        proc.cwd = walk
        return 0

    def fchdir(self, request: Request, r: vfs.Fchdir) -> int:
        proc = self.proc(request)
        walk = self._base(proc, r.fd)
        perm.check(proc.who, walk[-1].fs.getattr(walk[-1].node), perm.MAY_EXEC)
        proc.cwd = walk
        return 0

    def chroot(self, request: Request, r: vfs.Chroot) -> int:
        return mounts.chroot(self, self.proc(request), r.path)

    def mount(self, request: Request, r: vfs.Mount) -> int:
        return mounts.mount(self, self.proc(request), r)

    def umount2(self, request: Request, r: vfs.Umount2) -> int:
        return mounts.umount(self, self.proc(request), r)

    def pivot_root(self, request: Request, r: vfs.PivotRoot) -> int:
        return mounts.pivot_root(self, self.proc(request), r)

    def unshare(self, request: Request, r: vfs.Unshare) -> int:
        return mounts.unshare(self, r.pid)

    def setns(self, request: Request, r: vfs.Setns) -> vfs.NsTarget:
        return mounts.setns(self, self.proc(request), r.fd, r.nstype)

    def umask(self, request: Request, r: vfs.Umask) -> int:
        proc = self.proc(request)
        old, proc.umask = proc.umask, r.mask & 0o777
        return old

    def _setattr(self, walk: Walk, **changes: Any) -> int:
        step = walk[-1]
        step.fs.setattr(step.node, **changes)
        if self.state.notify.marks:  # (Linux's fsnotify_change: one time alone is not ATTRIB)
            times = (changes.get("atime_ns") is not None, changes.get("mtime_ns") is not None)
            mask = notify.ATTRIB if "mode" in changes or "uid" in changes or all(times) \
                else notify.ACCESS if times[0] else notify.MODIFY
            notify.file_event(self, walk, mask)
        return 0

    def fchmodat(self, request: Request, r: vfs.Fchmodat) -> int:
        walk = self.lookup(self.proc(request), r.dirfd, r.path, r.flags)
        attr = walk[-1].fs.getattr(walk[-1].node)
        if stat.S_ISLNK(attr.mode):  # (fchmodat2 with AT_SYMLINK_NOFOLLOW)
            raise KernelError(Errno.EOPNOTSUPP, "a symbolic link's mode cannot change")
        return self._setattr(walk, mode=perm.chmod_mode(self.who(), attr, r.mode & 0o7777))

    def fchmod(self, request: Request, r: vfs.Fchmod) -> int:
        return self.fchmodat(request, vfs.Fchmodat(r.fd, b"", r.mode, AT_EMPTY_PATH))

    def fchownat(self, request: Request, r: vfs.Fchownat) -> int:
        walk = self.lookup(self.proc(request), r.dirfd, r.path, r.flags)
        attr = walk[-1].fs.getattr(walk[-1].node)
        uid, gid, mode = perm.chown_ids(self.who(), attr, r.uid, r.gid)
        return self._setattr(walk, uid=uid, gid=gid,
                             mode=mode if mode != attr.mode and not stat.S_ISLNK(mode) else None)

    def utimensat(self, request: Request, r: vfs.Utimensat) -> int:
        """Implements Linux utimensat(2): times in ns (None: UTIME_OMIT), or None for now."""
        proc = self.proc(request)
        walk = self.lookup(proc, r.dirfd, r.path or b"",
                            r.flags | (AT_EMPTY_PATH if r.path is None else 0))
        now = time.time_ns()
        atime, mtime = r.times if r.times is not None else (now, now)
        if atime is None and mtime is None:
            return 0  # both UTIME_OMIT: nothing changes, not even the ctime
        attr, who = walk[-1].fs.getattr(walk[-1].node), self.who()
        if r.times is None:  # to now: the owner, or anyone who may write it
            if not who.owns(attr) and not who.capable(perm.CAP_FOWNER):
                perm.check(who, attr, perm.MAY_WRITE)
        else:
            perm.check_owner(who, attr)
        return self._setattr(walk, atime_ns=atime, mtime_ns=mtime)

    def truncate(self, request: Request, r: vfs.Truncate) -> int | None:
        if r.length < 0:
            raise KernelError(Errno.EINVAL, "negative length")
        walk = self.lookup(self.proc(request), AT_FDCWD, r.path)
        if is_dir(walk[-1]):
            raise KernelError(Errno.EISDIR, r.path.decode(errors="replace"))
        attr = walk[-1].fs.getattr(walk[-1].node)
        perm.check(self.who(), attr, perm.MAY_WRITE)
        self.state.text.may_write((attr.dev, attr.ino))
        if r.length > self.state.fsize_limit(request.sender):
            raise KernelError(Errno.EFBIG, "beyond RLIMIT_FSIZE")
        if self.state.locks.leases and not locks.break_lease(
                self, request, ("node", attr.dev, attr.ino), files.O_WRONLY):
            return None  # as a writer's open, truncate(2) waits for the leases to go
        regular.truncate(self, walk[-1].fs, walk[-1].node, r.length)
        notify.file_event(self, walk, notify.MODIFY)
        return 0

    def ftruncate(self, request: Request, r: vfs.Ftruncate) -> int:
        file = self.proc(request).fds.get(r.fd)
        if file.flags & O_PATH:
            raise KernelError(Errno.EBADF, "an O_PATH fd")
        if r.length < 0 or not file.writable():
            raise KernelError(Errno.EINVAL, "ftruncate of a file not open for writing")
        KINDS[file.kind].resize(self, request, file, r.length)
        return 0

    def statfs(self, request: Request, r: vfs.Statfs) -> int:
        walk = self.lookup(self.proc(request), AT_FDCWD, r.path)
        return self._statfs(request, walk)

    def fstatfs(self, request: Request, r: vfs.Fstatfs) -> int:
        return self._statfs(request, self.lookup(self.proc(request), r.fd, b"", AT_EMPTY_PATH))

    def _statfs(self, request: Request, walk: Walk) -> int:
        """struct statfs; f_flags as Linux's calculate_f_flags: ST_VALID (glibc's statvfs
        takes it off, and would show it were it missing), every mount's relatime."""
        magic, bsize, blocks, bfree, bavail, nfiles, ffree = walk[-1].fs.statfs()
        flags = StatfsFlag.VALID | StatfsFlag.RELATIME \
            | (StatfsFlag.RDONLY if walk[-1].fs.readonly else 0)
        raw = struct.pack("<qqqqqqqiiqqq", magic, bsize, blocks, bfree, bavail, nfiles, ffree,
                          0, 0, 255, bsize, int(flags)) + bytes(32)
        self.api.copy_out(request.grants[0], 0, raw)
        return 0

    # -- names --------------------------------------------------------------------------
    def mkdirat(self, request: Request, r: vfs.Mkdirat) -> int:
        proc = self.proc(request)
        parent, name = self.lookup_parent(proc, r.dirfd, r.path.rstrip(b"/") or r.path)
        here = parent[-1]
        uid, gid, mode = self._may_add(parent, name,
                                       stat.S_IFDIR | (r.mode & 0o7777 & ~proc.umask))
        here.fs.mkdir(here.node, name, mode, uid, gid)
        notify.dir_event(self, here.node, notify.CREATE | notify.ISDIR, name)
        return 0

    def unlinkat(self, request: Request, r: vfs.Unlinkat) -> int:
        if r.flags & ~AT_REMOVEDIR:
            raise KernelError(Errno.EINVAL, f"flags {r.flags:#x}")
        proc = self.proc(request)
        parent, name = self._parent_and_name(proc, r.dirfd, r.path.rstrip(b"/") or r.path)
        here = parent[-1]
        if name in DOTS:  # Linux's do_rmdir and do_unlinkat
            errno = RMDIR_DOTS[name] if r.flags & AT_REMOVEDIR else Errno.EISDIR
            raise KernelError(errno, (name or b"/").decode())
        self._may_delete(parent, name)
        node = here.fs.lookup(here.node, name) if self.state.notify.marks else None
        if r.flags & AT_REMOVEDIR:
            here.fs.rmdir(here.node, name)
        else:
            here.fs.unlink(here.node, name)
        if node is not None:
            self._notify_removed(here, name, node, bool(r.flags & AT_REMOVEDIR))
        return 0

    def _notify_removed(self, here: Step, name: bytes, node: Node, directory: bool) -> None:
        """A name went from directory ``here``: the file's link count changed (ATTRIB), and
        if that was its last name and nothing has it open it is gone (DELETE_SELF); then
        the directory's DELETE. (A directory has no ATTRIB: its count is not told.)"""
        if not directory:
            notify.self_event(self, node, notify.ATTRIB, here.fs)
        if node in self.state.notify.marks and (directory or self._nameless(
                Step(name, here.fs, node)) and not self._open_elsewhere(node)):
            notify.gone(self, node)
        notify.dir_event(self, here.node, notify.DELETE | (notify.ISDIR if directory else 0),
                         name)

    def renameat2(self, request: Request, r: vfs.Renameat2) -> int:
        """Implements Linux renameat2(2): RENAME_NOREPLACE (EEXIST) and RENAME_EXCHANGE (an
        atomic swap of two existing names, on tmpfs and the overlay); RENAME_WHITEOUT is
        EINVAL (no file system here makes whiteouts for the guest)."""
        proc = self.proc(request)
        if r.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) \
                or r.flags & RENAME_NOREPLACE and r.flags & RENAME_EXCHANGE:
            raise KernelError(Errno.EINVAL, "rename flags")
        src, src_name = self._parent_and_name(proc, r.olddirfd, r.old.rstrip(b"/") or r.old)
        dst, dst_name = self._parent_and_name(proc, r.newdirfd, r.new.rstrip(b"/") or r.new)
        if src[-1].fs is not dst[-1].fs:
            raise KernelError(Errno.EXDEV, "across mounts")
        if src_name in DOTS or dst_name in DOTS:  # Linux's do_renameat2, in its order
            errno = Errno.EEXIST if src_name not in DOTS and r.flags & RENAME_NOREPLACE \
                else Errno.EBUSY
            raise KernelError(errno, "a rename of /, . or ..")
        if r.flags & RENAME_EXCHANGE:
            self._may_exchange(src, src_name, dst, dst_name)
            pair = (src[-1].fs.lookup(src[-1].node, src_name),
                    dst[-1].fs.lookup(dst[-1].node, dst_name)) if self.state.notify.marks \
                else None
            src[-1].fs.exchange(src[-1].node, src_name, dst[-1].node, dst_name)
            if pair is not None:  # (Linux: a move each way)
                self._notify_moved(src[-1], src_name, dst[-1], dst_name, pair[0], None)
                self._notify_moved(dst[-1], dst_name, src[-1], src_name, pair[1], None)
            return 0
        if r.flags & RENAME_NOREPLACE:
            src[-1].fs.lookup(src[-1].node, src_name)  # ENOENT first, as Linux
            try:
                dst[-1].fs.lookup(dst[-1].node, dst_name)
                raise KernelError(Errno.EEXIST, r.new.decode(errors="replace"))
            except KernelError as err:
                if err.errno != Errno.ENOENT:
                    raise
        self._may_rename(src, src_name, dst, dst_name)
        moved = replaced = None
        if self.state.notify.marks:
            moved = src[-1].fs.lookup(src[-1].node, src_name)
            try:
                replaced = dst[-1].fs.lookup(dst[-1].node, dst_name)
            except KernelError:
                pass
        src[-1].fs.rename(src[-1].node, src_name, dst[-1].node, dst_name)
        if moved is not None and moved is not replaced:
            self._notify_moved(src[-1], src_name, dst[-1], dst_name, moved, replaced)
        return 0

    def _notify_moved(self, src: Step, src_name: bytes, dst: Step, dst_name: bytes,
                      moved: Node, replaced: Node | None) -> None:
        """A rename's events (Linux's fsnotify_move): MOVED_FROM and MOVED_TO with one
        cookie, the replaced file's ATTRIB, the moved one's MOVE_SELF; then the replaced
        file is gone if that was its last name and nothing has it open."""
        isdir = notify.ISDIR if is_dir(Step(dst_name, dst.fs, moved)) else 0
        cookie = notify.next_cookie(self)
        notify.dir_event(self, src.node, notify.RENAME | isdir, src_name)
        notify.dir_event(self, src.node, notify.MOVED_FROM | isdir, src_name, cookie)
        notify.dir_event(self, dst.node, notify.MOVED_TO | isdir, dst_name, cookie)
        if replaced is not None:
            notify.self_event(self, replaced, notify.ATTRIB, dst.fs)
        notify.self_event(self, moved, notify.MOVE_SELF, dst.fs)
        if replaced is not None and replaced in self.state.notify.marks \
                and self._nameless(Step(dst_name, dst.fs, replaced)) \
                and not self._open_elsewhere(replaced):
            notify.gone(self, replaced)

    def _may_rename(self, src: Walk, src_name: bytes, dst: Walk, dst_name: bytes) -> None:
        moved = self._may_delete(src, src_name)
        try:
            self._may_delete(dst, dst_name)  # a file it replaces
        except KernelError as err:
            if err.errno != Errno.ENOENT:
                raise
            self.new_file(dst, 0)
        if stat.S_ISDIR(moved.mode) and src[-1].node is not dst[-1].node:
            perm.check(self.who(), moved, perm.MAY_WRITE)  # its ".." changes

    def _may_exchange(self, src: Walk, src_name: bytes, dst: Walk, dst_name: bytes) -> None:
        """RENAME_EXCHANGE: each name is removed from its directory and added to the other,
        and a directory that changes parent has its ".." written."""
        moved = (self._may_delete(src, src_name), self._may_delete(dst, dst_name))
        if src[-1].node is not dst[-1].node:
            for attr in moved:
                if stat.S_ISDIR(attr.mode):
                    perm.check(self.who(), attr, perm.MAY_WRITE)

    def mknodat(self, request: Request, r: vfs.Mknodat) -> int:
        """Implements Linux mknodat(2): a FIFO, a socket inode, a regular file, or (with
        CAP_MKNOD) a device node; the umask applies. The type is checked first, then
        EEXIST, the permission to add the name, CAP_MKNOD, as Linux does."""
        kind = stat.S_IFMT(r.mode)
        if kind == stat.S_IFDIR:
            raise KernelError(Errno.EPERM, "mknod makes no directory")
        if kind not in MKNOD_FORMATS:
            raise KernelError(Errno.EINVAL, f"file type {kind:#o}")
        proc = self.proc(request)
        parent, name = self.lookup_parent(proc, r.dirfd, r.path)
        here = parent[-1]
        mode = (kind or stat.S_IFREG) | (r.mode & 0o7777 & ~proc.umask)
        try:
            here.fs.lookup(here.node, name)
        except KernelError as err:
            if err.errno != Errno.ENOENT:
                raise
            if r.path.endswith(b"/"):
                raise KernelError(Errno.ENOENT, "a trailing slash names a directory")
        uid, gid, mode = self._may_add(parent, name, mode)
        device = kind in (stat.S_IFCHR, stat.S_IFBLK)
        if device and not proc.who.capable(perm.CAP_MKNOD):
            raise KernelError(Errno.EPERM, "device nodes need CAP_MKNOD")
        here.fs.mknod(here.node, name, mode, r.rdev if device else 0, uid, gid)
        notify.dir_event(self, here.node, notify.CREATE, name)
        return 0

    def fallocate(self, request: Request, r: vfs.Fallocate) -> int:
        """Implements Linux fallocate(2) with its checks in Linux's order, and the modes tmpfs
        has: 0 (the range's holes are allocated and the file grows to offset + length),
        FALLOC_FL_KEEP_SIZE (the holes are allocated, the size stays), and
        FALLOC_FL_PUNCH_HOLE|KEEP_SIZE (the range reads back zeros, and tmpfs frees it);
        any other mode is EOPNOTSUPP, as on tmpfs. A host directory's files take the same
        modes (the host's blocks are not allocated ahead: ``FileSystem.allocate_range``)."""
        file = self.proc(request).fds.get(r.fd)
        mode = r.mode & 0xFFFF_FFFF
        if r.offset < 0 or r.length <= 0:
            raise KernelError(Errno.EINVAL, "negative offset or length")
        # one operation, with KEEP_SIZE where it means something (Linux 6.13's checks)
        operation = mode & ~FALLOC_KEEP_SIZE
        keep = bool(mode & FALLOC_KEEP_SIZE)
        if operation not in FALLOC_OPERATIONS or FALLOC_OPERATIONS[operation] not in (None, keep):
            raise KernelError(Errno.EOPNOTSUPP, f"fallocate mode {mode:#x}")
        if not file.writable():
            raise KernelError(Errno.EBADF, "not open for writing")
        attr = KINDS[file.kind].stat(file)
        if stat.S_ISFIFO(attr.mode):
            raise KernelError(Errno.ESPIPE, "a pipe")
        if stat.S_ISDIR(attr.mode):
            raise KernelError(Errno.EISDIR, "a directory")
        if not stat.S_ISREG(attr.mode) or file.walk is None:
            raise KernelError(Errno.ENODEV, "not a regular file")
        fs, node = file.fs, file.node
        end = r.offset + r.length
        if end > MAX_FILE_SIZE:
            raise KernelError(Errno.EFBIG, "beyond the largest file")
        if not isinstance(underlying(fs), (TmpFs, OverlayFs, HostFs)) \
                or mode & ~(FALLOC_KEEP_SIZE | FALLOC_PUNCH_HOLE):
            raise KernelError(Errno.EOPNOTSUPP, f"fallocate mode {mode:#x} on {fs.name}")
        if mode & FALLOC_PUNCH_HOLE:
            regular.punch_hole(self, fs, node, r.offset, r.length)
        else:
            if not keep and end > attr.size and end > self.state.fsize_limit(request.sender):
                raise KernelError(Errno.EFBIG, "beyond RLIMIT_FSIZE")
            fs.allocate_range(node, r.offset, r.length, keep)
        notify.file_event(self, file.walk, notify.MODIFY)
        return 0

    def linkat(self, request: Request, r: vfs.Linkat) -> int:
        """Implements Linux linkat(2); an O_TMPFILE file (opened without O_EXCL) gets its
        first name from its fd (AT_EMPTY_PATH) or its /proc/self/fd link."""
        proc = self.proc(request)
        if r.flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
            raise KernelError(Errno.EINVAL, f"linkat flags {r.flags:#x}")
        file = None
        if not r.old and r.flags & AT_EMPTY_PATH and r.olddirfd != AT_FDCWD:
            file = proc.fds.get(r.olddirfd)
        elif r.flags & AT_SYMLINK_FOLLOW:
            file = self._fd_link(proc, r.olddirfd, r.old, 0)
        source = file.walk if file is not None and file.walk is not None else \
            self.lookup(proc, r.olddirfd, r.old, (r.flags & AT_EMPTY_PATH) | (
                0 if r.flags & AT_SYMLINK_FOLLOW else AT_SYMLINK_NOFOLLOW))
        parent, name = self.lookup_parent(proc, r.newdirfd, r.new)
        if source[-1].fs is not parent[-1].fs:
            raise KernelError(Errno.EXDEV, "across mounts")
        self._may_add(parent, name, 0)
        self._may_link(source[-1].fs.getattr(source[-1].node))
        if file is not None and file.linkable:
            parent[-1].fs.relink(source[-1].node, parent[-1].node, name)
        else:
            parent[-1].fs.link(source[-1].node, parent[-1].node, name)
        if self.state.notify.marks:  # (Linux's fsnotify_link)
            notify.self_event(self, source[-1].node, notify.ATTRIB, source[-1].fs)
            notify.dir_event(self, parent[-1].node, notify.CREATE, name)
        return 0

    def symlinkat(self, request: Request, r: vfs.Symlinkat) -> int:
        if not r.target:
            raise KernelError(Errno.ENOENT, "empty target")
        parent, name = self.lookup_parent(self.proc(request), r.newdirfd, r.path)
        uid, gid, _ = self._may_add(parent, name, stat.S_IFLNK | 0o777)
        parent[-1].fs.symlink(parent[-1].node, name, r.target, uid, gid)
        notify.dir_event(self, parent[-1].node, notify.CREATE, name)
        return 0


    def _may_link(self, attr: Attr) -> None:
        """fs.protected_hardlinks (1 on Linux distributions): a hard link to another's
        file needs a regular file one may read and write, and not set-ID."""
        who = self.who()
        if who.owns(attr) or who.capable(perm.CAP_FOWNER):
            return
        setid = attr.mode & stat.S_ISUID or attr.mode & (stat.S_ISGID | stat.S_IXGRP) == \
            stat.S_ISGID | stat.S_IXGRP
        if not stat.S_ISREG(attr.mode) or setid or \
                not perm.allowed(who, attr, perm.MAY_READ | perm.MAY_WRITE):
            raise KernelError(Errno.EPERM, "protected_hardlinks: not the owner")


class _NotANode(KernelError):
    """A path operation on a pipe or the console: no file system node is behind it."""

    def __init__(self, file: OpenFile) -> None:
        super().__init__(Errno.EINVAL, f"a {file.kind} has no file system node")
        self.file = file

    def attr(self) -> Attr:
        return KINDS[self.file.kind].stat(self.file)


def _set_ids(attr: Attr) -> tuple[int | None, int | None]:
    """A set-user-ID program runs as its owner, a set-group-ID one (with group
    execute) as its group (in the guest: the guest's root is not the host's)."""
    return (attr.uid if attr.mode & stat.S_ISUID else None,
            attr.gid if attr.mode & stat.S_ISGID and attr.mode & stat.S_IXGRP else None)


def program_interpreter(data: bytes) -> bytes | None:
    """The dynamic loader an ELF program names (its first PT_INTERP), or None.

    Every field is hostile input: an offset or size outside the file, or a table
    Linux would refuse, gives None (the personality's loader then reports the exact
    error, linux/elf.py), never an exception."""
    if len(data) < 64 or not data.startswith(b"\x7fELF"):
        return None
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    if phentsize != 56 or phoff + 56 * phnum > len(data):
        return None
    for i in range(phnum):
        kind, _, offset, _, _, filesz = struct.unpack_from("<IIQQQQ", data, phoff + 56 * i)
        if kind == 3:  # PT_INTERP
            raw = data[offset:offset + filesz] if filesz <= 4096 else b""
            return raw[:raw.find(0)] if raw.endswith(b"\0") and len(raw) == filesz else None
    return None


def fd_paths(state: VfsState, pid: int) -> dict[int, bytes]:
    """What /proc/<pid>/fd shows: each open fd's path (or pipe:[n], the console)."""
    proc = state.procs.get(pid)
    if proc is None:
        return {}
    return {fd: KINDS[entry.file.kind].path(entry.file)
            for fd, entry in proc.fds.entries.items()}


def fd_info(state: VfsState, pid: int, fd: int) -> tuple[int, int, int, int, bytes] | None:
    """What /proc/<pid>/fdinfo/<fd> shows: (position, flags, st_dev, st_ino, the lines of
    the file's kind); the flags
    hold O_CLOEXEC when the fd has it and O_LARGEFILE for files opened by name, as
    x86_64 Linux's open forces it."""
    proc = state.procs.get(pid)
    entry = proc.fds.entries.get(fd) if proc is not None else None
    if entry is None:
        return None
    file = entry.file
    attr = KINDS[file.kind].stat(file)
    flags = file.flags | (O_CLOEXEC if entry.cloexec else 0) \
        | (OpenFlag.LARGEFILE if file.kind == "node" else 0)
    return file.offset, flags, attr.dev, attr.ino, KINDS[file.kind].fdinfo(file)


TIME_MIN, TIME_MAX = -(1 << 63), (1 << 63) - 1  # a timespec's seconds (time64_t)
U64, U32 = (1 << 64) - 1, (1 << 32) - 1


def timespec(ns: int) -> tuple[int, int]:
    """A time in ns as (seconds, nanoseconds) a struct timespec holds: clamped to its
    range, nanoseconds 0 at either end (as Linux's timestamp_truncate)."""
    sec, nsec = divmod(ns, 10**9)
    if not TIME_MIN < sec < TIME_MAX:
        return (TIME_MAX if sec > 0 else TIME_MIN), 0
    return sec, nsec


def pack_stat(a: Attr) -> bytes:
    """struct stat of x86_64 Linux (whatever a file system reports fits: it is masked)."""
    times = [*timespec(a.atime_ns), *timespec(a.mtime_ns), *timespec(a.ctime_ns)]
    return STAT.pack(a.dev & U64, a.ino & U64, a.nlink & U64, a.mode & U32, a.uid & U32,
                     a.gid & U32, 0, a.rdev & U64, _s64(a.size), _s64(a.blksize),
                     _s64(a.blocks), *times, 0, 0, 0)


def _s64(value: int) -> int:
    return max(TIME_MIN, min(TIME_MAX, value))


def serve(state: VfsState) -> Callable[[ServerApi], Generator[Port, Request, None]]:
    """The server's code, as the runtime runs it: receive, handle, repeat."""
    def run(api: ServerApi) -> Generator[Port, Request, None]:
        vfs = Vfs(api, state)
        port = api.runtime.port
        api.handler = vfs.handle  # (a direct call's, served outside this loop)
        api.local = pipe.Local(vfs)  # (the personality's own pipe reads and writes)
        while True:
            request = yield port
            vfs.handle(request)
    return run
