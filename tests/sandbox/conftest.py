"""``cloudos run`` as a user runs it, from a directory of the test's choosing and with
none of the session's shared directories (tests/conftest.py's run_cloudos adds them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[bytes]]


def _cloudos(*args: str, cwd: Path | str = REPO_ROOT, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "cloudos", "run", *args], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


@pytest.fixture(name="cloudos", scope="session")
def _cloudos_fixture() -> Run:
    return _cloudos
