"""The MLFQ scheduler's decisions on a fake clock (``kernel.sched``), without a CPU.

Threads are scripts (``fake_kernel``): a hog uses every microsecond it is given, a
napper works briefly and sleeps until a deadline. The fake CPUs move the fake clock
by exactly what a script used, so quanta, demotion, promotion, the boost and timer
deadlines are checked to the microsecond, and each test takes milliseconds however
loaded the host is. ``test_sched.py`` checks the same policy on real guest programs.
"""

from __future__ import annotations

import pytest
from fake_kernel import FakeKernel, hog, napper

from cloudos.kernel.sched import BOOST_PERIOD, BOTTOM, MIN_SLICE_US, QUANTA_US, REALTIME, TOP
from cloudos.kernel.task import Policy, State, Thread

Slice = tuple[float, float, int, int, int, str, int]


def near(expected: object) -> object:
    """Equal to within a microsecond (a fake CPU overshoots its budget by a nanosecond)."""
    return pytest.approx(expected, abs=1e-6)


def slices_of(kernel: FakeKernel, thread: Thread) -> list[Slice]:
    return [s for s in kernel.scheduler.trace if s[3] == thread.tid]


def run(kernel: FakeKernel, *threads: Thread) -> None:
    for thread in threads:
        kernel.scheduler.add(thread)
    kernel.scheduler.run(kernel.cpu)


def test_a_hog_uses_each_quantum_and_is_demoted_one_level_at_a_time() -> None:
    kernel = FakeKernel()
    thread = kernel.new_thread(kernel.new_process(), hog(0.3))
    run(kernel, thread)
    mine = slices_of(kernel, thread)
    levels = [s[4] for s in mine]
    # 1 + 2 + ... + 64 ms at levels 1..6, then level 6 (the bottom) until it ends.
    assert levels[:6] == [1, 2, 3, 4, 5, 6]
    assert set(levels[6:]) == {BOTTOM}
    for level, (_, duration, *_rest) in zip(levels[:-1], mine[:-1]):
        assert duration == near(QUANTA_US[level] / 1e6)
    assert [s[5] for s in mine[:-1]] == ["quantum"] * (len(mine) - 1)
    assert mine[-1][5] == "exit"
    assert thread.user_time == near(0.3)


def test_two_hogs_take_turns_slice_for_slice() -> None:
    kernel = FakeKernel()
    a = kernel.new_thread(kernel.new_process(), hog(0.2))
    b = kernel.new_thread(kernel.new_process(), hog(0.2))
    run(kernel, a, b)
    order = [s[3] for s in kernel.scheduler.trace]
    # Same level, same quanta: strict alternation until the first one ends.
    assert order[:14] == [a.tid, b.tid] * 7
    used = {t.tid: sum(s[1] for s in slices_of(kernel, t)) for t in (a, b)}
    assert used == near({a.tid: 0.2, b.tid: 0.2})


def test_the_boost_lifts_every_normal_thread_back_to_the_top() -> None:
    kernel = FakeKernel()
    thread = kernel.new_thread(kernel.new_process(), hog(2.5 * BOOST_PERIOD))
    run(kernel, thread)
    mine = slices_of(kernel, thread)
    boosts = [later for earlier, later in zip(mine, mine[1:]) if later[4] < earlier[4]]
    # Two boosts in 2.5 s, each the first slice at or after a boost period.
    assert [b[4] for b in boosts] == [TOP, TOP]
    for number, boosted in enumerate(boosts, 1):
        assert number * BOOST_PERIOD <= boosted[0] < number * BOOST_PERIOD + QUANTA_US[BOTTOM]
    # Between boosts the descent starts again one level at a time.
    after = [s[4] for s in mine if s[0] >= boosts[0][0]][:6]
    assert after == [1, 2, 3, 4, 5, 6]


def test_waking_from_a_sleep_promotes_one_level_and_forgets_the_quantum_used() -> None:
    kernel = FakeKernel()
    thread = kernel.new_thread(kernel.new_process(), hog(1))
    thread.level, thread.used_us, thread.state = 4, 1234.0, State.BLOCKED
    kernel.scheduler.sleep_on(thread, "chan")
    assert kernel.scheduler.wakeup("chan", result=7) == 1
    assert (thread.level, thread.used_us, thread.state) == (3, 0.0, State.READY)
    assert thread.context.results == [7]  # type: ignore[union-attr]
    thread.level = TOP
    kernel.scheduler.sleep_on(thread, "chan")
    kernel.scheduler.wakeup("chan")
    assert thread.level == TOP  # never above the top normal level


def test_an_interactive_thread_stays_high_and_runs_at_its_deadline() -> None:
    kernel = FakeKernel()
    busy = kernel.new_thread(kernel.new_process(), hog(0.5))
    nap = 0.010
    sleeper = kernel.new_thread(kernel.new_process(), napper(kernel, 30, 0.0002, nap))
    run(kernel, busy, sleeper)
    mine = slices_of(kernel, sleeper)
    assert max(s[4] for s in mine) == TOP
    assert max(s[4] for s in slices_of(kernel, busy)) == BOTTOM
    # The hog's slices are cut at the sleeper's deadline: it runs the moment it wakes.
    for before, after in zip(mine, mine[1:]):
        woke = before[0] + before[1] + nap
        assert after[0] - woke < MIN_SLICE_US / 1e6 + 1e-9, (before, after)


def test_a_slice_ends_at_the_next_timer() -> None:
    kernel = FakeKernel()
    thread = kernel.new_thread(kernel.new_process(), hog(0.01))
    fired: list[float] = []
    kernel.scheduler.call_at(0.0005, lambda: fired.append(kernel.clock()))
    run(kernel, thread)
    assert kernel.cpu.budgets[0] == (thread.tid, 500)  # level 1 gives 2000 µs; the timer 500
    assert fired == [near(0.0005)]
    assert slices_of(kernel, thread)[0][5] == "preempt"
    assert slices_of(kernel, thread)[1][4] == TOP  # cut short by a timer: not demoted


def test_timers_fire_in_deadline_order_and_idle_waits_for_the_first() -> None:
    kernel = FakeKernel()
    fired: list[tuple[str, float]] = []
    for name, when in (("c", 0.3), ("a", 0.1), ("b", 0.2)):
        kernel.scheduler.call_at(when, lambda n=name: fired.append((n, kernel.clock())))
    kernel.scheduler.run(kernel.cpu)
    assert [n for n, _ in fired] == ["a", "b", "c"]
    assert [t for _, t in fired] == near([0.1, 0.2, 0.3])
    assert kernel.cpu.halts == near([0.1, 0.1, 0.1])


def test_a_sleep_deadline_wakes_with_the_timeout_result_and_does_not_restart() -> None:
    kernel = FakeKernel()
    thread = kernel.new_thread(kernel.new_process(), hog(1))
    kernel.scheduler.sleep_on(thread, "never", 0.25, timeout_result=-110, restart=35)
    kernel.clock.advance(0.2)
    kernel.scheduler._fire_timers(kernel.clock())
    assert thread.state is State.BLOCKED
    kernel.clock.advance(0.05)
    kernel.scheduler._fire_timers(kernel.clock())
    assert thread.state is State.READY
    assert thread.context.results == [-110] and not thread.context.restarts  # type: ignore


def test_a_sleeper_woken_early_is_not_woken_again_by_its_old_deadline() -> None:
    kernel = FakeKernel()
    thread = kernel.new_thread(kernel.new_process(), hog(1))
    scheduler = kernel.scheduler
    scheduler.sleep_on(thread, "chan", 0.1, timeout_result=-110)
    scheduler.wakeup("chan", result=1)
    thread.state = State.RUNNING
    scheduler.sleep_on(thread, "other", None)  # a second, untimed sleep
    kernel.clock.advance(0.2)
    scheduler._fire_timers(kernel.clock())
    scheduler._prune_timers()
    assert thread.state is State.BLOCKED and thread.channel == "other"
    assert scheduler.timers == []
    assert thread.context.results == [1]  # type: ignore[union-attr]


def test_a_woken_restartable_call_is_re_executed() -> None:
    kernel = FakeKernel()
    thread = kernel.new_thread(kernel.new_process(), hog(1))
    kernel.scheduler.sleep_on(thread, "chan", restart=61)
    kernel.scheduler.wakeup("chan", result=-4)
    assert thread.context.restarts == [61] and not thread.context.results  # type: ignore


def test_wakeup_respects_count_and_bits() -> None:
    kernel = FakeKernel()
    process = kernel.new_process()
    threads = [kernel.new_thread(process, hog(1)) for _ in range(4)]
    for thread, bits in zip(threads, (0b01, 0b10, 0b01, 0b01)):
        kernel.scheduler.sleep_on(thread, "futex", bits=bits)
    assert kernel.scheduler.wakeup("futex", count=1, bits=0b01) == 1
    assert [t.state for t in threads] == [State.READY] + [State.BLOCKED] * 3
    assert kernel.scheduler.wakeup("futex", bits=0b01) == 2
    assert threads[1].state is State.BLOCKED
    assert kernel.scheduler.channels == {"futex": [threads[1]]}


def test_realtime_threads_run_before_every_normal_thread() -> None:
    kernel = FakeKernel()
    normal = kernel.new_thread(kernel.new_process(), hog(0.05))
    fifo = kernel.new_thread(kernel.new_process(), hog(0.2), policy=Policy.FIFO)
    run(kernel, normal, fifo)
    order = [s[3] for s in kernel.scheduler.trace]
    first_normal = order.index(normal.tid)
    assert set(order[:first_normal]) == {fifo.tid} and fifo.tid not in order[first_normal:]
    assert {s[4] for s in slices_of(kernel, fifo)} == {REALTIME}
    # FIFO is capped only so timers get in: it keeps the CPU slice after slice.
    assert all(s[5] == "preempt" for s in slices_of(kernel, fifo)[:-1])


def test_round_robin_threads_share_1ms_slices_and_stay_realtime() -> None:
    kernel = FakeKernel()
    a = kernel.new_thread(kernel.new_process(), hog(0.005), policy=Policy.RR)
    b = kernel.new_thread(kernel.new_process(), hog(0.005), policy=Policy.RR)
    run(kernel, a, b)
    trace = kernel.scheduler.trace
    assert [s[3] for s in trace] == [a.tid, b.tid] * 5
    assert {s[4] for s in trace} == {REALTIME}
    assert all(s[1] == near(QUANTA_US[REALTIME] / 1e6) for s in trace)


def test_each_cpu_runs_its_own_queue_first_and_steals_when_empty() -> None:
    kernel = FakeKernel(cpus=2)
    scheduler = kernel.scheduler
    process = kernel.new_process()
    here, there = (kernel.new_thread(process, hog(1), cpu=n) for n in (0, 1))
    scheduler.add(there)
    scheduler.add(here)
    assert list(scheduler.queues[0]) == [here] and list(scheduler.queues[1]) == [there]
    assert scheduler.pick(scheduler.queues[1]) is there
    assert scheduler.pick(scheduler.queues[1]) is here  # its own is empty: it steals
    assert scheduler.pick(scheduler.queues[1]) is None


def test_a_higher_level_elsewhere_beats_a_lower_level_here() -> None:
    kernel = FakeKernel(cpus=2)
    scheduler = kernel.scheduler
    process = kernel.new_process()
    low = kernel.new_thread(process, hog(1), cpu=0, level=5)
    high = kernel.new_thread(process, hog(1), cpu=1, level=2)
    scheduler.add(low)
    scheduler.add(high)
    assert scheduler.pick(scheduler.queues[0]) is high


def test_a_conflicting_thread_moves_to_the_queue_of_the_cpu_it_must_not_run_beside() -> None:
    kernel = FakeKernel(cpus=2)
    scheduler = kernel.scheduler
    process = kernel.new_process()
    waiting = kernel.new_thread(process, hog(1), cpu=0)
    scheduler.conflict = lambda thread: 1 if thread is waiting else None
    scheduler.add(waiting)
    assert waiting.cpu == 1 and list(scheduler.queues[1]) == [waiting]
    assert scheduler.pick(scheduler.queues[0]) is None
    scheduler.conflict = lambda thread: None
    assert scheduler.pick(scheduler.queues[1]) is waiting


def test_threads_blocked_with_nothing_to_wake_them_are_killed() -> None:
    kernel = FakeKernel()
    stuck = kernel.new_process("stuck")
    thread = kernel.new_thread(stuck, hog(1))
    kernel.scheduler.sleep_on(thread, "nobody")
    kernel.scheduler.run(kernel.cpu)
    assert kernel.killed == [(stuck.pid, 9)]
    assert "deadlocked" in kernel.warnings[0]


def test_a_server_thread_is_stepped_and_charged_system_time() -> None:
    kernel = FakeKernel()
    steps: list[float] = []

    class Service:
        def step(self, thread: Thread) -> None:
            steps.append(kernel.clock())
            kernel.clock.advance(0.001)
            if len(steps) == 3:
                thread.state = State.TERMINATED

    server = kernel.new_thread(kernel.new_process("server"), None, service=Service())
    run(kernel, server)
    assert steps == near([0.0, 0.001, 0.002])
    assert server.sys_time == near(0.003) and server.user_time == 0
