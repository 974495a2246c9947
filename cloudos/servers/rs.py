"""The reincarnation server: restarts servers that crashed.

Owns: the list of servers it watches and their restart counts. A crashed
server's runtime sends rs an asynchronous message on rs's port; rs answers by
starting a new incarnation of that server on the same port and state, as
MINIX 3's RS does. Never: restarts a server that crashes on start-up forever
(it gives up after ``MAX_RESTARTS`` and logs it).
Called by: nobody directly; it is a server. ``start`` wires it at boot.
"""

from __future__ import annotations

from typing import Generator

from cloudos.kernel.boot import Kernel
from cloudos.kernel.cap import Right
from cloudos.kernel.ipc import Message, Port
from cloudos.servers.runtime import Request, ServerApi, ServerRuntime

RS_ID = -1
MAX_RESTARTS = 1000


def start(kernel: Kernel, watched: list[ServerRuntime]) -> ServerRuntime:
    """Run rs and make every watched server report its crashes to it."""
    by_name = {runtime.name: runtime for runtime in watched}

    def serve(api: ServerApi) -> Generator[Port, Request, None]:
        while True:
            request = yield rs.port
            runtime = by_name.get(request.args[0]) if request.args else None
            if runtime is None:
                continue
            if runtime.restarts >= MAX_RESTARTS:
                kernel.log.warn(f"rs: {runtime.name} crashed {MAX_RESTARTS} times: not restarted")
                continue
            runtime.restart()

    rs = ServerRuntime(kernel, "rs", RS_ID, serve)
    notify = kernel.ipc.caps.install(RS_ID, rs.client_cap())
    port = kernel.ipc.port(RS_ID, notify, Right.SEND)

    def report(runtime: ServerRuntime) -> None:
        kernel.ipc.notify(port, Message(0, b"", runtime.pid, body=(0, runtime.name)))

    for runtime in watched:
        runtime.on_crash = report
    return rs
