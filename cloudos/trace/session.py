"""What a run asked to trace, and the tracing of one machine from boot to halt.

Owns: the options (``--strace[=FILE]``, ``--strace-filter``, ``--strace-size``,
``--strace-timestamps``, ``--strace-durations``, ``--trace FILE.json``), attaching the
sinks they ask for before the program runs, and finishing them when the machine halts
(the open strace line cut, the timeline written with the scheduler's slices).
Called by: the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudos.abi.dataclass import dataclass
from cloudos.trace import observe
from cloudos.trace.strace import Strace
from cloudos.trace.timeline import Timeline

if TYPE_CHECKING:
    from cloudos.machine import Machine

TRACE_SLICES = 1_000_000  # the scheduler keeps at most this many slices for --trace


@dataclass(frozen=True)
class Options:
    strace: str | None = None          # a file, "-" for stderr, None: no strace
    only: frozenset[str] | None = None  # -e trace=: the calls shown
    strsize: int = 32                  # -s
    timestamps: bool = False           # -tt
    durations: bool = False            # -T
    timeline: str | None = None        # --trace FILE.json

    @property
    def wanted(self) -> bool:
        return self.strace is not None or self.timeline is not None


class Session:
    """The sinks attached to one machine."""

    def __init__(self, machine: Machine, options: Options, init_env: int | None = None) -> None:
        self.machine, self.options = machine, options
        sinks: list[observe.Sink] = []
        if options.strace is not None:
            sinks.append(Strace.open_file(options.strace, only=options.only,
                                          strsize=options.strsize,
                                          timestamps=options.timestamps,
                                          durations=options.durations,
                                          init_env=init_env))
        self.timeline: Timeline | None = None
        if options.timeline is not None:
            self.timeline = Timeline(machine.kernel)
            sinks.append(self.timeline)
            scheduler = machine.kernel.scheduler
            scheduler.trace_limit = max(scheduler.trace_limit, TRACE_SLICES)
        self.observer = observe.attach(machine, sinks, timeline=self.timeline is not None)

    def close(self) -> None:
        """The machine halted: finish every sink (the timeline file is written now)."""
        self.observer.close()
        if self.timeline is not None and self.options.timeline is not None:
            self.timeline.write(self.options.timeline)
