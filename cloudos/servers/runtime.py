"""The server runtime: a server is a Python generator the kernel schedules like a thread.

Owns: turning a server's ``yield receive(port)`` into a real kernel receive (the
server thread blocks like any other), the bookkeeping of requests not yet
answered, handing a request on to another server (``forward``: the VFS's socket
calls to the net server, which answers the caller; a signal for that caller
follows the call there), the server boundary (an exception inside a server is caught here,
logged, every caller it owed an answer is told, and ``rs`` is told), and fault
injection (crash a named server on its Nth request, for tests).
What a crash tells each caller: the request being served when the server
crashed gets EIO (it may have done part of its work); a request the server had
not started (an injected crash strikes before the server sees it) or had parked
(a deferred reply: it waits, nothing done yet) gets ``Again.RESTART``, and the Linux
personality runs the system call again on the new incarnation, so a restart
leaves every call either done once or failed. A request parked after part of its
work (a pipe write that wrote some bytes) says what to answer in ``on_crash``.
Never: touches guest memory (servers go through the grants in their requests),
or lets a server exception reach the kernel.
Called by: the kernel scheduler (``Service.step``) and ``rs`` (restart).
"""

from __future__ import annotations

from typing import Any, Callable, Generator

from cloudos.abi.vfs import Again, Inline, Interrupt, Op
from cloudos.kernel.boot import Kernel
from cloudos.kernel.cap import Cap, ObjType, Right
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message, Port
from cloudos.kernel.task import Process, State, Thread
from cloudos.kernel.trap import Stop

FORWARDED_MAX = 256  # forwarded calls remembered before the answered ones are forgotten
# (as plain names for the fast path's steps: an enum member read through its class costs
# ~0.2 us on Python 3.11, a global ~0.02)
READY, RUNNING, ETIMEDOUT = State.READY, State.RUNNING, -Errno.ETIMEDOUT
RESTART = Again.RESTART
def unqueue(kernel: Kernel, thread: Thread) -> None:
    """Take a READY ``thread`` off the run queues: it runs now, outside the scheduler's loop."""
    for queue in kernel.scheduler.queues:
        line = queue.levels[thread.level]
        if thread in line:
            line.remove(thread)


class InjectedFault(Exception):
    """The crash a fault-injection switch asked for."""


class Request:
    """One message a server received, and how to answer it. (A slotted class, not a
    dataclass: one is made per call.)"""

    __slots__ = ("op", "sender", "reply_token", "grants", "answered", "message", "on_crash",
                 "body")
    # A personality's own call (``LocalRequest``): whom its answer goes to; None for a
    # message's (a class attribute here, read by ``ServerApi.reply`` and ``waiting``)
    waiter: Any = None

    def __init__(self, op: int, sender: int, reply_token: int, grants: list[Any] | None = None,
                 answered: bool = False, message: Message | None = None,
                 on_crash: Any = Again.RESTART, body: Any = None) -> None:
        self.op = op  # the message's tag
        self.sender = sender
        self.reply_token = reply_token
        self.grants: list[Any] = [] if grants is None else grants
        self.answered = answered
        self.message = message  # as received: a notification in flight is redelivered
        # the answer if the server crashes while this waits, parked (abi/vfs.py: run it again)
        self.on_crash = on_crash
        # the typed request (a record: abi/vfs.py's, rs's); None for a guest's raw message
        self.body = body

    def __repr__(self) -> str:
        return f"Request(op={self.op}, sender={self.sender}, body={self.body!r})"


class LocalRequest(Request):
    """A call a personality made to a server's code itself, not as a message to its port
    (``linux/pipefast``: a pipe read that waits), parked as a request is: answered by
    telling its ``waiter`` (``finish(result, pieces)``: the result and the bytes read, as
    an ``Inline`` read's), whose caller waits while ``waiter.waits()``. It holds no
    capability: nothing of it is in the server's space, nor in ``outstanding`` (a crash
    of the server's code leaves it parked in the state the next incarnation serves)."""

    __slots__ = ("waiter", "inline")

    def __init__(self, sender: int, waiter: Any, count: int) -> None:
        # (``Request.__init__``'s fields, set here: one is made per parked read)
        self.op, self.sender, self.reply_token = 0, sender, -1  # (a token, not 0: the
        self.grants, self.answered, self.message = [], False, None  # code answers it)
        self.on_crash, self.body = Again.RESTART, None
        self.waiter = waiter
        self.inline = Inline(count)


Serve = Callable[["ServerApi"], Generator[Port, Request, None]]


class ServerApi:
    """What a server may do: receive on its port, answer, and copy through grants."""

    def __init__(self, runtime: ServerRuntime) -> None:
        self.runtime = runtime
        self.kernel = runtime.kernel
        self.pid = runtime.pid
        # The code's handler of one request, if it gives it (``ServerRuntime.serve_direct``
        # calls it for a direct call, not through the code's receive loop).
        self.handler: Callable[[Request], None] | None = None
        # What the code lets a personality call itself, if it does (the VFS's
        # ``pipe.Local``: ``linux/pipefast``'s reads and writes of pipes)
        self.local: Any = None

    def reply(self, request: Request, result: Any) -> None:
        """Answer ``request`` (now, or later for a deferred reply). The call being served
        by a direct call (``linux/fastpath.py``) has its answer taken as it is: its caller
        never slept, so there is nobody to wake."""
        if request.answered:
            return
        waiter = request.waiter
        if waiter is not None:  # (a LocalRequest: its caller is told, no message)
            request.answered = True
            assert isinstance(request, LocalRequest)
            waiter.finish(result, request.inline.pieces)
            return
        runtime = self.runtime
        direct = runtime.direct
        if direct is not None and request.message is not None \
                and request.message.reply is direct[0]:
            runtime.direct = None
            direct[1].append(result)  # (the caller's Message is made only if it asks one)
            if request.grants:
                self._done(request)
                return
            request.answered = True  # (``_done`` of a call without grants, inline)
            runtime.outstanding.discard(request)
            space = self.kernel.ipc.caps.spaces.get(self.pid)
            if space is not None:
                space.pop(request.reply_token, None)
            return
        try:
            self.kernel.ipc.reply(self.pid, request.reply_token,
                                  Message(0, b"", self.pid, body=result))
        except KernelError:
            pass  # the caller is gone (killed, timed out): nobody to tell
        except Exception as err:  # the caller's own delivery failed: its bug, not the server's
            self.kernel.log.warn(f"server {self.runtime.name}: reply to {request.sender} "
                                 f"failed: {type(err).__name__}: {err}")
        self._done(request)

    def waiting(self, request: Request) -> bool:
        """Whether the caller still waits (it may have been interrupted by a signal).
        A request whose caller gave up is done: its capabilities go."""
        if request.answered:
            return False
        waiter = request.waiter
        if waiter is not None:  # (a LocalRequest)
            if waiter.waits():
                return True
            request.answered = True
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
        space = ipc.caps.spaces.get(self.pid)
        if space is None:
            return
        if not request.grants:  # (most calls: only the reply capability, never a grant's)
            space.pop(request.reply_token, None)
            return
        for token in (request.reply_token, *request.grants):
            cap = space.pop(token, None)
            if cap is not None and cap.type is ObjType.GRANT:
                ipc.grants.pop(cap.obj, None)

    def forward(self, request: Request, port: Port, body: Any) -> None:
        """Hand ``request`` on to the server of ``port`` as ``body``: its reply capability
        and grants go with it, and that server answers the caller (as MINIX's VFS hands a
        call to a driver); this server is done with it. The message names the caller as
        its sender: the receiving server serves it for that process."""
        space = self.kernel.ipc.caps.spaces.get(self.pid, {})
        reply = space.pop(request.reply_token, None) if request.reply_token else None
        caps = [cap for cap in (space.pop(token, None) for token in request.grants)
                if cap is not None]
        request.answered = True
        self.runtime.outstanding.discard(request)
        if reply is not None:
            self.runtime.passed_on(reply.obj, port)
        self.kernel.ipc.notify(port, Message(body.OP, b"", request.sender, caps, reply, body))

    def notify_at(self, delay: float, op: int, body: Any) -> None:
        """In ``delay`` seconds, the kernel sends this server the notification ``body``."""
        kernel, port = self.kernel, self.runtime.port
        kernel.scheduler.call_at(kernel.scheduler.clock() + max(0.0, delay),
                                 lambda: kernel.ipc.notify(port, Message(op, b"", 0, body=body)))

    # A grant is a grant capability's token, or a small read's ``Inline`` (abi/vfs.py):
    # the bytes go back with the answer, the same copies as through a grant.
    def grant_size(self, grant: int | Inline, write: bool) -> int:
        """The bytes ``grant`` lends (``write``: one the server may write)."""
        if isinstance(grant, Inline):
            return grant.length if write else 0
        return self.kernel.ipc.grant(self.pid, grant, 0, 0, write).length

    def copy_in(self, grant: int | Inline, offset: int, length: int) -> bytes:
        if isinstance(grant, Inline):  # (a read's: nothing to read from)
            raise KernelError(Errno.EFAULT, "a read's buffer")
        g = self.kernel.ipc.grant(self.pid, grant, offset, length, write=False)
        return g.aspace.copy_in(g.start + offset, length)

    def copy_out(self, grant: int | Inline, offset: int, data: bytes | memoryview) -> None:
        if isinstance(grant, Inline):
            if offset < 0 or offset + len(data) > grant.length:
                raise KernelError(Errno.EFAULT, "outside the buffer")
            grant.pieces.append((offset, bytes(data)))
            return
        g = self.kernel.ipc.grant(self.pid, grant, offset, len(data), write=True)
        g.aspace.copy_out(g.start + offset, memoryview(data))  # (its pages: views, not copies)


class ServerRuntime:
    """One server: its identity, its port, and the current incarnation of its code."""

    def __init__(self, kernel: Kernel, name: str, sid: int, serve: Serve,
                 crash_on: int = 0, crashes: int = 1) -> None:
        self.kernel, self.name, self.pid, self.serve = kernel, name, sid, serve
        # Fault injection: crash on calls crash_on .. crash_on + crashes - 1.
        self.crash_on, self.crashes = crash_on, crashes
        self.requests = 0
        self.served_now = 0  # calls served on the fast path (``serve_now``, direct calls)
        self.served_direct = 0  # of those, by a direct call (the scheduler untouched)
        self.inline = 0  # reads and writes whose bytes came or went in the messages
        # the direct call being served: its reply capability and where its answer (the
        # result ``ServerApi.reply`` was given) goes
        self.direct: tuple[Cap, list[Any]] | None = None
        self.current: Request | None = None
        self.injected: Request | None = None  # the request a fault struck before it was served
        self.redelivered: Message | None = None  # a notification given a second chance
        self.restarts = 0
        # Crashes in a row before the server took any request (rs gives up on those only:
        # a crash a request caused answers that request, so it cannot loop without callers).
        self.startup_crashes = 0
        self.outstanding: set[Request] = set()
        # calls forwarded to another server (reply id -> its port): a signal for the
        # caller goes there (``_interrupt``)
        self.forwarded: dict[int, Port] = {}
        self.prune_at = FORWARDED_MAX  # (twice what is left after each pruning: amortized)
        self.on_crash: Callable[[ServerRuntime], None] = lambda _r: None
        token = kernel.ipc.create_port(sid)
        self.port_token = token
        self.port = kernel.ipc.port(sid, token, Right.RECV)
        self.port.server = self  # (the IPC fast path finds the server of a port there)
        self.recv_channel = ("recv", self.port.id)  # (what its thread sleeps on in receive)
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

    def retire(self) -> None:
        """Give up on the server's code: from now on its port answers every call EIO
        (callers learn the server is gone instead of waiting for ever)."""
        def answer_eio(api: ServerApi) -> Generator[Port, Request, None]:
            while True:
                api.reply((yield self.port), -Errno.EIO)
        self.serve = answer_eio
        self._start()

    # -- Service ---------------------------------------------------------------
    def serve_now(self, reply_id: int) -> bool:
        """The fast path's half in the server: if this server was woken for the call whose
        reply capability is ``reply_id`` (it waited in receive and the call was handed to
        it), serve it at once, on the caller's time, outside the scheduler's loop, and
        where it handed the call on (``forward``), that server too; False when it was not
        (busy, or woken for something else): the caller waits its turn."""
        thread, pending = self.thread, self.pending
        message = pending.message if pending is not None else None
        if thread.state is not READY or message is None or message.reply is None \
                or message.reply.obj != reply_id:
            return False
        unqueue(self.kernel, thread)
        thread.state = RUNNING
        self.served_now += 1
        assert thread.service is not None
        thread.service.step(thread)  # (through its Service: a tracer may time the step)
        if thread.state is RUNNING:
            self.kernel.scheduler.add(thread)
        port = self.forwarded.get(reply_id)  # (the VFS's socket calls go to the net server)
        if port is not None and port.server is not None:
            port.server.serve_now(reply_id)
        return True

    def serve_direct(self, msg: Message, token: int) -> None:
        """A direct call's step (``linux/fastpath.direct``): the server, out of its receive
        for ``msg`` (``token``: its reply capability's), serves it and waits again. Code
        that gave its handler (``ServerApi.handler``) has it called straight, not through
        its generator, which stays in its receive meanwhile as its loop would; a fault to
        inject, a notification to give a second chance or a tracer's Service: ``step``."""
        thread = self.thread
        handler = self.api.handler
        reply = msg.reply
        if handler is None or msg.caps or reply is None or self.crash_on \
                or self.redelivered is not None or thread.service is not self:
            self._deliver(msg, token)
            assert thread.service is not None
            thread.service.step(thread)  # (through its Service: a tracer may time the step)
            return
        # (``_deliver`` of a message without grants, its reply capability minted already)
        spaces = self.kernel.ipc.caps.spaces
        space = spaces.get(self.pid)
        if space is None:
            space = spaces[self.pid] = {}
        space[token] = reply
        request = Request(msg.tag, msg.sender, token, [], False, msg, RESTART, msg.body)
        self.outstanding.add(request)
        self.current = request
        self.requests += 1  # (a call, as ``_inject`` counts them)
        try:
            handler(request)
        except Exception as err:  # the server boundary: nothing escapes to the kernel
            self._crashed(thread, err)
            return
        self.startup_crashes = 0
        port = self.port
        if port.queue:  # (queued meanwhile: the code's loop serves it on)
            self.pending = self._receive(thread, port)
            self.step(thread)
            return
        # back in its receive, as Ipc.receive on an empty port (without its Stop)
        self.kernel.ipc.receivers[thread] = self._deliver
        self.kernel.scheduler.sleep_on(thread, self.recv_channel, None, ETIMEDOUT)

    def resume(self, caller: Thread) -> None:
        """The fast path answered ``caller``, whose wake-up queued it: it runs on instead."""
        unqueue(self.kernel, caller)
        caller.state = RUNNING

    def step(self, thread: Thread) -> None:
        """Run the server until it waits for its next request."""
        request, self.pending = self.pending, None  # set when a message woke us
        try:
            while True:
                self.current = request
                if request is not None and type(request.body) is Interrupt:
                    self._interrupt(request.body.reply_id)
                    port = self.port  # the code was not woken: it still waits on its port
                elif request is not None and self._inject(request):
                    self.injected = request
                    port = self.code.throw(InjectedFault(
                        f"injected crash of {self.name} on request {self.requests}"))
                else:
                    port = self.code.send(request)  # type: ignore[arg-type]
                if request is not None:  # served: the code starts, the message is no poison
                    self.startup_crashes = 0
                    if request.message is self.redelivered:
                        self.redelivered = None
                request = self._receive(thread, port)
                if request is None:
                    return  # blocked: a delivery wakes us and step() runs again
        except StopIteration:
            thread.state = State.TERMINATED
        except Exception as err:  # the server boundary: nothing escapes to the kernel
            self._crashed(thread, err)

    def _interrupt(self, reply_id: int) -> None:
        """A signal for the caller of a call this server parked: answer it now with what it
        did (``on_crash``: a count, or nothing done), as Linux ends a blocked call; the
        server's code, finding its caller no longer waits, drops it. A call not parked
        (answered already, or being answered) is left alone: its answer is on its way."""
        for request in list(self.outstanding):
            reply = request.message.reply if request.message is not None else None
            if reply is not None and reply.obj == reply_id:
                done = request.on_crash
                self.api.reply(request, done if isinstance(done, int) else Again.INTERRUPTED)
                return
        port = self.forwarded.pop(reply_id, None)
        if port is not None:  # the server it was forwarded to has it: the signal follows
            self.kernel.ipc.notify(port, Message(Op.INTERRUPT, b"", 0,
                                                 body=Interrupt(reply_id)))

    def passed_on(self, reply_id: int, port: Port) -> None:
        """Remember where a call went (``ServerApi.forward``), forgetting the calls whose
        callers no longer wait once the list grows."""
        if len(self.forwarded) >= self.prune_at:
            waiting = self.kernel.ipc.replies
            self.forwarded = {r: p for r, p in self.forwarded.items() if r in waiting}
            self.prune_at = max(FORWARDED_MAX, 2 * len(self.forwarded))
        self.forwarded[reply_id] = port

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

    def _deliver(self, msg: Message, reply_token: int = 0) -> int:
        """Store ``msg`` as the pending request (``reply_token``: its reply capability's
        token, minted already by a direct call, put in this server's space as it is)."""
        caps = self.kernel.ipc.caps
        if reply_token and msg.reply is not None:
            space = caps.spaces.get(self.pid)
            if space is None:
                space = caps.spaces[self.pid] = {}
            space[reply_token] = msg.reply
            reply = reply_token
        else:
            reply = caps.install(self.pid, msg.reply) if msg.reply is not None else 0
        grants = [caps.install(self.pid, c) for c in msg.caps if c.type is ObjType.GRANT] \
            if msg.caps else []
        request = Request(msg.tag, msg.sender, reply, grants, message=msg, body=msg.body)
        if reply:
            self.outstanding.add(request)
        self.pending = request
        return 0

    def _crashed(self, thread: Thread, err: Exception) -> None:
        """Log, tell every caller owed an answer, requeue a notification once, tell rs.
        Runs inside the kernel's scheduler: nothing here may raise."""
        import traceback  # (here, not at every start of CloudOS: servers seldom crash)

        frames = traceback.extract_tb(err.__traceback__)
        where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
        self.kernel.log.warn(f"server {self.name} crashed: {type(err).__name__}: {err} ({where})")
        current, self.current = self.current, None
        culprit = None if current is self.injected else current
        self.injected = None
        self.startup_crashes += current is None
        for request in list(self.outstanding):
            self.api.reply(request, -Errno.EIO if request is culprit else request.on_crash)
        if current is not None and not current.reply_token and current.message is not None:
            self._redeliver(current.message)
        thread.state = State.TERMINATED
        try:
            self.on_crash(self)
        except Exception as report_err:  # rs unreachable: the server stays down, the kernel up
            self.kernel.log.warn(f"server {self.name} not restarted: {report_err}")

    def _redeliver(self, message: Message) -> None:
        """A notification in flight is not lost to a crash; one that crashes the server
        twice is dropped (a poison message would crash every incarnation)."""
        if message is self.redelivered:
            self.kernel.log.warn(f"server {self.name}: dropped a notification (op "
                                 f"{message.tag}) that crashed it twice")
            self.redelivered = None
            return
        self.redelivered = message
        self.port.queue.appendleft(message)
