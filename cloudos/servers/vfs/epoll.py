"""epoll: interest lists, waited on like poll.

Owns: creating an epoll instance, its interest list (epoll_ctl: add, modify,
delete; EPOLLEXCLUSIVE's rules; no loops of instances watching each other, no chain
of them deeper than Linux's), epoll_wait (the ready watches now; else the call
waits among the VFS's pollers, answered by ``once`` when something changes),
edge-triggered (EPOLLET) and one-shot (EPOLLONESHOT) reporting, and the poll
events of an epoll instance itself (readable when a watch is ready).
Never: decides a watched file's readiness (``Vfs.revents`` does, for every kind).
Called by: ``vfs.server`` (the epoll calls, waking pollers, poll of an epoll fd).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from cloudos.abi.vfs import EpollCreate1, EpollCtl, EpollWait
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import O_CLOEXEC, Interest, OpenFile

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLONESHOT, EPOLLET = 1 << 30, 1 << 31
# EPOLLEXCLUSIVE: a change of a file wakes one of the epoll instances waiting on it so
EPOLLEXCLUSIVE, EPOLLWAKEUP = 1 << 28, 1 << 29
EP_MAX_NESTS = 4  # Linux's: a chain of epoll instances, each watching the next, is at most 5
EXCLUSIVE_ALLOWED = 0x1 | 0x4 | 0x8 | 0x10 | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
EPOLL_EVENT = struct.Struct("<IQ")  # packed on x86_64
POLLIN, POLLERR, POLLHUP = 1, 8, 16


def create(r: EpollCreate1) -> tuple[OpenFile, bool]:
    """A new epoll instance, and whether its fd closes on exec."""
    if r.flags & ~O_CLOEXEC:
        raise KernelError(Errno.EINVAL, f"epoll_create1 flags {r.flags:#x}")
    return OpenFile("epoll", files.O_RDWR, interest={}), bool(r.flags & O_CLOEXEC)


def _interest(proc: Proc, epfd: int) -> dict[int, Interest]:
    file = proc.fds.get(epfd)
    if file.interest is None:
        raise KernelError(Errno.EINVAL, f"fd {epfd} is not an epoll instance")
    return file.interest


def _watched_instances(epoll: OpenFile) -> list[OpenFile]:
    """The epoll instances (still open) that ``epoll`` watches."""
    assert epoll.interest is not None
    return [item.file for item in epoll.interest.values()
            if item.file.kind == "epoll" and item.file.refs]


def _depth_below(epoll: OpenFile, inserting_into: OpenFile,
                 known: dict[int, int | None] | None = None) -> int | None:
    """How many levels of epoll instances ``epoll`` watches below itself; None when
    ``inserting_into`` is among them (watching ``epoll`` would make a loop). ``known``:
    the instances measured so far (each once, however many watch it)."""
    known = {} if known is None else known
    if id(epoll) in known:
        return known[id(epoll)]
    deepest = 0
    for inner in _watched_instances(epoll):
        below = None if inner is inserting_into else _depth_below(inner, inserting_into, known)
        if below is None:
            known[id(epoll)] = None
            return None
        deepest = max(deepest, below + 1)
    known[id(epoll)] = deepest
    return deepest


def _depth_above(vfs: Vfs, epoll: OpenFile) -> int:
    """How many levels of epoll instances watch ``epoll`` (any process's open ones)."""
    watchers: dict[int, list[OpenFile]] = {}
    instances = {id(entry.file): entry.file for proc in vfs.state.procs.values()
                 for entry in proc.fds.entries.values() if entry.file.kind == "epoll"}
    for outer in instances.values():
        for inner in _watched_instances(outer):
            watchers.setdefault(id(inner), []).append(outer)
    known: dict[int, int] = {}

    def above(inner: OpenFile) -> int:
        if id(inner) not in known:
            known[id(inner)] = max((above(outer) + 1 for outer in watchers.get(id(inner), ())),
                                   default=0)
        return known[id(inner)]
    return above(epoll)


def _check_nesting(vfs: Vfs, epoll: OpenFile, target: OpenFile) -> None:
    """Linux's ep_loop_check, for an epoll instance added to another: ELOOP when it
    would watch itself through others, or make a chain longer than EP_MAX_NESTS + 1."""
    below = _depth_below(target, epoll)
    if below is None or below + 1 + _depth_above(vfs, epoll) > EP_MAX_NESTS:
        raise KernelError(Errno.ELOOP, "epoll instances in a loop or nested too deep")


def ctl(vfs: Vfs, request: Request, r: EpollCtl) -> int:
    """Implements Linux epoll_ctl(2)."""
    proc = vfs.proc(request)
    interest = _interest(proc, r.epfd)
    epoll, target = proc.fds.get(r.epfd), proc.fds.get(r.fd)
    if target is epoll or r.op not in (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        raise KernelError(Errno.EINVAL, f"epoll_ctl op {r.op} on fd {r.fd}")
    if target.kind == "node":
        raise KernelError(Errno.EPERM, "files and directories are always ready")
    if r.events & EPOLLEXCLUSIVE and (r.op != EPOLL_CTL_ADD or target.kind == "epoll"
                                      or r.events & ~EXCLUSIVE_ALLOWED):
        raise KernelError(Errno.EINVAL, "EPOLLEXCLUSIVE: with EPOLL_CTL_ADD only")
    if r.op == EPOLL_CTL_MOD and r.fd in interest and interest[r.fd].events & EPOLLEXCLUSIVE:
        raise KernelError(Errno.EINVAL, "an EPOLLEXCLUSIVE watch is not modified")
    if r.op == EPOLL_CTL_ADD:
        if r.fd in interest and interest[r.fd].file is target:
            raise KernelError(Errno.EEXIST, f"fd {r.fd} is already watched")
        if target.kind == "epoll":
            _check_nesting(vfs, epoll, target)
        interest[r.fd] = Interest(target, r.events, r.data)
    elif r.fd not in interest or interest[r.fd].file is not target:
        raise KernelError(Errno.ENOENT, f"fd {r.fd} is not watched")
    elif r.op == EPOLL_CTL_DEL:
        del interest[r.fd]
    else:
        interest[r.fd] = Interest(target, r.events, r.data)
    vfs.wake_pollers()
    return 0


def wait(vfs: Vfs, request: Request, r: EpollWait) -> int | None:
    """Implements Linux epoll_wait(2): the ready count now, or None (it waits)."""
    proc = vfs.proc(request)
    epoll = proc.fds.get(r.epfd)
    _interest(proc, r.epfd)
    ready = once(vfs, request, proc, epoll, r.maxevents)
    if ready or r.timeout_ms == 0:
        return ready
    vfs.state.pollers.append((request, [], proc, (epoll, r.maxevents)))
    return None


def _ready(vfs: Vfs, proc: Proc, epoll: OpenFile) -> list[tuple[Interest, int]]:
    """The watched fds with events to report now (closed ones are dropped, as Linux
    drops a file from every epoll set when its last fd closes)."""
    assert epoll.interest is not None
    live = []
    for fd, item in list(epoll.interest.items()):
        entry = proc.fds.entries.get(fd)
        if entry is None or entry.file is not item.file:
            if item.file.refs == 0:
                del epoll.interest[fd]
            continue
        if not item.fired:
            live.append((item, _watched(vfs, proc, fd, item)))
    # (every file's events first: an internet socket's may not be known yet, netsock,
    # and the call then runs again once they are: nothing may have changed before)
    out = []
    for item, revents in live:
        if item.events & EPOLLET:  # report a change, not a level
            fresh, item.seen = revents & ~item.seen, revents
            revents = revents if fresh else 0
        if revents:
            out.append((item, revents))
    return out


def _watched(vfs: Vfs, proc: Proc, fd: int, item: Interest) -> int:
    """The events a watched fd has now, of those asked for (errors and hang-ups always)."""
    wanted = (item.events | POLLERR | POLLHUP) & ~(EPOLLET | EPOLLONESHOT)
    return vfs.revents(proc, fd, wanted) & wanted


def once(vfs: Vfs, request: Request, proc: Proc, epoll: OpenFile, maxevents: int,
         claimed: set[int] | None = None) -> int:
    """Report the ready watches to the caller's events buffer (its grant): how many.
    ``claimed``: a waiter's wake-up, in one round of them, which skips the EPOLLEXCLUSIVE
    watches of files that have woken another instance in the round (and adds its own),
    so that one change of a file wakes one of the instances watching it exclusively."""
    ready = _ready(vfs, proc, epoll)
    if claimed is not None:
        ready = [(item, revents) for item, revents in ready
                 if not item.events & EPOLLEXCLUSIVE or id(item.file) not in claimed]
    ready = ready[:maxevents]
    if claimed is not None:
        claimed.update(id(item.file) for item, _ in ready if item.events & EPOLLEXCLUSIVE)
    if not ready:
        return 0
    for item, _ in ready:
        item.fired = bool(item.events & EPOLLONESHOT)
    vfs.api.copy_out(request.grants[0], 0,
                     b"".join(EPOLL_EVENT.pack(revents, item.data) for item, revents in ready))
    return len(ready)


class Epoll(FileOps):
    """The epoll kind of open file: not read or written; readable when a watch is ready."""

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        assert file.interest is not None
        return POLLIN & events if any(_watched(vfs, proc, f, i) for f, i in
                                      file.interest.items() if f != fd and not i.fired) else 0
