"""``cloudos run --trace FILE.json``: one Chrome/Perfetto timeline of the whole machine.

Owns: the trace-event JSON (ui.perfetto.dev and chrome://tracing open it): a track per
guest thread (named ``comm[tid]``) whose slices are its system calls (name, decoded
arguments, result); a track per server thread (vfs, rs) whose slices are its steps;
each VFS call as two flows, the request from the caller's call to the server's step
that took it and the reply from that step back to the call; page faults, signals,
exec and exit as instant events on the thread's track; a track per CPU with the
scheduler's slices (which thread, its MLFQ level, why the slice ended: quantum,
preempt, block, yield, exit, trap).
Never: touches the machine beyond reading it; the file is written once, at halt.
Called by: ``observe.Observer`` (events), ``session.Session`` (``write``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from cloudos.abi.sysno import Sysno
from cloudos.kernel.boot import Kernel
from cloudos.kernel.task import Process, Thread
from cloudos.trace.observe import InFlight
from cloudos.trace.render import Renderer, result, signame, siginfo
from cloudos.trace.strace import call_name, shape_of

CPU_PID = 0            # the pseudo-process whose threads are the CPUs
SERVER_PID = 1 << 20   # servers have ids below 0 (vfs -2): their tracks are this + -id
Event = dict[str, Any]


class Timeline:
    """A sink of ``observe.Observer`` that keeps trace events, written by ``write``."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.render = Renderer(32)
        self.events: list[Event] = []
        self.names: dict[tuple[int, int], str] = {}
        self.server_slices: dict[int, list[tuple[float, float]]] = {}
        self.receives: list[tuple[int, int, int, float]] = []  # (pid, tid, flow, time)
        # perf_counter() of the events to the scheduler's clock (seconds since its epoch)
        self.offset = time.perf_counter() - kernel.scheduler.clock() + kernel.scheduler.epoch

    def _us(self, perf: float) -> float:
        return round((perf - self.offset) * 1e6, 3)

    def _track(self, thread: Thread) -> tuple[int, int]:
        pid, tid = thread.process.pid, thread.tid
        key = (pid, tid) if pid > 0 else (SERVER_PID - pid, SERVER_PID - tid)
        self.names[key] = f"{thread.process.name}[{thread.tid}]"
        return key

    def _instant(self, thread: Thread, name: str, now: float, args: dict[str, Any]) -> None:
        pid, tid = self._track(thread)
        self.events.append({"ph": "i", "s": "t", "name": name, "cat": "event", "pid": pid,
                            "tid": tid, "ts": self._us(now), "args": args})

    # -- events ----------------------------------------------------------------
    def enter(self, thread: Thread, call: InFlight) -> None:
        shape = shape_of(call.nr)
        shown = [self.render.arg(thread, call.args, i, a) for i, a in enumerate(shape.args)
                 if not a.out]
        call.notes["args"] = ", ".join(p for p in shown if p is not None)
        self._track(thread)

    def block(self, thread: Thread, call: InFlight) -> None:
        channel = thread.channel
        if isinstance(channel, tuple) and len(channel) == 2 and channel[0] == "reply" \
                and "flow" not in call.notes:  # (the observer saw no handoff: the message
            call.notes["flow"] = channel[1]     # waited in the server's queue)
            self._flow_out(thread, channel[1], self._us(call.start) + 0.001)

    def finish(self, thread: Thread, call: InFlight, value: int | None, now: float) -> None:
        pid, tid = self._track(thread)
        name = call_name(call.nr)
        shape = shape_of(call.nr)
        args: dict[str, Any] = {"args": call.notes.get("args", ""),
                                "result": "?" if value is None else result(value, shape.ret)}
        start, end = self._us(call.start), self._us(now)
        self.events.append({"ph": "X", "name": name, "cat": "syscall", "pid": pid, "tid": tid,
                            "ts": start, "dur": max(0.001, round(end - start, 3)),
                            "args": args})
        flow = call.notes.get("flow")
        if flow is not None and value is not None:
            self.events.append({"ph": "f", "bp": "e", "name": "ipc", "cat": "ipc",
                                "id": 2 * flow + 1, "pid": pid, "tid": tid,
                                "ts": max(start, round(end - 0.001, 3))})
        if call.nr == Sysno.EXECVE and value == 0:
            self._instant(thread, "exec", now, {"program": thread.process.exe.decode(
                errors="replace")})

    def signal(self, thread: Thread, info: Any, now: float) -> None:
        self._instant(thread, signame(info.signo), now, {"siginfo": siginfo(
            info.signo, info.code, info.pid, info.uid, info.status, info.addr)})

    def thread_exit(self, thread: Thread, code: int, now: float, killed_by: int = 0) -> None:
        self._instant(thread, "exit", now, {"signal": killed_by} if killed_by else
                      {"status": code})

    def process_exit(self, process: Process, now: float) -> None:
        if process.threads:
            what = {"killed_by": signame(process.killed_by)} if process.killed_by else \
                {"status": process.exit_code}
            self._instant(process.threads[0], "exit", now, what)

    def fault(self, thread: Thread, address: int, now: float) -> None:
        self._instant(thread, "page fault", now, {"address": f"{address:#x}"})

    def _flow_out(self, thread: Thread, flow: int, ts: float) -> None:
        pid, tid = self._track(thread)
        self.events.append({"ph": "s", "name": "ipc", "cat": "ipc", "id": 2 * flow,
                            "pid": pid, "tid": tid, "ts": ts})

    def ipc(self, thread: Thread, what: str, flow: int, now: float) -> None:
        if what == "call":  # a system call's message, handed to a server waiting for it
            self._flow_out(thread, flow, self._us(now))
            return
        pid, tid = self._track(thread)
        if what == "receive":
            self.receives.append((pid, tid, flow, self._us(now)))
        else:
            self.events.append({"ph": "s", "name": "ipc", "cat": "ipc", "id": 2 * flow + 1,
                                "pid": pid, "tid": tid, "ts": self._us(now)})

    def server_slice(self, thread: Thread, start: float, now: float) -> None:
        pid, tid = self._track(thread)
        begin, end = self._us(start), self._us(now)
        self.server_slices.setdefault(tid, []).append((begin, end))
        self.events.append({"ph": "X", "name": f"{thread.process.name} step", "cat": "server",
                            "pid": pid, "tid": tid, "ts": begin,
                            "dur": max(0.001, round(end - begin, 3))})

    def close(self, now: float) -> None:
        return None

    # -- the file --------------------------------------------------------------
    def _flows_in(self) -> list[Event]:
        """Each request's arrival: bound to the server's step running then, or else to
        the next step (a message handed over while the server waited)."""
        events = []
        for pid, tid, flow, ts in self.receives:
            inside = any(b <= ts <= e for b, e in self.server_slices.get(tid, ()))
            event: Event = {"ph": "f", "name": "ipc", "cat": "ipc", "id": 2 * flow, "pid": pid,
                            "tid": tid, "ts": ts}
            if inside:
                event["bp"] = "e"
            events.append(event)
        return events

    def _sched(self) -> list[Event]:
        """The scheduler's slices, on a track per CPU."""
        events: list[Event] = []
        names = {(p.pid, t.tid): p.name for p in self.kernel.processes.values()
                 for t in p.threads}
        for start, duration, pid, tid, level, reason, cpu in self.kernel.scheduler.trace:
            name = names.get((pid, tid)) or self.names.get((pid, tid), "?").split("[")[0]
            events.append({"ph": "X", "name": f"{name}[{tid}] L{level}", "cat": "sched",
                           "pid": CPU_PID, "tid": cpu, "ts": round(start * 1e6, 3),
                           "dur": max(0.001, round(duration * 1e6, 3)),
                           "args": {"pid": pid, "tid": tid, "level": level,
                                    "ended_by": reason}})
        return events

    def write(self, path: str) -> None:
        meta: list[Event] = [{"ph": "M", "name": "process_name", "pid": CPU_PID, "tid": 0,
                              "args": {"name": "CPUs (scheduler)"}}]
        meta += [{"ph": "M", "name": "thread_name", "pid": CPU_PID, "tid": cpu.index,
                  "args": {"name": f"CPU {cpu.index}"}} for cpu in self.kernel.cpus]
        for pid in sorted({pid for pid, _ in self.names}):
            process = self.kernel.processes.get(pid)
            label = process.name if process else self.names.get((pid, pid), str(pid))
            meta.append({"ph": "M", "name": "process_name", "pid": pid, "tid": pid,
                         "args": {"name": f"{label.split('[')[0]} {pid}"}})
        meta += [{"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                  "args": {"name": name}} for (pid, tid), name in sorted(self.names.items())]
        events = meta + self._sched() + self.events + self._flows_in()
        with open(path, "w") as f:
            json.dump({"traceEvents": events, "displayTimeUnit": "ms",
                       "otherData": {"source": "cloudos run --trace"}}, f)

