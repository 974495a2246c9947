"""Shared test helpers: running a program natively and under ``cloudos run``.

The guest programs in ``tests/guest/*.c`` are compiled once per session (see
``guest_bins``); ``run_native`` and ``run_cloudos`` run a program and return
``(status, stdout, stderr)`` with the status normalised the way a shell
reports it: a program killed by signal N gives 128 + N (139 for SIGSEGV).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Mapping, Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
GUEST_SRC_DIR = Path(__file__).resolve().parent / "guest"

# Link modes every guest program is built in, with the gcc flag for each.
LINK_MODES = {"static": "-static", "static-pie": "-static-pie"}

Result = tuple[int, bytes, bytes]

# Programs run natively and as guests must start with the signal dispositions of a
# terminal's foreground job, however pytest itself was started: under `nohup` or a shell's
# `&`, SIGHUP, SIGINT and SIGQUIT arrive ignored, exec keeps them ignored, and a test of
# hang-up or of /proc's ignored mask then measures the launcher, not Linux.
for _sig in (signal.SIGHUP, signal.SIGQUIT):
    if signal.getsignal(_sig) == signal.SIG_IGN:
        signal.signal(_sig, signal.SIG_DFL)
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# Every guest is started by a new `python -m cloudos`: with PYTHONDONTWRITEBYTECODE set (as
# some environments do) none of them writes CloudOS's bytecode, so in a fresh checkout each
# compiles every module again, ~0.25 s of CPU per start (over a thousand starts a run).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def shell_status(returncode: int) -> int:
    """subprocess's returncode (-N when killed by signal N) → shell-style status."""
    return 128 - returncode if returncode < 0 else returncode


def _run(cmd: Sequence[str], env: Mapping[str, str] | None, timeout: float) -> Result:
    try:
        proc = subprocess.run(
            list(cmd),
            env=None if env is None else dict(env),
            cwd=REPO_ROOT,  # so that `python -m cloudos` finds the package
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"timed out after {timeout}s: {list(cmd)!r}\n"
            f"stdout so far: {exc.stdout!r}\nstderr so far: {exc.stderr!r}"
        )
    return shell_status(proc.returncode), proc.stdout, proc.stderr


def run_native(
    argv: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run argv directly on the host."""
    return _run([os.fspath(a) for a in argv], env, timeout)


@pytest.fixture(scope="session")
def guest_backend() -> str:
    """The CPU backend ``cloudos run`` gives this session's guests: "kvm" or "unicorn"
    (``CLOUDOS_BACKEND``, with ``auto`` resolved as the CLI resolves it). For the few
    checks that hold on one backend only; each says why where it asks."""
    from cloudos.hal.backend import cpu_class
    cls, _ = cpu_class()
    return "kvm" if getattr(cls, "name", "") == "KVM" else "unicorn"


# Directories every guest of the session is shown read-only at their own path:
# pytest's temporary directory, where the guest programs are built (set by
# ``_share_pytest_tmp``). A user shares the directory of a program the same way
# (--mount DIR); nothing else of the host outside its system directories is shown.
SHARED_WITH_GUESTS: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _share_pytest_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    SHARED_WITH_GUESTS[:] = [str(tmp_path_factory.getbasetemp())]


def cloudos_command(
    argv: Sequence[str | os.PathLike[str]], extra_args: Sequence[str] = ()
) -> list[str]:
    shared = [arg for directory in SHARED_WITH_GUESTS for arg in ("--mount", directory)]
    return [sys.executable, "-m", "cloudos", "run", *shared, *extra_args, "--",
            *(os.fspath(a) for a in argv)]


def run_cloudos(
    argv: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    extra_args: Sequence[str] = (),
) -> Result:
    """Run argv as a guest: ``python -m cloudos run [extra_args] -- argv``."""
    return _run(cloudos_command(argv, extra_args), env, timeout)


class GuestBinaries:
    """The compiled guest programs of one session: ``bins.path("hello", "static")``."""

    def __init__(self, directory: Path, paths: dict[tuple[str, str], Path],
                 errors: dict[tuple[str, str], str]):
        self.directory = directory
        self._paths = paths
        self._errors = errors

    def path(self, name: str, mode: str) -> Path:
        key = (name, mode)
        if key in self._errors:
            pytest.fail(f"compiling {name}.c ({mode}) failed:\n{self._errors[key]}")
        if key not in self._paths:
            raise KeyError(f"no guest program {name}.c in {GUEST_SRC_DIR}")
        return self._paths[key]


def _compile(src: Path, mode: str, out_dir: Path) -> tuple[Path, str | None]:
    out = out_dir / f"{src.stem}.{mode}"
    cmd = ["gcc", LINK_MODES[mode], "-O1", "-pthread", "-o", str(out), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return out, f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
    return out, None


@pytest.fixture(scope="session")
def guest_bins(tmp_path_factory: pytest.TempPathFactory) -> GuestBinaries:
    """Every tests/guest/*.c compiled with gcc in each link mode, once per session."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found: cannot build the guest programs")
    out_dir = tmp_path_factory.mktemp("guest-bin")
    sources = sorted(GUEST_SRC_DIR.glob("*.c"))
    jobs = [(src, mode) for src in sources for mode in LINK_MODES]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda job: _compile(job[0], job[1], out_dir), jobs))
    paths: dict[tuple[str, str], Path] = {}
    errors: dict[tuple[str, str], str] = {}
    for (src, mode), (out, error) in zip(jobs, results):
        paths[(src.stem, mode)] = out
        if error is not None:
            errors[(src.stem, mode)] = error
    hello_errors = [errors[("hello", m)] for m in LINK_MODES if ("hello", m) in errors]
    if len(hello_errors) == len(LINK_MODES):
        pytest.skip(f"gcc cannot build static programs (static glibc missing?):\n{hello_errors[0]}")
    return GuestBinaries(out_dir, paths, errors)


# The helpers as fixtures, so test modules need not import conftest.
@pytest.fixture(name="run_native", scope="session")
def _run_native_fixture():
    return run_native


@pytest.fixture(name="run_cloudos", scope="session")
def _run_cloudos_fixture():
    return run_cloudos
