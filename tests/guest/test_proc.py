"""/proc and /proc/sys as programs read them: guest programs (tests/guest/proc_*.c) that
read and parse each file, run natively and under CloudOS with the same output where the
values are comparable (file types and modes, shapes, field counts, error codes, a value
written back reads back), and under CloudOS only where the values differ by nature or
the program must change them (the native run would change the host's)."""

from __future__ import annotations

import shutil

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)


def _assert_same(native, guest) -> None:
    detail = f"cloudos stderr:\n{guest[2].decode(errors='replace')}"
    assert b"Traceback" not in guest[2], detail
    assert guest[1] == native[1], detail
    assert guest[0] == native[0], detail


def _check_native(native, expected) -> None:
    status, out, err = native
    assert status == 0, (status, out, err)
    missing = [line for line in expected if line not in out.splitlines()]
    assert not missing, f"native run lacks {missing!r}:\n{out.decode(errors='replace')}"


# Lines each section's native run must print (a broken program cannot compare vacuously)
SECTIONS = {
    ("proc_sys", "read"): [b"kernel/pid_max: a number", b"kernel/ostype: file 0444 uid 0",
                           b"kernel/hostname: file 0644 uid 0", b"ostype: Linux",
                           b"osrelease is uname's release: 1", b"tainted: 0",
                           b"uuid: uuid 1, a new one each read 1, version 4 1",
                           b"read of a directory: -1 EISDIR", b"missing: ENOENT"],
    ("proc_sys", "dirs"): [b"/proc lists sys: 1, a directory 1",
                           b"kernel lists pid_max: 1, a file 1",
                           b"fs lists nr_open: 1, a file 1",
                           b"random lists boot_id: 1, uuid: 1"],
    ("proc_sys", "write"): [b"write back kernel/pid_max: 0, reads the same 1",
                            b"pid_max \"abc\": EINVAL", b"pid_max 100 (below 301): EINVAL",
                            b"ostype as root: EACCES", b"pid_max as nobody: EACCES",
                            b"create in /proc/sys/kernel: ENOENT", b"child: 0"],
    ("proc_sys", "nofile"): [b"RLIMIT_NOFILE nr_open + 1: -1 EPERM"],
}


@pytest.mark.parametrize("program,section", list(SECTIONS),
                         ids=[f"{p}-{s}" for p, s in SECTIONS])
def test_proc_like_linux(program, section, guest_bins, run_native, run_cloudos) -> None:
    prog = guest_bins.path(program, "static")
    native = run_native([prog, section])
    _check_native(native, [f"== {section}".encode(), *SECTIONS[(program, section)]])
    _assert_same(native, run_cloudos([prog, section]))


def test_proc_sys_values_are_honoured(guest_bins, run_cloudos) -> None:
    """CloudOS only (it changes values): what is written is what the kernel then does."""
    status, out, err = run_cloudos([guest_bins.path("proc_sys", "static"), "honour"])
    assert status == 0, err.decode()
    assert out.decode().splitlines() == [
        "== honour",
        "pipe-max-size 5000: 0", "pipe-max-size reads 8192",  # round_pipe_size
        "hostname written: uname says renamed", "sethostname: /proc says byname",
        "domainname written: example.org",
        "nr_open 2048: 0", "RLIMIT_NOFILE 4096 past nr_open 2048: -1 EPERM",
        "RLIMIT_NOFILE 2048: 0",
        "pid_max 310: 0", "10 forks: 10 made, all below pid_max 1, numbering wrapped to 300: 1",
        "threads-max 20: 0", "forks under threads-max 20: stopped at 20 tasks with EAGAIN"]
