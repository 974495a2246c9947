"""A pseudo-terminal: a master and a slave joined through the slave's line discipline.

Owns: one pseudo-terminal's state, as Linux's pty driver keeps it: its index (the N
of /dev/pts/N), the lock unlockpt(3) opens, how many files hold each side, the
hang-up a closed master causes, the window size, the session it is the controlling
terminal of and that session's foreground process group; and its two data paths:
what the master writes goes through the slave's line discipline (``ldisc``: input
translation, line editing, echo, signal keys), what the slave writes (and the echo)
goes through its output processing into the bytes the master reads. Each direction
holds at most BUFFER_MAX bytes not yet read; a writer waits for room.
Never: sends a signal (``feed`` reports the signal keys), answers a request or knows
about open files (``servers.vfs.pty`` does both).
Called by: ``servers.vfs.pty`` and ``servers.vfs.devpts``.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from cloudos.abi.dataclass import dataclass, field
from cloudos.abi.tty import PTY_CC, PTY_CFLAG, PTY_IFLAG, PTY_LFLAG, PTY_OFLAG, WINSIZE_FORMAT
from cloudos.servers.tty.ldisc import LineDiscipline, Termios

BUFFER_MAX = 65536  # bytes not yet read, each way (Linux: the tty flip buffers' limit)


def new_ldisc() -> LineDiscipline:
    """A new slave's line discipline, with the settings Linux gives a new pty."""
    return LineDiscipline(Termios(PTY_IFLAG, PTY_OFLAG, PTY_CFLAG, PTY_LFLAG, 0,
                                  bytearray(PTY_CC)))


@dataclass(eq=False)
class Pty:
    """One pseudo-terminal. Deferred requests wait in the queues: reads as (request,
    count, grant, readv lengths), writes as (request, bytes left, bytes done)."""

    index: int
    uid: int
    gid: int
    mode: int   # the permission bits of /dev/pts/N
    born: int
    ldisc: LineDiscipline = field(default_factory=new_ldisc)
    output: bytearray = field(default_factory=bytearray)  # what the master reads
    locked: bool = True     # the slave cannot be opened until unlockpt (TIOCSPTLCK 0)
    master_open: bool = True
    slaves: int = 0         # open files of the slave
    other_closed: bool = False  # the last slave closed: the master reads EIO once drained
    master_stopped: bool = False  # tcflow(master, TCOOFF): the master's writes wait
    winsize: bytes = bytes(struct.calcsize(WINSIZE_FORMAT))
    session: int = 0        # the session whose controlling terminal it is (0: none)
    pgrp: int = 0           # that session's foreground process group
    # VTIME: the generation of the timer last set (a notification of an older one is
    # stale), and whether it ran out since a read last took bytes
    timer_generation: int = 0
    timed_out: bool = False
    master_readers: deque[Any] = field(default_factory=deque)
    slave_readers: deque[Any] = field(default_factory=deque)
    master_writers: deque[Any] = field(default_factory=deque)
    slave_writers: deque[Any] = field(default_factory=deque)

    @property
    def hung_up(self) -> bool:
        """The master closed: the slave reads end of file and writes fail with EIO."""
        return not self.master_open

    # -- master to slave ---------------------------------------------------------------
    def input_room(self) -> int:
        """How many more bytes the slave's line discipline takes now: none while the
        master's output is stopped (tcflow TCOOFF)."""
        if self.master_stopped:
            return 0
        ldisc = self.ldisc
        held = ldisc.available() + len(ldisc.editing)
        return max(0, BUFFER_MAX - held)

    def feed(self, data: bytes) -> list[int]:
        """Bytes the master wrote, through the slave's line discipline: the echo goes
        back to the master; returns the signals the keys raised."""
        echo, signals = self.ldisc.receive(data)
        if echo:
            self.output += self.ldisc.output(echo)
        return signals

    # -- slave to master ---------------------------------------------------------------
    def output_room(self) -> int:
        """How many more bytes the slave may write now: none while output is stopped
        (VSTOP under IXON)."""
        return 0 if self.ldisc.stopped else max(0, BUFFER_MAX - len(self.output))

    def emit(self, data: bytes) -> None:
        """Bytes the slave wrote, after output processing, for the master to read."""
        self.output += self.ldisc.output(data)

    def take_output(self, count: int) -> bytes:
        data = bytes(self.output[:count])
        del self.output[:count]
        return data
