"""pidfds: a file that names a process (pidfd_open(2), clone's CLONE_PIDFD).

Owns: making a pidfd (its ``PidRef``, one per process, shared by all its pidfds and
marked exited when the VFS hears of the process's end), its poll events (readable
once the process has exited, as Linux's pidfd_poll), what a pidfd names for the
personality (``target``: pidfd_send_signal, waitid's P_PIDFD) and pidfd_getfd(2),
which copies an fd of the named process into the caller's table.
Never: signals or waits for processes (the personality does, with the pid this
module answers); touches guest memory.
Called by: ``vfs.server`` (the pidfd requests, every poll of a pidfd, a process's exit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudos.abi.vfs import PidfdGetfd, PidfdOpen, PidfdTarget, PidTarget
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import O_NONBLOCK, OpenFile, PidRef
from cloudos.servers.vfs.procfs import ProcFs

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

POLLIN, POLLRDNORM = 0x1, 0x40
CAP_SYS_PTRACE = 19


class Pidfd(FileOps):
    """The pidfd kind of open file: not read or written; readable once its process ended."""

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        assert file.process is not None
        return (POLLIN | POLLRDNORM) & events if file.process.exited else 0

    def fdinfo(self, file: OpenFile) -> bytes:
        """Its process's pid, as Linux's pidfd_show_fdinfo (one pid namespace here)."""
        assert file.process is not None
        return b"Pid:\t%d\nNSpid:\t%d\n" % (file.process.pid, file.process.pid)


def pidfd_open(vfs: Vfs, request: Request, r: PidfdOpen) -> int:
    """A new pidfd for ``r.pid`` (always close-on-exec, as Linux's); the personality
    checked the process and the flags."""
    proc = vfs.proc(request)
    ref = PidRef(r.pid, True) if r.exited else vfs.state.pids.setdefault(r.pid, PidRef(r.pid))
    file = OpenFile("pidfd", files.O_RDWR | r.flags & O_NONBLOCK, process=ref)
    return proc.fds.install(file, cloexec=True)


def exited(vfs: Vfs, pid: int) -> None:
    """Process ``pid`` ended: its pidfds become readable, and the pid names it no more."""
    ref = vfs.state.pids.pop(pid, None)
    if ref is not None:
        ref.exited = True
        vfs.wake_pollers()


def _ref(vfs: Vfs, request: Request, fd: int) -> PidRef:
    """The process pidfd ``fd`` names; EBADF for an fd that is not a pidfd, as Linux."""
    file = vfs.proc(request).fds.get(fd)
    if file.process is None:
        raise KernelError(Errno.EBADF, f"fd {fd} is not a pidfd")
    return file.process


def target(vfs: Vfs, request: Request, r: PidfdTarget) -> PidTarget:
    """The pid a pidfd names, whether that process has exited, whether it is nonblocking."""
    file = vfs.proc(request).fds.get(r.fd)
    step = file.walk[-1] if file.walk and r.proc_dir and file.process is None else None
    pid = step.fs.process_dir(step.node) if step and isinstance(step.fs, ProcFs) else 0
    if pid:  # (ended: a zombie's signal is dropped, a reaped process's ESRCH)
        ref = vfs.state.pids.setdefault(pid, PidRef(pid)) if pid in vfs.state.procs \
            else PidRef(pid, True)
    else:
        ref = _ref(vfs, request, r.fd)
    return PidTarget(ref.pid, ref.exited, bool(file.flags & O_NONBLOCK))


def pidfd_getfd(vfs: Vfs, request: Request, r: PidfdGetfd) -> int:
    """pidfd_getfd(2): the file behind fd ``r.fd`` of the pidfd's process, at the caller's
    lowest free fd, close-on-exec. Permission is Linux's PTRACE_MODE_ATTACH_REALCREDS
    reduced to its ids: the same real uid and gid, or CAP_SYS_PTRACE."""
    if r.flags:
        raise KernelError(Errno.EINVAL, f"pidfd_getfd flags {r.flags:#x}")
    proc = vfs.proc(request)
    ref = _ref(vfs, request, r.pidfd)
    owner = vfs.state.procs.get(ref.pid)
    if ref.exited or owner is None:
        raise KernelError(Errno.ESRCH, f"process {ref.pid} has exited")
    me, them = proc.who, owner.who
    if owner is not proc and (me.uid, me.gid) != (them.uid, them.gid) \
            and not me.capable(CAP_SYS_PTRACE):
        raise KernelError(Errno.EPERM, f"may not take the files of process {ref.pid}")
    file = owner.fds.get(r.fd)
    fd = proc.fds.install(file, cloexec=True)
    file.refs += 1
    return fd

