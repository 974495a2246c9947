"""The console's line discipline, against Linux's own n_tty.

Each case types the same bytes into a host pseudo-terminal (Linux's line
discipline, set up with the same termios) and into ``LineDiscipline``; what
a read returns and what is echoed must be the same.
"""

from __future__ import annotations

import os
import pty
import select
import termios

import pytest

from cloudos.servers.tty.ldisc import (ECHO, ECHOCTL, ECHOE, ECHOK, ECHOKE, ICANON, ICRNL,
                                       IEXTEN, ISIG, SIGINT, SIGTSTP, VMIN, VTIME,
                                       LineDiscipline, Termios)


def _linux_termios(fd: int) -> Termios:
    iflag, oflag, cflag, lflag, _, _, cc = termios.tcgetattr(fd)
    chars = bytearray(c if isinstance(c, int) else c[0] for c in cc[:19])
    return Termios(iflag, oflag, cflag, lflag, 0, chars)


def _set(fd: int, t: Termios) -> None:
    old = termios.tcgetattr(fd)
    cc = [bytes([c]) if i not in (termios.VMIN, termios.VTIME) else c
          for i, c in enumerate(t.cc)] + old[6][19:]
    termios.tcsetattr(fd, termios.TCSANOW, [t.iflag, 0, t.cflag, t.lflag, old[4], old[5], cc])


def _drain(fd: int) -> bytes:
    out = b""
    while select.select([fd], [], [], 0.1)[0]:
        try:
            out += os.read(fd, 4096)
        except OSError:
            break
    return out


def linux(keys: bytes, lflag_off: int = 0, lflag_on: int = 0, vmin: int = 1,
          reads: int = 1) -> tuple[list[bytes | None], bytes]:
    """What Linux's n_tty makes of ``keys``: the reads (None: would block) and the echo."""
    master, slave = pty.openpty()
    try:
        t = _linux_termios(slave)
        t.lflag = (t.lflag & ~lflag_off) | lflag_on
        t.cc[VMIN], t.cc[VTIME] = vmin, 0
        _set(slave, t)
        os.write(master, keys)
        echo = _drain(master)
        got: list[bytes | None] = []
        for _ in range(reads):
            if select.select([slave], [], [], 0.1)[0]:
                got.append(os.read(slave, 4096))
            else:
                got.append(None)
        return got, echo
    finally:
        os.close(master)
        os.close(slave)


def ours(keys: bytes, lflag_off: int = 0, lflag_on: int = 0, vmin: int = 1,
         reads: int = 1) -> tuple[list[bytes | None], bytes, list[int]]:
    master, slave = pty.openpty()
    t = _linux_termios(slave)  # the same starting settings as the pty's
    os.close(master)
    os.close(slave)
    t.lflag = (t.lflag & ~lflag_off) | lflag_on
    t.cc[VMIN], t.cc[VTIME] = vmin, 0
    ldisc = LineDiscipline(t)
    echo, signals = ldisc.receive(keys)
    return [ldisc.take(4096) for _ in range(reads)], echo, signals


CASES = {
    "a line": (b"hello\r", {}),
    "two lines, read one at a time": (b"one\rtwo\r", {"reads": 3}),
    "erase": (b"helo\x7f\x7flo\r", {}),
    "erase past the start": (b"a\x7f\x7f\x7fb\r", {}),
    "erase a control character": (b"a\x01\x7fb\r", {}),
    "kill the line": (b"junk\x15good\r", {}),
    "word erase": (b"one two  \x17three\r", {}),
    "end of file on an empty line": (b"\x04", {"reads": 2}),
    "end of file after text": (b"part\x04", {"reads": 2}),
    "literal next": (b"a\x16\x7fb\r", {}),
    "no echo": (b"secret\r", {"lflag_off": ECHO}),
    "control characters echoed": (b"\x01\x02x\r", {"lflag_on": ECHOCTL}),
    "no ECHOE": (b"ab\x7fc\r", {"lflag_off": ECHOE}),
    "kill without ECHOKE": (b"ab\x15c\r", {"lflag_off": ECHOKE, "lflag_on": ECHOK}),
    "raw": (b"ab\x7fc", {"lflag_off": ICANON | ECHO}),
    "raw, nothing typed": (b"", {"lflag_off": ICANON}),
    "raw with VMIN 0": (b"", {"lflag_off": ICANON, "vmin": 0}),
    "raw with echo": (b"xy\r", {"lflag_off": ICANON}),
    "no IEXTEN": (b"a\x16b\x17c\r", {"lflag_off": IEXTEN}),
    "word erase without ECHOE": (b"ab cd\x17e\r", {"lflag_off": ECHOE}),
    "kill an empty line": (b"\x15x\r", {"lflag_off": ECHOKE, "lflag_on": ECHOK}),
    "interrupt": (b"\x03kept\r", {"signals": [SIGINT]}),
    "suspend": (b"\x1aafter\r", {"signals": [SIGTSTP]}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_linux(name: str) -> None:
    keys, options = CASES[name]
    options = dict(options)
    expected_signals = options.pop("signals", [])
    got, echo = linux(keys, **options)
    our_got, our_echo, signals = ours(keys, **options)
    if got == [None] * len(got) and options.get("vmin") == 0:
        got = [b""] * len(got)  # a VMIN 0 read returns at once with nothing
    assert (our_got, our_echo) == (got, echo)
    assert signals == expected_signals


def test_signal_characters() -> None:
    reads, echo, signals = ours(b"half typed\x03")
    assert signals == [SIGINT] and reads == [None] and echo == b"half typed^C"
    reads, echo, signals = ours(b"x\x1a", lflag_on=ISIG)
    assert signals == [SIGTSTP] and echo == b"x^Z"
    reads, echo, signals = ours(b"\x03ok\r", lflag_off=ISIG)
    assert signals == [] and reads == [b"\x03ok\n"]


def test_carriage_return_translation() -> None:
    master, slave = pty.openpty()
    t = _linux_termios(slave)
    os.close(master)
    os.close(slave)
    t.iflag &= ~ICRNL
    ldisc = LineDiscipline(t)
    ldisc.receive(b"no newline\r")
    assert ldisc.take(100) is None  # \r ends no line without ICRNL


def test_leaving_canonical_mode_makes_typed_text_readable() -> None:
    master, slave = pty.openpty()
    t = _linux_termios(slave)
    os.close(master)
    os.close(slave)
    ldisc = LineDiscipline(t)
    ldisc.receive(b"line\rpartial")
    raw = Termios(t.iflag, t.oflag, t.cflag, t.lflag & ~ICANON, 0, bytearray(t.cc))
    ldisc.set(raw)
    assert ldisc.take(100) == b"line\npartial"
