"""Direct switch (linux/switch.py): a thread that blocks or yields in a system call hands
the CPU to the next one inside the SYSCALL hook. With it on and off, programs whose
threads and processes wake each other (futex ping-pong, pipes, eventfd, locks, job
control stops, yields) print what they print on Linux; ``--syscall-stats`` shows that the
switch really chooses the path; and a loaded host in preemption stress mode, where a
quantum may end at any block of a thread switched in, changes nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.guest.test_files import SECTIONED, _assert_same, _check_native
from tests.guest.test_processes import EXPECTED_LINES

SECTION_CASES = [("files_pipe", "wake"), ("files_pipe", "bulk"), ("files_pipe", "handoff"),
                 ("files_eventfd", "wake_thread"),
                 ("files_locks", "wait"), ("jobs", "stop"), ("files_fifo", "interrupted")]
SWITCHES = re.compile(rb"(\d+) context switches in the SYSCALL hook")


def _env(on: bool) -> dict[str, str]:
    return {**os.environ, "CLOUDOS_DIRECT_SWITCH": "1" if on else "0"}


@pytest.fixture
def hogs() -> Iterator[None]:
    """Two busy host processes for the length of a test."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("program,section", SECTION_CASES,
                         ids=[f"{p}-{s}" for p, s in SECTION_CASES])
def test_switch_off_matches_linux(program, section, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path(program, "static")
    native = run_native([prog, section])
    _check_native(native, [f"== {section}".encode(), *SECTIONED[program][section]])
    _assert_same(native, run_cloudos([prog, section], env=_env(False)))


@pytest.mark.parametrize("on", [True, False], ids=["on", "off"])
def test_switch_chooses_the_path(on, guest_bins, run_native, run_cloudos, guest_backend):
    """pthreads.c's futex ping-pong and joins: 1000 rounds each way wake the other thread.
    On KVM the switch is never made (every system call is an exit anyway: switch.py), and
    the stats say so."""
    prog = guest_bins.path("pthreads", "static")
    native = run_native([prog])
    _check_native(native, EXPECTED_LINES["pthreads"])
    status, out, err = run_cloudos([prog], env=_env(on), extra_args=["--syscall-stats"])
    _assert_same(native, (status, out, err))
    switches = SWITCHES.search(err)
    if on and guest_backend == "kvm":
        assert switches and int(switches[1]) == 0, err.decode(errors="replace")
    elif on:
        assert switches and int(switches[1]) >= 1000, err.decode(errors="replace")
    else:
        assert switches is None, err.decode(errors="replace")


LOADED_CASES = [("files_eventfd", "wake_thread"), ("files_pipe", "wake"), ("jobs", "stop"),
                ("files_pipe", "handoff")]


@pytest.mark.parametrize("program,section", LOADED_CASES,
                         ids=[f"{p}-{s}" for p, s in LOADED_CASES])
def test_loaded_host_in_stress_mode(program, section, hogs, guest_bins, run_native,
                                    run_cloudos):
    """Host CPU hogs beside, one vCPU, and every slice (those a direct switch begins too)
    cut after a few blocks (``--preempt-stress``)."""
    prog = guest_bins.path(program, "static")
    native = run_native([prog, section])
    _check_native(native, [f"== {section}".encode(), *SECTIONED[program][section]])
    extra = ["--cpus", "1", "--preempt-stress", "5", "--syscall-stats"]
    status, out, err = run_cloudos([prog, section], env=_env(True), extra_args=extra,
                                    timeout=300)
    _assert_same(native, (status, out, err))
    assert SWITCHES.search(err), err.decode(errors="replace")


@pytest.mark.parametrize("cpus", ["1", "2"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "slow"])
def test_pipe_handoff_loaded(cpus, fast, hogs, guest_bins, run_native, run_cloudos):
    """files_pipe's handoff section (a write to an empty pipe whose reader waits gives the
    reader its share straight away: servers/vfs/pipe.py's ``_give_waiting``; the rest stays
    in the pipe; an interrupted reader takes nothing) on a loaded host, on one vCPU and on
    two, with the IPC fast path on and off: what Linux prints."""
    prog = guest_bins.path("files_pipe", "static")
    native = run_native([prog, "handoff"])
    _check_native(native, [b"== handoff", *SECTIONED["files_pipe"]["handoff"]])
    env = {**os.environ, "CLOUDOS_FASTPATH": "1" if fast else "0"}
    _assert_same(native, run_cloudos([prog, "handoff"], env=env, extra_args=["--cpus", cpus],
                                     timeout=300))


LONGEST_RUN = re.compile(rb"longest run: (\d+)")
YIELDS = re.compile(rb"context switches in the SYSCALL hook \(direct switch; (\d+) in sched_yield")


@pytest.mark.parametrize("on", [True, False], ids=["on", "off"])
@pytest.mark.parametrize("alarm", [False, True], ids=["plain", "alarm"])
def test_yield_takes_turns(on, alarm, guest_bins, run_native, run_cloudos, guest_backend):
    """yield_rr.c: three threads on one CPU call sched_yield 300 times each; every call
    returns 0 (the direct switch writes it into the saved context of the thread it
    switches from, the loop into the CPU) and the threads take turns, as on Linux: no
    thread runs more than 4 turns in a row in their shared log (before: one of them,
    woken a level up the MLFQ, at times yielded to itself for 37-230 turns; a few can
    come from the start, one thread a turn or two ahead finishing alone). The process's
    CPU time stays within the wall time the yields took, as on Linux, give or take a
    quarter (before, the direct switch's slices overlapped: ~1.7x the wall time on a
    loaded host; one run at 2 ms over wall failed a tighter bound here). With a 1 ms
    ITIMER_REAL, a timer is due at some yields (~20 of 900): the direct switch leaves
    those to the loop (its precondition fails), and the result is the same. On KVM
    no switch happens in the CPU's SYSCALL exit (the direct switch is Unicorn's): the
    turns and results must be the same there, through the scheduler's loop."""
    prog = guest_bins.path("yield_rr", "static")
    args = [prog, "3", "300", *(["alarm"] if alarm else [])]
    native = run_native(args)
    _check_native(native, [b"threads 3, yields 300 each, logged 900, not 0: 0",
                           b"cpu time within wall time: yes"])
    status, out, err = run_cloudos(args, env=_env(on), extra_args=["--syscall-stats"])
    _assert_same(native, (status, out, err))
    longest = LONGEST_RUN.search(err)
    assert longest and 1 <= int(longest[1]) <= 4, err.decode(errors="replace")
    switches, yields = SWITCHES.search(err), YIELDS.search(err)
    if on and guest_backend == "kvm":
        assert switches is None or int(switches[1]) == 0, err.decode(errors="replace")
    elif on:  # (most of the 900 yields switch in the hook, also with the alarm's timers,
        #     and in the call itself: yield_now)
        assert switches and int(switches[1]) >= (300 if alarm else 800), \
            err.decode(errors="replace")
        assert yields and int(yields[1]) >= (300 if alarm else 800), \
            err.decode(errors="replace")
    else:
        assert switches is None, err.decode(errors="replace")


@pytest.mark.skipif(not os.access("/usr/bin/strace", os.X_OK), reason="strace is not installed")
def test_a_traced_yield_goes_the_usual_way(guest_bins, run_native, run_cloudos):
    """Under PTRACE_SYSCALL (Debian's strace -f in the guest) a yield's result is the
    tracer's to see at its syscall-exit stop: yield_now leaves a traced thread to the
    usual path (its precondition fails), and every yield still returns 0."""
    prog = guest_bins.path("yield_rr", "static")
    native = run_native([prog, "3", "300"])
    _check_native(native, [b"threads 3, yields 300 each, logged 900, not 0: 0"])
    status, out, err = run_cloudos(["/usr/bin/strace", "-f", "-o", "/dev/null", prog, "3", "300"],
                                   env=_env(True), extra_args=["--syscall-stats"])
    assert (status, out) == native[:2], err.decode(errors="replace")
    yields = YIELDS.search(err)
    assert yields and int(yields[1]) == 0, err.decode(errors="replace")
