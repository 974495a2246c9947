"""Signal dispositions and masks: rt_sigaction(2), rt_sigprocmask(2).

Both are recorded with Linux's checks; delivery to handlers comes with issue 6.
"""

from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.task import Thread
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
