"""``cloudos run --trace FILE.json``: one Chrome/Perfetto timeline of the whole machine,
loaded as JSON and checked: a track per thread, system call slices that nest nowhere
(one call at a time), each VFS call's request and reply as paired flows, instant
events (exec, exit, signals, page faults), the scheduler's slices per CPU."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def test_timeline_of_a_pipeline(tmp_path: Path, run_cloudos: Any) -> None:
    path = tmp_path / "trace.json"
    status, out, err = run_cloudos(["/bin/sh", "-c", "echo hi | cat"],
                                   extra_args=["--trace", str(path)])
    assert (status, out) == (0, b"hi\n"), err
    events = json.loads(path.read_text())["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}
    assert len(names) == len([e for e in events if e["ph"] == "M" and e["name"] ==
                              "thread_name"]), "one track (thread_name) per thread"
    for e in events:
        if e["ph"] != "M":
            assert (e["pid"], e["tid"]) in names, e

    # system calls: complete slices, one after another on each thread's track
    calls = [e for e in events if e.get("cat") == "syscall"]
    by_track: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for e in calls:
        assert e["ph"] == "X" and e["dur"] > 0 and {"args", "result"} <= set(e["args"])
        by_track[(e["pid"], e["tid"])].append(e)
    for track in by_track.values():
        track.sort(key=lambda e: e["ts"])
        for before, after in zip(track, track[1:]):
            assert before["ts"] + before["dur"] <= after["ts"] + 0.01, (before, after)
    tracks = {names[key].split("[")[0] for key in by_track}
    assert {"sh", "cat"} <= tracks, tracks  # (named after the path, /bin/sh, as Linux)
    assert any(e["name"] == "execve" and '"/usr/bin/cat"' in e["args"]["args"]
               and e["args"]["result"] == "0" for e in calls)
    assert any(e["name"] == "write" and e["args"]["args"] == '1, "hi\\n", 3' for e in calls)

    # IPC: each flow id starts once and ends once; requests go from a guest thread to
    # the VFS, replies come back
    flows: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for e in events:
        if e["ph"] in ("s", "f"):
            assert e["ph"] not in flows[e["id"]], e
            flows[e["id"]][e["ph"]] = e
    assert flows and all(set(pair) == {"s", "f"} for pair in flows.values())
    vfs = next(key for key, name in names.items() if name.startswith("vfs["))
    for flow_id, pair in flows.items():
        start, end = (pair["s"]["pid"], pair["s"]["tid"]), (pair["f"]["pid"], pair["f"]["tid"])
        assert (start != vfs and end == vfs) if flow_id % 2 == 0 else (start == vfs != end)
        assert pair["s"]["ts"] <= pair["f"]["ts"]
    assert any(e.get("cat") == "server" and (e["pid"], e["tid"]) == vfs for e in events)

    # instants and the scheduler
    instants = {e["name"] for e in events if e["ph"] == "i"}
    assert {"exec", "exit", "SIGCHLD", "page fault"} <= instants, instants
    sched = [e for e in events if e.get("cat") == "sched"]
    assert sched and all(e["ph"] == "X" and 0 <= e["args"]["level"] <= 6 for e in sched)
    assert names[(0, 0)] == "CPU 0"
