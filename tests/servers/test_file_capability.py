"""Sandboxing by capability: file access needs a FILE capability on the VFS port."""

from __future__ import annotations

import errno
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path_factory.mktemp("caps") / "no_files"
    subprocess.run(["gcc", "-static", "-O1", "-o", str(out), str(HERE / "no_files.c")],
                   check=True)
    return out


def test_a_process_with_its_file_capability_opens_files(program, run_cloudos) -> None:
    assert run_cloudos([program])[0] == 0


def test_without_a_file_capability_every_file_call_is_refused(program, run_cloudos) -> None:
    status, out, err = run_cloudos([program], extra_args=["--no-files"])
    assert status == errno.EACCES, err.decode()
    assert out == b""  # not even the console: it is a file like any other
