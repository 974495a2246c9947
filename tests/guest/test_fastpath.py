"""The IPC fast path (linux/fastpath.py) and the slow path give the same answers.

The whole suite runs with the fast path on (the default). Here, programs whose calls
mix both paths (a pipe read that parks and is woken, a write that raises SIGPIPE, a
call interrupted or restarted by a signal, a job stopped by SIGTTIN/SIGTTOU, blocking
locks) run again with ``CLOUDOS_FASTPATH=0`` and must still match Linux; and the
syscall statistics show that the switch really chooses the path.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.guest.test_files import SECTIONED, _assert_same, _check_native

SLOW_CASES = [("files_pipe", "sigpipe"), ("files_pipe", "wake"), ("files_pipe", "hangup"),
              ("files_fifo", "interrupted"), ("files_fifo", "restarted"), ("jobs", "stop"),
              ("jobs", "tstp"), ("files_socketpair", "parent_child"),
              ("files_locks", "wait"), ("files_locks", "eintr"), ("signalfd", "blocking"),
              ("files_eventfd", "wake_thread")]
SERVED = re.compile(rb"vfs: (\d+) calls, (\d+) served on the IPC fast path "
                    rb"\((\d+) by a direct call\)")
LOCAL = re.compile(rb"vfs: (\d+) pipe reads and writes served by the personality itself "
                   rb"\((\d+) reads waited\)")
CALLS = re.compile(rb"^ *(\d+) +[\d.]+  (read|write)$", re.M)


def _env(fast: bool) -> dict[str, str]:
    """The fast path on (with the direct switch, which pipe reads and writes served in
    the personality need: the suite itself may run with it off) or off."""
    return {**os.environ, "CLOUDOS_FASTPATH": "1" if fast else "0",
            **({"CLOUDOS_DIRECT_SWITCH": "1"} if fast else {})}


@pytest.mark.parametrize("program,section", SLOW_CASES,
                         ids=[f"{p}-{s}" for p, s in SLOW_CASES])
def test_slow_path_matches_linux(program, section, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path(program, "static")
    native = run_native([prog, section])
    _check_native(native, [f"== {section}".encode(), *SECTIONED[program][section]])
    _assert_same(native, run_cloudos([prog, section], env=_env(False)))


@pytest.mark.parametrize("fast", [True, False], ids=["on", "off"])
def test_switch_chooses_the_path(fast, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("files_pipe", "static")
    native = run_native([prog, "bulk"])
    status, out, err = run_cloudos([prog, "bulk"], env=_env(fast),
                                   extra_args=["--syscall-stats"])
    _assert_same(native, (status, out, err))
    served = SERVED.search(err)
    assert served, err.decode(errors="replace")
    calls, fast_calls, direct = int(served[1]), int(served[2]), int(served[3])
    local = LOCAL.search(err)
    assert local, err.decode(errors="replace")
    pipe_calls, parked = int(local[1]), int(local[2])
    reads_writes = sum(int(m[1]) for m in CALLS.finditer(err))
    assert calls > 10 and reads_writes > 100
    if fast:
        # the pipe's reads and writes are the personality's (linux/pipefast): all but the
        # writes that wait for room (the writer writes 70000 bytes at a time)
        assert pipe_calls >= reads_writes // 2 and parked > 0, err.decode(errors="replace")
        # the other calls (close, fork, exit, the writes that wait) find the VFS waiting
        assert fast_calls >= calls // 2, err.decode(errors="replace")
        # ... and those answered at once are answered by a direct call
        # (linux/fastpath.direct), the scheduler untouched
        assert direct >= 1, err.decode(errors="replace")
    else:
        assert fast_calls == direct == pipe_calls == 0, err.decode(errors="replace")
        assert calls > reads_writes, err.decode(errors="replace")
