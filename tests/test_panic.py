"""A kernel bug reached by a guest is a panic report, never a bare traceback.

The report is built outside the kernel (``cloudos.panic``); this checks its
parts on a bug injected into a system call handler, so the test does not depend
on any real bug staying unfixed.
"""

from __future__ import annotations

import io

import pytest

from cloudos.linux.syscalls import table
from cloudos.machine import Machine, Mount, Sandbox
from cloudos.panic import report


def test_a_bug_in_a_handler_gives_the_report_with_the_call(guest_bins, monkeypatch) -> None:
    def broken(t, *args):
        raise AssertionError("injected bug")

    handlers = list(table.handlers())
    handlers[1] = broken  # write
    monkeypatch.setattr("cloudos.machine.handlers", lambda: handlers)
    shown = str(guest_bins.directory)
    machine = Machine(64 << 20, sandbox=Sandbox(mounts=(Mount(shown, shown),)))
    program = str(guest_bins.path("hello", "static"))
    with pytest.raises(AssertionError) as caught:
        machine.run(program, [program], {})
    out = io.StringIO()
    report(machine.kernel, caught.value, out)
    text = out.getvalue()
    assert text.startswith("KERNEL PANIC: AssertionError: injected bug\n")
    assert "system call write(0x1, " in text
    assert "test_panic.py" not in text.split("Python stack")[0]
    assert "cloudos/kernel/trap.py" in text and "RIP" in text and "init: pid 1" in text
    assert not [p for p in machine.kernel.processes.values() if not p.zombie]
