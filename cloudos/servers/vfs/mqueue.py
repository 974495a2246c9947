"""POSIX message queues: mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify,
mq_getsetattr.

Owns: the machine's queues by name (Linux's mqueue file system, not mounted here:
names live only in this table), their messages ordered by priority and then by
arrival, the senders and receivers waiting on each (deferred replies, answered as
room or a message comes: a message sent while a receiver waits goes straight to it,
as Linux's pipelined_send), the one process registered for notification (SIGEV_SIGNAL:
a signal with SI_MESGQ when a message arrives in an empty queue nobody waits on;
SIGEV_NONE), and an mqueue descriptor's poll events (POLLIN with messages, POLLOUT
with room).
Never: touches guest memory (the personality copies messages in and out).
Called by: ``vfs.server``.

Limits: /proc/sys/fs/mqueue/{msg_max,msgsize_max,queues_max} without CAP_SYS_RESOURCE,
HARD_MSGMAX and HARD_MSGSIZEMAX with it; a named queue's size counts against its
creator's RLIMIT_MSGQUEUE (EMFILE past it; an unlinked queue still open is no longer
counted), and all queues together fit in the machine's RAM (ENOMEM).
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from cloudos.abi.dataclass import dataclass, field
from cloudos.abi.vfs import MqAttr, MqGetsetattr, MqNotify, MqOpen, MqReceived, MqTimedreceive, \
    MqTimedsend, MqUnlink
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files, perm
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import O_CLOEXEC, O_NONBLOCK, OpenFile
from cloudos.servers.vfs.fs import Attr

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

O_CREAT, O_EXCL = 0o100, 0o200
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD = 0, 1, 2
NOTIFY_REMOVE = -1
HARD_MSGMAX, HARD_MSGSIZEMAX, NAME_MAX = 65536, 16 << 20, 255
CAP_SYS_RESOURCE = 24
MQ_PRIO_MAX = 32768
MSG_OVERHEAD, NODE_OVERHEAD = 48, 48  # sizeof(struct msg_msg), struct posix_msg_tree_node
POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM = 0x1, 0x4, 0x40, 0x100
_order = itertools.count()


@dataclass
class MQueue:
    """One queue; ``messages`` sorted by (-priority, arrival)."""

    name: bytes
    attr: Attr
    maxmsg: int
    msgsize: int
    cost: int          # its bytes charged to its creator's RLIMIT_MSGQUEUE
    charged_uid: int   # that creator's real user id
    opens: int = 0     # open file descriptions of it: it lives while named or open
    unlinked: bool = False
    messages: list[tuple[int, int, bytes]] = field(default_factory=list)
    receivers: deque[Request] = field(default_factory=deque)
    senders: deque[tuple[Request, bytes, int]] = field(default_factory=deque)
    notify: tuple[int, int, int, int] | None = None  # pid, how, signal, value

    def insert(self, data: bytes, prio: int) -> None:
        bisect.insort(self.messages, (-prio, next(_order), data))


def _queues(vfs: Vfs) -> dict[bytes, MQueue]:
    queues: dict[bytes, MQueue] = vfs.state.mqueues
    return queues


def _check_name(name: bytes) -> None:
    """A name as Linux's lookup in the mqueue root takes it."""
    if not name:
        raise KernelError(Errno.ENOENT, "empty mqueue name")
    if len(name) > NAME_MAX:
        raise KernelError(Errno.ENAMETOOLONG, "mqueue name")
    if b"/" in name or name in (b".", b".."):
        raise KernelError(Errno.EACCES, f"mqueue name {name!r}")


def _sizes(vfs: Vfs, r: MqOpen) -> tuple[int, int]:
    """The new queue's maxmsg and msgsize: given (checked against the limits), or the
    defaults."""
    table = vfs.state.sysctl
    msg_max, msgsize_max = table.number("fs/mqueue/msg_max"), \
        table.number("fs/mqueue/msgsize_max")
    if r.maxmsg == 0 and r.msgsize == 0:
        return (min(table.number("fs/mqueue/msg_default"), msg_max),
                min(table.number("fs/mqueue/msgsize_default"), msgsize_max))
    if r.maxmsg <= 0 or r.msgsize <= 0:
        raise KernelError(Errno.EINVAL, "mq_maxmsg and mq_msgsize must be positive")
    capable = vfs.who().capable(CAP_SYS_RESOURCE)
    if not capable and (r.maxmsg > msg_max or r.msgsize > msgsize_max) \
            or r.maxmsg > HARD_MSGMAX or r.msgsize > HARD_MSGSIZEMAX:
        raise KernelError(Errno.EINVAL, f"mq_maxmsg {r.maxmsg} mq_msgsize {r.msgsize}")
    return r.maxmsg, r.msgsize


def _create(vfs: Vfs, proc: Proc, r: MqOpen) -> MQueue:
    queues = _queues(vfs)
    who = vfs.who()
    if len(queues) >= vfs.state.sysctl.number("fs/mqueue/queues_max") \
            and not who.capable(CAP_SYS_RESOURCE):
        raise KernelError(Errno.ENOSPC, "fs/mqueue/queues_max queues")
    maxmsg, msgsize = _sizes(vfs, r)
    # mqueue_get_inode: the queue's worst case counts against its creator's
    # RLIMIT_MSGQUEUE (root's too), with Linux's overhead per message (struct msg_msg)
    # and per priority (a tree node); all queues together fit in the machine's RAM
    cost = maxmsg * (msgsize + MSG_OVERHEAD) + min(maxmsg, MQ_PRIO_MAX) * NODE_OVERHEAD
    charged = vfs.state.mqueue_bytes
    if charged.get(who.uid, 0) + cost > vfs.state.msgqueue_limit(proc.pid):
        raise KernelError(Errno.EMFILE, f"RLIMIT_MSGQUEUE: {charged.get(who.uid)} + {cost}")
    if sum(charged.values()) + cost > vfs.state.map_limit:
        raise KernelError(Errno.ENOMEM, f"message queues of {cost} bytes")
    charged[who.uid] = charged.get(who.uid, 0) + cost
    now = time.time_ns()
    attr = Attr(ino=0, mode=0o100000 | r.mode & 0o777 & ~proc.umask, nlink=1, uid=who.fsuid,
                gid=who.fsgid, size=0, rdev=0, blksize=4096, blocks=0, atime_ns=now,
                mtime_ns=now, ctime_ns=now, dev=0)
    queue = MQueue(r.name, attr, maxmsg, msgsize, cost, who.uid)
    queues[r.name] = queue
    return queue


def mq_open(vfs: Vfs, request: Request, r: MqOpen) -> int:
    """Implements Linux mq_open(2): a descriptor of the queue ``r.name``."""
    _check_name(r.name)
    access = r.flags & files.O_ACCMODE
    if access == files.O_ACCMODE:
        raise KernelError(Errno.EINVAL, "O_RDWR|O_WRONLY")
    proc = vfs.proc(request)
    queue = _queues(vfs).get(r.name)
    if queue is not None and r.flags & O_CREAT and r.flags & O_EXCL:
        raise KernelError(Errno.EEXIST, f"mqueue {r.name!r}")
    created = queue is None
    if queue is None:
        if not r.flags & O_CREAT:
            raise KernelError(Errno.ENOENT, f"mqueue {r.name!r}")
        queue = _create(vfs, proc, r)
    else:
        want = {files.O_RDONLY: perm.MAY_READ, files.O_WRONLY: perm.MAY_WRITE}.get(
            access, perm.MAY_READ | perm.MAY_WRITE)
        perm.check(vfs.who(), queue.attr, want)
    try:
        file = OpenFile("mqueue", access | r.flags & O_NONBLOCK, mqueue=queue)
        fd = proc.fds.install(file, bool(r.flags & O_CLOEXEC))
    except KernelError:
        if created:  # no descriptor for it (EMFILE, ENFILE): as if never made
            del _queues(vfs)[r.name]
            queue.unlinked = True
            _forget(vfs, queue)
        raise
    queue.opens += 1
    return fd


def _forget(vfs: Vfs, queue: MQueue) -> None:
    """Neither named nor open: its bytes no longer count against its creator."""
    if queue.unlinked and not queue.opens:
        charged = vfs.state.mqueue_bytes
        charged[queue.charged_uid] -= queue.cost


def mq_unlink(vfs: Vfs, request: Request, r: MqUnlink) -> int:
    """Implements Linux mq_unlink(2): the name goes; open descriptors keep the queue."""
    _check_name(r.name)
    queue = _queues(vfs).get(r.name)
    if queue is None:
        raise KernelError(Errno.ENOENT, f"mqueue {r.name!r}")
    who = vfs.who()  # the mqueue root is sticky (01777): the owner or CAP_FOWNER
    if who.fsuid != queue.attr.uid and not who.capable(perm.CAP_FOWNER):
        raise KernelError(Errno.EPERM, f"mqueue {r.name!r} belongs to another user")
    del _queues(vfs)[r.name]
    queue.unlinked = True
    _forget(vfs, queue)
    return 0


def _queue(vfs: Vfs, request: Request, fd: int) -> tuple[OpenFile, MQueue]:
    file = vfs.proc(request).fds.get(fd)
    if file.mqueue is None:
        raise KernelError(Errno.EBADF, f"fd {fd} is not a message queue")
    queue: MQueue = file.mqueue
    return file, queue


def _notify(vfs: Vfs, queue: MQueue, sender: int) -> None:
    """A message came into an empty queue that no receiver waits on: the registered
    process hears of it once (its registration ends)."""
    if queue.notify is None or len(queue.messages) != 1:
        return
    pid, how, signo, value = queue.notify
    queue.notify = None
    if how == SIGEV_SIGNAL:
        proc = vfs.state.procs.get(sender)
        uid = proc.who.uid if proc is not None else 0
        vfs.state.send_mq_signal(pid, signo, sender, uid, value)


def _give(vfs: Vfs, queue: MQueue, data: bytes, prio: int, sender: int) -> None:
    """A message enters the queue: to the first waiting receiver, or in its place."""
    while queue.receivers:
        receiver = queue.receivers.popleft()
        if vfs.api.waiting(receiver):
            vfs.answer(receiver, MqReceived(data, prio))
            return
    queue.insert(data, prio)
    _notify(vfs, queue, sender)
    vfs.wake_pollers()


def mq_timedsend(vfs: Vfs, request: Request, r: MqTimedsend) -> int | None:
    """Implements Linux mq_timedsend(2) (the personality checked the priority and the
    timeout, and waits no longer than it)."""
    file, queue = _queue(vfs, request, r.fd)
    if not file.flags & files.O_ACCMODE:  # O_RDONLY
        raise KernelError(Errno.EBADF, f"fd {r.fd} is not open for writing")
    if len(r.data) > queue.msgsize:
        raise KernelError(Errno.EMSGSIZE, f"{len(r.data)} bytes over mq_msgsize")
    if len(queue.messages) >= queue.maxmsg:
        if file.flags & O_NONBLOCK:
            raise KernelError(Errno.EAGAIN, "the queue is full")
        queue.senders.append((request, r.data, r.prio))
        return None
    _give(vfs, queue, r.data, r.prio, request.sender)
    return 0


def mq_timedreceive(vfs: Vfs, request: Request, r: MqTimedreceive) -> Any:
    """Implements Linux mq_timedreceive(2): the oldest message of the highest priority."""
    file, queue = _queue(vfs, request, r.fd)
    if file.flags & files.O_ACCMODE == files.O_WRONLY:
        raise KernelError(Errno.EBADF, f"fd {r.fd} is not open for reading")
    if r.size < queue.msgsize:
        raise KernelError(Errno.EMSGSIZE, f"a buffer of {r.size} bytes, under mq_msgsize")
    if not queue.messages:
        if file.flags & O_NONBLOCK:
            raise KernelError(Errno.EAGAIN, "the queue is empty")
        queue.receivers.append(request)
        return None
    negative, _, data = queue.messages.pop(0)
    _admit_sender(vfs, queue)
    vfs.wake_pollers()
    return MqReceived(data, -negative)


def _admit_sender(vfs: Vfs, queue: MQueue) -> None:
    """Room was made: the first waiting sender's message goes in (pipelined_receive)."""
    while queue.senders:
        request, data, prio = queue.senders.popleft()
        if vfs.api.waiting(request):
            queue.insert(data, prio)
            vfs.answer(request, 0)
            return


def mq_notify(vfs: Vfs, request: Request, r: MqNotify) -> int:
    """Implements Linux mq_notify(2) for SIGEV_SIGNAL and SIGEV_NONE."""
    _, queue = _queue(vfs, request, r.fd)
    pid = request.sender
    if r.notify == NOTIFY_REMOVE:
        if queue.notify is not None and queue.notify[0] == pid:
            queue.notify = None
        return 0
    if queue.notify is not None and queue.notify[0] in vfs.state.procs:
        raise KernelError(Errno.EBUSY, "another process is registered")
    queue.notify = (pid, r.notify, r.signo, r.value)
    return 0


def mq_getsetattr(vfs: Vfs, request: Request, r: MqGetsetattr) -> MqAttr:
    """Implements Linux mq_getsetattr(2): the attributes before; only O_NONBLOCK changes."""
    file, queue = _queue(vfs, request, r.fd)
    old = MqAttr(file.flags & O_NONBLOCK, queue.maxmsg, queue.msgsize, len(queue.messages))
    if r.flags >= 0:
        file.flags = file.flags & ~O_NONBLOCK | r.flags & O_NONBLOCK
    return old


class MqueueFile(FileOps):
    """The mqueue kind of open file: polled, not read or written."""

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        queue: MQueue = file.mqueue
        ready = POLLIN | POLLRDNORM if queue.messages else 0
        if len(queue.messages) < queue.maxmsg:
            ready |= POLLOUT | POLLWRNORM
        return ready & events

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        """mqueue_flush_file: the closing process's registration ends."""
        queue: MQueue = file.mqueue
        if queue.notify is not None and queue.notify[0] == vfs.state.caller:
            queue.notify = None
        queue.opens -= 1
        _forget(vfs, queue)
