"""The IPC fast path: a call to a server that waits for it is served inside the caller's
system call, with the CPU never stopped (the guide's "Fast Path"; seL4's fastpath).

The slow path of a call to the VFS: the caller's message is handed to the waiting server,
the caller blocks, the CPU stops, the scheduler runs the server, the server answers, the
caller wakes and the scheduler starts the CPU again: two scheduler rounds and an
``emu_start`` for one system call. Here, when ``Ipc.call`` has handed the message to a
server that was waiting in receive, the server runs at once (``ServerRuntime.serve_now``)
on the caller's time (its quantum is donated: the timer armed for the caller still runs),
and if it answers, the caller takes its answer back and returns it in RAX. Capability
checks are the slow path's: they ran in ``Ipc.call`` before the handoff.

Preconditions; when one fails the slow path goes on unchanged (the caller sleeps in its
call, as if the fast path were not there):
- the switch is on (``CLOUDOS_FASTPATH=0`` turns it off, for comparing the two paths);
- the server was woken for this very message (it waited in receive), so it serves nothing
  queued before it, none of it another thread's exec or fork;
- the call's answer is hook-safe (``call(..., fast=False)`` for exec: building a new CPU
  context must not happen inside the CPU's hook);
- the caller is not traced (ptrace's syscall-stops have their own path).
What the server does with the call may still end in the slow path: a deferred answer (a
read of an empty pipe) leaves the caller asleep, and an answer that runs the call again
(a server restart, a background job's terminal read) finishes after the CPU stops.

The caller's own answer is taken aside while the server runs (``capture``) and delivered
after, with the caller running again: its delivery (copies into its memory, SIGPIPE,
a stop of its job) then happens as for a call served in the hook, never writing the
registers of a CPU that is running.
Called by: ``sys_file.call``.
"""

from __future__ import annotations

import functools
import os

from cloudos.kernel.ipc import Message, Port
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import SlowPath, Stop

ENABLED = os.environ.get("CLOUDOS_FASTPATH", "1") != "0"  # off: the slow path always


def serve(t: Thread, port: Port, msg: Message) -> int:
    """After ``Ipc.call`` put ``t`` to sleep on ``msg``: serve it now and return its
    answer, or raise Stop (the caller sleeps: the slow path) or SlowPath (the call
    ends with the CPU stopped)."""
    kernel = t.process.kernel
    runtime = port.server
    ipc = kernel.ipc
    real = ipc.receivers.get(t)
    if runtime is None or real is None or msg.reply is None:
        raise Stop
    answers: list[Message] = []

    def capture(answer: Message) -> int:
        answers.append(answer)
        return 0

    level, used = t.level, t.used_us
    ipc.receivers[t] = capture
    t.restart = -2  # its wake-up leaves RAX alone: the answer is returned
    reply = msg.reply.obj
    if not runtime.serve_now(reply):
        ipc.receivers[t], t.restart = real, -1
        raise Stop
    if t.state is not State.READY or not answers:
        # Deferred (it sleeps on), killed, or woken by something else meanwhile (a stop of
        # its process: the wake-up set the call to run again, as the slow path would)
        if ipc.receivers.get(t) is capture:
            ipc.receivers[t] = real  # the answer, if it comes, is delivered as usual
        if t.restart == -2:
            t.restart = -1
        raise Stop
    # Answered: it never left the CPU; it goes on from its system call.
    runtime.resume(t)
    t.level, t.used_us, t.cpu = level, used, kernel.cpu.index
    t.restart = -1
    result = real(answers[0])
    if t.restart >= 0:  # the answer says: run the call again (a server restart, a stop)
        raise SlowPath(functools.partial(_again, t, t.restart))
    return result


def _again(t: Thread, number: int) -> int:
    """Once the CPU has stopped: RIP back on ``t``'s SYSCALL instruction, RAX its number."""
    assert t.context is not None  # (a thread in a system call has a CPU context)
    t.process.kernel.cpu.restart_syscall(t.context, number)
    return number
