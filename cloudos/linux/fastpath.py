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
- the switch is on (``CLOUDOS_FASTPATH=0`` turns it off, for comparing the two paths; it
  turns off the small reads' and writes' inline bytes too: ``sys_file``, grants always);
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

The direct call (``direct``), tried first: when the VFS waits in receive on its port with
nothing queued, the call does not go through ``Ipc.call`` at all. The message is handed to
the server's handler at once and its answer taken straight back (``ServerApi.reply`` sees
the runtime's ``direct`` slot): the caller never leaves RUNNING, the server leaves its
receive only for the step and goes back to it; no sleep, wake or run-queue work (a server
that gave the runtime its handler, the VFS, has it called straight: ``serve_direct``). The reply
capability of a thread's direct call, and its token, are minted once and reused while
each call is answered in its step (then nothing of it is left anywhere: the server's space
forgot it, no reply waits for it, no Interrupt can name it, as only a caller asleep on a
reply is interrupted through the server). A call the server does not answer in its step
(deferred, forwarded to the net server) puts the caller to sleep on its reply exactly as
``Ipc.call`` would, a fresh reply capability is minted for the next call, and a forwarded
call is served on by ``serve``.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable

from cloudos.abi.vfs import Again
from cloudos.kernel.cap import Cap, ObjType, Right
from cloudos.kernel.ipc import Deliver, Message, Port
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import SlowPath, Stop

ENABLED = os.environ.get("CLOUDOS_FASTPATH", "1") != "0"  # off: the slow path always
# (the states as plain names: an enum member read through its class costs ~0.2 us on
# Python 3.11, a global ~0.02, and a call reads several)
BLOCKED, RUNNING, READY = State.BLOCKED, State.RUNNING, State.READY
RESTART, INTERRUPTED = Again.RESTART, Again.INTERRUPTED


def direct(t: Thread, state: Any, port: Port, msg: Message, deliver: Deliver | None,
           deadline: float | None, timeout_result: int,
           undone: Callable[[Thread, Deliver, Any], Deliver] | None = None) -> int | None:
    """Call the server of ``port`` directly for ``t`` (its Linux thread ``state``) and
    return the answer as ``deliver`` makes it (None: the answer is the int result); None
    when the server does not wait for it in receive (the caller goes the usual way,
    ``Ipc.call``). Raises Stop (the caller sleeps on its reply) or SlowPath like ``serve``.

    ``undone`` (``sys_file._again_if_undone``), if given, wraps ``deliver`` as the slow
    path does: an answer that says the call was left undone (``Again.RESTART``, or
    ``INTERRUPTED``) and a call not answered in its step go through its wrapper; any other
    answer is delivered here, with what the wrapper does for it (``state.inflight`` and
    ``vfs_restarts`` cleared), and no wrapper is made for the call."""
    runtime = port.server
    if runtime is None or port.queue or runtime.pending is not None \
            or runtime.direct is not None:
        return None
    server = runtime.thread
    kernel = t.process.kernel
    ipc, scheduler = kernel.ipc, kernel.scheduler
    channel = runtime.recv_channel
    channels, receivers = scheduler.channels, ipc.receivers
    sleepers = channels.get(channel)
    if server.state is not BLOCKED or server.channel != channel or server.deadline is not None \
            or sleepers is None or len(sleepers) != 1 or sleepers[0] is not server \
            or receivers.get(server) != runtime._deliver or t in receivers:
        return None
    cached, state.reply = state.reply, None  # (reused only once this call is answered)
    if cached is None or not cached[0].valid:
        cap = Cap(ObjType.REPLY, ipc._id(), Right.SEND)
        cached = (cap, ipc.caps.token(cap))
    cap, token = cached
    reply_id = cap.obj
    msg.reply = cap
    ipc.replies[reply_id] = t
    waiting = ("reply", reply_id)
    before, t.channel = t.channel, waiting  # (the server asks if it waits)
    answers: list[Any] = []
    runtime.direct = (cap, answers)
    # The server leaves its receive for this message and runs on the caller's time.
    del channels[channel], receivers[server]
    server.channel = None
    server.state = RUNNING
    runtime.served_now += 1
    runtime.serve_direct(msg, token)
    if server.state is RUNNING:
        scheduler.add(server)
    runtime.direct = None
    t.channel = before
    if answers:
        ipc.replies.pop(reply_id, None)
        if t.state is not RUNNING:  # (killed meanwhile: nothing to return to)
            raise Stop
        runtime.served_direct += 1
        if reply_id not in runtime.forwarded:
            state.reply = cached
        t.restart = -1
        body = answers[0]
        if undone is None or body is RESTART or body is INTERRUPTED:
            final = deliver if undone is None else undone(t, deliver or _int, state)
            assert final is not None
            result = final(Message(0, b"", runtime.pid, body=body))
        else:  # (what ``undone``'s wrapper does with an answer of a call done)
            state.inflight = None
            state.vfs_restarts = 0
            if deliver is None:
                return int(body)
            result = deliver(Message(0, b"", runtime.pid, body=body))
        if t.restart >= 0:  # the answer says: run the call again (a server restart, a stop)
            raise SlowPath(functools.partial(_again, t, t.restart))
        return result
    # Not answered (parked, forwarded): the caller sleeps on its reply, as in Ipc.call.
    final = deliver if undone is None else undone(t, deliver or _int, state)
    assert final is not None
    receivers[t] = final
    scheduler.sleep_on(t, waiting, deadline, timeout_result)
    onward = runtime.forwarded.get(reply_id)
    if onward is not None and onward.server is not None:
        return serve(t, onward, msg)
    raise Stop


def _int(msg: Message) -> int:
    return int(msg.body)


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
    if t.state is not READY or not answers:
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
