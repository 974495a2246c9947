"""A machine in-process: programs that fork, exec and run threads give back every frame."""

from __future__ import annotations

import os

import pytest

from cloudos.machine import Machine


@pytest.mark.parametrize("name", ["hello", "malloc_stress", "sched_hogs"])
def test_no_frame_is_leaked(guest_bins, capfd, name: str) -> None:
    machine = Machine(256 << 20)
    frames = machine.kernel.frames
    before = frames.free_bytes
    program = str(guest_bins.path(name, "static"))
    machine.run(program, [program], dict(os.environ))
    assert frames.free_bytes == before, f"{(before - frames.free_bytes) // 4096} pages leaked"
    assert machine.kernel.frame_refs == {}, "copy-on-write owners left behind"
    assert [p.pid for p in machine.kernel.processes.values()] == [1]  # init, a zombie
    capfd.readouterr()


def test_init_exit_halts_the_machine(guest_bins, capfd) -> None:
    machine = Machine(256 << 20)
    program = str(guest_bins.path("hello", "static"))
    assert machine.run(program, [program], {}) == 0
    assert not machine.kernel.threads()
    assert capfd.readouterr().out == "hello, world\n"
