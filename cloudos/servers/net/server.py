"""The net server: the user-space server that owns AF_INET, AF_INET6 and AF_NETLINK sockets.

Owns: every internet socket's state (``sockets``: TCP connections as two crossed pipes,
UDP queues, listeners and their backlogs; ``inet``: ports, addresses, options;
``host``: the host sockets of ``--net host`` and ``--publish``) by handle, and
telling the VFS what it must know of them: an fd for each new one (``SocketMade``,
forwarded with the caller's reply), the poll events that changed after each request
(``SocketEvents``, sent before the request's caller can run again, so a poll the
caller makes next sees them), and, as an incarnation starts, that the sockets of
the one before are gone (``NetRestarted``).
A restart by rs starts from an empty stack, as a rebooted network would: the sockets
of the crashed incarnation are reset (their calls fail ECONNRESET, their host
sockets are closed); the published ports (``NetBoot``) outlive it.
Never: holds an fd table or touches guest memory except through a request's grants;
blocks (host sockets are polled, ``host``).
Called by: the VFS (``NetCall``, ``NetClose``: ``vfs.netsock``), its own timers, and
rs (restart).
"""

from __future__ import annotations

from typing import Any, Callable, Generator

from cloudos.abi import vfs as abi
from cloudos.abi.netsrv import (RESET_EVENTS, NetCall, NetClose, NetPoll, NetRead, NetWatch,
                                NetWrite, SocketTimeout)
from cloudos.abi.vfs import NetRestarted, SocketEvents, SocketMade
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message, Port
from cloudos.servers.net import host, sockets
from cloudos.servers.net.inet import NetState
from cloudos.servers.net.start import NetBoot
from cloudos.servers.runtime import Request, ServerApi
from cloudos.servers.vfs.files import O_NONBLOCK, OpenFile

HANDLE_SHIFT = 32  # a handle is (incarnation << HANDLE_SHIFT) | number


# The socket calls, by the type of the request inside a NetCall.
CALLS: dict[type, Callable[..., Any]] = {
    abi.Bind: sockets.bind, abi.Connect: sockets.connect, abi.Listen: sockets.listen,
    abi.Accept4: sockets.accept4, abi.Getsockname: sockets.getsockname,
    abi.Getpeername: sockets.getpeername, abi.Getsockopt: sockets.getsockopt,
    abi.Setsockopt: sockets.setsockopt, abi.Shutdown: sockets.shutdown,
    abi.Sendto: sockets.sendto, abi.Recvfrom: sockets.recvfrom,
    abi.Sendmsg: sockets.sendmsg, abi.Recvmsg: sockets.recvmsg,
    abi.Ioctl: sockets.ioctl, NetRead: sockets.read, NetWrite: sockets.write}


class NetServer:
    """One incarnation of the net server's code, over a stack of its own."""

    def __init__(self, api: ServerApi, boot: NetBoot) -> None:
        self.api, self.boot = api, boot
        boot.incarnation += 1
        _reset(boot.stack)
        self.state = boot.stack = NetState(published=boot.published)
        self.files: dict[int, OpenFile] = {}  # the sockets the VFS holds, by handle
        # the sockets the VFS polls, and their events as it was last told (it hears of
        # every change to those only: NetWatch)
        self.watched: set[int] = set()
        self.masks: dict[int, int] = {}
        self.next_handle = boot.incarnation << HANDLE_SHIFT
        self.first_handle = self.next_handle + 1
        # (a timer of the incarnation before must not end a call parked now)
        self.state.next_timeout = boot.incarnation << HANDLE_SHIFT
        self.serving: OpenFile | None = None  # the socket of the call being served
        self.dirty = False  # poll events may have changed since the VFS was told

    def start(self) -> None:
        """Tell the VFS that the sockets before this incarnation are gone; poll the
        published ports."""
        self._tell_vfs(NetRestarted(self.first_handle))
        host.schedule(self)

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, request: Request) -> None:
        body = request.body
        try:
            result = self._serve(request, body)
        except KernelError as err:
            result = -err.errno
        if result is not None:
            self.answer(request, result)
        self.flush()

    def _serve(self, request: Request, body: Any) -> Any:
        if isinstance(body, NetCall):
            return self._call(request, body)
        if isinstance(body, NetClose):
            self._close(body.handle)
            return None
        if isinstance(body, NetWatch):
            self._watch(body.handles)
            return None
        if isinstance(body, NetPoll):
            host.net_poll(self, request, body)
            return None
        if isinstance(body, SocketTimeout):
            sockets.timed_out(self, request, body)
            return None
        return -Errno.ENOSYS  # (a guest's raw message on the port)

    def _call(self, request: Request, c: NetCall) -> Any:
        if isinstance(c.call, abi.Socket):
            return sockets.socket(self, request, c.call)
        file = self.files.get(c.handle)
        if file is None:  # a socket of an incarnation that crashed: reset, as Linux's
            raise KernelError(Errno.ECONNRESET, "the network stack restarted")
        file.flags = file.flags | O_NONBLOCK if c.nonblock else file.flags & ~O_NONBLOCK
        self.serving = file
        return CALLS[type(c.call)](self, request, c.call)

    def answer(self, request: Request, result: Any) -> None:
        if request.reply_token:
            self.api.reply(request, result)

    def wake_pollers(self) -> None:
        """Something changed: the VFS hears of the poll events that did after the request."""
        self.dirty = True

    def unref(self, file: OpenFile) -> None:
        """(Files passed with SCM_RIGHTS never travel on an internet socket.)"""

    # -- sockets and the VFS -------------------------------------------------------------
    def adopt(self, request: Request, file: OpenFile, flags: int,
              peer: bytes | None = None) -> None:
        """A new socket (socket(2)'s, or a connection accept4 takes) gets a handle; the
        call goes on to the VFS, which gives it an fd and answers the caller."""
        self.next_handle += 1
        handle = file.inet.handle = self.next_handle
        self.files[handle] = file
        mask = sockets.events(file)
        assert self.boot.vfs_port is not None
        self.api.forward(request, self.boot.vfs_port, SocketMade(handle, flags, mask, peer))

    def _close(self, handle: int) -> None:
        file = self.files.pop(handle, None)
        self.masks.pop(handle, None)
        self.watched.discard(handle)
        if file is not None:
            sockets.release(self, file)

    def flush(self) -> None:
        """Tell the VFS the poll events that changed (before any caller runs again): the
        served socket's (a call may change its state without waking anyone: a refused
        connect's pending error), every socket's after a wake-up."""
        serving, self.serving = self.serving, None
        if self.dirty:
            self.dirty = False
            candidates: Any = self.watched
        elif serving is not None and serving.inet.handle in self.watched:
            candidates = (serving.inet.handle,)
        else:
            return
        changes = []
        for handle in candidates:
            mask = sockets.events(self.files[handle])
            if self.masks.get(handle) != mask:
                self.masks[handle] = mask
                changes.append((handle, mask))
        if changes:
            self._tell_vfs(SocketEvents(tuple(changes)))

    def _watch(self, handles: tuple[int, ...]) -> None:
        """The VFS polls these: their events now (a socket gone, as reset), and changes
        from now on."""
        changes = []
        for handle in handles:
            file = self.files.get(handle)
            mask = RESET_EVENTS if file is None else sockets.events(file)
            if file is not None:
                self.watched.add(handle)
                self.masks[handle] = mask
            changes.append((handle, mask))
        self._tell_vfs(SocketEvents(tuple(changes), watched=True))

    def _tell_vfs(self, body: Any) -> None:
        port = self.boot.vfs_port
        if port is not None:
            self.api.kernel.ipc.notify(port, Message(body.OP, b"", self.api.pid, body=body))


def _reset(stack: NetState | None) -> None:
    """The host sockets of a crashed incarnation close (their peers see a reset or EOF)."""
    if stack is None:  # (the first incarnation)
        return
    for sock in stack.hosted:
        if sock.host is not None:
            host.quietly(sock.host.close)
    stack.hosted.clear()


def run(api: ServerApi, boot: NetBoot) -> Generator[Port, Request, None]:
    """One incarnation of the net server's code, from an empty stack (``start.serve``
    runs it)."""
    server = NetServer(api, boot)
    server.start()
    while True:
        request = yield api.runtime.port
        server.handle(request)
