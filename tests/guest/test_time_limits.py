"""Hostile time values (issue 11): timeouts and timer values centuries away, fields out of
range, bad clock ids and bad pointers, for every call that takes a time.

``time_limits.c`` runs natively and under ``cloudos run`` in both link modes, one section
at a time; stdout and the exit status must be identical (its expectations are Linux's).
The ``forever_*`` sections block in one call that nothing will end (a sleep ~292 billion
years away, poll with no timeout, pause): the process must sleep, like on Linux, until
the wall-clock limit ends it (timeout(1) natively, ``--timeout`` under CloudOS, both 124);
a far deadline used to overflow the host's sleep and panic the kernel, and a process
blocked with no timer used to be killed as "deadlocked". They only sleep, so they run four
at a time (one wall-clock limit for them all, not one each), and the sections run in one
link mode: how the program was linked changes nothing in how the kernel keeps time.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

LINK_MODES = ["static"]
PROGRAM = "time_limits"
FOREVER_SECONDS = "2"

# Lines the native run of each section must print (guards against vacuous comparisons).
SECTIONS = {
    "sleeps": [b"nanosleep {LONG_MAX, 999999999}: -1 EINTR", b"  waited for the alarm: yes",
               b"clock_nanosleep REALTIME TIMER_ABSTIME far: -1 EINTR"],
    "sleep_invalid": [b"nanosleep nsec 1e9: -1 EINVAL", b"nanosleep sec -1: -1 EINVAL",
                      b"nanosleep bad pointer: -1 EFAULT",
                      b"clock_nanosleep ABSTIME in the past: 0"],
    "selects": [b"select {LONG_MAX, 999999}: -1 EINTR", b"pselect6 {LONG_MAX, 999999999}: -1 EINTR",
                b"select usec 1000001 (carried into seconds): 0", b"select usec -1: -1 EINVAL"],
    "polls": [b"ppoll {LONG_MAX, 999999999}: -1 EINTR", b"epoll_wait INT_MAX ms: -1 EINTR",
              b"ppoll nsec -1: -1 EINVAL"],
    "futexes": [b"FUTEX_WAIT relative {LONG_MAX, 999999999}: -1 EINTR",
                b"FUTEX_WAIT_BITSET absolute far: -1 EINTR", b"FUTEX_WAIT nsec 1e9: -1 EINVAL",
                b"FUTEX_WAIT_BITSET absolute in the past: -1 ETIMEDOUT"],
    "sigtimedwait": [b"rt_sigtimedwait {LONG_MAX, 999999999}: -1 EINTR",
                     b"rt_sigtimedwait nsec 1e9: -1 EINVAL"],
    "itimers": [b"  interval: {9223372036, 854775}", b"  value over 1e9 s: yes",
                b"setitimer interval usec 1000000: -1 EINVAL",
                b"alarm(0): what was left: 4294967295", b"alarm(0) at once: 1, not 0: 1"],
    "posix_timers": [b"  interval: {9223372036, 854775807}",
                     b"timer_settime value nsec -1: -1 EINVAL"],
    "timerfds": [b"  interval over 1e9 s: yes", b"read: not expired: -1 EAGAIN",
                 b"timerfd_settime value sec -1: -1 EINVAL"],
    "set_clocks": [b"clock_settime REALTIME nsec 1e9: -1 EINVAL",
                   b"clock_settime MONOTONIC: -1 EINVAL", b"settimeofday usec 1000001: -1 EINVAL",
                   b"adjtimex NULL: -1 EFAULT", b"adjtimex ADJ_ADJTIME alone: -1 EINVAL"],
    "get_clocks": [b"clock_gettime clock 100: -1 EINVAL", b"clock_gettime clock -1: -1 EINVAL",
                   b"clock_gettime MONOTONIC bad pointer: -1 EFAULT",
                   b"times bad pointer: -1 EFAULT", b"getrusage who 5: -1 EINVAL"],
}

FOREVER = ["nanosleep", "clock_nanosleep_abs", "select", "ppoll", "poll", "epoll", "futex",
           "futex_bitset", "sigtimedwait", "pause", "alarm", "itimer", "posix_timer", "timerfd"]


def _assert_same(native, guest) -> None:
    n_status, n_out, _ = native
    g_status, g_out, g_err = guest
    detail = f"cloudos stderr:\n{g_err.decode(errors='replace')}"
    for bad in (b"Traceback", b"KERNEL PANIC", b"deadlocked"):
        assert bad not in g_err, detail
    assert g_out == n_out, detail
    assert g_status == n_status, detail


@pytest.mark.parametrize("mode", LINK_MODES)
@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_section(section, mode, guest_bins, run_native, run_cloudos):
    """One section: native first (checked), then the same output under CloudOS."""
    prog = guest_bins.path(PROGRAM, mode)
    native = run_native([prog, section])
    lines = native[1].splitlines()
    assert native[0] == 0, native
    for line in [f"== {section}".encode(), *SECTIONS[section]]:
        assert line in lines, (line, native[1])
    _assert_same(native, run_cloudos([prog, section]))


@pytest.fixture(scope="module")
def forever_runs(guest_bins, run_native, run_cloudos):
    """Every forever_* section, natively and under CloudOS, all at once."""
    prog = guest_bins.path(PROGRAM, "static")

    def both(call):
        section = f"forever_{call}"
        native = run_native(["timeout", FOREVER_SECONDS, prog, section])
        guest = run_cloudos([prog, section], extra_args=["--timeout", FOREVER_SECONDS])
        return native, guest
    with ThreadPoolExecutor(4) as pool:  # (more would make the boots, not the waits, race)
        return dict(zip(FOREVER, pool.map(both, FOREVER)))


@pytest.mark.parametrize("call", FOREVER)
def test_blocks_forever(call, forever_runs):
    """A wait nothing ends: the process sleeps until the wall-clock limit, natively and
    under CloudOS (no panic, not killed as deadlocked)."""
    native, guest = forever_runs[call]
    section = f"forever_{call}"
    assert native[0] == 124 and native[1] == f"== {section}\nblocking\n".encode(), native
    _assert_same(native, guest)
