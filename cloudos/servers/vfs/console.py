"""The console: the host's stdin, stdout and stderr as a guest's terminal.

Owns: console open files (fds 0-2 of a first process, /dev/tty and /dev/console
when the host's stdin is a terminal), their reads and writes, and terminal control
(ioctl: termios, window size, process groups). When the host's stdin is a terminal
CloudOS runs the line discipline itself (``servers.tty.ldisc``, in ``VfsState.tty``):
typed bytes arrive as ConsoleInput notifications from the machine, reads wait for
a line (deferred replies), and the job control rules hold (a background job of
the console's session that reads, or writes with TOSTOP, or changes the terminal
gets ``Again.BACKGROUND``: the personality stops it with SIGTTIN or SIGTTOU). Else
reads and terminal control go to the host as they are.
Never: touches guest memory except through a request's grants; writes to a host fd
other than the console's.
Called by: ``vfs.server`` (every operation on a console file, ConsoleInput) and
``cloudos.machine`` (``Console.reading``, ``ConsoleInterrupt``: ^C on the host).
"""

from __future__ import annotations

import os
import select
import struct
from typing import TYPE_CHECKING, Any

from cloudos.abi.vfs import ConsoleInput, Ioctl
from cloudos.errno import Errno, KernelError
from cloudos.servers.tty.ldisc import Termios
from cloudos.servers.vfs.fileops import FileOps, scatter
from cloudos.servers.vfs.files import O_NONBLOCK, OpenFile
from cloudos.servers.vfs.fs import Attr
from cloudos.servers.vfs.paths import Walk

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

CONSOLE_SESSION = 1  # the session whose controlling terminal the console is (TIOCGSID)
# A background job used the terminal: raised as an error inside the server, answered as
# Again.BACKGROUND (the personality stops the job, SIGTTIN or SIGTTOU, and runs the call again)
BACKGROUND = 512
TOSTOP = 0o400  # c_lflag: background jobs may not write to the terminal
TCFLSH, TCIFLUSH, TCOFLUSH, TCIOFLUSH = 0x540B, 0, 1, 2
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGPGRP, TIOCSPGRP, TIOCGWINSZ, FIONREAD, TIOCGSID = 0x540F, 0x5410, 0x5413, 0x541B, 0x5429
TERMIOS = struct.Struct("<IIIIB19s")  # the kernel's struct termios
POLLIN, POLLOUT = 1, 4


def console(host_fd: int, flags: int, node: Walk | None = None) -> OpenFile:
    """The console as an open file: the host's ``host_fd``, and, when that is a
    terminal, the guest's device ``node`` (/dev/console, /dev/tty) that fstat and
    /proc/<pid>/fd show, as ttyname(3) expects (the same device, inode and rdev)."""
    return OpenFile("console", flags, node if node and os.isatty(host_fd) else None,
                    host_fd=host_fd)


def host_io(call: Any, *args: Any) -> Any:
    """A host I/O call whose failure becomes the same Linux errno."""
    try:
        return call(*args)
    except OSError as err:  # the host is Linux: its errno is the guest's
        raise KernelError(err.errno or Errno.EIO, str(err)) from None


class ConsoleInterrupt(Exception):
    """^C on the host terminal while the console was being read (see cloudos.machine)."""


class Console:
    """The host terminal behind fds 0-2: whether a read of it is in progress."""

    reading = False


def _host_read(file: OpenFile, count: int) -> bytes:
    """A read of the host's stdin; ^C meanwhile makes it EINTR (SIGINT follows)."""
    Console.reading = True
    try:
        return host_io(os.read, file.host_fd, min(count, 1 << 20))  # type: ignore[no-any-return]
    except ConsoleInterrupt:
        raise KernelError(Errno.EINTR, "interrupted by ^C") from None
    finally:
        Console.reading = False


def _echo(data: bytes) -> None:
    """The echo of typed keys: to the host terminal they were typed at."""
    host_io(os.write, 1 if os.isatty(1) else 0, data)


def _set_host_oflag(fd: int, oflag: int) -> None:
    """The host terminal does the console's output processing: give it the guest's c_oflag."""
    import termios
    mode = termios.tcgetattr(fd)
    if mode[1] != oflag:
        mode[1] = oflag
        termios.tcsetattr(fd, termios.TCSADRAIN, mode)


def _check_control(vfs: Vfs, pgid: int, sid: int) -> None:
    """Only the foreground job of the console's session uses the terminal (``pgid`` 0:
    a caller the rule does not stop)."""
    if pgid and sid == CONSOLE_SESSION and pgid != vfs.state.foreground:
        raise KernelError(BACKGROUND, "a background job used the terminal")


def _tty_read(vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any,
              lengths: list[int] | None) -> int | None:
    tty = vfs.state.tty
    assert tty is not None
    data = tty.take(count) if not vfs.state.tty_readers else None  # first come first
    if data is None:
        if file.flags & O_NONBLOCK:
            raise KernelError(Errno.EAGAIN, "nothing typed yet")
        vfs.state.tty_readers.append((request, count, grant, lengths))
        return None  # answered when a line (or enough bytes) comes
    scatter(vfs.api, grant, data, lengths)
    return len(data)


def console_input(vfs: Vfs, request: Request, r: ConsoleInput) -> None:
    """Keys typed at the host terminal (the machine's notification)."""
    _feed(vfs, r.data)


def _feed(vfs: Vfs, data: bytes) -> None:
    """Keys from the host terminal: the line discipline takes them; waiting reads go on."""
    tty = vfs.state.tty
    if tty is None:
        return
    echo, signals = tty.receive(data)
    if echo:
        _echo(echo)
    vfs.state.tty_signals += signals
    readers, vfs.state.tty_readers = vfs.state.tty_readers, []
    for i, (reader, count, grant, lengths) in enumerate(readers):
        if not vfs.api.waiting(reader):
            continue  # interrupted by a signal meanwhile
        got = tty.take(count)
        if got is None:
            vfs.state.tty_readers = [r for r in readers[i:] if vfs.api.waiting(r[0])]
            break
        try:
            scatter(vfs.api, grant, got, lengths)
            vfs.api.reply(reader, len(got))
        except KernelError as err:
            vfs.api.reply(reader, -err.errno)
    vfs.wake_pollers()


def _terminal(vfs: Vfs, request: Request, file: OpenFile, cmd: int, arg: int) -> int:
    """Terminal control of the console: by the line discipline when there is one
    (the host terminal keeps doing output processing, with the guest's c_oflag);
    else the host terminal's own, passed through."""
    import termios
    tty = vfs.state.tty
    api = vfs.api
    if tty is not None and cmd == TCGETS:
        api.copy_out(request.grants[0], 0, tty.termios.pack())
    elif tty is not None and cmd in (TCSETS, TCSETSW, TCSETSF):
        new = Termios.unpack(api.copy_in(request.grants[0], 0, TERMIOS.size))
        tty.set(new, flush=cmd == TCSETSF)
        host_io(_set_host_oflag, file.host_fd, new.oflag)
        _feed(vfs, b"")  # new settings may make waiting reads answerable (leaving ICANON)
    elif tty is not None and cmd == TCFLSH:
        if arg not in (TCIFLUSH, TCOFLUSH, TCIOFLUSH):
            raise KernelError(Errno.EINVAL, f"TCFLSH {arg}")
        if arg != TCOFLUSH:
            tty.flush()
    elif cmd == TCGETS:
        iflag, oflag, cflag, lflag, _, _, cc = termios.tcgetattr(file.host_fd)
        chars = bytes(c if isinstance(c, int) else c[0] for c in cc[:19])
        api.copy_out(request.grants[0], 0, TERMIOS.pack(iflag, oflag, cflag, lflag, 0, chars))
    elif cmd in (TCSETS, TCSETSW, TCSETSF):
        raw = api.copy_in(request.grants[0], 0, TERMIOS.size)
        iflag, oflag, cflag, lflag, _, chars = TERMIOS.unpack(raw)
        old = termios.tcgetattr(file.host_fd)
        cc = [bytes([c]) if i not in (termios.VMIN, termios.VTIME) else c
              for i, c in enumerate(chars)] + old[6][19:]
        when = {TCSETS: termios.TCSANOW, TCSETSW: termios.TCSADRAIN,
                TCSETSF: termios.TCSAFLUSH}[cmd]
        host_io(termios.tcsetattr, file.host_fd, when,
                [iflag, oflag, cflag, lflag, old[4], old[5], cc])
    elif cmd == TIOCGWINSZ:
        size = os.get_terminal_size(file.host_fd)
        api.copy_out(request.grants[0], 0, struct.pack("<HHHH", size.lines, size.columns, 0, 0))
    elif cmd in (TIOCGPGRP, TIOCGSID):
        value = vfs.state.foreground if cmd == TIOCGPGRP else CONSOLE_SESSION
        api.copy_out(request.grants[0], 0, struct.pack("<i", value))
    elif cmd == TIOCSPGRP:
        pgid = struct.unpack("<i", api.copy_in(request.grants[0], 0, 4))[0]
        if pgid <= 0:
            raise KernelError(Errno.EINVAL, f"process group {pgid}")
        vfs.state.foreground = pgid
    else:
        raise KernelError(Errno.ENOTTY, f"ioctl {cmd:#x} is not supported")
    return 0


def host_wait(vfs: Vfs, proc: Proc, fds: list[tuple[int, int]], timeout_ms: int) -> bool:
    """A poll that waits on consoles only, with no line discipline: only the host can
    wake it, so it waits on the host (up to ``timeout_ms``, -1: no limit). False when
    another kind of file is among ``fds``."""
    entries = proc.fds.entries
    consoles = [f for f, _ in fds if f >= 0 and entries.get(f)
                and entries[f].file.kind == "console"]
    if not consoles or len(consoles) != len([f for f, _ in fds if f >= 0]) \
            or vfs.state.tty is not None:
        return False
    timeout = None if timeout_ms < 0 else timeout_ms / 1000
    select.select([entries[f].file.host_fd for f in consoles], [], [], timeout)
    return True


class HostConsole(FileOps):
    """The console kind of open file."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
             grant: Any) -> int | None:
        if vfs.state.tty is not None:
            return _tty_read(vfs, request, file, count, grant, None)
        data = _host_read(file, count)
        vfs.api.copy_out(grant, 0, data)
        return len(data)

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        if vfs.state.tty is None:
            return super().readv(vfs, request, file, grants, lengths)
        vfs.check_readable(file)  # one read fills the buffers in order
        return _tty_read(vfs, request, file, sum(lengths), grants, lengths)

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        return host_io(os.write, file.host_fd, data) if data else 0  # type: ignore[no-any-return]

    def foreground(self, vfs: Vfs, file: OpenFile, pgid: int, sid: int, output: bool) -> None:
        """A job of the console's session reads the terminal only in the foreground, and
        with TOSTOP writes it only in the foreground (``pgid`` 0: SIGTTOU would not stop
        the writer, so it may)."""
        tty = vfs.state.tty
        if tty is not None and (not output or tty.termios.lflag & TOSTOP):
            _check_control(vfs, pgid, sid)

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        if not file.readable():
            return (POLLIN | POLLOUT) & events
        if vfs.state.tty is not None:
            return ((POLLIN if vfs.state.tty.readable() else 0) | POLLOUT) & events
        ready = select.select([file.host_fd], [], [], 0)[0]
        return POLLIN & events if ready else 0

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        raise KernelError(Errno.ESPIPE, "not seekable")

    def ioctl(self, vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
        if vfs.state.tty is not None and r.cmd in (TCSETS, TCSETSW, TCSETSF, TCFLSH, TIOCSPGRP):
            _check_control(vfs, r.pgid, r.sid)  # changing the terminal: foreground only
        if r.cmd == FIONREAD:
            return super().ioctl(vfs, request, file, r)
        if not os.isatty(file.host_fd):
            raise KernelError(Errno.ENOTTY, "not a terminal")
        return _terminal(vfs, request, file, r.cmd, r.arg)

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        return vfs.state.tty.available() if vfs.state.tty is not None else 0

    def stat(self, file: OpenFile) -> Attr:
        if file.walk is not None:  # a terminal: the guest's device, not the host's pts
            return file.walk[-1].fs.getattr(file.walk[-1].node)
        st = os.fstat(file.host_fd)
        return Attr(st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_size,
                    st.st_rdev, st.st_blksize, st.st_blocks, st.st_atime_ns, st.st_mtime_ns,
                    st.st_ctime_ns, st.st_dev)

    def path(self, file: OpenFile) -> bytes:
        return b"/dev/" + file.walk[-1].name if file.walk is not None else b"/dev/console"
