"""The kernel core stays under the guide's 50 KiB image budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT.parent / "shared" / "tools" / "kernel_image_size.py"


def test_kernel_image_is_within_budget() -> None:
    if not TOOL.is_file():
        pytest.skip(f"{TOOL} is missing")
    proc = subprocess.run([sys.executable, str(TOOL), "cloudos/kernel"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "within" in proc.stdout
