"""Signals: rt_sigaction(2), rt_sigprocmask(2), kill(2), tkill(2), tgkill(2).

Dispositions and masks are recorded with Linux's checks. A signal whose action
is the default one takes effect at once (terminate, or nothing); one with a
handler, or blocked, stays pending: delivery to handlers comes with issue 6.
"""

from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.task import Process, State, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux.process import linux, linux_thread
from cloudos.linux.syscalls.args import U64, s32

SIGKILL, SIGSTOP, NSIG = 9, 19, 64
SIGACTION_SIZE = 32  # handler, flags, restorer, mask
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))


def sys_rt_sigaction(t: Thread, sig: int, act: int, oldact: int, sigsetsize: int,
                     *_: int) -> int:
    """Implements Linux rt_sigaction(2)."""
    sig = s32(sig)
    if sigsetsize != 8 or not 1 <= sig <= NSIG or (act and sig in (SIGKILL, SIGSTOP)):
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
        state.sigmask = mask & ~UNBLOCKABLE
    return 0


# Signals whose default action is to do nothing (Linux signal(7)); stop signals are
# listed too while there is no job control.
DEFAULT_IGNORE = {17, 18, 19, 20, 21, 22, 23, 28}  # CHLD CONT STOP TSTP TTIN TTOU URG WINCH
SIG_DFL, SIG_IGN = 0, 1


def send_signal(process: Process, sig: int) -> None:
    """Apply the default action of ``sig`` to ``process`` (handlers run with issue 6)."""
    if sig == 0 or process.zombie:
        return
    state = linux(process)
    action = state.sigactions.get(sig)
    handler = U64.unpack_from(action)[0] if action else SIG_DFL
    if handler == SIG_IGN or (handler == SIG_DFL and sig in DEFAULT_IGNORE):
        return
    blocked = all(linux_thread(th).sigmask & (1 << (sig - 1)) for th in process.threads
                  if th.state is not State.TERMINATED)
    if handler != SIG_DFL or (blocked and sig not in (SIGKILL, SIGSTOP)):
        state.pending |= 1 << (sig - 1)  # kept for delivery (issue 6)
        return
    process.kernel.kill(process, sig)


def _check_sig(sig: int) -> int:
    sig = s32(sig)
    if not 0 <= sig <= NSIG:
        raise KernelError(Errno.EINVAL, f"signal {sig}")
    return sig


def _after_send(t: Thread) -> int:
    if t.state is State.TERMINATED:  # the caller killed itself (abort, raise)
        raise Stop
    return 0


def sys_kill(t: Thread, pid: int, sig: int, *_: int) -> int:
    """Implements Linux kill(2) with default actions."""
    pid, sig = s32(pid), _check_sig(sig)
    kernel = t.process.kernel
    live = [p for p in kernel.processes.values() if not p.zombie]
    if pid > 0:
        targets = [p for p in live if p.pid == pid]
    elif pid == 0:
        targets = [p for p in live if p.pgid == t.process.pgid]
    elif pid == -1:
        targets = [p for p in live if p.pid != 1 and p is not t.process]
    else:
        targets = [p for p in live if p.pgid == -pid]
    if not targets:
        raise KernelError(Errno.ESRCH, f"no process {pid}")
    for process in targets:
        send_signal(process, sig)
    return _after_send(t)


def _thread(t: Thread, tid: int, tgid: int = -1) -> Thread:
    for thread in t.process.kernel.threads():
        if thread.tid == tid and tgid in (-1, thread.process.pid):
            return thread
    raise KernelError(Errno.ESRCH, f"no thread {tid}")


def sys_tkill(t: Thread, tid: int, sig: int, *_: int) -> int:
    """Implements Linux tkill(2)."""
    tid, sig = s32(tid), _check_sig(sig)
    if tid <= 0:
        raise KernelError(Errno.EINVAL, f"tid {tid}")
    send_signal(_thread(t, tid).process, sig)
    return _after_send(t)


def sys_tgkill(t: Thread, tgid: int, tid: int, sig: int, *_: int) -> int:
    """Implements Linux tgkill(2)."""
    tgid, tid, sig = s32(tgid), s32(tid), _check_sig(sig)
    if tid <= 0 or tgid <= 0:
        raise KernelError(Errno.EINVAL, f"tgid {tgid} tid {tid}")
    send_signal(_thread(t, tid, tgid).process, sig)
    return _after_send(t)
