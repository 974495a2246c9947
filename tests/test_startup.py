"""Start-up: what ``cloudos run`` loads to run a program that uses none of the rarer parts.

These modules load at their first use (a System V semaphore or message queue call, a
read of /proc/<pid> or /proc/config.gz, the first pseudo-terminal, --strace, a kernel
panic, the KVM backend), so a run that needs none of them never pays for them; an import
that loads one eagerly again adds its cost to every run (``bench/bench_startup.py``
measures the whole). The same holds for the host's modules of LOADED_BY_RARE_PATHS: the
Python standard library's ``socket`` builds its enums when imported (~8 ms), and only
--net host and --publish open host sockets.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

LOADED_AT_FIRST_USE = (
    "cloudos.linux.sysvmsg", "cloudos.linux.sysvsem", "cloudos.servers.vfs.procinfo",
    "cloudos.linux.kconfig", "cloudos.panic", "cloudos.hal.kvm", "cloudos.trace.session",
    "cloudos.trace.strace", "cloudos.servers.tty.pty",
)
LOADED_BY_RARE_PATHS = ("socket",)


def test_true_loads_nothing_it_does_not_use(guest_backend: str) -> None:
    """(On the KVM backend, hal.kvm is the CPU itself; the rest still wait for first use.)"""
    unused = set(LOADED_AT_FIRST_USE + LOADED_BY_RARE_PATHS) \
        - ({"cloudos.hal.kvm"} if guest_backend == "kvm" else set())
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "cloudos", "run", "--",
                          "/bin/true"], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = set(re.findall(r"^import time:.*\|\s*(\S+)$", run.stderr, re.M))
    assert "cloudos.machine" in loaded  # (the pattern reads -X importtime's lines)
    assert loaded.isdisjoint(unused), sorted(loaded & unused)


def _package_classes() -> list[type]:
    """Every class of every module of the package (imported here: a test process)."""
    import importlib
    import pkgutil

    import cloudos

    found: dict[type, None] = {}
    for info in pkgutil.walk_packages(cloudos.__path__, "cloudos."):
        if info.name == "cloudos.__main__" or info.name.rpartition(".")[2].startswith("_"):
            continue  # (__main__ runs the CLI; _preempt, _leaves and _vdso are C)
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == info.name:
                found[value] = None
    return list(found)


def test_every_deferred_dataclass_can_be_made() -> None:
    """A deferred class's declaration errors come at its first instance: make them all
    here. A subclass of a deferred class is deferred too (the standard decorator, run at
    the subclass's declaration, would not see the base's fields), and once made, each is
    a dataclass with its bases' fields first."""
    import dataclasses

    from cloudos.abi import deferred

    classes = _package_classes()
    waiting = [c for c in classes if deferred.deferred(c)]
    assert len(waiting) > 20  # (most of the Linux personality's and the servers')
    for cls in classes:
        if any(deferred.deferred(base) for base in cls.__mro__[1:]):
            assert deferred.deferred(cls) or not dataclasses.is_dataclass(cls), cls
    for cls in waiting:
        deferred.make(cls)
        assert not deferred.deferred(cls) and dataclasses.is_dataclass(cls), cls
        names = [f.name for f in dataclasses.fields(cls)]
        for base in cls.__mro__[1:]:
            if dataclasses.is_dataclass(base):
                inherited = [f.name for f in dataclasses.fields(base)]
                assert names[:len(inherited)] == inherited, (cls, base)


def test_a_deferred_dataclass_is_the_standard_one_from_its_first_instance() -> None:
    import dataclasses

    from cloudos.abi.deferred import dataclass, deferred

    @dataclass
    class Base:
        x: int
        items: list[int] = dataclasses.field(default_factory=list)

    @dataclass(frozen=True)
    class Value:
        a: int = 1

    @dataclass
    class Derived(Base):
        z: int = 3

    class Plain(Base):  # its own __init__, calling the deferred one
        def __init__(self) -> None:
            super().__init__(7)
            self.extra = 1

    @dataclass(eq=False)
    class Identity:
        q: int

    assert deferred(Base) and deferred(Derived) and deferred(Value)
    plain = Plain()
    assert (plain.x, plain.items, plain.extra) == (7, [], 1) and not deferred(Base)
    assert Derived(1) == Derived(1, [], 3) and repr(Derived(1)) == \
        f"{Derived.__qualname__}(x=1, items=[], z=3)"
    assert [f.name for f in dataclasses.fields(Derived)] == ["x", "items", "z"]
    assert dataclasses.replace(Derived(1), z=9).z == 9
    with pytest.raises(TypeError):
        hash(Derived(1))  # (eq without frozen: unhashable, as the standard decorator makes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Value().a = 2  # type: ignore[misc]
    assert hash(Value()) == hash(Value(1))
    assert Identity(1) != Identity(1)
    with pytest.raises(TypeError):
        Base()  # type: ignore[call-arg]  (x is required, as declared)


GC_PROBE = """
import gc, os, sys
def report(status, exit=os._exit):  # (the CLI ends with os._exit: no atexit)
    sys.stderr.write("gc on: %s, frozen: %d\\n" % (gc.isenabled(), gc.get_freeze_count()))
    exit(status)
os._exit = report
sys.argv = ["cloudos", "run", "--", "/bin/true"]
from cloudos.cli import main
main()
"""


def test_the_run_collects_garbage_and_never_rescans_the_modules() -> None:
    """``cloudos run`` imports the machine with the cyclic collector off, freezes what the
    import made (it lives as long as the process), and turns the collector back on for
    the guest's run."""
    import gc

    run = subprocess.run([sys.executable, "-c", GC_PROBE], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r"gc on: (\w+), frozen: (\d+)", run.stderr)
    assert found is not None, run.stderr[-2000:]
    assert found.group(1) == "True"
    assert int(found.group(2)) > 20_000  # (the modules' objects: ~37,000 on this host)
    assert gc.get_freeze_count() == 0  # (this process froze nothing: the CLI ran elsewhere)
