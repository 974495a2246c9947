"""Signal delivery: pending signals, default actions, handler frames, sigreturn.

Owns: what happens when a signal is sent (ignore, default action, or pending for
a handler), interrupting a blocked system call (EINTR, or a restart with
SA_RESTART), job control (the stop signals' default action stops every thread
of the process on its way back to user mode, SIGCONT resumes them, and the
parent hears of both by SIGCHLD and wait), and running a handler on the thread's
way back to user mode with Linux x86_64's ``rt_sigframe`` (return address =
``sa_restorer``, ``ucontext`` with the interrupted registers and signal mask,
``siginfo``), then undoing it
in ``rt_sigreturn``. SA_ONSTACK handlers run on the ``sigaltstack``. The SSE
registers are saved in the kernel, not in the frame (``uc_mcontext.fpstate`` is
NULL).
Never: decides scheduling; the kernel calls ``deliver`` through ``before_user``.
Called by: kill/tgkill/sigaction handlers, CPU faults (``on_fault``), the kernel.
"""

from __future__ import annotations

import struct
from typing import AbstractSet, Callable

from cloudos.abi.dataclass import dataclass
from cloudos.hal import regs as X

from cloudos.hal.x86 import FPU_INIT
from cloudos.abi.signal import DEFAULT_IGNORE, DEFAULT_STOP as STOP_SIGNALS
from cloudos.abi.signal import (SIGALRM as SIGALRM, SIGBUS, SIGCHLD, SIGCONT, SIGFPE, SIGILL,
                                SIGSYS, SIGTRAP,
                                SIGKILL as SIGKILL, SIGSEGV, SIGSTOP, SIGTTIN as SIGTTIN,
                                SIGTTOU as SIGTTOU, SIGWINCH as SIGWINCH)
from cloudos.abi.signal import (SI_KERNEL as SI_KERNEL, SI_MESGQ, SI_QUEUE, SI_TIMER as SI_TIMER,
                                SI_TKILL as SI_TKILL, SI_USER as SI_USER)
from cloudos.abi.signal import SYS_SECCOMP
from cloudos.abi.signal import (CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED,
                                CONTINUED_STATUS, STOPPED_STATUS)
from cloudos.abi.sysno import Sysno
from cloudos.abi.vfs import SignalsPending
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Process, State, Thread
from cloudos.linux import ptrace
from cloudos.linux.process import linux, linux_thread

SIG_DFL, SIG_IGN = 0, 1
TRAP_TRACE = 2  # SIGTRAP's si_code after a single step
SA_NOCLDSTOP, SA_SIGINFO, SA_RESTORER, SA_ONSTACK = 0x1, 0x4, 0x04000000, 0x08000000
SA_RESTART, SA_NODEFER, SA_RESETHAND = 0x10000000, 0x40000000, 0x80000000
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
# System calls a handler with SA_RESTART restarts (Linux restarts all ERESTARTSYS
# returns; these are the ones CloudOS can block in).
# poll, select and their p- forms never restart (signal(7)): EINTR even with SA_RESTART.
# The opens wait in a FIFO's open for the other side.
RESTARTABLE = {Sysno.READ, Sysno.WRITE, Sysno.PREAD64, Sysno.PWRITE64, Sysno.READV, Sysno.WRITEV,
               Sysno.WAIT4, Sysno.FUTEX, Sysno.WAITID,
               Sysno.FCNTL, Sysno.FLOCK,  # (fcntl waits only in F_SETLKW, F_OFD_SETLKW)
               Sysno.OPEN, Sysno.OPENAT, Sysno.CREAT, Sysno.OPENAT2,
               Sysno.TRUNCATE,  # (a FIFO's open, a lease's break)
               # the socket calls, unless the socket has a timeout (signal(7): the net
               # server answers those EINTR itself, net.sockets)
               Sysno.ACCEPT, Sysno.ACCEPT4, Sysno.CONNECT, Sysno.RECVFROM, Sysno.RECVMSG,
               Sysno.RECVMMSG, Sysno.SENDTO, Sysno.SENDMSG, Sysno.SENDMMSG,
               Sysno.MQ_TIMEDSEND, Sysno.MQ_TIMEDRECEIVE}
# System calls a stopped thread leaves to run again once continued (the others,
# which may have made progress, finish first and the thread stops after them).
STOP_RESTARTS = {Sysno.READ, Sysno.POLL, Sysno.PREAD64, Sysno.READV, Sysno.SELECT, Sysno.PAUSE,
                 Sysno.NANOSLEEP, Sysno.RECVFROM, Sysno.WAIT4, Sysno.RT_SIGSUSPEND, Sysno.FUTEX,
                 Sysno.CLOCK_NANOSLEEP, Sysno.EPOLL_WAIT, Sysno.WAITID, Sysno.PSELECT6,
                 Sysno.PPOLL, Sysno.EPOLL_PWAIT}
# Registers of struct sigcontext, in order (r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip,
# eflags); then cs/gs/fs/ss, err, trapno, oldmask, cr2, fpstate, reserved[8].
GREGS = ("R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "RDI", "RSI", "RBP", "RBX",
         "RDX", "RAX", "RCX", "RSP", "RIP", "EFLAGS")
REG_IDS = tuple(getattr(X, f"UC_X86_REG_{name}") for name in GREGS)
SIGCONTEXT = struct.Struct("<18Q4H5Q64x")
UCONTEXT_HEAD = struct.Struct("<QQQi4xQ")     # uc_flags, uc_link, uc_stack {sp, flags, size}
FRAME = 8 + UCONTEXT_HEAD.size + SIGCONTEXT.size + 8 + 128  # pretcode, ucontext, siginfo
EFLAGS_USER = 0x0DD5  # CF PF AF ZF SF TF DF OF: what sigreturn may change


@dataclass
class SigInfo:
    """One queued signal and what its siginfo_t says of it (who sent it, why)."""

    signo: int
    code: int = SI_USER
    pid: int = 0
    uid: int = 0  # (uid_t: unsigned, 32 bits)
    addr: int = 0
    status: int = 0
    timer_id: int = 0  # a POSIX timer's signal: its id, overruns and sigev_value
    overrun: int = 0
    value: int = 0
    band: int | None = None  # an I/O signal's (F_SETSIG's): si_band and the si_fd it names
    fd: int = 0
    errno: int = 0  # si_errno (a seccomp TRAP's: its filter's data)
    syscall: int = 0  # a seccomp TRAP's SIGSYS: the call it refused (and addr: si_call_addr)
    arch: int = 0

    def pack(self) -> bytes:
        head = struct.pack("<iii4x", self.signo, self.errno, self.code)
        if self.band is not None:
            body = struct.pack("<qi", self.band, self.fd)
        elif self.code == SI_TIMER:
            body = struct.pack("<iiQ", self.timer_id, self.overrun, self.value)
        elif self.code in (SI_QUEUE, SI_MESGQ):
            body = struct.pack("<iIQ", self.pid, self.uid, self.value)
        elif self.signo in (SIGSEGV, SIGBUS, SIGILL, SIGFPE):
            body = struct.pack("<Q", self.addr)
        elif self.signo == SIGCHLD:
            body = struct.pack("<iIi", self.pid, self.uid, self.status)
        elif self.signo == SIGSYS and self.code == SYS_SECCOMP:
            body = struct.pack("<QiI", self.addr, self.syscall, self.arch)
        else:
            body = struct.pack("<iI", self.pid, self.uid)
        return (head + body).ljust(128, b"\0")


_HANDLER = struct.Struct("<Q")  # a raw struct sigaction's first field


def _action(process: Process, sig: int) -> tuple[int, int, int, int]:
    """handler, flags, restorer, mask of ``sig`` in ``process``."""
    raw = linux(process).sigactions.get(sig)
    return struct.unpack("<QQQQ", raw) if raw else (SIG_DFL, 0, 0, 0)


def ignores(thread: Thread, sig: int) -> bool:
    """Whether ``sig`` would do nothing to ``thread`` now: ignored or blocked. (Every
    write asks, for SIGTTOU: ``_action``'s handler read alone, inline.)"""
    raw = linux(thread.process).sigactions.get(sig)
    if raw and _HANDLER.unpack_from(raw)[0] == SIG_IGN:
        return True
    return bool(linux_thread(thread).sigmask & 1 << (sig - 1))


def _bit(sig: int) -> int:
    return 1 << (sig - 1)


def send(process: Process, info: SigInfo, thread: Thread | None = None) -> None:
    """Send a signal to ``process`` (or just ``thread``): ignore, act by default, or queue."""
    sig = info.signo
    if sig == 0 or process.zombie or linux(process).group_exit:
        return  # (a dying process takes no more signals, as on Linux)
    if sig == SIGCONT:  # resumes the process whatever its action or mask
        _discard(process, STOP_SIGNALS)
        _resume(process)
    elif sig in STOP_SIGNALS:
        _discard(process, {SIGCONT})
    handler = _action(process, sig)[0]
    live = [t for t in process.threads if t.state is not State.TERMINATED]
    blocked = all(linux_thread(t).sigmask & _bit(sig) for t in ([thread] if thread else live))
    if not blocked and _init_ignores(process, handler, info):
        return
    if sig != SIGKILL and ptrace.tracee(process) is not None:
        handler = SIG_DFL if handler == SIG_IGN else handler
        if handler == SIG_DFL:  # its tracer sees it first, whatever it would do
            blocked, handler = True, -1
    if (handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORE)) and not blocked:
        return  # a blocked signal stays pending even so: sigwait may take it
    takers = [t for t in ([thread] if thread else live)
              if sig in (SIGKILL, SIGSTOP) or not linux_thread(t).sigmask & _bit(sig)]
    if handler == SIG_DFL and sig in STOP_SIGNALS and takers:
        _stop(process, sig)
        return
    if handler == SIG_DFL and (sig == SIGKILL or takers and not linux(process).stopped):
        _fatal(process, sig, None if sig == SIGKILL else info)
        return
    pending = linux_thread(thread).pending if thread else linux(process).pending_set
    pending.infos.setdefault(sig, info)
    if linux(process).signalfd_mask & _bit(sig):
        tell_pending(process)
    for taker in takers[:1]:
        _notify(taker, sig)
    for waiter in [thread] if thread else live:  # rt_sigtimedwait looks again
        if linux_thread(waiter).sigwait & _bit(sig):
            process.kernel.scheduler.wakeup(("sigwait", waiter.tid))


def force(thread: Thread, info: SigInfo) -> None:
    """A signal ``thread`` raised itself and must take (seccomp's TRAP): if it blocks or
    ignores it, its action becomes the default one and it is unblocked first (Linux's
    force_sig_info), then it is sent to the thread."""
    process, sig, state = thread.process, info.signo, linux_thread(thread)
    if state.sigmask & _bit(sig) or _action(process, sig)[0] == SIG_IGN:
        actions = linux(process).sigactions
        if sig in actions:
            actions[sig] = bytes(8) + actions[sig][8:]
        state.sigmask &= ~_bit(sig)
    send(process, info, thread)


def force_fatal(process: Process, sig: int) -> None:
    """End ``process`` by ``sig`` whatever its action, mask or tracer (seccomp's kills:
    Linux's force_sig_seccomp with HANDLER_EXIT), as a fatal signal ends it."""
    if not process.zombie and not linux(process).group_exit:
        _fatal(process, sig)


def _fatal(process: Process, sig: int, info: SigInfo | None = None) -> None:
    """A signal that ends ``process`` (Linux's complete_signal, its group exit): every thread
    is woken from whatever it sleeps in (a call, a stop, a ptrace-stop, a vfork) and ends
    the process on its way back to user mode (``exit_due``), not in the sender's call: the
    sender's kill() returns first, and only then can its end be seen (wait, SIGCHLD).
    ``info``, the signal's (none for SIGKILL or a kill no signal was sent for), is kept
    for a tracer: Linux's strace shows it (``--- SIGTERM {...} ---``) before the end."""
    linux(process).group_exit = sig
    linux(process).fatal_info = info
    _tell_threads(process, _wake_to_die)


def _tell_threads(process: Process, wake: Callable[[Thread], None]) -> None:
    """Every live thread of ``process`` has a signal to act on: it leaves guest code (a
    kick), and ``wake`` ends the sleep it is in, if that sleep must end."""
    for thread in process.threads:
        if thread.state is State.TERMINATED:
            continue
        thread.notify = True
        _kick(thread)
        wake(thread)


def _wake_to_die(thread: Thread) -> None:
    """End the sleep of ``thread``, whose process a fatal signal ends, whatever it sleeps
    in: it ends the process on its way back to user mode."""
    if thread.state is State.BLOCKED and thread.context is not None \
            and not linux_thread(thread).answered:
        from cloudos.linux.syscalls import sys_file  # (sys_file imports this module)
        if not sys_file.interrupt(thread):  # (else the VFS answers its call at once)
            thread.restart = -1
            thread.process.kernel.scheduler.wake(thread, -Errno.EINTR)


def woke_too_late(thread: Thread) -> None:
    """``thread`` went to sleep in a system call with a signal already due: one sent by
    another CPU while this one, out of guest code with the call, waited for the big
    lock (a kick then stops nothing, and the thread was not asleep yet to be woken).
    Wake it as the sender would have, had it been asleep (to die, to stop, or to take
    the signal); Linux checks signal_pending as a thread goes to sleep. (Without this,
    kill -KILL of a child about to pause() on the other CPU left it asleep for ever:
    test_robust's loaded "killed", 1 in 20.)"""
    if linux(thread.process).group_exit:
        _wake_to_die(thread)
        return
    if linux(thread.process).stopped:  # (a group stop: it stops, as its siblings did)
        _wake_to_stop(thread)
        return
    due = pending_unblocked(thread)
    if due:
        _notify(thread, (due & -due).bit_length())


def exit_due(thread: Thread) -> bool:
    """Before ``thread`` returns to user mode: end its process if a fatal signal was sent
    to it (``_fatal``), and core dump if the signal's action is to. True: it ended."""
    sig = linux(thread.process).group_exit
    if not sig:
        return False
    thread.process.kernel.kill(thread.process, sig)  # (and maybe a core: linux/coredump.py)
    return True


def _init_ignores(process: Process, handler: int, info: SigInfo) -> bool:
    """Linux's rule for the init of a namespace: a signal another process sends it acts
    only through a handler, or kept pending while blocked (kill(1, SIGKILL) from inside
    must not halt the machine).
    Its own kill/tgkill still act, so a program run as init dies of abort() as it does
    when run directly; a sigqueue's sender field is the caller's word, so not trusted."""
    if process.pid != 1 or handler != SIG_DFL:
        return False
    return info.code == SI_QUEUE or info.code in (SI_USER, SI_TKILL) and info.pid != 1


def _discard(process: Process, sigs: AbstractSet[int]) -> None:
    dropped = False
    for pending in [linux(process).pending_set] + [linux_thread(t).pending
                                                   for t in process.threads]:
        for sig in sigs:
            dropped |= pending.infos.pop(sig, None) is not None
    if dropped and any(linux(process).signalfd_mask & _bit(sig) for sig in sigs):
        tell_pending(process)


def _stop(process: Process, sig: int) -> None:
    """Stop every thread of ``process``: each sleeps before it next returns to user mode."""
    state = linux(process)
    if state.stopped:
        return
    state.stopped, state.wait_report = sig, STOPPED_STATUS | sig << 8
    _tell_threads(process, _wake_to_stop)
    _tell_parent(process, CLD_STOPPED, sig)


def _wake_to_stop(thread: Thread) -> None:
    """End the sleep of ``thread``, whose process is stopping, if the call it sleeps in
    runs again once the process continues (nothing happens, and no input is taken,
    while it is stopped): it stops on its way back to user mode."""
    if thread.state is State.BLOCKED and thread.context is not None \
            and (thread.restart >= 0 or thread.syscall in STOP_RESTARTS):
        if thread.restart < 0:
            thread.restart = thread.syscall
        thread.process.kernel.scheduler.wake(thread, 0)


def _resume(process: Process) -> None:
    state = linux(process)
    if not state.stopped:
        return
    state.stopped, state.wait_report = 0, CONTINUED_STATUS
    process.kernel.scheduler.wakeup(("stopped", process.pid))
    _tell_parent(process, CLD_CONTINUED, SIGCONT)


def _tell_parent(child: Process, code: int, sig: int) -> None:
    """SIGCHLD for a stop or a continue (unless SA_NOCLDSTOP), and wake a waiting parent."""
    parent = child.parent
    if parent is None or parent.zombie or not isinstance(parent.personality, type(linux(child))):
        return
    if not _action(parent, SIGCHLD)[1] & SA_NOCLDSTOP:
        send(parent, SigInfo(SIGCHLD, code, child.pid, linux(child).uid, status=sig))
    parent.kernel.scheduler.wakeup(("child", parent.pid))


def _kick(thread: Thread) -> None:
    """A thread in guest code on another CPU leaves it at once, to take its signal on
    the way back (Linux's kick_process: an inter-processor interrupt)."""
    kernel = thread.process.kernel
    cpu = kernel.cpus[thread.cpu]
    if thread.state is State.RUNNING and cpu is not kernel.cpu:
        cpu.kick()  # (in a hook now, it stops at its next block: the flag stays set)


def _notify(thread: Thread, sig: int) -> None:
    """Make ``thread`` take a signal: now if it sleeps in a system call."""
    thread.notify = True
    _kick(thread)
    if ptrace.in_stop(thread):  # it takes the signal once its tracer resumes it
        return
    if isinstance(thread.channel, tuple) and thread.channel[:1] == ("vfork",):
        # A vfork's parent sleeps until its child execs or exits, whatever comes (Linux:
        # killable only; a fatal signal wakes it to die, ``_fatal``): the child runs on its
        # memory and stack, so it must not run beside it. It takes the signal once it wakes.
        return
    if thread.state is State.BLOCKED and thread.context is not None \
            and not linux_thread(thread).answered:
        from cloudos.linux.syscalls import sys_file  # (sys_file imports this module)
        if sys_file.interrupt(thread):
            return  # the VFS answers the call, then the signal is taken on the way out
        thread.restart = thread.syscall if _restarts(thread, sig) else -1
        ptrace.interrupted(thread)
        _time_left(thread)
        sets_back(thread)
        thread.process.kernel.scheduler.wake(thread, -Errno.EINTR)


def kick(thread: Thread) -> None:
    """Make ``thread`` come back to the kernel soon, as a signal would (PTRACE_INTERRUPT):
    interrupt the call it sleeps in."""
    _notify(thread, SIGTRAP)


def _time_left(thread: Thread) -> None:
    """A nanosleep ended early by a signal: the time it had left goes to its ``rem``."""
    state = linux_thread(thread)
    if state.sleep_rem is None or thread.syscall not in (Sysno.NANOSLEEP,
                                                         Sysno.CLOCK_NANOSLEEP):
        return
    rem, until = state.sleep_rem
    state.sleep_rem = None
    left = max(0.0, until - thread.process.kernel.scheduler.clock())
    try:
        thread.process.aspace.copy_out(rem, struct.pack("<qq", int(left),
                                                        int(left % 1 * 1e9)))
    except KernelError:
        pass  # Linux's EFAULT would replace EINTR; the sleep has ended either way


def sets_back(thread: Thread) -> None:
    """A select or pselect6 ended by a signal leaves its fd_sets as they came, as Linux's
    (which writes them only for a result): a program may call it again with them."""
    state = linux_thread(thread)
    saved, state.select_sets = state.select_sets, ()
    if thread.syscall not in (Sysno.SELECT, Sysno.PSELECT6):
        return
    for addr, raw in saved:
        try:
            thread.process.aspace.copy_out(addr, raw)
        except KernelError:
            pass  # (unmapped by another thread meanwhile: nothing to put back)


def _restarts(thread: Thread, sig: int) -> bool:
    """Whether the call ``thread`` sleeps in runs again after a handler of ``sig``."""
    handler, flags = _action(thread.process, sig)[:2]
    if ptrace.tracee(thread.process) is not None and handler in (SIG_DFL, SIG_IGN):
        # a ptrace-stop first, then no handler: Linux runs the call again unseen
        return thread.syscall in RESTARTABLE | STOP_RESTARTS
    return bool(flags & SA_RESTART) and thread.syscall in RESTARTABLE


def restarts(thread: Thread) -> bool:
    """Whether the call ``thread`` was interrupted in runs again after its handlers: as on
    Linux, the signal delivered first decides (a later one, whatever its SA_RESTART, finds
    the call ended), and that is the one ``_take`` takes next, not the one that came first."""
    wanted = ~linux_thread(thread).sigmask
    for pending in (linux_thread(thread).pending, linux(thread.process).pending_set):
        for sig in sorted(pending.infos):
            if wanted & _bit(sig):
                return _restarts(thread, sig)
    return False


def _take(thread: Thread) -> SigInfo | None:
    """The next pending signal ``thread`` does not block (its own first)."""
    return take(thread, ~linux_thread(thread).sigmask)


def take(thread: Thread, wanted: int) -> SigInfo | None:
    """The next pending signal of ``thread`` in the set ``wanted`` (its own first)."""
    for pending in (linux_thread(thread).pending, linux(thread.process).pending_set):
        for sig in sorted(pending.infos):
            if wanted & _bit(sig):
                info = pending.infos.pop(sig)
                if linux(thread.process).signalfd_mask & _bit(sig):
                    tell_pending(thread.process)
                return info
    return None


def tell_pending(process: Process) -> None:
    """Tell the VFS which signals ``process`` has pending: its signalfds' readiness."""
    from cloudos.linux.syscalls import sys_file  # (sys_file imports this module)
    state = linux(process)
    bits = sum(_bit(sig) for pending in [state.pending_set] + [linux_thread(t).pending
                                                               for t in process.threads]
               for sig in pending.infos)
    sys_file.notify(process.kernel, SignalsPending(process.pid, bits))


def deliver(thread: Thread) -> None:
    """Before ``thread`` returns to user mode: run its next signal's handler, or act."""
    if thread.context is not None and thread.context.entry is not None:
        return  # not started yet (it enters user mode through iretq): after its first stop
    process = thread.process
    if linux(process).stopped:  # wait here, in the kernel, for SIGCONT
        process.kernel.scheduler.sleep_on(thread, ("stopped", process.pid), restart=-2)
        return
    thread.notify = False
    info = ptrace.injected(thread)
    if info is None:
        info = _take(thread)
        if info is not None and ptrace.intercept(thread, info):
            return
    if info is None:
        state = linux_thread(thread)
        if state.temporary_mask:  # the wait is over and no handler ran: the old mask again
            state.temporary_mask = False
            state.sigmask, state.suspended = state.suspended or 0, None
            if pending_unblocked(thread):  # one it kept out is let in by the old mask: now
                deliver(thread)
        return
    handler, flags, restorer, mask = _action(process, info.signo)
    if handler == SIG_IGN:
        thread.notify = True
        return
    if handler == SIG_DFL:
        if info.signo in STOP_SIGNALS:
            _stop(process, info.signo)
        elif info.signo not in DEFAULT_IGNORE:
            process.kernel.kill(process, info.signo)
        thread.notify = True
        return
    try:
        _push_frame(thread, info, handler, flags, restorer)
    except KernelError:  # the frame cannot be written (Linux's force_sigsegv)
        process.kernel.kill(process, SIGSEGV)
        return
    state = linux_thread(thread)
    state.handled += 1
    state.sigmask |= (mask | (0 if flags & SA_NODEFER else _bit(info.signo))) & ~UNBLOCKABLE
    if flags & SA_RESETHAND:  # the handler becomes SIG_DFL; flags, mask and restorer stay
        actions = linux(process).sigactions
        if info.signo in actions:
            actions[info.signo] = bytes(8) + actions[info.signo][8:]
    thread.notify = bool(pending_unblocked(thread))


def set_temporary_mask(thread: Thread, mask: int) -> None:
    """The signal mask of a ppoll, pselect6 or epoll_pwait: in force while the call waits,
    and until the handler it lets in returns; else restored on the way back to user mode.
    EINTR at once when it unblocks a pending signal."""
    state = linux_thread(thread)
    state.suspended, state.sigmask = state.sigmask, mask & ~UNBLOCKABLE
    state.temporary_mask = True
    thread.notify = True
    if pending_unblocked(thread):
        raise KernelError(Errno.EINTR, "a pending signal is let in")


def pending_unblocked(thread: Thread) -> int:
    mask = linux_thread(thread).sigmask
    sigs = set(linux_thread(thread).pending.infos) | set(linux(thread.process).pending_set.infos)
    return sum(_bit(s) for s in sigs if not mask & _bit(s))


def _push_frame(thread: Thread, info: SigInfo, handler: int, flags: int, restorer: int) -> None:
    """Build the rt_sigframe on the user stack and point the thread at the handler."""
    cpu, aspace, state = thread.process.kernel.cpu, thread.process.aspace, linux_thread(thread)
    assert thread.context is not None
    cpu.load(thread.context)
    regs = cpu.read_regs(REG_IDS)
    state.fpu.append(cpu.vector_registers())
    cpu.set_vector_registers(FPU_INIT)  # the handler starts with a clean FPU, as on Linux
    base, size = state.altstack
    sp = regs[15] - 128  # below the red zone
    if flags & SA_ONSTACK and size and not base <= regs[15] < base + size:
        sp = base + size  # SA_ONSTACK: the handler runs on the alternate stack
    frame = ((sp - FRAME) & ~15) - 8  # rsp+8 16-aligned, as after a call
    uc_addr, info_addr = frame + 8, frame + 8 + UCONTEXT_HEAD.size + SIGCONTEXT.size + 8
    old_mask = state.sigmask if state.suspended is None else state.suspended
    state.suspended = None  # sigsuspend's mask lasts until its handler returns
    state.temporary_mask = False
    context = SIGCONTEXT.pack(*regs, 0x33, 0, 0, 0x2B, 0, 14 if info.signo == SIGSEGV else 0,
                              old_mask, info.addr, 0)
    raw = (struct.pack("<Q", restorer) + UCONTEXT_HEAD.pack(0, 0, 0, 2, 0) + context
           + struct.pack("<Q", old_mask) + info.pack())
    aspace.copy_out(frame, raw)
    for reg, value in ((X.UC_X86_REG_RIP, handler), (X.UC_X86_REG_RSP, frame),
                       (X.UC_X86_REG_RDI, info.signo), (X.UC_X86_REG_RSI, info_addr),
                       (X.UC_X86_REG_RDX, uc_addr), (X.UC_X86_REG_RAX, 0)):
        cpu.set_reg(reg, value)


def sigreturn(thread: Thread) -> int:
    """rt_sigreturn: restore what the frame saved; returns the interrupted RAX."""
    cpu, aspace, state = thread.process.kernel.cpu, thread.process.aspace, linux_thread(thread)
    uc_addr = cpu.reg(X.UC_X86_REG_RSP)  # the handler's ret popped pretcode
    raw = aspace.copy_in(uc_addr, UCONTEXT_HEAD.size + SIGCONTEXT.size + 8)
    context = SIGCONTEXT.unpack_from(raw, UCONTEXT_HEAD.size)
    regs = list(context[:18])
    old = cpu.reg(X.UC_X86_REG_EFLAGS)
    regs[17] = (old & ~EFLAGS_USER) | (regs[17] & EFLAGS_USER)
    cpu.write_regs(REG_IDS, regs)
    mask = struct.unpack_from("<Q", raw, UCONTEXT_HEAD.size + SIGCONTEXT.size)[0]
    state.sigmask = mask & ~UNBLOCKABLE
    if state.fpu:
        cpu.set_vector_registers(state.fpu.pop())
    # (notify may be set already: a tracer's syscall-exit stop is due)
    thread.notify = thread.notify or bool(pending_unblocked(thread))
    return regs[13]


def on_fault(thread: Thread, sig: int, addr: int, code: int = SI_KERNEL) -> bool:
    """A CPU fault: its handler runs if there is one and the signal is not blocked."""
    handler = _action(thread.process, sig)[0]
    traced = ptrace.tracee(thread.process) is not None
    if not traced and (handler in (SIG_DFL, SIG_IGN) or linux_thread(thread).sigmask & _bit(sig)):
        return False  # Linux forces the default action for blocked or ignored faults
    if traced and sig == SIGTRAP and getattr(thread.context, "single_step", False):
        code = TRAP_TRACE  # the end of a PTRACE_SINGLESTEP, not an int3 (a debugger's test)
    linux_thread(thread).pending.infos[sig] = SigInfo(sig, code, addr=addr)
    thread.notify = True
    return True


def child_exited(child: Process) -> None:
    """SIGCHLD to the parent of a process that ended."""
    parent = child.parent
    if parent is None or parent.zombie or not isinstance(parent.personality, type(linux(child))):
        return
    code, status = (CLD_KILLED, child.killed_by) if child.killed_by else (CLD_EXITED,
                                                                         child.exit_code)
    if getattr(child.personality, "core_dumped", False):
        code = CLD_DUMPED
    send(parent, SigInfo(SIGCHLD, code, child.pid, linux(child).uid, status=status))
