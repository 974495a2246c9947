"""The panic report: what a kernel bug looks like to the person who runs CloudOS.

Owns: turning an unexpected exception in the kernel, the personality or a hook
into the guide's report (the message; the thread and, when the bug was reached
through a system call, that call with its arguments, so it can be reproduced;
the Python stack inside CloudOS; the guest registers; the kernel log's tail),
then halting the machine. Never: a bare traceback on the console.
Called by: the CLI, when ``Machine.run`` raises. The kernel itself only halts
(``Kernel.halt``): the report needs the Linux names of system calls, which
the kernel image must not carry.
"""

from __future__ import annotations

import os
import traceback
from types import TracebackType
from typing import TextIO

from cloudos.kernel.boot import Kernel
from cloudos.linux.syscalls.table import table

PACKAGE = os.path.dirname(os.path.abspath(__file__))
ARGUMENT_REGS = ("RDI", "RSI", "RDX", "R10", "R8", "R9")


def report(kernel: Kernel, err: BaseException, out: TextIO) -> None:
    """Write the panic report for ``err`` to ``out`` and halt ``kernel``."""
    out.write(f"KERNEL PANIC: {type(err).__name__}: {err}\n")
    stack = _our_frames(err.__traceback__)
    registers = kernel.cpu.registers()
    thread = kernel.cpu.thread
    if thread is not None:
        where = f"  in {thread.process.name}[{thread.tid}]"
        if any(frame.name == "on_syscall" for frame in stack):
            where += f", system call {_call(registers)}"
        out.write(where + "\n")
    out.write("  Python stack, innermost last:\n")
    for frame in stack:
        out.write(f"    {os.path.relpath(frame.filename, os.path.dirname(PACKAGE))}:"
                  f"{frame.lineno} {frame.name}: {(frame.line or '').strip()}\n")
    out.write("  guest registers:\n")
    names = list(registers)
    for row in range(0, len(names), 3):
        out.write("   " + "".join(f" {n:>7} {registers[n]:016x}" for n in names[row:row + 3])
                  + "\n")
    out.write("  kernel log, last lines:\n")
    for stamp, _, line in kernel.log.lines[-12:]:
        out.write(f"    [{stamp:12.6f}] {line}\n")
    out.flush()
    kernel.halt()


def _call(registers: dict[str, int]) -> str:
    """``name(arg, ...)`` of the system call the registers hold (number in RAX)."""
    number = registers["RAX"]
    name = table()[number].name if number < len(table()) else f"syscall_{number:#x}"
    return f"{name}({', '.join(hex(registers[r]) for r in ARGUMENT_REGS)})"


def _our_frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    """The frames of the traceback inside CloudOS (not Unicorn's or argparse's)."""
    return [f for f in traceback.extract_tb(tb) if f.filename.startswith(PACKAGE)]
