"""ruff (E, F, W at 100 columns, configured in pyproject.toml) on the code and the tests.

``.ci/run`` installs ruff and mypy and runs mypy on the whole tree itself (strict on the
kernel). Ruff runs here because the files in PENDING were being rewritten by the ABI
and VFS-protocol work of issue 17 when it went in, and did not pass yet: they are left
out until that work lands; then the list empties and ``.ci/run`` can run
``ruff check cloudos tests`` itself, replacing this test.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PENDING: tuple[str, ...] = (
    "cloudos/abi",
    "cloudos/servers",
    "cloudos/linux/signals.py",
    "cloudos/linux/coredump.py",
    "cloudos/linux/syscalls/sys_file.py",
    "cloudos/linux/syscalls/table.py",
    "tests/test_layering.py",
)


def pending(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PENDING)


def tool(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (.ci/run installs it)")


def test_ruff_is_clean() -> None:
    tool("ruff")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                           "cloudos", "tests"], cwd=REPO, capture_output=True, text=True)
    errors = [line for line in done.stdout.splitlines()
              if re.match(r"[\w/.-]+\.py:\d+:\d+: ", line) and not pending(line.split(":")[0])]
    assert done.returncode in (0, 1) and not errors, "\n".join(errors) or done.stderr

