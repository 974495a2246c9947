"""syslog(2), what dmesg reads: CloudOS's own kernel log as Linux formats its records.

tests/guest/syslog.c runs natively and under ``cloudos run`` and must print the same: only
calls that change nothing run natively (the format, the buffer rules, the errors, who may
do what by kernel/dmesg_restrict). Its ``changes`` run, under CloudOS only, reads and
clears the log and sets the console level; the expected values are CloudOS's (its log
starts with the boot's lines; READ with nothing unread is EAGAIN where Linux would wait).
It was ENOSYS before: dmesg failed with "read kernel buffer failed".
"""

from __future__ import annotations

import shutil

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

SHAPE = [b"SIZE_BUFFER positive: 1",
         b"READ_ALL: positive 1, at most the buffer 1, records well formed 1",
         b"READ_ALL 4096: at most 4096 1, whole records 1", b"READ_ALL length 0: 0",
         b"READ_ALL NULL: -1 EINVAL", b"READ_ALL 10 (no record fits): 0",
         b"READ_ALL into an unmapped page: -1 EFAULT", b"action 99: -1 EINVAL",
         b"CONSOLE_LEVEL 9: -1 EINVAL", b"non-root READ_ALL as dmesg_restrict says: 1",
         b"non-root SIZE_UNREAD: -1 EPERM", b"non-root action 99: -1 EPERM",
         b"non-root child exited with 0"]


@pytest.mark.parametrize("mode", ["static", "static-pie"])
def test_syslog_as_linux(mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("syslog", mode)
    status, out, err = run_native([prog])
    assert status == 0, (status, out, err)
    missing = [line for line in SHAPE if line not in out.splitlines()]
    assert not missing, f"native run lacks {missing!r}:\n{out.decode(errors='replace')}"
    g_status, g_out, g_err = run_cloudos([prog])
    assert (g_status, g_out) == (status, out), g_err.decode(errors="replace")


def test_syslog_reads_clears_and_sets_the_console(guest_bins, run_cloudos):
    status, out, err = run_cloudos([guest_bins.path("syslog", "static"), "changes"])
    assert (status, out.decode()) == (0, """\
READ: all that was unread 1, well formed 1
first record is the boot's: 1
SIZE_UNREAD after READ: 0
READ with nothing unread: -1 EAGAIN
CONSOLE_LEVEL 8: 0
CONSOLE_OFF: 0
CONSOLE_ON: 0
CONSOLE_LEVEL 4: 0
READ_CLEAR: positive 1
READ_ALL after READ_CLEAR: 0
CLEAR: 0
"""), err.decode(errors="replace")


def test_dmesg_shows_the_boot(run_cloudos):
    """The host's dmesg (util-linux) and busybox's, in the guest: CloudOS's boot."""
    if shutil.which("dmesg") is None:
        pytest.skip("no dmesg on the host")
    status, out, err = run_cloudos(["/bin/sh", "-c", "dmesg; busybox dmesg | tail -1"
                                    if shutil.which("busybox") else "dmesg"])
    text = out.decode()
    assert status == 0, err.decode(errors="replace")
    assert "] boot: firmware: virtual x86_64 machine" in text
    assert text.count("] boot: user space: entering ring 3") == (2 if shutil.which("busybox")
                                                                 else 1), text
