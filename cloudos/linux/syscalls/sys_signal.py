"""Signal system calls: rt_sigaction(2), rt_sigprocmask(2), rt_sigreturn(2),
rt_sigsuspend(2), rt_sigpending(2), rt_sigtimedwait(2), pause(2), kill(2), tkill(2),
tgkill(2).

Delivery itself (default actions, handler frames, EINTR) is ``linux.signals``.
"""

import struct

from cloudos.hal import regs as X

from cloudos.abi.signal import NSIG, UNCATCHABLE, Signal
from cloudos.abi.sysno import Sysno
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Process, Thread
from cloudos.kernel.trap import SlowPath, Stop
from cloudos.linux import signals
from cloudos.linux.creds import CAP_KILL
from cloudos.linux.process import linux, linux_thread
from cloudos.linux.syscalls.args import U64, deadline, read_timespec, s32

SIGACTION_SIZE = 32  # handler, flags, restorer, mask
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2


def sys_rt_sigaction(t: Thread, sig: int, act: int, oldact: int, sigsetsize: int,
                     *_: int) -> int:
    """Implements Linux rt_sigaction(2)."""
    sig = s32(sig)
    if sigsetsize != 8 or not 1 <= sig <= NSIG or (act and sig in UNCATCHABLE):
        raise KernelError(Errno.EINVAL, f"signal {sig}")
    state, aspace = linux(t.process), t.process.aspace
    new = aspace.copy_in(act, SIGACTION_SIZE) if act else None
    if oldact:
        aspace.copy_out(oldact, state.sigactions.get(sig, bytes(SIGACTION_SIZE)))
    if new is not None:
        state.sigactions[sig] = new
    return 0


def sys_rt_sigprocmask(t: Thread, how: int, nset: int, oset: int, sigsetsize: int,
                       *_: int) -> int:
    """Implements Linux rt_sigprocmask(2)."""
    if sigsetsize != 8:
        raise KernelError(Errno.EINVAL, "sigset size")
    state, aspace = linux_thread(t), t.process.aspace
    how = s32(how)
    new = U64.unpack(aspace.copy_in(nset, 8))[0] if nset else None
    if new is not None and how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK):
        raise KernelError(Errno.EINVAL, f"how {how}")
    if oset:
        aspace.copy_out(oset, U64.pack(state.sigmask))
    if new is not None:
        mask = {SIG_BLOCK: state.sigmask | new, SIG_UNBLOCK: state.sigmask & ~new,
                SIG_SETMASK: new}[how]
        state.sigmask = mask & ~signals.UNBLOCKABLE
        t.notify = t.notify or bool(signals.pending_unblocked(t))  # now deliverable
    return 0


def sys_rt_sigreturn(t: Thread, *_: int) -> int:
    """Implements Linux rt_sigreturn(2): back from a handler to what it interrupted."""
    raise SlowPath(lambda: signals.sigreturn(t))  # it rewrites RIP and RSP: CPU stopped


def sys_rt_sigsuspend(t: Thread, mask: int, sigsetsize: int, *_: int) -> int:
    """Implements Linux rt_sigsuspend(2): wait with a temporary mask for a handler to run."""
    if sigsetsize != 8:
        raise KernelError(Errno.EINVAL, "sigset size")
    new = U64.unpack(t.process.aspace.copy_in(mask, 8))[0]
    state = linux_thread(t)
    state.suspended, state.sigmask = state.sigmask, new & ~signals.UNBLOCKABLE
    if signals.pending_unblocked(t):
        t.notify = True
        return -Errno.EINTR
    t.process.kernel.scheduler.sleep_on(t, ("pause", t.tid))
    raise Stop


def sys_rt_sigtimedwait(t: Thread, uset: int, uinfo: int, utimeout: int, sigsetsize: int,
                        *_: int) -> int:
    """Implements Linux rt_sigtimedwait(2) (sigwaitinfo, sigtimedwait, sigwait): take a
    pending signal of the set without running its handler, waiting for one to come.

    The call runs again when a signal of the set arrives (another thread may have
    taken it), and after a stop: its timeout then starts again.
    """
    if sigsetsize != 8:
        raise KernelError(Errno.EINVAL, "sigset size")
    aspace = t.process.aspace
    wanted = U64.unpack(aspace.copy_in(uset, 8))[0] & ~signals.UNBLOCKABLE
    wait = read_timespec(aspace, utimeout) if utimeout else None
    state = linux_thread(t)
    info = signals.take(t, wanted)
    if info is not None:
        state.sigwait = 0
        if uinfo:
            aspace.copy_out(uinfo, info.pack())
        return info.signo
    if wait == 0:
        raise KernelError(Errno.EAGAIN, "no signal of the set is pending")
    state.sigwait = wanted
    scheduler = t.process.kernel.scheduler
    until = None if wait is None else deadline(t, wait)
    scheduler.sleep_on(t, ("sigwait", t.tid), until, -Errno.EAGAIN,
                       restart=Sysno.RT_SIGTIMEDWAIT)
    raise Stop


def sys_pause(t: Thread, *_: int) -> int:
    """Implements Linux pause(2)."""
    if signals.pending_unblocked(t):
        t.notify = True
        return -Errno.EINTR
    t.process.kernel.scheduler.sleep_on(t, ("pause", t.tid))
    raise Stop


def sys_rt_sigpending(t: Thread, out: int, sigsetsize: int, *_: int) -> int:
    """Implements Linux rt_sigpending(2)."""
    if sigsetsize > 8:
        raise KernelError(Errno.EINVAL, "sigset size")
    state = linux_thread(t)
    sigs = set(state.pending.infos) | set(linux(t.process).pending_set.infos)
    blocked = sum(1 << (s - 1) for s in sigs) & state.sigmask
    t.process.aspace.copy_out(out, U64.pack(blocked)[:sigsetsize])
    return 0


def send_signal(process: Process, sig: int, thread: Thread | None = None) -> None:
    """A signal from the kernel (SIGPIPE, ...): see ``linux.signals.send``."""
    signals.send(process, signals.SigInfo(sig, signals.SI_KERNEL), thread)


def signal_info(t: Thread, sig: int, code: int) -> signals.SigInfo:
    """The siginfo of a signal the caller sends (kill(2)'s: its pid and real uid)."""
    return signals.SigInfo(sig, code, t.process.pid, linux(t.process).uid)


def check_sig(sig: int) -> int:
    """A signal number a caller may name (0 checks without sending); else EINVAL."""
    sig = s32(sig)
    if not 0 <= sig <= NSIG:
        raise KernelError(Errno.EINVAL, f"signal {sig}")
    return sig


def sys_kill(t: Thread, pid: int, sig: int, *_: int) -> int:
    """Implements Linux kill(2) with default actions."""
    pid, sig = s32(pid), check_sig(sig)
    kernel = t.process.kernel
    known = kernel.processes.values()  # (a zombie too: Linux's kill finds it, and does nothing)
    if pid > 0:
        targets = [p for p in known if p.pid == pid]
    elif pid == 0:
        targets = [p for p in known if p.pgid == t.process.pgid]
    elif pid == -1:
        targets = [p for p in known if p.pid != 1 and p is not t.process]
    else:
        targets = [p for p in known if p.pgid == -pid]
    if not targets:
        raise KernelError(Errno.ESRCH, f"no process {pid}")
    allowed = [p for p in targets if may_signal(t.process, p, sig)]
    if not allowed and pid != -1:  # a group: success if any one could be signalled
        raise KernelError(Errno.EPERM, f"not allowed to signal {pid}")  # (-1: always)
    for process in allowed:
        signals.send(process, signal_info(t, sig, signals.SI_USER))
    return 0


def may_signal(sender: Process, target: Process, sig: int) -> bool:
    """kill(2)'s permission: the sender's real or effective uid is the target's real or
    saved uid, or it has CAP_KILL; SIGCONT within a session is always allowed."""
    if sender is target:
        return True
    me, them = linux(sender).creds, linux(target).creds
    if me.capable(CAP_KILL) or {me.uid, me.euid} & {them.uid, them.suid}:
        return True
    return sig == Signal.SIGCONT and sender.sid == target.sid


def _thread(t: Thread, tid: int, tgid: int = -1) -> Thread:
    for thread in t.process.kernel.threads():
        if thread.tid == tid and tgid in (-1, thread.process.pid):
            return thread
    raise KernelError(Errno.ESRCH, f"no thread {tid}")


def sys_tkill(t: Thread, tid: int, sig: int, *_: int) -> int:
    """Implements Linux tkill(2)."""
    tid, sig = s32(tid), check_sig(sig)
    if tid <= 0:
        raise KernelError(Errno.EINVAL, f"tid {tid}")
    target = _thread(t, tid)
    if not may_signal(t.process, target.process, sig):
        raise KernelError(Errno.EPERM, f"not allowed to signal {tid}")
    signals.send(target.process, signal_info(t, sig, signals.SI_TKILL), target)
    return 0


def sys_tgkill(t: Thread, tgid: int, tid: int, sig: int, *_: int) -> int:
    """Implements Linux tgkill(2)."""
    tgid, tid, sig = s32(tgid), s32(tid), check_sig(sig)
    if tid <= 0 or tgid <= 0:
        raise KernelError(Errno.EINVAL, f"tgid {tgid} tid {tid}")
    target = _thread(t, tid, tgid)
    if not may_signal(t.process, target.process, sig):
        raise KernelError(Errno.EPERM, f"not allowed to signal {tid}")
    signals.send(target.process, signal_info(t, sig, signals.SI_TKILL), target)
    return 0


SIGINFO_HEAD = struct.Struct("<iii4xiIQ")  # signo, errno, code; pid, uid, value (SI_QUEUE)


def queued_info(t: Thread, target_pid: int, sig: int, uinfo: int) -> signals.SigInfo:
    """The siginfo of rt_(tg)sigqueueinfo: the caller's, but it may not pose as the
    kernel or as kill/tgkill when it signals another process (EPERM)."""
    _, _, code, pid, uid, value = SIGINFO_HEAD.unpack(t.process.aspace.copy_in(uinfo,
                                                                              SIGINFO_HEAD.size))
    if (code >= 0 or code == signals.SI_TKILL) and target_pid != t.process.pid:
        raise KernelError(Errno.EPERM, f"si_code {code} is the kernel's")
    return signals.SigInfo(sig, code, pid, uid, value=value)


def sys_rt_sigqueueinfo(t: Thread, pid: int, sig: int, uinfo: int, *_: int) -> int:
    """Implements Linux rt_sigqueueinfo(2) (sigqueue(3)): a signal with a value."""
    pid, sig = s32(pid), check_sig(sig)
    target = next((p for p in t.process.kernel.processes.values()
                   if p.pid == pid and not p.zombie), None)
    if target is None:
        raise KernelError(Errno.ESRCH, f"no process {pid}")
    info = queued_info(t, pid, sig, uinfo)
    if not may_signal(t.process, target, sig):
        raise KernelError(Errno.EPERM, f"not allowed to signal {pid}")
    if sig:
        signals.send(target, info)
    return 0


def sys_rt_tgsigqueueinfo(t: Thread, tgid: int, tid: int, sig: int, uinfo: int,
                          *_: int) -> int:
    """Implements Linux rt_tgsigqueueinfo(2): the same, to one thread."""
    tgid, tid, sig = s32(tgid), s32(tid), check_sig(sig)
    if tid <= 0 or tgid <= 0:
        raise KernelError(Errno.EINVAL, f"tgid {tgid} tid {tid}")
    target = _thread(t, tid, tgid)
    info = queued_info(t, tgid, sig, uinfo)
    if sig:
        signals.send(target.process, info, target)
    return 0


SS_ONSTACK, SS_DISABLE, MINSIGSTKSZ = 1, 2, 2048
STACK_T = struct.Struct("<Qi4xQ")  # ss_sp, ss_flags, ss_size


def sys_sigaltstack(t: Thread, new: int, old: int, *_: int) -> int:
    """Implements Linux sigaltstack(2): the stack SA_ONSTACK handlers run on."""
    state, aspace = linux_thread(t), t.process.aspace
    base, size = state.altstack
    assert t.context is not None
    rsp = t.process.kernel.cpu.context_reg(t.context, X.UC_X86_REG_RSP)
    on_it = bool(size) and base <= rsp < base + size
    wanted = STACK_T.unpack(aspace.copy_in(new, STACK_T.size)) if new else None
    if wanted is not None:
        sp, flags, length = wanted
        if on_it:
            raise KernelError(Errno.EPERM, "cannot change the stack a handler runs on")
        if flags & ~(SS_DISABLE | SS_ONSTACK | 0x80000000):  # SS_AUTODISARM accepted
            raise KernelError(Errno.EINVAL, f"ss_flags {flags:#x}")
        if not flags & SS_DISABLE and length < MINSIGSTKSZ:
            raise KernelError(Errno.ENOMEM, "alternate stack too small")
    if old:
        flags = SS_ONSTACK if on_it else (0 if size else SS_DISABLE)
        aspace.copy_out(old, STACK_T.pack(base, flags, size))
    if wanted is not None:
        state.altstack = (0, 0) if wanted[1] & SS_DISABLE else (wanted[0], wanted[2])
    return 0
