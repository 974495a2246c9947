"""The Linux system call table: the guide's 335 rows named after it, Linux's calls up to
462 after them, and ``cloudos syscalls``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cloudos.abi.sysno import Sysno
from cloudos.abi.sysno import UNUSED
from cloudos.linux.syscalls.table import Support, calls, handlers, table

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = Path(__file__).resolve().parents[3] / "shared" / "spec" / "cloudos-microkernel-guide.md"
GUIDE_COUNT = 335  # 0 (read) to 334 (rseq): the guide's table
COUNT = GUIDE_COUNT + 39  # and 424 (pidfd_send_signal) to 462 (mseal)
END = 463


def test_table_has_a_row_per_number_in_order() -> None:
    assert len(table()) == END and [row.number for row in table()] == list(range(END))
    rows = calls()
    assert len(rows) == COUNT
    assert all(row.name == Sysno(row.number).call_name for row in rows)
    assert len({row.name for row in rows}) == COUNT  # no duplicate names
    assert table()[0].name == "read" and table()[334].name == "rseq" and table()[-1].name == "mseal"
    for nr in UNUSED:  # no call has these numbers: ENOSYS, named as strace names them
        assert table()[nr].handler is None and table()[nr].name == f"syscall_{nr:#x}"


def test_names_are_those_of_the_guide() -> None:
    if not GUIDE.is_file():
        pytest.skip(f"guide not found at {GUIDE}")
    defines = re.findall(r"#define SYS_(\w+)\s+(\d+)", GUIDE.read_text(encoding="utf-8"))
    guide = {int(number): name.lower() for name, number in defines}
    assert len(defines) == len(guide) == GUIDE_COUNT, "the guide's table itself changed"
    assert sorted(guide) == list(range(GUIDE_COUNT))
    mismatches = [(row.number, row.name, guide.get(row.number)) for row in table()[:GUIDE_COUNT]
                  if guide.get(row.number) != row.name]
    assert mismatches == []


def test_support_and_handlers_agree() -> None:
    for row in table():
        assert isinstance(row.support, Support)
        if row.support is Support.NONE:
            assert row.handler is None, row.name
        else:
            assert callable(row.handler), row.name
    assert any(row.support is Support.FULL for row in table())
    assert any(row.support is Support.PARTIAL for row in table())


def test_handlers_is_the_dispatch_tuple() -> None:
    dispatch = handlers()
    assert isinstance(dispatch, tuple) and len(dispatch) == END
    # the handlers themselves (wrapped for ptrace's syscall-stops only while a process is
    # traced: tests/linux/test_ptrace_table.py)
    assert all(h is row.handler for h, row in zip(dispatch, table()))
    assert dispatch[0] is not None  # read
    assert dispatch[334] is None  # rseq: ENOSYS


def test_cli_syscalls_prints_the_table() -> None:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb")
    proc = subprocess.run([sys.executable, "-m", "cloudos", "syscalls"], cwd=REPO_ROOT,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"\bread\b", out)
    assert re.search(r"\brseq\b", out)
    summary = re.search(r"^374 system calls: (\d+) full, (\d+) partial, (\d+) ENOSYS", out,
                        re.MULTILINE)
    assert summary, out[-500:]
    full, partial, none = map(int, summary.groups())
    assert full + partial + none == COUNT
    assert none == sum(1 for row in calls() if row.support is Support.NONE)
