"""Pipe reads and writes the personality serves itself (``linux/pipefast``) give what
Linux gives, and so does the way they fall back to (calls to the VFS's port): with the
fast path on, with it off (``CLOUDOS_FASTPATH=0``), with the direct switch off (the
pipe path needs it), on two vCPUs (one CPU only), on a loaded host; and
``--syscall-stats`` shows which way the calls went.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.guest.test_direct_switch import hogs  # noqa: F401 (a fixture)
from tests.guest.test_files import _assert_same, _check_native

LOCAL = re.compile(rb"vfs: (\d+) pipe reads and writes served by the personality itself "
                   rb"\((\d+) reads waited\)")
EXPECTED = [b"pingpong: 2000 rounds, 0 bad, then read 0",
            b"sizes: 45150 bytes echoed, 0 bad",
            b"eintr: handler ran 1, read -1 EINTR, then read 1 'x'",
            b"restart: handler ran 1, read 1  'y'",
            b"threads (two writes): got ab, 0 left", b"threads (one write): got ab, 0 left",
            b"eof: parked read gave 0",
            b"killed: the pipe kept the byte: read 1 'z'",
            b"writev: parked read gave 4 [abcd]", b"vmsplice: parked read gave 2 [vm]",
            b"poll: 1 ready, revents 0x1, then read 1 'p'",
            b"fionread: 5, after reading 2: 3, after reading 3: 0",
            b"fds: first pipe 1 'A', after dup2 1 'B', after close -1 EBADF, write to the "
            b"read end -1 EBADF, read of the write end -1 EBADF",
            b"passed: wrote 1 through the passed end, read 1 's', read 1 'r' through "
            b"/proc/self/fd, after the last writer's close 0",
            b"badbuf: read into NULL -1 EFAULT, 1 left, write from NULL -1 EFAULT",
            b"nonblock: empty read -1 EAGAIN, then 1, no writer 0",
            b"big: 200000 bytes, 0 bad", b"epipe: -1 EPIPE"]
# (each mode sets both switches: the suite itself may run with either off)
MODES = {"on": {"CLOUDOS_FASTPATH": "1", "CLOUDOS_DIRECT_SWITCH": "1"},
         "fastpath-off": {"CLOUDOS_FASTPATH": "0", "CLOUDOS_DIRECT_SWITCH": "1"},
         "switch-off": {"CLOUDOS_FASTPATH": "1", "CLOUDOS_DIRECT_SWITCH": "0"}}


def _run(guest_bins, run_native, run_cloudos, mode: str, section: str | None = None,
         cpus: str = "1") -> int:
    """Run pipe_local (one section, or all) natively and in CloudOS in ``mode``, compare,
    and return how many pipe calls the personality served."""
    prog = guest_bins.path("pipe_local", "static")
    args = [prog] if section is None else [prog, section]
    native = run_native(args)
    _check_native(native, EXPECTED if section is None else
                  [f"== {section}".encode(), *(e for e in EXPECTED if e.startswith(
                      section.encode()))])
    env = {**os.environ, **MODES[mode]}
    status, out, err = run_cloudos(args, env=env, timeout=300,
                                   extra_args=["--syscall-stats", "--cpus", cpus])
    _assert_same(native, (status, out, err))
    local = LOCAL.search(err)
    assert local, err.decode(errors="replace")
    return int(local[1])


@pytest.mark.parametrize("mode", sorted(MODES))
def test_pipe_calls_match_linux(mode, guest_bins, run_native, run_cloudos):
    served = _run(guest_bins, run_native, run_cloudos, mode)
    if mode == "on":  # the ping-pong's 8000 reads and writes, and more, are served here
        assert served >= 8000
    else:  # the preconditions fail: every call goes through the port
        assert served == 0


def test_two_cpus_go_through_the_port(guest_bins, run_native, run_cloudos):
    assert _run(guest_bins, run_native, run_cloudos, "on", cpus="2") == 0


@pytest.mark.parametrize("section", ["pingpong", "eintr", "threads", "killed"])
@pytest.mark.parametrize("cpus", ["1", "2"])
def test_pipe_calls_loaded(section, cpus, hogs, guest_bins, run_native,  # noqa: F811
                           run_cloudos):
    """Under host load (the timer ends slices in the middle of the ping-pong)."""
    served = _run(guest_bins, run_native, run_cloudos, "on", section, cpus)
    assert (served > 0) == (cpus == "1")
