"""The direct call of the IPC fast path (``linux/fastpath.direct``), without a CPU.

A caller's call to a server waiting in receive is handed to the server's code and its
answer comes straight back: the scheduler is untouched (no run queue entry, the caller
still RUNNING, the server back in receive), and the reply capability is reused. When a
precondition fails (the server is not waiting) it declines and changes nothing; when the
server does not answer in its step, the caller sleeps on its reply as ``Ipc.call`` leaves
it, and a later answer wakes it as on the slow path.
"""

from __future__ import annotations

from typing import Any, Generator

import pytest
from fake_kernel import FakeKernel

from cloudos.abi.vfs import Again
from cloudos.kernel.cap import ObjType
from cloudos.kernel.ipc import Ipc, Message, Port
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import fastpath
from cloudos.linux.process import LinuxThread
from cloudos.servers.runtime import Request, ServerApi, ServerRuntime

PARK = -1  # a request body the server parks instead of answering
CRASH, NOTIFY_SELF = -2, -3  # bodies it crashes on, or answers after a message to itself


class Rig:
    """A fake kernel with IPC, a server answering ``body + 1`` (parking ``PARK``), and a
    running caller thread without a CPU context (a wake-up leaves its result in .result)."""

    def __init__(self, handler: bool = False, crash_on: int = 0) -> None:
        self.kernel = kernel = FakeKernel()
        kernel.ipc = Ipc(kernel)  # type: ignore[attr-defined,arg-type]
        kernel.new_aspace = lambda: None  # type: ignore[attr-defined]
        self.parked: list[Request] = []
        self.grants: list[list[Any]] = []  # each request's grants, as the server saw them
        self.handler, self.resumed, self.crashed = handler, 0, 0
        self.server = ServerRuntime(kernel, "plus1", 90, self.serve,  # type: ignore[arg-type]
                                    crash_on=crash_on)
        self.server.on_crash = lambda _runtime: setattr(self, "crashed", self.crashed + 1)
        self.run_server()
        self.caller = kernel.new_thread(kernel.new_process("app"))
        self.caller.state = State.RUNNING
        self.caller.personality = self.state = LinuxThread()

    def serve(self, api: ServerApi) -> Generator[Port, Request, None]:
        def handle(request: Request) -> None:
            self.grants.append(list(request.grants))
            if request.body == PARK:
                self.parked.append(request)
            elif request.body == CRASH:
                raise RuntimeError("a bug in the server")
            elif request.body == NOTIFY_SELF:  # a message to itself: queued while it serves
                self.kernel.ipc.notify(self.server.port,  # type: ignore[attr-defined]
                                       Message(0, b"", 0, body=PARK))
                api.reply(request, 0)
            else:
                api.reply(request, request.body + 1)

        if self.handler:
            api.handler = handle
        request = yield self.server.port
        while True:
            self.resumed += 1
            handle(request)
            request = yield self.server.port

    def run_server(self) -> None:
        """One scheduler round of the server alone (it runs until it waits in receive)."""
        thread = self.server.thread
        for queue in self.kernel.scheduler.queues:
            for line in queue.levels:
                if thread in line:
                    line.remove(thread)
        thread.state = State.RUNNING
        self.server.step(thread)

    def call(self, body: int) -> Any:
        msg = Message(0, b"", self.caller.process.pid, body=body)
        return fastpath.direct(self.caller, self.state, self.server.port, msg,
                               lambda answer: int(answer.body), None, -110)

    def queued(self) -> list[Thread]:
        return [t for q in self.kernel.scheduler.queues for line in q.levels for t in line]


def test_a_call_is_answered_without_the_scheduler() -> None:
    rig = Rig()
    ipc, port = rig.kernel.ipc, rig.server.port  # type: ignore[attr-defined]
    assert rig.server.thread.state is State.BLOCKED
    for value in (41, 7, 100):
        assert rig.call(value) == value + 1
        assert rig.caller.state is State.RUNNING and rig.caller.channel is None
        assert rig.queued() == []  # nobody woken, nobody queued
        assert rig.server.thread.state is State.BLOCKED
        assert rig.server.thread.channel == ("recv", port.id)
        assert ipc.replies == {} and rig.caller not in ipc.receivers
        # nothing of the call is left in the server's capability space
        space = ipc.caps.spaces[rig.server.pid]
        assert [c.type for c in space.values()] == [ObjType.PORT]  # (its own port only)
    assert rig.server.served_direct == rig.server.served_now == 3
    cap = rig.state.reply[0]
    rig.call(1)
    assert rig.state.reply[0] is cap  # the reply capability is minted once


def test_a_busy_server_is_not_called_directly() -> None:
    rig = Rig()
    ipc, port = rig.kernel.ipc, rig.server.port  # type: ignore[attr-defined]
    ipc.notify(port, Message(0, b"", 0, body=5))  # wakes it: it has a message to serve
    assert rig.server.thread.state is State.READY
    pending = rig.server.pending
    assert rig.call(1) is None  # declined: the caller goes the usual way
    assert rig.server.pending is pending and rig.server.thread.state is State.READY
    assert rig.caller.state is State.RUNNING and ipc.replies == {}
    assert rig.server.served_direct == rig.server.served_now == 0


def test_a_parked_call_leaves_the_caller_asleep_until_answered() -> None:
    rig = Rig()
    ipc = rig.kernel.ipc  # type: ignore[attr-defined]
    with pytest.raises(Stop):
        rig.call(PARK)
    caller = rig.caller
    assert caller.state is State.BLOCKED and caller.channel[0] == "reply"
    reply_id = caller.channel[1]
    assert ipc.replies == {reply_id: caller} and rig.state.reply is None
    assert rig.server.served_direct == 0
    (request,) = rig.parked
    assert rig.server.api.waiting(request)
    rig.server.api.reply(request, 55)  # later: the slow path's reply wakes it
    assert caller.state is State.READY and caller.result == 55
    # its next call gets a new reply capability (the parked one was spent by ipc.reply)
    caller.state = State.RUNNING
    for q in rig.kernel.scheduler.queues:
        for line in q.levels:
            if caller in line:
                line.remove(caller)
    assert rig.call(2) == 3
    assert rig.state.reply[0].obj != reply_id


def test_a_server_handler_is_called_straight() -> None:
    """A server that gave its handler (``ServerApi.handler``, the VFS's) serves a direct
    call without its generator (which stays in its receive) and is back in receive as
    Ipc.receive leaves it; without one (the tests above) its generator serves it."""
    for handler in (True, False):
        rig = Rig(handler=handler)
        ipc, port = rig.kernel.ipc, rig.server.port  # type: ignore[attr-defined]
        for value in (1, 2, 3):
            assert rig.call(value) == value + 1
            thread = rig.server.thread
            assert thread.state is State.BLOCKED and thread.channel == ("recv", port.id)
            assert ipc.receivers[thread] == rig.server._deliver and rig.queued() == []
            assert rig.kernel.scheduler.channels[("recv", port.id)] == [thread]
        assert rig.resumed == (0 if handler else 3)
        assert rig.server.requests == 3 and rig.server.served_direct == 3


def test_a_message_queued_while_the_handler_runs_is_served_by_the_loop() -> None:
    rig = Rig(handler=True)
    assert rig.call(NOTIFY_SELF) == 0
    # the notification it sent itself, queued while it served: its loop took it on
    assert rig.resumed == 1 and len(rig.parked) == 1
    assert rig.server.thread.state is State.BLOCKED and not rig.server.port.queue
    assert rig.call(5) == 6 and rig.resumed == 1


def test_a_crash_in_the_handler_answers_eio_and_reports_it() -> None:
    rig = Rig(handler=True)
    assert rig.call(CRASH) == -5  # EIO: the call being served when it crashed
    assert rig.server.thread.state is State.TERMINATED and rig.crashed == 1
    assert rig.caller.state is State.RUNNING and rig.server.outstanding == set()


def test_fault_injection_goes_through_the_step() -> None:
    """A fault to inject: the handler is not called straight, the step throws it."""
    rig = Rig(handler=True, crash_on=2)
    assert rig.call(1) == 2
    assert rig.resumed == 1  # (through the generator, as every call while injecting)
    msg = Message(0, b"", rig.caller.process.pid, body=7)
    answer = fastpath.direct(rig.caller, rig.state, rig.server.port, msg,
                             lambda a: a.body, None, -110)
    assert answer is Again.RESTART  # struck before it was served: it runs again
    assert rig.server.thread.state is State.TERMINATED and rig.crashed == 1


class Body(int):
    """A request body the rig's server adds one to, with the op ``sys_file.call`` sends."""

    OP = 0


def test_a_file_call_checks_its_capability_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sys_file.call`` remembers the FILE capability a lookup found under the process's
    token, but a capability revoked, or taken out of the process's space, refuses the next
    call (EPERM) as the lookup itself does; a new one under the same token is looked up."""
    from cloudos.errno import Errno, KernelError
    from cloudos.kernel.cap import Right
    from cloudos.linux.process import LinuxProcess
    from cloudos.linux.syscalls import sys_file

    monkeypatch.setattr(fastpath, "ENABLED", True)  # (answered in the call, whatever the switch)
    rig = Rig(handler=True)
    ipc = rig.kernel.ipc  # type: ignore[attr-defined]
    process = rig.caller.process
    process.personality = linux = LinuxProcess(creds=None)  # type: ignore[arg-type]
    parent = rig.server.client_cap(Right.SEND | Right.FILE | Right.GRANT)
    linux.files = ipc.caps.install(process.pid, ipc.caps.derive(parent, Right.SEND | Right.FILE))
    assert sys_file.call(rig.caller, Body(41)) == 42
    assert sys_file.call(rig.caller, Body(7)) == 8 and linux.files_cap is not None
    held = ipc.caps.spaces[process.pid].pop(linux.files)  # out of its space
    with pytest.raises(KernelError) as refused:
        sys_file.call(rig.caller, Body(1))
    assert refused.value.errno == Errno.EPERM
    ipc.caps.spaces[process.pid][linux.files] = held  # back: served again
    assert sys_file.call(rig.caller, Body(2)) == 3
    ipc.caps.revoke(parent)  # revoked: refused, whatever was remembered
    with pytest.raises(KernelError) as refused:
        sys_file.call(rig.caller, Body(3))
    assert refused.value.errno == Errno.EPERM
    linux.files = ipc.caps.install(process.pid, ipc.caps.derive(
        rig.server.client_cap(Right.SEND | Right.FILE | Right.GRANT), Right.SEND | Right.FILE))
    assert sys_file.call(rig.caller, Body(4)) == 5
    linux.files = ipc.caps.install(process.pid, ipc.caps.derive(
        rig.server.client_cap(Right.SEND | Right.FILE | Right.GRANT), Right.SEND))
    with pytest.raises(KernelError) as refused:  # without FILE: refused
        sys_file.call(rig.caller, Body(5))
    assert refused.value.errno == Errno.EPERM


def test_a_call_with_grants_goes_through_the_runtimes_delivery() -> None:
    """A message with capabilities (a grant on the caller's buffer) is not taken by the
    handler's inline delivery: ``_deliver`` installs its grants in the server's space and
    the server's step serves it; the answer takes them out again."""
    from cloudos.kernel.cap import Cap, Right

    rig = Rig(handler=True)
    ipc = rig.kernel.ipc  # type: ignore[attr-defined]
    grant = Cap(ObjType.GRANT, ipc._id(), Right.READ)
    msg = Message(0, b"", rig.caller.process.pid, [grant], body=10)
    assert fastpath.direct(rig.caller, rig.state, rig.server.port, msg,
                           lambda a: int(a.body), None, -110) == 11
    (grants,) = rig.grants
    assert len(grants) == 1 and grants[0]
    space = ipc.caps.spaces[rig.server.pid]
    assert [c.type for c in space.values()] == [ObjType.PORT]  # grant and reply gone
    assert rig.resumed == 1 and rig.server.outstanding == set()
    assert rig.call(3) == 4 and rig.grants[-1] == [] and rig.resumed == 1  # (inline)


def test_a_tracers_service_steps_the_server() -> None:
    """A server thread whose Service is not its runtime (a tracer's, timing each step) is
    stepped through that Service, its handler not called straight."""
    rig = Rig(handler=True)
    steps: list[Thread] = []
    runtime = rig.server

    class Timing:
        def step(self, thread: Thread) -> None:
            steps.append(thread)
            runtime.step(thread)

    rig.server.thread.service = Timing()  # type: ignore[assignment]
    assert rig.call(5) == 6
    assert steps == [rig.server.thread] and rig.resumed == 1
    assert rig.server.thread.state is State.BLOCKED


def test_undone_wraps_only_calls_left_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``undone`` (sys_file's wrapper), an answer of a call done is delivered without
    a wrapper (``inflight`` and ``vfs_restarts`` cleared as the wrapper would, the int
    result when no ``deliver`` is given); a RESTART answer (a fault struck before the call
    was served) and a parked call go through the wrapper, as on the slow path."""
    from cloudos.kernel.trap import SlowPath
    from cloudos.linux.syscalls import sys_file

    made: list[Any] = []

    def undone(t: Thread, deliver: Any, state: Any) -> Any:
        wrapper = sys_file._again_if_undone(t, deliver, state)
        made.append(wrapper)
        return wrapper

    def call(rig: Rig, body: int) -> Any:
        msg = Message(0, b"", rig.caller.process.pid, body=body)
        rig.state.inflight = (rig.server.port, msg)
        return fastpath.direct(rig.caller, rig.state, rig.server.port, msg, None, None,
                               -110, undone)

    rig = Rig(handler=True)
    rig.state.vfs_restarts = 2
    assert call(rig, 41) == 42
    assert made == [] and rig.state.inflight is None and rig.state.vfs_restarts == 0
    # a fault struck before the call was served: RESTART, through the wrapper: run again
    rig = Rig(handler=True, crash_on=1)
    rig.caller.syscall = 2
    monkeypatch.setattr(fastpath, "_again", lambda t, number: number)
    with pytest.raises(SlowPath) as again:
        call(rig, 7)
    assert again.value.work() == 2 and len(made) == 1
    assert rig.state.vfs_restarts == 1 and rig.state.inflight is None
    # parked: the caller sleeps with the wrapper as its delivery
    rig = Rig(handler=True)
    with pytest.raises(Stop):
        call(rig, PARK)
    assert len(made) == 2 and rig.kernel.ipc.receivers[rig.caller] is made[1]  # type: ignore[attr-defined]
    rig.server.api.reply(rig.parked[0], 9)
    assert rig.caller.result == 9 and rig.state.inflight is None
