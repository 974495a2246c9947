"""Address space layout randomization: --aslr boot (the default: random once per boot
for each program), exec (fresh at every exec, as Linux), off (fixed; --no-aslr too).

aslr.c prints its layout (code, stack, an mmap) and, given N, execs itself N times:
one line per exec. Linux's own behaviour (exec mode: each exec moves; off: setarch -R)
is checked on the host beside the guest's."""

from __future__ import annotations

import os
import shutil

import pytest


def execs(guest_bins, run_cloudos, extra: list[str], mode: str | None = None) -> list[bytes]:
    """The layouts of the two execs of one run (``mode``: CLOUDOS_ASLR, None: unset)."""
    prog = guest_bins.path("aslr", "static-pie")
    env = {k: v for k, v in os.environ.items() if k != "CLOUDOS_ASLR"}
    if mode is not None:
        env["CLOUDOS_ASLR"] = mode
    status, out, err = run_cloudos([prog, "1"], env=env, extra_args=extra)
    assert status == 0, err.decode()
    lines = out.splitlines()
    assert len(lines) == 2, out
    return lines


def runs(guest_bins, run_cloudos, extra: list[str], count: int = 3) -> list[list[bytes]]:
    return [execs(guest_bins, run_cloudos, extra) for _ in range(count)]


def test_boot_mode_is_the_default_and_keeps_a_layout_within_a_boot(
        guest_bins, run_cloudos) -> None:
    for extra in ([], ["--aslr", "boot"]):
        seen = runs(guest_bins, run_cloudos, extra)
        for first, second in seen:
            assert first == second  # a re-exec of the same program: the same layout
        assert len({first for first, _ in seen}) == 3  # each boot: another layout


def test_the_mode_from_the_environment(guest_bins, run_cloudos) -> None:
    first, second = execs(guest_bins, run_cloudos, [], "exec")
    assert first != second
    first, second = execs(guest_bins, run_cloudos, [], "off")
    assert first == second == execs(guest_bins, run_cloudos, ["--no-aslr"])[0]
    first, second = execs(guest_bins, run_cloudos, ["--aslr", "boot"], "exec")  # the option wins
    assert first == second


def test_exec_mode_moves_every_exec_as_linux_does(guest_bins, run_cloudos,
                                                  run_native) -> None:
    prog = guest_bins.path("aslr", "static-pie")
    native = run_native([prog, "1"])
    assert native[0] == 0
    native_lines = native[1].splitlines()
    seen = runs(guest_bins, run_cloudos, ["--aslr", "exec"])
    for first, second in seen:
        assert first != second
    assert len({line for pair in seen for line in pair}) == 6
    with open("/proc/sys/kernel/randomize_va_space") as f:
        if f.read().strip() == "2":  # the host randomizes: its two execs differ too
            assert native_lines[0] != native_lines[1]


def test_off_gives_the_same_layout_every_time(guest_bins, run_cloudos, run_native) -> None:
    prog = guest_bins.path("aslr", "static-pie")
    for extra in (["--aslr", "off"], ["--no-aslr"]):
        seen = runs(guest_bins, run_cloudos, extra, 2)
        assert len({line for pair in seen for line in pair}) == 1
    if shutil.which("setarch") is None:
        pytest.skip("no setarch on the host")
    status, out, _ = run_native(["setarch", "-R", prog, "1"])  # Linux's own: fixed too
    assert status == 0
    first, second = out.splitlines()
    assert first == second


def test_personality_turns_boot_mode_off(guest_bins, run_cloudos) -> None:
    """setarch -R inside the guest (ADDR_NO_RANDOMIZE): fixed, whatever the mode."""
    if shutil.which("setarch") is None:
        pytest.skip("no setarch on the host")
    prog = guest_bins.path("aslr", "static-pie")
    outs = set()
    for mode in ("boot", "exec"):
        status, out, err = run_cloudos(["/usr/bin/setarch", "-R", prog, "1"],
                                       extra_args=["--aslr", mode])
        assert status == 0, err.decode()
        outs.update(out.splitlines())
    assert len(outs) == 1
