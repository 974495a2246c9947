"""The machine's console: the kernel log's ring buffer, and the device its lines go to.

Owns: the last 1,000 lines the kernel logged, each with its time since boot and level
(dmesg's), and writing those at or below ``console_level`` to the console (standard
error), as Linux's printk does. Kept out of the kernel package, whose image has a budget.
Called by: the kernel (``kernel.log``), the CLI (which sets the level).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from cloudos.abi.dataclass import dataclass, field


@dataclass
class KernelLog:
    """The kernel's ring buffer; lines at or below ``console_level`` also go to ``console``."""

    console: TextIO = sys.stderr
    console_level: int = 4
    start: float = field(default_factory=time.monotonic)
    lines: list[tuple[float, int, str]] = field(default_factory=list)
    count: int = 0  # lines ever logged: the first kept is line number count - len(lines)

    def log(self, level: int, message: str) -> None:
        stamp = time.monotonic() - self.start
        self.lines.append((stamp, level, message))
        self.count += 1
        del self.lines[:-1000]
        if level <= self.console_level:
            self.console.write(f"[{stamp:12.6f}] {message}\n")
            self.console.flush()

    def warn(self, message: str) -> None:
        self.log(4, message)

    def info(self, message: str) -> None:
        self.log(6, message)
