"""End-to-end tests of pseudo-terminals: /dev/ptmx, devpts, the data path through the
slave's line discipline, job control signals, hang-up and window size (tests/guest/pty.c,
natively and under ``cloudos run``, both link modes), and two programs that drive a
terminal through one: script(1) and Python's ``pty.spawn``.

The program runs all its sections in one run per link mode (each section is quick; one
machine boot is the larger cost). Its native run is checked for the lines below first,
so that a broken program cannot make the comparison vacuous.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.guest.test_files import _assert_same, _check_native, by_mode

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

PTY_LINES = [
    b"== openpt", b"/dev/ptmx: char 1, 5:2", b"ptsname is /dev/pts/<TIOCGPTN>: yes",
    b"slave: char 1, major 136, minor is the index: yes", b"open while locked: -1 EIO",
    b"slave opened: yes, isatty both: 1 1", b"ttyname is the name: yes",
    b"TIOCGPTPEER is the slave: yes", b"/dev/pts lists it: 1, and ptmx: 1",
    b"stat after the master closed: -1 ENOENT", b"index reused (a lowest free one): yes",
    b"TIOCGPTN to a bad pointer: -1 EFAULT", b"TIOCGPTPEER while locked: -1 EIO",
    b"== raw", b"new slave: iflag 2400 oflag 5 lflag 105073 VINTR 3 VMIN 1",
    b'slave wrote out\\n, master reads: "out\\r\\n" (5)',
    b'slave reads: "hel\\rlo\\n\\x03" (8)', b'master reads: "a\\nb" (3)',
    b"master epoll: 1 events 1", b"VMIN 0 VTIME 2, nothing comes: 0",
    b"VMIN 5 VTIME 2, 3 bytes come: 3",
    b"== canon", b"slave write after ^S, O_NONBLOCK: -1 EAGAIN", b"after ^Q: 1",
    b'slave reads: "ac\\n" (3)', b'master sees the echo: "ab\\x08 \\x08c\\r\\n" (8)',
    b'after ^U: "ok\\n" (3)', b'after ^D: "part" (4)', b"^D on an empty line: 0",
    b"== sigint", (b'the child\'s own view: "ready: pgrp 1 sid 1, /dev/tty 1, background read: '
                   b"stopped by 21, stat's tty 1 tpgid 1\\r\\n\" (87)"),
    b'after ^Z and ^\\: "^Z^\\caught TSTP 1 QUIT 1\\r\\n" (26)',
    b"child: killed by 2", b'echo of ^C: "^C" (2)',
    b"== eio", b"master poll: POLLHUP 1", b"then: -1 EIO",
    b"== hangup", (b"child after the master closed: SIGHUP 1, read -1 EIO, write -1 EIO, "
                    b"/dev/tty ENXIO"),
    b"== winsize", b"the slave sees the master's: 24x80",
    b'the child: "SIGWINCH 1: 50x132\\r\\n" (20)',
]


@by_mode
def test_pty(mode, guest_bins, run_native, run_cloudos):
    """Every section of pty.c, natively and as a guest: the same output."""
    prog = guest_bins.path("pty", mode)
    native = run_native([prog])
    _check_native(native, PTY_LINES)
    _assert_same(native, run_cloudos([prog]))


SYSTEM_PYTHON = "/usr/bin/python3"  # one the guest sees (the host's system directories)
SPAWN = ("import pty, sys; "
         "sys.exit(pty.spawn(['sh', '-c', 'stty size; echo hi; exit 3']) >> 8)")


def test_script(run_native, run_cloudos):
    """script(1) runs a command on a new pseudo-terminal: its output comes back with CR-NL."""
    if shutil.which("script") is None:
        pytest.skip("script(1) not installed")
    argv = ["script", "-qc", "echo hi", "/dev/null"]
    native = run_native(argv)
    assert native[:2] == (0, b"hi\r\n"), native
    _assert_same(native, run_cloudos(argv))


def test_python_pty_spawn(run_native, run_cloudos):
    """Python's pty.spawn runs a child on a new pseudo-terminal and copies its output back
    (a new terminal's size is 0 0), and its exit status."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"{SYSTEM_PYTHON} not installed")
    argv = [SYSTEM_PYTHON, "-c", SPAWN]
    native = run_native(argv)
    assert native[:2] == (3, b"0 0\r\nhi\r\n"), native
    _assert_same(native, run_cloudos(argv))
