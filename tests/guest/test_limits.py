"""Bounded resources: resource limits as Linux enforces them, tmpfs filling to ENOSPC, a
fork bomb contained, and the host memory of a run not growing with what the guest repeats.

``limits.c`` sections run natively and under CloudOS with the same output; the tmpfs
and bomb checks depend on the machine's size, so they run under CloudOS only, with
expectations computed from ``--mem``. Host memory is the peak RSS (VmHWM) of
``cloudos run``, measured for a small and a larger count of the same load: the growth
per iteration must stay below a stated bound (a leak of a few hundred bytes per call
or a dead process kept shows well above it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, cloudos_command

from cloudos.sandbox import hosts_text


if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

SECTIONS = ["nofile", "fsize", "as", "heap", "stack", "cpu"]


def _assert_same(native, guest) -> None:
    detail = f"cloudos stderr:\n{guest[2].decode(errors='replace')}"
    assert b"Traceback" not in guest[2], detail
    assert guest[1] == native[1], detail
    assert guest[0] == native[0], detail


@pytest.mark.parametrize("section", SECTIONS)
def test_limits_match_linux(section, guest_bins, run_native, run_cloudos) -> None:
    prog = guest_bins.path("limits", "static")
    native = run_native([prog, section])
    assert native[0] == 0 and native[1].startswith(f"== {section}\n".encode()), native
    _assert_same(native, run_cloudos([prog, section]))


def test_nofile_emfile_at_the_limit(guest_bins, run_cloudos) -> None:
    status, out, err = run_cloudos([guest_bins.path("limits", "static"), "nofile"])
    assert status == 0, err.decode()
    assert b"open until failure: last fd 15, then EMFILE\n" in out, out.decode()
    assert b"dup2 to 16: -1 EBADF\n" in out and b"F_DUPFD 16: -1 EINVAL\n" in out, out.decode()


@pytest.mark.parametrize("directory", ["/tmp", "/dev/shm"])
def test_tmpfs_fills_to_enospc(directory, guest_bins, run_cloudos) -> None:
    """A 64 MiB machine: each tmpfs is 32 MiB (half the RAM, as Linux), full at ENOSPC.
    The machine's tmpfs mounts share one pool, where its own /etc/hostname and /etc/hosts
    (in the root's writable layer) already are."""
    status, out, err = run_cloudos([guest_bins.path("limits", "static"), "tmpfs", directory],
                                   extra_args=["--mem", "64M"])
    assert status == 0, err.decode()
    size = 32 << 20
    hosts = Path("/etc/hosts").read_bytes() if Path("/etc/hosts").is_file() else None
    used = len(b"cloudos\n") + len(hosts_text("cloudos", hosts))
    assert out.decode().splitlines() == [
        f"filled {size - used} of {size} bytes: ENOSPC",
        f"statfs: free {(size - used) // 4096} blocks before, 0 when full",
        "ftruncate growth: 0",  # (growing allocates nothing, as on Linux)
        "another file: write: -1 ENOSPC",
        "after unlink: write: 65536",
    ], err.decode()


def _peak_rss_kib(argv: list[str], extra_args: list[str]) -> tuple[int, bytes]:
    """Run ``cloudos run`` in a fresh Python whose only child it is; its VmHWM in KiB."""
    probe = ("import resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
             "sys.stdout.buffer.write(p.stdout)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", probe, *cloudos_command(argv, extra_args)],
                         cwd=REPO_ROOT, capture_output=True, timeout=120, check=True).stdout
    *lines, peak = out.decode().splitlines()
    return int(peak), "\n".join(lines).encode()


# (load, small count, large count, bytes of host memory allowed per extra iteration)
LOADS = [
    ("reads", 2_000, 40_000, 100),
    ("procs", 100, 1_000, 2_000),
    ("forkexec", 50, 400, 4_000),
]


@pytest.mark.parametrize("load,small,large,per_iteration", LOADS, ids=[x[0] for x in LOADS])
def test_host_memory_does_not_grow_with_iterations(load, small, large, per_iteration,
                                                   guest_bins) -> None:
    prog = str(guest_bins.path("bounded", "static"))
    peaks = []
    for count in (small, large):
        peak, out = _peak_rss_kib([prog, load, str(count)], ["--mem", "128M"])
        assert b": ok" in out, out
        peaks.append(peak)
    growth = (peaks[1] - peaks[0]) * 1024 / (large - small)
    assert growth < per_iteration, f"{peaks} KiB: {growth:.0f} bytes per iteration"


def test_host_file_larger_than_the_machine(guest_bins, tmp_path) -> None:
    """A sparse 1 GiB host file on a 64 MiB machine: mapping it whole is ENOMEM (its pages
    are read at mmap time, and cannot all fit in RAM) and reading it all in 1 MiB reads
    works; neither brings the file into host memory (it cost 2.4 GiB for 3 GiB before)."""
    (tmp_path / "big").touch()
    subprocess.run(["truncate", "-s", "1G", str(tmp_path / "big")], check=True)
    prog = str(guest_bins.path("limits", "static"))
    peak, out = _peak_rss_kib([prog, "hostfile", str(tmp_path / "big")], ["--mem", "64M"])
    assert out.decode().splitlines() == [
        "mmap of 1073741824 bytes: ENOMEM",
        "read 1073741824 bytes in 1 MiB reads, 0 chunks not zero",
    ]
    assert peak < 192 << 10, f"peak RSS {peak} KiB"


def test_fork_bomb_is_contained(guest_bins, run_cloudos) -> None:
    """A root guest (RLIMIT_NPROC does not bind root) forks until the machine's own
    process cap says EAGAIN; the machine survives and the bomb is cleaned up."""
    status, out, err = run_cloudos([guest_bins.path("bounded", "static"), "forkbomb", "100000"],
                                   extra_args=["--mem", "64M"], timeout=60)
    assert (status, out) == (0, b"fork bomb: EAGAIN\n"), err.decode()


def test_fork_short_of_frames_fails_with_enomem(guest_bins, run_cloudos) -> None:
    """A fork that finds no frames for the child's page tables fails with ENOMEM and
    leaves the parent as it was: its pages unchanged, nothing leaked, so that once it
    gives memory back a fork works (a fork failing half-way used to keep the child's
    half-made tables, and the parent's next page then met the OOM killer)."""
    status, out, err = run_cloudos([guest_bins.path("fork_enomem", "static")],
                                   extra_args=["--mem", "16M"], timeout=300)
    assert (status, out) == (0, b"fork: Cannot allocate memory after many regions; "
                                b"pages changed: 0\nafter unmapping half: fork works\n"), \
        err.decode()


def test_fd_bomb_meets_file_max(guest_bins) -> None:
    """Children each opening files up to RLIMIT_NOFILE: the machine's file-max (one open
    file per 10 KiB of RAM, at least 8192, as Linux) says ENFILE before their fds cost
    the host more than a fraction of the guest's RAM."""
    peak, out = _peak_rss_kib([str(guest_bins.path("bounded", "static")), "fdbomb", "100"],
                              ["--mem", "64M"])
    assert out == b"fd bomb: ENFILE", out
    assert peak < 128 << 10, f"peak RSS {peak} KiB"
