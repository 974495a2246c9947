"""The VFS server: Linux file semantics for every process, reached by IPC.

Owns: the namespace (mounts), each process's fd table, working directory and
umask, and the file operations. A request is one of the typed requests of the
VFS protocol (``abi/vfs.py``): a Linux system call's arguments, already decoded
by the Linux personality (buffers arrive as memory grants), or a lifecycle op
the personality sends when a process starts, forks, execs or exits; ``handle``
dispatches on its type (a guest's raw message is decoded first: ENOSYS, EINVAL).
The answer is the system call's result (a negative errno on failure) or a typed
answer (``Again``, ``SignalsReady``, ...). A read of an empty pipe is answered
later (a deferred reply) while the server goes on serving others.
Kinds of open file that implement the file-operations protocol (``fileops.py``)
live in their own modules (``eventfd``, ``timerfd``, ``signalfd``, ``epoll``);
pipes, sockets, the console and regular files are still served here.
Also: the files mapped MAP_SHARED (the personality lends their pages, so reads
and writes of the file see the mapping), the console's line discipline when it
is a terminal (fed by the machine), bound AF_UNIX names and the open files in
flight over sockets, and writing core files.
State lives in ``VfsState``, which outlives a crash of the server's code: ``rs``
restarts the code on the same state.
Never: touches guest memory except through the grants of a request.
Called by: the Linux personality (``linux.syscalls.sys_file``) through the VFS port.
"""

from __future__ import annotations

import os
import select
import stat
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Generator


from cloudos.abi import vfs
from cloudos.abi.vfs import Again, BytesOut, ExecImage, MappedFile, PollReady, Received, Sharing
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Port
from cloudos.servers.runtime import Request, ServerApi
from cloudos.servers.vfs import epoll, eventfd, files, signalfd, timerfd
from cloudos.servers.vfs.files import (O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY,
                                       O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_TRUNC,
                                       PIPE_BUF, PIPE_CAPACITY,
                                       FdTable, Listener, OpenFile, Pipe, Timer)
from cloudos.servers.vfs.devfs import DevFs
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.fs import Attr, FileSystem, Node
from cloudos.servers.vfs.paths import Namespace, Step, Walk, is_dir, path_of
from cloudos.servers.vfs.tmpfs import TmpFs
from cloudos.servers.tty.ldisc import LineDiscipline, Termios

VFS_ID = -2
TCFLSH, TCIFLUSH, TCIOFLUSH = 0x540B, 0, 2
CONSOLE_SESSION = 1  # the session whose controlling terminal the console is (TIOCGSID)
# A background job used the terminal: raised as an error inside the server, answered as
# Again.BACKGROUND (the personality stops the job, SIGTTIN or SIGTTOU, and runs the call again)
BACKGROUND = 512
TOSTOP = 0o400  # c_lflag: background jobs may not write to the terminal
MFD_CLOEXEC, MFD_ALLOW_SEALING, MEMFD_NAME_MAX = 1, 2, 249
EXEC_MAX = 512 << 20
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH = 0x100, 0x200, 0x400, 0x1000
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
FD_CLOEXEC = 1
SHUT_READ, SHUT_WRITE, SHUT_BOTH = 1, 2, 3  # OpenFile.shut bits
MSG_DONTWAIT, MSG_NOSIGNAL = 0x40, 0x4000
AF_UNIX, SOMAXCONN, SOCKET_BUFFER = 1, 4096, 212992
SOCK_STREAM, SOCK_DGRAM = 1, 2
EPROTOTYPE = 91  # (not among the kernel's names: its image has no room)
SCM_RIGHTS, CMSG_HEADER, MSG_CTRUNC, MSG_CMSG_CLOEXEC = 1, 16, 0x8, 0x40000000
SOL_SOCKET, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF = 1, 2, 3, 4, 7, 8
SO_KEEPALIVE, SO_LINGER, SO_PASSCRED, SO_PEERCRED, SO_RCVTIMEO, SO_SNDTIMEO = 9, 13, 16, 17, 20, 21
SO_ACCEPTCONN, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 30, 32, 33, 38, 39
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGPGRP, TIOCSPGRP, TIOCGWINSZ, FIONREAD, TIOCGSID = 0x540F, 0x5410, 0x5413, 0x541B, 0x5429
FIONBIO, FIONCLEX, FIOCLEX = 0x5421, 0x5450, 0x5451
TERMIOS = struct.Struct("<IIIIB19s")  # the kernel's struct termios
POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDHUP = 1, 4, 8, 16, 32, 0x2000
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
R_OK, W_OK, X_OK = 4, 2, 1
STAT = struct.Struct("<QQQIIIiQqqqqqqqqqqqq")
DIRENT = struct.Struct("<QqHB")


# The kinds of open file that implement the file-operations protocol (fileops.py), by
# OpenFile.kind; the others are still served by the Vfs's own methods below.
KINDS: dict[str, FileOps] = {"eventfd": eventfd.EventFd(), "timerfd": timerfd.TimerFd(),
                             "signalfd": signalfd.SignalFd(), "epoll": epoll.Epoll()}


@dataclass
class Proc:
    """What the VFS knows of one process."""

    fds: FdTable
    cwd: Walk
    umask: int = 0o022
    pid: int = 0


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
    timer_keys: int = 0
    # files mapped MAP_SHARED, by (st_dev, st_ino): their pages are the file's newest bytes
    mapped: dict[tuple[int, int], Mapped] = field(default_factory=dict)
    memfds: TmpFs = field(default_factory=TmpFs)  # where memfd_create's files live, unnamed
    # A process's RLIMIT_NOFILE soft limit, by pid (the machine reads the personality's)
    fd_limit: Callable[[int], int] = lambda pid: files.MAX_FDS
    fsize_limit: Callable[[int], int] = lambda pid: 1 << 64  # RLIMIT_FSIZE, the same way
    map_limit: int = 1 << 40  # bytes of a file one mapping may read (the machine: its RAM)
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


@dataclass
class Mapped:
    """A file with a shared mapping: the grant on its pages [0, length) (see linux/sharedfiles)."""

    fs: FileSystem
    node: Node
    grant: int = 0
    length: int = 0


class Vfs:
    """One incarnation of the server's code over the shared state."""

    def __init__(self, api: ServerApi, state: VfsState) -> None:
        self.api, self.state = api, state
        # the handler of each request type (abi/vfs.py declares them)
        self.handlers: dict[type, Callable[[Request, Any], Any]] = {
            vfs.Read: self.read, vfs.Write: self.write, vfs.Readv: self.readv,
            vfs.Writev: self.writev, vfs.Pread: self.pread, vfs.Pwrite: self.pwrite,
            vfs.Close: self.close, vfs.Lseek: self.lseek, vfs.Ioctl: self.ioctl,
            vfs.Dup: self.dup, vfs.Dup2: self.dup2, vfs.Dup3: self.dup3, vfs.Fcntl: self.fcntl,
            vfs.Fsync: self.fsync, vfs.Sync: self.sync, vfs.Poll: self.poll,
            vfs.Openat: self.openat, vfs.Mkdirat: self.mkdirat, vfs.Unlinkat: self.unlinkat,
            vfs.Renameat2: self.renameat2, vfs.Linkat: self.linkat, vfs.Symlinkat: self.symlinkat,
            vfs.Readlinkat: self.readlinkat, vfs.Newfstatat: self.newfstatat, vfs.Statx: self.statx,
            vfs.Faccessat: self.faccessat, vfs.Fchmodat: self.fchmodat, vfs.Fchmod: self.fchmod,
            vfs.Fchownat: self.fchownat, vfs.Utimensat: self.utimensat,
            vfs.Truncate: self.truncate, vfs.Ftruncate: self.ftruncate, vfs.Statfs: self.statfs,
            vfs.Fstatfs: self.fstatfs, vfs.Getdents64: self.getdents64, vfs.Getcwd: self.getcwd,
            vfs.Chdir: self.chdir, vfs.Fchdir: self.fchdir, vfs.Umask: self.umask,
            vfs.XattrPath: self.xattr, vfs.XattrFd: self.fxattr, vfs.Pipe2: self.pipe2,
            vfs.Eventfd2: self.eventfd2, vfs.MemfdCreate: self.memfd_create,
            vfs.Signalfd4: self.signalfd4, vfs.TimerfdCreate: self.timerfd_create,
            vfs.TimerfdSettime: self.timerfd_settime, vfs.TimerfdGettime: self.timerfd_gettime,
            vfs.EpollCreate1: self.epoll_create1, vfs.EpollCtl: self.epoll_ctl,
            vfs.EpollWait: self.epoll_wait, vfs.Socket: self.socket,
            vfs.Socketpair: self.socketpair, vfs.Bind: self.bind, vfs.Connect: self.connect,
            vfs.Listen: self.listen, vfs.Accept4: self.accept4,
            vfs.Getsockname: self.getsockname, vfs.Getpeername: self.getpeername,
            vfs.Getsockopt: self.getsockopt, vfs.Setsockopt: self.setsockopt,
            vfs.Shutdown: self.shutdown, vfs.Sendto: self.sendto, vfs.Recvfrom: self.recvfrom,
            vfs.Sendmsg: self.sendmsg, vfs.Recvmsg: self.recvmsg, vfs.Spawn: self.spawn,
            vfs.Fork: self.fork, vfs.Exec: self.exec, vfs.Exit: self.exit,
            vfs.ExecRead: self.exec_read, vfs.MmapRead: self.mmap_read,
            vfs.MapAttach: self.map_attach, vfs.MapSync: self.map_sync,
            vfs.TimerFired: self.timer_fired, vfs.ConsoleInput: self.console_input,
            vfs.SignalsPending: self.signals_pending, vfs.CoreDump: self.core_dump,
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
        if result is not None:  # None: answered later (a deferred reply)
            self.answer(request, result)

    def answer(self, request: Request, result: Any) -> None:
        if request.reply_token:
            self.api.reply(request, result)

    def proc(self, request: Request) -> Proc:
        proc = self.state.procs.get(request.sender)
        if proc is None:
            raise KernelError(Errno.ESRCH, f"pid {request.sender} unknown to the VFS")
        proc.fds.limit = min(self.state.fd_limit(request.sender), files.MAX_FDS)
        return proc

    # -- process lifecycle --------------------------------------------------------
    def spawn(self, request: Request, r: vfs.Spawn) -> int:
        """A first process: console on fds 0, 1 and 2, cwd and root at "/"."""
        fds = FdTable()
        for fd, mode in ((0, files.O_RDONLY), (1, files.O_WRONLY), (2, files.O_WRONLY)):
            fds.install(files.console(fd, mode), fd=fd)
        self.state.procs[r.pid] = Proc(fds, self.state.namespace.root(), pid=r.pid)
        return 0

    def fork(self, request: Request, r: vfs.Fork) -> int:
        p = self.state.procs.get(r.parent)
        if p is not None:
            self.state.procs[r.child] = Proc(p.fds.fork(), p.cwd, p.umask, r.child)
        return 0

    def exec(self, request: Request, r: vfs.Exec) -> int:
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
        where, data, ident = self._executable(proc, r.dirfd, r.path)
        prefix: tuple[bytes, ...] = ()
        if data.startswith(b"#!"):
            line = data[2:data.find(b"\n") if b"\n" in data else 256][:256].strip()
            if not line:
                raise KernelError(Errno.ENOEXEC, "empty #! line")
            interp, _, arg = line.partition(b" ")
            prefix = (interp, *([arg.strip()] if arg.strip() else []), r.path)
            where, data, ident = self._executable(proc, AT_FDCWD, interp)
        loader = program_interpreter(data)
        _, loader_data, loader_id = (self._executable(proc, AT_FDCWD, loader) if loader
                                     else (b"", None, None))
        return ExecImage(where, data, loader_data, prefix, ident, loader_id)

    def _executable(self, proc: Proc, dirfd: int, path: bytes) -> tuple[bytes, bytes, Any]:
        walk = self._lookup(proc, dirfd, path)
        step = walk[-1]
        attr = step.fs.getattr(step.node)
        if not stat.S_ISREG(attr.mode) or not attr.mode & 0o111:
            raise KernelError(Errno.EACCES, "not an executable regular file")
        if attr.size > EXEC_MAX:
            raise KernelError(Errno.E2BIG, "program too large")
        return (path_of(walk), step.fs.read(step.node, 0, attr.size),
                (attr.dev, attr.ino, attr.size, attr.mtime_ns))

    def xattr(self, request: Request, r: vfs.XattrPath) -> int:
        """The *xattr calls on a path: the file must exist; no file system here has xattrs."""
        self._lookup(self.proc(request), AT_FDCWD, r.path, 0 if r.follow else AT_SYMLINK_NOFOLLOW)
        raise KernelError(Errno.EOPNOTSUPP, "extended attributes are not supported")

    def fxattr(self, request: Request, r: vfs.XattrFd) -> int:
        self.proc(request).fds.get(r.fd)
        raise KernelError(Errno.EOPNOTSUPP, "extended attributes are not supported")

    def mmap_read(self, request: Request, r: vfs.MmapRead) -> MappedFile:
        """The bytes behind a file mapping (mmap of a regular file opened for reading).

        A shared mapping gets the file from its start, and the file is noted as
        mapped: its pages arrive with MAP_ATTACH.
        """
        file = self.proc(request).fds.get(r.fd)
        if file.walk is None or not stat.S_ISREG(file.fs.getattr(file.node).mode):
            raise KernelError(Errno.ENODEV, "only regular files can be mapped")
        if not file.readable() or r.sharing == Sharing.SHARED_WRITE and not file.writable():
            raise KernelError(Errno.EACCES, "file not open for reading (and writing)")
        fs, node = file.fs, file.node
        a = fs.getattr(node)
        if min(a.size, r.offset + r.length) - (0 if r.sharing else r.offset) > self.state.map_limit:
            # its pages are read now, all of them: more than the machine's RAM never fits
            raise KernelError(Errno.ENOMEM, "more of the file than the machine has RAM")
        if r.sharing:
            self.state.mapped.setdefault((a.dev, a.ino), Mapped(fs, node))
            return MappedFile(self._file_read(fs, node, 0, r.offset + r.length), (a.dev, a.ino),
                              file.writable())
        return MappedFile(self._file_read(fs, node, r.offset, r.length),
                          (a.dev, a.ino, a.size, a.mtime_ns))

    def map_attach(self, request: Request, r: vfs.MapAttach) -> None:
        mapped = self.state.mapped.get(r.key)
        if mapped is not None:
            mapped.grant, mapped.length = request.grants[0], r.length

    def map_sync(self, request: Request, r: vfs.MapSync) -> None:
        """Write a mapping's pages to the file (what lies past its end is dropped)."""
        mapped = self.state.mapped.pop(r.key, None) if r.final else self.state.mapped.get(r.key)
        if mapped is None or r.data is None:
            return
        size = mapped.fs.getattr(mapped.node).size
        if mapped.fs.read(mapped.node, 0, size) != r.data[:size]:
            mapped.fs.write(mapped.node, 0, r.data[:size])

    def _mapping(self, fs: FileSystem, node: Node) -> Mapped | None:
        if not self.state.mapped:
            return None
        a = fs.getattr(node)
        mapped = self.state.mapped.get((a.dev, a.ino))
        return mapped if mapped is not None and mapped.grant else None

    def _file_read(self, fs: FileSystem, node: Node, at: int, count: int) -> bytes:
        """Read a regular file; where it is mapped shared, the mapped pages are the truth."""
        data = fs.read(node, at, count)
        mapped = self._mapping(fs, node)
        if mapped is not None and at < mapped.length and data:
            try:
                newer = self.api.copy_in(mapped.grant, at, min(len(data), mapped.length - at))
            except KernelError:  # the last mapping went: its pages are in MAP_SYNC, on the way
                return data
            data = newer + data[len(newer):]
        return data

    def _file_write(self, fs: FileSystem, node: Node, at: int, data: bytes) -> int:
        written = fs.write(node, at, data)
        mapped = self._mapping(fs, node)
        if mapped is not None and at < mapped.length:
            self._to_mapping(mapped, at, data[:min(written, mapped.length - at)])
        return written

    def _truncate(self, fs: FileSystem, node: Node, length: int) -> None:
        fs.truncate(node, length)
        mapped = self._mapping(fs, node)
        if mapped is not None and length < mapped.length:  # the cut pages read back zero
            self._to_mapping(mapped, length, bytes(mapped.length - length))

    def _to_mapping(self, mapped: Mapped, at: int, data: bytes) -> None:
        try:
            self.api.copy_out(mapped.grant, at, data)
        except KernelError:
            pass  # the last mapping went: the file itself has the bytes

    def memfd_create(self, request: Request, r: vfs.MemfdCreate) -> int:
        """An anonymous regular file in memory (/memfd:NAME), open for reading and writing."""
        if r.flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING) or len(r.name) > MEMFD_NAME_MAX:
            raise KernelError(Errno.EINVAL, f"memfd_create flags {r.flags:#x}")
        fs = self.state.memfds
        node = fs.create(fs.root(), b"m", 0o777, *self._owner())
        fs.unlink(fs.root(), b"m")  # linked for a moment only: a memfd has no name
        walk = (Step(b"", fs, fs.root()), Step(b"memfd:" + r.name + b" (deleted)", fs, node))
        file = OpenFile("node", files.O_RDWR, walk)
        return self.proc(request).fds.install(file, bool(r.flags & MFD_CLOEXEC))

    def core_dump(self, request: Request, r: vfs.CoreDump) -> None:
        """Write "core" in the process's working directory, as Linux does with the default
        core_pattern: a new file (mode 0600), or an existing regular file replaced."""
        proc = self.state.procs.get(r.pid)
        if proc is None:
            return
        here = proc.cwd[-1]
        try:
            node = here.fs.lookup(here.node, b"core")
        except KernelError:
            node = here.fs.create(here.node, b"core", 0o600, *self._owner())
        if not stat.S_ISREG(here.fs.getattr(node).mode):
            return  # Linux leaves anything else alone
        here.fs.truncate(node, 0)
        here.fs.write(node, 0, r.image)

    def exit(self, request: Request, r: vfs.Exit) -> int:
        p = self.state.procs.pop(r.pid, None)
        if p is not None:
            for fd in list(p.fds.entries):
                self._close(p, fd)
        return 0

    # -- fds ---------------------------------------------------------------------
    def _close(self, proc: Proc, fd: int) -> None:
        entry = proc.fds.entries.pop(fd, None)
        if entry is None:
            raise KernelError(Errno.EBADF, f"fd {fd}")
        self._unref(entry.file)

    def _unref(self, file: OpenFile) -> None:
        """One holder (an fd, or a message in flight) let go of ``file``."""
        file.refs -= 1
        ops = KINDS.get(file.kind) if file.refs == 0 else None
        if ops is not None:
            ops.release(self, file)
        elif file.refs == 0 and file.kind == "socket":
            self._socket_closed(file)
        elif file.refs == 0 and file.pipe is not None:
            pipe = file.pipe
            if file.writable():
                pipe.writers -= 1
            else:
                pipe.readers -= 1
            self._pipe_changed(pipe)

    def close(self, request: Request, r: vfs.Close) -> int:
        self._close(self.proc(request), r.fd)
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
            file.flags = (file.flags & ~files.STATUS_FLAGS) | (r.arg & files.STATUS_FLAGS)
            return 0
        if r.cmd in (F_GETLK, F_SETLK, F_SETLKW):
            return 0  # one machine, advisory locks always granted (recorded nowhere)
        raise KernelError(Errno.EINVAL, f"fcntl command {r.cmd}")

    # -- opening -------------------------------------------------------------------
    def _base(self, proc: Proc, dirfd: int) -> Walk:
        if dirfd == AT_FDCWD:
            return proc.cwd
        file = proc.fds.get(dirfd)
        if file.walk is None or not is_dir(file.walk[-1]):
            raise KernelError(Errno.ENOTDIR, f"fd {dirfd} is not a directory")
        return file.walk

    def _lookup(self, proc: Proc, dirfd: int, path: bytes, flags: int = 0) -> Walk:
        if not path and flags & AT_EMPTY_PATH:
            if dirfd == AT_FDCWD:
                return proc.cwd
            file = proc.fds.get(dirfd)
            if file.walk is None:
                raise _NotANode(file)
            return file.walk
        follow = not flags & AT_SYMLINK_NOFOLLOW
        return self.state.namespace.resolve(self._base(proc, dirfd), path, follow)[0]

    def _parent(self, proc: Proc, dirfd: int, path: bytes) -> tuple[Walk, bytes]:
        walk, name = self.state.namespace.resolve(self._base(proc, dirfd), path, parent=True)
        if not name:
            raise KernelError(Errno.EEXIST, "the root")
        return walk, name

    def openat(self, request: Request, r: vfs.Openat) -> int:
        proc = self.proc(request)
        if r.flags & files.O_TMPFILE == files.O_TMPFILE:
            raise KernelError(Errno.EOPNOTSUPP, "O_TMPFILE")
        walk = self._open_walk(proc, r.dirfd, r.path, r.flags, r.mode)
        step = walk[-1]
        attr = step.fs.getattr(step.node)
        if stat.S_ISLNK(attr.mode):
            raise KernelError(Errno.ELOOP, "O_NOFOLLOW on a symbolic link")
        if r.flags & O_DIRECTORY and not stat.S_ISDIR(attr.mode):
            raise KernelError(Errno.ENOTDIR, r.path.decode(errors="replace"))
        if stat.S_ISDIR(attr.mode) and r.flags & O_ACCMODE != files.O_RDONLY:
            raise KernelError(Errno.EISDIR, r.path.decode(errors="replace"))
        status = r.flags & ~(O_CREAT | O_EXCL | files.O_NOCTTY | O_TRUNC | O_CLOEXEC)
        if isinstance(step.fs, DevFs) and step.fs.is_terminal(step.node) and os.isatty(0):
            # /dev/tty and /dev/console are the host terminal, like fds 0-2
            return proc.fds.install(files.console(0, status), bool(r.flags & O_CLOEXEC))
        file = OpenFile("node", status, walk)
        if r.flags & O_TRUNC and file.writable() and stat.S_ISREG(attr.mode):
            self._truncate(step.fs, step.node, 0)
        return proc.fds.install(file, bool(r.flags & O_CLOEXEC))

    def _open_walk(self, proc: Proc, dirfd: int, path: bytes, flags: int, mode: int) -> Walk:
        namespace = self.state.namespace
        if not flags & O_CREAT:
            return namespace.resolve(self._base(proc, dirfd), path, not flags & O_NOFOLLOW)[0]
        base = self._base(proc, dirfd)
        for _ in range(40):  # O_CREAT through symlinks creates their target, as Linux does
            parent, name = namespace.resolve(base, path, parent=True)
            if name in (b"", b".", b".."):
                raise KernelError(Errno.EISDIR, path.decode(errors="replace"))
            here = parent[-1]
            try:
                node = here.fs.lookup(here.node, name)
            except KernelError as err:
                if err.errno != Errno.ENOENT:
                    raise
                node = here.fs.create(here.node, name,
                                      stat.S_IFREG | (mode & 0o7777 & ~proc.umask),
                                      *self._owner())
                return parent + (Step(name, here.fs, node),)
            if flags & O_EXCL:
                raise KernelError(Errno.EEXIST, path.decode(errors="replace"))
            if flags & O_NOFOLLOW or not stat.S_ISLNK(here.fs.getattr(node).mode):
                return namespace.resolve(parent, name, not flags & O_NOFOLLOW)[0]
            base, path = parent, here.fs.readlink(node)
        raise KernelError(Errno.ELOOP, "too many symbolic links")

    @staticmethod
    def _owner() -> tuple[int, int]:
        """Who owns a new file: the user running CloudOS (guest credentials do not
        travel with requests yet)."""
        return os.getuid(), os.getgid()

    def pipe2(self, request: Request, r: vfs.Pipe2) -> int:
        proc = self.proc(request)
        if r.flags & ~(O_CLOEXEC | O_NONBLOCK | 0o40000):
            raise KernelError(Errno.EINVAL, f"pipe2 flags {r.flags:#x}")
        proc.fds.check_free(2)
        pipe = Pipe(readers=1, writers=1)
        status = r.flags & O_NONBLOCK
        cloexec = bool(r.flags & O_CLOEXEC)
        read_fd = proc.fds.install(OpenFile("pipe", files.O_RDONLY | status, pipe=pipe), cloexec)
        write_fd = proc.fds.install(OpenFile("pipe", files.O_WRONLY | status, pipe=pipe), cloexec)
        self.api.copy_out(request.grants[0], 0, struct.pack("<ii", read_fd, write_fd))
        return 0

    # -- socket pairs ----------------------------------------------------------------
    @staticmethod
    def _connection(socktype: int) -> tuple[Pipe, Pipe]:
        """The two pipes of a connection; a message socket's keep message ends."""
        def pipe() -> Pipe:
            return Pipe(readers=1, writers=1, bounds=deque() if socktype != SOCK_STREAM else None)
        return pipe(), pipe()

    def socketpair(self, request: Request, r: vfs.Socketpair) -> int:
        """A connected AF_UNIX pair (the client checked domain, type and protocol)."""
        proc = self.proc(request)
        proc.fds.check_free(2)
        there, back = self._connection(r.socktype)
        status, cloexec = files.O_RDWR | r.flags & O_NONBLOCK, bool(r.flags & O_CLOEXEC)
        cred = (request.sender, *self._owner())  # each end's peer is its creator
        first = proc.fds.install(OpenFile("socket", status, pipe=back, tx=there,
                                          socktype=r.socktype, cred=cred), cloexec)
        second = proc.fds.install(OpenFile("socket", status, pipe=there, tx=back,
                                           socktype=r.socktype, cred=cred), cloexec)
        self.api.copy_out(request.grants[0], 0, struct.pack("<ii", first, second))
        return 0

    # -- AF_UNIX sockets with names ----------------------------------------------------
    def socket(self, request: Request, r: vfs.Socket) -> int:
        """An unconnected AF_UNIX stream or seqpacket socket (the client checked domain
        and type)."""
        file = OpenFile("socket", files.O_RDWR | r.flags & O_NONBLOCK, socktype=r.socktype)
        return self.proc(request).fds.install(file, bool(r.flags & O_CLOEXEC))

    def _address(self, addr: bytes) -> tuple[bytes, bytes]:
        """(name, kind) of a struct sockaddr_un: b"path" or b"abstract" (b"" to autobind)."""
        if len(addr) < 2 or struct.unpack_from("<H", addr)[0] != AF_UNIX:
            raise KernelError(Errno.EINVAL, "not an AF_UNIX address")
        path = addr[2:]
        if not path:
            return b"", b""
        if path[0] == 0:
            return path, b"abstract"
        path = path.split(b"\0")[0]
        if not path:
            raise KernelError(Errno.EINVAL, "empty socket path")
        return path, b"path"

    @staticmethod
    def _sockaddr(name: bytes, kind: bytes) -> bytes:
        family = struct.pack("<H", AF_UNIX)
        return family + name + (b"\0" if kind == b"path" else b"")

    def bind(self, request: Request, r: vfs.Bind) -> int:
        proc = self.proc(request)
        file = self._socket(request, r.fd)
        name, kind = self._address(r.addr)
        if file.name and kind == b"path":  # bound already: the name taken, else EINVAL
            walk, last = self._parent(proc, AT_FDCWD, name)
            try:
                walk[-1].fs.lookup(walk[-1].node, last)
            except KernelError:
                raise KernelError(Errno.EINVAL, "the socket is bound") from None
            raise KernelError(Errno.EADDRINUSE, name.decode(errors="replace"))
        if kind == b"path":
            walk, last = self._parent(proc, AT_FDCWD, name)
            mode = stat.S_IFSOCK | (0o777 & ~proc.umask)
            try:
                node = walk[-1].fs.mknod(walk[-1].node, last, mode, 0, *self._owner())
            except KernelError as err:
                raise KernelError(Errno.EADDRINUSE if err.errno == Errno.EEXIST
                                  else err.errno, name.decode(errors="replace")) from None
            a = walk[-1].fs.getattr(node)
            key: Any = ("node", a.dev, a.ino)
        else:
            if file.name:
                raise KernelError(Errno.EINVAL, "the socket is bound")
            if not name:  # autobind: an abstract name of five hex digits
                self.state.autobinds += 1
                name, kind = b"\0%05x" % self.state.autobinds, b"abstract"
            key = ("abstract", name)
            if key in self.state.unix_names:
                raise KernelError(Errno.EADDRINUSE, "abstract name in use")
        if file.name:
            raise KernelError(Errno.EINVAL, "the socket is bound")
        file.name = self._sockaddr(name, kind)
        self.state.unix_names[key] = file
        return 0

    def listen(self, request: Request, r: vfs.Listen) -> int:
        file = self._socket(request, r.fd)
        if not file.name or file.pipe is not None:
            raise KernelError(Errno.EINVAL, "listen needs a bound, unconnected socket")
        limit = min(max(r.backlog, 0), SOMAXCONN) + 1
        if file.listener is None:
            file.listener = Listener(limit, request.sender)
        file.listener.limit = limit
        return 0

    def connect(self, request: Request, r: vfs.Connect) -> int:
        proc = self.proc(request)
        file = self._socket(request, r.fd)
        name, kind = self._address(r.addr)
        if kind == b"path":
            step = self._lookup(proc, AT_FDCWD, name)[-1]
            a = step.fs.getattr(step.node)
            if not stat.S_ISSOCK(a.mode):
                raise KernelError(Errno.ECONNREFUSED, "not a socket")
            server = self.state.unix_names.get(("node", a.dev, a.ino))
        elif kind == b"abstract":
            server = self.state.unix_names.get(("abstract", name))
        else:
            raise KernelError(Errno.EINVAL, "no address")
        if file.listener is not None:
            raise KernelError(Errno.EINVAL, "a listening socket does not connect")
        if file.pipe is not None:
            raise KernelError(Errno.EISCONN, "already connected")
        listener = server.listener if server is not None else None
        if listener is None:
            raise KernelError(Errno.ECONNREFUSED, "nobody listens there")
        if len(listener.queue) >= listener.limit:
            raise KernelError(Errno.EAGAIN, "the listener's backlog is full")
        assert server is not None
        if server.socktype != file.socktype:
            raise KernelError(EPROTOTYPE, "the listener is of another socket type")
        there, back = self._connection(file.socktype)
        uid, gid = self._owner()
        accepted = OpenFile("socket", files.O_RDWR, pipe=there, tx=back, name=server.name,
                            peer=file.name or struct.pack("<H", AF_UNIX),
                            cred=(request.sender, uid, gid), socktype=file.socktype)
        file.pipe, file.tx, file.peer = back, there, server.name
        file.cred = (listener.owner, uid, gid)
        listener.queue.append(accepted)
        self._serve_accepts(listener)
        self.wake_pollers()
        return 0

    def accept4(self, request: Request, r: vfs.Accept4) -> Any:
        file = self._socket(request, r.fd)
        if r.flags & ~(O_CLOEXEC | O_NONBLOCK):
            raise KernelError(Errno.EINVAL, f"accept4 flags {r.flags:#x}")
        listener = file.listener
        if listener is None:
            raise KernelError(Errno.EINVAL, "not listening")
        if not listener.queue:
            if file.flags & O_NONBLOCK:
                raise KernelError(Errno.EAGAIN, "no connection waits")
            listener.accepting.append((request, r.flags))
            return None  # answered when a client connects
        return self._accept(self.proc(request), listener.queue.popleft(), r.flags)

    @staticmethod
    def _accept(proc: Proc, conn: OpenFile, flags: int) -> BytesOut:
        conn.flags |= flags & O_NONBLOCK
        return BytesOut(proc.fds.install(conn, bool(flags & O_CLOEXEC)), conn.peer)

    def _serve_accepts(self, listener: Listener) -> None:
        while listener.queue and listener.accepting:
            request, flags = listener.accepting.popleft()
            proc = self.state.procs.get(request.sender)
            if proc is None or not self.api.waiting(request):
                continue
            self.api.reply(request, self._accept(proc, listener.queue.popleft(), flags))

    def getsockname(self, request: Request, r: vfs.Getsockname) -> Any:
        file = self._socket(request, r.fd)
        return BytesOut(0, file.name or struct.pack("<H", AF_UNIX))

    def getpeername(self, request: Request, r: vfs.Getpeername) -> Any:
        file = self._socket(request, r.fd)
        if file.pipe is None:
            raise KernelError(Errno.ENOTCONN, "not connected")
        return BytesOut(0, file.peer)

    def getsockopt(self, request: Request, r: vfs.Getsockopt) -> Any:
        """SOL_SOCKET options of an AF_UNIX stream socket: their value, as bytes."""
        file = self._socket(request, r.fd)
        if r.level != SOL_SOCKET:
            raise KernelError(Errno.EOPNOTSUPP, f"level {r.level}")
        values = {SO_TYPE: file.socktype, SO_ERROR: 0, SO_DOMAIN: AF_UNIX, SO_PROTOCOL: 0,
                  SO_ACCEPTCONN: int(file.listener is not None), SO_SNDBUF: SOCKET_BUFFER,
                  SO_RCVBUF: SOCKET_BUFFER, SO_REUSEADDR: 0, SO_KEEPALIVE: 0, SO_PASSCRED: 0}
        if r.option == SO_PEERCRED:
            return BytesOut(0, struct.pack("<iII", *file.cred) if file.pipe is not None
                            else struct.pack("<iii", 0, -1, -1))
        if r.option not in values:
            raise KernelError(Errno.ENOPROTOOPT, f"socket option {r.option}")
        return BytesOut(0, struct.pack("<i", values[r.option]))

    def setsockopt(self, request: Request, r: vfs.Setsockopt) -> int:
        """Accepted and without effect: the buffer sizes, address reuse, keepalive."""
        self._socket(request, r.fd)
        if r.level != SOL_SOCKET:
            raise KernelError(Errno.ENOPROTOOPT, f"level {r.level}")
        if r.option not in (SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF, SO_PASSCRED,
                          SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO):
            raise KernelError(Errno.ENOPROTOOPT, f"socket option {r.option}")
        return 0

    def sendmsg(self, request: Request, r: vfs.Sendmsg) -> int | None:
        """sendmsg: the bytes, and open files (SCM_RIGHTS) that travel with them."""
        proc = self.proc(request)
        file = self._socket(request, r.fd)
        if r.flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL):
            raise KernelError(Errno.EOPNOTSUPP, f"send flags {r.flags:#x}")
        passing = [proc.fds.get(n) for n in r.fds]  # EBADF before anything is sent
        self._connected(file, False)
        data = b"".join(self.api.copy_in(g, 0, n) for g, n in zip(request.grants, r.lengths))
        pipe = file.tx
        assert pipe is not None
        if not (passing and data):
            return self._pipe_write(request, file, data, 0, bool(r.flags & MSG_DONTWAIT))
        # the files go in first: a reader waiting now takes them with the bytes
        start = pipe.consumed + len(pipe.buffer)
        chunk = [start, start + len(data), passing]
        pipe.rights.append(chunk)
        for passed in passing:
            passed.refs += 1  # held by the message until it is received
        try:
            result = self._pipe_write(request, file, data, 0, bool(r.flags & MSG_DONTWAIT))
        except KernelError:
            if chunk in pipe.rights:
                pipe.rights.remove(chunk)
                for passed in passing:
                    self._unref(passed)
            raise
        if result is not None:
            chunk[1] = start + result  # a non-blocking write may have sent less
        return result

    def recvmsg(self, request: Request, r: vfs.Recvmsg) -> Any:
        """recvmsg: bytes into the buffers; open files that came with them into the control
        buffer (the last grant, ``room`` bytes)."""
        file = self._socket(request, r.fd)
        if r.flags & ~(MSG_DONTWAIT | MSG_CMSG_CLOEXEC):
            raise KernelError(Errno.EOPNOTSUPP, f"recv flags {r.flags:#x}")
        self._connected(file, True)
        grants = request.grants[:len(r.lengths)]
        control = (request.grants[len(r.lengths)] if r.room else 0, r.room, r.flags)
        return self._pipe_read(request, file, sum(r.lengths), grants, r.lengths,
                               bool(r.flags & MSG_DONTWAIT), control)

    @staticmethod
    def _connected(file: OpenFile, reading: bool) -> None:
        """A socket read or written must be connected (reading a listening or new one: EINVAL)."""
        if file.pipe is None:
            raise KernelError(Errno.EINVAL if reading else Errno.ENOTCONN, "not connected")

    def _socket_closed(self, file: OpenFile) -> None:
        """The last fd of a socket went: its connection ends; a listener's queue is refused;
        open files in flight to it are dropped."""
        if file.pipe is not None:
            self._shutdown(file, SHUT_BOTH)
            while file.pipe.rights:
                for passed in file.pipe.rights.popleft()[2]:
                    self._unref(passed)
        if file.listener is not None:
            for conn in file.listener.queue:
                self._shutdown(conn, SHUT_BOTH)
            file.listener.queue.clear()
        for key in [k for k, f in self.state.unix_names.items() if f is file]:
            del self.state.unix_names[key]

    def _socket(self, request: Request, fd: int) -> OpenFile:
        file = self.proc(request).fds.get(fd)
        if file.kind != "socket":
            raise KernelError(Errno.ENOTSOCK, f"fd {fd} is not a socket")
        return file

    def _shutdown(self, file: OpenFile, how: int) -> None:
        assert file.pipe is not None and file.tx is not None
        new = how & ~file.shut
        file.shut |= new
        if new & SHUT_READ:
            file.pipe.readers -= 1
        if new & SHUT_WRITE:
            file.tx.writers -= 1
        self._pipe_changed(file.pipe)
        self._pipe_changed(file.tx)

    def shutdown(self, request: Request, r: vfs.Shutdown) -> int:
        file = self._socket(request, r.fd)
        if r.how not in (0, 1, 2):
            raise KernelError(Errno.EINVAL, f"shutdown how={r.how}")
        if file.pipe is None:  # Linux notes it and succeeds (a later connect is refused)
            file.shut |= r.how + 1
            return 0
        self._shutdown(file, r.how + 1)  # SHUT_RD, SHUT_WR, SHUT_RDWR -> bits 1, 2, 3
        return 0

    def sendto(self, request: Request, r: vfs.Sendto) -> int | None:
        file = self._socket(request, r.fd)
        if r.named:
            raise KernelError(Errno.EISCONN, "the socket is connected")
        if r.flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL):
            raise KernelError(Errno.EOPNOTSUPP, f"send flags {r.flags:#x}")
        self._connected(file, False)
        data = self.api.copy_in(request.grants[0], 0, r.count)
        return self._pipe_write(request, file, data, 0, bool(r.flags & MSG_DONTWAIT))

    def recvfrom(self, request: Request, r: vfs.Recvfrom) -> int | None:
        file = self._socket(request, r.fd)
        if r.flags & ~MSG_DONTWAIT:
            raise KernelError(Errno.EOPNOTSUPP, f"recv flags {r.flags:#x}")
        self._connected(file, True)
        return self._pipe_read(request, file, r.count, request.grants[0], None,
                               bool(r.flags & MSG_DONTWAIT))

    # -- signalfd (signalfd.py) and eventfd (eventfd.py) --------------------------------
    def signalfd4(self, request: Request, r: vfs.Signalfd4) -> int:
        return signalfd.signalfd4(self, request, r)

    def signals_pending(self, request: Request, r: vfs.SignalsPending) -> None:
        signalfd.pending(self, r)

    def eventfd2(self, request: Request, r: vfs.Eventfd2) -> int:
        return self.proc(request).fds.install(*eventfd.create(r))

    # -- reading and writing ---------------------------------------------------------
    def read(self, request: Request, r: vfs.Read) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        self._check_foreground(file, r.pgid, r.sid)
        return self._read(request, file, r.count, request.grants[0], None)

    def _check_foreground(self, file: OpenFile, pgid: int, sid: int) -> None:
        """A job of the console's session reads the terminal only in the foreground."""
        if file.kind == "console" and self.state.tty is not None:
            self._check_control(pgid, sid)

    def pread(self, request: Request, r: vfs.Pread) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        if file.kind != "node" or r.offset < 0:
            raise KernelError(Errno.ESPIPE if file.kind != "node" else Errno.EINVAL)
        return self._read(request, file, r.count, request.grants[0], r.offset)

    def readv(self, request: Request, r: vfs.Readv) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        self._check_foreground(file, r.pgid, r.sid)
        if file.kind == "signalfd":
            raise KernelError(Errno.EINVAL, "read a signalfd with read(2)")
        if file.kind == "eventfd":  # the first buffer takes the 8 bytes
            return self._read(request, file, r.lengths[0] if r.lengths else 0,
                              request.grants[0] if r.lengths else None, None)
        if file.kind in ("pipe", "socket") or file.kind == "console" and self.state.tty:
            # one read fills the buffers in order
            return self._read(request, file, sum(r.lengths), request.grants, None, r.lengths)
        total = 0
        for grant, length in zip(request.grants, r.lengths):
            got = self._read(request, file, length, grant, None)
            assert got is not None
            total += got
            if got < length:
                break
        return total

    def _read(self, request: Request, file: OpenFile, count: int, grant: Any,
              offset: int | None, lengths: list[int] | None = None) -> int | None:
        if not file.readable():
            raise KernelError(Errno.EBADF, "not open for reading")
        if file.kind == "console" and self.state.tty is not None:
            return self._tty_read(request, file, count, grant, lengths)
        ops = KINDS.get(file.kind)
        if ops is not None:
            return ops.read(self, request, file, count, grant)
        if file.kind == "console":
            data = files.console_read(file, count)
        elif file.kind in ("pipe", "socket"):
            if file.kind == "socket":
                self._connected(file, True)
            return self._pipe_read(request, file, count, grant, lengths)
        else:
            if stat.S_ISDIR(file.fs.getattr(file.node).mode):
                raise KernelError(Errno.EISDIR, "read of a directory")
            at = file.offset if offset is None else offset
            data = self._file_read(file.fs, file.node, at, count)
            if offset is None:
                file.offset += len(data)
        self._scatter(grant, data, lengths)
        return len(data)

    # -- the console as a terminal ------------------------------------------------------
    def _tty_read(self, request: Request, file: OpenFile, count: int, grant: Any,
                  lengths: list[int] | None) -> int | None:
        tty = self.state.tty
        assert tty is not None
        data = tty.take(count) if not self.state.tty_readers else None  # first come first
        if data is None:
            if file.flags & O_NONBLOCK:
                raise KernelError(Errno.EAGAIN, "nothing typed yet")
            self.state.tty_readers.append((request, count, grant, lengths))
            return None  # answered when a line (or enough bytes) comes
        self._scatter(grant, data, lengths)
        return len(data)

    def console_input(self, request: Request, r: vfs.ConsoleInput) -> None:
        self._tty_feed(r.data)

    def _tty_feed(self, data: bytes) -> None:
        """Keys from the host terminal: the line discipline takes them; waiting reads go on."""
        tty = self.state.tty
        if tty is None:
            return
        echo, signals = tty.receive(data)
        if echo:
            files.console_echo(echo)
        self.state.tty_signals += signals
        readers, self.state.tty_readers = self.state.tty_readers, []
        for i, (reader, count, grant, lengths) in enumerate(readers):
            if not self.api.waiting(reader):
                continue  # interrupted by a signal meanwhile
            got = tty.take(count)
            if got is None:
                self.state.tty_readers = [r for r in readers[i:] if self.api.waiting(r[0])]
                break
            try:
                self._scatter(grant, got, lengths)
                self.api.reply(reader, len(got))
            except KernelError as err:
                self.api.reply(reader, -err.errno)
        self.wake_pollers()

    def _scatter(self, grant: Any, data: bytes, lengths: list[int] | None) -> None:
        if lengths is None:
            self.api.copy_out(grant, 0, data)
            return
        done = 0
        for token, length in zip(grant, lengths):
            piece = data[done:done + length]
            if piece:
                self.api.copy_out(token, 0, piece)
            done += len(piece)

    def write(self, request: Request, r: vfs.Write) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        self._check_output(file, r.pgid, r.sid)
        return self._write(request, file, self.api.copy_in(request.grants[0], 0, r.count), None)

    def _check_output(self, file: OpenFile, pgid: int, sid: int) -> None:
        """With TOSTOP, only the foreground job of the console's session writes to the
        terminal (``pgid`` 0: SIGTTOU would not stop the writer, so it may)."""
        tty = self.state.tty
        if tty is not None and file.kind == "console" and tty.termios.lflag & TOSTOP:
            self._check_control(pgid, sid)

    def _check_control(self, pgid: int, sid: int) -> None:
        """Only the foreground job of the console's session uses the terminal (``pgid`` 0:
        a caller the rule does not stop)."""
        if pgid and sid == CONSOLE_SESSION and pgid != self.state.foreground:
            raise KernelError(BACKGROUND, "a background job used the terminal")

    def pwrite(self, request: Request, r: vfs.Pwrite) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        if file.kind != "node" or r.offset < 0:
            raise KernelError(Errno.ESPIPE if file.kind != "node" else Errno.EINVAL)
        return self._write(request, file, self.api.copy_in(request.grants[0], 0, r.count), r.offset)

    def writev(self, request: Request, r: vfs.Writev) -> int | None:
        file = self.proc(request).fds.get(r.fd)
        self._check_output(file, r.pgid, r.sid)
        data = b"".join(self.api.copy_in(g, 0, n) for g, n in zip(request.grants, r.lengths))
        return self._write(request, file, data, None)

    def _write(self, request: Request, file: OpenFile, data: bytes,
               offset: int | None) -> int | None:
        if not file.writable():
            raise KernelError(Errno.EBADF, "not open for writing")
        ops = KINDS.get(file.kind)
        if ops is not None:
            return ops.write(self, request, file, data)
        if file.kind == "console":
            return files.console_write(file, data) if data else 0
        if file.kind in ("pipe", "socket"):
            if file.kind == "socket":
                self._connected(file, False)
            return self._pipe_write(request, file, data, 0)
        fs, node = file.fs, file.node
        if offset is None and file.flags & O_APPEND:
            file.offset = fs.getattr(node).size
        at = file.offset if offset is None else offset
        limit = self.state.fsize_limit(request.sender)  # RLIMIT_FSIZE, of regular files
        if data and at + len(data) > limit and stat.S_ISREG(fs.getattr(node).mode):
            if at >= limit:  # (the personality raises SIGXFSZ)
                raise KernelError(Errno.EFBIG, "at RLIMIT_FSIZE")
            data = data[:limit - at]  # a short write, up to the limit
        written = self._file_write(fs, node, at, data)
        if offset is None:
            file.offset += written
        return written

    # -- pipes -----------------------------------------------------------------------
    def _pipe_read(self, request: Request, file: OpenFile, count: int, grant: Any,
                   lengths: list[int] | None, dontwait: bool = False,
                   control: Any = None) -> Any:
        pipe = file.pipe
        assert pipe is not None
        if count == 0:
            return 0
        if not pipe.readable():
            if (pipe.writers == 0 or pipe.readers == 0) and file.socktype != SOCK_DGRAM:
                return 0  # end of file (or a socket shut for reading); datagrams have none
            if file.flags & O_NONBLOCK or dontwait:
                raise KernelError(Errno.EAGAIN, "pipe empty")
            pipe.blocked_readers.append((request, count, grant, lengths, control))
            return None  # answered when a writer comes
        data, passed = self._pipe_take(pipe, count)
        self._pipe_changed(pipe)
        return self._read_answer(request, grant, data, lengths, passed, control)

    def _pipe_take(self, pipe: Pipe, count: int) -> tuple[bytes, list[OpenFile]]:
        """Up to ``count`` bytes from the pipe, stopping after the bytes that carry open
        files (SCM_RIGHTS), and those files."""
        start = pipe.consumed
        end = start + min(count, len(pipe.buffer))
        if pipe.bounds:  # a message: no more than one (files of the next are not this read's)
            end = min(end, pipe.bounds[0])
        passed: list[OpenFile] = []
        for chunk in pipe.rights:
            if chunk[0] < end and chunk[1] > start:
                end, passed = min(end, chunk[1]), chunk[2]
                pipe.rights.remove(chunk)
                break
        data = bytes(pipe.buffer[:end - start])
        if pipe.bounds:
            end = pipe.bounds.popleft()
        del pipe.buffer[:end - start]
        pipe.consumed = end
        return data, passed

    def _drop_unwritten_rights(self, pipe: Pipe) -> None:
        """Files queued for bytes that were never written go back."""
        written = pipe.consumed + len(pipe.buffer)
        for chunk in [c for c in pipe.rights if c[0] >= written]:
            pipe.rights.remove(chunk)
            for file in chunk[2]:
                self._unref(file)

    def _read_answer(self, request: Request, grant: Any, data: bytes,
                     lengths: list[int] | None, passed: list[OpenFile], control: Any) -> Any:
        """Copy what a pipe or socket read took; files that came with it go to recvmsg's
        control buffer (installed as new fds) or, for other reads, are dropped."""
        self._scatter(grant, data, lengths)
        if control is None:
            for file in passed:
                self._unref(file)
            return len(data)
        token, room, flags = control
        fit = max(0, (room - CMSG_HEADER) // 4) if passed else 0
        given, dropped = passed[:fit], passed[fit:]
        for file in dropped:
            self._unref(file)
        proc = self.state.procs.get(request.sender)
        if proc is None:  # the receiver is gone: nobody takes them
            for file in given:
                self._unref(file)
            given = []
        # the message's hold on each file becomes the new fd's
        fds = [proc.fds.install(file, bool(flags & MSG_CMSG_CLOEXEC)) for file in given
               if proc is not None]
        used = 0
        if fds:
            cmsg = struct.pack(f"<Qii{len(fds)}i", CMSG_HEADER + 4 * len(fds), SOL_SOCKET,
                               SCM_RIGHTS, *fds)
            self.api.copy_out(token, 0, cmsg)
            used = min(room, (len(cmsg) + 7) & ~7)
        msg_flags = flags & MSG_CMSG_CLOEXEC | (MSG_CTRUNC if dropped else 0)
        return Received(len(data), used, msg_flags)

    def _pipe_write(self, request: Request, file: OpenFile, data: bytes, done: int,
                    dontwait: bool = False) -> int | None:
        pipe = file.tx if file.kind == "socket" else file.pipe
        assert pipe is not None
        if pipe.readers == 0 or pipe.writers == 0:
            if file.socktype == SOCK_DGRAM and pipe.readers == 0:
                raise KernelError(Errno.ECONNREFUSED, "the peer is gone")
            raise KernelError(Errno.EPIPE, "no reader (or a socket shut for writing)")
        nonblock = bool(file.flags & O_NONBLOCK) or dontwait
        room = PIPE_CAPACITY - len(pipe.buffer)
        left = len(data) - done
        messages = pipe.bounds is not None
        if messages and len(data) > PIPE_CAPACITY:
            raise KernelError(Errno.EMSGSIZE, "a message larger than the socket's buffer")
        if room < left and (left <= PIPE_BUF or room == 0 or messages):  # atomic writes
            if nonblock:
                if done:
                    return done
                raise KernelError(Errno.EAGAIN, "pipe full")
            if done:
                request.on_crash = done
            pipe.blocked_writers.append((request, file, data, done))
            self._pipe_changed(pipe)
            return None
        take = min(room, left)
        pipe.buffer += data[done:done + take]
        done += take
        if messages:
            pipe.bounds.append(pipe.consumed + len(pipe.buffer))  # type: ignore[union-attr]
        self._pipe_changed(pipe)
        if done < len(data):
            if nonblock:
                return done
            request.on_crash = done  # written already: a crash must not make it write twice
            pipe.blocked_writers.append((request, file, data, done))
            return None
        return done

    def _pipe_changed(self, pipe: Pipe) -> None:
        """Data or an end changed: answer the blocked readers, writers and pollers that can
        go on."""
        while pipe.blocked_readers and (pipe.readable() or pipe.writers == 0
                                        or pipe.readers == 0):
            request, count, grant, lengths, control = pipe.blocked_readers.popleft()
            if not self.api.waiting(request):
                continue  # interrupted (EINTR): it must not take the data
            data, passed = self._pipe_take(pipe, count)
            try:
                self.answer(request, self._read_answer(request, grant, data, lengths, passed,
                                                       control))
            except KernelError as err:
                self.answer(request, -err.errno)
        while pipe.blocked_writers and (len(pipe.buffer) < PIPE_CAPACITY or pipe.readers == 0
                                        or pipe.writers == 0):
            request, file, data, done = pipe.blocked_writers.popleft()
            if not self.api.waiting(request):  # interrupted: its bytes, and files, never come
                self._drop_unwritten_rights(pipe)
                continue
            if pipe.readers == 0 or pipe.writers == 0:
                self.answer(request, done or -Errno.EPIPE)
                continue
            take = min(PIPE_CAPACITY - len(pipe.buffer), len(data) - done)
            if pipe.bounds is not None and take < len(data):  # a message goes whole
                pipe.blocked_writers.appendleft((request, file, data, done))
                break
            pipe.buffer += data[done:done + take]
            done += take
            if pipe.bounds is not None:
                pipe.bounds.append(pipe.consumed + len(pipe.buffer))
            if done < len(data):
                request.on_crash = done
                pipe.blocked_writers.appendleft((request, file, data, done))
                break
            self.answer(request, done)
        if pipe.blocked_readers and pipe.readable():
            self._pipe_changed(pipe)
        self.wake_pollers()

    # -- poll ------------------------------------------------------------------------
    def revents(self, proc: Proc, fd: int, events: int) -> int:
        entry = proc.fds.entries.get(fd)
        if entry is None:
            return POLLNVAL
        file = entry.file
        ops = KINDS.get(file.kind)
        if ops is not None:
            return ops.poll(self, proc, fd, file, events)
        if file.kind == "pipe":
            pipe = file.pipe
            assert pipe is not None
            if file.readable():
                return ((POLLIN if pipe.buffer else 0) | (POLLHUP if not pipe.writers else 0)) \
                    & (events | POLLHUP)
            if not pipe.readers:
                return POLLERR | (POLLOUT & events)
            return POLLOUT & events if len(pipe.buffer) < PIPE_CAPACITY else 0
        if file.kind == "socket" and file.listener is not None:
            return POLLIN & events if file.listener.queue else 0
        if file.kind == "socket" and file.pipe is None:  # unconnected: Linux says so
            return (POLLOUT & events) | POLLHUP
        if file.kind == "socket":  # as Linux's unix_poll: shut directions, data, room
            rx, tx = file.pipe, file.tx
            assert rx is not None and tx is not None
            rcv_shut = not rx.readers or not rx.writers
            snd_shut = not tx.readers or not tx.writers
            mask = (POLLIN | POLLRDHUP if rcv_shut else 0) | (POLLIN if rx.readable() else 0)
            mask |= (POLLHUP if rcv_shut and snd_shut else 0)
            mask |= POLLOUT if len(tx.buffer) < PIPE_CAPACITY else 0
            return mask & (events | POLLHUP)
        if file.kind == "console" and file.readable():
            if self.state.tty is not None:
                return ((POLLIN if self.state.tty.readable() else 0) | POLLOUT) & events
            ready = select.select([file.host_fd], [], [], 0)[0]
            return POLLIN & events if ready else 0
        return (POLLIN | POLLOUT) & events

    def poll(self, request: Request, r: vfs.Poll) -> int | None:
        proc = self.proc(request)
        ready = self._poll_once(request, proc, r.fds)
        if ready or r.timeout_ms == 0:
            return ready
        consoles = [f for f, _ in r.fds if f >= 0 and proc.fds.entries.get(f)
                    and proc.fds.entries[f].file.kind == "console"]
        if consoles and len(consoles) == len([f for f, _ in r.fds if f >= 0]) \
                and self.state.tty is None:
            # Only host devices: wait on the host, which is the only thing that can wake us.
            timeout = None if r.timeout_ms < 0 else r.timeout_ms / 1000
            select.select([proc.fds.entries[f].file.host_fd for f in consoles], [], [], timeout)
            return self._poll_once(request, proc, r.fds)
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
        waiting, self.state.pollers = self.state.pollers, []
        for request, fds, proc, watching in waiting:
            if not self.api.waiting(request):
                continue
            try:
                ready = self._poll_once(request, proc, fds) if watching is None \
                    else epoll.once(self, request, proc, *watching)
            except KernelError as err:
                self.answer(request, -err.errno)
                continue
            if ready:  # a count, or (count, revents) for select
                self.answer(request, ready)
            else:
                self.state.pollers.append((request, fds, proc, watching))

    # -- timerfd (timerfd.py) ----------------------------------------------------------
    def timerfd_create(self, request: Request, r: vfs.TimerfdCreate) -> int:
        return self.proc(request).fds.install(*timerfd.create(self.state, r))

    def timerfd_settime(self, request: Request, r: vfs.TimerfdSettime) -> int:
        return timerfd.settime(self, request, r)

    def timerfd_gettime(self, request: Request, r: vfs.TimerfdGettime) -> int:
        return timerfd.gettime(self, request, r)

    def timer_fired(self, request: Request, r: vfs.TimerFired) -> None:
        timerfd.fired(self, r)

    # -- epoll (epoll.py) --------------------------------------------------------------
    def epoll_create1(self, request: Request, r: vfs.EpollCreate1) -> int:
        return self.proc(request).fds.install(*epoll.create(r))

    def epoll_ctl(self, request: Request, r: vfs.EpollCtl) -> int:
        return epoll.ctl(self, request, r)

    def epoll_wait(self, request: Request, r: vfs.EpollWait) -> int | None:
        return epoll.wait(self, request, r)

    # -- seeking, control -------------------------------------------------------------
    def lseek(self, request: Request, r: vfs.Lseek) -> int:
        file = self.proc(request).fds.get(r.fd)
        ops = KINDS.get(file.kind)
        if ops is not None:
            return ops.seek(file, r.offset, r.whence)
        if file.kind != "node":
            raise KernelError(Errno.ESPIPE, "not seekable")
        base = {SEEK_SET: 0, SEEK_CUR: file.offset}.get(r.whence)
        if r.whence == SEEK_END:
            base = file.fs.getattr(file.node).size
        if base is None:
            raise KernelError(Errno.EINVAL, f"whence {r.whence}")
        if base + r.offset < 0:
            raise KernelError(Errno.EINVAL, "negative offset")
        file.offset = base + r.offset
        file.listing = None if file.offset == 0 else file.listing
        return file.offset

    def ioctl(self, request: Request, r: vfs.Ioctl) -> int:
        proc = self.proc(request)
        file = proc.fds.get(r.fd)
        if file.kind == "console" and self.state.tty is not None \
                and r.cmd in (TCSETS, TCSETSW, TCSETSF, TCFLSH, TIOCSPGRP):
            self._check_control(r.pgid, r.sid)  # changing the terminal: foreground only
        if r.cmd == FIONBIO:  # any file: set or clear O_NONBLOCK
            (on,) = struct.unpack("<i", self.api.copy_in(request.grants[0], 0, 4))
            file.flags = file.flags | O_NONBLOCK if on else file.flags & ~O_NONBLOCK
            return 0
        if r.cmd in (FIONCLEX, FIOCLEX):
            proc.fds.entries[r.fd].cloexec = r.cmd == FIOCLEX
            return 0
        if r.cmd == FIONREAD:
            if file.kind in ("pipe", "socket"):
                count = len(file.pipe.buffer) if file.pipe is not None else 0
            elif file.kind == "node":
                count = max(0, file.fs.getattr(file.node).size - file.offset)
            elif file.kind == "console" and self.state.tty is not None:
                count = self.state.tty.available()
            else:
                count = 0
            self.api.copy_out(request.grants[0], 0, struct.pack("<i", count))
            return 0
        if file.kind != "console" or not os.isatty(file.host_fd):
            raise KernelError(Errno.ENOTTY, "not a terminal")
        return self._terminal(request, file, r.cmd, r.arg)

    def _terminal(self, request: Request, file: OpenFile, cmd: int, arg: int) -> int:
        """Terminal control of the console: by the line discipline when there is one
        (the host terminal keeps doing output processing, with the guest's c_oflag);
        else the host terminal's own, passed through."""
        import termios
        tty = self.state.tty
        if tty is not None and cmd == TCGETS:
            self.api.copy_out(request.grants[0], 0, tty.termios.pack())
        elif tty is not None and cmd in (TCSETS, TCSETSW, TCSETSF):
            new = Termios.unpack(self.api.copy_in(request.grants[0], 0, TERMIOS.size))
            tty.set(new, flush=cmd == TCSETSF)
            files.host_io(files.set_host_oflag, file.host_fd, new.oflag)
            self._tty_wake()
        elif tty is not None and cmd == TCFLSH:
            if arg not in (TCIFLUSH, 1, TCIOFLUSH):
                raise KernelError(Errno.EINVAL, f"TCFLSH {arg}")
            if arg != 1:
                tty.flush()
        elif cmd == TCGETS:
            iflag, oflag, cflag, lflag, _, _, cc = termios.tcgetattr(file.host_fd)
            chars = bytes(c if isinstance(c, int) else c[0] for c in cc[:19])
            self.api.copy_out(request.grants[0], 0, TERMIOS.pack(iflag, oflag, cflag, lflag, 0,
                                                                 chars))
        elif cmd in (TCSETS, TCSETSW, TCSETSF):
            raw = self.api.copy_in(request.grants[0], 0, TERMIOS.size)
            iflag, oflag, cflag, lflag, _, chars = TERMIOS.unpack(raw)
            old = termios.tcgetattr(file.host_fd)
            cc = [bytes([c]) if i not in (termios.VMIN, termios.VTIME) else c
                  for i, c in enumerate(chars)] + old[6][19:]
            when = {TCSETS: termios.TCSANOW, TCSETSW: termios.TCSADRAIN,
                    TCSETSF: termios.TCSAFLUSH}[cmd]
            files.host_io(termios.tcsetattr, file.host_fd, when,
                          [iflag, oflag, cflag, lflag, old[4], old[5], cc])
        elif cmd == TIOCGWINSZ:
            size = os.get_terminal_size(file.host_fd)
            self.api.copy_out(request.grants[0], 0, struct.pack("<HHHH", size.lines,
                                                                 size.columns, 0, 0))
        elif cmd in (TIOCGPGRP, TIOCGSID):
            value = self.state.foreground if cmd == TIOCGPGRP else CONSOLE_SESSION
            self.api.copy_out(request.grants[0], 0, struct.pack("<i", value))
        elif cmd == TIOCSPGRP:
            pgid = struct.unpack("<i", self.api.copy_in(request.grants[0], 0, 4))[0]
            if pgid <= 0:
                raise KernelError(Errno.EINVAL, f"process group {pgid}")
            self.state.foreground = pgid
        else:
            raise KernelError(Errno.ENOTTY, f"ioctl {cmd:#x} is not supported")
        return 0

    def _tty_wake(self) -> None:
        """New settings may make waiting reads answerable (leaving canonical mode)."""
        self._tty_feed(b"")

    def fsync(self, request: Request, r: vfs.Fsync) -> int:
        self.proc(request).fds.get(r.fd)
        return 0

    def sync(self, request: Request, r: vfs.Sync) -> int:
        return 0

    # -- metadata ---------------------------------------------------------------------
    def newfstatat(self, request: Request, r: vfs.Newfstatat) -> int:
        proc = self.proc(request)
        try:
            walk = self._lookup(proc, r.dirfd, r.path, r.flags)
            attr = walk[-1].fs.getattr(walk[-1].node)
        except _NotANode as special:
            attr = special.attr()
        self.api.copy_out(request.grants[0], 0, pack_stat(attr))
        return 0

    def statx(self, request: Request, r: vfs.Statx) -> int:
        proc = self.proc(request)
        try:
            walk = self._lookup(proc, r.dirfd, r.path, r.flags)
            a = walk[-1].fs.getattr(walk[-1].node)
        except _NotANode as special:
            a = special.attr()
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
        walk = self._lookup(self.proc(request), r.dirfd, r.path, r.flags)
        step = walk[-1]
        attr = step.fs.getattr(step.node)
        if r.mode & W_OK and step.fs.readonly:
            raise KernelError(Errno.EROFS, "read-only file system")
        if r.mode & X_OK and not attr.mode & 0o111 and not stat.S_ISDIR(attr.mode):
            raise KernelError(Errno.EACCES, "not executable")
        if os.getuid() != 0:
            shift = 6 if attr.uid == os.getuid() else 3 if attr.gid == os.getgid() else 0
            if (attr.mode >> shift) & r.mode != r.mode:
                raise KernelError(Errno.EACCES, "permission denied")
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
        return len(out)

    def readlinkat(self, request: Request, r: vfs.Readlinkat) -> int:
        if r.size <= 0:
            raise KernelError(Errno.EINVAL, "buffer size")
        walk = self._lookup(self.proc(request), r.dirfd, r.path,
                            AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)
        target = walk[-1].fs.readlink(walk[-1].node)[:r.size]
        self.api.copy_out(request.grants[0], 0, target)
        return len(target)

    def getcwd(self, request: Request, r: vfs.Getcwd) -> int:
        path = path_of(self.proc(request).cwd) + b"\0"
        if len(path) > r.size:
            raise KernelError(Errno.ERANGE, "buffer too small")
        self.api.copy_out(request.grants[0], 0, path)
        return len(path)

    def chdir(self, request: Request, r: vfs.Chdir) -> int:
        proc = self.proc(request)
        walk = self.state.namespace.resolve(proc.cwd, r.path)[0]
        if not is_dir(walk[-1]):
            raise KernelError(Errno.ENOTDIR, r.path.decode(errors="replace"))
        proc.cwd = walk
        return 0

    def fchdir(self, request: Request, r: vfs.Fchdir) -> int:
        proc = self.proc(request)
        proc.cwd = self._base(proc, r.fd)
        return 0

    def umask(self, request: Request, r: vfs.Umask) -> int:
        proc = self.proc(request)
        old, proc.umask = proc.umask, r.mask & 0o777
        return old

    def _setattr(self, walk: Walk, **changes: Any) -> int:
        step = walk[-1]
        step.fs.setattr(step.node, **changes)
        return 0

    def fchmodat(self, request: Request, r: vfs.Fchmodat) -> int:
        walk = self._lookup(self.proc(request), r.dirfd, r.path, r.flags)
        kind = stat.S_IFMT(walk[-1].fs.getattr(walk[-1].node).mode)
        return self._setattr(walk, mode=kind | (r.mode & 0o7777))

    def fchmod(self, request: Request, r: vfs.Fchmod) -> int:
        return self.fchmodat(request, vfs.Fchmodat(r.fd, b"", r.mode, AT_EMPTY_PATH))

    def fchownat(self, request: Request, r: vfs.Fchownat) -> int:
        walk = self._lookup(self.proc(request), r.dirfd, r.path, r.flags)
        return self._setattr(walk, uid=None if r.uid == -1 else r.uid,
                             gid=None if r.gid == -1 else r.gid)

    def utimensat(self, request: Request, r: vfs.Utimensat) -> int:
        """Implements Linux utimensat(2): times in ns (None: UTIME_OMIT), or None for now."""
        proc = self.proc(request)
        walk = self._lookup(proc, r.dirfd, r.path or b"",
                            r.flags | (AT_EMPTY_PATH if r.path is None else 0))
        now = time.time_ns()
        atime, mtime = r.times if r.times is not None else (now, now)
        if atime is None and mtime is None:
            return 0  # both UTIME_OMIT: nothing changes, not even the ctime
        return self._setattr(walk, atime_ns=atime, mtime_ns=mtime)

    def truncate(self, request: Request, r: vfs.Truncate) -> int:
        if r.length < 0:
            raise KernelError(Errno.EINVAL, "negative length")
        walk = self._lookup(self.proc(request), AT_FDCWD, r.path)
        if is_dir(walk[-1]):
            raise KernelError(Errno.EISDIR, r.path.decode(errors="replace"))
        if r.length > self.state.fsize_limit(request.sender):
            raise KernelError(Errno.EFBIG, "beyond RLIMIT_FSIZE")
        self._truncate(walk[-1].fs, walk[-1].node, r.length)
        return 0

    def ftruncate(self, request: Request, r: vfs.Ftruncate) -> int:
        file = self.proc(request).fds.get(r.fd)
        if r.length < 0 or file.kind != "node" or not file.writable():
            raise KernelError(Errno.EINVAL if file.kind == "node" else Errno.EBADF, "ftruncate")
        if r.length > self.state.fsize_limit(request.sender):
            raise KernelError(Errno.EFBIG, "beyond RLIMIT_FSIZE")
        self._truncate(file.fs, file.node, r.length)
        return 0

    def statfs(self, request: Request, r: vfs.Statfs) -> int:
        walk = self._lookup(self.proc(request), AT_FDCWD, r.path)
        return self._statfs(request, walk)

    def fstatfs(self, request: Request, r: vfs.Fstatfs) -> int:
        return self._statfs(request, self._lookup(self.proc(request), r.fd, b"", AT_EMPTY_PATH))

    def _statfs(self, request: Request, walk: Walk) -> int:
        magic, bsize, blocks, bfree, nfiles, ffree = walk[-1].fs.statfs()
        raw = struct.pack("<qqqqqqqiiqqq", magic, bsize, blocks, bfree, bfree, nfiles, ffree,
                          0, 0, 255, bsize, 0x1 if walk[-1].fs.readonly else 0) + bytes(32)
        self.api.copy_out(request.grants[0], 0, raw)
        return 0

    # -- names --------------------------------------------------------------------------
    def mkdirat(self, request: Request, r: vfs.Mkdirat) -> int:
        proc = self.proc(request)
        parent, name = self._parent(proc, r.dirfd, r.path.rstrip(b"/") or r.path)
        here = parent[-1]
        here.fs.mkdir(here.node, name, stat.S_IFDIR | (r.mode & 0o7777 & ~proc.umask),
                      *self._owner())
        return 0

    def unlinkat(self, request: Request, r: vfs.Unlinkat) -> int:
        if r.flags & ~AT_REMOVEDIR:
            raise KernelError(Errno.EINVAL, f"flags {r.flags:#x}")
        parent, name = self._parent(self.proc(request), r.dirfd, r.path.rstrip(b"/") or r.path)
        here = parent[-1]
        if name == b"." and r.flags & AT_REMOVEDIR:
            raise KernelError(Errno.EINVAL, "rmdir of .")
        if name in (b".", b".."):
            raise KernelError(Errno.ENOTEMPTY if name == b".." else Errno.EISDIR, name.decode())
        if r.flags & AT_REMOVEDIR:
            here.fs.rmdir(here.node, name)
        else:
            here.fs.unlink(here.node, name)
        return 0

    def renameat2(self, request: Request, r: vfs.Renameat2) -> int:
        proc = self.proc(request)
        if r.flags & ~RENAME_NOREPLACE:
            raise KernelError(Errno.EINVAL, "rename flags")
        src, src_name = self._parent(proc, r.olddirfd, r.old.rstrip(b"/") or r.old)
        dst, dst_name = self._parent(proc, r.newdirfd, r.new.rstrip(b"/") or r.new)
        if src[-1].fs is not dst[-1].fs:
            raise KernelError(Errno.EXDEV, "across mounts")
        if r.flags & RENAME_NOREPLACE:
            try:
                dst[-1].fs.lookup(dst[-1].node, dst_name)
                raise KernelError(Errno.EEXIST, r.new.decode(errors="replace"))
            except KernelError as err:
                if err.errno != Errno.ENOENT:
                    raise
        src[-1].fs.rename(src[-1].node, src_name, dst[-1].node, dst_name)
        return 0

    def linkat(self, request: Request, r: vfs.Linkat) -> int:
        proc = self.proc(request)
        source = self._lookup(proc, r.olddirfd, r.old, 0 if r.flags & AT_SYMLINK_FOLLOW
                              else AT_SYMLINK_NOFOLLOW)
        parent, name = self._parent(proc, r.newdirfd, r.new)
        if source[-1].fs is not parent[-1].fs:
            raise KernelError(Errno.EXDEV, "across mounts")
        parent[-1].fs.link(source[-1].node, parent[-1].node, name)
        return 0

    def symlinkat(self, request: Request, r: vfs.Symlinkat) -> int:
        if not r.target:
            raise KernelError(Errno.ENOENT, "empty target")
        parent, name = self._parent(self.proc(request), r.newdirfd, r.path)
        parent[-1].fs.symlink(parent[-1].node, name, r.target, *self._owner())
        return 0


class _NotANode(KernelError):
    """A path operation on a pipe or the console: no file system node is behind it."""

    def __init__(self, file: OpenFile) -> None:
        super().__init__(Errno.EINVAL, f"a {file.kind} has no file system node")
        self.file = file

    def attr(self) -> Attr:
        ops = KINDS.get(self.file.kind)
        if ops is not None:
            return ops.stat(self.file)
        now = time.time_ns()
        if self.file.kind == "console":
            st = os.fstat(self.file.host_fd)
            return Attr(st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_size,
                        st.st_rdev, st.st_blksize, st.st_blocks, st.st_atime_ns, st.st_mtime_ns,
                        st.st_ctime_ns, st.st_dev)
        if self.file.kind == "socket":
            return Attr(id(self.file.pipe) & 0xFFFFFF, stat.S_IFSOCK | 0o777, 1, os.getuid(),
                        os.getgid(), 0, 0, 4096, 0, now, now, now, 0x08)
        return Attr(id(self.file.pipe) & 0xFFFFFF, stat.S_IFIFO | 0o600, 1, os.getuid(),
                    os.getgid(), 0, 0, 4096, 0, now, now, now, 0x0C)


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
    out = {}
    for fd, entry in proc.fds.entries.items():
        file = entry.file
        ops = KINDS.get(file.kind)
        if ops is not None:
            out[fd] = ops.path(file)
        elif file.walk is not None:
            out[fd] = path_of(file.walk)
        elif file.pipe is not None:
            out[fd] = f"{file.kind}:[{id(file.pipe) & 0xFFFFFF}]".encode()
        else:
            out[fd] = b"/dev/console"
    return out


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
        while True:
            request = yield port
            vfs.handle(request)
    return run
