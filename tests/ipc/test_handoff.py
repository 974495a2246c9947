"""The IPC call's fast path (``sys_cloudos._call_direct``, ``DirectSwitch.hand_to``): a
call to a server waiting in receive runs the server at once, in the SYSCALL hook, with
no trip through the run queue; every precondition that fails leaves the call to the
slow path (``Ipc.call``, then the direct switch or the scheduler's loop).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cloudos.kernel.sched import QUANTA_US, RunQueue
from cloudos.kernel.task import Policy, State, Thread
from cloudos.linux import switch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HANDOFFS = r"(\d+) handed to a called server or an answered caller"


def _bench(tmp_path: Path) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path / "ipc_pingpong"
    subprocess.run(["gcc", "-static", "-O1", "-I", str(ROOT / "include"), "-o", str(out),
                    str(ROOT / "bench" / "ipc_pingpong.c")], check=True)
    return out


@pytest.mark.parametrize("on", [True, False], ids=["direct", "off"])
def test_calls_are_handed_to_the_waiting_server(tmp_path, on, guest_backend) -> None:
    """bench/ipc_pingpong.c, 300 round trips: with the direct switch on, the calls go to
    the server on the fast path and the server's answers (cloudos_reply_recv) hand the
    CPU back to the caller (all but those made before the other waits; a timer or the
    periodic boost due may send a few the slow way), with the same answers; off, none.
    On KVM the CPU never switches inside its SYSCALL exit (the direct switch is
    Unicorn's), so none are handed over there either, and the answers are the same."""
    import re

    prog = _bench(tmp_path)
    env = {**os.environ, "CLOUDOS_DIRECT_SWITCH": "1" if on else "0"}
    proc = subprocess.run([sys.executable, "-m", "cloudos", "run", "--syscall-stats",
                           "--mount", str(tmp_path), "--", str(prog), "300"], cwd=ROOT,
                          env=env, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert proc.stdout == b"ipc_pingpong n=300 ok=300\n"
    found = re.search(HANDOFFS, proc.stderr.decode(errors="replace"))
    if on and guest_backend == "kvm":
        assert found and int(found[1]) == 0, proc.stderr.decode(errors="replace")
    elif on:
        assert found and 450 <= int(found[1]) <= 600, proc.stderr.decode(errors="replace")
    else:
        assert found is None


# -- the preconditions, one by one (``DirectSwitch.may_hand_to``) -----------------------
def _setup() -> tuple[switch.DirectSwitch, Thread, Thread, Any]:
    """A direct switch over a stand-in kernel: one CPU that can switch, no timer, the
    boost far off; a caller running and a server asleep in receive, at level 2."""
    queue = RunQueue()
    scheduler = SimpleNamespace(clock=lambda: 10.0, timers=[], next_boost=11.0,
                                queues=[queue], channels={})
    cpu = SimpleNamespace(smp=None, index=0, can_switch=lambda ctx: ctx.switchable)
    kernel = SimpleNamespace(cpu=cpu, scheduler=scheduler)
    process = SimpleNamespace(personality=SimpleNamespace(ptrace=None))
    caller = Thread(1, process, SimpleNamespace(switchable=True))  # type: ignore[arg-type]
    server = Thread(2, process, SimpleNamespace(switchable=True))  # type: ignore[arg-type]
    caller.state, server.state, server.level = State.RUNNING, State.BLOCKED, 2
    server.channel = ("recv", 7)
    return switch.DirectSwitch(kernel), caller, server, kernel  # type: ignore[arg-type]


def _ready(level: int) -> Thread:
    other = Thread(3, SimpleNamespace(), None)  # type: ignore[arg-type]
    other.state, other.level = State.READY, level
    return other


def test_hand_to_when_every_precondition_holds() -> None:
    direct, caller, server, kernel = _setup()
    assert direct.may_hand_to(caller, server)
    # a ready thread at the level the server wakes to (1) goes after it (the server is
    # queued at the front there on the slow path), as does one below
    kernel.scheduler.queues[0].push(_ready(1))
    kernel.scheduler.queues[0].push(_ready(4))
    assert direct.may_hand_to(caller, server)
    # a stale entry (no longer ready) above it is no obstacle
    stale = _ready(0)
    stale.state = State.BLOCKED
    kernel.scheduler.queues[0].push(stale)
    assert direct.may_hand_to(caller, server)


def _unset_smp(k: Any, c: Thread, s: Thread) -> None:
    k.cpu.smp = object()


def _boost_due(k: Any, c: Thread, s: Thread) -> None:
    k.scheduler.next_boost = 10.0


def _timer_due(k: Any, c: Thread, s: Thread) -> None:
    k.scheduler.timers.append((10.00005, 1, -1, None))


def _caller_signal(k: Any, c: Thread, s: Thread) -> None:
    c.notify = True


def _traced(k: Any, c: Thread, s: Thread) -> None:
    c.process.personality.ptrace = object()


def _server_signal(k: Any, c: Thread, s: Thread) -> None:
    s.notify = True


def _server_no_context(k: Any, c: Thread, s: Thread) -> None:
    s.context = None


def _server_restarts(k: Any, c: Thread, s: Thread) -> None:
    s.restart = 600


def _server_awake(k: Any, c: Thread, s: Thread) -> None:
    s.state = State.READY


def _cannot_switch(k: Any, c: Thread, s: Thread) -> None:
    s.context.switchable = False  # type: ignore[union-attr]


def _ready_above(k: Any, c: Thread, s: Thread) -> None:
    k.scheduler.queues[0].push(_ready(0))


@pytest.mark.parametrize("spoil", [
    _unset_smp, _boost_due, _timer_due, _caller_signal, _traced, _server_signal,
    _server_no_context, _server_restarts, _server_awake, _cannot_switch, _ready_above,
], ids=lambda f: f.__name__.strip("_"))
def test_each_failed_precondition_falls_back(spoil) -> None:
    direct, caller, server, kernel = _setup()
    spoil(kernel, caller, server)
    assert not direct.may_hand_to(caller, server)


def test_a_realtime_server_wakes_at_the_top_level() -> None:
    """A ready real-time thread (level 0) runs before a normal server (which wakes to
    level 1), not before a real-time one (which wakes to the front of level 0)."""
    direct, caller, server, kernel = _setup()
    kernel.scheduler.queues[0].push(_ready(0))
    assert not direct.may_hand_to(caller, server)
    server.policy = Policy.FIFO
    assert direct.may_hand_to(caller, server)


def test_hand_to_wakes_the_server_as_scheduler_wake_would() -> None:
    """The server's wake-up without the queue: off its channel, promoted a level, running
    on the CPU; the caller's slice ends (``Scheduler.end``); the server's RAX returned."""
    direct, caller, server, kernel = _setup()
    ended: list[tuple[Thread, Any]] = []
    switched: list[tuple[Any, int]] = []
    kernel.scheduler.channels[("recv", 7)] = [server]
    kernel.scheduler.end = lambda t, kind, queue: ended.append((t, kind))
    kernel.scheduler.trace_limit = 1  # (the slice's end through ``Scheduler.end``)
    kernel.cpu.switch = lambda ctx, quantum, result: switched.append((ctx, quantum)) or 0
    kernel.profile = SimpleNamespace(context_switches=0)
    caller.state = State.BLOCKED
    assert direct.hand_to(caller, server, 42, 0.0) == 42
    assert ("recv", 7) not in kernel.scheduler.channels
    assert (server.channel, server.state, server.level, kernel.cpu.thread) == \
        (None, State.RUNNING, 1, server)
    # (its quantum: ``Scheduler.budget``'s, a full one at level 1 with no timer)
    assert ended and ended[0][0] is caller and switched == [(server.context, QUANTA_US[1])]
    assert (direct.handoffs, direct.switches, kernel.profile.context_switches) == (1, 1, 1)
    assert not list(kernel.scheduler.queues[0])
