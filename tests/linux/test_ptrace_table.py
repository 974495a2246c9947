"""The dispatcher's table and ptrace (``linux/ptrace.retable``): the handlers themselves
while no process is traced (one Python frame fewer per system call), each wrapped by
``ptrace.hooked`` (a tracee's syscall-stops) from the first attach until no live process
is traced any more (a detach, a tracee's exit)."""

from __future__ import annotations

from fake_kernel import FakeKernel

from cloudos.kernel.task import State
from cloudos.kernel.trap import Dispatcher
from cloudos.linux import ptrace
from cloudos.linux.process import LinuxProcess
from cloudos.linux.syscalls.table import handlers, table as full_table


def _machine() -> FakeKernel:
    kernel = FakeKernel()
    kernel.dispatcher = Dispatcher(kernel, handlers())  # type: ignore[arg-type,assignment]
    return kernel


def _process(kernel: FakeKernel, name: str) -> object:
    process = kernel.new_process(name)
    process.personality = LinuxProcess(creds=None)  # type: ignore[arg-type]
    thread = kernel.new_thread(process)  # type: ignore[attr-defined]
    thread.state = State.RUNNING
    return process


def _wrapped(kernel: FakeKernel) -> bool:
    table = kernel.dispatcher.handlers  # type: ignore[attr-defined]
    if all(h is row.handler for h, row in zip(table, full_table())):
        return False
    assert all(h is row.handler is None or h.__wrapped__ is row.handler
               for h, row in zip(table, full_table()))
    return True


def test_the_table_is_wrapped_only_while_a_process_is_traced() -> None:
    kernel = _machine()
    tracer, one, two = (_process(kernel, n) for n in ("tracer", "one", "two"))
    assert not _wrapped(kernel)
    ptrace.attach(one, tracer, 0, True)  # type: ignore[arg-type]
    assert _wrapped(kernel)
    ptrace.attach(two, tracer, 0, True)  # type: ignore[arg-type]
    assert _wrapped(kernel)
    ptrace.detach(one)  # type: ignore[arg-type]
    assert _wrapped(kernel)  # (two is still traced)
    two.state = State.TERMINATED  # type: ignore[attr-defined]
    two.parent = tracer  # type: ignore[attr-defined]  # (its tracer hears of it as its parent)
    ptrace.on_exit(two)  # type: ignore[arg-type]
    assert not _wrapped(kernel)  # (its tracing ended with it)
    ptrace.attach(one, tracer, 0, True)  # type: ignore[arg-type]
    assert _wrapped(kernel)
    ptrace.on_exit(tracer)  # type: ignore[arg-type]  # (a tracer's end detaches its tracees)
    assert not _wrapped(kernel)


def test_a_wrapped_handler_of_an_untraced_process_calls_the_handler() -> None:
    kernel = _machine()
    tracer, traced, other = (_process(kernel, n) for n in ("tracer", "traced", "other"))
    ptrace.attach(traced, tracer, 0, True)  # type: ignore[arg-type]
    calls = []
    wrapped = ptrace.hooked(39, lambda t, *args: calls.append((t, args)) or 7)
    thread = other.threads[0]  # type: ignore[attr-defined]
    assert wrapped(thread, 1, 2, 3, 4, 5, 6) == 7 and calls == [(thread, (1, 2, 3, 4, 5, 6))]
