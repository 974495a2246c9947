"""Small reads and writes carry their bytes in the VFS's messages (``abi.vfs.Inline``,
``Write.data``: no memory grant) and give what Linux gives: every size around the
4 KiB limit, buffers across a page boundary or partly bad (those fall back to a grant),
a read that waits for its writer, O_NONBLOCK, end of file, EPIPE; with the IPC fast
path on (inline) and off (grants always), on one vCPU and two, on a loaded host; and
``--syscall-stats`` shows which way the bytes went.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.guest.test_direct_switch import hogs  # noqa: F401 (a fixture)
from tests.guest.test_files import _assert_same, _check_native

INLINE = re.compile(rb"vfs: \d+ calls, .*; (\d+) reads and writes with their bytes inline")
LOCAL = re.compile(rb"vfs: (\d+) pipe reads and writes served by the personality itself")
EXPECTED = [b"== sizes", b"pipe n=4096: wrote 4096 read 4096 same 1 after ee",
            b"pipe n=4097: wrote 4097 read 4097 same 1 after 00",
            b"socket n=17: wrote 17 read 17 same 1 after ee",
            b"file n=4095: wrote 4095 read 4095 same 1 offset 4095",
            b"== badbuf", b"pipe write tail bad: -1 EFAULT", b"pipe read NULL: -1 EFAULT",
            b"pipe read good: 50", b"file write tail bad: 10", b"file read tail bad: 10",
            b"== wait", b"wait: 200 good rounds, 4100 bytes, child 0",
            b"== ends", b"empty nonblock read: -1 EAGAIN",
            b"write 4096 into 10 bytes of room (PIPE_BUF atomic): -1 EAGAIN",
            b"end of file: 0", b"no reader: -1 EPIPE"]


def _env(fast: bool) -> dict[str, str]:
    return {**os.environ, "CLOUDOS_FASTPATH": "1" if fast else "0"}


@pytest.mark.parametrize("mode", ["static", "static-pie"])
@pytest.mark.parametrize("fast", [True, False], ids=["inline", "grants"])
def test_small_transfers_match_linux(fast, mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("files_inline", mode)
    native = run_native([prog])
    _check_native(native, EXPECTED)
    status, out, err = run_cloudos([prog], env=_env(fast), extra_args=["--syscall-stats"])
    _assert_same(native, (status, out, err))
    inline = INLINE.search(err)
    assert inline, err.decode(errors="replace")
    local = LOCAL.search(err)
    assert local, err.decode(errors="replace")
    if fast:  # most of its reads and writes are small and good: no grant (a pipe's,
        # served by the personality itself, none either: linux/pipefast)
        assert int(inline[1]) >= 10, err.decode(errors="replace")
        assert int(inline[1]) + int(local[1]) >= 600, err.decode(errors="replace")
    else:
        assert int(inline[1]) == int(local[1]) == 0, err.decode(errors="replace")


@pytest.mark.parametrize("cpus", ["1", "2"])
@pytest.mark.parametrize("section", ["wait", "ends"])
def test_small_transfers_loaded(section, cpus, hogs, guest_bins, run_native,  # noqa: F811
                                run_cloudos):
    """A reader that waits for each small write (the bytes go to it with the writer's
    answer to the parked read), on a loaded host, on one vCPU and two."""
    prog = guest_bins.path("files_inline", "static")
    native = run_native([prog, section])
    start = EXPECTED.index(f"== {section}".encode())
    _check_native(native, EXPECTED[start:start + 2])
    _assert_same(native, run_cloudos([prog, section], env=_env(True),
                                     extra_args=["--cpus", cpus], timeout=300))
