"""The MLFQ scheduler at work on real guest programs, read from `--sched-trace` output.

Each program also runs natively with the same output; the trace shows what the
scheduler decided: demotion level by level, the periodic boost, interactive threads
staying high, SCHED_FIFO preempting all. Only decisions are asserted, never host
wall-clock statistics (the trace's times are the host's, which a loaded machine
stretches): the CPU shares of two hogs and how soon a napping thread runs again are
measured by bench/bench_sched.py, and checked exactly on a fake clock by
test_sched_unit.py.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import pytest


def traced(guest_bins, run_native, run_cloudos, tmp_path: Path, name: str) -> list[dict]:
    program = guest_bins.path(name, "static")
    trace = tmp_path / f"{name}.json"
    native = run_native([program])
    # One CPU (even under CLOUDOS_CPUS): these are the MLFQ's decisions on one run
    # queue; on several CPUs a FIFO thread holds one while the others run the rest.
    ours = run_cloudos([program], extra_args=["--cpus", "1", "--sched-trace", str(trace)])
    assert ours[:2] == native[:2], ours[2].decode()
    events = json.loads(trace.read_text())["traceEvents"]
    return [e for e in events if e["ph"] == "X"]


def runs(levels: list[int]) -> list[int]:
    """Levels with repeats collapsed: [1, 1, 2, 2, 3] -> [1, 2, 3]."""
    out: list[int] = []
    for level in levels:
        if not out or out[-1] != level:
            out.append(level)
    return out


def test_hogs_take_turns_are_demoted_and_boosted(guest_bins, run_native, run_cloudos, tmp_path):
    slices = traced(guest_bins, run_native, run_cloudos, tmp_path, "sched_hogs")
    pids = sorted({e["pid"] for e in slices})
    assert len(pids) == 2
    # Both at the same level take turns: neither runs twice in a row while the
    # other waits at that level (a boost or an exit aside), however long a slice.
    both = [e for e in slices if e["ts"] >= min(x["ts"] for x in slices if x["pid"] == pids[1])]
    repeats = sum(a["pid"] == b["pid"] and a["args"]["level"] == b["args"]["level"]
                  and a["name"].endswith("quantum") for a, b in zip(both, both[1:]))
    assert repeats <= 4, [(e["pid"], e["args"]["level"], e["name"]) for e in both[:40]]
    for pid in pids:
        # From the fork on (before it, the parent's start and its fork may block, and
        # a sleeper is promoted: on a loaded host that happens at any level), nothing
        # but the CPU: demoted one level at a time; only the boost (every 1 s: on a
        # loaded machine it can come before level 6) moves a hog up, back to level 1.
        levels = runs([e["args"]["level"] for e in both if e["pid"] == pid])
        assert 6 in levels and (pid != pids[1] or levels[0] == 1), levels
        descent = levels[:levels.index(6) + 1]
        assert all(b == a + 1 or b == 1 for a, b in zip(descent, descent[1:])), levels
        assert 1 in levels[levels.index(6):], levels  # the boost lifts it back
        quantum_ends = [e for e in slices if e["pid"] == pid and e["name"].endswith("quantum")]
        assert quantum_ends, "a hog's slices end by using up its quantum"


def test_interactive_stays_high_while_the_hog_sinks(guest_bins, run_native, run_cloudos,
                                                    tmp_path):
    slices = traced(guest_bins, run_native, run_cloudos, tmp_path, "sched_interactive")
    interactive, hog = 1, 2
    mine = [e for e in slices if e["pid"] == interactive]
    theirs = [e for e in slices if e["pid"] == hog]
    # Each of its 40 naps promotes it; a slice the host stretches past its quantum may
    # demote it once, so the median, not the maximum, is what the policy fixes.
    assert sum(e["name"].endswith("block") for e in mine) >= 30
    assert statistics.median(e["args"]["level"] for e in mine) <= 2, mine
    assert max(e["args"]["level"] for e in theirs) >= 5


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root natively")
def test_fifo_preempts_everything(guest_bins, run_native, run_cloudos, tmp_path):
    slices = traced(guest_bins, run_native, run_cloudos, tmp_path, "sched_fifo")
    fifo = [e for e in slices if e["pid"] == 1 and e["args"]["level"] == 0]
    assert fifo, "the FIFO thread ran on the real-time level"
    begin, end = fifo[0]["ts"], fifo[-1]["ts"] + fifo[-1]["dur"]
    assert end - begin >= 150_000  # it spun ~200 ms
    intruders = [e for e in slices if e["pid"] == 2 and begin < e["ts"] < end]
    assert not intruders, intruders[:3]
