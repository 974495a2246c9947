"""The line discipline: what a Linux terminal does between the keyboard and read(2).

Owns: the terminal's termios (what TCGETS reports and TCSETS* change), the input
side of Linux's n_tty: input translation (ISTRIP, INLCR, IGNCR, ICRNL), flow-control
characters under IXON (VSTOP stops output, VSTART, or any key with IXANY, starts
it again: ``stopped``, which a pseudo-terminal's writers wait on), the signal
characters under ISIG (VINTR, VQUIT, VSUSP: input flushed unless NOFLSH), canonical
line editing under ICANON (VERASE, VWERASE, VKILL, VEOF, VEOL, VEOL2, VLNEXT) and
echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOCTL); what a read may take (a line at
a time in canonical mode, an empty read for VEOF on an empty line; at least VMIN
bytes otherwise); and, for a pseudo-terminal, output processing (``output``: OPOST
with ONLCR and OCRNL), which for the console the host terminal does with the
guest's c_oflag.
Never: sends a signal (it reports them; the VFS and the machine send them), or
touches a file descriptor.
Called by: the VFS (console reads, polls, TCGETS/TCSETS*; a pseudo-terminal's
slave, ``servers.vfs.pty``), fed by the machine with what the host terminal
delivers in raw mode, or by writes to a pseudo-terminal's master.

VTIME needs a timer, which the caller keeps (``take_any`` ends a read when it runs
out): the console's reads do not (a non-canonical read waits for VMIN bytes, or
returns at once when VMIN is 0); a pseudo-terminal's do (``servers.vfs.pty``).
"""

from __future__ import annotations

import struct
from collections import deque

from cloudos.abi.dataclass import dataclass, field


# c_iflag
ISTRIP, INLCR, IGNCR, ICRNL, IXON, IXANY = 0o40, 0o100, 0o200, 0o400, 0o2000, 0o4000
# c_oflag
OPOST, ONLCR, OCRNL = 0o1, 0o4, 0o10
# c_lflag
ISIG, ICANON, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH = 0o1, 0o2, 0o10, 0o20, 0o40, 0o100, 0o200
ECHOCTL, ECHOKE, IEXTEN = 0o1000, 0o4000, 0o100000
# c_cc indices
VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN = 0, 1, 2, 3, 4, 5, 6
VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 = range(8, 17)
SIGINT, SIGQUIT, SIGTSTP = 2, 3, 20
LINE_MAX = 4095  # bytes of one canonical line (n_tty's buffer less the newline)
TERMIOS = struct.Struct("<IIIIB19s")  # the kernel's struct termios


@dataclass
class Termios:
    """A terminal's settings, as the kernel's struct termios holds them."""

    iflag: int
    oflag: int
    cflag: int
    lflag: int
    line: int = 0
    cc: bytearray = field(default_factory=lambda: bytearray(19))

    def pack(self) -> bytes:
        return TERMIOS.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line,
                            bytes(self.cc))

    @classmethod
    def unpack(cls, raw: bytes) -> Termios:
        iflag, oflag, cflag, lflag, line, cc = TERMIOS.unpack(raw)
        return cls(iflag, oflag, cflag, lflag, line, bytearray(cc))


def _control(c: int) -> bool:
    return c < 0x20 and c not in (0x09, 0x0A) or c == 0x7F


class LineDiscipline:
    def __init__(self, termios: Termios) -> None:
        self.termios = termios
        self.lines: deque[bytes] = deque()  # canonical: finished lines (b"": an end of file)
        self.raw = bytearray()              # non-canonical: every byte not yet read
        self.editing = bytearray()          # canonical: the line being typed
        self.literal = False                # VLNEXT: the next byte is taken as it is
        self.stopped = False                # output stopped by VSTOP (IXON)

    def _on(self, lflag: int) -> bool:
        return bool(self.termios.lflag & lflag)

    def _is(self, c: int, index: int) -> bool:
        special = self.termios.cc[index]
        return special != 0 and c == special

    # -- input -------------------------------------------------------------------
    def receive(self, data: bytes) -> tuple[bytes, list[int]]:
        """Process bytes from the keyboard; return what to echo and the signals to send."""
        echo = bytearray()
        signals: list[int] = []
        for c in data:
            self._byte(c, echo, signals)
        return bytes(echo), signals

    def _byte(self, c: int, echo: bytearray, signals: list[int]) -> None:
        t = self.termios
        if self.literal:
            self.literal = False
            self._append(c, echo)
            return
        if t.iflag & ISTRIP:
            c &= 0x7F
        if c == 0x0D:
            if t.iflag & IGNCR:
                return
            if t.iflag & ICRNL:
                c = 0x0A
        elif c == 0x0A and t.iflag & INLCR:
            c = 0x0D
        if t.iflag & IXON and (self._is(c, VSTOP) or self._is(c, VSTART)):
            self.stopped = not self._is(c, VSTART)  # (the console's host never stops)
            return
        if self.stopped and t.iflag & IXON and t.iflag & IXANY:
            self.stopped = False
        if self._on(ISIG):
            for index, sig in ((VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP)):
                if self._is(c, index):
                    if not self._on(NOFLSH):
                        self.flush()
                    self._echo(c, echo)
                    signals.append(sig)
                    return
        if not self._on(ICANON):
            self.raw.append(c)
            self._echo(c, echo)
            return
        if self._on(IEXTEN) and self._is(c, VLNEXT):
            self.literal = True
            if self._on(ECHO) and self._on(ECHOCTL):
                echo += b"^\b"  # a caret, then the character over it
            return
        if self._is(c, VERASE):
            self._erase(1, echo, c)
        elif self._on(IEXTEN) and self._is(c, VWERASE):
            self._erase_word(echo, c)
        elif self._is(c, VKILL):
            if self._on(ECHOK) and self._on(ECHOKE) and self._on(ECHOE):
                self._erase(len(self.editing), echo, c)
            elif self.editing:
                self.editing.clear()
                self._echo(c, echo)
                if self._on(ECHO) and self._on(ECHOK):
                    echo += b"\n"
        elif self._is(c, VEOF):
            self.lines.append(bytes(self.editing))  # an empty one is an end of file
            self.editing.clear()
        elif c == 0x0A or self._is(c, VEOL) or self._is(c, VEOL2):
            self.editing.append(c)
            self.lines.append(bytes(self.editing))
            self.editing.clear()
            if self._on(ECHO) or (c == 0x0A and self._on(ECHONL)):
                echo.append(c)
        else:
            self._append(c, echo)

    def _append(self, c: int, echo: bytearray) -> None:
        if not self._on(ICANON):
            self.raw.append(c)
        elif len(self.editing) < LINE_MAX:
            self.editing.append(c)
        else:
            return  # the line is full: Linux drops what comes next
        self._echo(c, echo)

    def _echo(self, c: int, echo: bytearray) -> None:
        if not self._on(ECHO):
            return
        if self._on(ECHOCTL) and _control(c):
            echo += b"^" + bytes([c ^ 0x40])
        else:
            echo.append(c)

    def _erase(self, count: int, echo: bytearray, key: int, visual: bool = False) -> None:
        """Erase ``count`` typed characters; on screen too (ECHOE, or ``visual``), else
        echo ``key`` for each."""
        for _ in range(min(count, len(self.editing))):
            c = self.editing.pop()
            if not self._on(ECHO):
                continue
            if visual or self._on(ECHOE):
                echo += b"\b \b" * (2 if self._on(ECHOCTL) and _control(c) else 1)
            else:
                self._echo(key, echo)

    def _erase_word(self, echo: bytearray, key: int) -> None:
        text = bytes(self.editing)
        end = len(text.rstrip(b" \t"))
        start = max(text.rfind(b" ", 0, end), text.rfind(b"\t", 0, end)) + 1
        self._erase(len(text) - start, echo, key, visual=True)  # as Linux, even without ECHOE

    # -- output ------------------------------------------------------------------
    def output(self, data: bytes) -> bytes:
        """What the other side of the terminal sees of ``data`` (a write, or an echo):
        under OPOST, a newline as CR-NL (ONLCR) and a CR as a newline (OCRNL)."""
        oflag = self.termios.oflag
        if not oflag & OPOST:
            return data
        lines = data.split(b"\n")  # each byte is translated once: an OCRNL newline stays one
        if oflag & OCRNL:
            lines = [line.replace(b"\r", b"\n") for line in lines]
        return (b"\r\n" if oflag & ONLCR else b"\n").join(lines)

    # -- reading -----------------------------------------------------------------
    def readable(self) -> bool:
        """Whether a read would return now (poll's POLLIN)."""
        if self._on(ICANON):
            return bool(self.lines)
        return len(self.raw) >= max(1, self.termios.cc[VMIN])

    def available(self) -> int:
        """FIONREAD: the bytes a read could take."""
        return sum(len(line) for line in self.lines) if self._on(ICANON) else len(self.raw)

    def take(self, count: int) -> bytes | None:
        """What a read of ``count`` bytes returns now, or None when it must wait."""
        if self._on(ICANON):
            if not self.lines:
                return None
            line = self.lines.popleft()
            if len(line) > count:
                self.lines.appendleft(line[count:])
                return line[:count]
            return line
        wanted = min(count, self.termios.cc[VMIN])
        if len(self.raw) < wanted:
            return None
        data = bytes(self.raw[:count])
        del self.raw[:count]
        return data

    def take_any(self, count: int) -> bytes:
        """A non-canonical read whose VTIME ran out (or need not wait): what there is of
        ``count`` bytes, perhaps nothing."""
        data = bytes(self.raw[:count])
        del self.raw[:count]
        return data

    # -- control -----------------------------------------------------------------
    def set(self, termios: Termios, flush: bool = False) -> None:
        """TCSETS*: new settings; leaving canonical mode makes typed text readable, and
        clearing IXON starts stopped output."""
        was_canonical = self._on(ICANON)
        self.termios = termios
        if not termios.iflag & IXON:
            self.stopped = False
        if flush:
            self.flush()
        if was_canonical and not self._on(ICANON):
            for line in self.lines:
                self.raw += line
            self.raw += self.editing
            self.lines.clear()
            self.editing.clear()
        elif not was_canonical and self._on(ICANON) and self.raw:
            self.editing += self.raw
            self.raw.clear()

    def flush(self) -> None:
        """Drop all input (TCSETSF, TCFLSH, a signal character)."""
        self.lines.clear()
        self.raw.clear()
        self.editing.clear()
        self.literal = False
