"""The server runtime: a server is a Python generator the kernel schedules like a thread.

Owns: turning a server's ``yield receive(port)`` into a real kernel receive (the
server thread blocks like any other), the bookkeeping of requests not yet
answered, the server boundary (an exception inside a server is caught here,
logged, every caller it owed an answer gets EIO, and ``rs`` is told), and fault
injection (crash a named server on its Nth request, for tests).
Never: touches guest memory (servers go through the grants in their requests),
or lets a server exception reach the kernel.
Called by: the kernel scheduler (``Service.step``) and ``rs`` (restart).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

from cloudos.kernel.boot import Kernel
from cloudos.kernel.cap import Cap, ObjType, Right
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message, Port
from cloudos.kernel.task import Process, State, Thread
from cloudos.kernel.trap import Stop


class InjectedFault(Exception):
    """The crash a fault-injection switch asked for."""


@dataclass(eq=False)
class Request:
    """One message a server received, and how to answer it."""

    op: int
    args: tuple[Any, ...]
    sender: int
    reply_token: int
    grants: list[int] = field(default_factory=list)
    answered: bool = False
    message: Message | None = None  # as received: a notification in flight is redelivered


Serve = Callable[["ServerApi"], Generator[Port, Request, None]]


class ServerApi:
    """What a server may do: receive on its port, answer, and copy through grants."""

    def __init__(self, runtime: ServerRuntime) -> None:
        self.runtime = runtime
        self.kernel = runtime.kernel
        self.pid = runtime.pid

    def reply(self, request: Request, result: Any) -> None:
        """Answer ``request`` (now, or later for a deferred reply)."""
        if request.answered:
            return
        try:
            self.kernel.ipc.reply(self.pid, request.reply_token, Message(0, b"", self.pid, body=result))
        except KernelError:
            pass  # the caller is gone (killed, timed out): nobody to tell
        self._done(request)

    def waiting(self, request: Request) -> bool:
        """Whether the caller still waits (it may have been interrupted by a signal).
        A request whose caller gave up is done: its capabilities go."""
        if request.answered:
            return False
        if self.kernel.ipc.waits(self.pid, request.reply_token):
            return True
        self._done(request)
        return False

    def _done(self, request: Request) -> None:
        """Forget an answered call: its spent reply capability and the grants on the
        caller's buffers, which are good for that call only (else each call would leave
        them behind in this server's space for the life of the machine)."""
        request.answered = True
        self.runtime.outstanding.discard(request)
        ipc = self.kernel.ipc
        space = ipc.caps.spaces.get(self.pid, {})
        for token in (request.reply_token, *request.grants):
            cap = space.pop(token, None)
            if cap is not None and cap.type is ObjType.GRANT:
                ipc.grants.pop(cap.obj, None)

    def notify_at(self, delay: float, op: int, *args: Any) -> None:
        """In ``delay`` seconds, the kernel sends this server the notification (op, *args)."""
        kernel, port = self.kernel, self.runtime.port
        kernel.scheduler.call_at(kernel.scheduler.clock() + max(0.0, delay), lambda: kernel.ipc.notify(
            port, Message(op, b"", 0, body=(op, *args))))

    def copy_in(self, grant: int, offset: int, length: int) -> bytes:
        g = self.kernel.ipc.grant(self.pid, grant, offset, length, write=False)
        return g.aspace.copy_in(g.start + offset, length)

    def copy_out(self, grant: int, offset: int, data: bytes) -> None:
        g = self.kernel.ipc.grant(self.pid, grant, offset, len(data), write=True)
        g.aspace.copy_out(g.start + offset, data)


class ServerRuntime:
    """One server: its identity, its port, and the current incarnation of its code."""

    def __init__(self, kernel: Kernel, name: str, sid: int, serve: Serve,
                 crash_on: int = 0, crashes: int = 1) -> None:
        self.kernel, self.name, self.pid, self.serve = kernel, name, sid, serve
        # Fault injection: crash on calls crash_on .. crash_on + crashes - 1.
        self.crash_on, self.crashes = crash_on, crashes
        self.requests = 0
        self.current: Request | None = None
        self.restarts = 0
        self.outstanding: set[Request] = set()
        self.on_crash: Callable[[ServerRuntime], None] = lambda _r: None
        token = kernel.ipc.create_port(sid)
        self.port_token = token
        self.port = kernel.ipc.port(sid, token, Right.RECV)
        aspace = kernel.new_aspace()  # empty: a server has no guest memory
        self.process = Process(sid, None, name, aspace, kernel)
        self.thread = Thread(sid, self.process, None, service=self)
        self.process.threads.append(self.thread)
        self._start()

    def client_cap(self, rights: int = Right.SEND) -> Cap:
        """A capability to call this server (SEND, plus e.g. FILE), for whoever may call it."""
        owner = self.kernel.ipc.caps.lookup(self.pid, self.port_token, ObjType.PORT, Right.GRANT)
        return self.kernel.ipc.caps.derive(owner, rights)

    def _start(self) -> None:
        self.api = ServerApi(self)
        self.code = self.serve(self.api)
        self.pending: Request | None = None
        self.thread.state = State.CREATED
        self.kernel.scheduler.add(self.thread)

    def restart(self) -> None:
        """A new incarnation on the same port and state (what rs does after a crash)."""
        self.restarts += 1
        self._start()
        self.kernel.log.warn(f"rs: restarted {self.name} (restart {self.restarts})")

    # -- Service ---------------------------------------------------------------
    def step(self, thread: Thread) -> None:
        """Run the server until it waits for its next request."""
        request, self.pending = self.pending, None  # set when a message woke us
        try:
            while True:
                self.current = request
                if request is not None and self._inject(request):
                    port = self.code.throw(InjectedFault(
                        f"injected crash of {self.name} on request {self.requests}"))
                else:
                    port = self.code.send(request)  # type: ignore[arg-type]
                request = self._receive(thread, port)
                if request is None:
                    return  # blocked: a delivery wakes us and step() runs again
        except StopIteration:
            thread.state = State.TERMINATED
        except Exception as err:  # the server boundary: nothing escapes to the kernel
            self._crashed(thread, err)

    def _inject(self, request: Request) -> bool:
        if not request.reply_token:  # notifications are not counted (nor lost: see _crashed)
            return False
        self.requests += 1
        return self.crash_on <= self.requests < self.crash_on + self.crashes

    def _receive(self, thread: Thread, port: Port) -> Request | None:
        """The next request now, or None after blocking the thread for one."""
        try:
            self.kernel.ipc.receive(thread, port, self._deliver, None, True)
        except Stop:
            return None
        request, self.pending = self.pending, None
        return request

    def _deliver(self, msg: Message) -> int:
        caps = self.kernel.ipc.caps
        reply = caps.install(self.pid, msg.reply) if msg.reply is not None else 0
        grants = [caps.install(self.pid, c) for c in msg.caps if c.type is ObjType.GRANT]
        op, *args = msg.body if isinstance(msg.body, tuple) else (msg.tag,)
        request = Request(op, tuple(args), msg.sender, reply, grants, message=msg)
        if reply:
            self.outstanding.add(request)
        self.pending = request
        return 0

    def _crashed(self, thread: Thread, err: Exception) -> None:
        where = traceback.extract_tb(err.__traceback__)[-1]
        self.kernel.log.warn(f"server {self.name} crashed: {type(err).__name__}: {err} "
                             f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})")
        for request in list(self.outstanding):  # callers owed an answer learn it failed
            self.api.reply(request, -Errno.EIO)
        current = self.current
        if current is not None and not current.reply_token and current.message is not None:
            self.port.queue.appendleft(current.message)  # a notification is redelivered
        thread.state = State.TERMINATED
        self.on_crash(self)
