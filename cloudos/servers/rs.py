"""The reincarnation server: restarts servers that crashed.

Owns: the list of servers it watches and their restart counts. A crashed
server's runtime sends rs an asynchronous message on rs's port; rs answers by
starting a new incarnation of that server on the same port and state, as
MINIX 3's RS does. Never: restarts a server that crashes on start-up forever
(after ``MAX_STARTUP_CRASHES`` in a row it retires it: the port answers EIO).
A crash that a request caused is always restarted: it answered that request, so
however many a process provokes, each costs it a call and nobody else a thing.
Called by: nobody directly; it is a server. ``start`` wires it at boot, watching the
VFS and the net server (``cloudos.machine``).
"""

from __future__ import annotations

from typing import Generator

from cloudos.abi.record import Record
from cloudos.kernel.boot import Kernel
from cloudos.kernel.cap import Right
from cloudos.kernel.ipc import Message, Port
from cloudos.servers.runtime import Request, ServerApi, ServerRuntime

RS_ID = -1
MAX_STARTUP_CRASHES = 10


class Crashed(Record):
    """What a crashed server's runtime tells rs: which server."""

    name: str


def start(kernel: Kernel, watched: list[ServerRuntime]) -> ServerRuntime:
    """Run rs and make every watched server report its crashes to it."""
    by_name = {runtime.name: runtime for runtime in watched}

    def serve(api: ServerApi) -> Generator[Port, Request, None]:
        while True:
            request = yield rs.port
            body = request.body
            runtime = by_name.get(body.name) if isinstance(body, Crashed) else None
            if runtime is None:
                continue
            if runtime.startup_crashes >= MAX_STARTUP_CRASHES:
                kernel.log.warn(f"rs: {runtime.name} crashed {MAX_STARTUP_CRASHES} times "
                                "starting: retired, its calls fail with EIO")
                runtime.retire()
                continue
            runtime.restart()

    rs = ServerRuntime(kernel, "rs", RS_ID, serve)
    notify = kernel.ipc.caps.install(RS_ID, rs.client_cap())
    port = kernel.ipc.port(RS_ID, notify, Right.SEND)

    def report(runtime: ServerRuntime) -> None:
        kernel.ipc.notify(port, Message(0, b"", runtime.pid, body=Crashed(runtime.name)))

    for runtime in watched:
        runtime.on_crash = report
    return rs
