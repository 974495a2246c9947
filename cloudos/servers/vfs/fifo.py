"""FIFOs (named pipes): the pipe a FIFO inode owns while it has openers.

Owns: opening a FIFO (by its name or its /proc fd link) as Linux's fifo_open does:
O_RDONLY waits for a writer and O_WRONLY for a reader, as deferred replies;
O_RDONLY|O_NONBLOCK opens at once; O_WRONLY|O_NONBLOCK without a reader is ENXIO; O_RDWR
never waits. Also the fifo kind of open file: a pipe end with a file system node behind
it (the node's stat and path, the pipe's data). The buffer, reads, writes, wake-ups and
the reopening of an anonymous pipe are ``pipe``'s. Blocked openers count as readers or
writers, as on Linux; one a signal took back is dropped (and uncounted) the next time the
FIFO is looked at.
Never: resolves paths (``server`` does) or touches guest memory.
Called by: ``vfs.server`` (openat of a FIFO node, and every operation on a fifo end).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from cloudos.abi.dataclass import dataclass, field
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files, notify, pipe
from cloudos.servers.vfs.files import O_ACCMODE, O_NONBLOCK, OpenFile, Pipe
from cloudos.servers.vfs.fs import Attr
from cloudos.servers.vfs.paths import Walk, path_of

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

@dataclass(eq=False)
class Fifo:
    """The pipe of a FIFO inode while it has openers, and the opens waiting for a partner:
    (request, proc, file, cloexec, the counter it waits to see change, its value then)."""

    pipe: Pipe
    openers: list[tuple[Request, Proc, OpenFile, bool, str, int]] = field(default_factory=list)


def open_fifo(vfs: Vfs, request: Request, proc: Proc, key: tuple[int, int], walk: Walk,
              status: int, cloexec: bool) -> int | None:
    """Open the FIFO ``key`` (st_dev, st_ino) found at ``walk``: the new fd, or None (the
    open waits for a partner and is answered when one comes)."""
    proc.fds.check_free(1)
    fifo = vfs.state.fifos.get(key)
    if fifo is None:
        fifo = vfs.state.fifos[key] = Fifo(Pipe(r_counter=0, w_counter=0, slots=deque()))
    _prune(vfs, key, fifo)
    p = fifo.pipe
    mode = status & O_ACCMODE
    if mode == files.O_WRONLY and status & O_NONBLOCK and not p.readers:
        _forget_if_unused(vfs, key, fifo)
        raise KernelError(Errno.ENXIO, "no reader has the FIFO open")
    file = OpenFile("fifo", status, walk, pipe=p)
    file.fifo_key = key
    wait: tuple[str, int] | None = None
    if mode == files.O_RDONLY:
        p.r_counter += 1
        p.readers += 1
        if not p.writers:
            if status & O_NONBLOCK:
                file.version = p.w_counter  # no POLLHUP until a writer has come
            else:
                wait = ("w", p.w_counter)
    elif mode == files.O_WRONLY:
        p.w_counter += 1
        p.writers += 1
        if not p.readers:
            wait = ("r", p.r_counter)
    else:  # O_RDWR never waits: the opener can talk to itself
        p.r_counter += 1
        p.w_counter += 1
        p.readers += 1
        p.writers += 1
    _wake_openers(vfs, fifo)
    pipe.changed(vfs, p)
    if wait is not None:
        fifo.openers.append((request, proc, file, cloexec, *wait))
        return None
    return proc.fds.install(file, cloexec)


def _prune(vfs: Vfs, key: tuple[int, int], fifo: Fifo) -> None:
    """Drop the waiting opens whose callers a signal (or their death) took back."""
    p = fifo.pipe
    for opener in list(fifo.openers):
        if not vfs.api.waiting(opener[0]):
            fifo.openers.remove(opener)
            _uncount(p, opener[2])


def _uncount(p: Pipe, file: OpenFile) -> None:
    if file.readable():
        p.readers -= 1
    if file.writable():
        p.writers -= 1


def _wake_openers(vfs: Vfs, fifo: Fifo) -> None:
    """Answer the waiting opens whose partner has come (the counter they wait on moved)."""
    p = fifo.pipe
    for opener in list(fifo.openers):
        request, proc, file, cloexec, counter, seen = opener
        if (p.w_counter if counter == "w" else p.r_counter) == seen:
            continue
        fifo.openers.remove(opener)
        if not vfs.api.waiting(request):
            _uncount(p, file)
            continue
        try:
            fd = proc.fds.install(file, cloexec)
        except KernelError as err:
            _uncount(p, file)
            vfs.answer(request, -err.errno)
            continue
        vfs.answer(request, fd)


def _forget_if_unused(vfs: Vfs, key: tuple[int, int], fifo: Fifo) -> None:
    """A FIFO with no opener left gives its pipe up: unread data is gone, as on Linux."""
    if not fifo.pipe.readers and not fifo.pipe.writers and not fifo.openers:
        if vfs.state.fifos.get(key) is fifo:
            del vfs.state.fifos[key]


class FifoEnd(pipe.PipeEnd):
    """The fifo kind of open file: a pipe end opened through a FIFO node."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> Any:
        """A pipe end's read; one that moved bytes is an ACCESS for the FIFO's own watches
        (not its directory's, as on Linux 6.x; a read that waits makes none)."""
        got = super().read(vfs, request, file, count, grant)
        if type(got) is int and got > 0 and vfs.state.notify.marks:
            notify.self_event(vfs, file.node, notify.ACCESS)
        return got

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        """A pipe end's write; a MODIFY as a read's ACCESS."""
        done = super().write(vfs, request, file, data)
        if type(done) is int and done > 0 and vfs.state.notify.marks:
            notify.self_event(vfs, file.node, notify.MODIFY)
        return done

    def stat(self, file: OpenFile) -> Attr:
        return file.fs.getattr(file.node)

    def path(self, file: OpenFile) -> bytes:
        assert file.walk is not None
        return path_of(file.walk)

    def reopen(self, vfs: Vfs, request: Request, proc: Proc, file: OpenFile, status: int,
               cloexec: bool) -> int | None:
        """/proc/<pid>/fd/N of a FIFO end: the FIFO opened again, as by its name."""
        assert file.walk is not None
        return open_fifo(vfs, request, proc, file.fifo_key, file.walk, status, cloexec)

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        super().release(vfs, file)
        fifo = vfs.state.fifos.get(file.fifo_key)
        if fifo is not None and fifo.pipe is file.pipe:
            _prune(vfs, file.fifo_key, fifo)
            _forget_if_unused(vfs, file.fifo_key, fifo)

