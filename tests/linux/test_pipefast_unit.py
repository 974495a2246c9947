"""Pipe reads and writes the personality serves itself (``linux/pipefast``), without a CPU.

Each precondition that fails sends the call through the VFS's port (``_local`` says
None); the VFS's half (``servers/vfs/pipe.Local``) serves only the cases it must (a read
that finds bytes, end of file, EAGAIN, or waits; a write that all goes in now) and
declines the rest untouched; a read parked there is answered by whatever makes the pipe
readable (a write, the last writer's close), in turn, and never if its reader no longer
waits; its waiter copies the bytes and wakes the reader.
"""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace
from typing import Any

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import State
from cloudos.linux import pipefast, switch
from cloudos.servers.runtime import LocalRequest, ServerApi
from cloudos.servers.vfs import pipe
from cloudos.servers.vfs.files import O_NONBLOCK, O_RDONLY, O_WRONLY, FdTable, OpenFile, Pipe
from cloudos.servers.vfs.notify import Notify


# -- the personality's preconditions ---------------------------------------------------
def _world() -> SimpleNamespace:
    """A thread whose every precondition holds, and what it reaches."""
    kernel = SimpleNamespace(smp=None, dispatcher=SimpleNamespace(on_stop=None))
    kernel.dispatcher.on_stop = switch.DirectSwitch(kernel)  # type: ignore[arg-type]
    cap = SimpleNamespace(valid=True, obj=7)
    server = SimpleNamespace(state=State.BLOCKED, service=None)
    runtime = SimpleNamespace(pending=None, direct=None, crash_on=0, redelivered=None,
                              thread=server, api=SimpleNamespace(local="the VFS's Local"))
    server.service = runtime
    port = SimpleNamespace(queue=deque(), server=runtime)
    kernel.ipc = SimpleNamespace(caps=SimpleNamespace(spaces={10: {3: cap}}), ports={7: port})
    personality = SimpleNamespace(ptrace=None, files=3, files_cap=(3, cap))
    process = SimpleNamespace(kernel=kernel, personality=personality, pid=10)
    thread = SimpleNamespace(process=process, notify=False)
    return SimpleNamespace(thread=thread, kernel=kernel, cap=cap, server=server,
                           runtime=runtime, port=port, personality=personality)


BREAKS = {
    "a signal to take": lambda w: setattr(w.thread, "notify", True),
    "several CPUs": lambda w: setattr(w.kernel, "smp", object()),
    "ptraced": lambda w: setattr(w.personality, "ptrace", object()),
    "no direct switch (off, or a tracer's dispatcher)":
        lambda w: setattr(w.kernel.dispatcher, "on_stop", None),
    "no FILE capability": lambda w: setattr(w.personality, "files", 0),
    "never looked up": lambda w: setattr(w.personality, "files_cap", None),
    "another token": lambda w: setattr(w.personality, "files", 4),
    "revoked": lambda w: setattr(w.cap, "valid", False),
    "out of its space": lambda w: w.kernel.ipc.caps.spaces[10].clear(),
    "its space gone": lambda w: w.kernel.ipc.caps.spaces.clear(),
    "no port": lambda w: w.kernel.ipc.ports.clear(),
    "no server": lambda w: setattr(w.port, "server", None),
    "a message queued": lambda w: w.port.queue.append(object()),
    "a request pending": lambda w: setattr(w.runtime, "pending", object()),
    "a direct call in progress": lambda w: setattr(w.runtime, "direct", object()),
    "a fault to inject": lambda w: setattr(w.runtime, "crash_on", 3),
    "a notification redelivered": lambda w: setattr(w.runtime, "redelivered", object()),
    "the server running": lambda w: setattr(w.server, "state", State.RUNNING),
    "the server crashed": lambda w: setattr(w.server, "state", State.TERMINATED),
    "the server traced": lambda w: setattr(w.server, "service", object()),
    "a server without a Local": lambda w: setattr(w.runtime.api, "local", None),
}


def test_every_precondition_holds() -> None:
    world = _world()
    assert pipefast._local(world.thread) == "the VFS's Local"


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_failed_precondition_goes_through_the_port(name: str) -> None:
    world = _world()
    BREAKS[name](world)
    assert pipefast._local(world.thread) is None
    # and the calls say so (None: sys_read and sys_write make their usual call)
    assert pipefast.read(world.thread, 3, 0x1000, 1) is None  # type: ignore[arg-type]
    assert pipefast.write(world.thread, 3, 0x1000, 1) is None  # type: ignore[arg-type]


def test_a_write_no_pipe_takes_whole_goes_through_the_port_uncopied() -> None:
    world = _world()  # (its Local and memory are stand-ins: touching them fails)
    count = pipefast.WRITE_MAX + 1
    assert pipefast.write(world.thread, 3, 0x1000, count) is None  # type: ignore[arg-type]


# -- the VFS's half --------------------------------------------------------------------
class FakeVfs:
    """What the pipe code uses of the VFS: its state, its ServerApi, answers, pollers."""

    def __init__(self) -> None:
        self.api = ServerApi(SimpleNamespace(kernel=None, pid=5))  # type: ignore[arg-type]
        self.state = SimpleNamespace(procs={}, caller=0, send_sigio=lambda *a: None,
                                     notify=Notify())
        self.pollers_woken = 0
        self.unrefs: list[OpenFile] = []

    def answer(self, request: Any, result: Any) -> None:
        if request.reply_token:
            self.api.reply(request, result)

    def wake_pollers(self) -> None:
        self.pollers_woken += 1

    def unref(self, file: OpenFile) -> None:
        self.unrefs.append(file)


class Waiter:
    def __init__(self, waiting: bool = True) -> None:
        self.waiting = waiting
        self.told: list[tuple[Any, list[tuple[int, bytes]]]] = []

    def waits(self) -> bool:
        return self.waiting

    def finish(self, result: Any, pieces: list[tuple[int, bytes]]) -> None:
        self.told.append((result, list(pieces)))

    def hand(self, data: bytes) -> None:  # (``finish`` of a read taking all of ``data``)
        assert self.waiting
        self.told.append((len(data), [(0, data)]))


PID = 10


def _rig(status: int = 0) -> tuple[FakeVfs, pipe.Local, Pipe, OpenFile, OpenFile]:
    vfs = FakeVfs()
    p = Pipe(readers=1, writers=1, slots=deque())
    fds = FdTable()
    reader = OpenFile("pipe", O_RDONLY | status, pipe=p)
    writer = OpenFile("pipe", O_WRONLY | status, pipe=p)
    assert (fds.install(reader), fds.install(writer)) == (0, 1)
    vfs.state.procs[PID] = SimpleNamespace(fds=fds)
    return vfs, pipe.Local(vfs), p, reader, writer  # type: ignore[arg-type]


def test_the_ends_it_serves() -> None:
    vfs, local, p, reader, writer = _rig()
    assert local.end(PID, 0, False) is reader and local.end(PID, 1, True) is writer
    assert local.end(PID, 0, True) is None and local.end(PID, 1, False) is None  # (EBADF)
    assert local.end(PID, 2, False) is None and local.end(PID + 1, 0, False) is None
    fds = vfs.state.procs[PID].fds
    fifo = fds.install(OpenFile("fifo", O_RDONLY, pipe=p))
    assert local.end(PID, fifo, False) is not None
    socket = fds.install(OpenFile("socket", O_RDONLY, pipe=Pipe(readers=1, writers=1)))
    assert local.end(PID, socket, False) is None  # (its pipe counts bytes, no pages)


def test_fifos_go_through_the_port_while_anything_is_watched() -> None:
    """inotify's events of a FIFO's reads and writes are made by the VFS's own pipe calls:
    while any mark exists a FIFO's end is not served here; an anonymous pipe's still is."""
    vfs, local, p, reader, writer = _rig()
    fds = vfs.state.procs[PID].fds
    fifo = fds.install(OpenFile("fifo", O_RDONLY, pipe=p))
    vfs.state.notify.marks[object()] = []
    assert local.end(PID, fifo, False) is None
    assert local.end(PID, 0, False) is reader and local.end(PID, 1, True) is writer
    vfs.state.notify.marks.clear()
    assert local.end(PID, fifo, False) is not None


def test_reads_now() -> None:
    vfs, local, p, reader, writer = _rig()
    assert local.read(PID, reader, 5) is pipe.PARK  # (empty: nothing parked yet)
    assert not p.blocked_readers and local.served == 0
    assert local.write(PID, writer, b"hello") == 5
    assert local.read(PID, reader, 2) == b"he"
    assert local.read(PID, reader, 100) == b"llo"
    pipe.PipeEnd().release(vfs, writer)  # type: ignore[arg-type]
    assert local.read(PID, reader, 1) == 0  # end of file
    assert local.served == 4


def test_nonblocking_read_of_an_empty_pipe() -> None:
    _, local, p, reader, _ = _rig(O_NONBLOCK)
    assert local.read(PID, reader, 1) == -Errno.EAGAIN


def test_a_parked_read_is_answered_by_a_write() -> None:
    vfs, local, p, reader, writer = _rig()
    waiter = Waiter()
    local.park(PID, reader, 10, waiter)
    assert local.write(PID, writer, b"hi") == 2
    assert waiter.told == [(2, [(0, b"hi")])]
    assert not p.buffer and not p.blocked_readers and vfs.pollers_woken


def test_a_write_larger_than_the_parked_read() -> None:
    """(``write``'s own steps: the reader takes its share, the rest stays in the pipe)"""
    _, local, p, reader, writer = _rig()
    waiter = Waiter()
    local.park(PID, reader, 2, waiter)
    assert local.write(PID, writer, b"hello") == 5
    assert waiter.told == [(2, [(0, b"he")])] and bytes(p.buffer) == b"llo"
    assert local.read(PID, reader, 10) == b"llo"


def test_a_reader_no_longer_waiting_takes_nothing() -> None:
    _, local, p, reader, writer = _rig()
    waiter = Waiter(waiting=False)  # (a signal woke it, or it was killed)
    local.park(PID, reader, 10, waiter)
    assert local.write(PID, writer, b"hi") == 2
    assert waiter.told == [] and bytes(p.buffer) == b"hi" and not p.blocked_readers


def test_parked_reads_are_answered_in_turn() -> None:
    _, local, p, reader, writer = _rig()
    first, second = Waiter(), Waiter()
    local.park(PID, reader, 1, first)
    local.park(PID, reader, 1, second)
    assert local.write(PID, writer, b"ab") == 2
    assert first.told == [(1, [(0, b"a")])] and second.told == [(1, [(0, b"b")])]


def test_the_last_writer_closing_ends_a_parked_read() -> None:
    vfs, local, p, reader, writer = _rig()
    waiter = Waiter()
    local.park(PID, reader, 4, waiter)
    pipe.PipeEnd().release(vfs, writer)  # type: ignore[arg-type]
    assert waiter.told == [(0, [(0, b"")])]


def test_a_parked_local_read_is_answered_once() -> None:
    vfs, local, p, reader, writer = _rig()
    waiter = Waiter()
    local.park(PID, reader, 4, waiter)
    request = p.blocked_readers[0][0]
    assert isinstance(request, LocalRequest) and vfs.api.waiting(request)
    vfs.api.reply(request, 3)
    vfs.api.reply(request, 4)
    assert [result for result, _ in waiter.told] == [3] and not vfs.api.waiting(request)


@pytest.mark.parametrize("case", ["no reader", "full", "a writer waits", "too big"])
def test_writes_it_declines(case: str) -> None:
    vfs, local, p, reader, writer = _rig()
    data = b"x" * 10
    if case == "no reader":
        pipe.PipeEnd().release(vfs, reader)  # type: ignore[arg-type]
    elif case == "full":
        assert local.write(PID, writer, b"y" * p.capacity) == p.capacity
    elif case == "a writer waits":
        p.blocked_writers.append(object())
    else:
        data = b"x" * (p.capacity + 1)
    before = (bytes(p.buffer), list(p.slots or ()), local.served)
    assert local.write(PID, writer, data) is None  # (the usual call: it waits, or EPIPE)
    assert (bytes(p.buffer), list(p.slots or ()), local.served) == before


# -- the personality's waiter ----------------------------------------------------------
def _sleeper() -> tuple[Any, list[tuple[int, bytes]], list[tuple[Any, int]]]:
    copied: list[tuple[int, bytes]] = []
    woken: list[tuple[Any, int]] = []

    def copy_out(va: int, data: bytes) -> None:
        if va >= 0x9000:
            raise KernelError(Errno.EFAULT, "gone")
        copied.append((va, data))

    kernel = SimpleNamespace(dispatcher=SimpleNamespace(on_stop=None),
                             scheduler=SimpleNamespace(wake=lambda t, r: woken.append((t, r))))
    process = SimpleNamespace(kernel=kernel, aspace=SimpleNamespace(copy_out=copy_out))
    thread = SimpleNamespace(process=process, state=State.BLOCKED, channel=None, context=None)
    return thread, copied, woken


def test_the_waiter_copies_and_wakes() -> None:
    thread, copied, woken = _sleeper()
    waiter = pipefast.Waiter(thread, 0x1000)  # type: ignore[arg-type]
    thread.channel = waiter
    assert waiter.waits()
    waiter.finish(3, [(0, b"ab"), (2, b"c")])
    assert copied == [(0x1000, b"ab"), (0x1002, b"c")] and woken == [(thread, 3)]


def test_the_waiter_handed_the_bytes_copies_and_wakes() -> None:
    thread, copied, woken = _sleeper()
    waiter = pipefast.Waiter(thread, 0x1000)  # type: ignore[arg-type]
    thread.channel = waiter
    waiter.hand(b"xyz")
    assert copied == [(0x1000, b"xyz")] and woken == [(thread, 3)]


@pytest.mark.parametrize("how", ["finish", "hand"])
def test_the_waiter_of_a_buffer_gone_wakes_with_efault(how: str) -> None:
    thread, copied, woken = _sleeper()
    waiter = pipefast.Waiter(thread, 0x9000)  # type: ignore[arg-type]
    thread.channel = waiter
    if how == "finish":
        waiter.finish(1, [(0, b"a")])
    else:
        waiter.hand(b"a")
    assert woken == [(thread, -Errno.EFAULT)]


@pytest.mark.parametrize("how", ["woken by a signal", "killed", "another sleep"])
def test_a_waiter_whose_reader_left_does_nothing(how: str) -> None:
    thread, copied, woken = _sleeper()
    waiter = pipefast.Waiter(thread, 0x1000)  # type: ignore[arg-type]
    thread.channel = waiter
    if how == "woken by a signal":
        thread.state, thread.channel = State.READY, None
    elif how == "killed":
        thread.state = State.TERMINATED
    else:  # (the same thread parked again, in a new read)
        thread.channel = pipefast.Waiter(thread, 0x1000)  # type: ignore[arg-type]
    assert not waiter.waits()
    waiter.finish(1, [(0, b"a")])
    assert copied == [] and woken == []
