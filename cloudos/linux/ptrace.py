"""Process tracing: who traces whom, the ptrace-stops, and what a tracer sees of them.

Owns: the link between a tracer and its tracees (``Tracee``), the stops Linux's
ptrace(2) defines (signal-delivery, syscall-enter and -exit, and the fork, vfork,
clone and exec events), reporting them to the tracer's wait4/waitid (also when it
is not the parent), resuming a tracee (with the signal the tracer chose), and a
tracee's registers as ``struct user_regs_struct``. A tracee sleeps in its stop on
the channel ``("ptrace", pid)`` on its way back to user mode, with its registers
saved, so the tracer reads and changes them in its context.
One thread per traced process is traced (the one that attached, or that exec'd):
other threads of a tracee run untraced, and CLONE_THREAD is not an event.
Never: decodes the ptrace(2) call (``syscalls/sys_ptrace.py``) or sends a signal
itself past what a stop means (``signals``).
Called by: the syscall table (``hooked``: syscall-stops), ``signals.deliver``
(signal-delivery stops), ``sys_fork`` (events, wait), the personality (exits).
"""

from __future__ import annotations

import functools
from typing import Any

from cloudos.abi.dataclass import dataclass, field
from cloudos.abi.enums import Enum
from cloudos.hal import regs as X

from cloudos.abi.ptrace import (SYSCALL_TRAP, USER_REGS, Event, Option)
from cloudos.abi.signal import CLD_TRAPPED, SIGCHLD, SIGKILL, SIGSTOP, SIGTRAP, SI_USER
from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.vm import USER_END
from cloudos.kernel.task import Process, State, Thread
from cloudos.kernel.trap import Handler, SlowPath, Stop
from cloudos.linux.process import linux

STOPPED = 0x7F  # the low byte of a stopped child's wait status
ERESTARTSYS = 512  # what RAX holds at the exit stop of a call a signal will restart
USER_CS, USER_SS = 0x33, 0x2B  # the selectors of 64-bit user mode (Linux's __USER_CS/DS)
EFLAGS_USER = 0x0DD5  # CF PF AF ZF SF TF DF OF: what a tracer may change


class Resume(Enum):
    """How the tracer last resumed its tracee: where it stops next."""

    CONT = "cont"            # at signals and events only
    SYSCALL = "syscall"      # also at the next system call's entry and exit
    SINGLESTEP = "step"      # also after one instruction


class StopKind(Enum):
    """The ptrace-stop a tracee is in."""

    SIGNAL = "signal-delivery"
    SYSCALL_ENTER = "syscall-enter"
    SYSCALL_EXIT = "syscall-exit"
    EVENT = "event"


@dataclass
class Tracee:
    """How a process is traced (``LinuxProcess.ptrace``)."""

    tracer: Process
    thread: Thread           # the traced thread
    options: int = 0
    seized: bool = False
    resume: Resume = Resume.CONT
    stop: StopKind | None = None  # the stop it is in (None: it runs)
    report: int = 0          # the wait status of its stop, until the tracer collects it
    code: int = 0            # the signal and event of its stop (the status's high bytes)
    info: Any = None         # the signal (signals.SigInfo) of a signal-delivery stop
    inject: Any = None       # the signal the tracer lets through on resuming, if any
    message: int = 0         # PTRACE_GETEVENTMSG: a new child's pid, the old pid at exec
    queued: list[tuple[StopKind, int, Any]] = field(default_factory=list)  # stops due
    exit_due: bool = False   # a syscall-exit stop is due on the way back to user mode
    in_syscall: bool = False  # past its syscall-enter stop: the call runs when re-executed
    orig_rax: int = -1       # the system call it is in (user_regs_struct's orig_rax)
    args: tuple[int, ...] = (0, 0, 0, 0, 0, 0)
    exit_trap: Any = None    # a SIGTRAP that stops it after its exec's syscall-exit stop
    restart_after: bool = False  # a call a signal interrupted runs again after the signal
    interrupted: bool = False  # a signal woke the call it sleeps in (not its event)
    slept: bool = False      # its call slept for a result (a reply), which may be a restart
    exit_call: int = -1      # the exit call its PTRACE_EVENT_EXIT stop is in (run again after)
    exiting: bool = False    # it reported PTRACE_EVENT_EXIT: its exit call goes on


def tracee(process: Process) -> Tracee | None:
    state = process.personality
    return getattr(state, "ptrace", None)


def traced_by(tracer: Process, pid: int) -> Process | None:
    """The tracee ``pid`` of ``tracer``, else None."""
    return next((p for p in linux(tracer).tracees if p.pid == pid), None)


def tracees(tracer: Process) -> list[Process]:
    return list(linux(tracer).tracees)


# -- attaching and detaching ---------------------------------------------------
def attach(process: Process, tracer: Process, options: int, seized: bool) -> Tracee:
    """Make ``tracer`` trace ``process`` (the caller has checked it may)."""
    thread = next(t for t in process.threads if t.state is not State.TERMINATED)
    state = Tracee(tracer, thread, options, seized)
    linux(process).ptrace = state
    linux(tracer).tracees.append(process)
    retable(process.kernel)
    return state


def detach(process: Process, sig: int = 0) -> None:
    """End the tracing of ``process``; a stopped tracee runs on (with ``sig``, if any)."""
    state = tracee(process)
    if state is None:
        return
    if state.stop is not None:
        resume(process, Resume.CONT, sig)
    linux(process).ptrace = None
    forget(state.tracer, process)
    retable(process.kernel)


def forget(tracer: Process, process: Process) -> None:
    listed = linux(tracer).tracees
    if process in listed:
        listed.remove(process)


def on_exit(dead: Process) -> None:
    """A tracee ended: its tracer hears of it. A tracer ended: its tracees are killed
    (PTRACE_O_EXITKILL) or run on untraced."""
    state = tracee(dead)
    if state is not None:
        state.stop = None
        tracer = state.tracer
        if tracer is not dead.parent and not tracer.zombie:
            from cloudos.linux import signals  # (signals imports this module)
            code = signals.CLD_KILLED if dead.killed_by else signals.CLD_EXITED
            signals.send(tracer, signals.SigInfo(SIGCHLD, code, dead.pid, linux(dead).uid,
                                                 status=dead.killed_by or dead.exit_code))
        tracer.kernel.scheduler.wakeup(("child", tracer.pid))
    for process in tracees(dead):
        traced = tracee(process)
        if process.zombie or traced is None:
            forget(dead, process)
            continue
        detach(process)
        if traced.options & Option.EXITKILL:
            process.kernel.kill(process, SIGKILL)
    if state is not None:
        retable(dead.kernel, dead)


# -- stops -----------------------------------------------------------------------
def _enter_stop(thread: Thread, state: Tracee, kind: StopKind, code: int,
                info: Any = None) -> None:
    """Put ``thread`` in a ptrace-stop whose wait status carries ``code`` (the signal,
    and an event above it), and tell its tracer (SIGCHLD with CLD_TRAPPED)."""
    from cloudos.linux import signals  # (signals imports this module)
    process = thread.process
    state.stop, state.info, state.report, state.code = kind, info, STOPPED | code << 8, code
    kernel = process.kernel
    kernel.scheduler.sleep_on(thread, ("ptrace", process.pid), restart=-2)
    thread.notify = True  # what follows the stop is decided when it is resumed
    tracer = state.tracer
    signals.send(tracer, signals.SigInfo(SIGCHLD, CLD_TRAPPED, process.pid, linux(process).uid,
                                         status=code & 0xFF))
    kernel.scheduler.wakeup(("child", tracer.pid))


def before_user(thread: Thread) -> bool:
    """The ptrace-stops due before ``thread`` returns to user mode, in Linux's order:
    events, then the syscall-exit stop, then an exec's SIGTRAP. True: it stopped."""
    state = tracee(thread.process)
    if state is None or state.thread is not thread:
        return False
    if state.stop is not None:  # woken by something other than its tracer: stop again
        thread.process.kernel.scheduler.sleep_on(thread, ("ptrace", thread.process.pid),
                                                 restart=-2)
        return True
    if _settle_syscall(thread, state):
        return True
    if state.queued:
        kind, code, info = state.queued.pop(0)
        if kind is StopKind.EVENT:  # (an event's info is its GETEVENTMSG)
            state.message, info = info or 0, None
        _enter_stop(thread, state, kind, code, info)
        return True
    if state.exit_due:
        state.exit_due = False
        _enter_stop(thread, state, StopKind.SYSCALL_EXIT, _syscall_code(state))
        return True
    if state.exit_trap is not None:
        info, state.exit_trap = state.exit_trap, None
        _enter_stop(thread, state, StopKind.SIGNAL, SIGTRAP, info)
        return True
    return False


def _settle_syscall(thread: Thread, state: Tracee) -> bool:
    """A call that slept after its syscall-enter stop and was woken: if it ended with a
    result (EINTR, a timeout), its syscall-exit stop is due; if a signal interrupted it
    and it will run again, Linux's ERESTARTSYS exit stop comes first (RAX -512), then
    the signal's stop, then the call again, with a new syscall-enter stop. Woken by
    its event to look again, it finishes before any signal is taken: True."""
    interrupted, state.interrupted = state.interrupted, False
    slept, state.slept = state.slept, False
    if slept and thread.restart >= 0 and state.exit_due:  # its answer: run it again
        _restart_later(thread, state)
        return False
    if not state.in_syscall or thread.restart == -2:  # (-2: rerun from its entry stop)
        return False
    if thread.restart == -1:
        state.in_syscall = False
        _exit_due(thread, state)
        return False
    if not interrupted:
        return True
    if state.resume is Resume.SYSCALL:
        state.in_syscall, state.exit_due = False, True
        _restart_later(thread, state)
    return False


def _restart_later(thread: Thread, state: Tracee) -> None:
    """Show a call that will run again as Linux does at its exit stop (RIP past the
    SYSCALL, RAX -ERESTARTSYS); ``resume`` points it at the SYSCALL again."""
    ctx, cpu = thread.context, thread.process.kernel.cpu
    assert ctx is not None
    cpu.set_context_reg(ctx, X.UC_X86_REG_RIP, cpu.context_reg(ctx, X.UC_X86_REG_RIP) + 2)
    cpu.set_context_result(ctx, -ERESTARTSYS)
    state.restart_after = True


def interrupted(thread: Thread) -> None:
    """A signal wakes ``thread`` from the call it sleeps in (``signals``)."""
    state = tracee(thread.process)
    if state is not None and state.thread is thread:
        state.interrupted = True


def in_stop(thread: Thread) -> bool:
    """Whether ``thread`` sleeps in a ptrace-stop (no signal may wake it there)."""
    return thread.state is State.BLOCKED and thread.channel == ("ptrace", thread.process.pid)


def intercept(thread: Thread, info: Any) -> bool:
    """A signal ``thread`` is about to take: its tracer sees it first (a signal-delivery
    stop), except SIGKILL. True: it stopped."""
    state = tracee(thread.process)
    if state is None or state.thread is not thread or info.signo == SIGKILL:
        return False
    _enter_stop(thread, state, StopKind.SIGNAL, info.signo, info)
    return True


def injected(thread: Thread) -> Any:
    """The signal the tracer let through when it resumed ``thread`` (taken once)."""
    state = tracee(thread.process)
    if state is None or state.inject is None or state.thread is not thread:
        return None
    info, state.inject = state.inject, None
    return info


def _syscall_code(state: Tracee) -> int:
    return SIGTRAP | (SYSCALL_TRAP if state.options & Option.TRACESYSGOOD else 0)


def resume(process: Process, how: Resume, sig: int) -> None:
    """Resume a stopped tracee: from a syscall-enter stop it runs the call (the number
    and arguments its registers hold now); ``sig`` is the signal it takes (0: none)."""
    from cloudos.linux import signals  # (signals imports this module)
    state = tracee(process)
    assert state is not None and state.stop is not None
    thread, kernel = state.thread, process.kernel
    assert thread.context is not None
    if state.stop is StopKind.SYSCALL_ENTER:
        _rerun_syscall(thread, state, how)
    elif state.stop is StopKind.EVENT and state.exit_call >= 0:  # it goes on exiting
        kernel.cpu.restart_syscall(thread.context, state.exit_call)
        state.exit_call, state.in_syscall = -1, True
    elif state.stop is StopKind.SYSCALL_EXIT and state.restart_after:
        state.restart_after = False
        kernel.cpu.restart_syscall(thread.context, state.orig_rax)  # after the signal
    if sig:
        info = state.info
        if info is None or info.signo != sig:
            info = signals.SigInfo(sig, SI_USER, state.tracer.pid, linux(state.tracer).uid)
        state.inject = info
    state.stop, state.info, state.report, state.resume = None, None, 0, how
    if kernel.cpu.can_single_step:
        thread.context.single_step = how is Resume.SINGLESTEP
    thread.notify = True
    kernel.scheduler.wake(thread, 0)


def _rerun_syscall(thread: Thread, state: Tracee, how: Resume) -> None:
    """Leaving a syscall-enter stop: execute SYSCALL again with orig_rax as the number,
    unless the tracer made it one that does not exist (then RAX stays as it set it)."""
    kernel = thread.process.kernel
    assert thread.context is not None
    handlers = kernel.dispatcher.handlers
    if 0 <= state.orig_rax < len(handlers) and handlers[state.orig_rax] is not None:
        kernel.cpu.restart_syscall(thread.context, state.orig_rax)
        state.in_syscall = True
    else:
        state.exit_due = how is Resume.SYSCALL


def queue_event(process: Process, event: Event, message: int) -> None:
    """A PTRACE_EVENT stop of ``process`` before it next returns to user mode."""
    state = tracee(process)
    assert state is not None
    state.queued.append((StopKind.EVENT, SIGTRAP | event << 8, message))
    state.thread.notify = True


def interrupt(process: Process) -> None:
    """PTRACE_INTERRUPT: a PTRACE_EVENT_STOP before the tracee next returns to user mode
    (WSTOPSIG: the stopping signal if it is group-stopped, else SIGTRAP); a call it
    sleeps in is interrupted (and restarted after the stop). Nothing if it is stopped."""
    from cloudos.linux import signals  # (signals imports this module)
    state = tracee(process)
    assert state is not None
    if state.stop is not None or any(kind is StopKind.EVENT for kind, _, _ in state.queued):
        return
    sig = linux(process).stopped or SIGTRAP
    state.queued.append((StopKind.EVENT, sig | Event.STOP << 8, None))
    thread = state.thread
    thread.notify = True
    if thread.state is State.BLOCKED and thread.channel == ("stopped", process.pid):
        process.kernel.scheduler.wake(thread, 0)
    else:
        signals.kick(thread)


def listen(process: Process) -> None:
    """PTRACE_LISTEN from a PTRACE_EVENT_STOP: the tracee leaves its ptrace-stop for
    its group-stop, where SIGCONT wakes it (and the tracer sees that signal); if a
    SIGCONT came already, it takes it now. EIO from any other stop."""
    state = tracee(process)
    assert state is not None
    if state.stop is not StopKind.EVENT or state.code >> 8 != Event.STOP:
        raise KernelError(Errno.EIO, "PTRACE_LISTEN outside a PTRACE_EVENT_STOP")
    state.stop, state.report = None, 0
    process.kernel.scheduler.wake(state.thread, 0)


def exit_stop(thread: Thread, status: int) -> bool:
    """exit or exit_group of a tracee with PTRACE_O_TRACEEXIT: first a PTRACE_EVENT_EXIT
    stop (GETEVENTMSG: the wait status it will have), in which its registers can still
    be read; the call runs again, to its end, once the tracer resumes it. True: it
    stopped (the caller raises Stop)."""
    state = tracee(thread.process)
    if state is None or state.thread is not thread or not state.options & Option.TRACEEXIT \
            or state.exiting:
        return False
    state.exiting, state.exit_call, state.message = True, thread.syscall, status
    thread.process.kernel.cpu.set_result(-Errno.ENOSYS)  # RAX as Linux leaves it there
    _enter_stop(thread, state, StopKind.EVENT, SIGTRAP | Event.EXIT << 8)
    return True


def on_exec(thread: Thread) -> None:
    """A successful execve of a tracee: PTRACE_EVENT_EXEC with TRACEEXEC, else (unless
    seized) a SIGTRAP after the call."""
    from cloudos.linux import signals  # (signals imports this module)
    state = tracee(thread.process)
    if state is None:
        return
    state.thread = thread
    if state.options & Option.TRACEEXEC:
        queue_event(thread.process, Event.EXEC, thread.process.pid)
    elif not state.seized:
        state.exit_trap = signals.SigInfo(SIGTRAP, SI_USER)
        thread.notify = True


def on_clone(parent: Thread, child: Thread, event: Event, forced: bool = False) -> None:
    """A new process of a tracee: with the option for ``event`` (or CLONE_PTRACE:
    ``forced``), the child is traced by the same tracer (it starts in a stop); with
    the option the parent reports the event (a vfork's VFORK_DONE follows it, with
    TRACEVFORKDONE: both when the parent wakes)."""
    from cloudos.linux import signals  # (signals imports this module)
    state = tracee(parent.process)
    option = {Event.FORK: Option.TRACEFORK, Event.VFORK: Option.TRACEVFORK,
              Event.CLONE: Option.TRACECLONE}[event]
    if state is None or state.thread is not parent or not (state.options & option or forced):
        return
    new = attach(child.process, state.tracer, state.options, state.seized)
    if state.seized:
        new.queued.append((StopKind.EVENT, SIGTRAP | Event.STOP << 8, None))
    else:
        new.queued.append((StopKind.SIGNAL, SIGSTOP, signals.SigInfo(SIGSTOP, SI_USER)))
    child.notify = True
    if state.options & option:
        queue_event(parent.process, event, child.process.pid)
    if event is Event.VFORK and state.options & Option.TRACEVFORKDONE:
        queue_event(parent.process, Event.VFORK_DONE, child.process.pid)


# -- wait ------------------------------------------------------------------------
def report(child: Process, waiter: Process) -> int:
    """The wait status of ``child``'s ptrace-stop if ``waiter`` traces it, else 0."""
    state = tracee(child)
    return state.report if state is not None and state.tracer is waiter else 0


def collected(child: Process) -> None:
    """The tracer took the report of ``child``'s stop."""
    state = tracee(child)
    if state is not None:
        state.report = 0


# -- system calls ------------------------------------------------------------------
def retable(kernel: Any, dead: Process | None = None) -> None:
    """The dispatcher's table: each handler wrapped by ``hooked`` while some process
    (other than ``dead``, or a zombie) is traced, else the handlers themselves: an
    untraced machine's system calls go one Python frame fewer. Called whenever a
    process's tracing starts or ends (a traced process's own calls then see a table that
    stops it; a wrapped handler of an untraced process calls the handler, as before)."""
    dispatcher = kernel.dispatcher
    table = dispatcher.handlers
    traced = any(getattr(p.personality, "ptrace", None) is not None and p is not dead
                 and not p.zombie for p in kernel.processes.values())
    first = next(h for h in table if h is not None)
    wrapped = hasattr(first, "__wrapped__")
    if traced and not wrapped:
        dispatcher.handlers = tuple(None if h is None else hooked(nr, h)
                                    for nr, h in enumerate(table))
    elif wrapped and not traced:
        dispatcher.handlers = tuple(None if h is None else h.__wrapped__  # type: ignore[attr-defined]
                                    for h in table)


def hooked(nr: int, handler: Handler) -> Handler:
    """``handler`` with the syscall-stops of a tracee resumed by PTRACE_SYSCALL."""
    @functools.wraps(handler)
    def call(t: Thread, a0: int, a1: int, a2: int, a3: int, a4: int, a5: int) -> int:
        if t.process.personality.ptrace is None:
            return handler(t, a0, a1, a2, a3, a4, a5)
        return _traced_call(t, nr, handler, (a0, a1, a2, a3, a4, a5))
    return call


def _traced_call(t: Thread, nr: int, handler: Handler, args: tuple[int, ...]) -> int:
    state = linux(t.process).ptrace
    assert isinstance(state, Tracee)
    if state.thread is not t:
        return handler(t, *args)
    if state.resume is Resume.SYSCALL and not state.in_syscall:
        state.orig_rax, state.args = nr, args
        t.process.kernel.cpu.set_result(-Errno.ENOSYS)  # what RAX holds at syscall entry
        _enter_stop(t, state, StopKind.SYSCALL_ENTER, _syscall_code(state))
        raise Stop
    state.in_syscall, state.slept = False, False
    state.orig_rax, state.args = nr, args
    try:
        result = handler(t, *args)
    except Stop:
        if state.stop is not None:  # the call stopped it itself (PTRACE_EVENT_EXIT)
            raise
        if t.state is State.BLOCKED and t.restart >= 0:  # it runs the call again when woken
            state.in_syscall = True
            t.notify = True  # unless a signal or a deadline ends it: ``_settle_syscall``
        else:
            state.slept = t.state is State.BLOCKED
            _exit_due(t, state)
        raise
    except (KernelError, SlowPath):
        _exit_due(t, state)
        raise
    _exit_due(t, state)
    return result


def _exit_due(t: Thread, state: Tracee) -> None:
    if state.resume is Resume.SYSCALL and t.state is not State.TERMINATED:
        state.exit_due = True
        t.notify = True


# -- registers ---------------------------------------------------------------------
_SEGMENTS = {"CS": USER_CS, "SS": USER_SS, "DS": 0, "ES": 0, "FS": 0, "GS": 0}


def get_regs(process: Process) -> list[int]:
    """The traced thread's registers, in ``struct user_regs_struct``'s order."""
    state = tracee(process)
    assert state is not None
    return [_reg(state, name) for name in USER_REGS]


def _reg(state: Tracee, name: str) -> int:
    thread = state.thread
    ctx = thread.context
    assert ctx is not None
    if name == "ORIG_RAX":
        return state.orig_rax & 0xFFFF_FFFF_FFFF_FFFF
    if name in _SEGMENTS:
        return _SEGMENTS[name]
    if ctx.entry is not None and name in ("RIP", "RSP"):  # a new program, not yet run
        return ctx.entry[0] if name == "RIP" else ctx.entry[1]
    return thread.process.kernel.cpu.context_reg(ctx, getattr(X, f"UC_X86_REG_{name}"))


def set_reg(process: Process, name: str, value: int) -> None:
    """Change one register of the stopped traced thread (segments are fixed: ignored;
    an FS or GS base outside user space is EIO, as Linux's putreg)."""
    state = tracee(process)
    assert state is not None
    ctx = state.thread.context
    assert ctx is not None
    value &= 0xFFFF_FFFF_FFFF_FFFF
    cpu = process.kernel.cpu
    if name == "ORIG_RAX":
        state.orig_rax = value - (1 << 64) if value >> 63 else value
    elif name in _SEGMENTS:
        return
    elif name in ("FS_BASE", "GS_BASE") and value >= USER_END - PAGE_SIZE:
        raise KernelError(Errno.EIO, f"{name} {value:#x} outside user space")
    elif ctx.entry is not None and name in ("RIP", "RSP"):
        ctx.entry = (value, ctx.entry[1]) if name == "RIP" else (ctx.entry[0], value)
    elif name == "EFLAGS":
        old = cpu.context_reg(ctx, X.UC_X86_REG_EFLAGS)
        cpu.set_context_reg(ctx, X.UC_X86_REG_EFLAGS,
                            (old & ~EFLAGS_USER) | (value & EFLAGS_USER))
    else:
        cpu.set_context_reg(ctx, getattr(X, f"UC_X86_REG_{name}"), value)


def check_stopped(process: Process | None, tracer: Process) -> Process:
    """``process`` if ``tracer`` traces it and it is in a ptrace-stop, else ESRCH."""
    state = tracee(process) if process is not None else None
    if process is None or state is None or state.tracer is not tracer \
            or state.stop is None or process.zombie:
        raise KernelError(Errno.ESRCH, "no stopped tracee of the caller by that pid")
    return process
