"""Open files of the VFS: file descriptions and fd tables, and the state each kind keeps.

Owns: what an fd refers to (an ``OpenFile``, shared by dup'd and inherited fds,
with its offset and status flags and its ``kind``), per-process fd tables with
close-on-exec, the machine's count of open files (file-max), and the records of
each kind's state: a pipe's buffer with its blocked readers and writers and the
open files in flight (``Pipe``), a listening socket's queue (``Listener``), an
eventfd's counter, a timerfd's expiry state, an epoll instance's interests, the
process a pidfd names (``PidRef``). What
each kind does with them is in its module (``regular``, ``pipe``, ``fifo``, ``unix``,
``console``, ``eventfd``, ``timerfd``, ``signalfd``, ``epoll``, ``pidfd``, ``notify``).
Never: resolves paths (``paths``) or decodes requests (``server``).
Called by: ``vfs.server`` and the kinds' modules.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from typing import Any, Callable

from cloudos.abi.dataclass import dataclass, field, fields
from cloudos.abi.flags import OpenFlag
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import FileSystem, Node
from cloudos.servers.vfs.paths import Walk

# open(2)'s flags as plain ints (abi/flags.py: tested on every read and write)
O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = map(int, (OpenFlag.ACCMODE, OpenFlag.RDONLY,
                                                  OpenFlag.WRONLY, OpenFlag.RDWR))
O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC = map(int, (OpenFlag.CREAT, OpenFlag.EXCL, OpenFlag.NOCTTY,
                                               OpenFlag.TRUNC))
O_APPEND, O_NONBLOCK, O_DIRECTORY, O_NOFOLLOW = map(int, (
    OpenFlag.APPEND, OpenFlag.NONBLOCK, OpenFlag.DIRECTORY, OpenFlag.NOFOLLOW))
O_CLOEXEC, O_PATH, O_TMPFILE = map(int, (OpenFlag.CLOEXEC, OpenFlag.PATH, OpenFlag.TMPFILE))
# the status flags F_SETFL changes
STATUS_FLAGS = int(OpenFlag.APPEND | OpenFlag.NONBLOCK | OpenFlag.DIRECT | OpenFlag.NOATIME
                   | OpenFlag.SYNC)
O_ASYNC = int(OpenFlag.ASYNC)  # F_SETFL sets it only on a kind that signals I/O (fasync)
PIPE_CAPACITY = 65536  # a new pipe's (16 pages, as Linux's)
PIPE_BUF = 4096
NR_OPEN = 1 << 20  # fs.nr_open: no RLIMIT_NOFILE above it
FD_RAM = 4 << 10  # RAM per fd number a process may use (its table is host memory)
MAX_FDS = 1024  # a process's highest fd number + 1 at most: ``for_ram`` sets it
ENFILE = 23  # the machine's open files are at file-max
FILE_RAM = 10 << 10  # RAM per open file of file-max (Linux: a tenth of RAM, 1 KiB a file)
NR_FILE = 8192  # file-max's floor, as Linux's


@dataclass(eq=False)
class Pipe:
    """A pipe's buffer and its ends: what anonymous pipes, FIFOs and AF_UNIX sockets
    carry their bytes in."""

    buffer: bytearray = field(default_factory=bytearray)
    readers: int = 0
    writers: int = 0
    blocked_readers: deque[Any] = field(default_factory=deque)  # deferred read requests
    blocked_writers: deque[Any] = field(default_factory=deque)  # deferred write requests
    # Open files in flight (SCM_RIGHTS) with the bytes they came with: [start, end, files]
    # in stream positions; ``consumed`` is the position of the buffer's first byte.
    rights: deque[list[Any]] = field(default_factory=deque)
    consumed: int = 0
    # A message socket's (SOCK_SEQPACKET, SOCK_DGRAM) message ends, in stream positions;
    # None for a byte stream
    bounds: deque[int] | None = None
    charged: int = 0  # a message socket's: its messages' truesize (Linux's sk_wmem_alloc)
    # an AF_UNIX stream's buffers as Linux's sender allocates them (sk_buffs, charged to
    # ``charged`` until read to their end): [stream position of its end, its truesize];
    # None for a pipe, a message socket, or the net server's streams
    skbs: deque[list[int]] | None = None
    # an AF_UNIX datagram socket's own queue (socket(2), not socketpair): the address of
    # each queued message's sender (b"" for an unbound one), in order; None elsewhere
    senders: deque[bytes] | None = None
    # opens for reading and for writing so far (Linux's r_counter, w_counter): a FIFO's
    # opener waits for the other's to move; an anonymous pipe starts with one of each
    r_counter: int = 1
    w_counter: int = 1
    capacity: int = PIPE_CAPACITY  # bytes it holds at most (F_SETPIPE_SZ)
    # a pipe's or FIFO's pages (Linux's ring of pipe_buffers), oldest first: [bytes read
    # from the page, bytes left in it]; it holds capacity // PAGE of them. None: a socket's
    # pipe, whose room is counted in bytes
    slots: deque[list[int]] | None = None
    # the open files with O_ASYNC that read it, and that write it: SIGIO to their owners
    # on each write, and on each read (Linux's fasync_readers and fasync_writers)
    async_readers: list[Any] = field(default_factory=list)
    async_writers: list[Any] = field(default_factory=list)

    def readable(self) -> bool:
        """Something to read: bytes, or a message (which may be empty)."""
        return bool(self.buffer or self.bounds)


@dataclass(eq=False)
class Listener:
    """A listening socket: connections not yet accepted (their server ends), accept calls
    waiting for one (request, flags), the backlog's size, and (TCP) connects waiting."""

    limit: int
    owner: int  # the pid that listens (the peer credentials its clients see)
    queue: deque[OpenFile] = field(default_factory=deque)
    accepting: deque[Any] = field(default_factory=deque)
    # connects waiting for room in the queue (an internet listener's: net.sockets)
    waiting: deque[Any] = field(default_factory=deque)


EVENTFD_MAX = (1 << 64) - 2  # the largest value an eventfd counter holds


@dataclass(eq=False)
class EventCounter:
    """An eventfd's 64-bit counter, with readers waiting for it to be non-zero and
    writers waiting for room (deferred requests, as for pipes)."""

    value: int
    semaphore: bool
    blocked_readers: deque[Any] = field(default_factory=deque)
    blocked_writers: deque[Any] = field(default_factory=deque)  # (request, file, amount)


@dataclass(eq=False)
class Timer:
    """A timerfd: its clock, next expiry (host monotonic seconds, or None when disarmed),
    period, expirations not yet read, and readers waiting for one. ``generation`` names
    the one kernel notification that is current; older ones are ignored."""

    key: int
    clock: int
    deadline: float | None = None
    interval: float = 0.0
    ticks: int = 0
    generation: int = 0
    blocked_readers: deque[Any] = field(default_factory=deque)


@dataclass(eq=False)
class Interest:
    """One fd an epoll instance watches: the file it was added as, the events asked for,
    the user's data word, and what was last seen (for EPOLLET) or whether a
    one-shot has fired (EPOLLONESHOT)."""

    file: Any
    events: int
    data: int
    seen: int = 0
    fired: bool = False


class OpenFiles:
    """The machine's open file descriptions: how many there are, and how many there may
    be (Linux's file-max: ENFILE beyond it). A process holds at most RLIMIT_NOFILE fds,
    but there may be thousands of processes: this keeps the host memory fds cost
    proportional to the guest's RAM."""

    count = 0
    limit = 1 << 20
    last_collect = 0.0

    @classmethod
    def for_ram(cls, ram: int) -> None:
        global MAX_FDS
        cls.limit = max(ram // FILE_RAM, NR_FILE)
        MAX_FDS = min(NR_OPEN, max(1024, ram // FD_RAM))  # 131,072 fds with 512 MiB

    @classmethod
    def take(cls) -> None:
        if cls.count >= cls.limit and time.monotonic() - cls.last_collect > 1.0:
            cls.last_collect = time.monotonic()
            gc.collect()  # descriptions dropped in reference cycles may be gone
        if cls.count >= cls.limit:
            raise KernelError(ENFILE, "too many open files in the machine (file-max)")
        cls.count += 1


@dataclass(eq=False)
class PidRef:
    """A process as its pidfds name it (Linux's struct pid): one per live process that
    has a pidfd, shared by them all; ``exited`` once the process ended, so that a pid
    used again names another process, not this one."""

    pid: int
    exited: bool = False


@dataclass(eq=False, init=False)
class OpenFile:
    """An open file description. (Its own ``__init__``: the fields a kind gives are set
    on the instance, the others read through the class's defaults: one is made per open,
    and the generated ``__init__``'s 33 stores cost more than the rest of making it.)"""

    # "node", "pipe", "fifo", "socket", "eventfd", "timerfd", "signalfd", "epoll", "console",
    # "inet", "mqueue", "pidfd", "ptm" (a pseudo-terminal's master), "pts" (its slave),
    # "procmem" (/proc/<pid>/mem), "inotify"
    kind: str
    flags: int                 # access mode and status flags
    walk: Walk | None = None   # for nodes: where it was opened (fchdir, /proc/self/fd)
    pipe: Pipe | None = None   # what a pipe end or a socket reads from
    tx: Pipe | None = None     # what a socket writes to (its peer's pipe)
    shut: int = 0              # a socket's directions shut down (1 read, 2 write)
    counter: EventCounter | None = None
    timer: Timer | None = None
    interest: dict[int, Interest] | None = None  # an epoll instance's watched fds
    host_fd: int = -1          # for the console
    offset: int = 0
    refs: int = 1
    write_key: tuple[int, int] | None = None  # a regular file open for writing: ETXTBSY
    listing: list[tuple[bytes, int, int]] | None = None  # getdents64 snapshot
    # AF_UNIX sockets: a listening one's queue, its own address (struct sockaddr_un
    # bytes, b"" when unbound), its peer's, and the peer's credentials (SO_PEERCRED)
    listener: Listener | None = None
    name: bytes = b""
    peer: bytes = b""
    cred: tuple[int, int, int] = (0, -1, -1)
    socktype: int = 1  # SOCK_STREAM, SOCK_DGRAM (2) or SOCK_SEQPACKET (5)
    sigmask: int = 0  # a signalfd's signals
    # a pipe or FIFO end: the pipe's w_counter when it was opened without a writer
    # (a FIFO reader opened O_NONBLOCK sees no POLLHUP until a writer has come)
    version: int = 0
    fifo_key: Any = None  # a FIFO end: its node's (st_dev, st_ino), where vfs keeps the pipe
    linkable: bool = False  # an O_TMPFILE file opened without O_EXCL: linkat may name it
    lock_key: Any = None  # the locked file's identity, once locked (locks.py)
    signum: int = 0  # F_SETSIG's signal (0: SIGIO)
    owner: tuple[int, int] = (0, 0)  # F_SETOWN(_EX)'s (OwnerType, id): none is (TID, 0)
    inet: Any = None  # an internet socket's protocol state (servers/net/inet.py InetSock)
    mqueue: Any = None  # a POSIX message queue's descriptor: the queue (mqueue.py MQueue)
    process: PidRef | None = None  # a pidfd's process
    pty: Any = None  # a pseudo-terminal's master or slave: its Pty (servers/tty/pty.py)
    memory: Any = None  # /proc/<pid>/mem's: its opener's grant (procfs.Memory, procmem.py)
    inotify: Any = None  # an inotify instance's events and watches (notify.Group)

    @property
    def fs(self) -> FileSystem:
        assert self.walk is not None
        return self.walk[-1].fs

    @property
    def node(self) -> Node:
        assert self.walk is not None
        return self.walk[-1].node

    def __init__(self, kind: str, flags: int, walk: Walk | None = None, **more: Any) -> None:
        self.kind, self.flags, self.walk = kind, flags, walk
        if more:
            unknown = more.keys() - _OPEN_FILE_FIELDS
            if unknown:
                raise TypeError(f"OpenFile has no field {sorted(unknown)[0]}")
            self.__dict__.update(more)
        if OpenFiles.count < OpenFiles.limit:  # (``take``, inline: one per open)
            OpenFiles.count += 1
        else:
            OpenFiles.take()  # (a collection, or ENFILE)
        self.counted = True

    def __del__(self) -> None:
        if self.__dict__.get("counted"):  # (not when file-max refused it)
            OpenFiles.count -= 1

    def readable(self) -> bool:
        return self.flags & O_ACCMODE in (O_RDONLY, O_RDWR) and not self.flags & O_PATH

    def writable(self) -> bool:
        return self.flags & O_ACCMODE in (O_WRONLY, O_RDWR) and not self.flags & O_PATH


_OPEN_FILE_FIELDS = frozenset(f.name for f in fields(OpenFile))


@dataclass
class FdEntry:
    """One file descriptor: the open file it names and its close-on-exec flag."""

    file: OpenFile
    cloexec: bool = False


class FdTable:
    """One process's file descriptors."""

    def __init__(self, entries: dict[int, FdEntry] | None = None, limit: int = MAX_FDS) -> None:
        self.entries: dict[int, FdEntry] = entries or {}
        self.fixed = limit
        # whose call the VFS serves on this table, and how it learns that process's
        # RLIMIT_NOFILE (``Vfs.proc`` sets both): read only when a limit is needed
        self.caller = 0
        self.rlimit: Callable[[int], int] | None = None

    @property
    def limit(self) -> int:
        """RLIMIT_NOFILE's soft limit of the caller (at most MAX_FDS): no new fd numbered
        at or above it."""
        rlimit = self.rlimit
        return self.fixed if rlimit is None else min(rlimit(self.caller), MAX_FDS)

    def get(self, fd: int) -> OpenFile:
        entry = self.entries.get(fd)
        if entry is None:
            raise KernelError(Errno.EBADF, f"fd {fd}")
        return entry.file

    def install(self, file: OpenFile, cloexec: bool = False, lowest: int = 0,
                fd: int = -1) -> int:
        """Put ``file`` at ``fd``, or at the lowest free number >= ``lowest``."""
        if fd < 0:
            fd = lowest
            entries = self.entries
            while fd in entries:
                fd += 1
            rlimit = self.rlimit  # (``limit``, inline: once per open)
            if fd >= (self.fixed if rlimit is None else min(rlimit(self.caller), MAX_FDS)):
                raise KernelError(Errno.EMFILE, "too many open files (RLIMIT_NOFILE)")
        self.entries[fd] = FdEntry(file, cloexec)
        return fd

    def check_free(self, count: int) -> None:
        """EMFILE unless ``count`` numbers below the limit are free (for a call that
        installs several fds: all of them or, as on Linux, none)."""
        limit = self.limit
        if limit - sum(1 for fd in self.entries if fd < limit) < count:
            raise KernelError(Errno.EMFILE, "too many open files (RLIMIT_NOFILE)")

    def fork(self) -> FdTable:
        for entry in self.entries.values():
            entry.file.refs += 1
        return FdTable({fd: FdEntry(e.file, e.cloexec) for fd, e in self.entries.items()},
                       self.limit)
