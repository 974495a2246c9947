"""The comparison most guest tests of Linux behaviour make: one section of a C program
runs natively, its output must hold the lines that show it exercised what the section is
about (a guard against a vacuous comparison: ``== SECTION`` and ``required``), then the
same command runs under ``cloudos run`` and must print the same and exit the same."""

from __future__ import annotations

from typing import Any, Sequence

import pytest


def native_then_cloudos(prog: Any, args: Sequence[str], required: Sequence[bytes],
                        run_native: Any, run_cloudos: Any, extra_args: Sequence[str] = (),
                        timeout: float = 120, skip_if: bytes | None = None) -> None:
    """Run ``prog args`` (``args[0]`` names the section) natively, then as a guest;
    ``skip_if``: a line part of the native output that means the host cannot run it."""
    status, out, err = run_native([prog, *args])
    if skip_if is not None and skip_if in out:
        pytest.skip(f"the host cannot run this section: {skip_if.decode()}")
    assert status == 0, (status, out, err)
    lines = out.splitlines()
    missing = [line for line in [f"== {args[0]}".encode(), *required] if line not in lines]
    assert not missing, f"native run lacks {missing!r}:\n{out.decode(errors='replace')}"
    g_status, g_out, g_err = run_cloudos([prog, *args], timeout=timeout, extra_args=extra_args)
    detail = f"cloudos stderr:\n{g_err.decode(errors='replace')}"
    assert b"Traceback" not in g_err, detail
    assert (g_status, g_out) == (status, out), detail
