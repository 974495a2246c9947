"""eventfd: a 64-bit counter read and written 8 bytes at a time.

Owns: creating an eventfd (eventfd2's flags), its reads (the whole count, or 1 in
semaphore mode; a read of a zero counter waits, a deferred reply) and writes (an
add; a write that would pass EVENTFD_MAX waits), waking the waiters in turn as the
counter moves, and its poll events.
Never: touches guest memory except through a request's grants.
Called by: ``vfs.server`` (eventfd2, and every read, write and poll of an eventfd).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from cloudos.abi.vfs import Eventfd2
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import (EVENTFD_MAX, O_CLOEXEC, O_NONBLOCK, EventCounter,
                                       OpenFile)

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

EFD_SEMAPHORE, EVENTFD_SIZE = 1, 8
POLLIN, POLLOUT = 1, 4


def create(r: Eventfd2) -> tuple[OpenFile, bool]:
    """A new eventfd, and whether its fd closes on exec."""
    if r.flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE):
        raise KernelError(Errno.EINVAL, f"eventfd2 flags {r.flags:#x}")
    counter = EventCounter(r.initval, bool(r.flags & EFD_SEMAPHORE))
    file = OpenFile("eventfd", files.O_RDWR | r.flags & O_NONBLOCK, counter=counter)
    return file, bool(r.flags & O_CLOEXEC)


class EventFd(FileOps):
    """The eventfd kind of open file."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
             grant: Any) -> int | None:
        counter = file.counter
        assert counter is not None
        if count < EVENTFD_SIZE:
            raise KernelError(Errno.EINVAL, "an eventfd is read 8 bytes at a time")
        if counter.value == 0:
            if file.flags & O_NONBLOCK:
                raise KernelError(Errno.EAGAIN, "eventfd counter is zero")
            counter.blocked_readers.append((request, grant))
            return None
        vfs.api.copy_out(grant, 0, struct.pack("<Q", _take(counter)))
        _changed(vfs, counter)
        return EVENTFD_SIZE

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        """The first buffer takes the 8 bytes."""
        return vfs.read_file(request, self, file, lengths[0] if lengths else 0,
                             grants[0] if lengths else None)

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        counter = file.counter
        assert counter is not None
        if len(data) < EVENTFD_SIZE:
            raise KernelError(Errno.EINVAL, "an eventfd is written 8 bytes at a time")
        (amount,) = struct.unpack_from("<Q", data)
        if amount > EVENTFD_MAX:
            raise KernelError(Errno.EINVAL, "0xffffffffffffffff cannot be added")
        if counter.value + amount > EVENTFD_MAX:
            if file.flags & O_NONBLOCK:
                raise KernelError(Errno.EAGAIN, "eventfd counter would overflow")
            counter.blocked_writers.append((request, amount))
            return None
        counter.value += amount
        _changed(vfs, counter)
        return EVENTFD_SIZE

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        counter = file.counter
        assert counter is not None
        return ((POLLIN if counter.value else 0)
                | (POLLOUT if counter.value < EVENTFD_MAX else 0)) & events


def _take(counter: EventCounter) -> int:
    """What a read returns: the whole count, or 1 for a semaphore."""
    taken = 1 if counter.semaphore else counter.value
    counter.value -= taken
    return taken


def _changed(vfs: Vfs, counter: EventCounter) -> None:
    """The counter moved: answer the waiting readers and writers that can go on, in turn."""
    progress = True
    while progress:
        progress = False
        while counter.blocked_readers and counter.value:
            request, grant = counter.blocked_readers.popleft()
            if not vfs.api.waiting(request):
                continue  # interrupted (EINTR): it must not take the count
            taken = _take(counter)
            try:
                vfs.api.copy_out(grant, 0, struct.pack("<Q", taken))
                vfs.answer(request, EVENTFD_SIZE)
            except KernelError as err:
                counter.value += taken
                vfs.answer(request, -err.errno)
            progress = True
        while counter.blocked_writers and \
                counter.value + counter.blocked_writers[0][1] <= EVENTFD_MAX:
            request, amount = counter.blocked_writers.popleft()
            if vfs.api.waiting(request):
                counter.value += amount
                vfs.answer(request, EVENTFD_SIZE)
                progress = True
    vfs.wake_pollers()
