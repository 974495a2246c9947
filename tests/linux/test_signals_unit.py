"""Signal delivery decisions (``linux.signals``) as functions, without a CPU.

What sending does (ignore, default action, stop, continue, pend and interrupt a
sleeping call), which pending signal is taken next, masks, and the default
actions ``deliver`` takes. Handler frames need guest memory and are covered by
the guest programs (tests/guest/signals*.c); everything here runs in milliseconds
on ``fake_kernel``. Numbers are Linux x86_64's (the host's ``signal`` module).
"""

from __future__ import annotations

import signal as host
import struct

import pytest
from fake_kernel import FakeKernel, hog

from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Process, State, Thread
from cloudos.linux import signals
from cloudos.linux.creds import Creds
from cloudos.linux.process import LinuxProcess, LinuxThread, linux, linux_thread
from cloudos.linux.signals import SigInfo

SIG_DFL, SIG_IGN, HANDLER = 0, 1, 0x401000
SA_RESTART, SA_NODEFER, SA_RESETHAND, SA_NOCLDSTOP = 0x10000000, 0x40000000, 0x80000000, 1
SI_USER = 0
READ, POLL = 0, 7  # system call numbers: read restarts with SA_RESTART, poll never does
USR1, USR2, TERM, CHLD = host.SIGUSR1, host.SIGUSR2, host.SIGTERM, host.SIGCHLD
KILL, STOP, CONT, TSTP = host.SIGKILL, host.SIGSTOP, host.SIGCONT, host.SIGTSTP


def bit(sig: int) -> int:
    return 1 << (sig - 1)


class Rig:
    """A fake kernel with init (pid 1) and a two-thread Linux process (pid 2)."""

    def __init__(self) -> None:
        self.kernel = FakeKernel()
        self.init = self.process("init")
        self.process_ = self.process("app", parent=self.init)
        self.main, self.other = self.thread(self.process_), self.thread(self.process_)

    def process(self, name: str, parent: Process | None = None) -> Process:
        process = self.kernel.new_process(name, parent)
        process.personality = LinuxProcess(Creds.of(1000, 1000))
        if parent is not None:
            parent.children.append(process)
        return process

    def thread(self, process: Process) -> Thread:
        thread = self.kernel.new_thread(process, hog(1))
        thread.personality, thread.state = LinuxThread(), State.RUNNING
        return thread

    def action(self, sig: int, handler: int, flags: int = 0, mask: int = 0,
               process: Process | None = None) -> None:
        state = linux(process or self.process_)
        state.sigactions[sig] = struct.pack("<QQQQ", handler, flags, 0, mask)

    def send(self, sig: int, thread: Thread | None = None, sender: int = 2) -> None:
        signals.send(self.process_, SigInfo(sig, SI_USER, sender), thread)

    def pending(self) -> set[int]:
        every = [linux(self.process_).pending_set] + [linux_thread(t).pending
                                                      for t in self.process_.threads]
        return {sig for pending in every for sig in pending.infos}


def ends_on_its_way_out(rig: Rig, process: Process, sig: int) -> None:
    """A fatal signal ends ``process`` on a thread's way back to user mode
    (``exit_due``), not inside the sender's call: until then it is only marked, and its
    threads told."""
    assert rig.kernel.killed == [] and linux(process).group_exit == sig
    assert all(t.notify for t in process.threads)
    assert signals.exit_due(process.threads[0])
    assert rig.kernel.killed == [(process.pid, sig)]


def test_an_ignored_signal_is_dropped_unless_blocked() -> None:
    rig = Rig()
    rig.action(USR1, SIG_IGN)
    rig.send(USR1)
    assert rig.pending() == set() and rig.kernel.killed == []
    for thread in rig.process_.threads:  # blocked everywhere: it stays (sigwait may take it)
        linux_thread(thread).sigmask = bit(USR1)
    rig.send(USR1)
    assert rig.pending() == {USR1}


def test_sigchld_by_default_does_nothing_and_sigterm_terminates() -> None:
    rig = Rig()
    rig.send(CHLD)
    assert rig.pending() == set() and rig.kernel.killed == []
    assert not signals.exit_due(rig.main)
    rig.send(TERM)
    ends_on_its_way_out(rig, rig.process_, TERM)


def test_a_blocked_default_signal_waits_and_sigkill_is_never_blocked() -> None:
    rig = Rig()
    for thread in rig.process_.threads:
        linux_thread(thread).sigmask = bit(TERM) | bit(KILL)
    rig.send(TERM)
    assert rig.pending() == {TERM} and rig.kernel.killed == []
    rig.send(KILL)
    ends_on_its_way_out(rig, rig.process_, KILL)


def test_a_handled_signal_pends_and_the_first_thread_not_blocking_it_is_told() -> None:
    rig = Rig()
    rig.action(USR1, HANDLER)
    linux_thread(rig.main).sigmask = bit(USR1)
    rig.send(USR1)
    assert rig.pending() == {USR1}
    assert linux(rig.process_).pending_set.infos[USR1].signo == USR1
    assert (rig.main.notify, rig.other.notify) == (False, True)


def test_a_signal_for_one_thread_pends_on_that_thread() -> None:
    rig = Rig()
    rig.action(USR1, HANDLER)
    rig.send(USR1, thread=rig.main)
    assert USR1 in linux_thread(rig.main).pending.infos
    assert not linux(rig.process_).pending_set.infos and not rig.other.notify


def test_standard_signals_do_not_queue_the_first_siginfo_stays() -> None:
    rig = Rig()
    rig.action(USR1, HANDLER)
    rig.send(USR1, sender=7)
    rig.send(USR1, sender=8)
    assert linux(rig.process_).pending_set.infos[USR1].pid == 7


def test_a_sleeping_call_is_interrupted_or_restarted_per_sa_restart() -> None:
    for flags, syscall, restarts, results in ((0, READ, [], [-Errno.EINTR]),
                                              (SA_RESTART, READ, [READ], []),
                                              (SA_RESTART, POLL, [], [-Errno.EINTR])):
        rig = Rig()
        rig.action(USR1, HANDLER, flags)
        linux_thread(rig.other).sigmask = bit(USR1)
        rig.main.syscall = syscall
        rig.kernel.scheduler.sleep_on(rig.main, ("pipe", 1))
        rig.send(USR1)
        context = rig.main.context
        assert rig.main.state is State.READY
        assert (context.restarts, context.results) == (restarts, results)  # type: ignore


def test_the_next_signal_taken_is_the_thread_s_own_then_the_lowest_number() -> None:
    rig = Rig()
    for sig in (TERM, USR2, USR1):
        rig.action(sig, HANDLER)
        rig.send(sig)
    rig.send(TERM, thread=rig.main)
    order = [signals.take(rig.main, -1) for _ in range(4)]
    assert [(info.signo, info in linux_thread(rig.main).pending.infos.values())
            for info in order if info] == [(TERM, False), (USR1, False), (USR2, False),
                                           (TERM, False)]
    assert signals.take(rig.main, -1) is None


def test_take_honours_the_set_wanted_and_pending_unblocked_the_mask() -> None:
    rig = Rig()
    for sig in (USR1, USR2):
        rig.action(sig, HANDLER)
        rig.send(sig)
    linux_thread(rig.main).sigmask = bit(USR1)
    assert signals.pending_unblocked(rig.main) == bit(USR2)
    assert signals.take(rig.main, bit(USR2)).signo == USR2  # type: ignore[union-attr]
    assert signals.take(rig.main, bit(USR2)) is None
    assert signals.pending_unblocked(rig.main) == 0
    assert signals.ignores(rig.main, USR1) and not signals.ignores(rig.other, USR1)


def test_deliver_applies_default_actions() -> None:
    rig = Rig()
    linux(rig.process_).pending_set.infos[CHLD] = SigInfo(CHLD)
    signals.deliver(rig.main)
    assert rig.kernel.killed == [] and rig.pending() == set()
    linux(rig.process_).pending_set.infos[TERM] = SigInfo(TERM)
    signals.deliver(rig.main)
    assert rig.kernel.killed == [(rig.process_.pid, TERM)]


def test_deliver_skips_blocked_signals_and_restores_a_temporary_mask() -> None:
    rig = Rig()
    state = linux_thread(rig.main)
    state.sigmask = bit(TERM)
    linux(rig.process_).pending_set.infos[TERM] = SigInfo(TERM)
    signals.set_temporary_mask(rig.main, bit(TERM) | bit(USR1))
    assert state.sigmask == bit(TERM) | bit(USR1) and state.suspended == bit(TERM)
    # The wait ended with no handler run: the old mask again, and TERM stays pending.
    signals.deliver(rig.main)
    assert (state.sigmask, state.temporary_mask) == (bit(TERM), False)
    assert rig.pending() == {TERM} and rig.kernel.killed == []


def test_a_temporary_mask_that_lets_a_pending_signal_in_is_eintr() -> None:
    rig = Rig()
    linux_thread(rig.main).sigmask = bit(USR1)
    linux(rig.process_).pending_set.infos[USR1] = SigInfo(USR1)
    with pytest.raises(KernelError) as info:
        signals.set_temporary_mask(rig.main, 0)
    assert info.value.errno == Errno.EINTR


def test_sigkill_and_sigstop_cannot_be_masked_by_a_temporary_mask() -> None:
    rig = Rig()
    signals.set_temporary_mask(rig.main, -1 & ((1 << 64) - 1))
    assert not linux_thread(rig.main).sigmask & (bit(KILL) | bit(STOP))


def test_a_stop_signal_stops_and_sigcont_resumes_telling_the_parent() -> None:
    rig = Rig()
    rig.action(CHLD, HANDLER, process=rig.init)
    init_thread = rig.thread(rig.init)
    rig.send(TSTP)
    state = linux(rig.process_)
    assert state.stopped == TSTP and state.wait_report == 0x7F | TSTP << 8
    assert all(t.notify for t in rig.process_.threads)
    assert linux(rig.init).pending_set.infos[CHLD].status == TSTP
    linux(rig.init).pending_set.infos.clear()
    rig.send(CONT)
    assert state.stopped == 0 and state.wait_report == 0xFFFF
    assert CHLD in linux(rig.init).pending_set.infos and init_thread.notify


def test_sa_nocldstop_keeps_the_parent_from_hearing_of_stops() -> None:
    rig = Rig()
    rig.action(CHLD, HANDLER, SA_NOCLDSTOP, process=rig.init)
    rig.send(STOP)
    assert linux(rig.process_).stopped == STOP and not linux(rig.init).pending_set.infos


def test_sigcont_discards_pending_stops_and_a_stop_discards_a_pending_sigcont() -> None:
    rig = Rig()
    for thread in rig.process_.threads:
        linux_thread(thread).sigmask = bit(TSTP) | bit(CONT)
    rig.send(TSTP)
    assert rig.pending() == {TSTP}
    rig.send(CONT)
    assert rig.pending() == {CONT}
    rig.send(TSTP)
    assert rig.pending() == {TSTP}


def test_init_ignores_default_signals_from_others_but_not_its_own() -> None:
    rig = Rig()
    init_thread = rig.thread(rig.init)
    signals.send(rig.init, SigInfo(TERM, SI_USER, pid=2))
    assert rig.kernel.killed == []
    rig.action(TERM, HANDLER, process=rig.init)
    signals.send(rig.init, SigInfo(TERM, SI_USER, pid=2))
    assert TERM in linux(rig.init).pending_set.infos and init_thread.notify
    del linux(rig.init).sigactions[TERM]
    signals.send(rig.init, SigInfo(USR1, SI_USER, pid=1))  # its own kill(1, SIGUSR1)
    ends_on_its_way_out(rig, rig.init, USR1)


def test_a_zombie_gets_nothing() -> None:
    rig = Rig()
    rig.process_.state = State.TERMINATED
    rig.send(TERM)
    assert rig.kernel.killed == [] and rig.pending() == set()


def test_a_thread_that_sleeps_after_a_signal_came_is_woken_as_a_sleeper_would_be() -> None:
    """On two CPUs a signal can come while its target, out of guest code with a call,
    waits for the big lock: not asleep yet, so not woken. ``woke_too_late``, asked once
    the call has put it to sleep, wakes it as the sender would have."""
    rig = Rig()  # a fatal one: the thread wakes to die
    rig.send(TERM)  # (main is RUNNING: nothing to wake yet)
    rig.main.syscall = READ
    rig.kernel.scheduler.sleep_on(rig.main, ("pause", rig.main.tid))
    assert rig.main.state is State.BLOCKED and rig.main.notify
    signals.woke_too_late(rig.main)
    assert rig.main.state is State.READY
    assert rig.main.context.results == [-Errno.EINTR]  # type: ignore[union-attr]
    for flags, results in ((0, [-Errno.EINTR]), (SA_RESTART, [])):  # a handled one
        rig = Rig()
        rig.action(USR1, HANDLER, flags)
        linux_thread(rig.other).sigmask = bit(USR1)
        rig.send(USR1)
        rig.main.syscall = READ
        rig.kernel.scheduler.sleep_on(rig.main, ("pipe", 1))
        signals.woke_too_late(rig.main)
        assert rig.main.state is State.READY
        assert rig.main.context.results == results  # type: ignore[union-attr]
    rig = Rig()  # a group stop: the call runs again once the process continues
    rig.send(STOP)
    rig.main.syscall = READ
    rig.kernel.scheduler.sleep_on(rig.main, ("pipe", 1))
    signals.woke_too_late(rig.main)
    assert rig.main.state is State.READY
    assert rig.main.context.restarts == [READ]  # type: ignore[union-attr]
    rig = Rig()  # one the thread blocks: it sleeps on
    rig.action(USR1, HANDLER)
    for thread in (rig.main, rig.other):
        linux_thread(thread).sigmask = bit(USR1)
    rig.send(USR1)
    rig.main.notify = True  # (left set by something else)
    rig.kernel.scheduler.sleep_on(rig.main, ("pipe", 1))
    signals.woke_too_late(rig.main)
    assert rig.main.state is State.BLOCKED


def test_a_dying_process_forks_no_child(monkeypatch) -> None:
    """Once a fatal signal marked its process, a fork that was on its way fails with
    EINTR (Linux's copy_process), so that no child outlives the kill."""
    from cloudos.kernel.trap import SlowPath
    from cloudos.linux.syscalls import sys_fork
    monkeypatch.setattr(sys_fork, "_check_clone", lambda *_: None)  # (limits: not here)
    rig = Rig()
    rig.send(KILL)
    processes = dict(rig.kernel.processes)
    with pytest.raises(SlowPath) as slow:
        sys_fork.sys_fork(rig.main)
    assert slow.value.work() == -Errno.EINTR
    assert rig.kernel.processes == processes
