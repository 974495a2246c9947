"""``cloudos run --strace``: every system call of every guest thread, in strace's format.

Owns: the lines strace writes for a traced tree of processes (``strace -f``): the
``[pid  N] `` prefix while more than one task is traced, a call with its arguments as
``decode.SHAPES`` describes them (written arguments shown when it returns), the result
at column 40 (``= 3``, ``= -1 ENOENT (No such file or directory)``, ``= ?``), a call
that sleeps while others print as ``read(0,  <unfinished ...>`` and later
``<... read resumed>...``, ``--- SIGCHLD {...} ---`` for each signal a thread takes,
``+++ exited with 0 +++``, ``+++ killed by SIGSEGV +++``; ``-e trace=`` (a set of names),
``-tt`` (wall-clock time of day) and ``-T`` (time spent in the call).
Never: writes to the guest's files; lines go to the file given or the host's stderr.
Called by: ``observe.Observer`` (events), the CLI (``Strace.open_file``).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from cloudos.abi.sysno import LINUX_TABLE_END, Native, Sysno
from cloudos.kernel.task import Process, Thread
from cloudos.linux.process import LinuxProcess
from cloudos.linux.syscalls.decode import SHAPES, Arg, Kind, Ret, Shape
from cloudos.linux.syscalls.table import table
from cloudos.trace.observe import InFlight
from cloudos.trace.render import (Renderer, prctl_result, quote, result, s64, signame,
                                  siginfo)

COLUMN = 40  # strace's -a default: where "= result" starts
_FORKS = frozenset({Sysno.CLONE, Sysno.FORK, Sysno.VFORK})


def call_name(nr: int) -> str:
    if nr < LINUX_TABLE_END:
        return table()[nr].name
    if nr in Sysno._value2member_map_:
        return Sysno(nr).call_name
    if nr in Native._value2member_map_:
        return Native(nr).call_name
    return f"syscall_{nr:#x}"


def _fallback(nr: int) -> Shape:
    """A call the decoding table does not cover: its arguments as numbers."""
    handler = table()[nr].handler if nr < LINUX_TABLE_END else None
    code = getattr(handler, "__code__", None)
    count = min(6, code.co_argcount - 1) if code is not None else 6
    return Shape(tuple(Arg(Kind.RAW) for _ in range(max(0, count))))


def _align(call: str, shown: str) -> str:
    """``call = result``, the ``=`` at column 40 when the call is shorter (strace -a)."""
    return call.ljust(COLUMN) + "= " + shown if len(call) < COLUMN else f"{call} = {shown}"


def shape_of(nr: int) -> Shape:
    if nr in Sysno._value2member_map_:
        shape = SHAPES.get(Sysno(nr))
        if shape is not None:
            return shape
    return _fallback(nr)


def unknown_names(names: set[str]) -> set[str]:
    """The names of ``names`` that are no system call (for the CLI's usage error)."""
    known = {row.name for row in table()} | {m.call_name for m in Sysno} \
        | {m.call_name for m in Native}
    return names - known


class Strace:
    """A sink of ``observe.Observer`` that writes strace's lines to ``out``."""

    def __init__(self, out: TextIO, only: set[str] | None = None, strsize: int = 32,
                 timestamps: bool = False, durations: bool = False,
                 init_env: int | None = None) -> None:
        self.out, self.only = out, only
        self.init_env = init_env  # init's environment size: its execve line is written
        self.render = Renderer(strsize)
        self.timestamps, self.durations = timestamps, durations
        self.live: set[int] = set()   # tids traced and not ended: more than one, a prefix
        self.open: InFlight | None = None  # a sleeping call whose line waits to be finished

    @classmethod
    def open_file(cls, path: str, **options: Any) -> Strace:
        """To ``path``, or to stderr for ``-``."""
        try:
            out = sys.stderr if path == "-" else open(path, "w", buffering=1)  # noqa: SIM115
        except OSError as err:
            raise ValueError(f"--strace {path}: {err.strerror}") from None
        return cls(out, **options)

    # -- lines -----------------------------------------------------------------
    def _leader(self, tid: int, wall: float | None = None) -> str:
        text = f"[pid {tid:>5}] " if len(self.live) > 1 else ""
        if self.timestamps:
            wall = time.time() if wall is None else wall
            text += time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall % 1 * 1e6):06d} "
        return text

    def _write(self, line: str) -> None:
        self._cut_open()
        self.out.write(line + "\n")

    def _cut_open(self) -> None:
        """Another line comes while a call sleeps: its line ends ``<unfinished ...>``."""
        call, self.open = self.open, None
        if call is not None:
            self.out.write(call.notes["head"] + " <unfinished ...>\n")
            call.notes["unfinished"] = True

    def _shown(self, call: InFlight) -> bool:
        return self.only is None or call_name(call.nr) in self.only

    # -- events ----------------------------------------------------------------
    def _init_exec(self, process: Process) -> None:
        """strace's first line, the execve that started the program: init was loaded by
        the machine, not by a call, so its line is written from what init runs."""
        if self.init_env is None or process.pid != 1 or (
                self.only is not None and "execve" not in self.only):
            return
        argv = ", ".join(quote(arg[:self.render.strsize]) + ("..." if len(arg) >
                                                            self.render.strsize else "")
                         for arg in process.cmdline.split(b"\0")[:-1])
        line = f'execve({quote(process.exe)}, [{argv}], /* {self.init_env} vars */)'
        self._write(_align(self._leader(process.pid) + line, "0"))

    def enter(self, thread: Thread, call: InFlight) -> None:
        if not self.live:
            self._init_exec(thread.process)
        self.live.add(thread.tid)
        if not self._shown(call):
            return
        shape = shape_of(call.nr)
        first_out = next((i for i, a in enumerate(shape.args) if a.out), len(shape.args))
        parts = [self.render.arg(thread, call.args, i, a) for i, a in
                 enumerate(shape.args[:first_out])]
        head = call_name(call.nr) + "(" + ", ".join(p for p in parts if p is not None)
        if first_out < len(shape.args) and any(p is not None for p in parts):
            head += ", "
        call.notes.update(head=self._leader(thread.tid, call.wall) + head, shape=shape,
                          first_out=first_out)

    def block(self, thread: Thread, call: InFlight) -> None:
        if "head" in call.notes:
            self._cut_open()
            self.open = call

    def finish(self, thread: Thread, call: InFlight, value: int | None, now: float) -> None:
        if call.nr in _FORKS and value is not None and s64(value) > 0:
            self.live.add(s64(value))  # the child is traced from its birth (strace -f)
        if "head" not in call.notes:
            return
        shape: Shape = call.notes["shape"]
        rest = [] if value is None else [
            self.render.arg(thread, call.args, i, a, value)
            for i, a in enumerate(shape.args) if i >= call.notes["first_out"]]
        shown_rest = [p for p in rest if p is not None]
        tail = ", ".join(shown_rest) + ")"
        head = call.notes["head"]
        if not shown_rest and value is not None and head.endswith(", "):
            head = head[:-2]  # (prctl(PR_GET_DUMPABLE): its option says nothing follows)
        if value is None and shape.ret is not Ret.NONE and call.notes["first_out"] < len(
                shape.args):  # it never returned, with arguments left to show at its return
            tail = " <unfinished ...>" + tail  # (killed, or its thread ended), as strace
        if self.open is call:
            self.open = None
            line = head + tail
        elif call.notes.get("unfinished"):
            self._cut_open()
            line = self._leader(thread.tid) + f"<... {call_name(call.nr)} resumed>" + tail
        else:
            self._cut_open()
            line = head + tail
        shown = "?" if value is None else result(value, shape.ret)
        if call.nr == Sysno.PRCTL and value is not None:
            shown += prctl_result(call.args, value)
        line = _align(line, shown)
        if self.durations and value is not None:
            line += f" <{now - call.start:.6f}>"
        self.out.write(line + "\n")

    def signal(self, thread: Thread, info: Any, now: float) -> None:
        text = siginfo(info.signo, info.code, info.pid, info.uid, info.status, info.addr,
                       getattr(info, "errno", 0), getattr(info, "syscall", 0),
                       getattr(info, "arch", 0))
        self._write(f"{self._leader(thread.tid)}--- {signame(info.signo)} {text} ---")

    def thread_exit(self, thread: Thread, code: int, now: float, killed_by: int = 0) -> None:
        what = f"killed by {signame(killed_by)}" if killed_by else f"exited with {code}"
        self._write(f"{self._leader(thread.tid)}+++ {what} +++")
        self.live.discard(thread.tid)

    def process_exit(self, process: Process, now: float) -> None:
        if process.pid not in self.live:
            return
        if process.killed_by:
            core = isinstance(process.personality, LinuxProcess) and \
                process.personality.core_dumped
            what = f"killed by {signame(process.killed_by)}" + (" (core dumped)" if core else "")
        else:
            what = f"exited with {process.exit_code}"
        self._write(f"{self._leader(process.pid)}+++ {what} +++")
        for thread in process.threads:
            self.live.discard(thread.tid)
        self.live.discard(process.pid)

    def fault(self, thread: Thread, address: int, now: float) -> None:
        return None

    def ipc(self, thread: Thread, what: str, flow: int, now: float) -> None:
        return None

    def server_slice(self, thread: Thread, start: float, now: float) -> None:
        return None

    def close(self, now: float) -> None:
        self._cut_open()
        self.out.flush()
        if self.out is not sys.stderr:
            self.out.close()
