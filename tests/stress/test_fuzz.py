"""The syscall fuzzer (tests/guest/fuzz.c) as a short CI campaign and a native sanity run.

The campaign's seeds are the first few, not chosen to avoid known bugs; the long soak is
``bench/soak_fuzz.py``. Nothing a guest does may take down the machine, a server or init:
every run must end with the fuzzer's summary line, exit status 0, no panic report, no
Python traceback and no server crash in the kernel log, within the host timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SUMMARY = re.compile(rb"^fuzz: seed (\d+), (\d+) children, (\d+) calls issued, "
                     rb"(\d+) children killed by signal, (\d+) hung$", re.M)
NOBODY = 65534
CAMPAIGN_SEEDS = [1, 2, 3]
CHILDREN, CALLS = 8, 300


def guest_env(**names: str) -> list[str]:
    """cloudos run options passing these variables to the guest (it gets no others; the
    fuzzer works under the guest's /tmp, its TMPDIR unset)."""
    return [word for name, value in names.items() for word in ("-e", f"{name}={value}")]


def assert_machine_survived(status: int, out: bytes, err: bytes) -> re.Match[bytes]:
    text = err.decode(errors="replace")
    assert b"KERNEL PANIC" not in err and b"kernel panic" not in err, text
    assert b"Traceback" not in err, text
    assert re.search(rb"server \S+ crashed", err) is None, text
    summary = SUMMARY.search(out)
    assert status == 0 and summary is not None, f"status {status}, init lost?\n{text}"
    return summary


@pytest.mark.parametrize("seed", CAMPAIGN_SEEDS)
def test_short_campaign(guest_bins, run_cloudos, seed: int) -> None:
    """8 children x 300 hostile calls: the machine, its servers and init survive."""
    fuzz = guest_bins.path("fuzz", "static")
    status, out, err = run_cloudos([fuzz, str(seed), str(CHILDREN), str(CALLS)], timeout=60)
    summary = assert_machine_survived(status, out, err)
    assert int(summary.group(2)) == CHILDREN and int(summary.group(3)) > CHILDREN


# Failing seeds minimised to one call by ``bench/soak_fuzz.py --minimise`` (FUZZ_FROM=I:
# only call I of that child is issued). Each is named after its entry in the findings.
# They replay fuzz.c's draws: a change to how it draws numbers or arguments changes them,
# and then they must be minimised again.
MINIMISED = [
    pytest.param("1", "10:11", "287", "286", id="F1-chown-uid-above-32-bits"),  # VFS crash
    pytest.param("27", "1:2", "17", "16", id="F3-munmap-past-user-top"),  # buddy panic
]


@pytest.mark.parametrize(("seed", "children", "calls", "first"), MINIMISED)
def test_minimised_failure(guest_bins, run_cloudos, seed: str, children: str, calls: str,
                           first: str) -> None:
    """A call that once took down the machine or a server, replayed alone."""
    fuzz = guest_bins.path("fuzz", "static")
    status, out, err = run_cloudos([fuzz, seed, children, calls],
                                   extra_args=guest_env(FUZZ_FROM=first), timeout=60)
    summary = assert_machine_survived(status, out, err)
    assert int(summary.group(3)) == 1


@pytest.mark.parametrize("mode", ["eintr", "restart"])
def test_interrupted_write_is_not_repeated(guest_bins, run_native, run_cloudos, mode) -> None:
    """Found by the fuzzer's trace (lines printed twice): 1 ms ticks beside pipe writes."""
    program = guest_bins.path("signal_write", "static")
    expected = b"reader got 32000 bytes\n"
    assert run_native([program, mode])[1] == expected
    status, out, err = run_cloudos([program, mode], timeout=60)
    assert (status, out) == (0, expected), err.decode(errors="replace")


def test_calls_are_reproducible(guest_bins, run_cloudos) -> None:
    """The same seed draws the same calls (FUZZ_TRACE=2 prints them without issuing)."""
    fuzz = guest_bins.path("fuzz", "static")
    traces = []
    for _ in range(2):
        status, out, err = run_cloudos([fuzz, "5", "2", "50"], timeout=60,
                                       extra_args=["--no-aslr", *guest_env(FUZZ_TRACE="2")])
        assert status == 0, err.decode(errors="replace")
        traces.append(re.findall(rb"fuzz: child \d+ call \d+: syscall\([^\n]*", err))
    assert len(traces[0]) == 100 and traces[0] == traces[1]


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def test_native_sanity(guest_bins) -> None:
    """A tiny campaign on the host, never as root: the program's own checks and output.

    As root the fuzzer could set the clock or mount file systems, so it refuses to run
    outside CloudOS, and this test runs it as nobody in a private directory instead."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    work = Path(tempfile.mkdtemp(prefix="fuzz-native-"))
    try:
        work.chmod(0o777)
        fuzz = work / "fuzz"
        shutil.copy(guest_bins.path("fuzz", "static"), fuzz)
        fuzz.chmod(0o755)
        root = os.geteuid() == 0
        if root:
            refused = subprocess.run([str(fuzz), "1", "1", "1"], capture_output=True, timeout=30)
            assert refused.returncode == 2 and b"refusing" in refused.stderr
        proc = subprocess.run([str(fuzz), "3", "3", "200"], cwd=work, capture_output=True,
                              env={"PATH": "/usr/bin:/bin", "TMPDIR": str(work)},
                              stdin=subprocess.DEVNULL, timeout=60,
                              preexec_fn=_as_nobody if root else None)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        summary = SUMMARY.search(proc.stdout)
        assert summary is not None and summary.group(2) == b"3", proc.stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
