"""seccomp(2) and prctl's PR_SET_SECCOMP: decoding the calls; ``linux/seccomp.py`` owns
the modes and filters they set.

Called by: the syscall table (loaded at the first call), ``sys_prctl``.
"""

from __future__ import annotations

from cloudos.abi.seccomp import Mode, Op
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Thread
from cloudos.linux import seccomp


def sys_seccomp(t: Thread, op: int, flags: int, uargs: int, *_: int) -> int:
    """Implements Linux seccomp(2): strict mode, filters, GET_ACTION_AVAIL;
    GET_NOTIF_SIZES is EINVAL, as on a Linux without user notification."""
    op, flags = op & 0xFFFF_FFFF, flags & 0xFFFF_FFFF
    if op == Op.SET_MODE_STRICT:
        if flags or uargs:
            raise KernelError(Errno.EINVAL, "strict mode takes no flags or arguments")
        return seccomp.set_strict(t)
    if op == Op.SET_MODE_FILTER:
        return seccomp.set_filter(t, flags, uargs)
    if op == Op.GET_ACTION_AVAIL:
        if flags:
            raise KernelError(Errno.EINVAL, "GET_ACTION_AVAIL takes no flags")
        return seccomp.action_available(t, uargs)
    raise KernelError(Errno.EINVAL, f"seccomp operation {op}")


def set_seccomp(t: Thread, mode: int, fprog: int) -> int:
    """prctl(PR_SET_SECCOMP, mode, fprog): seccomp(2) without flags (strict mode ignores
    the pointer)."""
    if mode == Mode.STRICT:
        return sys_seccomp(t, Op.SET_MODE_STRICT, 0, 0)
    if mode == Mode.FILTER:
        return sys_seccomp(t, Op.SET_MODE_FILTER, 0, fprog)
    raise KernelError(Errno.EINVAL, f"seccomp mode {mode}")

