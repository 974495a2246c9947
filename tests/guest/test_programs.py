"""End-to-end tests: each guest program runs natively and under ``cloudos run``
and the two must agree (stdout and exit status; crashes as SIGSEGV).

The programs are built by the ``guest_bins`` fixture (tests/conftest.py) with
``gcc -static`` and ``gcc -static-pie``; the ``by_mode`` tests run in both.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
from pathlib import Path

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

LINK_MODES = ["static", "static-pie"]
SIGSEGV_STATUS = 128 + 11

# The kernel's Linux-style segfault report, e.g.
# "null_write.static[1]: segfault at 0 ip 0000000000401745 error 6"
# (Linux itself also prints " sp ..." before "error"; accepted, not required).
SEGFAULT_LINE = re.compile(
    rb"\[\d+\]: segfault at (?P<addr>[0-9a-f]+) ip [0-9a-f]+ (?:sp [0-9a-f]+ )?error \d+"
)

by_mode = pytest.mark.parametrize("mode", LINK_MODES)


def _env_without_test_vars(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDOS_TEST_")}
    env.update(extra)
    return env


def _assert_no_traceback(stderr: bytes) -> None:
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")


def _assert_same(native, guest) -> None:
    n_status, n_out, n_err = native
    g_status, g_out, g_err = guest
    detail = f"cloudos stderr:\n{g_err.decode(errors='replace')}"
    _assert_no_traceback(g_err)
    assert g_out == n_out, detail
    assert g_status == n_status, detail


# --- programs whose output must match -------------------------------------------------


@by_mode
@pytest.mark.parametrize("name", ["hello", "malloc_stress", "bss_tls", "syscalls", "signals",
                                  "shared_anon", "altstack", "prctl", "sigpipe_handler",
                                  "edges", "fpu_state", "persona"])
def test_same_output(name, mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path(name, mode)
    native = run_native([prog])
    assert native[0] == 0, native
    # persona compares layouts across execs: Linux's mode (the default, boot, keeps one
    # layout per program: tests/linux/test_aslr.py)
    extra = ["--aslr", "exec"] if name == "persona" else []
    _assert_same(native, run_cloudos([prog], extra_args=extra))


def test_alarm_and_interval_timer(guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("alarm", "static")
    native = run_native([prog])
    assert native == (142, b"alarm left: 1\nalarms: 1\nperiodic ok: 1\n", b""), native
    _assert_same(native, run_cloudos([prog]))


def test_fast_interval_timer_over_a_busy_loop(guest_bins, run_native, run_cloudos):
    """A 500 us ITIMER_REAL: the loop still ends (each signal's frame must cost well under
    a period), and the doubles it keeps in XMM registers survive a handler that wipes them."""
    prog = guest_bins.path("itimer_busy", "static")
    native = run_native([prog])
    assert native == (0, b"signals landed: 1\nsums survive the handler: 1\n", b""), native
    _assert_same(native, run_cloudos([prog], timeout=180))


@by_mode
def test_args_and_environment(mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("args", mode)
    argv = [str(prog), "plain", "with space", "ünïcødé ✓ 日本", ""]
    env = _env_without_test_vars(CLOUDOS_TEST_A="1", CLOUDOS_TEST_B="x y")
    native = run_native(argv, env=env)
    # Sanity-check the native run, so a broken program can't make the comparison vacuous.
    assert native[0] == len(argv)
    assert "argv[3]=[ünïcødé ✓ 日本]\n".encode() in native[1]
    assert native[1].endswith(b"env: [CLOUDOS_TEST_A=1]\nenv: [CLOUDOS_TEST_B=x y]\n")
    # a guest gets only the host variables it is given (-e NAME passes the host's)
    passed = ["-e", "CLOUDOS_TEST_A", "-e", "CLOUDOS_TEST_B"]
    _assert_same(native, run_cloudos(argv, env=env, extra_args=passed))


@by_mode
def test_syscalls_native_output_is_clean(mode, guest_bins, run_native):
    """Guards the reference itself: natively every syscalls.c check passes."""
    status, out, _ = run_native([guest_bins.path("syscalls", mode)])
    assert status == 0
    assert b"FAIL" not in out and b"expected an error" not in out, out.decode()


# --- programs that must be killed with SIGSEGV ----------------------------------------


@by_mode
@pytest.mark.parametrize("name", ["null_write", "stack_guard"])
def test_segfault(name, mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path(name, mode)
    native = run_native([prog])
    assert native[0] == SIGSEGV_STATUS, native
    status, out, err = run_cloudos([prog])
    _assert_no_traceback(err)
    assert status == SIGSEGV_STATUS, err
    assert out == native[1], err  # output flushed before the fault is not lost
    match = SEGFAULT_LINE.search(err)
    assert match, f"no segfault report in cloudos stderr:\n{err.decode(errors='replace')}"
    if name == "null_write":
        assert int(match["addr"], 16) == 0, match.group(0)


@by_mode
@pytest.mark.parametrize("name", ["privileged", "priv_cr3"])
def test_privileged_instruction(name, mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path(name, mode)
    native = run_native([prog])
    assert native[0] == SIGSEGV_STATUS, native
    status, out, err = run_cloudos([prog])
    _assert_no_traceback(err)
    assert status == SIGSEGV_STATUS, err
    assert out == native[1], err
    # The machine unharmed: the next guest runs normally.
    hello = guest_bins.path("hello", mode)
    status, out, err = run_cloudos([hello])
    assert (status, out) == (0, b"hello, world\n"), err


@by_mode
def test_port_io_and_software_faults_are_sigsegv(mode, guest_bins, run_native, run_cloudos):
    """in/out/insb at ring 3 and `int $0x0e` (a DPL-0 gate) are #GP: SIGSEGV with a
    handler that can go on (issue 12: Unicorn ran port I/O at ring 3, `in` read 0, and
    `int $0x0e` entered the page-fault path)."""
    prog = guest_bins.path("priv_io", mode)
    native = run_native([prog])
    assert native[0] == 0 and native[1].count(b"Segmentation fault") == 7, native
    status, out, err = run_cloudos([prog])
    _assert_no_traceback(err)
    assert (status, out) == (native[0], native[1]), err


# --- programs that are not runnable ---------------------------------------------------


def _write_exec(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("kind", ["random_bytes", "arm_machine", "truncated"])
def test_malformed_elf(kind, guest_bins, run_cloudos, tmp_path):
    hello = guest_bins.path("hello", "static").read_bytes()
    if kind == "random_bytes":
        data = random.Random(1234).randbytes(4096)
    elif kind == "arm_machine":
        data = bytearray(hello)
        struct.pack_into("<H", data, 18, 40)  # e_machine = EM_ARM
        data = bytes(data)
    else:  # a valid ELF header whose program headers lie beyond the end of the file
        data = hello[:64]
    prog = _write_exec(tmp_path / f"{kind}.bin", data)
    status, out, err = run_cloudos([prog])
    _assert_no_traceback(err)
    assert status != 0
    assert b"ELF" in err, err


def test_nonexistent_program(run_cloudos, tmp_path):
    status, out, err = run_cloudos([str(tmp_path / "no-such-program")])
    _assert_no_traceback(err)
    assert status == 127, err
    assert err.strip(), "expected a message on stderr"


# --- a real-world static binary -------------------------------------------------------

BUSYBOX = Path("/bin/busybox")


def _is_static_x86_64_elf(path: Path) -> bool:
    """ELF64, x86_64, and no PT_INTERP program header (i.e. not dynamically linked)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:5] != b"\x7fELF\x02" or struct.unpack_from("<H", data, 18)[0] != 62:
        return False
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return all(
        struct.unpack_from("<I", data, phoff + i * phentsize)[0] != 3  # PT_INTERP
        for i in range(phnum)
    )


@pytest.mark.parametrize("args", [["echo", "hello"], ["uname", "-s"]], ids=["echo", "uname"])
def test_busybox(args, run_native, run_cloudos):
    if not _is_static_x86_64_elf(BUSYBOX):
        pytest.skip(f"{BUSYBOX} missing or not static (install busybox-static)")
    argv = [str(BUSYBOX), *args]
    native = run_native(argv)
    assert native[0] == 0, native
    _assert_same(native, run_cloudos(argv))


# --- the vDSO: the clock without a system call ------------------------------------------

VDSO_SECTIONS = {
    "image": [b"AT_SYSINFO_EHDR given: 1", b"mapped as [vdso] r-xp, at its start: 1",
              b"below it: a [vvar...] page, read-only 1",
              b"exports __vdso_clock_gettime@LINUX_2.6: 1",
              b"exports __vdso_clock_gettime@LINUX_9: 0"],
    "clocks": [b"MONOTONIC: libc between two system calls: 1",
               b"REALTIME: libc between two system calls: 1",
               b"BOOTTIME: libc between two system calls: 1",
               b"200000 MONOTONIC reads, went back: 0; REALTIME went back: 0",
               b"clock_gettime of clock 99: -1 EINVAL"],
    "sleep": [b"20 sleeps of 1 ms, seen to last less: 0", b"20 absolute sleeps, ended early: 0"],
    "memory": [b"[vvar] PROT_READ|PROT_WRITE: EACCES", b"[vdso] made writable: 0",
               b"child sees the write: 1, its clock runs: 1",
               b"exec'd: padding untouched 1, clock_gettime exported 1", b"child: 0"],
}


@by_mode
@pytest.mark.parametrize("section", sorted(VDSO_SECTIONS))
def test_vdso(section, mode, guest_bins, run_native, run_cloudos):
    """linux-vdso.so.1 as glibc finds and uses it, compared with Linux's own."""
    prog = guest_bins.path("vdso", mode)
    native = run_native([prog, section])
    assert native[0] == 0, native
    lines = native[1].splitlines()
    assert all(line in lines for line in VDSO_SECTIONS[section]), native[1].decode()
    _assert_same(native, run_cloudos([prog, section]))


def test_vdso_reads_make_no_system_call(guest_bins, run_cloudos):
    """200,000 clock reads of the clocks section: the vDSO answers them, so the kernel
    counts only the section's few deliberate calls (--syscall-stats)."""
    status, out, err = run_cloudos([guest_bins.path("vdso", "static"), "clocks"],
                                   extra_args=["--syscall-stats"])
    assert status == 0, err.decode()
    counts = {m[2]: int(m[1]) for m in re.finditer(rb"^\s*(\d+)\s+[\d.]+\s+(\w+)", err, re.M)}
    assert 0 < counts.get(b"clock_gettime", 0) < 1000, err.decode()
    assert b"gettimeofday" not in counts and b"time" not in counts, err.decode()
