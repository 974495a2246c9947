"""prctl(2): the options programs use, on the process's and thread's Linux state.

Owns: the option table of prctl and each option's argument checks (Linux's: unused
arguments of the newer options must be zero); the state it sets lives in
``process.LinuxProcess``/``LinuxThread`` and ``creds.Creds``, and takes effect where
Linux applies it (the death signal and the child subreaper when a parent exits:
``sys_fork.on_exit``; no_new_privs on execve).
Never: implements what CloudOS lacks (named anonymous memory): those options are
EINVAL, as on a Linux built without them; seccomp's are ``sys_seccomp``'s.
Called by: the syscall table.
"""

from __future__ import annotations

import struct
from typing import Callable

from cloudos.abi.dataclass import replace
from cloudos.abi.signal import NSIG
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Thread
from cloudos.linux import creds, seccomp
from cloudos.linux.process import linux, linux_thread
from cloudos.linux.syscalls.args import user_string
from cloudos.linux.syscalls.sys_seccomp import set_seccomp

PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_SET_NAME, PR_GET_NAME = 7, 8, 15, 16
PR_GET_SECCOMP, PR_SET_SECCOMP, PR_CAPBSET_READ, PR_CAPBSET_DROP = 21, 22, 23, 24
PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_SET_TIMERSLACK, PR_GET_TIMERSLACK = 27, 28, 29, 30
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
PR_GET_TSC, PR_TSC_ENABLE, PR_MCE_KILL_GET, PR_MCE_KILL_DEFAULT = 25, 1, 34, 2
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_TID_ADDRESS = 38, 39, 40
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_CAP_AMBIENT = 41, 42, 47
PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE = 1, 2
PR_CAP_AMBIENT_LOWER, PR_CAP_AMBIENT_CLEAR_ALL = 3, 4
SECBIT_KEEP_CAPS = 1 << 4
TASK_COMM_LEN = 16


def _zero(*args: int) -> int:
    """0, or EINVAL when an argument the option does not use is not zero."""
    if any(args):
        raise KernelError(Errno.EINVAL, "unused prctl arguments must be 0")
    return 0


def _put_int(t: Thread, addr: int, value: int) -> int:
    t.process.aspace.copy_out(addr, struct.pack("<i", value))
    return 0


def _flag(value: int) -> int:
    if value not in (0, 1):
        raise KernelError(Errno.EINVAL, f"flag {value}")
    return value


def _set_creds(t: Thread, new: creds.Creds) -> int:
    linux(t.process).creds = new
    return 0


def _name(t: Thread, a2: int) -> int:
    name = user_string(t.process.aspace, a2, TASK_COMM_LEN)[:TASK_COMM_LEN - 1]
    if t.tid == t.process.pid:
        t.process.name = name.decode(errors="replace")
    linux_thread(t).comm = name
    return 0


def _get_name(t: Thread, a2: int) -> int:
    name = linux_thread(t).comm or t.process.name.encode()
    t.process.aspace.copy_out(a2, name[:TASK_COMM_LEN - 1].ljust(TASK_COMM_LEN, b"\0"))
    return 0


def _pdeathsig(t: Thread, a2: int) -> int:
    if not 0 <= a2 <= NSIG:
        raise KernelError(Errno.EINVAL, f"signal {a2}")
    linux(t.process).pdeathsig = a2
    return 0


def _dumpable(t: Thread, a2: int) -> int:
    linux(t.process).dumpable = _flag(a2)
    return 0


def _capbset_read(t: Thread, a2: int) -> int:
    if not 0 <= a2 <= creds.CAP_LAST_CAP:
        raise KernelError(Errno.EINVAL, f"capability {a2}")
    return linux(t.process).creds.bounding >> a2 & 1


def _capbset_drop(t: Thread, a2: int) -> int:
    c = linux(t.process).creds
    if not c.capable(creds.CAP_SETPCAP):
        raise KernelError(Errno.EPERM, "dropping from the bounding set needs CAP_SETPCAP")
    if not 0 <= a2 <= creds.CAP_LAST_CAP:
        raise KernelError(Errno.EINVAL, f"capability {a2}")
    return _set_creds(t, replace(c, bounding=c.bounding & ~(1 << a2)))


def _securebits(t: Thread, a2: int) -> int:
    c = linux(t.process).creds
    if not c.capable(creds.CAP_SETPCAP):
        raise KernelError(Errno.EPERM, "securebits need CAP_SETPCAP")
    if a2 & ~SECBIT_KEEP_CAPS:
        raise KernelError(Errno.EINVAL, f"securebits {a2:#x}: only SECBIT_KEEP_CAPS")
    return _set_creds(t, replace(c, keep_caps=bool(a2)))


def _timerslack(t: Thread, a2: int) -> int:
    linux_thread(t).timerslack = a2 if a2 else linux_thread(t).default_timerslack
    return 0


def _ambient(t: Thread, a2: int, a3: int, a4: int, a5: int) -> int:
    _zero(a4, a5)
    if a2 == PR_CAP_AMBIENT_CLEAR_ALL:
        _zero(a3)
        return 0
    if a2 not in (PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_LOWER) \
            or not 0 <= a3 <= creds.CAP_LAST_CAP:
        raise KernelError(Errno.EINVAL, f"PR_CAP_AMBIENT {a2} {a3}")
    if a2 == PR_CAP_AMBIENT_RAISE:  # needs the capability permitted and inheritable
        c = linux(t.process).creds
        if not (c.permitted & c.inheritable) >> a3 & 1:
            raise KernelError(Errno.EPERM, "not permitted and inheritable")
        raise KernelError(Errno.EINVAL, "no ambient set in CloudOS")
    return 0  # IS_SET: never; LOWER: nothing to lower


Option = Callable[[Thread, int, int, int, int], int]
OPTIONS: dict[int, Option] = {
    PR_SET_PDEATHSIG: lambda t, a2, a3, a4, a5: _pdeathsig(t, a2),
    PR_GET_PDEATHSIG: lambda t, a2, a3, a4, a5: _put_int(t, a2, linux(t.process).pdeathsig),
    PR_GET_DUMPABLE: lambda t, a2, a3, a4, a5: linux(t.process).dumpable,
    PR_SET_DUMPABLE: lambda t, a2, a3, a4, a5: _dumpable(t, a2),
    PR_GET_KEEPCAPS: lambda t, a2, a3, a4, a5: int(linux(t.process).creds.keep_caps),
    PR_SET_KEEPCAPS: lambda t, a2, a3, a4, a5: _set_creds(
        t, replace(linux(t.process).creds, keep_caps=bool(_flag(a2)))),
    PR_SET_NAME: lambda t, a2, a3, a4, a5: _name(t, a2),
    PR_GET_NAME: lambda t, a2, a3, a4, a5: _get_name(t, a2),
    PR_GET_SECCOMP: lambda t, a2, a3, a4, a5: seccomp.mode_of(t),
    PR_SET_SECCOMP: lambda t, a2, a3, a4, a5: set_seccomp(t, a2, a3),
    PR_CAPBSET_READ: lambda t, a2, a3, a4, a5: _capbset_read(t, a2),
    PR_CAPBSET_DROP: lambda t, a2, a3, a4, a5: _capbset_drop(t, a2),
    PR_GET_SECUREBITS: lambda t, a2, a3, a4, a5:
        SECBIT_KEEP_CAPS if linux(t.process).creds.keep_caps else 0,
    PR_SET_SECUREBITS: lambda t, a2, a3, a4, a5: _securebits(t, a2),
    PR_SET_TIMERSLACK: lambda t, a2, a3, a4, a5: _timerslack(t, a2),
    PR_GET_TIMERSLACK: lambda t, a2, a3, a4, a5: linux_thread(t).timerslack,
    PR_SET_CHILD_SUBREAPER: lambda t, a2, a3, a4, a5: _set(t, "subreaper", bool(a2)),
    PR_GET_CHILD_SUBREAPER: lambda t, a2, a3, a4, a5:
        _put_int(t, a2, int(linux(t.process).subreaper)),
    PR_SET_NO_NEW_PRIVS: lambda t, a2, a3, a4, a5: _no_new_privs(t, a2, a3, a4, a5),
    PR_GET_NO_NEW_PRIVS: lambda t, a2, a3, a4, a5:
        _zero(a2, a3, a4, a5) or int(linux(t.process).no_new_privs),
    PR_GET_TID_ADDRESS: lambda t, a2, a3, a4, a5: _tid_address(t, a2),
    PR_SET_THP_DISABLE: lambda t, a2, a3, a4, a5:
        _zero(a3, a4, a5) or _set(t, "thp_disable", bool(a2)),
    PR_GET_THP_DISABLE: lambda t, a2, a3, a4, a5:
        _zero(a2, a3, a4, a5) or int(linux(t.process).thp_disable),
    PR_CAP_AMBIENT: _ambient,
    # RDTSC always runs and machine checks never reach a guest: what Linux answers for a
    # process that set neither (PR_SET_TSC and PR_MCE_KILL stay EINVAL)
    PR_GET_TSC: lambda t, a2, a3, a4, a5: _put_int(t, a2, PR_TSC_ENABLE),
    PR_MCE_KILL_GET: lambda t, a2, a3, a4, a5: _zero(a2, a3, a4, a5) or PR_MCE_KILL_DEFAULT,
}


def _tid_address(t: Thread, a2: int) -> int:
    t.process.aspace.copy_out(a2, struct.pack("<Q", linux_thread(t).clear_child_tid))
    return 0


def _set(t: Thread, name: str, value: bool) -> int:
    setattr(linux(t.process), name, value)
    return 0


def _no_new_privs(t: Thread, a2: int, a3: int, a4: int, a5: int) -> int:
    """PR_SET_NO_NEW_PRIVS takes 1 only: it is never unset, and execve then ignores
    set-user/group-ID bits."""
    _zero(a3, a4, a5)
    if a2 != 1:
        raise KernelError(Errno.EINVAL, "no_new_privs can only be set")
    return _set(t, "no_new_privs", True)


def sys_prctl(t: Thread, option: int, a2: int, a3: int, a4: int, a5: int, *_: int) -> int:
    """Implements Linux prctl(2): the options of ``OPTIONS``; others EINVAL (PR_SET_MM,
    PR_SET_VMA: Linux without those features says the same)."""
    handler = OPTIONS.get(option & 0xFFFFFFFF)
    if handler is None:
        raise KernelError(Errno.EINVAL, f"prctl option {option}")
    return handler(t, a2, a3, a4, a5)
