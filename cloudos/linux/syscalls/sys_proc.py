"""Process identity and lifetime: exit(2), exit_group(2), get*id(2), uname(2),
arch_prctl(2), set_tid_address(2), set_robust_list(2), prlimit64(2), getrlimit(2).
"""

import struct

from cloudos import __version__
from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.mm.vm import USER_END
from cloudos.kernel.task import Thread
from cloudos.kernel.trap import Stop
from cloudos.linux.process import RLIM_INFINITY, RLIM_NLIMITS, linux, linux_thread
from cloudos.linux.syscalls.args import s32, write_u64

from unicorn import x86_const as X

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
ROBUST_LIST_HEAD_SIZE = 24
RLIMIT = struct.Struct("<QQ")
UTS_FIELDS = (b"Linux", b"cloudos", b"6.1.0-cloudos", f"#1 SMP CloudOS {__version__}".encode(),
              b"x86_64", b"(none)")
UTSNAME = b"".join(f.ljust(65, b"\0") for f in UTS_FIELDS)


def sys_exit(t: Thread, code: int, *_: int) -> int:
    """Implements Linux exit(2). Threads come with issue 4, so the process ends."""
    t.process.kernel.exit_process(t.process, s32(code) & 0xFF)
    raise Stop


def sys_exit_group(t: Thread, code: int, *_: int) -> int:
    """Implements Linux exit_group(2)."""
    t.process.kernel.exit_process(t.process, s32(code) & 0xFF)
    raise Stop


def sys_getpid(t: Thread, *_: int) -> int:
    """Implements Linux getpid(2)."""
    return t.process.pid


def sys_gettid(t: Thread, *_: int) -> int:
    """Implements Linux gettid(2)."""
    return t.tid


def sys_getppid(t: Thread, *_: int) -> int:
    """Implements Linux getppid(2)."""
    return t.process.ppid


def sys_getuid(t: Thread, *_: int) -> int:
    """Implements Linux getuid(2) and geteuid(2)."""
    return linux(t.process).uid


def sys_getgid(t: Thread, *_: int) -> int:
    """Implements Linux getgid(2) and getegid(2)."""
    return linux(t.process).gid


def sys_uname(t: Thread, buf: int, *_: int) -> int:
    """Implements Linux uname(2)."""
    t.process.aspace.copy_out(buf, UTSNAME)
    return 0


def sys_arch_prctl(t: Thread, code: int, addr: int, *_: int) -> int:
    """Implements Linux arch_prctl(2): the FS and GS base registers."""
    cpu = t.process.kernel.cpu
    reg = {ARCH_SET_FS: X.UC_X86_REG_FS_BASE, ARCH_GET_FS: X.UC_X86_REG_FS_BASE,
           ARCH_SET_GS: X.UC_X86_REG_GS_BASE, ARCH_GET_GS: X.UC_X86_REG_GS_BASE}.get(code)
    if reg is None:
        raise KernelError(Errno.EINVAL, f"arch_prctl code {code:#x}")
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        write_u64(t.process.aspace, addr, cpu.reg(reg))
        return 0
    if addr >= USER_END:
        raise KernelError(Errno.EPERM, "base outside user space")
    cpu.set_reg(reg, addr)
    return 0


def sys_set_tid_address(t: Thread, tidptr: int, *_: int) -> int:
    """Implements Linux set_tid_address(2): the address is cleared when the thread exits (issue 4)."""
    t.clear_child_tid = tidptr
    return t.tid


def sys_set_robust_list(t: Thread, head: int, length: int, *_: int) -> int:
    """Implements Linux set_robust_list(2): recorded for futex cleanup at thread exit."""
    if length != ROBUST_LIST_HEAD_SIZE:
        raise KernelError(Errno.EINVAL, "robust list head size")
    linux_thread(t).robust_list = (head, length)
    return 0


def sys_prlimit64(t: Thread, pid: int, resource: int, new: int, old: int, *_: int) -> int:
    """Implements Linux prlimit64(2) for the calling process."""
    pid, resource = s32(pid), s32(resource)
    if pid not in (0, t.process.pid):
        raise KernelError(Errno.ESRCH, f"pid {pid}")
    if not 0 <= resource < RLIM_NLIMITS:
        raise KernelError(Errno.EINVAL, f"resource {resource}")
    state, aspace = linux(t.process), t.process.aspace
    current = state.rlimits[resource]
    if new:
        soft, hard = RLIMIT.unpack(aspace.copy_in(new, RLIMIT.size))
        if soft > hard:
            raise KernelError(Errno.EINVAL, "soft limit above hard limit")
        if hard > current[1] and state.uid != 0:
            raise KernelError(Errno.EPERM, "raising a hard limit")
    if old:
        aspace.copy_out(old, RLIMIT.pack(*current))
    if new:
        state.rlimits[resource] = (soft, hard)
    return 0


def sys_getrlimit(t: Thread, resource: int, rlim: int, *_: int) -> int:
    """Implements Linux getrlimit(2)."""
    return sys_prlimit64(t, 0, resource, 0, rlim)


def sys_setrlimit(t: Thread, resource: int, rlim: int, *_: int) -> int:
    """Implements Linux setrlimit(2)."""
    if not rlim:
        raise KernelError(Errno.EFAULT)
    return sys_prlimit64(t, 0, resource, rlim, 0)


__all__ = ["RLIM_INFINITY"]
