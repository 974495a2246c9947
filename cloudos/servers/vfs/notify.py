"""notify: the events of the VFS's changes (Linux's fsnotify), and the inotify and dnotify
that take them.

Owns: the marks on nodes (``Notify.marks``: an inotify watch or a dnotify registration on
a file or directory), the events each change raises, delivered as Linux's fsnotify does
(an event of a file goes to the marks of its directory, with its name, then to its own,
without), the inotify kind of open file (``Inotify``: a queue of ``struct inotify_event``
records read whole, coalesced with the last one queued, IN_Q_OVERFLOW past
fs/inotify/max_queued_events; a read of an empty queue waits, a deferred reply; poll,
FIONREAD), inotify_init1, inotify_add_watch and inotify_rm_watch, and F_NOTIFY's marks,
which signal the directory fd's owner.
Never: changes a file or resolves a path (``server`` does both, and tells this module
what changed); costs anything while no mark exists (``Notify.marks`` empty: every
entry point returns at once, and ``pipe.Local`` serves pipes without the port).
Called by: ``vfs.server`` (each change: open, close, reads and writes through
``regular``, attributes, names), ``fifo`` (a FIFO's reads and writes), ``pipe.Local``
(whether any mark exists).
"""

from __future__ import annotations

import itertools
import stat
import struct
from collections import deque
from typing import TYPE_CHECKING, Any, Iterator

from cloudos.abi.dataclass import dataclass, field
from cloudos.abi.flags import DnotifyMask, InotifyMask, OwnerType
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import O_CLOEXEC, O_NONBLOCK, OpenFile
from cloudos.servers.vfs.fs import Node
from cloudos.servers.vfs.paths import Walk

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

IN = InotifyMask
ACCESS, MODIFY, ATTRIB = int(IN.ACCESS), int(IN.MODIFY), int(IN.ATTRIB)
CLOSE_WRITE, CLOSE_NOWRITE, OPEN = int(IN.CLOSE_WRITE), int(IN.CLOSE_NOWRITE), int(IN.OPEN)
MOVED_FROM, MOVED_TO, CREATE, DELETE = (int(IN.MOVED_FROM), int(IN.MOVED_TO), int(IN.CREATE),
                                        int(IN.DELETE))
DELETE_SELF, MOVE_SELF, ALL_EVENTS = int(IN.DELETE_SELF), int(IN.MOVE_SELF), int(IN.ALL_EVENTS)
Q_OVERFLOW, IGNORED, ISDIR = int(IN.Q_OVERFLOW), int(IN.IGNORED), int(IN.ISDIR)
UNMOUNT = int(IN.UNMOUNT)
ONLYDIR, DONT_FOLLOW, EXCL_UNLINK = int(IN.ONLYDIR), int(IN.DONT_FOLLOW), int(IN.EXCL_UNLINK)
MASK_CREATE, MASK_ADD, ONESHOT = int(IN.MASK_CREATE), int(IN.MASK_ADD), int(IN.ONESHOT)
# every bit inotify_add_watch knows (Linux's ALL_INOTIFY_BITS): a mask with none is EINVAL
ALL_INOTIFY_BITS = ALL_EVENTS | int(IN.UNMOUNT | IN.Q_OVERFLOW | IN.IGNORED | IN.ONLYDIR
                                    | IN.DONT_FOLLOW | IN.EXCL_UNLINK | IN.MASK_CREATE
                                    | IN.MASK_ADD | IN.ISDIR | IN.ONESHOT)
EVENT = struct.Struct("<iIII")  # struct inotify_event: wd, mask, cookie, len (then name)
IN_CLOEXEC, IN_NONBLOCK = O_CLOEXEC, O_NONBLOCK
POLLIN, POLLRDNORM = 0x1, 0x40
# A rename, once, in its source directory (Linux's FS_RENAME): only dnotify hears of it
RENAME = 0x1000_0000
# dnotify's events as fsnotify's (Linux's convert_arg): a name moved away is a deletion, one
# moved in a creation
DN = DnotifyMask
DN_EVENTS = {int(DN.ACCESS): ACCESS, int(DN.MODIFY): MODIFY, int(DN.CREATE): CREATE | MOVED_TO,
             int(DN.DELETE): DELETE | MOVED_FROM, int(DN.RENAME): RENAME,
             int(DN.ATTRIB): ATTRIB}
DN_MULTISHOT = int(DN.MULTISHOT)
OWNER_PID = int(OwnerType.PID)


@dataclass(eq=False)
class Watch:
    """One inotify watch: its instance, its number there, the node and the mask asked."""

    group: Group
    wd: int
    node: Node
    mask: int


@dataclass(eq=False)
class DirMark:
    """One F_NOTIFY registration: the directory's open file (whose owner F_NOTIFY set and
    whose F_SETSIG signal is sent), the fd it was made through, the events asked, and
    whether it stays after the first (DN_MULTISHOT)."""

    file: OpenFile
    fd: int
    pid: int
    mask: int
    multishot: bool
    node: Node


@dataclass(eq=False)
class Group:
    """An inotify instance: its queue of events (wd, mask, cookie, name) and their bytes,
    its watches by wd and by node, and the reads waiting for an event."""

    uid: int
    queue: deque[tuple[int, int, int, bytes]] = field(default_factory=deque)
    size: int = 0
    overflowed: bool = False  # an IN_Q_OVERFLOW is queued (one at a time)
    watches: dict[int, Watch] = field(default_factory=dict)
    by_node: dict[Node, Watch] = field(default_factory=dict)
    next_wd: int = 1
    readers: deque[tuple[Any, Any, int]] = field(default_factory=deque)


@dataclass(eq=False)
class Notify:
    """The machine's marks by node (a node with none has no entry: ``marks`` is empty
    while nothing is watched), the next move's cookie, and each user's instances and
    watches (fs/inotify/max_user_instances, max_user_watches)."""

    marks: dict[Node, list[Watch | DirMark]] = field(default_factory=dict)
    cookies: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    instances: dict[int, int] = field(default_factory=dict)
    watches: dict[int, int] = field(default_factory=dict)


def event_size(name: bytes) -> int:
    """A record's bytes: the name NUL-padded so the next record is aligned (Linux's
    round_event_name_len: a multiple of the struct's 16 bytes)."""
    return EVENT.size + (-(-(len(name) + 1) // EVENT.size) * EVENT.size if name else 0)


# -- the events (what the VFS calls) -----------------------------------------------------
def _isdir(node: Node, fs: Any) -> int:
    """IN_ISDIR if ``node`` is a directory."""
    try:
        return ISDIR if stat.S_ISDIR(fs.getattr(node).mode) else 0
    except KernelError:
        return 0


def _parent(walk: Walk) -> Node | None:
    """The directory a walk's file is in, if its events go there (not across a mount)."""
    if len(walk) < 2 or walk[-2].fs is not walk[-1].fs:
        return None
    return walk[-2].node


def file_event(vfs: Vfs, walk: Walk | None, mask: int) -> None:
    """``mask`` happened to the file ``walk`` ends on: its directory's marks hear of it with
    its name, then its own without (ACCESS, MODIFY, ATTRIB, OPEN, CLOSE_*)."""
    marks = vfs.state.notify.marks
    if not marks or walk is None:
        return
    step = walk[-1]
    parent = _parent(walk)
    if step.node not in marks and (parent is None or parent not in marks):
        return
    mask |= _isdir(step.node, step.fs)
    if parent is not None and parent in marks:
        excluded = any(mark.mask & EXCL_UNLINK for mark in marks[parent]) and _unlinked(walk)
        _deliver(vfs, parent, mask, step.name, 0, excluded)
    if step.node in marks:
        _deliver(vfs, step.node, mask, b"", 0)


def dir_event(vfs: Vfs, dir: Node, mask: int, name: bytes, cookie: int = 0) -> None:
    """A name in directory ``dir`` changed (CREATE, DELETE, MOVED_FROM, MOVED_TO)."""
    if dir in vfs.state.notify.marks:
        _deliver(vfs, dir, mask, name, cookie)


def self_event(vfs: Vfs, node: Node, mask: int, fs: Any = None) -> None:
    """``mask`` happened to ``node`` alone (a link count's ATTRIB, MOVE_SELF): its own
    marks hear of it, not its directory's."""
    if node in vfs.state.notify.marks:
        _deliver(vfs, node, mask | (_isdir(node, fs) if fs is not None else 0), b"", 0)


def gone(vfs: Vfs, node: Node) -> None:
    """``node`` has no name and no opener left: DELETE_SELF, and its watches end."""
    marks = vfs.state.notify.marks
    if node not in marks:
        return
    _deliver(vfs, node, DELETE_SELF, b"", 0)
    for mark in list(marks.get(node, ())):
        _remove(vfs, mark)


def unmounted(vfs: Vfs, fs: Any) -> None:
    """File system ``fs`` is mounted nowhere any more: each watched node of it hears
    IN_UNMOUNT, and its watches end (Linux's fsnotify_unmount_inodes)."""
    marks = vfs.state.notify.marks
    for node in [node for node in marks if node.fs is fs]:
        _deliver(vfs, node, UNMOUNT, b"", 0)
        for mark in list(marks.get(node, ())):
            _remove(vfs, mark)


def next_cookie(vfs: Vfs) -> int:
    return next(vfs.state.notify.cookies) & 0xFFFF_FFFF or 1


def _unlinked(walk: Walk) -> bool:
    """Whether the file a walk ends on has lost its name (IN_EXCL_UNLINK's case)."""
    step = walk[-1]
    try:
        return walk[-2].fs.lookup(walk[-2].node, step.name) is not step.node
    except KernelError:
        return True


def _deliver(vfs: Vfs, node: Node, mask: int, name: bytes, cookie: int,
             excluded: bool = False) -> None:
    """The event to every mark on ``node`` that asked for it (IN_IGNORED: to each)."""
    for mark in list(vfs.state.notify.marks.get(node, ())):
        asked = mark.mask & mask & (ALL_EVENTS | RENAME)
        if isinstance(mark, DirMark):
            if asked:
                _signal(vfs, mark)
            continue
        if not asked and not mask & (IGNORED | UNMOUNT):  # (those two come unasked)
            continue
        if excluded and mark.mask & EXCL_UNLINK:
            continue
        _queue(vfs, mark.group, mark.wd, mask, cookie, name)
        if mark.mask & ONESHOT:
            _remove(vfs, mark)


def _queue(vfs: Vfs, group: Group, wd: int, mask: int, cookie: int, name: bytes) -> None:
    """Queue an event, unless it is the one queued last (Linux merges those), or the queue
    is full (one IN_Q_OVERFLOW then, and nothing more until it is read)."""
    queue = group.queue
    record = (wd, mask, cookie, name)
    if queue and queue[-1] == record:
        return
    if len(queue) >= vfs.state.sysctl.number("fs/inotify/max_queued_events"):
        if group.overflowed:
            return
        group.overflowed = True
        record = (-1, Q_OVERFLOW, 0, b"")
    queue.append(record)
    group.size += event_size(record[3])
    _answer_readers(vfs, group)
    vfs.wake_pollers()


def _remove(vfs: Vfs, mark: Watch | DirMark) -> None:
    """A mark ends: an inotify watch's instance hears IN_IGNORED."""
    marks = vfs.state.notify.marks
    on_node = marks.get(mark.node)
    if on_node is None or mark not in on_node:
        return
    on_node.remove(mark)
    if not on_node:
        del marks[mark.node]
    if isinstance(mark, Watch):
        group = mark.group
        del group.watches[mark.wd]
        del group.by_node[mark.node]
        counts = vfs.state.notify.watches
        counts[group.uid] = counts.get(group.uid, 1) - 1
        _queue(vfs, group, mark.wd, IGNORED, 0, b"")


def _signal(vfs: Vfs, mark: DirMark) -> None:
    """A dnotify mark's event: its signal to the directory fd's owner, and a one-shot
    mark ends."""
    if not mark.multishot:
        _remove(vfs, mark)
    kind, who = mark.file.owner
    if who:
        vfs.state.send_poll_signal(kind, who, mark.file.signum, mark.fd)


# -- inotify's calls -------------------------------------------------------------------
def inotify_init1(vfs: Vfs, request: Request, r: Any) -> int:
    """inotify_init1(2): a new instance (EMFILE past the user's max_user_instances)."""
    if r.flags & ~(IN_CLOEXEC | IN_NONBLOCK):
        raise KernelError(Errno.EINVAL, f"inotify_init1 flags {r.flags:#x}")
    proc = vfs.proc(request)
    uid = proc.who.fsuid  # (Linux counts by the effective uid)
    notify = vfs.state.notify
    if notify.instances.get(uid, 0) >= vfs.state.sysctl.number("fs/inotify/max_user_instances"):
        raise KernelError(Errno.EMFILE, "fs.inotify.max_user_instances")
    file = OpenFile("inotify", files.O_RDONLY | r.flags & IN_NONBLOCK, inotify=Group(uid))
    fd = proc.fds.install(file, bool(r.flags & IN_CLOEXEC))
    notify.instances[uid] = notify.instances.get(uid, 0) + 1
    return fd


def inotify_group(vfs: Vfs, proc: Proc, fd: int) -> Group:
    """The instance fd ``fd`` is: EBADF if none, EINVAL if not an inotify fd."""
    file = proc.fds.get(fd)
    if file.kind != "inotify":
        raise KernelError(Errno.EINVAL, f"fd {fd} is not an inotify instance")
    group: Group = file.inotify
    return group


def add_watch(vfs: Vfs, group: Group, walk: Walk, mask: int) -> int:
    """inotify_add_watch(2) of the node ``walk`` found (the VFS checked the mask, the path
    and the permission to read it): the node's wd, new or changed."""
    node = walk[-1].node
    watch = group.by_node.get(node)
    kept = mask & (ALL_EVENTS | ONESHOT | EXCL_UNLINK)
    if watch is not None:
        if mask & MASK_CREATE:
            raise KernelError(Errno.EEXIST, "already watched (IN_MASK_CREATE)")
        watch.mask = watch.mask | kept if mask & MASK_ADD else kept
        return watch.wd
    counts = vfs.state.notify.watches
    if counts.get(group.uid, 0) >= vfs.state.sysctl.number("fs/inotify/max_user_watches"):
        raise KernelError(Errno.ENOSPC, "fs.inotify.max_user_watches")
    wd = group.next_wd
    group.next_wd = wd + 1 if wd < 0x7FFF_FFFF else 1
    watch = Watch(group, wd, node, kept)
    group.watches[wd] = group.by_node[node] = watch
    vfs.state.notify.marks.setdefault(node, []).append(watch)
    counts[group.uid] = counts.get(group.uid, 0) + 1
    return wd


def rm_watch(vfs: Vfs, request: Request, r: Any) -> int:
    """inotify_rm_watch(2): the watch ends, and its instance hears IN_IGNORED."""
    group = inotify_group(vfs, vfs.proc(request), r.fd)
    watch = group.watches.get(r.wd)
    if watch is None:
        raise KernelError(Errno.EINVAL, f"no watch {r.wd}")
    _remove(vfs, watch)
    return 0


def _answer_readers(vfs: Vfs, group: Group) -> None:
    """Events came: the reads waiting for one take them, in turn."""
    while group.readers and group.queue:
        request, grant, count = group.readers.popleft()
        if not vfs.api.waiting(request):
            continue  # interrupted (EINTR)
        try:
            vfs.answer(request, _take(vfs, group, count, grant))
        except KernelError as err:
            vfs.answer(request, -err.errno)


def _take(vfs: Vfs, group: Group, count: int, grant: Any) -> int:
    """As many whole events as ``count`` bytes hold (EINVAL if not the first), copied out;
    taken even if the copy fails (EFAULT), as Linux's are."""
    queue = group.queue
    out = bytearray()
    while queue:
        wd, mask, cookie, name = queue[0]
        size = event_size(name)
        if len(out) + size > count:
            break
        queue.popleft()
        group.size -= size
        if mask & Q_OVERFLOW:
            group.overflowed = False
        out += EVENT.pack(wd, mask, cookie, size - EVENT.size)
        out += name.ljust(size - EVENT.size, b"\0")
    if not out:
        raise KernelError(Errno.EINVAL, "the buffer cannot hold the next event")
    vfs.api.copy_out(grant, 0, bytes(out))
    return len(out)


class Inotify(FileOps):
    """The inotify kind of open file."""

    copies_late = True  # a bad buffer fails in the read, after its events are taken

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
             grant: Any) -> int | None:
        group: Group = file.inotify
        if not group.queue:
            if file.flags & O_NONBLOCK:
                raise KernelError(Errno.EAGAIN, "no inotify event")
            group.readers.append((request, grant, count))
            return None
        return _take(vfs, group, count, grant)

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        """The first buffer takes the events."""
        return vfs.read_file(request, self, file, lengths[0] if lengths else 0,
                             grants[0] if lengths else None)

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        return (POLLIN | POLLRDNORM if file.inotify.queue else 0) & events

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        return int(file.inotify.size)

    def path(self, file: OpenFile) -> bytes:
        return b"anon_inode:inotify"

    def fdinfo(self, file: OpenFile) -> bytes:
        """A line per watch, newest first, as Linux's inotify_fdinfo (without the file
        handle)."""
        lines = []
        for watch in reversed(file.inotify.watches.values()):
            try:
                attr = watch.node.fs.getattr(watch.node)
            except KernelError:
                continue
            lines.append(b"inotify wd:%x ino:%x sdev:%x mask:%x ignored_mask:0\n" % (
                watch.wd, attr.ino, attr.dev, watch.mask))
        return b"".join(lines)

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        """The instance's last fd closed: its watches end, unheard."""
        group: Group = file.inotify
        marks = vfs.state.notify.marks
        for watch in list(group.watches.values()):
            on_node = marks.get(watch.node, [])
            if watch in on_node:
                on_node.remove(watch)
            if not on_node:
                marks.pop(watch.node, None)
        notify = vfs.state.notify
        notify.watches[group.uid] = notify.watches.get(group.uid, 0) - len(group.watches)
        notify.instances[group.uid] = notify.instances.get(group.uid, 1) - 1
        group.watches.clear()
        group.by_node.clear()


# -- dnotify ---------------------------------------------------------------------------
def f_notify(vfs: Vfs, proc: Proc, fd: int, file: OpenFile, arg: int) -> int:
    """fcntl(F_NOTIFY) (Linux's fcntl_dirnotify): no events removes the fd's mark; else the
    directory's events of ``arg`` signal its owner, who becomes the caller."""
    arg &= 0xFFFF_FFFF
    mine = _dir_mark(vfs, file)
    if not arg & ~DN_MULTISHOT:
        if mine is not None:
            _remove(vfs, mine)
        return 0
    if file.walk is None or not _isdir(file.node, file.fs):
        raise KernelError(Errno.ENOTDIR, "F_NOTIFY of what is not a directory")
    mask = 0
    for bit, events in DN_EVENTS.items():
        if arg & bit:
            mask |= events
    if mine is not None:  # (Linux's attach_dn: a second F_NOTIFY adds to the first)
        mine.mask |= mask
        mine.multishot |= bool(arg & DN_MULTISHOT)
        mine.fd = fd
    else:
        mark = DirMark(file, fd, proc.pid, mask, bool(arg & DN_MULTISHOT), file.node)
        vfs.state.notify.marks.setdefault(file.node, []).append(mark)
    file.owner = (OWNER_PID, proc.pid)  # (Linux's __f_setown to the caller)
    return 0


def _dir_mark(vfs: Vfs, file: OpenFile) -> DirMark | None:
    if file.walk is None:
        return None
    for mark in vfs.state.notify.marks.get(file.node, ()):
        if isinstance(mark, DirMark) and mark.file is file:
            return mark
    return None


def closed_fd(vfs: Vfs, pid: int, file: OpenFile) -> None:
    """An fd of ``file`` closed in process ``pid``: its F_NOTIFY mark goes (dnotify_flush)."""
    mark = _dir_mark(vfs, file)
    if mark is not None and mark.pid == pid:
        _remove(vfs, mark)
