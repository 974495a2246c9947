"""Pseudo-terminal open files: masters (/dev/ptmx) and slaves (/dev/pts/N).

Owns: opening a master (a new pseudo-terminal from ``devpts``) and a slave (EIO while
locked; the controlling terminal of a session leader that has none, unless
O_NOCTTY), the reads and writes of both sides (deferred replies while there is
nothing to read or no room, or, for a non-canonical slave read with VTIME, until
its timer runs out: a PtyTimer notification; EIO on the master once every slave has
closed and the data is drained; end of file on the slave and EIO for its writers once the master
has closed), their poll events, the hang-up a closed master causes (SIGHUP and
SIGCONT to the session leader), the signal keys (to the foreground process group),
and the terminal ioctls (termios and flushing, which either side applies to the
slave's line discipline; window size with SIGWINCH; the controlling terminal and
job control: TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID; the master's
TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER). A background job of the slave's
session is stopped as on the console (``console.BACKGROUND``).
Never: keeps the pseudo-terminal's state (``servers.tty.pty``) or its names
(``devpts``); knows a process's group beyond what a request says (a session's
controlling terminal is lost when its leader is gone from the VFS's processes).
Called by: ``vfs.server`` (opens of /dev/ptmx, /dev/pts/*, /dev/tty, and every
operation on a pseudo-terminal file).
"""

from __future__ import annotations

import os
import struct
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from cloudos.abi.flags import OwnerType
from cloudos.abi.signal import Signal
from cloudos.abi.tty import TtyIoctl as T
from cloudos.abi.tty import PTY_SLAVE_MAJOR, WINSIZE_FORMAT, tty_nr
from cloudos.abi.vfs import Ioctl, Op, PtyTimer
from cloudos.errno import Errno, KernelError
from cloudos.servers.tty.ldisc import ICANON, TERMIOS, VMIN, VSTART, VSTOP, VTIME, Termios
from cloudos.servers.vfs import files
from cloudos.servers.vfs.console import BACKGROUND, CONSOLE_SESSION, TOSTOP
from cloudos.servers.vfs.devpts import DevPts
from cloudos.servers.vfs.fileops import FileOps, scatter
from cloudos.servers.vfs.files import O_CLOEXEC, O_NOCTTY, O_NONBLOCK, OpenFile
from cloudos.servers.vfs.fs import Attr
from cloudos.servers.vfs.paths import Step, Walk

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.tty.pty import Pty  # (loaded at the first open of /dev/ptmx)
    from cloudos.servers.vfs.server import Proc, Vfs, VfsState

POLLIN, POLLOUT, POLLERR, POLLHUP = 1, 4, 8, 16
TCIFLUSH, TCOFLUSH, TCIOFLUSH = 0, 1, 2
OWNER_PID, OWNER_PGRP = int(OwnerType.PID), int(OwnerType.PGRP)
SIGHUP, SIGCONT, SIGWINCH = int(Signal.SIGHUP), int(Signal.SIGCONT), int(Signal.SIGWINCH)
CAP_SYS_ADMIN = 21  # TIOCSCTTY with 1 takes a terminal from another session
PEER_FLAGS = files.O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC  # TIOCGPTPEER's


# -- finding things ------------------------------------------------------------------------
def devpts(vfs: Vfs) -> tuple[bytes, DevPts]:
    """The mounted devpts and where (ENODEV when the machine has none)."""
    for path, fs in vfs.state.namespace.mounts.items():
        if isinstance(fs, DevPts):
            return path, fs
    raise KernelError(Errno.ENODEV, "no devpts is mounted")


def _pty(file: OpenFile) -> Pty:
    from cloudos.servers.tty.pty import Pty  # (loaded by devpts.allocate, the first open)

    assert isinstance(file.pty, Pty)
    return file.pty


def _session(vfs: Vfs, pty: Pty) -> int:
    """The session whose controlling terminal ``pty`` is; a session whose leader has
    exited has none (Linux's disassociate_ctty)."""
    if pty.session and pty.session not in vfs.state.procs:
        pty.session = pty.pgrp = 0
    return pty.session


def session_terminal(state: VfsState, sid: int) -> tuple[int, int]:
    """/proc/<pid>/stat's tty_nr and tpgid for a process of session ``sid``: its
    controlling pseudo-terminal's device and foreground group, or (0, -1)."""
    for fs in state.namespace.mounts.values():
        if isinstance(fs, DevPts):
            for pty in fs.ptys.values():
                if sid and pty.session == sid and sid in state.procs:
                    return tty_nr(PTY_SLAVE_MAJOR, pty.index), pty.pgrp or -1
    return 0, -1


def controlling(vfs: Vfs, sid: int) -> Pty | None:
    """The pseudo-terminal that is session ``sid``'s controlling terminal, if one is."""
    try:
        ptys = devpts(vfs)[1].ptys.values()
    except KernelError:
        return None
    return next((p for p in ptys if sid and _session(vfs, p) == sid), None)


def has_terminal(vfs: Vfs, sid: int) -> bool:
    """Whether session ``sid`` has a controlling terminal: a pseudo-terminal, or the
    console (the first session's, when the host's stdin is a terminal)."""
    return controlling(vfs, sid) is not None or sid == CONSOLE_SESSION and os.isatty(0)


def leader_exited(vfs: Vfs, pid: int) -> None:
    """Process ``pid`` exited: if it led a session with a controlling pseudo-terminal,
    the foreground group gets SIGHUP and the session loses the terminal (Linux's
    disassociate_ctty on exit)."""
    pty = controlling(vfs, pid)
    if pty is not None:
        _signal_group(vfs, pty.pgrp, SIGHUP)
        pty.session = pty.pgrp = 0


def _signal_group(vfs: Vfs, pgrp: int, sig: int) -> None:
    if pgrp:
        vfs.state.send_sigio(OWNER_PGRP, pgrp, sig)


# -- opening -------------------------------------------------------------------------------
def open_master(vfs: Vfs, proc: Proc, walk: Walk, status: int, cloexec: bool) -> int:
    """An open of /dev/ptmx (or /dev/pts/ptmx): a new pseudo-terminal, locked."""
    proc.fds.check_free(1)
    pty = devpts(vfs)[1].allocate(proc.who.fsuid)
    return proc.fds.install(OpenFile("ptm", status, walk, pty=pty), cloexec)


def open_slave(vfs: Vfs, proc: Proc, pty: Pty, walk: Walk, flags: int, sid: int) -> int:
    """An open of /dev/pts/N: EIO while locked or hung up; a session leader with no
    controlling terminal gets this one, if it is no other session's, unless O_NOCTTY."""
    if pty.locked or pty.hung_up:
        raise KernelError(Errno.EIO, f"/dev/pts/{pty.index} is locked or hung up")
    proc.fds.check_free(1)
    status = flags & ~(files.O_CREAT | files.O_EXCL | O_NOCTTY | files.O_TRUNC | O_CLOEXEC)
    fd = proc.fds.install(OpenFile("pts", status, walk, pty=pty), bool(flags & O_CLOEXEC))
    pty.slaves += 1
    pty.other_closed = False
    if not flags & O_NOCTTY and sid and proc.pid == sid and not _session(vfs, pty) \
            and not has_terminal(vfs, sid):
        pty.session = pty.pgrp = sid  # (a session leader leads its group too)
    return fd


def slave_walk(vfs: Vfs, pty: Pty) -> Walk:
    """Where /dev/pts/N is, for a slave opened without its name (TIOCGPTPEER, /dev/tty)."""
    path, fs = devpts(vfs)
    namespace = vfs.state.namespace
    return namespace.resolve(namespace.root(), path)[0] \
        + (Step(b"%d" % pty.index, fs, fs.node_of(pty)),)


def open_controlling(vfs: Vfs, proc: Proc, flags: int, sid: int) -> int | None:
    """/dev/tty: the caller's controlling pseudo-terminal's slave; None for the first
    session's (the console's); ENXIO for another session with none, as Linux."""
    pty = controlling(vfs, sid)
    if pty is None:
        if sid and sid != CONSOLE_SESSION:
            raise KernelError(Errno.ENXIO, "the session has no controlling terminal")
        return None
    return open_slave(vfs, proc, pty, slave_walk(vfs, pty), flags | O_NOCTTY, sid)


# -- moving data ---------------------------------------------------------------------------
def changed(vfs: Vfs, pty: Pty) -> None:
    """Something moved or closed: serve waiting writers and readers until none can go
    on, then the pollers."""
    while _serve_writers(vfs, pty) | _serve_readers(vfs, pty):
        pass
    vfs.wake_pollers()


def _master_take(pty: Pty, count: int) -> bytes | int | None:
    """What a master's read gets now: bytes, -EIO (every slave closed, nothing left), or
    None (wait)."""
    if pty.output:
        return pty.take_output(count)
    return -Errno.EIO if pty.other_closed else None


def _vtime(pty: Pty) -> float:
    """A non-canonical read's VTIME in seconds (0: it has none)."""
    termios = pty.ldisc.termios
    return 0.0 if termios.lflag & ICANON else termios.cc[VTIME] / 10


def _slave_take(pty: Pty, count: int) -> bytes | None:
    """What a slave's read gets now, or None (wait). With VTIME and VMIN 0, a read takes
    what comes first, or nothing once VTIME has passed; with VMIN too, VMIN bytes, or
    what came once VTIME has passed since the last byte."""
    if pty.hung_up:
        return b""
    ldisc = pty.ldisc
    if not _vtime(pty):
        return ldisc.take(count)
    least = max(1, min(count, ldisc.termios.cc[VMIN]))
    if len(ldisc.raw) >= least or pty.timed_out and (ldisc.raw or not ldisc.termios.cc[VMIN]):
        pty.timed_out = False
        return ldisc.take_any(count)
    return None


def _set_vtime(vfs: Vfs, pty: Pty) -> None:
    """Start VTIME for the waiting read: from now for VMIN 0, else from the last byte
    (a new timer makes any earlier one's notification stale)."""
    if not _vtime(pty) or pty.ldisc.termios.cc[VMIN] and not pty.ldisc.raw:
        return
    pty.timer_generation += 1
    pty.timed_out = False
    vfs.api.notify_at(_vtime(pty), Op.PTY_TIMER, PtyTimer(pty.index, pty.timer_generation))


def timer_ran_out(vfs: Vfs, request: Request, r: PtyTimer) -> None:
    """A pseudo-terminal's VTIME ran out (the VFS's own notification): the waiting read
    takes what there is."""
    pty = devpts(vfs)[1].ptys.get(r.index)
    if pty is None or r.generation != pty.timer_generation:
        return  # closed, or a newer timer was set
    pty.timed_out = True
    changed(vfs, pty)


def _serve_readers(vfs: Vfs, pty: Pty) -> bool:
    """Answer the waiting reads of each side that can be answered now, in turn."""
    served = False
    sides: tuple[tuple[deque[Any], Callable[[Pty, int], bytes | int | None]], ...] = (
        (pty.master_readers, _master_take), (pty.slave_readers, _slave_take))
    for queue, take in sides:
        while queue:
            request, count, grant, lengths = queue[0]
            if not vfs.api.waiting(request):
                queue.popleft()
                continue
            got = take(pty, count)
            if got is None:
                break
            queue.popleft()
            served = True
            vfs.answer(request, got if isinstance(got, int) else _deliver(vfs, grant, got,
                                                                          lengths))
    return served


def _deliver(vfs: Vfs, grant: Any, data: bytes, lengths: list[int] | None) -> int:
    try:
        scatter(vfs.api, grant, data, lengths)
    except KernelError as err:
        return -err.errno
    return len(data)


def _write_some(vfs: Vfs, pty: Pty, master: bool, data: bytes) -> int:
    """Move what fits of ``data`` to the other side; the count moved."""
    if master:
        room = pty.input_room()
        chunk = data[:room]
        for sig in pty.feed(chunk):
            _signal_group(vfs, pty.pgrp, sig)
        if pty.slave_readers and chunk:
            _set_vtime(vfs, pty)  # (VMIN and VTIME: the time between bytes)
        return len(chunk)
    chunk = data[:pty.output_room()]
    pty.emit(chunk)
    return len(chunk)


def _serve_writers(vfs: Vfs, pty: Pty) -> bool:
    """Move what waiting writes of each side can, in turn; whether any byte moved."""
    moved = False
    for queue, master in ((pty.master_writers, True), (pty.slave_writers, False)):
        while queue:
            request, data, done = queue[0]
            if not vfs.api.waiting(request):
                queue.popleft()
                continue
            if not master and pty.hung_up:
                queue.popleft()
                vfs.answer(request, done or -Errno.EIO)
                continue
            wrote = _write_some(vfs, pty, master, data)
            moved |= wrote > 0
            if wrote < len(data):
                queue[0] = (request, data[wrote:], done + wrote)
                break
            queue.popleft()
            vfs.answer(request, done + wrote)
    return moved


def _live(vfs: Vfs, queue: deque[Any]) -> deque[Any]:
    """``queue`` without the requests at its head whose callers stopped waiting (a
    signal took them back), so that a new call is not queued behind none."""
    while queue and not vfs.api.waiting(queue[0][0]):
        queue.popleft()
    return queue


def _read(vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any,
          lengths: list[int] | None) -> int | None:
    """A read of either side: now, or None (answered when there is something), behind
    any read already waiting."""
    pty = _pty(file)
    master = file.kind == "ptm"
    queue = _live(vfs, pty.master_readers if master else pty.slave_readers)
    if not queue and not master:
        pty.timed_out = False  # (VTIME counts for a read that waits)
    got = None if queue else (_master_take(pty, count) if master else _slave_take(pty, count))
    if isinstance(got, int):
        raise KernelError(-got, "every slave of the pseudo-terminal has closed")
    if got is None:
        if file.flags & O_NONBLOCK:
            raise KernelError(Errno.EAGAIN, "nothing to read yet")
        queue.append((request, count, grant, lengths))
        if not master:
            _set_vtime(vfs, pty)
        return None
    scatter(vfs.api, grant, got, lengths)
    changed(vfs, pty)  # room for waiting writers
    return len(got)


def _write(vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
    """A write of either side: all of it now, or what fits (O_NONBLOCK), or the rest
    waits for room (None) behind any write already waiting."""
    pty = _pty(file)
    master = file.kind == "ptm"
    if not master and pty.hung_up:
        raise KernelError(Errno.EIO, "the pseudo-terminal's master has closed")
    queue = _live(vfs, pty.master_writers if master else pty.slave_writers)
    wrote = 0 if queue else _write_some(vfs, pty, master, data)
    if wrote:
        changed(vfs, pty)
    if wrote == len(data):
        return wrote
    if file.flags & O_NONBLOCK:
        if wrote:
            return wrote
        raise KernelError(Errno.EAGAIN, "no room on the pseudo-terminal")
    queue.append((request, data[wrote:], wrote))
    return None


# -- control -------------------------------------------------------------------------------
def _termios(vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
    """TCGETS, TCSETS*, TCFLSH, TCSBRK: the slave's settings, from either side."""
    pty, api = _pty(file), vfs.api
    if r.cmd == T.TCGETS:
        api.copy_out(request.grants[0], 0, pty.ldisc.termios.pack())
    elif r.cmd in (T.TCSETS, T.TCSETSW, T.TCSETSF):
        new = Termios.unpack(api.copy_in(request.grants[0], 0, TERMIOS.size))
        pty.ldisc.set(new, flush=r.cmd == T.TCSETSF)
        changed(vfs, pty)  # leaving ICANON may answer waiting reads
    elif r.cmd == T.TCFLSH:
        if r.arg not in (TCIFLUSH, TCOFLUSH, TCIOFLUSH):
            raise KernelError(Errno.EINVAL, f"TCFLSH {r.arg}")
        # what this side reads (TCIFLUSH) or what it wrote and the other has not read
        slave_input = (r.arg == TCIFLUSH) != (file.kind == "ptm") or r.arg == TCIOFLUSH
        slave_output = (r.arg == TCOFLUSH) != (file.kind == "ptm") or r.arg == TCIOFLUSH
        if slave_input:
            pty.ldisc.flush()
        if slave_output:
            pty.output.clear()
        changed(vfs, pty)
    # TCSBRK, TCSBRKP (tcdrain, tcsendbreak): written bytes are already on the other
    # side, and a pseudo-terminal has no break to send (Linux: no break_ctl, 0)
    return 0


TCOOFF, TCOON, TCIOFF, TCION = 0, 1, 2, 3


def _flow(vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
    """TCXONC (tcflow): TCOOFF and TCOON stop and restart this side's output (the slave's
    as VSTOP and VSTART under IXON do); TCIOFF and TCION send this side's VSTOP or VSTART
    character to the other, unless it is disabled (0), as Linux's n_tty_ioctl_helper."""
    pty, master = _pty(file), file.kind == "ptm"
    if r.arg in (TCOOFF, TCOON):
        if master:
            pty.master_stopped = r.arg == TCOOFF
        else:
            pty.ldisc.stopped = r.arg == TCOOFF
    elif r.arg in (TCIOFF, TCION):
        char = pty.ldisc.termios.cc[VSTOP if r.arg == TCIOFF else VSTART]
        if char:
            if master:  # (as the master's write: into the slave's input)
                for sig in pty.feed(bytes([char])):
                    _signal_group(vfs, pty.pgrp, sig)
            else:  # (tty_send_xchar: the byte as is, no output processing)
                pty.output.append(char)
    else:
        raise KernelError(Errno.EINVAL, f"TCXONC {r.arg}")
    changed(vfs, pty)
    return 0


def _winsize(vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
    """TIOCGWINSZ, TIOCSWINSZ: one size for both sides; a change sends SIGWINCH to the
    foreground process group."""
    pty = _pty(file)
    if r.cmd == T.TIOCGWINSZ:
        vfs.api.copy_out(request.grants[0], 0, pty.winsize)
        return 0
    size = vfs.api.copy_in(request.grants[0], 0, struct.calcsize(WINSIZE_FORMAT))
    if size != pty.winsize:
        pty.winsize = size
        _signal_group(vfs, pty.pgrp if _session(vfs, pty) else 0, SIGWINCH)
    return 0


def _steal(vfs: Vfs, pty: Pty, r: Ioctl) -> bool:
    """TIOCSCTTY of a terminal another session controls: only with 1 and CAP_SYS_ADMIN."""
    return r.arg == 1 and vfs.who().capable(CAP_SYS_ADMIN)


def _make_controlling(vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
    """TIOCSCTTY: a session leader with no controlling terminal takes this slave (EPERM
    otherwise, or when another session has it). A master is never one here (EINVAL
    once the rules would let it be)."""
    pty = _pty(file)
    pid = vfs.proc(request).pid
    if file.kind == "pts" and _session(vfs, pty) == r.sid and pid == r.sid:
        return 0
    if pid != r.sid or has_terminal(vfs, r.sid):
        raise KernelError(Errno.EPERM, "not a session leader, or it has a terminal")
    if file.kind == "ptm":
        raise KernelError(Errno.EINVAL, "a master as a controlling terminal")
    if pty.session and not _steal(vfs, pty, r):
        raise KernelError(Errno.EPERM, "another session's controlling terminal")
    pty.session = pty.pgrp = r.sid
    return 0


def _give_up(vfs: Vfs, request: Request, pty: Pty, r: Ioctl) -> int:
    """TIOCNOTTY: a session leader gives its controlling terminal up (its foreground
    group gets SIGHUP and SIGCONT); ENOTTY if it is not the caller's."""
    if _session(vfs, pty) != r.sid or not r.sid:
        raise KernelError(Errno.ENOTTY, "not the caller's controlling terminal")
    if vfs.proc(request).pid == r.sid:
        _signal_group(vfs, pty.pgrp, SIGHUP)
        _signal_group(vfs, pty.pgrp, SIGCONT)
        pty.session = pty.pgrp = 0
    return 0


def _job_control(vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
    """TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID. On the slave the process
    group and session calls are for its session only (ENOTTY); the master asks them of
    its slave for anyone, but sets the group only for the slave's session."""
    pty, api = _pty(file), vfs.api
    mine = _session(vfs, pty) == r.sid and r.sid != 0
    if r.cmd == T.TIOCSCTTY:
        return _make_controlling(vfs, request, file, r)
    if r.cmd == T.TIOCNOTTY:
        return _give_up(vfs, request, pty, r)
    if file.kind == "pts" and not mine or r.cmd == T.TIOCSPGRP and not mine:
        raise KernelError(Errno.ENOTTY, "not the caller's controlling terminal")
    if r.cmd == T.TIOCGSID and not pty.session:
        raise KernelError(Errno.ENOTTY, "no session has it")
    if r.cmd in (T.TIOCGPGRP, T.TIOCGSID):
        value = pty.pgrp if r.cmd == T.TIOCGPGRP else pty.session
        api.copy_out(request.grants[0], 0, struct.pack("<i", value))
        return 0
    pgid = struct.unpack("<i", api.copy_in(request.grants[0], 0, 4))[0]
    if pgid < 0:
        raise KernelError(Errno.EINVAL, f"process group {pgid}")
    pty.pgrp = pgid
    return 0


def _master_control(vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
    """TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER: the master's own (ENOTTY on a slave)."""
    pty, api = _pty(file), vfs.api
    if file.kind != "ptm":
        raise KernelError(Errno.ENOTTY, "a master's ioctl on a slave")
    if r.cmd == T.TIOCGPTN:
        api.copy_out(request.grants[0], 0, struct.pack("<I", pty.index))
    elif r.cmd == T.TIOCGPTLCK:
        api.copy_out(request.grants[0], 0, struct.pack("<i", int(pty.locked)))
    elif r.cmd == T.TIOCSPTLCK:
        pty.locked = struct.unpack("<i", api.copy_in(request.grants[0], 0, 4))[0] != 0
    else:
        if r.arg & ~PEER_FLAGS:
            raise KernelError(Errno.EINVAL, f"TIOCGPTPEER flags {r.arg:#x}")
        return open_slave(vfs, vfs.proc(request), pty, slave_walk(vfs, pty), r.arg, r.sid)
    return 0


def _check_job(vfs: Vfs, pty: Pty, pgid: int, sid: int) -> None:
    """Only the foreground group of the slave's session uses it (``pgid`` 0: a caller
    the rule does not stop)."""
    if pgid and sid and _session(vfs, pty) == sid and pty.pgrp and pgid != pty.pgrp:
        raise KernelError(BACKGROUND, "a background job used its terminal")


IOCTLS: dict[int, Callable[[Vfs, Request, OpenFile, Ioctl], int]] = {
    T.TCGETS: _termios, T.TCSETS: _termios, T.TCSETSW: _termios, T.TCSETSF: _termios,
    T.TCFLSH: _termios, T.TCSBRK: _termios, T.TCSBRKP: _termios, T.TCXONC: _flow,
    T.TIOCGWINSZ: _winsize, T.TIOCSWINSZ: _winsize,
    T.TIOCSCTTY: _job_control, T.TIOCNOTTY: _job_control, T.TIOCGPGRP: _job_control,
    T.TIOCSPGRP: _job_control, T.TIOCGSID: _job_control, T.TIOCGPTN: _master_control,
    T.TIOCSPTLCK: _master_control, T.TIOCGPTLCK: _master_control,
    T.TIOCGPTPEER: _master_control}
CHANGES = (T.TCSETS, T.TCSETSW, T.TCSETSF, T.TCFLSH, T.TIOCSPGRP, T.TCXONC,
           T.TCSBRKP)  # foreground only


class PtyEnd(FileOps):
    """Either side of a pseudo-terminal: kind "ptm" (the master) or "pts" (a slave)."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
             grant: Any) -> int | None:
        return _read(vfs, request, file, count, grant, None) if count else 0

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        vfs.check_readable(file)  # one read fills the buffers in order
        return _read(vfs, request, file, sum(lengths), grants, lengths)

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        return _write(vfs, request, file, data) if data else 0

    def foreground(self, vfs: Vfs, file: OpenFile, pgid: int, sid: int, output: bool) -> None:
        """The slave is its session's terminal: as the console's (``console.foreground``)."""
        pty = _pty(file)
        if file.kind == "pts" and (not output or pty.ldisc.termios.lflag & TOSTOP):
            _check_job(vfs, pty, pgid, sid)

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        pty = _pty(file)
        if file.kind == "ptm":
            ready = (POLLIN if pty.output else 0) | (POLLOUT if pty.input_room() else 0) \
                | (POLLHUP if pty.other_closed else 0)
        elif pty.hung_up:
            ready = POLLIN | POLLOUT | POLLERR | POLLHUP
        else:
            ready = (POLLIN if pty.ldisc.readable() else 0) \
                | (POLLOUT if pty.output_room() else 0)
        return ready & (events | POLLERR | POLLHUP)

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        raise KernelError(Errno.ESPIPE, "a terminal is not seekable")

    def ioctl(self, vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
        if file.kind == "pts" and r.cmd in CHANGES:
            _check_job(vfs, _pty(file), r.pgid, r.sid)  # changing the terminal
        if r.cmd == T.TIOCOUTQ:  # nothing waits to go out: it is on the other side
            vfs.api.copy_out(request.grants[0], 0, struct.pack("<i", 0))
            return 0
        handler = IOCTLS.get(r.cmd)
        if handler is None:
            return super().ioctl(vfs, request, file, r)
        return handler(vfs, request, file, r)

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        pty = _pty(file)
        return len(pty.output) if file.kind == "ptm" else pty.ldisc.available()

    def stat(self, file: OpenFile) -> Attr:
        assert file.walk is not None
        return file.walk[-1].fs.getattr(file.walk[-1].node)

    def path(self, file: OpenFile) -> bytes:
        return b"/dev/ptmx" if file.kind == "ptm" else b"/dev/pts/%d" % _pty(file).index

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        pty = _pty(file)
        fs = devpts(vfs)[1]
        if file.kind == "ptm":
            _hang_up(vfs, pty)
            fs.unname(pty)
        else:
            pty.slaves -= 1
            if pty.slaves == 0:
                pty.other_closed = True
            fs.forget(pty)
        changed(vfs, pty)


def _hang_up(vfs: Vfs, pty: Pty) -> None:
    """The master closed (Linux's tty_vhangup of the slave): reads waiting on the slave
    fail with EIO (later ones find end of file), the session leader gets SIGHUP and
    SIGCONT, and the session loses its terminal."""
    pty.master_open = False
    readers, pty.slave_readers = pty.slave_readers, deque()
    for request, *_ in readers:
        if vfs.api.waiting(request):
            vfs.answer(request, -Errno.EIO)
    leader = _session(vfs, pty)
    if leader:
        vfs.state.send_sigio(OWNER_PID, leader, SIGHUP)
        vfs.state.send_sigio(OWNER_PID, leader, SIGCONT)
    pty.session = pty.pgrp = 0
