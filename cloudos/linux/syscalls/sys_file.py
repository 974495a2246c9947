"""File system calls: thin clients of the VFS server.

Each handler decodes its arguments (paths are copied in; buffers become memory
grants the server copies through, except a small read's or write's: its bytes travel in
the messages, ``vfs.Inline``), then calls the VFS port with a typed request
(``abi/vfs.py`` declares them all); the calling thread sleeps until the server
answers, and the answer is the call's result or a typed answer the handler turns
into one (``Again``: act, then run the call again). A few calls are reduced
to their general form here (open → openat, stat → newfstatat, select → poll,
...), so the server implements each operation once.
"""

from __future__ import annotations

import functools
import os
import struct
import time
from typing import Any, Callable

from cloudos.abi import net, vfs
from cloudos.abi.dataclass import dataclass
from cloudos.abi.flags import (AT_FDCWD, SPLICE_F_ALL, AtFlag, FcntlCmd, LockType, OpenFlag,
                               OwnerType, ResolveFlag)
from cloudos.abi.signal import Signal
from cloudos.abi.sysno import Sysno
from cloudos.abi.vfs import (INLINE_MAX, Again, BytesOut, FileOwner, LockHolder, PollReady,
                             Received, SignalsReady)
from cloudos.kernel.cap import Cap, ObjType, Right
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.vm import Prot
from cloudos.kernel.task import State, Thread
from cloudos.linux.process import RLIMIT_NOFILE, linux, linux_thread
from cloudos.linux.syscalls.args import (WAIT_MAX, deadline, read_select_timeval,
                                         read_timespec, s32, s64, seconds, user_string)
from cloudos.kernel.trap import Stop
from cloudos.linux import fastpath, pipefast, signals
from cloudos.linux.syscalls.sys_signal import send_signal

PATH_MAX = 4096
OPEN_HOW = struct.Struct("<QQQ")  # struct open_how: flags, mode, resolve
OPEN_FLAGS = int(OpenFlag.ACCMODE | OpenFlag.CREAT | OpenFlag.EXCL | OpenFlag.NOCTTY
                 | OpenFlag.TRUNC | OpenFlag.APPEND | OpenFlag.NONBLOCK | OpenFlag.SYNC
                 | OpenFlag.ASYNC | OpenFlag.DIRECT | OpenFlag.LARGEFILE | OpenFlag.DIRECTORY
                 | OpenFlag.NOFOLLOW | OpenFlag.NOATIME | OpenFlag.CLOEXEC | OpenFlag.PATH
                 | OpenFlag.TMPFILE)  # Linux's VALID_OPEN_FLAGS
O_PATH_FLAGS = int(OpenFlag.DIRECTORY | OpenFlag.NOFOLLOW | OpenFlag.PATH | OpenFlag.CLOEXEC)
RESOLVE_FLAGS = int(ResolveFlag.NO_XDEV | ResolveFlag.NO_MAGICLINKS | ResolveFlag.NO_SYMLINKS
                    | ResolveFlag.BENEATH | ResolveFlag.IN_ROOT | ResolveFlag.CACHED)
FILE_SIZE_MAX = (1 << 63) - 1  # MAX_LFS_FILESIZE
AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_EACCESS = map(int, (
    AtFlag.EMPTY_PATH, AtFlag.SYMLINK_NOFOLLOW, AtFlag.REMOVEDIR, AtFlag.EACCESS))
CREAT_FLAGS = int(OpenFlag.CREAT | OpenFlag.WRONLY | OpenFlag.TRUNC)  # creat(2)'s open
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
IOVEC = struct.Struct("<QQ")
UIO_MAXIOV = 1024  # the most iovecs one call takes
MAX_RW_COUNT = 0x7FFF_F000  # Linux's cap on one read or write
FLOCK = struct.Struct("<hh4xqqi4x")  # struct flock: l_type, l_whence, l_start, l_len, l_pid
OWNER_EX = struct.Struct("<ii")  # struct f_owner_ex: type, pid
F_GETFD, F_GETLK, F_OFD_GETLK = FcntlCmd.GETFD, FcntlCmd.GETLK, FcntlCmd.OFD_GETLK
F_SETOWN, F_SETOWN_EX, F_GETOWN_EX = FcntlCmd.SETOWN, FcntlCmd.SETOWN_EX, FcntlCmd.GETOWN_EX
F_SETSIG, F_SETPIPE_SZ = FcntlCmd.SETSIG, FcntlCmd.SETPIPE_SZ
LOCK_CMDS = frozenset({FcntlCmd.GETLK, FcntlCmd.SETLK, FcntlCmd.SETLKW, FcntlCmd.OFD_GETLK,
                       FcntlCmd.OFD_SETLK, FcntlCmd.OFD_SETLKW})
OWNER_TYPES = frozenset(OwnerType)
SEEK_SET = 0
# ioctl requests with a buffer: bytes, and whether the VFS writes it (else reads it).
IOCTL_BUFFERS = {0x5401: (36, True), 0x5402: (36, False), 0x5403: (36, False),  # TCGETS, TCSETS*
                 0x5404: (36, False), 0x540F: (4, True), 0x5410: (4, False),   # TIOC[GS]PGRP
                 0x5413: (8, True), 0x541B: (4, True), 0x5429: (4, True),   # WINSZ, FIONREAD, SID
                 0x5421: (4, False), 0x8905: (4, True),                       # FIONBIO, SIOCATMARK
                 0x5414: (8, False), 0x5411: (4, True),                       # TIOCSWINSZ, OUTQ
                 0x80045430: (4, True), 0x40045431: (4, False),               # TIOCGPTN, SPTLCK
                 0x80045439: (4, True)}                                       # TIOCGPTLCK
# SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFMTU, SIOCGIFINDEX
IFREQ_IOCTLS, IFREQ_SIZE = frozenset({0x8910, 0x8913, 0x8915, 0x891B, 0x8921, 0x8933}), 40
SIGPIPE, SIGXFSZ = Signal.SIGPIPE, Signal.SIGXFSZ
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 1, 2, 4, 8, 16, 32
VFS = "vfs"  # the server that owns these calls
# A call a crash of the VFS's code left undone (answered Again.RESTART, servers/runtime.py)
# runs again on the restarted server, at most RESTARTS_MAX times in a row, then fails EIO
# (LinuxThread.vfs_restarts counts). LinuxThread.inflight is the call each thread has in
# flight to the VFS, so that a signal can take it back unseen or have it answered at once
# (``interrupt``).
RESTARTS_MAX = 3


_SEND_FILE = int(Right.SEND | Right.FILE)
_EPIPE_EFBIG = (-int(Errno.EPIPE), -int(Errno.EFBIG))
# (plain names for what every answer is checked against: an enum member read through its
# class costs ~0.2 us on Python 3.11, a global ~0.02)
_INTERRUPTED, _RESTART, _BACKGROUND = Again.INTERRUPTED, Again.RESTART, Again.BACKGROUND
_NONE: dict[int, Cap] = {}  # (a space with no capability, never written)
_READ, _WRITE = int(Sysno.READ), int(Sysno.WRITE)


def _client(t: Thread) -> Cap:
    """The caller's FILE capability on the VFS port: no capability, no file access."""
    return _client_rights(t, 0)


def _client_rights(t: Thread, more: int) -> Cap:
    """The caller's capability on the VFS port if it holds FILE and the rights ``more``."""
    token = linux(t.process).files
    if not token:
        raise KernelError(Errno.EACCES, "this process holds no FILE capability")
    return t.process.kernel.ipc.caps.lookup(t.process.pid, token, ObjType.PORT,
                                            Right.SEND | Right.FILE | more)


def grant_files(kernel: Any, process: Any) -> None:
    """Give a first process its FILE capability, derived from the kernel's VFS client cap."""
    client = kernel.services.get(VFS)
    if client is not None:  # (NETWORK too where the machine has it: cloudos run --net host)
        network = client.rights & Right.NETWORK
        cap = kernel.ipc.caps.derive(client, Right.SEND | Right.FILE | network)
        linux(process).files = kernel.ipc.caps.install(process.pid, cap)


def _grant(t: Thread, start: int, length: int, write: bool) -> Cap:
    """Lend [start, start+length) of the caller's memory to the server."""
    rights = Right.WRITE if write else Right.READ
    return t.process.kernel.ipc.lend(t.process.pid, t.process.aspace, start, length, rights)


def call(t: Thread, request: Any, grants: tuple[Cap, ...] = (),
         deadline: float | None = None, timeout_result: int = -Errno.ETIMEDOUT,
         deliver: Callable[[Message], int] | None = None, fast: bool = True,
         interrupted: Callable[[], int] | None = None) -> int:
    """Ask the VFS to serve ``request`` (a request of abi/vfs.py) for ``t``; the thread
    sleeps until it answers, unless the VFS answers at once on the fast path
    (``linux/fastpath.py``; ``fast=False`` for an answer that must not be delivered
    inside the CPU's hook). ``interrupted``: the result when a signal took the call
    back undone (default: EINTR, or the call runs again after the handler)."""
    process = t.process
    ipc = process.kernel.ipc
    personality = process.personality  # (``linux(process)``, inline: once per call)
    token = personality.files  # (``_client``, inline)
    if not token:
        raise KernelError(Errno.EACCES, "this process holds no FILE capability")
    # (``CapTable.lookup``'s checks, the capability itself remembered: the one the
    # process's space holds under that token, still valid, found by a lookup before)
    held = personality.files_cap
    if held is None or held[0] != token or not held[1].valid \
            or ipc.caps.spaces.get(process.pid, _NONE).get(token) is not held[1]:
        cap = ipc.caps.lookup(process.pid, token, ObjType.PORT, _SEND_FILE)
        held = personality.files_cap = (token, cap)
    port = ipc.ports[held[1].obj]
    msg = Message(request.OP, b"", process.pid, list(grants) if grants else [], None, request)
    state = t.personality  # (``linux_thread(t)``, inline)
    state.inflight = (port, msg)
    undone = _again_if_undone if interrupted is None \
        else functools.partial(_again_if_undone, interrupted=interrupted)
    if fast and fastpath.ENABLED and personality.ptrace is None:
        try:
            answer = fastpath.direct(t, state, port, msg, deliver, deadline, timeout_result,
                                     undone)
        except Stop:
            # A signal that came while the server ran (the caller was RUNNING: it was not
            # interrupted then) and the call is parked: interrupted now, as if it had
            # come while the caller slept in the call, as on the slow path.
            if t.notify and t.state is State.BLOCKED and signals.pending_unblocked(t):
                interrupt(t)
            raise
        if answer is not None:
            return answer
    try:
        return ipc.call(t, port, msg, undone(t, deliver or _result, state), deadline,
                        timeout_result)
    except KernelError:
        state.inflight = None
        raise
    except Stop:
        if not (fast and fastpath.ENABLED) or t.process.personality.ptrace is not None:
            raise
        return fastpath.serve(t, port, msg)


def interrupt(t: Thread) -> bool:
    """A signal for ``t``, asleep in a call to the VFS. False: wake it with EINTR (or the
    restart), because its call was taken back from the port unseen, or it waits for
    something else. True: the VFS has the call and answers it (at once if it parked it,
    with what it did), and ``t`` sleeps until then: a call the server did is never
    reported interrupted, nor run again (a pipe write repeated its bytes)."""
    state = linux_thread(t)
    inflight = state.inflight
    if inflight is None:
        return False
    port, msg = inflight
    if msg.reply is None or t.channel != ("reply", msg.reply.obj):
        return False
    ipc = t.process.kernel.ipc
    if ipc.withdraw(port, msg):
        state.inflight = None
        return False
    ipc.notify(port, Message(vfs.Op.INTERRUPT, b"", 0, body=vfs.Interrupt(msg.reply.obj)))
    return True


def _again_if_undone(t: Thread, deliver: Callable[[Message], int], state: Any = None,
                     interrupted: Callable[[], int] | None = None) -> Callable[[Message], int]:
    """``deliver``, except that a call the VFS's crash left undone runs again: a restart
    leaves every call done once (not reported failed while it did nothing, which a program
    cannot tell from failed after doing something: dash's redirections need dup2 to work).
    (``state``: ``t``'s LinuxThread, if the caller has it; ``interrupted``: ``call``'s.)"""
    if state is None:
        state = linux_thread(t)

    def again(msg: Message) -> int:
        state.inflight = None
        if msg.body is _INTERRUPTED:
            return interrupted() if interrupted is not None else undone_by_signal(t)
        if msg.body is not _RESTART:
            state.vfs_restarts = 0
            return deliver(msg)
        state.vfs_restarts += 1
        if state.vfs_restarts > RESTARTS_MAX:
            state.vfs_restarts = 0
            return -Errno.EIO
        t.restart = t.syscall
        return 0
    return again


def undone_by_signal(t: Thread) -> int:
    """The result of ``t``'s call a signal took back undone: EINTR, or 0 with the call
    set to run again after the handler (SA_RESTART)."""
    if not signals.restarts(t):  # (decided by the signal taken first, as on Linux)
        return -Errno.EINTR
    t.restart = t.syscall
    return 0


def _result(msg: Message) -> int:
    return int(msg.body)


def notify(kernel: Any, request: Any, caps: list[Cap] | None = None) -> None:
    """Tell the VFS ``request`` (a notification of abi/vfs.py: a process's fork, exec or
    exit, its pending signals, ...), with ``caps``; no answer is expected."""
    cap = kernel.services.get(VFS)
    if cap is not None:
        message = Message(request.OP, b"", 0, caps or [], body=request)
        kernel.ipc.notify(kernel.ipc.ports[cap.obj], message)


def tell_credentials(process: Any) -> None:
    """The VFS checks file permissions with ``process``'s ids: tell it they changed."""
    c = linux(process).creds
    notify(process.kernel, vfs.Credentials(process.pid, c.uid, c.gid, c.fsuid, c.fsgid,
                                           c.groups, c.effective))


def _path(t: Thread, addr: int) -> bytes:
    return user_string(t.process.aspace, addr, PATH_MAX)


# -- open, close, dup ------------------------------------------------------------
# (``s32`` inline in open, openat and close: ((x & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000)
def sys_open(t: Thread, path: int, flags: int, mode: int, *_: int) -> int:
    """Implements Linux open(2)."""
    return call(t, vfs.Openat(AT_FDCWD, user_string(t.process.aspace, path, PATH_MAX),
                              ((flags & 0xFFFF_FFFF) ^ 0x8000_0000) - 0x8000_0000,
                              mode & 0o7777, 0, t.process.sid))


def sys_openat(t: Thread, dirfd: int, path: int, flags: int, mode: int, *_: int) -> int:
    """Implements Linux openat(2)."""
    return call(t, vfs.Openat(((dirfd & 0xFFFF_FFFF) ^ 0x8000_0000) - 0x8000_0000,
                              user_string(t.process.aspace, path, PATH_MAX),
                              ((flags & 0xFFFF_FFFF) ^ 0x8000_0000) - 0x8000_0000,
                              mode & 0o7777, 0, t.process.sid))


def sys_openat2(t: Thread, dirfd: int, path: int, how: int, size: int, *_: int) -> int:
    """Implements Linux openat2(2): openat with a struct open_how (flags, mode, resolve)
    checked strictly (unknown flags, a mode without O_CREAT: EINVAL; a larger struct
    than ours must end in zeros: E2BIG) and RESOLVE_* limits on the walk."""
    if size < OPEN_HOW.size:
        raise KernelError(Errno.EINVAL, f"open_how of {size} bytes")
    if size > PAGE_SIZE:
        raise KernelError(Errno.E2BIG, f"open_how of {size} bytes")
    raw = t.process.aspace.copy_in(how, size)
    if any(raw[OPEN_HOW.size:]):
        raise KernelError(Errno.E2BIG, "open_how has fields we do not know")
    flags, mode, resolve = OPEN_HOW.unpack_from(raw)
    _check_open_how(flags, mode, resolve)
    return call(t, vfs.Openat(s32(dirfd), _path(t, path), flags, mode, resolve,
                              sid=t.process.sid))


def _check_open_how(flags: int, mode: int, resolve: int) -> None:
    """openat2's checks (Linux's build_open_flags): EINVAL, or EAGAIN for RESOLVE_CACHED
    with a call that must write."""
    if flags & ~OPEN_FLAGS or resolve & ~RESOLVE_FLAGS:
        raise KernelError(Errno.EINVAL, f"open_how flags {flags:#x} resolve {resolve:#x}")
    creating = flags & (OpenFlag.CREAT | OpenFlag.TMPFILE & ~OpenFlag.DIRECTORY)
    if mode & ~0o7777 or (mode and not creating):
        raise KernelError(Errno.EINVAL, f"open_how mode {mode:#o}")
    if flags & OpenFlag.CREAT and flags & OpenFlag.DIRECTORY:
        raise KernelError(Errno.EINVAL, "O_CREAT with O_DIRECTORY")
    if flags & OpenFlag.PATH and flags & ~O_PATH_FLAGS:
        raise KernelError(Errno.EINVAL, f"O_PATH with flags {flags:#x}")
    if resolve & ResolveFlag.BENEATH and resolve & ResolveFlag.IN_ROOT:
        raise KernelError(Errno.EINVAL, "RESOLVE_BENEATH with RESOLVE_IN_ROOT")
    if resolve & ResolveFlag.CACHED and flags & (OpenFlag.CREAT | OpenFlag.TRUNC
                                                 | OpenFlag.TMPFILE & ~OpenFlag.DIRECTORY):
        raise KernelError(Errno.EAGAIN, "RESOLVE_CACHED for a call that writes")


def sys_creat(t: Thread, path: int, mode: int, *_: int) -> int:
    """Implements Linux creat(2)."""
    return call(t,
                vfs.Openat(AT_FDCWD, _path(t, path), CREAT_FLAGS, mode & 0o7777,
                           sid=t.process.sid))


def sys_close(t: Thread, fd: int, *_: int) -> int:
    """Implements Linux close(2)."""
    return call(t, vfs.Close(((fd & 0xFFFF_FFFF) ^ 0x8000_0000) - 0x8000_0000))


def sys_dup(t: Thread, fd: int, *_: int) -> int:
    """Implements Linux dup(2)."""
    return call(t, vfs.Dup(s32(fd)))


def sys_dup2(t: Thread, old: int, new: int, *_: int) -> int:
    """Implements Linux dup2(2)."""
    return call(t, vfs.Dup2(s32(old), s32(new)))


def sys_dup3(t: Thread, old: int, new: int, flags: int, *_: int) -> int:
    """Implements Linux dup3(2)."""
    return call(t, vfs.Dup3(s32(old), s32(new), s32(flags)))


def sys_fcntl(t: Thread, fd: int, cmd: int, arg: int, *_: int) -> int:
    """Implements Linux fcntl(2): dup, close-on-exec, status flags, record and OFD locks,
    leases, pipe sizes, and the owner and signal of a file's SIGIO (O_ASYNC, a lease's
    break). The structs (flock, f_owner_ex) are read and written here; the VFS decides."""
    fd, cmd = s32(fd), s32(cmd)
    if cmd in LOCK_CMDS:
        return _fcntl_lock(t, fd, cmd, arg)
    if cmd in (F_SETOWN_EX, F_GETOWN_EX):
        return _fcntl_owner(t, fd, cmd, arg)
    if cmd == F_SETOWN:
        who = s32(arg)
        if who == -(1 << 31):
            raise KernelError(Errno.EINVAL, "F_SETOWN of INT_MIN")
        if not _owner_exists(t, abs(who)):
            return _fd_then(t, fd, Errno.ESRCH)
        return call(t, vfs.Fcntl(fd, cmd, who))
    if cmd in (F_SETSIG, F_SETPIPE_SZ):
        arg = s32(arg) if cmd == F_SETSIG else arg & 0xFFFFFFFF
    return call(t, vfs.Fcntl(fd, cmd, s64(arg)))


def _fd_then(t: Thread, fd: int, errno: Errno) -> int:
    """Fail with ``errno``, but EBADF first if ``fd`` is not open (Linux looks up the fd
    before it reads the call's struct or looks for its process)."""
    def deliver(msg: Message) -> int:
        result = int(msg.body)
        return result if result < 0 else -errno
    return call(t, vfs.Fcntl(fd, F_GETFD, 0), deliver=deliver)


def _fcntl_lock(t: Thread, fd: int, cmd: int, addr: int) -> int:
    """The lock commands: struct flock in; for a GETLK, the holder's lock (or F_UNLCK)
    written back over it, as Linux copies the whole struct out."""
    aspace = t.process.aspace
    try:
        raw = aspace.copy_in(addr, FLOCK.size)
    except KernelError as err:
        return _fd_then(t, fd, Errno(err.errno))
    type_, whence, start, length, pid = FLOCK.unpack(raw)

    def deliver(msg: Message) -> int:
        holder = msg.body  # 0, or the LockHolder of a GETLK a lock conflicts with
        if cmd not in (F_GETLK, F_OFD_GETLK) or not (holder == 0
                                                     or isinstance(holder, LockHolder)):
            return int(holder)
        out = FLOCK.pack(LockType.UNLCK, whence, start, length, pid) if holder == 0 \
            else FLOCK.pack(holder.type, SEEK_SET, holder.start, holder.length, holder.pid)
        try:
            aspace.copy_out(addr, out)
        except KernelError as err:
            return -err.errno
        return 0
    return call(t, vfs.FcntlLock(fd, cmd, type_, whence, start, length, pid), deliver=deliver)


def _fcntl_owner(t: Thread, fd: int, cmd: int, addr: int) -> int:
    """F_SETOWN_EX, F_GETOWN_EX: struct f_owner_ex in or out."""
    aspace = t.process.aspace
    if cmd == F_GETOWN_EX:
        def deliver(msg: Message) -> int:
            if not isinstance(msg.body, FileOwner):
                return int(msg.body)
            try:
                aspace.copy_out(addr, OWNER_EX.pack(msg.body.type, msg.body.pid))
            except KernelError as err:
                return -err.errno
            return 0
        return call(t, vfs.FcntlOwner(fd, cmd), deliver=deliver)
    try:
        kind, who = OWNER_EX.unpack(aspace.copy_in(addr, OWNER_EX.size))
    except KernelError as err:
        return _fd_then(t, fd, Errno(err.errno))
    if kind in OWNER_TYPES and not _owner_exists(t, who):
        return _fd_then(t, fd, Errno.ESRCH)
    return call(t, vfs.FcntlOwner(fd, cmd, kind, who))


def _owner_exists(t: Thread, who: int) -> bool:
    """Whether ``who`` is 0 or an id in use (Linux's find_vpid): a live thread, process
    or process group."""
    if who == 0:
        return True
    kernel = t.process.kernel
    return any(th.tid == who for th in kernel.threads()) or any(
        not p.zombie and who in (p.pid, p.pgid) for p in kernel.processes.values())


def sys_flock(t: Thread, fd: int, operation: int, *_: int) -> int:
    """Implements Linux flock(2): whole-file locks of an open file description, apart
    from fcntl's; a wait ends EINTR (or restarts) on a signal."""
    return call(t, vfs.Flock(s32(fd), s32(operation)))


def sys_pipe2(t: Thread, fds: int, flags: int, *_: int) -> int:
    """Implements Linux pipe2(2)."""
    t.process.aspace.user_frame(fds, True)
    return call(t, vfs.Pipe2(s32(flags)), grants=(_grant(t, fds, 8, True),))


def sys_pipe(t: Thread, fds: int, *_: int) -> int:
    """Implements Linux pipe(2)."""
    return sys_pipe2(t, fds, 0)


# -- sockets: AF_UNIX ones, and internet ones (TCP, UDP) -------------------------------
AF_UNIX, AF_INET, AF_INET6 = net.AF_UNIX, net.AF_INET, net.AF_INET6
SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET = net.SOCK_STREAM, net.SOCK_DGRAM, net.SOCK_SEQPACKET
SOCK_TYPE_FLAGS = int(OpenFlag.NONBLOCK | OpenFlag.CLOEXEC)  # SOCK_NONBLOCK, SOCK_CLOEXEC
MSG_NOSIGNAL = 0x4000


def sys_socketpair(t: Thread, domain: int, type_: int, protocol: int, sv: int, *_: int) -> int:
    """Implements Linux socketpair(2) for AF_UNIX SOCK_STREAM."""
    domain, type_, protocol = s32(domain), s32(type_), s32(protocol)
    if type_ & ~(0xF | SOCK_TYPE_FLAGS):
        raise KernelError(Errno.EINVAL, f"socket type {type_:#x}")
    if domain in (AF_INET, AF_INET6):
        raise KernelError(Errno.EOPNOTSUPP, "internet sockets do not come in pairs")
    if domain != AF_UNIX:
        raise KernelError(Errno.EAFNOSUPPORT, f"address family {domain}")
    if type_ & 0xF not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
        raise KernelError(Errno.EPROTONOSUPPORT, f"socket type {type_ & 0xF}")
    if protocol not in (0, AF_UNIX):
        raise KernelError(Errno.EPROTONOSUPPORT, f"protocol {protocol}")
    t.process.aspace.user_frame(sv, True)
    return call(t, vfs.Socketpair(type_ & SOCK_TYPE_FLAGS, type_ & 0xF),
                grants=(_grant(t, sv, 8, True),))


# the protocol an internet socket type takes (0 picks it)
INET_PROTOCOLS = {SOCK_STREAM: net.IPPROTO_TCP, SOCK_DGRAM: net.IPPROTO_UDP}


def sys_socket(t: Thread, domain: int, type_: int, protocol: int, *_: int) -> int:
    """Implements Linux socket(2): AF_UNIX stream, datagram and seqpacket sockets, AF_INET and
    AF_INET6 TCP and UDP ones (raw and packet sockets need a privilege no guest has)."""
    domain, type_, protocol = s32(domain), s32(type_), s32(protocol)
    if type_ & ~(0xF | SOCK_TYPE_FLAGS):
        raise KernelError(Errno.EINVAL, f"socket type {type_:#x}")
    kind = type_ & 0xF
    if domain in (AF_INET, AF_INET6):
        if kind == net.SOCK_RAW:
            raise KernelError(Errno.EPROTONOSUPPORT if protocol == 0 else Errno.EPERM,
                              "raw sockets need CAP_NET_RAW")
        if kind not in INET_PROTOCOLS:
            raise KernelError(Errno.ESOCKTNOSUPPORT, f"socket type {kind}")
        if protocol not in (0, INET_PROTOCOLS[kind]):
            raise KernelError(Errno.EPROTONOSUPPORT, f"protocol {protocol}")
        return call(t, vfs.Socket(type_ & SOCK_TYPE_FLAGS, kind, domain))
    if domain == net.AF_NETLINK:  # the routing one only: the guest's interfaces
        if kind not in (net.SOCK_RAW, SOCK_DGRAM):
            raise KernelError(Errno.ESOCKTNOSUPPORT, f"socket type {kind}")
        if protocol != net.NETLINK_ROUTE:
            raise KernelError(Errno.EPROTONOSUPPORT, f"netlink protocol {protocol}")
        return call(t, vfs.Socket(type_ & SOCK_TYPE_FLAGS, kind, domain))
    if domain == net.AF_PACKET:
        raise KernelError(Errno.EPERM, "packet sockets need CAP_NET_RAW")
    if domain != AF_UNIX:
        raise KernelError(Errno.EAFNOSUPPORT, f"address family {domain}")
    if kind not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET) or protocol not in (0, AF_UNIX):
        raise KernelError(Errno.EPROTONOSUPPORT, f"AF_UNIX socket type {kind}")
    return call(t, vfs.Socket(type_ & SOCK_TYPE_FLAGS, kind))


def _network(t: Thread) -> bool:
    """Whether the caller's VFS capability holds the NETWORK right (abi/net.py): its
    internet sockets may reach the host's network."""
    try:
        _client_rights(t, Right.NETWORK)
    except KernelError:
        return False
    return True


SOCKADDR_MAX = 128  # sizeof(struct sockaddr_storage)


def _sockaddr_in(t: Thread, addr: int, addrlen: int) -> bytes:
    length = s32(addrlen)
    if not 0 <= length <= SOCKADDR_MAX:
        raise KernelError(Errno.EINVAL, f"address length {length}")
    return t.process.aspace.copy_in(addr, length)


def _sockaddr_out(t: Thread, addr: int, addrlen: int) -> Callable[[Message], int]:
    """An answer (result, sockaddr bytes): the address is copied out truncated to the
    caller's buffer, and its full length written back, as Linux does."""
    aspace = t.process.aspace
    room = s32(struct.unpack("<I", aspace.copy_in(addrlen, 4))[0]) if addr else 0
    if room < 0:
        raise KernelError(Errno.EINVAL, "negative address length")

    def deliver(msg: Message) -> int:
        if not isinstance(msg.body, BytesOut):
            return int(msg.body)
        result, name = msg.body.result, msg.body.data
        try:
            if addr:
                aspace.copy_out(addr, name[:room])
                aspace.copy_out(addrlen, struct.pack("<I", len(name)))
        except KernelError as err:
            return -err.errno
        return int(result)
    return deliver


def sys_bind(t: Thread, fd: int, addr: int, addrlen: int, *_: int) -> int:
    """Implements Linux bind(2) of an AF_UNIX socket: a path (a socket file) or an
    abstract name."""
    return call(t, vfs.Bind(s32(fd), _sockaddr_in(t, addr, addrlen)))


def sys_connect(t: Thread, fd: int, addr: int, addrlen: int, *_: int) -> int:
    """Implements Linux connect(2): an AF_UNIX stream socket to a listening one, a TCP
    socket (EINPROGRESS when non-blocking), a UDP socket's default destination."""
    return call(t, vfs.Connect(s32(fd), _sockaddr_in(t, addr, addrlen), _network(t)))


def sys_listen(t: Thread, fd: int, backlog: int, *_: int) -> int:
    """Implements Linux listen(2)."""
    return call(t, vfs.Listen(s32(fd), s32(backlog)))


def sys_accept4(t: Thread, fd: int, addr: int, addrlen: int, flags: int, *_: int) -> int:
    """Implements Linux accept4(2): SOCK_CLOEXEC, SOCK_NONBLOCK."""
    return call(t, vfs.Accept4(s32(fd), s32(flags)), deliver=_sockaddr_out(t, addr, addrlen))


def sys_accept(t: Thread, fd: int, addr: int, addrlen: int, *_: int) -> int:
    """Implements Linux accept(2)."""
    return sys_accept4(t, fd, addr, addrlen, 0)


def sys_getsockname(t: Thread, fd: int, addr: int, addrlen: int, *_: int) -> int:
    """Implements Linux getsockname(2)."""
    return call(t, vfs.Getsockname(s32(fd)), deliver=_sockaddr_out(t, addr, addrlen or 1))


def sys_getpeername(t: Thread, fd: int, addr: int, addrlen: int, *_: int) -> int:
    """Implements Linux getpeername(2)."""
    return call(t, vfs.Getpeername(s32(fd)), deliver=_sockaddr_out(t, addr, addrlen or 1))


def sys_getsockopt(t: Thread, fd: int, level: int, option: int, value: int, length: int,
                   *_: int) -> int:
    """Implements Linux getsockopt(2): SOL_SOCKET options, and the IPPROTO_TCP and
    IPPROTO_IPV6 ones of internet sockets (servers/net/inet.py lists them)."""
    return call(t, vfs.Getsockopt(s32(fd), s32(level), s32(option)),
                deliver=_sockaddr_out(t, value, length))


def sys_setsockopt(t: Thread, fd: int, level: int, option: int, value: int, length: int,
                   *_: int) -> int:
    """Implements Linux setsockopt(2): the options the socket's kind keeps (an AF_UNIX
    socket accepts the buffer sizes, address reuse and the like without effect)."""
    if s32(length) < 0:
        raise KernelError(Errno.EINVAL, "negative option length")
    raw = t.process.aspace.copy_in(value, min(s32(length), 256))
    return call(t, vfs.Setsockopt(s32(fd), s32(level), s32(option), raw))


MSGHDR = struct.Struct("<QI4xQQQQi4x")  # name, namelen, iov, iovlen, control, controllen, flags
CMSGHDR = struct.Struct("<Qii")  # cmsg_len, cmsg_level, cmsg_type
SOL_SOCKET, SCM_RIGHTS, SCM_MAX_FD = 1, 1, 253


def _msghdr(t: Thread, msg: int, write: bool) -> tuple[list[int], tuple[Cap, ...], int, int]:
    _, _, iov, iovlen, control, controllen, _ = MSGHDR.unpack(t.process.aspace.copy_in(
        msg, MSGHDR.size))
    lengths, grants = _iov(t, iov, iovlen, write)
    return lengths, grants, control, controllen


def _msg_name(t: Thread, msg: int) -> tuple[int, int]:
    """A msghdr's msg_name and msg_namelen (negative with a msg_name: EINVAL, as Linux's
    __copy_msghdr; without one it means nothing)."""
    name, namelen = struct.unpack("<QI", t.process.aspace.copy_in(msg, 12))
    if name and s32(namelen) < 0:
        raise KernelError(Errno.EINVAL, "negative msg_namelen")
    return name, namelen


def _name_out(t: Thread, addr: int, addrlen: int, name: bytes) -> None:
    """A received message's sender address to the caller, once it is received, as Linux's
    move_addr_to_user: cut to the length at ``addrlen`` as it reads now (negative:
    EINVAL), then the address's whole length written there."""
    aspace = t.process.aspace
    room = s32(struct.unpack("<I", aspace.copy_in(addrlen, 4))[0])
    if room < 0:
        raise KernelError(Errno.EINVAL, "negative address length")
    aspace.copy_out(addr, name[:room])
    aspace.copy_out(addrlen, struct.pack("<I", len(name)))


def _rights(t: Thread, control: int, length: int) -> list[int]:
    """The fds of the SCM_RIGHTS messages in a control buffer (other kinds: EOPNOTSUPP)."""
    raw = t.process.aspace.copy_in(control, min(length, 1 << 16))
    fds: list[int] = []
    at = 0
    while at + CMSGHDR.size <= len(raw):
        size, level, kind = CMSGHDR.unpack_from(raw, at)
        if size < CMSGHDR.size or at + size > len(raw):
            raise KernelError(Errno.EINVAL, "bad cmsg_len")
        if (level, kind) != (SOL_SOCKET, SCM_RIGHTS):
            raise KernelError(Errno.EOPNOTSUPP, f"control message {level}/{kind}")
        count = (size - CMSGHDR.size) // 4
        fds += struct.unpack_from(f"<{count}i", raw, at + CMSGHDR.size)
        at += (size + 7) & ~7
    if len(fds) > SCM_MAX_FD:
        raise KernelError(Errno.EINVAL, "too many fds in one message")
    return fds


def sys_sendmsg(t: Thread, fd: int, msg: int, flags: int, *_: int) -> int:
    """Implements Linux sendmsg(2) on a connected socket, with SCM_RIGHTS (other ancillary
    data, SCM_CREDENTIALS: EOPNOTSUPP rather than lost)."""
    parts = sendmsg_parts(t, s32(fd), msg, s32(flags))
    return call(t, parts.request, grants=parts.grants, deliver=parts.deliver)


@dataclass(frozen=True)
class MsgCall:
    """A sendmsg's or recvmsg's decoded call (``sendmsg_parts``, ``recvmsg_parts``): the
    request, its grants, what makes the answer the call's result (None: the int), and
    the bytes its buffers hold (a send that moves fewer was short)."""

    request: Any
    grants: tuple[Cap, ...]
    deliver: Callable[[Message], int] | None
    size: int


def sendmsg_parts(t: Thread, fd: int, msg: int, flags: int) -> MsgCall:
    """The VFS call of a sendmsg of the msghdr at ``msg`` (EFAULT, EINVAL... if it is bad)."""
    lengths, grants, control, controllen = _msghdr(t, msg, False)
    name, namelen = _msg_name(t, msg)
    addr = _sockaddr_in(t, name, namelen) if name else b""
    fds = _rights(t, control, controllen) if controllen else []
    deliver = None if flags & MSG_NOSIGNAL else _sigpipe(t)
    return MsgCall(vfs.Sendmsg(fd, lengths, flags, fds, addr, _network(t)), grants, deliver,
                   sum(lengths))


def sys_recvmsg(t: Thread, fd: int, msg: int, flags: int, *_: int) -> int:
    """Implements Linux recvmsg(2): open files sent with SCM_RIGHTS arrive as new fds in
    the control buffer; a datagram's sender comes back in msg_name."""
    parts = recvmsg_parts(t, s32(fd), msg, flags & 0xFFFF_FFFF)
    return call(t, parts.request, grants=parts.grants, deliver=parts.deliver)


def recvmsg_parts(t: Thread, fd: int, msg: int, flags: int) -> MsgCall:
    """The VFS call of a recvmsg into the msghdr at ``msg``. The msghdr is only read
    before the receive: its answer writes back the sender's address and msg_namelen (if
    msg_name is set), then msg_flags, then msg_controllen, in Linux's order
    (____sys_recvmsg), so a msghdr that cannot be written fails after the message was
    taken."""
    lengths, grants, control, room = _msghdr(t, msg, True)
    name, _ = _msg_name(t, msg)
    room = min(room, 1 << 16)
    if room:
        _check_buffer(t, control, room, True)
        grants += (_grant(t, control, room, True),)

    def deliver(answer: Message) -> int:
        got = answer.body
        received = got if isinstance(got, Received) else Received(int(got), 0, 0)
        if received.count < 0:
            return received.count
        try:
            if name:
                _name_out(t, name, msg + 8, received.name)
            t.process.aspace.copy_out(msg + 48, struct.pack("<i", received.msg_flags))
            t.process.aspace.copy_out(msg + 40, struct.pack("<Q", received.control_used))
        except KernelError as err:
            return -err.errno
        return received.count

    return MsgCall(vfs.Recvmsg(fd, lengths, flags, room), grants, deliver, sum(lengths))


def sys_shutdown(t: Thread, fd: int, how: int, *_: int) -> int:
    """Implements Linux shutdown(2) of a connected socket (or a listening TCP one)."""
    return call(t, vfs.Shutdown(s32(fd), s32(how)))


def sys_sendto(t: Thread, fd: int, buf: int, count: int, flags: int, addr: int,
               addrlen: int) -> int:
    """Implements Linux sendto(2): on a connected socket, or a UDP datagram to an address;
    flags MSG_DONTWAIT, MSG_NOSIGNAL (and MSG_MORE, MSG_CONFIRM, MSG_EOR: no effect)."""
    count = min(count, 0x7FFF_F000)
    _check_buffer(t, buf, count, False)
    name = _sockaddr_in(t, addr, addrlen) if addr else b""
    deliver = None if s32(flags) & MSG_NOSIGNAL else _sigpipe(t)
    return call(t, vfs.Sendto(s32(fd), count, s32(flags), bool(addr), name, _network(t)),
                grants=(_grant(t, buf, count, False),), deliver=deliver)


def sys_recvfrom(t: Thread, fd: int, buf: int, count: int, flags: int, addr: int,
                 addrlen: int) -> int:
    """Implements Linux recvfrom(2): MSG_DONTWAIT, and on internet sockets MSG_PEEK,
    MSG_WAITALL, MSG_TRUNC. A UDP datagram's sender comes back in ``addr``; a stream's
    peer is not reported (an asked-for address comes back 0 bytes long), as on Linux."""
    count = min(count, 0x7FFF_F000)
    _check_buffer(t, buf, count, True)
    return call(t, vfs.Recvfrom(s32(fd), count, s32(flags)), grants=(_grant(t, buf, count, True),),
                deliver=functools.partial(_received_from, t, addr, addrlen))


def _received_from(t: Thread, addr: int, addrlen: int, msg: Message) -> int:
    """A recvfrom's answer (a count, or the count and the sender's address): the address
    goes out after the receive, as Linux's __sys_recvfrom (a bad ``addrlen`` fails it
    with the bytes taken)."""
    got = msg.body
    result, name = (int(got.result), got.data) if isinstance(got, BytesOut) else (int(got), b"")
    if result < 0 or not addr:
        return result
    try:
        _name_out(t, addr, addrlen, name)
    except KernelError as err:
        return -err.errno
    return result


def sys_eventfd2(t: Thread, initval: int, flags: int, *_: int) -> int:
    """Implements Linux eventfd2(2): a 64-bit counter read and written 8 bytes at a time."""
    return call(t, vfs.Eventfd2(initval & 0xFFFF_FFFF, s32(flags)))


def sys_memfd_create(t: Thread, name: int, flags: int, *_: int) -> int:
    """Implements Linux memfd_create(2): an anonymous file in memory."""
    try:
        text = user_string(t.process.aspace, name, 250)
    except KernelError as err:
        raise KernelError(Errno.EINVAL if err.errno == Errno.ENAMETOOLONG else err.errno)
    return call(t, vfs.MemfdCreate(text, flags & 0xFFFF_FFFF))


def sys_eventfd(t: Thread, initval: int, *_: int) -> int:
    """Implements Linux eventfd(2)."""
    return sys_eventfd2(t, initval, 0)


def sys_inotify_init1(t: Thread, flags: int, *_: int) -> int:
    """Implements Linux inotify_init1(2): an fd that reads the events of watched files."""
    return call(t, vfs.InotifyInit1(s32(flags)))


def sys_inotify_init(t: Thread, *_: int) -> int:
    """Implements Linux inotify_init(2)."""
    return sys_inotify_init1(t, 0)


def sys_inotify_add_watch(t: Thread, fd: int, path: int, mask: int, *_: int) -> int:
    """Implements Linux inotify_add_watch(2). A path that cannot be read is EFAULT only
    after the fd's checks (the VFS's), as Linux reads it after them."""
    try:
        name: bytes | None = _path(t, path)
    except KernelError as err:
        if err.errno != Errno.EFAULT:
            raise
        name = None
    return call(t, vfs.InotifyAddWatch(s32(fd), name, mask & 0xFFFF_FFFF))


def sys_inotify_rm_watch(t: Thread, fd: int, wd: int, *_: int) -> int:
    """Implements Linux inotify_rm_watch(2)."""
    return call(t, vfs.InotifyRmWatch(s32(fd), s32(wd)))


# -- reading and writing -------------------------------------------------------------
def _check_buffer(t: Thread, buf: int, count: int, write: bool) -> None:
    """EFAULT before anything is consumed, as Linux fails a bad buffer."""
    if count:
        aspace = t.process.aspace
        aspace.user_frame(buf, write)
        last = buf + count - 1
        if (last ^ buf) >> 12:  # (a buffer within one page: that page is checked)
            aspace.user_frame(last, write)


# (on x86 any access right implies read)
_WRITABLE, _READABLE = int(Prot.WRITE), int(Prot.READ | Prot.WRITE | Prot.EXEC)


def _lendable(t: Thread, buf: int, count: int, write: bool) -> int:
    """How much of [buf, buf+count) can be lent: up to the first byte in no VMA that
    allows the access (a regular file's read or write copies up to there, as Linux's
    does; the VFS fails any other file's call on a buffer not all good). EFAULT when
    that is the first byte."""
    if not count:
        return 0
    aspace = t.process.aspace
    aspace.user_frame(buf, write)
    end, va = buf + count, buf
    rights = _WRITABLE if write else _READABLE
    while va < end:
        vma = aspace.find(va)
        if vma is None or not vma.prot & rights:
            break
        va = vma.end
    return min(va, end) - buf


def _all_good(t: Thread, buf: int, count: int, write: bool) -> bool:
    """Whether every byte of a small buffer (``INLINE_MAX`` at most: one page, or two,
    each checked) allows the access, as a grant of all of it would (else the call lends
    its buffer, and the VFS decides what a partly bad one means)."""
    aspace = t.process.aspace
    try:
        aspace.user_frame(buf, write)
        last = buf + count - 1
        if (last ^ buf) >> 12:
            aspace.user_frame(last, write)
    except KernelError:
        return False
    return True


def sys_read(t: Thread, fd: int, buf: int, count: int, *_: int) -> int:
    """Implements Linux read(2); a buffer bad past its start reads up to there. A small
    read's bytes come back with the answer (``vfs.Inline``), copied here: no grant."""
    count = min(count, 0x7FFF_F000)
    if count and pipefast.ENABLED:  # (a pipe's: served here, ``linux/pipefast``)
        done = pipefast.read(t, s32(fd), buf, count)
        if done is not None:
            return done
    process = t.process
    if 0 < count <= INLINE_MAX and fastpath.ENABLED and _all_good(t, buf, count, True):
        inline = vfs.Inline(count)
        return call(t, vfs.Read(s32(fd), count, process.pgid, process.sid, inline),
                    deliver=_read_answer(t, _READ, buf, count, inline))
    good = _lendable(t, buf, count, True)
    return call(t, vfs.Read(s32(fd), count, process.pgid, process.sid),
                grants=(_grant(t, buf, good, True),),
                deliver=_read_answer(t, _READ, buf, count))


# struct signalfd_siginfo: signo, errno, code, pid, uid, fd, tid, band, overrun, trapno,
# status, int, ptr, utime, stime, addr (then addr_lsb and padding to 128 bytes)
SIGNALFD_SIGINFO = struct.Struct("<IiiIIiIIIIiiQQQQ")


def _read_answer(t: Thread, nr: int, buf: int, count: int,
                 inline: vfs.Inline | None = None) -> Callable[[Message], int]:
    """A read's answer, for the two reads the VFS cannot finish alone, and the bytes of
    an ``inline`` one, copied to ``buf`` (EFAULT if its memory went meanwhile).

    A background job reading the terminal gets SIGTTIN (its process group stops) and
    reads again when continued; EIO if it ignores or blocks SIGTTIN. A signalfd's
    read takes pending signals, which the personality owns.
    """
    def deliver(msg: Message) -> int:
        if inline is not None and inline.pieces:
            aspace = t.process.aspace
            for offset, piece in inline.pieces:
                aspace.copy_out(buf + offset, piece)
        if isinstance(msg.body, SignalsReady):  # a signalfd has some pending
            return _take_signals(t, nr, msg.body.mask, buf, count)
        if msg.body is not _BACKGROUND:
            return int(msg.body)
        if signals.ignores(t, signals.SIGTTIN):
            return -Errno.EIO
        _stop_job(t, signals.SIGTTIN)
        t.restart = nr  # the read runs again after the stop
        return 0
    return deliver


def _job(t: Thread) -> tuple[int, int]:
    """Who writes to (or controls) a terminal, for the SIGTTOU rule: the caller's process
    group and session; group 0 when SIGTTOU would not stop it (ignored or blocked)."""
    process = t.process
    return (0 if signals.ignores(t, signals.SIGTTOU) else process.pgid), process.sid


def _sigpipe(t: Thread, nr: int = -1) -> Callable[[Message], int]:
    """A writer's answer: EPIPE also raises SIGPIPE, as on Linux, and EFBIG (a file grown
    past RLIMIT_FSIZE) SIGXFSZ; a background job writing to (or changing) a terminal with
    TOSTOP gets SIGTTOU and writes again once continued."""
    def deliver(msg: Message) -> int:
        if msg.body in _EPIPE_EFBIG:
            # the call's own outcome, not an interruption: it ends with this error
            # whatever the handler's SA_RESTART (Linux never restarts it)
            state = linux_thread(t)
            state.answered = True  # (its sleep is over: the signal must not interrupt it)
            try:
                send_signal(t.process, SIGPIPE if msg.body == -Errno.EPIPE else SIGXFSZ, t)
            finally:
                state.answered = False
            return int(msg.body)
        elif msg.body is _BACKGROUND:
            if nr < 0:
                return -Errno.EIO  # (only calls that pass their job, and so nr, get this)
            _stop_job(t, signals.SIGTTOU)
            t.restart = nr
            return 0
        return int(msg.body)
    return deliver


def _stop_job(t: Thread, sig: int) -> None:
    group = t.process.pgid
    for process in list(t.process.kernel.processes.values()):
        if process.pgid == group and not process.zombie:
            send_signal(process, sig)


def sys_write(t: Thread, fd: int, buf: int, count: int, *_: int) -> int:
    """Implements Linux write(2); SIGPIPE with EPIPE on a pipe nobody reads. A buffer bad
    past its start writes up to there."""
    count = min(count, 0x7FFF_F000)
    if count and pipefast.ENABLED:  # (a pipe's: served here, ``linux/pipefast``)
        done = pipefast.write(t, s32(fd), buf, count)
        if done is not None:
            return done
    if 0 < count <= INLINE_MAX and fastpath.ENABLED:  # its bytes in the request: no grant
        try:
            data = t.process.aspace.copy_in(buf, count)
        except KernelError:
            data = None  # (partly bad: lent up to there, and the VFS decides)
        if data is not None:
            return call(t, vfs.Write(s32(fd), count, *_job(t), data),
                        deliver=_sigpipe(t, _WRITE))
    good = _lendable(t, buf, count, False)
    return call(t, vfs.Write(s32(fd), count, *_job(t)), grants=(_grant(t, buf, good, False),),
                deliver=_sigpipe(t, _WRITE))


def sys_pread64(t: Thread, fd: int, buf: int, count: int, offset: int, *_: int) -> int:
    """Implements Linux pread64(2) (a partly bad buffer: as read)."""
    good = _lendable(t, buf, count, True)
    return call(t, vfs.Pread(s32(fd), count, s64(offset)), grants=(_grant(t, buf, good, True),))


def sys_pwrite64(t: Thread, fd: int, buf: int, count: int, offset: int, *_: int) -> int:
    """Implements Linux pwrite64(2) (a partly bad buffer: as write)."""
    good = _lendable(t, buf, count, False)
    return call(t, vfs.Pwrite(s32(fd), count, s64(offset)), grants=(_grant(t, buf, good, False),),
                deliver=_sigpipe(t))


def _iovecs(t: Thread, iov: int, count: int, write: bool = False,
            check: bool = True) -> list[tuple[int, int]]:
    """An iovec array's (base, length) pairs, as Linux's import_iovec checks them: more
    than UIO_MAXIOV or a total past a ssize_t EINVAL, the array not there EFAULT (and,
    with ``check``, a buffer not all there)."""
    if not 0 <= count <= UIO_MAXIOV:
        raise KernelError(Errno.EINVAL, f"iovcnt {count}")
    raw = t.process.aspace.copy_in(iov, IOVEC.size * count)
    vecs = [IOVEC.unpack_from(raw, i * IOVEC.size) for i in range(count)]
    if sum(n for _, n in vecs) > MAX_RW_COUNT:
        raise KernelError(Errno.EINVAL, "iovec lengths overflow")
    if check:
        for base, n in vecs:
            _check_buffer(t, base, n, write)
    return vecs


def _iov(t: Thread, iov: int, iovcnt: int, write: bool) -> tuple[list[int], tuple[Cap, ...]]:
    """The lengths of a readv's or writev's buffers and a grant of each up to its first
    bad byte (the VFS decides what a short one means: a regular file moves the bytes
    before it, as Linux copies up to the fault; any other kind fails)."""
    vecs = _iovecs(t, iov, s32(iovcnt), write, check=False)
    grants = []
    for base, n in vecs:
        try:
            good = _lendable(t, base, n, write)
        except KernelError:
            good = 0
        grants.append(_grant(t, base, good, write))
    return [n for _, n in vecs], tuple(grants)


def _iov_or_error(t: Thread, iov: int, iovcnt: int, write: bool
                  ) -> tuple[list[int], tuple[Cap, ...], int]:
    """``_iov``'s lengths and grants, or the errno of an iovec array it could not take:
    the VFS answers that only after checking the fd, which Linux looks up first."""
    try:
        return (*_iov(t, iov, iovcnt, write), 0)
    except KernelError as err:
        return [], (), err.errno


def sys_preadv(t: Thread, fd: int, iov: int, iovcnt: int, pos: int, *_: int) -> int:
    """Implements Linux preadv(2) (on x86_64 the whole offset is ``pos_l``)."""
    if s64(pos) < 0:
        raise KernelError(Errno.EINVAL, "negative offset")
    lengths, grants, error = _iov_or_error(t, iov, iovcnt, True)
    return call(t, vfs.Pread(s32(fd), sum(lengths), s64(pos), tuple(lengths), error),
                grants=grants)


def sys_pwritev(t: Thread, fd: int, iov: int, iovcnt: int, pos: int, *_: int) -> int:
    """Implements Linux pwritev(2)."""
    if s64(pos) < 0:
        raise KernelError(Errno.EINVAL, "negative offset")
    lengths, grants, error = _iov_or_error(t, iov, iovcnt, False)
    return call(t, vfs.Pwrite(s32(fd), sum(lengths), s64(pos), tuple(lengths), error),
                grants=grants, deliver=_sigpipe(t))


def _offset_in(t: Thread, addr: int) -> int | None:
    """An in/out offset argument (loff_t *): its value, None for NULL; EFAULT unless it
    can be read and written back."""
    if not addr:
        return None
    value = struct.unpack("<q", t.process.aspace.copy_in(addr, 8))[0]
    t.process.aspace.copy_out(addr, struct.pack("<q", value))
    return int(value)


def _offset_out(t: Thread, addr: int, start: int | None,
                then: Callable[[Message], int] | None = None) -> Callable[[Message], int]:
    """The answer of a copy: on success the offset at ``addr`` moves by the count."""
    def deliver(msg: Message) -> int:
        result = then(msg) if then is not None else int(msg.body)
        if result > 0 and start is not None:
            t.process.aspace.copy_out(addr, struct.pack("<q", start + result))
        return result
    return deliver


def sys_sendfile(t: Thread, out_fd: int, in_fd: int, offset: int, count: int, *_: int) -> int:
    """Implements Linux sendfile(2): from a regular file to any file, inside the VFS."""
    start = _offset_in(t, offset)
    return call(t, vfs.Sendfile(s32(out_fd), s32(in_fd), start, count & 0xFFFF_FFFF_FFFF),
                deliver=_offset_out(t, offset, start, _sigpipe(t)))


def sys_copy_file_range(t: Thread, in_fd: int, in_off: int, out_fd: int, out_off: int,
                        count: int, flags: int, *_: int) -> int:
    """Implements Linux copy_file_range(2) between regular files."""
    if flags:
        raise KernelError(Errno.EINVAL, f"copy_file_range flags {flags:#x}")
    start_in, start_out = _offset_in(t, in_off), _offset_in(t, out_off)

    def deliver(msg: Message) -> int:
        result = _offset_out(t, in_off, start_in, _sigpipe(t))(msg)
        if result > 0 and start_out is not None:
            t.process.aspace.copy_out(out_off, struct.pack("<q", start_out + result))
        return result
    return call(t, vfs.CopyFileRange(s32(in_fd), start_in, s32(out_fd), start_out,
                                     count & 0xFFFF_FFFF_FFFF), deliver=deliver)


def sys_splice(t: Thread, fd_in: int, off_in: int, fd_out: int, off_out: int, length: int,
               flags: int, *_: int) -> int:
    """Implements Linux splice(2): between a pipe and a file, socket or pipe, in the VFS."""
    if not length:
        return 0
    flags &= 0xFFFF_FFFF
    if flags & ~SPLICE_F_ALL:
        raise KernelError(Errno.EINVAL, f"splice flags {flags:#x}")
    # the offsets are the VFS's to read (EFAULT only after Linux's earlier checks) and
    # to move (by the count; a device's stay)
    lend = t.process.kernel.ipc.lend
    grants = tuple(lend(t.process.pid, t.process.aspace, addr, 8, Right.READ | Right.WRITE)
                   for addr in (off_in, off_out) if addr)
    return call(t, vfs.Splice(s32(fd_in), bool(off_in), s32(fd_out), bool(off_out),
                              min(length, MAX_RW_COUNT), flags), grants=grants,
                deliver=_sigpipe(t))


def sys_tee(t: Thread, fd_in: int, fd_out: int, length: int, flags: int, *_: int) -> int:
    """Implements Linux tee(2): pipe to pipe, the bytes left in the first."""
    flags &= 0xFFFF_FFFF
    if flags & ~SPLICE_F_ALL:
        raise KernelError(Errno.EINVAL, f"tee flags {flags:#x}")
    if not length:
        return 0
    return call(t, vfs.Tee(s32(fd_in), s32(fd_out), min(length, MAX_RW_COUNT), flags),
                deliver=_sigpipe(t))


def sys_vmsplice(t: Thread, fd: int, iov: int, nr_segs: int, flags: int, *_: int) -> int:
    """Implements Linux vmsplice(2): the caller's buffers into a pipe (its write end) or
    out of it (its read end); which, only the VFS knows, so each buffer is lent for
    both and copy_out still refuses memory the caller cannot write (EFAULT)."""
    flags &= 0xFFFF_FFFF
    if flags & ~SPLICE_F_ALL:
        raise KernelError(Errno.EINVAL, f"vmsplice flags {flags:#x}")
    try:
        vecs, error = _iovecs(t, iov, nr_segs), 0
    except KernelError as err:
        vecs, error = [], err.errno
    lend = t.process.kernel.ipc.lend
    grants = tuple(lend(t.process.pid, t.process.aspace, base, n, Right.READ | Right.WRITE)
                   for base, n in vecs)
    return call(t, vfs.Vmsplice(s32(fd), [n for _, n in vecs], flags, error), grants=grants,
                deliver=_sigpipe(t))


def sys_close_range(t: Thread, first: int, last: int, flags: int, *_: int) -> int:
    """Implements Linux close_range(2)."""
    return call(t, vfs.CloseRange(first & 0xFFFF_FFFF, last & 0xFFFF_FFFF, flags & 0xFFFF_FFFF))


RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT, RWF_APPEND = 1, 2, 4, 8, 16


def _rwf(flags: int, allowed: int) -> None:
    """preadv2/pwritev2 flags: the hints CloudOS honours trivially (its files are
    always in memory and written through), EOPNOTSUPP for the others, as Linux."""
    if flags & ~allowed:
        raise KernelError(Errno.EOPNOTSUPP, f"RWF flags {flags:#x}")


def sys_preadv2(t: Thread, fd: int, iov: int, iovcnt: int, pos: int, _pos_h: int,
                flags: int, *_: int) -> int:
    """Implements Linux preadv2(2): offset -1 reads at the file position (readv)."""
    _rwf(flags, RWF_HIPRI | RWF_DSYNC | RWF_SYNC)
    if s64(pos) == -1:
        return sys_readv(t, fd, iov, iovcnt)
    return sys_preadv(t, fd, iov, iovcnt, pos)


def sys_pwritev2(t: Thread, fd: int, iov: int, iovcnt: int, pos: int, _pos_h: int,
                 flags: int, *_: int) -> int:
    """Implements Linux pwritev2(2): offset -1 writes at the file position (writev)."""
    _rwf(flags, RWF_HIPRI | RWF_DSYNC | RWF_SYNC)
    if s64(pos) == -1:
        return sys_writev(t, fd, iov, iovcnt)
    return sys_pwritev(t, fd, iov, iovcnt, pos)


def sys_readv(t: Thread, fd: int, iov: int, iovcnt: int, *_: int) -> int:
    """Implements Linux readv(2)."""
    lengths, grants, error = _iov_or_error(t, iov, iovcnt, True)
    return call(t, vfs.Readv(s32(fd), lengths, t.process.pgid, t.process.sid, error),
                grants=grants,
                deliver=_read_answer(t, Sysno.READV, 0, 0))


def _take_signals(t: Thread, nr: int, mask: int, buf: int, count: int) -> int:
    """Take up to count/128 pending signals of ``mask`` into signalfd_siginfo records."""
    out = bytearray()
    while len(out) + SIGNALFD_SIGINFO.size <= count:
        info = signals.take(t, mask)
        if info is None:
            break
        timer = info.code == signals.SI_TIMER
        u32, u64 = 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF
        record = SIGNALFD_SIGINFO.pack(
            info.signo, 0, s32(info.code), info.pid & u32, info.uid & u32, 0,
            (info.timer_id if timer else 0) & u32, 0, info.overrun & u32, 0, s32(info.status),
            s32(info.value), info.value & u64, 0, 0, info.addr & u64)
        out += record.ljust(128, b"\0")
    if not out:  # taken meanwhile by a handler or another reader: read (and wait) again
        t.restart = nr
        return 0
    t.process.aspace.copy_out(buf, out)
    return len(out)


SFD_CLOEXEC, SFD_NONBLOCK = 0o2000000, 0o4000


def sys_signalfd4(t: Thread, fd: int, mask: int, size: int, flags: int, *_: int) -> int:
    """Implements Linux signalfd4(2): a file that reads the caller's pending signals."""
    if size != 8:
        raise KernelError(Errno.EINVAL, f"sigset size {size}")
    if flags & ~(SFD_CLOEXEC | SFD_NONBLOCK):
        raise KernelError(Errno.EINVAL, f"signalfd flags {flags:#x}")
    wanted = struct.unpack("<Q", t.process.aspace.copy_in(mask, 8))[0] & ~signals.UNBLOCKABLE
    linux(t.process).signalfd_mask |= wanted  # from now on the VFS hears of these
    signals.tell_pending(t.process)  # and of what is pending already
    return call(t, vfs.Signalfd4(s32(fd), wanted, flags))


def sys_signalfd(t: Thread, fd: int, mask: int, size: int, *_: int) -> int:
    """Implements Linux signalfd(2)."""
    return sys_signalfd4(t, fd, mask, size, 0)


def sys_writev(t: Thread, fd: int, iov: int, iovcnt: int, *_: int) -> int:
    """Implements Linux writev(2)."""
    lengths, grants, error = _iov_or_error(t, iov, iovcnt, False)
    return call(t, vfs.Writev(s32(fd), lengths, *_job(t), error), grants=grants,
                deliver=_sigpipe(t, Sysno.WRITEV))


def sys_lseek(t: Thread, fd: int, offset: int, whence: int, *_: int) -> int:
    """Implements Linux lseek(2)."""
    return call(t, vfs.Lseek(s32(fd), s64(offset), s32(whence)))


def sys_ioctl(t: Thread, fd: int, cmd: int, arg: int, *_: int) -> int:
    """Implements Linux ioctl(2): terminal attributes, process groups, window size, FIONREAD,
    FIONBIO, FIOCLEX and FIONCLEX; an interface's SIOCGIF* on a socket."""
    cmd &= 0xFFFF_FFFF
    size, out = IOCTL_BUFFERS.get(cmd, (0, False))
    grants = (_grant(t, arg, size, out),) if size else ()
    if size:
        _check_buffer(t, arg, size, out)
    if cmd in IFREQ_IOCTLS:  # a struct ifreq, read (the name) and written (the answer)
        _check_buffer(t, arg, IFREQ_SIZE, True)
        grants = (t.process.kernel.ipc.lend(t.process.pid, t.process.aspace, arg, IFREQ_SIZE,
                                            Right.READ | Right.WRITE),)
    return call(t, vfs.Ioctl(s32(fd), cmd, arg, *_job(t)), grants=grants,
                deliver=_sigpipe(t, Sysno.IOCTL))


def sys_fsync(t: Thread, fd: int, *_: int) -> int:
    """Implements Linux fsync(2) and fdatasync(2): file systems write through."""
    return call(t, vfs.Fsync(s32(fd)))


def sys_sync(t: Thread, *_: int) -> int:
    """Implements Linux sync(2)."""
    return call(t, vfs.Sync())


def sys_syncfs(t: Thread, fd: int, *_: int) -> int:
    """Implements Linux syncfs(2): the fd's file system (any open file's: a pipe's too);
    file systems write through, so the fd is only checked (EBADF)."""
    def deliver(msg: Message) -> int:
        result = int(msg.body)
        return 0 if result == -Errno.EINVAL else result  # (fsync's "nothing to sync")
    return call(t, vfs.Fsync(s32(fd)), deliver=deliver)


def sys_readahead(t: Thread, fd: int, offset: int, count: int, *_: int) -> int:
    """Implements Linux readahead(2): the VFS checks the file (EBADF, then EINVAL for
    what is not a regular file or a block device); then a count over LLONG_MAX is
    EINVAL (fadvise's negative length). A hint: nothing is read ahead."""
    def deliver(msg: Message) -> int:
        result = int(msg.body)
        return -Errno.EINVAL if result == 0 and count >= 1 << 63 else result
    return call(t, vfs.Readahead(s32(fd)), deliver=deliver)


SYNC_FILE_RANGE_FLAGS = 7  # WAIT_BEFORE | WRITE | WAIT_AFTER


def sys_sync_file_range(t: Thread, fd: int, offset: int, nbytes: int, flags: int,
                        *_: int) -> int:
    """Implements Linux sync_file_range(2), its checks in Linux's order: the fd (EBADF),
    the arguments (EINVAL), the file's type (ESPIPE for what is not a file or a
    directory); file systems write through."""
    offset, nbytes = s64(offset), s64(nbytes)
    bad = flags & 0xFFFF_FFFF & ~SYNC_FILE_RANGE_FLAGS or offset < 0 or nbytes < 0 \
        or offset + nbytes >= 1 << 63

    def deliver(msg: Message) -> int:
        result = int(msg.body)
        if result == -Errno.EBADF:
            return result
        if bad:
            return -Errno.EINVAL
        return -Errno.ESPIPE if result == -Errno.EINVAL else result
    return call(t, vfs.Fsync(s32(fd)), deliver=deliver)


# -- poll and select -------------------------------------------------------------------
FD_SETSIZE = 1024  # glibc's fd_set, in bits


def _poll(t: Thread, fds: int, nfds: int, timeout: float | None) -> int:
    nfds &= 0xFFFF_FFFF  # (an unsigned int)
    if nfds > linux(t.process).rlimits[RLIMIT_NOFILE][0]:
        raise KernelError(Errno.EINVAL, f"{nfds} fds, above RLIMIT_NOFILE")
    raw = t.process.aspace.copy_in(fds, 8 * nfds)
    pairs = [struct.unpack_from("<ih", raw, 8 * i) for i in range(nfds)]
    _check_buffer(t, fds, 8 * nfds, True)
    ms = -1 if timeout is None else int(min(timeout, WAIT_MAX) * 1000)
    return call(t, vfs.Poll([(fd, ev & 0xFFFF) for fd, ev in pairs], ms),
                grants=(_grant(t, fds, 8 * nfds, True),), deadline=_deadline(t,
                        timeout), timeout_result=0)


def sys_poll(t: Thread, fds: int, nfds: int, timeout_ms: int, *_: int) -> int:
    """Implements Linux poll(2)."""
    ms = s32(timeout_ms)
    return _poll(t, fds, nfds, None if ms < 0 else ms / 1000)


def _wait_mask(t: Thread, mask: int, size: int) -> None:
    """The signal mask a ppoll, pselect6 or epoll_pwait waits with (none: the thread's)."""
    if not mask:
        return
    if size != 8:
        raise KernelError(Errno.EINVAL, f"sigset size {size}")
    signals.set_temporary_mask(t, struct.unpack("<Q", t.process.aspace.copy_in(mask, 8))[0])


def sys_ppoll(t: Thread, fds: int, nfds: int, tsp: int, sigmask: int, size: int,
              *_: int) -> int:
    """Implements Linux ppoll(2), with its signal mask (the timeout is not updated)."""
    timeout = read_timespec(t.process.aspace, tsp) if tsp else None
    _wait_mask(t, sigmask, size)
    return _poll(t, fds, nfds, timeout)


def _select(t: Thread, nfds: int, sets: tuple[int, int, int], timeout: float | None) -> int:
    """select(2) as a poll: fd_set bitmaps in, ready bits out; the count of bits set.
    Linux cuts ``nfds`` at its fd table's size, which covers every open fd; the personality
    does not know that size and cuts at RLIMIT_NOFILE's soft limit (FD_SETSIZE at least),
    above which no fd opens."""
    nfds = s32(nfds)
    if nfds < 0:
        raise KernelError(Errno.EINVAL, f"nfds {nfds}")
    nfds = min(nfds, max(FD_SETSIZE, linux(t.process).rlimits[RLIMIT_NOFILE][0]))
    size = (nfds + 63) // 64 * 8
    aspace = t.process.aspace
    below = (1 << nfds) - 1  # (the bits past nfds in its last word are not looked at)
    given = [aspace.copy_in(a, size) if a else bytes(size) for a in sets]
    wanted = [int.from_bytes(raw, "little") & below for raw in given]
    for addr in sets:
        if addr:  # all clear unless something is ready: what a timeout leaves
            aspace.copy_out(addr, bytes(size))
    # (but an error or a signal leaves them as they came: ``deliver``, ``signals.sets_back``)
    linux_thread(t).select_sets = tuple((a, raw) for a, raw in zip(sets, given) if a)
    pairs = []
    left = wanted[0] | wanted[1] | wanted[2]
    while left:  # each fd with a bit set, lowest first
        fd = (left & -left).bit_length() - 1
        left &= left - 1
        events = (POLLIN if wanted[0] >> fd & 1 else 0) | (POLLOUT if wanted[1] >> fd & 1 else 0) \
            | (POLLPRI if wanted[2] >> fd & 1 else 0)
        pairs.append((fd, events))

    def interrupted() -> int:
        signals.sets_back(t)
        return undone_by_signal(t)

    def deliver(msg: Message) -> int:
        if not isinstance(msg.body, PollReady):  # nothing ready, or an error
            result = int(msg.body)
            if result < 0:
                signals.sets_back(t)
            linux_thread(t).select_sets = ()
            return result
        revents = msg.body.revents
        out = [0, 0, 0]
        for (fd, events), got in zip(pairs, revents):
            if got & POLLNVAL:
                signals.sets_back(t)
                return -Errno.EBADF
            out[0] |= bool(got & (POLLIN | POLLHUP | POLLERR) and events & POLLIN) << fd
            out[1] |= bool(got & (POLLOUT | POLLERR) and events & POLLOUT) << fd
            out[2] |= bool(got & POLLPRI and events & POLLPRI) << fd
        linux_thread(t).select_sets = ()
        for addr, bits in zip(sets, out):
            if addr:
                aspace.copy_out(addr, bits.to_bytes(size, "little"))
        return sum(bin(bits).count("1") for bits in out)

    ms = -1 if timeout is None else int(min(timeout, WAIT_MAX) * 1000)
    return call(t, vfs.Poll(pairs, ms), deadline=_deadline(t, timeout), timeout_result=0,
                deliver=deliver, interrupted=interrupted)


# -- timerfd: expirations counted by the VFS, woken by a kernel timer -------------------
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2


def sys_timerfd_create(t: Thread, clock: int, flags: int, *_: int) -> int:
    """Implements Linux timerfd_create(2) for CLOCK_REALTIME, CLOCK_MONOTONIC and CLOCK_BOOTTIME."""
    return call(t, vfs.TimerfdCreate(s32(clock), s32(flags)))


def sys_timerfd_settime(t: Thread, fd: int, flags: int, new: int, old: int, *_: int) -> int:
    """Implements Linux timerfd_settime(2); TFD_TIMER_CANCEL_ON_SET is accepted but never fires."""
    flags = s32(flags)
    raw = t.process.aspace.copy_in(new, 32)
    i_sec, i_nsec, v_sec, v_nsec = struct.unpack("<qqqq", raw)
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise KernelError(Errno.EINVAL, "bad itimerspec or flags")
    # (times past WAIT_MAX, 136 years, are cut there: the VFS counts in 64-bit nanoseconds)
    interval = min(seconds(i_sec, i_nsec), WAIT_MAX)
    value = min(seconds(v_sec, v_nsec), WAIT_MAX)
    if old:
        _check_buffer(t, old, 32, True)
    grants = (_grant(t, old, 32, True),) if old else ()
    return call(t,
                vfs.TimerfdSettime(s32(fd), flags, interval, value,
                                   bool(flags & TFD_TIMER_ABSTIME)), grants=grants)


def sys_timerfd_gettime(t: Thread, fd: int, cur: int, *_: int) -> int:
    """Implements Linux timerfd_gettime(2)."""
    _check_buffer(t, cur, 32, True)
    return call(t, vfs.TimerfdGettime(s32(fd)), grants=(_grant(t, cur, 32, True),))


# -- epoll: an interest list kept by the VFS, waited on like poll ------------------------
EPOLL_EVENT_SIZE = 12  # struct epoll_event is packed on x86_64
EPOLL_CTL_DEL = 2


def sys_epoll_create1(t: Thread, flags: int, *_: int) -> int:
    """Implements Linux epoll_create1(2)."""
    return call(t, vfs.EpollCreate1(s32(flags)))


def sys_epoll_create(t: Thread, size: int, *_: int) -> int:
    """Implements Linux epoll_create(2): the size is only checked, as on Linux."""
    if s32(size) <= 0:
        raise KernelError(Errno.EINVAL, f"size {s32(size)}")
    return sys_epoll_create1(t, 0)


def sys_epoll_ctl(t: Thread, epfd: int, op: int, fd: int, event: int, *_: int) -> int:
    """Implements Linux epoll_ctl(2); EPOLLET reports changes, EPOLLONESHOT fires once."""
    events, data = 0, 0
    if s32(op) != EPOLL_CTL_DEL:  # which needs no event
        events, data = struct.unpack("<IQ", t.process.aspace.copy_in(event, EPOLL_EVENT_SIZE))
    return call(t, vfs.EpollCtl(s32(epfd), s32(op), s32(fd), events, data))


def sys_epoll_wait(t: Thread, epfd: int, events: int, maxevents: int, timeout_ms: int,
                   *_: int) -> int:
    """Implements Linux epoll_wait(2)."""
    ms = s32(timeout_ms)
    return _epoll_wait(t, epfd, events, maxevents, None if ms < 0 else ms / 1000)


def _epoll_wait(t: Thread, epfd: int, events: int, maxevents: int,
                timeout: float | None) -> int:
    """epoll_wait for up to ``timeout`` seconds (None: no limit, 0: a look)."""
    maxevents = s32(maxevents)
    if not 0 < maxevents <= 0x7FFF_FFFF // EPOLL_EVENT_SIZE:
        raise KernelError(Errno.EINVAL, f"maxevents {maxevents}")
    size = maxevents * EPOLL_EVENT_SIZE
    _check_buffer(t, events, size, True)
    ms = -1 if timeout is None else 0 if timeout == 0 else 1  # (the deadline says when)
    return call(t, vfs.EpollWait(s32(epfd), maxevents, ms),
                grants=(_grant(t, events, size, True),), deadline=_deadline(t,
                        timeout), timeout_result=0)


def sys_epoll_pwait(t: Thread, epfd: int, events: int, maxevents: int, timeout_ms: int,
                    sigmask: int, size: int, *_: int) -> int:
    """Implements Linux epoll_pwait(2), with its signal mask."""
    _wait_mask(t, sigmask, size)
    return sys_epoll_wait(t, epfd, events, maxevents, timeout_ms)


def sys_epoll_pwait2(t: Thread, epfd: int, events: int, maxevents: int, timeout: int,
                     sigmask: int, size: int, *_: int) -> int:
    """Implements Linux epoll_pwait2(2): epoll_pwait with a struct timespec timeout (NULL:
    no limit), read and checked first, as Linux."""
    wait = read_timespec(t.process.aspace, timeout) if timeout else None
    _wait_mask(t, sigmask, size)
    return _epoll_wait(t, epfd, events, maxevents, wait)


def _deadline(t: Thread, timeout: float | None) -> float | None:
    """When a waiting poll gives up; none for 0, which the server answers at once."""
    if not timeout:
        return None
    return deadline(t, timeout)


def sys_select(t: Thread, nfds: int, rfds: int, wfds: int, efds: int, tv: int, *_: int) -> int:
    """Implements Linux select(2) (the timeout is not updated)."""
    timeout = read_select_timeval(t.process.aspace, tv) if tv else None
    return _select(t, nfds, (rfds, wfds, efds), timeout)


def sys_pselect6(t: Thread, nfds: int, rfds: int, wfds: int, efds: int, tsp: int,
                 masked: int) -> int:
    """Implements Linux pselect6(2), with its signal mask (passed as {sigset_t *, size})."""
    timeout = read_timespec(t.process.aspace, tsp) if tsp else None
    if masked:
        mask, size = struct.unpack("<QQ", t.process.aspace.copy_in(masked, 16))
        _wait_mask(t, mask, size)
    return _select(t, nfds, (rfds, wfds, efds), timeout)


# -- metadata ---------------------------------------------------------------------------
def _stat(t: Thread, dirfd: int, path: bytes, flags: int, buf: int) -> int:
    _check_buffer(t, buf, 144, True)
    return call(t, vfs.Newfstatat(dirfd, path, flags), grants=(_grant(t, buf, 144, True),))


def sys_stat(t: Thread, path: int, buf: int, *_: int) -> int:
    """Implements Linux stat(2)."""
    return _stat(t, AT_FDCWD, _path(t, path), 0, buf)


def sys_lstat(t: Thread, path: int, buf: int, *_: int) -> int:
    """Implements Linux lstat(2)."""
    return _stat(t, AT_FDCWD, _path(t, path), AT_SYMLINK_NOFOLLOW, buf)


def sys_fstat(t: Thread, fd: int, buf: int, *_: int) -> int:
    """Implements Linux fstat(2)."""
    return _stat(t, s32(fd), b"", AT_EMPTY_PATH, buf)


def sys_newfstatat(t: Thread, dirfd: int, path: int, buf: int, flags: int, *_: int) -> int:
    """Implements Linux newfstatat(2)."""
    return _stat(t, s32(dirfd), _path(t, path), s32(flags), buf)


def sys_statx(t: Thread, dirfd: int, path: int, flags: int, mask: int, buf: int, *_: int) -> int:
    """Implements Linux statx(2): the basic fields."""
    _check_buffer(t, buf, 256, True)
    return call(t, vfs.Statx(s32(dirfd), _path(t, path), s32(flags), mask),
                grants=(_grant(t, buf, 256, True),))


def sys_access(t: Thread, path: int, mode: int, *_: int) -> int:
    """Implements Linux access(2)."""
    return call(t, vfs.Faccessat(AT_FDCWD, _path(t, path), s32(mode), 0))


def sys_faccessat(t: Thread, dirfd: int, path: int, mode: int, *_: int) -> int:
    """Implements Linux faccessat(2)."""
    return call(t, vfs.Faccessat(s32(dirfd), _path(t, path), s32(mode), 0))


def sys_faccessat2(t: Thread, dirfd: int, path: int, mode: int, flags: int, *_: int) -> int:
    """Implements Linux faccessat2(2): AT_EACCESS checks with the effective ids."""
    if s32(flags) & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(Errno.EINVAL, f"faccessat2 flags {flags:#x}")
    return call(t, vfs.Faccessat(s32(dirfd), _path(t, path), s32(mode), s32(flags)))


def sys_getdents64(t: Thread, fd: int, buf: int, count: int, *_: int) -> int:
    """Implements Linux getdents64(2)."""
    _check_buffer(t, buf, count, True)
    return call(t, vfs.Getdents64(s32(fd), count), grants=(_grant(t, buf, count, True),))


def sys_readlink(t: Thread, path: int, buf: int, size: int, *_: int) -> int:
    """Implements Linux readlink(2)."""
    return sys_readlinkat(t, AT_FDCWD & 0xFFFF_FFFF, path, buf, size)


def sys_readlinkat(t: Thread, dirfd: int, path: int, buf: int, size: int, *_: int) -> int:
    """Implements Linux readlinkat(2)."""
    size = s32(size)
    if size <= 0:
        raise KernelError(Errno.EINVAL, "buffer size")
    _check_buffer(t, buf, size, True)
    return call(t, vfs.Readlinkat(s32(dirfd), _path(t, path), size),
                grants=(_grant(t, buf, size, True),))


def sys_getcwd(t: Thread, buf: int, size: int, *_: int) -> int:
    """Implements Linux getcwd(2)."""
    _check_buffer(t, buf, min(size, PATH_MAX), True)
    return call(t, vfs.Getcwd(size), grants=(_grant(t, buf, min(size, PATH_MAX), True),))


def sys_chdir(t: Thread, path: int, *_: int) -> int:
    """Implements Linux chdir(2)."""
    return call(t, vfs.Chdir(_path(t, path)))


def sys_fchdir(t: Thread, fd: int, *_: int) -> int:
    """Implements Linux fchdir(2)."""
    return call(t, vfs.Fchdir(s32(fd)))


def sys_umask(t: Thread, mask: int, *_: int) -> int:
    """Implements Linux umask(2)."""
    return call(t, vfs.Umask(mask & 0o777))


def sys_chmod(t: Thread, path: int, mode: int, *_: int) -> int:
    """Implements Linux chmod(2)."""
    return call(t, vfs.Fchmodat(AT_FDCWD, _path(t, path), mode & 0o7777))


def sys_fchmodat(t: Thread, dirfd: int, path: int, mode: int, *_: int) -> int:
    """Implements Linux fchmodat(2)."""
    return call(t, vfs.Fchmodat(s32(dirfd), _path(t, path), mode & 0o7777))


def sys_fchmodat2(t: Thread, dirfd: int, path: int, mode: int, flags: int, *_: int) -> int:
    """Implements Linux fchmodat2(2): fchmodat with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH."""
    if s32(flags) & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(Errno.EINVAL, f"fchmodat2 flags {flags:#x}")
    return call(t, vfs.Fchmodat(s32(dirfd), _path(t, path), mode & 0o7777, s32(flags)))


def sys_fchmod(t: Thread, fd: int, mode: int, *_: int) -> int:
    """Implements Linux fchmod(2)."""
    return call(t, vfs.Fchmod(s32(fd), mode & 0o7777))


def sys_chown(t: Thread, path: int, uid: int, gid: int, *_: int) -> int:
    """Implements Linux chown(2)."""
    return call(t, vfs.Fchownat(AT_FDCWD, _path(t, path), s32(uid), s32(gid), 0))


def sys_lchown(t: Thread, path: int, uid: int, gid: int, *_: int) -> int:
    """Implements Linux lchown(2)."""
    return call(t, vfs.Fchownat(AT_FDCWD, _path(t, path), s32(uid), s32(gid), AT_SYMLINK_NOFOLLOW))


def sys_fchown(t: Thread, fd: int, uid: int, gid: int, *_: int) -> int:
    """Implements Linux fchown(2)."""
    return call(t, vfs.Fchownat(s32(fd), b"", s32(uid), s32(gid), AT_EMPTY_PATH))


def sys_fchownat(t: Thread, dirfd: int, path: int, uid: int, gid: int, flags: int,
                 *_: int) -> int:
    """Implements Linux fchownat(2)."""
    return call(t, vfs.Fchownat(s32(dirfd), _path(t, path), s32(uid), s32(gid), s32(flags)))


def sys_utimensat(t: Thread, dirfd: int, path: int, times: int, flags: int, *_: int) -> int:
    """Implements Linux utimensat(2)."""
    if s32(flags) & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(Errno.EINVAL, f"utimensat flags {flags:#x}")
    stamps = None
    if times:
        raw = t.process.aspace.copy_in(times, 32)
    if times and struct.unpack_from("<8xq8xq", raw) != (UTIME_NOW, UTIME_NOW):
        stamps = (_stamp(*struct.unpack_from("<qq", raw, 0)),
                  _stamp(*struct.unpack_from("<qq", raw, 16)))
    return call(t, vfs.Utimensat(s32(dirfd), _path(t, path) if path else None, stamps, s32(flags)))


def sys_utime(t: Thread, path: int, times: int, *_: int) -> int:
    """Implements Linux utime(2): whole seconds (struct utimbuf), or now for NULL."""
    stamps = None
    if times:
        actime, modtime = struct.unpack("<qq", t.process.aspace.copy_in(times, 16))
        stamps = (actime * 10**9, modtime * 10**9)
    return call(t, vfs.Utimensat(AT_FDCWD, _path(t, path), stamps, 0))


def sys_utimes(t: Thread, path: int, times: int, *_: int) -> int:
    """Implements Linux utimes(2): two struct timeval (tv_usec in [0, 10^6), else
    EINVAL), or now for NULL."""
    return sys_futimesat(t, AT_FDCWD, path, times)


def sys_futimesat(t: Thread, dirfd: int, path: int, times: int, *_: int) -> int:
    """Implements Linux futimesat(2): utimes relative to ``dirfd``; a NULL path is the
    file ``dirfd`` itself (EFAULT with AT_FDCWD, as Linux)."""
    stamps = None
    if times:
        values = struct.unpack("<qqqq", t.process.aspace.copy_in(times, 32))
        if not all(0 <= usec < 10**6 for usec in values[1::2]):
            raise KernelError(Errno.EINVAL, "tv_usec out of range")
        stamps = (values[0] * 10**9 + values[1] * 1000, values[2] * 10**9 + values[3] * 1000)
    dirfd = s32(dirfd)
    if not path and dirfd == AT_FDCWD:
        raise KernelError(Errno.EFAULT, "futimesat without a path or a file")
    return call(t, vfs.Utimensat(dirfd, _path(t, path) if path else None, stamps, 0))


def _stamp(sec: int, nsec: int) -> int | None:
    """A utimensat time in ns: now, None for "leave it" (UTIME_OMIT); EINVAL for a
    tv_nsec outside [0, 10^9) (any tv_sec is a time: the file system clamps it)."""
    if nsec == UTIME_NOW:
        return time.time_ns()
    if nsec == UTIME_OMIT:
        return None
    if not 0 <= nsec < 10**9:
        raise KernelError(Errno.EINVAL, f"tv_nsec {nsec}")
    return sec * 10**9 + nsec


def sys_truncate(t: Thread, path: int, length: int, *_: int) -> int:
    """Implements Linux truncate(2)."""
    return call(t, vfs.Truncate(_path(t, path), s64(length)), deliver=_sigpipe(t))


def sys_ftruncate(t: Thread, fd: int, length: int, *_: int) -> int:
    """Implements Linux ftruncate(2)."""
    return call(t, vfs.Ftruncate(s32(fd), s64(length)), deliver=_sigpipe(t))


def sys_statfs(t: Thread, path: int, buf: int, *_: int) -> int:
    """Implements Linux statfs(2)."""
    _check_buffer(t, buf, 120, True)
    return call(t, vfs.Statfs(_path(t, path)), grants=(_grant(t, buf, 120, True),))


def sys_fstatfs(t: Thread, fd: int, buf: int, *_: int) -> int:
    """Implements Linux fstatfs(2)."""
    _check_buffer(t, buf, 120, True)
    return call(t, vfs.Fstatfs(s32(fd)), grants=(_grant(t, buf, 120, True),))


# -- names ------------------------------------------------------------------------------
def sys_mkdir(t: Thread, path: int, mode: int, *_: int) -> int:
    """Implements Linux mkdir(2)."""
    return call(t, vfs.Mkdirat(AT_FDCWD, _path(t, path), mode & 0o7777))


def sys_mkdirat(t: Thread, dirfd: int, path: int, mode: int, *_: int) -> int:
    """Implements Linux mkdirat(2)."""
    return call(t, vfs.Mkdirat(s32(dirfd), _path(t, path), mode & 0o7777))


def sys_mknod(t: Thread, path: int, mode: int, dev: int, *_: int) -> int:
    """Implements Linux mknod(2)."""
    return sys_mknodat(t, AT_FDCWD & 0xFFFF_FFFF, path, mode, dev)


def sys_mknodat(t: Thread, dirfd: int, path: int, mode: int, dev: int, *_: int) -> int:
    """Implements Linux mknodat(2): FIFOs, sockets, regular files, and (with CAP_MKNOD)
    device nodes; the 32-bit dev is decoded as Linux's new_decode_dev."""
    dev &= 0xFFFF_FFFF
    major, minor = (dev & 0xFFF00) >> 8, (dev & 0xFF) | ((dev >> 12) & 0xFFF00)
    return call(t, vfs.Mknodat(s32(dirfd), _path(t, path), mode & 0xFFFF_FFFF,
                               os.makedev(major, minor)))


def sys_fallocate(t: Thread, fd: int, mode: int, offset: int, length: int, *_: int) -> int:
    """Implements Linux fallocate(2) as tmpfs does: mode 0, FALLOC_FL_KEEP_SIZE, and
    FALLOC_FL_PUNCH_HOLE with KEEP_SIZE (others: EOPNOTSUPP)."""
    offset, length = s64(offset), s64(length)
    # EFBIG raises SIGXFSZ for RLIMIT_FSIZE, not beyond the largest file a file system holds
    deliver = _sigpipe(t) if 0 <= offset + length <= FILE_SIZE_MAX else None
    return call(t, vfs.Fallocate(s32(fd), s32(mode), offset, length), deliver=deliver)


def sys_rmdir(t: Thread, path: int, *_: int) -> int:
    """Implements Linux rmdir(2)."""
    return call(t, vfs.Unlinkat(AT_FDCWD, _path(t, path), AT_REMOVEDIR))


def sys_unlink(t: Thread, path: int, *_: int) -> int:
    """Implements Linux unlink(2)."""
    return call(t, vfs.Unlinkat(AT_FDCWD, _path(t, path), 0))


def sys_unlinkat(t: Thread, dirfd: int, path: int, flags: int, *_: int) -> int:
    """Implements Linux unlinkat(2)."""
    return call(t, vfs.Unlinkat(s32(dirfd), _path(t, path), s32(flags)))


def sys_rename(t: Thread, old: int, new: int, *_: int) -> int:
    """Implements Linux rename(2)."""
    return call(t, vfs.Renameat2(AT_FDCWD, _path(t, old), AT_FDCWD, _path(t, new), 0))


def sys_renameat(t: Thread, olddir: int, old: int, newdir: int, new: int, *_: int) -> int:
    """Implements Linux renameat(2)."""
    return call(t, vfs.Renameat2(s32(olddir), _path(t, old), s32(newdir), _path(t, new), 0))


def sys_renameat2(t: Thread, olddir: int, old: int, newdir: int, new: int, flags: int,
                  *_: int) -> int:
    """Implements Linux renameat2(2): RENAME_NOREPLACE and RENAME_EXCHANGE."""
    return call(t,
                vfs.Renameat2(s32(olddir), _path(t, old), s32(newdir), _path(t, new), s32(flags)))


def sys_link(t: Thread, old: int, new: int, *_: int) -> int:
    """Implements Linux link(2)."""
    return call(t, vfs.Linkat(AT_FDCWD, _path(t, old), AT_FDCWD, _path(t, new), 0))


def sys_linkat(t: Thread, olddir: int, old: int, newdir: int, new: int, flags: int,
               *_: int) -> int:
    """Implements Linux linkat(2)."""
    return call(t, vfs.Linkat(s32(olddir), _path(t, old), s32(newdir), _path(t, new), s32(flags)))


def sys_symlink(t: Thread, target: int, path: int, *_: int) -> int:
    """Implements Linux symlink(2)."""
    return call(t, vfs.Symlinkat(_path(t, target), AT_FDCWD, _path(t, path)))


def sys_symlinkat(t: Thread, target: int, dirfd: int, path: int, *_: int) -> int:
    """Implements Linux symlinkat(2)."""
    return call(t, vfs.Symlinkat(_path(t, target), s32(dirfd), _path(t, path)))



# -- extended attributes ------------------------------------------------------------------
def sys_xattr_path(t: Thread, path: int, *_: int) -> int:
    """Implements Linux {get,set,list,remove}xattr(2): ENOTSUP once the path resolves."""
    return call(t, vfs.XattrPath(_path(t, path), t.syscall not in LXATTR))


def sys_xattr_fd(t: Thread, fd: int, *_: int) -> int:
    """Implements Linux f{get,set,list,remove}xattr(2): ENOTSUP for an open fd."""
    return call(t, vfs.XattrFd(s32(fd)))


LXATTR = {Sysno.LSETXATTR, Sysno.LGETXATTR, Sysno.LLISTXATTR, Sysno.LREMOVEXATTR}  # no follow


def sys_fadvise64(t: Thread, fd: int, offset: int, length: int, advice: int, *_: int) -> int:
    """Implements Linux fadvise64(2): advice is checked, then ignored (no page cache)."""
    if not 0 <= s32(advice) <= 5 or s64(length) < 0:
        raise KernelError(Errno.EINVAL, "fadvise arguments")
    result = call(t, vfs.Fcntl(s32(fd), F_GETFD, 0), deliver=lambda msg: min(0, int(msg.body)))
    return result  # fcntl(F_GETFD) answers: 0, or EBADF for a closed fd
