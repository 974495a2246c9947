"""sys_futex's inline cases (FUTEX_WAIT_PRIVATE with no timeout, FUTEX_WAKE_PRIVATE of a
lone sleeper) against the general code they shortcut: the same operation spelled as
its BITSET form with every bit (which always takes the general path) leaves the same
sleepers and returns the same; and each case the inline code leaves alone (a timeout,
a bad address, several sleepers, a count of 0 or below, a futex_waitv sleeper) still
gets the general answer.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import switch
from cloudos.linux.syscalls import sys_futex as F
from tests.fake_kernel import FakeContext, FakeKernel, hog

PRIVATE = F.FUTEX_PRIVATE_FLAG
WAIT_BITSET, WAKE_BITSET = F.FUTEX_WAIT_BITSET | PRIVATE, F.FUTEX_WAKE_BITSET | PRIVATE
ANY = F.BITSET_MATCH_ANY
WORD = 0x1000  # the futex word's address (its page is frame 0 of the fake RAM)


def _machine(sleepers: int = 0) -> tuple[FakeKernel, Thread, list[Thread]]:
    """A process with a futex word holding 7, a running thread, and ``sleepers`` threads
    asleep on the word (FUTEX_WAIT_PRIVATE's key)."""
    kernel = FakeKernel()
    kernel.smp = None  # type: ignore[attr-defined]
    kernel.dispatcher.on_stop = None  # (no direct switch: a wait raises Stop)
    ram = bytearray(8192)
    ram[WORD:WORD + 4] = (7).to_bytes(4, "little")
    aspace = SimpleNamespace(ram=SimpleNamespace(bytes=ram), find=lambda va: None,
                             user_frame=lambda va, write, force=False: va & ~0xFFF)
    process = kernel.new_process()
    process.aspace = aspace  # type: ignore[assignment]
    runner = kernel.new_thread(process, hog(1.0))
    runner.state = State.RUNNING
    asleep = []
    for _ in range(sleepers):
        thread = kernel.new_thread(process, hog(1.0))
        kernel.scheduler.sleep_on(thread, ("futex", id(aspace), WORD), None, -Errno.ETIMEDOUT,
                                  ANY)
        asleep.append(thread)
    return kernel, runner, asleep


def _call(t: Thread, *args: int) -> Any:
    """sys_futex's RAX, or what it raised (as an errno, or 'stop')."""
    try:
        return F.sys_futex(t, *args)
    except KernelError as err:
        return -err.errno
    except Stop:
        return "stop"


def _named(key: Any) -> Any:
    """A futex key with its address space's id (one per machine) left out."""
    return (key[0], "aspace", key[2]) if isinstance(key, tuple) and key[0] == "futex" else key


def _state(kernel: FakeKernel, threads: list[Thread]) -> tuple[Any, ...]:
    results = []
    for t in threads:
        assert isinstance(t.context, FakeContext)
        results.append((t.state, _named(t.channel), t.deadline, t.wait_bits,
                        t.timeout_result, t.restart, t.level, list(t.context.results)))
    channels = {_named(key): [t.tid for t in line]
                for key, line in kernel.scheduler.channels.items()}
    queue = [[t.tid for t in line] for line in kernel.scheduler.queues[0].levels]
    return results, channels, queue


@pytest.fixture(autouse=True)
def _switch_on(monkeypatch) -> None:
    monkeypatch.setattr(switch, "ENABLED", True)  # (the inline wake, whatever the run's)
    F._vectors.clear()


@pytest.mark.parametrize("value,timeout,addr", [
    (7, 0, WORD), (8, 0, WORD), (7, 0, WORD + 2), (7, 0, F.USER_END),
    (7 | 1 << 32, 0, WORD),  # (the value's upper half is not the int's)
])
def test_wait_inline_is_the_bitset_wait(value, timeout, addr) -> None:
    fast_kernel, fast, _ = _machine()
    slow_kernel, slow, _ = _machine()
    got = _call(fast, addr, F.FUTEX_WAIT | PRIVATE, value, timeout, 0, 0)
    want = _call(slow, addr, WAIT_BITSET, value, timeout, 0, ANY)
    assert got == want
    assert got in ("stop", -Errno.EAGAIN, -Errno.EINVAL, -Errno.EFAULT)
    assert _state(fast_kernel, [fast]) == _state(slow_kernel, [slow])


@pytest.mark.parametrize("sleepers,count", [
    (0, 1), (1, 1), (1, 5), (2, 1), (2, 2), (1, 0), (1, -1), (1, 1 << 32 | 1),
])
def test_wake_inline_is_the_bitset_wake(sleepers, count) -> None:
    fast_kernel, fast, fast_asleep = _machine(sleepers)
    slow_kernel, slow, slow_asleep = _machine(sleepers)
    got = _call(fast, WORD, F.FUTEX_WAKE | PRIVATE, count & (1 << 64) - 1, 0, 0, 0)
    want = _call(slow, WORD, WAKE_BITSET, count & (1 << 64) - 1, 0, 0, ANY)
    assert got == want == min(sleepers, max(0, F.s32(count)))
    assert _state(fast_kernel, fast_asleep) == _state(slow_kernel, slow_asleep)


def test_a_stale_sleeper_is_left_to_the_general_wake() -> None:
    """The one listed is no longer asleep there (it timed out): nobody is woken, and the
    stale entry goes, as ``Scheduler.wakeup`` drops it."""
    kernel, runner, (gone,) = _machine(1)
    gone.state, gone.channel = State.READY, None
    assert _call(runner, WORD, F.FUTEX_WAKE | PRIVATE, 1, 0, 0, 0) == 0
    assert not kernel.scheduler.channels


def test_a_futex_waitv_sleeper_is_left_to_the_general_wake(monkeypatch) -> None:
    """With a futex_waitv sleeper anywhere the inline wake steps aside: ``futex_wake``
    wakes the lone sleeper and then looks at the vectors."""
    kernel, runner, (one,) = _machine(1)
    looked: list[int] = []
    monkeypatch.setattr(F, "_wake_vectors", lambda t, key, room: looked.append(room) or 0)
    F._vectors[("elsewhere",)] = []
    assert _call(runner, WORD, F.FUTEX_WAKE | PRIVATE, 2, 0, 0, 0) == 1
    assert looked == [1] and one.state is State.READY
