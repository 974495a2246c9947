"""IPC (``kernel.ipc``) on a fake kernel: ports, queue limits, handoff, call, deferred
reply, timeouts, grants and capability transfer. No CPU, no guest: milliseconds.

``test_ipc.py`` runs the same operations from a guest program through the system
calls; these check the kernel objects' decisions one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fake_kernel import FakeKernel, hog

from cloudos.kernel.cap import ObjType, Right
from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.ipc import CAPS_MAX, MSG_MAX, QUEUE_MAX, Ipc, Message
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import Stop


@contextmanager
def fails(code: Errno) -> Iterator[None]:
    with pytest.raises(KernelError) as info:
        yield
    assert info.value.errno == code, info.value


class Rig:
    """A fake kernel with IPC, a server process holding a port, and clients."""

    def __init__(self) -> None:
        self.kernel = FakeKernel()
        self.ipc = Ipc(self.kernel)  # type: ignore[arg-type]
        self.server = self.thread("server")
        self.token = self.ipc.create_port(self.server.process.pid)
        self.port = self.ipc.port(self.server.process.pid, self.token, Right.RECV)
        self.got: list[Message] = []

    def thread(self, name: str) -> Thread:
        thread = self.kernel.new_thread(self.kernel.new_process(name), hog(1))
        thread.state = State.RUNNING
        return thread

    def deliver(self, msg: Message) -> int:
        self.got.append(msg)
        return len(msg.data)

    def msg(self, sender: Thread, data: bytes = b"x") -> Message:
        return self.ipc.message(sender.process.pid, 1, data, [])

    def results(self, thread: Thread) -> list[int]:
        return thread.context.results  # type: ignore[union-attr]


def test_a_port_capability_carries_every_right_and_lookup_checks_them() -> None:
    rig = Rig()
    other = rig.thread("other")
    with fails(Errno.EPERM):
        rig.ipc.port(other.process.pid, rig.token, Right.SEND)
    derived = rig.ipc.caps.derive(rig.ipc.caps.spaces[rig.server.process.pid][rig.token],
                                  Right.SEND)
    token = rig.ipc.caps.install(other.process.pid, derived)
    assert rig.ipc.port(other.process.pid, token, Right.SEND) is rig.port
    with fails(Errno.EPERM):
        rig.ipc.port(other.process.pid, token, Right.RECV)


def test_message_size_and_capability_count_are_bounded() -> None:
    rig = Rig()
    pid = rig.server.process.pid
    assert rig.ipc.message(pid, 1, bytes(MSG_MAX), []).data == bytes(MSG_MAX)
    with fails(Errno.EMSGSIZE):
        rig.ipc.message(pid, 1, bytes(MSG_MAX + 1), [])
    with fails(Errno.EMSGSIZE):
        rig.ipc.message(pid, 1, b"", [rig.token] * (CAPS_MAX + 1))


def test_passing_a_capability_needs_grant_and_sends_a_revocable_child() -> None:
    rig = Rig()
    pid = rig.server.process.pid
    held = rig.ipc.caps.spaces[pid][rig.token]
    msg = rig.ipc.message(pid, 1, b"", [rig.token])
    assert [c.parent for c in msg.caps] == [held] and msg.caps[0].rights == held.rights
    no_grant = rig.ipc.caps.install(pid, rig.ipc.caps.derive(held, Right.SEND))
    with fails(Errno.EPERM):
        rig.ipc.message(pid, 1, b"", [no_grant])
    with fails(Errno.EPERM):
        rig.ipc.message(pid, 1, b"", [0xDEAD_BEEF])
    rig.ipc.caps.revoke(held)
    assert not msg.caps[0].valid


def test_the_queue_holds_64_then_refuses_or_blocks_the_sender() -> None:
    rig = Rig()
    client = rig.thread("client")
    for n in range(QUEUE_MAX):
        assert rig.ipc.send(client, rig.port, rig.msg(client, bytes([n])), None, False) == 0
    with fails(Errno.EAGAIN):
        rig.ipc.send(client, rig.port, rig.msg(client), None, False)
    with pytest.raises(Stop):
        rig.ipc.send(client, rig.port, rig.msg(client, b"late"), None, True)
    assert client.state is State.BLOCKED and client.channel == ("send", rig.port.id)
    # A receive frees a slot: the blocked sender's message goes in and it wakes with 0.
    assert rig.ipc.receive(rig.server, rig.port, rig.deliver, None, False) == 1
    assert client.state is State.READY and rig.results(client) == [0]
    assert len(rig.port.queue) == QUEUE_MAX and rig.port.queue[-1].data == b"late"


def test_the_kernel_s_own_messages_are_never_refused() -> None:
    rig = Rig()
    for _ in range(QUEUE_MAX):
        rig.port.queue.append(Message(1, b"", 0))
    rig.ipc.notify(rig.port, Message(2, b"exit", 0))
    assert len(rig.port.queue) == QUEUE_MAX + 1


def test_an_empty_port_refuses_a_poll_and_blocks_a_receive_until_a_handoff() -> None:
    rig = Rig()
    with fails(Errno.EAGAIN):
        rig.ipc.receive(rig.server, rig.port, rig.deliver, None, False)
    with pytest.raises(Stop):
        rig.ipc.receive(rig.server, rig.port, rig.deliver, None, True)
    client = rig.thread("client")
    assert rig.ipc.send(client, rig.port, rig.msg(client, b"hello"), None, False) == 0
    # Handed to the waiting receiver, not queued; it wakes with deliver's result.
    assert [m.data for m in rig.got] == [b"hello"] and not rig.port.queue
    assert rig.server.state is State.READY and rig.results(rig.server) == [5]


def test_a_receive_times_out() -> None:
    rig = Rig()
    with pytest.raises(Stop):
        rig.ipc.receive(rig.server, rig.port, rig.deliver, 0.005, True)
    rig.kernel.clock.advance(0.005)
    rig.kernel.scheduler._fire_timers(rig.kernel.clock())
    assert rig.results(rig.server) == [-Errno.ETIMEDOUT]
    # A message sent afterwards is queued, not delivered to the one who gave up.
    client = rig.thread("client")
    rig.ipc.send(client, rig.port, rig.msg(client), None, False)
    assert not rig.got and len(rig.port.queue) == 1


def call(rig: Rig, client: Thread, data: bytes, replies: list[Message],
         deadline: float | None = None) -> None:
    def deliver_reply(msg: Message) -> int:
        replies.append(msg)
        return 100 + len(msg.data)
    with pytest.raises(Stop):
        rig.ipc.call(client, rig.port, rig.msg(client, data), deliver_reply, deadline)
    assert client.state is State.BLOCKED


def serve(rig: Rig) -> int:
    """The server takes the next message and installs its reply capability."""
    rig.ipc.receive(rig.server, rig.port, rig.deliver, None, False)
    reply = rig.got[-1].reply
    assert reply is not None and reply.type is ObjType.REPLY
    return rig.ipc.caps.install(rig.server.process.pid, reply)


def test_a_deferred_reply_reaches_its_caller_after_other_work() -> None:
    rig = Rig()
    first, second = rig.thread("first"), rig.thread("second")
    first_replies: list[Message] = []
    second_replies: list[Message] = []
    call(rig, first, b"answer me later", first_replies)
    call(rig, second, b"first this", second_replies)
    late = serve(rig)
    soon = serve(rig)
    pid = rig.server.process.pid
    assert rig.ipc.waits(pid, late) and rig.ipc.waits(pid, soon)
    assert rig.ipc.reply(pid, soon, Message(2, b"done", pid)) == 0
    assert second.state is State.READY and first.state is State.BLOCKED
    assert rig.ipc.reply(pid, late, Message(2, b"late answer", pid)) == 0
    assert [m.data for m in first_replies] == [b"late answer"]
    assert rig.results(first) == [111] and rig.results(second) == [104]
    with fails(Errno.EPERM):  # one reply per call: the capability is spent
        rig.ipc.reply(pid, late, Message(2, b"again", pid))
    assert not rig.ipc.waits(pid, late)


def test_a_call_times_out_and_a_late_reply_finds_nobody() -> None:
    rig = Rig()
    client = rig.thread("client")
    replies: list[Message] = []
    call(rig, client, b"slow", replies, deadline=0.010)
    token = serve(rig)
    rig.kernel.clock.advance(0.010)
    rig.kernel.scheduler._fire_timers(rig.kernel.clock())
    assert rig.results(client) == [-Errno.ETIMEDOUT]
    pid = rig.server.process.pid
    assert not rig.ipc.waits(pid, token)
    with fails(Errno.ESRCH):
        rig.ipc.reply(pid, token, Message(2, b"too late", pid))
    assert replies == []


def test_a_reply_to_a_caller_now_waiting_on_a_newer_call_is_refused() -> None:
    rig = Rig()
    client = rig.thread("client")
    call(rig, client, b"one", [], deadline=0.001)
    old = serve(rig)
    rig.kernel.clock.advance(0.001)
    rig.kernel.scheduler._fire_timers(rig.kernel.clock())
    client.state = State.RUNNING
    newer: list[Message] = []
    call(rig, client, b"two", newer)
    pid = rig.server.process.pid
    with fails(Errno.ESRCH):
        rig.ipc.reply(pid, old, Message(2, b"for one", pid))
    rig.ipc.reply(pid, serve(rig), Message(2, b"for two", pid))
    assert [m.data for m in newer] == [b"for two"]


def test_a_call_to_a_full_port_fails_at_once_and_leaves_no_reply_slot() -> None:
    rig = Rig()
    client = rig.thread("client")
    for _ in range(QUEUE_MAX):
        rig.ipc.send(client, rig.port, rig.msg(client), None, False)
    with fails(Errno.EAGAIN):
        rig.ipc.call(client, rig.port, rig.msg(client), rig.deliver, None)
    assert rig.ipc.replies == {} and rig.ipc.receivers == {}
    assert client.state is State.RUNNING


def test_a_grant_is_bounded_and_dies_with_its_owner() -> None:
    rig = Rig()
    owner = rig.thread("owner").process
    cap = rig.ipc.lend(owner.pid, owner.aspace, 0x1000, 0x100, Right.READ)
    assert cap.rights == Right.READ | Right.GRANT  # never more than READ/WRITE asked for
    token = rig.ipc.caps.install(rig.server.process.pid, cap)
    pid = rig.server.process.pid
    assert rig.ipc.grant(pid, token, 0, 0x100, False).start == 0x1000
    with fails(Errno.EFAULT):
        rig.ipc.grant(pid, token, 0xF0, 0x20, False)
    with fails(Errno.EFAULT):
        rig.ipc.grant(pid, token, -1, 1, False)
    with fails(Errno.EPERM):
        rig.ipc.grant(pid, token, 0, 1, True)  # lent read-only
    owner.state = State.TERMINATED
    with fails(Errno.EFAULT):
        rig.ipc.grant(pid, token, 0, 1, False)
