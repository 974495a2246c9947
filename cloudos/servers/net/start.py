"""The net server's start: what the machine holds of it, and its code loaded at the first call.

Owns: ``NetBoot`` (what outlives an incarnation: the published ports' host sockets,
where the VFS listens, the stack of the incarnation running now, for /proc/net),
``NET_ID``, and ``serve``: the server's code as the runtime runs it, whose first
incarnation waits for its first request before the net stack's code (``server``,
``sockets``, ``inet``, ``host``, ``netlink``) is loaded. A program that makes no
internet socket never loads it: ~3.5 ms of every start. With ``--publish`` the code
starts at once (the published ports are polled from the start).
Never: serves a request itself; everything it receives goes to ``server``'s code, in
order, throws (rs's injected crashes) included.
Called by: the machine (its boot), rs (a restart runs ``serve`` again: the code is
loaded then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generator

from cloudos.abi.dataclass import dataclass, field

if TYPE_CHECKING:
    from cloudos.kernel.ipc import Port
    from cloudos.servers.runtime import Request, ServerApi

NET_ID = -3


@dataclass
class NetBoot:
    """What outlives an incarnation: the published ports' host sockets, where the VFS
    listens, and the stack of the incarnation running now (None before the first)."""

    published: list[tuple[Any, int]] = field(default_factory=list)
    vfs_port: Port | None = None
    incarnation: int = 0
    stack: Any = None  # inet.NetState


def serve(boot: NetBoot) -> Callable[[ServerApi], Generator[Port, Request, None]]:
    """The net server's code: each incarnation starts from an empty stack."""
    def run(api: ServerApi) -> Generator[Port, Request, None]:
        request = None
        if boot.incarnation == 0 and not boot.published:
            request = yield api.runtime.port  # the first call: the code loads now
        from cloudos.servers.net import server
        code = server.run(api, boot)
        port = next(code)  # (its start: the VFS is told, the host sockets polled)
        if request is not None:
            port = code.send(request)
        while True:
            try:
                request = yield port
            except GeneratorExit:
                code.close()
                raise
            except BaseException as err:  # (an injected crash: the code's to take)
                port = code.throw(err)
            else:
                port = code.send(request)
    return run
