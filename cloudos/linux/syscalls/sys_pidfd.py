"""pidfds: pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2), and the pidfd lookup that
waitid(2)'s P_PIDFD and these calls share.

A pidfd is an open file of the VFS (``servers/vfs/pidfd.py``): the VFS knows which
process each one names and whether it has exited; the personality knows processes.
A call given a pidfd asks the VFS what it names (``target``), then runs again with
the answer at hand: the handler reads top to bottom as if the lookup were local.
Called by: the syscall table; ``sys_fork`` (clone's CLONE_PIDFD, waitid's P_PIDFD).
"""

from __future__ import annotations

import struct
import weakref

from cloudos.abi import vfs
from cloudos.abi.flags import OpenFlag
from cloudos.abi.vfs import PidTarget
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message
from cloudos.kernel.task import Process, Thread
from cloudos.linux import signals
from cloudos.linux.syscalls import sys_file
from cloudos.linux.syscalls.args import s32
from cloudos.linux.syscalls.sys_signal import (check_sig, may_signal, queued_info,
                                              signal_info)

PIDFD_NONBLOCK = int(OpenFlag.NONBLOCK)
# pidfd_send_signal's flags: whom of the process's the signal is for (Linux 6.9)
PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP = 1, 2, 4
SIGNAL_SCOPES = (0, PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP)
# What the VFS answered for a thread's pidfd, for the run again of its call:
# (system call number, fd, answer)
_answers: weakref.WeakKeyDictionary[Thread, tuple[int, int, PidTarget]] = \
    weakref.WeakKeyDictionary()


def target(t: Thread, fd: int, proc_dir: bool = False) -> PidTarget:
    """What pidfd ``fd`` names (EBADF for an fd that is not a pidfd; with ``proc_dir``, a
    /proc/<pid> directory's fd names its process too). The first time, the VFS is asked
    and the call runs again once it answers; the second time, this returns the answer."""
    kept = _answers.pop(t, None)
    if kept is not None and kept[:2] == (t.syscall, fd):
        return kept[2]

    def again(msg: Message) -> int:
        if not isinstance(msg.body, PidTarget):
            return int(msg.body)
        _answers[t] = (t.syscall, fd, msg.body)
        t.restart = t.syscall
        return 0

    # The thread sleeps until the VFS answers, or the VFS answered at once (the fast
    # path): a pidfd's answer runs the call again (SlowPath); a return is an error.
    result = sys_file.call(t, vfs.PidfdTarget(fd, proc_dir), deliver=again)
    raise KernelError(-result if result < 0 else Errno.EBADF, f"fd {fd} is not a pidfd")


def process_of(t: Thread, named: PidTarget) -> Process | None:
    """The process a pidfd names: live, a zombie (None once reaped: ESRCH, as Linux)."""
    process = t.process.kernel.processes.get(named.pid)
    if process is None or (named.exited and not process.zombie):
        return None  # (a live process with its pid is another one: the pid was used again)
    return process


def open_pidfd(t: Thread, process: Process, flags: int) -> int:
    """A pidfd for ``process`` in the caller's fd table (pidfd_open, CLONE_PIDFD)."""
    return sys_file.call(t, vfs.PidfdOpen(process.pid, flags, process.zombie))


def sys_pidfd_open(t: Thread, pid: int, flags: int, *_: int) -> int:
    """Implements Linux pidfd_open(2): a close-on-exec fd, readable once ``pid`` exits."""
    pid, flags = s32(pid), flags & 0xFFFF_FFFF
    if flags & ~PIDFD_NONBLOCK or pid <= 0:
        raise KernelError(Errno.EINVAL, f"pidfd_open pid {pid} flags {flags:#x}")
    kernel = t.process.kernel
    process = kernel.processes.get(pid)
    if process is None:
        if any(th.tid == pid for th in kernel.threads()):
            raise KernelError(Errno.EINVAL, f"{pid} is a thread, not a process")
        raise KernelError(Errno.ESRCH, f"no process {pid}")
    return open_pidfd(t, process, flags)


def sys_pidfd_send_signal(t: Thread, pidfd: int, sig: int, info: int, flags: int,
                          *_: int) -> int:
    """Implements Linux pidfd_send_signal(2): kill(2) by pidfd, or by an fd of a
    /proc/<pid> directory; a zombie takes a signal and drops it, a reaped process is
    ESRCH."""
    flags = flags & 0xFFFF_FFFF
    if flags not in SIGNAL_SCOPES:
        raise KernelError(Errno.EINVAL, f"pidfd_send_signal flags {flags:#x}")
    named = target(t, s32(pidfd), proc_dir=True)  # (Linux's pidfd_to_pid)
    sig = check_sig(sig)
    process = process_of(t, named)
    if process is None:
        raise KernelError(Errno.ESRCH, f"process {named.pid} was reaped")
    siginfo = _siginfo(t, process, sig, info, flags)
    if flags == PIDFD_SIGNAL_PROCESS_GROUP:
        group = [p for p in t.process.kernel.processes.values()
                 if p.pgid == process.pgid and not p.zombie]
        allowed = [p for p in group if may_signal(t.process, p, sig)]
        if group and not allowed:
            raise KernelError(Errno.EPERM, f"not allowed to signal group {process.pgid}")
        for member in allowed:
            signals.send(member, siginfo)
        return 0
    if not may_signal(t.process, process, sig):
        raise KernelError(Errno.EPERM, f"not allowed to signal {process.pid}")
    leader = next((th for th in process.threads if th.tid == process.pid), None)
    signals.send(process, siginfo, leader if flags == PIDFD_SIGNAL_THREAD else None)
    return 0


def _siginfo(t: Thread, process: Process, sig: int, info: int,
             flags: int) -> signals.SigInfo:
    """kill(2)'s siginfo, or the caller's (``info``): its signal must be ``sig``, and it
    may not pose as the kernel or kill(2) to another process or to a group (EPERM)."""
    if not info:
        return signal_info(t, sig, signals.SI_USER)
    (signo,) = struct.unpack("<i", t.process.aspace.copy_in(info, 4))
    if signo != sig:
        raise KernelError(Errno.EINVAL, f"siginfo's signal {signo} is not {sig}")
    pid = process.pid if flags != PIDFD_SIGNAL_PROCESS_GROUP else -1
    return queued_info(t, pid, sig, info)


def sys_pidfd_getfd(t: Thread, pidfd: int, fd: int, flags: int, *_: int) -> int:
    """Implements Linux pidfd_getfd(2): a close-on-exec copy of another process's fd."""
    return sys_file.call(t, vfs.PidfdGetfd(s32(pidfd), s32(fd), flags & 0xFFFF_FFFF))
