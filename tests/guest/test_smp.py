"""Multiprocessor machines (``cloudos run --cpus N``): the same programs, the same output.

``smp.c`` runs its sections natively and under CloudOS with 2 and with 4 vCPUs
(more vCPUs than the host may have: the interleavings differ). The sections
stress what SMP can break: counters shared by threads (atomics and a mutex),
memory unmapped or write-protected under a thread that is running (the TLB
shootdown), fork while a thread writes, exit_group and SIGKILL while threads
compute, and the CPU numbers a program sees. The scheduler's trace then shows
that processes which share nothing do run at the same time on different CPUs.
"""

from __future__ import annotations

import json
import re

import pytest



def _assert_same(native, guest) -> None:
    assert b"Traceback" not in guest[2], guest[2]
    assert guest[1] == native[1], guest[2].decode(errors="replace")
    assert guest[0] == native[0], guest[2].decode(errors="replace")


def _check_native(native, expected_lines) -> None:
    assert native[0] == 0, native
    missing = [line for line in expected_lines if line not in native[1].splitlines()]
    assert not missing, f"native run lacks {missing!r}"


SMP_SECTIONS = {
    "counters": [b"atomic total 800000 (want 800000)", b"mutex total 50000 (want 50000)"],
    "shootdown": [b"munmap under a running thread: it faulted yes",
                  b"mprotect under a running thread: it faulted yes"],
    "fork": [b"fork with a thread writing: children see a still copy yes, parent's thread "
             b"goes on yes"],
    "exit": [b"exit with threads running: status 7", b"SIGKILL with a thread running: signal 9"],
    "signal": [b"a spinning process takes SIGUSR1: yes, exits 0"],
    "sysv": [b"two processes attached after fork count 1000000 (want 1000000)"],
    "jit": [b"rewritten code runs as written: 0 wrong of 300"],
    "cpus": [b"affinity mask counts the CPUs: yes", b"sysconf agrees: yes",
             b"getcpu names a CPU of the machine: yes", b"setaffinity to cpu0: 0",
             b"getaffinity then: 1 CPU, cpu0 in", b"a child inherits it: 1 CPU",
             b"setaffinity to no CPU of the machine: -1 EINVAL"],
}


@pytest.mark.parametrize("cpus", [2, 4])
@pytest.mark.parametrize("section", list(SMP_SECTIONS))
def test_smp_section(section, cpus, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("smp", "static")
    native = run_native([prog, section])
    _check_native(native, [f"== {section}".encode(), *SMP_SECTIONS[section]])
    guest = run_cloudos([prog, section], extra_args=["--cpus", str(cpus)])
    if section == "cpus":  # the host's CPU count is not the machine's: compare the checks
        assert guest[0] == 0 and b"Traceback" not in guest[2], guest
        assert all(line in guest[1].splitlines() for line in SMP_SECTIONS[section]), guest
    else:
        _assert_same(native, guest)


@pytest.mark.parametrize("cpus", [1, 3])
def test_the_guest_sees_the_machines_cpus(cpus, run_cloudos):
    status, out, err = run_cloudos(["/bin/sh", "-c", "nproc; "
                                    "python3 -c 'import os; print(os.cpu_count())'"],
                                   extra_args=["--cpus", str(cpus)])
    assert status == 0, err
    assert out.split() == [str(cpus).encode()] * 2, out


def test_processes_that_share_nothing_run_at_the_same_time(tmp_path, run_cloudos):
    trace = tmp_path / "trace.json"
    status, out, err = run_cloudos(
        ["/bin/sh", "-c", "for i in 1 2; do (i=0; while [ $i -lt 3000 ]; do i=$((i+1)); "
         "done; echo done) & done; wait"],
        extra_args=["--cpus", "2", "--sched-trace", str(trace)])
    assert status == 0 and out == b"done\ndone\n", err
    slices = [e for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "X"]
    on = {cpu: [(e["ts"], e["ts"] + e["dur"], e["pid"]) for e in slices
                if e["args"]["cpu"] == cpu] for cpu in (0, 1)}
    assert on[0] and on[1], "both CPUs ran threads"
    overlap = sum(min(a_end, b_end) - max(a_start, b_start)
                  for a_start, a_end, a_pid in on[0] for b_start, b_end, b_pid in on[1]
                  if a_pid != b_pid and min(a_end, b_end) > max(a_start, b_start))
    # Two shells counting overlap on an idle host about half their time; how much
    # depends on the host's other load (bench/bench_smp.py measures the speed-up),
    # so only the decision is asserted: different processes ran at the same time.
    assert overlap > 0, "the two processes never ran at the same time"


def test_threads_of_one_process_take_turns(tmp_path, guest_bins, run_cloudos, guest_backend):
    """Unicorn's atomics are atomic only within one vCPU, so no two CPUs run threads
    of one address space at once (see ``Machine._conflict``); two such processes
    still run side by side. On KVM (``guest_backend``) the atomics are the
    processor's: the threads run side by side too, and still count right."""
    trace = tmp_path / "trace.json"
    prog = guest_bins.path("smp", "static")
    status, out, err = run_cloudos(["/bin/sh", "-c", f"{prog} counters & {prog} counters & wait"],
                                   extra_args=["--cpus", "2", "--sched-trace", str(trace)])
    assert status == 0 and out.count(b"atomic total 800000 (want 800000)") == 2, err
    slices = [(e["ts"], e["ts"] + e["dur"], e["args"]["cpu"], e["pid"])
              for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "X"]
    same = apart = 0.0
    for a_start, a_end, a_cpu, a_pid in slices:
        for b_start, b_end, b_cpu, b_pid in slices:
            if a_cpu < b_cpu and min(a_end, b_end) > max(a_start, b_start):
                overlap = min(a_end, b_end) - max(a_start, b_start)
                if a_pid == b_pid:
                    same += overlap
                else:
                    apart += overlap
    if guest_backend == "kvm":
        # Beside another such process the scheduler may always pair threads of the two
        # (an idle-host run did): alone, its two threads have the two vCPUs to themselves.
        alone = tmp_path / "alone.json"
        status, out, err = run_cloudos([prog, "counters"],
                                       extra_args=["--cpus", "2", "--sched-trace", str(alone)])
        assert status == 0 and b"atomic total 800000 (want 800000)" in out, err
        events = [e for e in json.loads(alone.read_text())["traceEvents"] if e["ph"] == "X"]
        pids = [e["pid"] for e in events]
        busiest = max(set(pids), key=pids.count)  # the program's (not a server's) slices
        mine = [(e["ts"], e["ts"] + e["dur"], e["args"]["cpu"]) for e in events
                if e["pid"] == busiest]
        together = sum(max(0.0, min(a_end, b_end) - max(a_start, b_start))
                       for a_start, a_end, a_cpu in mine for b_start, b_end, b_cpu in mine
                       if a_cpu < b_cpu)
        assert same > 0 or together > 0, "threads of one process never ran at the same time"
    else:
        assert same <= 1.0, same  # µs: the trace's times are rounded to 0.1 µs
    assert apart > 0, "the two processes never ran at the same time"


def test_kvm_syscall_stats_count_each_vcpus_exits(guest_bins, run_cloudos, guest_backend):
    """On KVM, --syscall-stats says per vCPU why guest code left it: every system call
    is one exit (so the vCPUs' system-call exits are at least the calls the kernel
    counted: some are answered by the fast path before the count), and the kinds add
    up to the exits. Unicorn has no exits: the lines are not printed."""
    prog = guest_bins.path("smp", "static")
    status, out, err = run_cloudos([prog, "counters"],
                                   extra_args=["--cpus", "2", "--syscall-stats"])
    assert status == 0 and b"atomic total 800000 (want 800000)" in out, err
    text = err.decode()
    lines = re.findall(r"^CPU (\d+): (\d+) exits \((\d+) system calls, (\d+) exceptions, "
                       r"(\d+) timer or kick stops\)", text, re.M)
    if guest_backend != "kvm":
        assert not lines, text
        return
    assert [cpu for cpu, *_ in lines] == ["0", "1"], text
    counted = sum(int(m[1]) for m in re.finditer(r"^\s*(\d+)\s+[\d.]+\s+\w+", text, re.M))
    assert counted > 0, text
    calls = 0
    for _cpu, exits, syscalls, faults, stops in lines:
        assert int(exits) == int(syscalls) + int(faults) + int(stops), text
        calls += int(syscalls)
    assert calls >= counted, text
