"""ruff (E, F, W at 100 columns, configured in pyproject.toml) on the code and the tests.

``.ci/run`` installs ruff and mypy and runs both on the whole tree itself (mypy strict on
the kernel); ruff runs here too, so that ``pytest`` alone finds a lint error. PENDING
names files left out while they are being rewritten (empty since the VFS protocol of
issue 17 landed).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PENDING: tuple[str, ...] = ()


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

