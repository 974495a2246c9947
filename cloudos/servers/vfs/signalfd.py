"""signalfd: a file that reads the caller's pending signals.

Owns: creating a signalfd or changing its mask (signalfd4), what the personality
tells of each process's pending signals (the SignalsPending notification: the
personality owns signals, the VFS only hears which are pending), its reads (a
``SignalsReady`` answer: the personality then takes the signals and writes the
records; a read of none waits, a deferred reply) and poll events.
Never: takes signals itself, or touches guest memory.
Called by: ``vfs.server``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudos.abi.vfs import SignalsPending, SignalsReady, Signalfd4
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import O_CLOEXEC, O_NONBLOCK, OpenFile

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

SFD_NONBLOCK, SFD_CLOEXEC, SIGNALFD_SIZE = O_NONBLOCK, O_CLOEXEC, 128
POLLIN = 1


def signalfd4(vfs: Vfs, request: Request, r: Signalfd4) -> int:
    """A new signalfd for the signals of ``mask``, or a new mask for signalfd ``fd``."""
    if r.flags & ~(SFD_NONBLOCK | SFD_CLOEXEC):
        raise KernelError(Errno.EINVAL, f"signalfd flags {r.flags:#x}")
    proc = vfs.proc(request)
    if r.fd != -1:
        file = proc.fds.get(r.fd)
        if file.kind != "signalfd":
            raise KernelError(Errno.EINVAL, f"fd {r.fd} is not a signalfd")
        file.sigmask = r.mask
        vfs.wake_pollers()
        return r.fd
    file = OpenFile("signalfd", files.O_RDWR | r.flags & O_NONBLOCK, sigmask=r.mask)
    return proc.fds.install(file, bool(r.flags & O_CLOEXEC))


def pending(vfs: Vfs, r: SignalsPending) -> None:
    """The personality's word on ``pid``'s pending signals: waiting reads and polls go on."""
    state = vfs.state
    state.signals_pending[r.pid] = r.pending
    readers, state.signal_readers = state.signal_readers, []
    for reader, file in readers:
        if not vfs.api.waiting(reader):
            continue
        if state.signals_pending.get(reader.sender, 0) & file.sigmask:
            vfs.api.reply(reader, SignalsReady(file.sigmask))
        else:
            state.signal_readers.append((reader, file))
    vfs.wake_pollers()


class SignalFd(FileOps):
    """The signalfd kind of open file."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
             grant: Any) -> SignalsReady | None:
        """The personality takes the signals (it owns them); the VFS says which, or waits
        until one is pending."""
        if count < SIGNALFD_SIZE:
            raise KernelError(Errno.EINVAL, "a signalfd is read 128 bytes at a time")
        if vfs.state.signals_pending.get(request.sender, 0) & file.sigmask:
            return SignalsReady(file.sigmask)
        if file.flags & O_NONBLOCK:
            raise KernelError(Errno.EAGAIN, "no signal of the set is pending")
        vfs.state.signal_readers.append((request, file))
        return None

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        raise KernelError(Errno.EINVAL, "read a signalfd with read(2)")

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        return POLLIN & events if vfs.state.signals_pending.get(proc.pid, 0) \
            & file.sigmask else 0
