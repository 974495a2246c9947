"""Mounts, roots and namespaces: chroot(2), mount(2), umount2(2), pivot_root(2),
unshare(2), setns(2), and the namespace flags of clone(2).

Owns: decoding these calls (strings from guest memory, flag words checked in Linux's
order) and the namespaces the personality keeps: a process's UTS namespace (a copy
of ``process.Uts`` after CLONE_NEWUTS, another's after setns). The mount tables,
each process's root and mount namespace are the VFS's (servers/vfs/mounts.py),
asked here; so are the capability checks of those calls, which Linux makes after
their path lookups (the VFS knows the caller's capabilities).
Never: makes IPC, PID, network, user, cgroup or time namespaces: the whole machine
is one of each, and asking for another is EINVAL (as from a kernel built without
them).
Called by: the system call table; ``sys_fork`` for clone's flags.
"""

from __future__ import annotations


from cloudos.abi import vfs
from cloudos.abi.dataclass import replace
from cloudos.abi.flags import CloneFlag, UmountFlag
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message
from cloudos.kernel.task import Process, State, Thread
from cloudos.linux import creds
from cloudos.linux.process import linux
from cloudos.linux.syscalls.args import s32, user_string
from cloudos.linux.syscalls.sys_file import PATH_MAX, call, notify

PAGE = 4096
CLONE_NEWTIME = 0x80  # unshare's only (clone's low byte is the exit signal)
# plain ints: clone tests them at every fork (an IntFlag operation costs microseconds)
HONOURED = int(CloneFlag.NEWNS | CloneFlag.NEWUTS)
REFUSED = int(CloneFlag.NEWIPC | CloneFlag.NEWPID | CloneFlag.NEWNET | CloneFlag.NEWUSER
              | CloneFlag.NEWCGROUP)
NEWNS, NEWUTS = int(CloneFlag.NEWNS), int(CloneFlag.NEWUTS)
UNSHARE_FLAGS = (HONOURED | REFUSED | CLONE_NEWTIME | CloneFlag.FS | CloneFlag.FILES
                 | CloneFlag.SYSVSEM | CloneFlag.THREAD | CloneFlag.SIGHAND | CloneFlag.VM)
# what the threads of a process share, which unshare cannot separate (sys_unshare)
THREAD_SHARED = (CloneFlag.THREAD | CloneFlag.SIGHAND | CloneFlag.VM | CloneFlag.FS
                 | CloneFlag.FILES | CloneFlag.NEWNS)
UMOUNT_FLAGS = UmountFlag.FORCE | UmountFlag.DETACH | UmountFlag.EXPIRE | UmountFlag.NOFOLLOW


def _string(t: Thread, addr: int, limit: int = PATH_MAX) -> bytes:
    """A string argument that may be NULL (b"")."""
    return user_string(t.process.aspace, addr, limit) if addr else b""


def sys_chroot(t: Thread, path: int, *_: int) -> int:
    """Implements Linux chroot(2): the VFS checks CAP_SYS_CHROOT after the lookup."""
    return call(t, vfs.Chroot(user_string(t.process.aspace, path, PATH_MAX)))


def _options(t: Thread, addr: int) -> bytes:
    """mount(2)'s data: up to a page, as Linux copies it (cut at its first NUL)."""
    if not addr:
        return b""
    try:
        return user_string(t.process.aspace, addr, PAGE)
    except KernelError as err:
        if err.errno != Errno.ENAMETOOLONG:
            raise
        return t.process.aspace.copy_in(addr, PAGE)[:PAGE - 1]


def sys_mount(t: Thread, source: int, target: int, fstype: int, flags: int,
              data: int, *_: int) -> int:
    """Implements Linux mount(2): the type, source and options are read first (EFAULT),
    then the VFS looks the target up and checks CAP_SYS_ADMIN."""
    kind, dev, options = _string(t, fstype), _string(t, source), _options(t, data)
    where = user_string(t.process.aspace, target, PATH_MAX)
    return call(t, vfs.Mount(dev, where, kind, flags & 0xFFFFFFFF, options))


def sys_umount2(t: Thread, target: int, flags: int, *_: int) -> int:
    """Implements Linux umount2(2)."""
    flags = s32(flags)
    if flags & ~UMOUNT_FLAGS or (flags & UmountFlag.EXPIRE
                                 and flags & (UmountFlag.FORCE | UmountFlag.DETACH)):
        raise KernelError(Errno.EINVAL, f"umount2 flags {flags:#x}")
    return call(t, vfs.Umount2(user_string(t.process.aspace, target, PATH_MAX), flags))


def sys_pivot_root(t: Thread, new_root: int, put_old: int, *_: int) -> int:
    """Implements Linux pivot_root(2)."""
    aspace = t.process.aspace
    return call(t, vfs.PivotRoot(user_string(aspace, new_root, PATH_MAX),
                                 user_string(aspace, put_old, PATH_MAX)))


def check_namespaces(t: Thread, flags: int) -> None:
    """The namespaces clone(2) or unshare(2) asks for: EINVAL for those CloudOS does
    not make, EPERM for the others without CAP_SYS_ADMIN."""
    if flags & REFUSED:
        raise KernelError(Errno.EINVAL, f"namespaces {flags & REFUSED:#x} are not supported")
    if flags & HONOURED and not linux(t.process).creds.capable(creds.CAP_SYS_ADMIN):
        raise KernelError(Errno.EPERM, "a new namespace needs CAP_SYS_ADMIN")


def enter_namespaces(process: Process, flags: int) -> None:
    """``process`` leaves the UTS and mount namespaces ``flags`` name for copies."""
    if flags & NEWUTS:
        state = linux(process)
        state.uts = replace(state.uts)
    if flags & NEWNS:
        notify(process.kernel, vfs.Unshare(process.pid))


def sys_setns(t: Thread, fd: int, nstype: int, *_: int) -> int:
    """Implements Linux setns(2) for namespace files (/proc/<pid>/ns/*; a pidfd is EINVAL:
    CloudOS has no pidfds): joins a mount or UTS namespace; the machine's one IPC, net,
    PID, cgroup and time namespace is the caller's already; the user namespace cannot be
    joined again (EINVAL), as on Linux."""
    def deliver(msg: Message) -> int:
        target = msg.body
        if not isinstance(target, vfs.NsTarget):
            return int(target)
        if target.flag == CloneFlag.NEWUSER:
            return -Errno.EINVAL
        if target.flag == CloneFlag.NEWUTS:
            owner = t.process.kernel.processes.get(target.pid)
            if owner is None:
                return -Errno.EINVAL  # (its last process is gone: so is the namespace here)
            linux(t.process).uts = linux(owner).uts
        return 0
    return call(t, vfs.Setns(s32(fd), s32(nstype)), deliver=deliver)


def sys_unshare(t: Thread, flags: int, *_: int) -> int:
    """Implements Linux unshare(2): UTS and mount namespaces are copied; CLONE_FS and
    CLONE_FILES have nothing to undo in a single-threaded process (no process shares
    its fd table or working directory with another). The threads of a process share
    both, and its mount namespace, in the VFS: EINVAL for CLONE_FS, CLONE_FILES and
    CLONE_NEWNS there (Linux refuses only the last), and for the thread flags (as Linux)."""
    flags = s32(flags) & 0xFFFFFFFF
    if flags & ~UNSHARE_FLAGS or flags & CLONE_NEWTIME:
        raise KernelError(Errno.EINVAL, f"unshare flags {flags:#x}")
    if flags & THREAD_SHARED and sum(th.state is not State.TERMINATED
                                     for th in t.process.threads) > 1:
        raise KernelError(Errno.EINVAL, "a thread of a multi-threaded process")
    check_namespaces(t, flags)
    enter_namespaces(t.process, flags & ~CloneFlag.NEWNS)
    if flags & CloneFlag.NEWNS:  # (the VFS's answer is the call's)
        return call(t, vfs.Unshare(t.process.pid))
    return 0
