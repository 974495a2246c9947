"""The direct switch's two shortcuts for a call that puts its thread to sleep (a futex
wait, a receive on an empty port): ``DirectSwitch.block_now`` (the next thread runs at
once, inside the call, with no Stop through the dispatcher) and ``switch.wake`` (the
sleeper's ``Scheduler.wake`` inline on one CPU). Each precondition that fails leaves
the call to the usual way, unchanged.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cloudos.kernel.sched import QUANTA_US, RunQueue
from cloudos.hal.x86 import TrapKind
from cloudos.kernel.task import Policy, State, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import switch
from tests.fake_kernel import FakeContext, FakeKernel, hog


def _setup() -> tuple[switch.DirectSwitch, Thread, Thread, Any]:
    """A direct switch over a stand-in kernel: one CPU that can switch, no timer, the
    boost far off; a sleeper just blocked in its call and a thread ready at level 1."""
    queue = RunQueue()
    ended: list[Thread] = []
    switched: list[tuple[Any, int]] = []
    scheduler = SimpleNamespace(clock=lambda: 10.0, timers=[], next_boost=11.0,
                                queues=[queue], channels={}, trace_limit=1,
                                end=lambda t, kind, q: ended.append(t))
    cpu = SimpleNamespace(smp=None, index=0, can_switch=lambda ctx: ctx.switchable,
                          switch=lambda ctx, quantum, result:
                          switched.append((ctx, quantum)) or 99)
    process = SimpleNamespace(personality=SimpleNamespace(ptrace=None))
    kernel = SimpleNamespace(cpu=cpu, scheduler=scheduler, ended=ended, switched=switched,
                             profile=SimpleNamespace(context_switches=0),
                             dispatcher=SimpleNamespace(on_stop=None))
    sleeper = Thread(1, process, SimpleNamespace(switchable=True))  # type: ignore[arg-type]
    other = Thread(2, process, SimpleNamespace(switchable=True))  # type: ignore[arg-type]
    sleeper.state, sleeper.channel = State.BLOCKED, ("futex", 1, 64)
    other.state, other.level = State.READY, 1
    queue.push(other)
    direct = switch.DirectSwitch(kernel)  # type: ignore[arg-type]
    kernel.dispatcher.on_stop = direct
    return direct, sleeper, other, kernel


def test_block_now_runs_the_next_thread() -> None:
    direct, sleeper, other, kernel = _setup()
    assert switch.asleep(kernel, sleeper, 0.0) == 99  # (the next thread's RAX)
    assert kernel.ended == [sleeper] and kernel.switched == [(other.context, QUANTA_US[1])]
    assert (kernel.cpu.thread, other.state, other.cpu) == (other, State.RUNNING, 0)
    assert sleeper.state is State.BLOCKED and not list(kernel.scheduler.queues[0])
    assert (direct.blocks, direct.switches, kernel.profile.context_switches) == (1, 1, 1)


def _sleeper_signal(k: Any, s: Thread, o: Thread) -> None:
    s.notify = True


def _smp(k: Any, s: Thread, o: Thread) -> None:
    k.cpu.smp = object()


def _boost_due(k: Any, s: Thread, o: Thread) -> None:
    k.scheduler.next_boost = 10.0


def _timer_due(k: Any, s: Thread, o: Thread) -> None:
    k.scheduler.timers.append((10.00005, 1, -1, None))


def _result_left(k: Any, s: Thread, o: Thread) -> None:
    k.dispatcher.on_stop.result = (s, 7)


def _traced(k: Any, s: Thread, o: Thread) -> None:
    s.process.personality.ptrace = object()


def _not_asleep(k: Any, s: Thread, o: Thread) -> None:
    s.state = State.READY


def _nothing_ready(k: Any, s: Thread, o: Thread) -> None:
    o.state = State.BLOCKED  # (a stale entry: dropped, as pick drops it)


def _next_signal(k: Any, s: Thread, o: Thread) -> None:
    o.notify = True


def _next_new(k: Any, s: Thread, o: Thread) -> None:
    o.context = None


def _cannot_switch(k: Any, s: Thread, o: Thread) -> None:
    o.context.switchable = False  # type: ignore[union-attr]


@pytest.mark.parametrize("spoil", [
    _sleeper_signal, _smp, _boost_due, _timer_due, _result_left, _traced, _not_asleep,
    _nothing_ready, _next_signal, _next_new, _cannot_switch,
], ids=lambda f: f.__name__.strip("_"))
def test_each_failed_precondition_falls_back(spoil) -> None:
    """Nothing done: Stop is raised (the dispatcher's ``on_stop`` or the loop decides),
    the ready thread is still first in the queue, no slice ended, nothing switched."""
    direct, sleeper, other, kernel = _setup()
    spoil(kernel, sleeper, other)
    with pytest.raises(Stop):
        switch.asleep(kernel, sleeper, 0.0)
    assert not kernel.ended and not kernel.switched and direct.blocks == 0
    ready = [t for t in kernel.scheduler.queues[0].levels[1] if t.state is State.READY]
    assert ready == ([] if spoil is _nothing_ready else [other])


def test_asleep_without_the_direct_switch_raises_stop() -> None:
    _, sleeper, _, kernel = _setup()
    kernel.dispatcher.on_stop = None
    with pytest.raises(Stop):
        switch.asleep(kernel, sleeper, 0.0)


# -- switch.wake against Scheduler.wake ---------------------------------------------
def _switch_on(kernel: FakeKernel) -> None:
    """The direct switch installed as the dispatcher's, as ``switch.install`` does."""
    kernel.dispatcher.on_stop = switch.DirectSwitch(kernel)  # type: ignore[arg-type,attr-defined]


def _asleep(policy: Policy = Policy.NORMAL, level: int = 3, company: bool = False
            ) -> tuple[FakeKernel, Thread]:
    kernel = FakeKernel()
    kernel.smp = None  # type: ignore[attr-defined]
    process = kernel.new_process()
    thread = kernel.new_thread(process, hog(1.0), policy=policy)
    thread.level, thread.used_us = level, 300.0
    kernel.scheduler.sleep_on(thread, ("futex", 1, 64), 5.0, -110)
    if company:
        kernel.scheduler.sleep_on(kernel.new_thread(process, hog(1.0)), ("futex", 1, 64))
    return kernel, thread


def _state(kernel: FakeKernel, thread: Thread) -> tuple[Any, ...]:
    assert isinstance(thread.context, FakeContext)
    queue = kernel.scheduler.queues[0]
    return (thread.state, thread.level, thread.used_us, thread.channel, thread.deadline,
            {k: [t.tid for t in v] for k, v in kernel.scheduler.channels.items()},
            [[t.tid for t in line] for line in queue.levels], thread.context.results)


@pytest.mark.parametrize("policy,level,company", [
    (Policy.NORMAL, 3, False), (Policy.NORMAL, 1, False), (Policy.NORMAL, 3, True),
    (Policy.FIFO, 0, False), (Policy.RR, 0, True),
])
def test_wake_is_scheduler_wake(policy, level, company) -> None:
    slow_kernel, slow = _asleep(policy, level, company)
    slow_kernel.scheduler.wake(slow, 5)
    fast_kernel, fast = _asleep(policy, level, company)
    _switch_on(fast_kernel)  # (its inline steps, whatever the run's)
    fast_kernel.scheduler.wake = None  # type: ignore[assignment] # (never called)
    switch.wake(fast_kernel, fast, 5)  # type: ignore[arg-type]
    assert _state(fast_kernel, fast) == _state(slow_kernel, slow)


def _restarted(k: Any, t: Thread) -> None:
    t.restart = 202


def _server(k: Any, t: Thread) -> None:
    t.context = None


def _several_cpus(k: Any, t: Thread) -> None:
    k.smp = object()


def _awake(k: Any, t: Thread) -> None:
    t.state = State.READY


@pytest.mark.parametrize("spoil", [_restarted, _server, _several_cpus, _awake],
                         ids=lambda f: f.__name__.strip("_"))
def test_wake_falls_back_to_scheduler_wake(spoil, monkeypatch) -> None:
    kernel, thread = _asleep()
    _switch_on(kernel)
    spoil(kernel, thread)
    calls: list[tuple[Thread, int]] = []
    monkeypatch.setattr(kernel.scheduler, "wake", lambda t, r: calls.append((t, r)))
    switch.wake(kernel, thread, 5)  # type: ignore[arg-type]
    assert calls == [(thread, 5)]


def _traced(k: Any) -> None:  # a tracer's dispatcher: no direct switch (trace.observe)
    k.dispatcher = SimpleNamespace(on_stop=None)


def _off(k: Any) -> None:  # CLOUDOS_DIRECT_SWITCH=0: switch.install put none in
    k.dispatcher.on_stop = None


@pytest.mark.parametrize("spoil", [_traced, _off], ids=lambda f: f.__name__.strip("_"))
def test_wake_without_the_direct_switch_is_scheduler_wake(spoil, monkeypatch) -> None:
    kernel, thread = _asleep()
    _switch_on(kernel)
    spoil(kernel)
    calls: list[tuple[Thread, int]] = []
    monkeypatch.setattr(kernel.scheduler, "wake", lambda t, r: calls.append((t, r)))
    switch.wake(kernel, thread, 5)  # type: ignore[arg-type]
    assert calls == [(thread, 5)]


# -- DirectSwitch._run against Scheduler.end, enter and budget ---------------------------
def _two(policy: Policy, level: int, used: float, timer: float | None
         ) -> tuple[FakeKernel, Thread, Thread, list[tuple[Any, int, Any]]]:
    kernel = FakeKernel()
    kernel.clock.now = 3.0
    process = kernel.new_process()
    old = kernel.new_thread(process, hog(1.0))
    nxt = kernel.new_thread(process, hog(1.0), policy=policy)
    old.state, old.sys_time, old.used_us, old.user_time = State.BLOCKED, 0.25, 100.0, 1.0
    nxt.level, nxt.used_us, nxt.sys_time = level, used, 0.5
    kernel.cpu.slice = (2.999, 0.2495)  # (a slice of 1 ms, 0.5 ms of it in calls)
    if timer is not None:
        kernel.scheduler.call_at(timer, lambda: None)
    switched: list[tuple[Any, int, Any]] = []
    kernel.cpu.switch = lambda ctx, quantum, result: switched.append(  # type: ignore[attr-defined]
        (ctx, quantum, result)) or 5
    return kernel, old, nxt, switched


def _after(kernel: FakeKernel, old: Thread, nxt: Thread) -> tuple[Any, ...]:
    return (old.user_time, old.used_us, nxt.state, nxt.cpu, kernel.cpu.thread,
            kernel.cpu.slice, kernel.profile.context_switches)


@pytest.mark.parametrize("policy,level,used,timer", [
    (Policy.NORMAL, 2, 300.0, None), (Policy.NORMAL, 6, 0.0, 3.0004),
    (Policy.FIFO, 0, 0.0, None), (Policy.RR, 0, 900.0, 3.5), (Policy.NORMAL, 1, 1990.0, None),
])
@pytest.mark.parametrize("traced", [False, True], ids=["inline", "trace"])
def test_run_is_end_enter_and_budget(policy, level, used, timer, traced) -> None:
    kernel, old, nxt, switched = _two(policy, level, used, timer)
    kernel.scheduler.trace_limit = 1 << 20 if traced else 0
    direct = switch.DirectSwitch(kernel)  # type: ignore[arg-type]
    queue = kernel.scheduler.queues[0]
    assert direct._run(old, nxt, queue, 7) == 5
    slow_kernel, slow_old, slow_nxt, _ = _two(policy, level, used, timer)
    slow_kernel.scheduler.trace_limit = 1 << 20 if traced else 0
    scheduler = slow_kernel.scheduler
    scheduler.end(slow_old, TrapKind.SYSCALL, scheduler.queues[0])
    slow_kernel.profile.context_switches += 1
    scheduler.enter(slow_nxt, slow_kernel.cpu)
    quantum = scheduler.budget(slow_nxt, slow_kernel.cpu, scheduler.clock())
    assert switched == [(nxt.context, quantum, 7)]
    assert _after(kernel, old, nxt)[:4] == _after(slow_kernel, slow_old, slow_nxt)[:4]
    assert kernel.cpu.thread is nxt and slow_kernel.cpu.thread is slow_nxt
    assert (kernel.cpu.slice, kernel.profile.context_switches, direct.switches) == \
        (slow_kernel.cpu.slice, 1, 1)
    assert kernel.scheduler.trace == scheduler.trace
