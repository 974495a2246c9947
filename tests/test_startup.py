"""Start-up: what ``cloudos run`` loads to run a program that uses none of the rarer parts.

These modules load at their first use (a System V semaphore or message queue call, a
read of /proc/<pid> or /proc/config.gz, the first pseudo-terminal, --strace, a kernel
panic, the KVM backend), so a run that needs none of them never pays for them; an import
that loads one eagerly again adds its cost to every run (``bench/bench_startup.py``
measures the whole). The same holds for the host's modules of LOADED_BY_RARE_PATHS: the
Python standard library's ``socket`` builds its enums when imported (~8 ms), and only
--net host and --publish open host sockets; its ``dataclasses`` (~8 ms with what it
imports) is not used at all: CloudOS's classes are ``cloudos.abi.dataclass``'s.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from conftest import REPO_ROOT

LOADED_AT_FIRST_USE = (
    "cloudos.linux.sysvmsg", "cloudos.linux.sysvsem", "cloudos.servers.vfs.procinfo",
    "cloudos.linux.kconfig", "cloudos.panic", "cloudos.hal.kvm", "cloudos.trace.session",
    "cloudos.trace.strace", "cloudos.servers.tty.pty",
)
LOADED_BY_RARE_PATHS = ("socket", "dataclasses")


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
    # The command line is argparse's: click's import (inspect, ast, dis, uuid...) cost
    # ~13 ms of every start.
    assert "click" not in loaded, sorted(m for m in loaded if m.startswith("click"))


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


def test_every_dataclass_of_the_package_can_be_made() -> None:
    """A dataclass's ``__init__`` is compiled at its first instance: compile them all
    here. Each is one of ``cloudos.abi.dataclass``'s, with its bases' fields first; none is
    the standard library's (importing ``dataclasses`` at all costs a run ~8 ms)."""
    import dataclasses

    from cloudos.abi.dataclass import fields, make

    classes = _package_classes()
    made = [c for c in classes if "__cloudos_fields__" in c.__dict__]
    assert len(made) > 60  # (~80: the kernel's, the personality's, the servers'...)
    for cls in classes:
        assert not dataclasses.is_dataclass(cls), cls
    for cls in made:
        make(cls)
        assert not getattr(cls.__init__, "_first", False), cls
        names = [f.name for f in fields(cls)]
        for base in cls.__mro__[1:]:
            if "__cloudos_fields__" in base.__dict__:
                inherited = [f.name for f in fields(base)]
                assert names[:len(inherited)] == inherited, (cls, base)


def _declare(dataclass: Any, field: Any) -> dict[str, Any]:
    """The same declarations, made with one module's decorator and field."""
    @dataclass
    class Base:
        x: int
        items: list[int] = field(default_factory=list)
        hidden: int = field(default=5, repr=False, compare=False)
        later: int = field(init=False, default=0)

    @dataclass(frozen=True)
    class Value:
        a: int = 1
        b: tuple[int, ...] = ()

    @dataclass
    class Derived(Base):
        z: int = 3

        def __post_init__(self) -> None:
            self.later = self.x + self.z

    class Plain(Base):  # its own __init__, calling the dataclass's
        def __init__(self) -> None:
            super().__init__(7)
            self.extra = 1

    @dataclass(eq=False)
    class Identity:
        q: int

    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int
        b: str = "s"

    @dataclass
    class Own:
        v: int

        def __repr__(self) -> str:
            return "own"

    return locals()


def _behaviour(module: Any) -> list[Any]:
    import copy
    import pickle  # noqa: F401  (copy of a frozen slotted class uses its state)

    c = _declare(module.dataclass, module.field)
    Base, Value, Derived, Plain = c["Base"], c["Value"], c["Derived"], c["Plain"]
    Identity, Slotted, Own = c["Identity"], c["Slotted"], c["Own"]
    seen: list[Any] = []
    plain = Plain()
    seen.append((plain.x, plain.items, plain.extra, plain.hidden, plain.later))
    d = Derived(1)
    seen += [repr(d).split(".")[-1], d == Derived(1, [], 9, 3), d == Derived(2), d.later]
    seen.append([(f.name, f.init) for f in module.fields(Derived)])
    r = module.replace(d, z=9)
    seen += [(r.x, r.z, r.later, r.items is d.items), Derived.__match_args__]
    seen.append(Derived.z)
    seen.append(hasattr(Derived, "items"))  # (a factory's field is no class attribute)
    for make_one in (lambda: hash(d), lambda: Base(), lambda: Identity(1, 2),
                     lambda: module.replace(d, later=1)):
        try:
            seen.append(("ok", make_one()))
        except (TypeError, ValueError) as err:
            seen.append(type(err).__name__)
    v = Value()
    try:
        v.a = 2
    except AttributeError as err:
        seen.append(("frozen", isinstance(err, module.FrozenInstanceError)))
    seen += [hash(v) == hash(Value(1, ())), v == Value(), v != Value(2), repr(v).split(".")[-1]]
    seen += [Identity(1) == Identity(1), hash(Identity(1)) != 0]
    s = Slotted(1)
    seen += [Slotted.__slots__, hasattr(s, "__dict__"), copy.copy(s) == s, copy.deepcopy(s) == s,
             repr(s).split(".")[-1], repr(Own(1))]
    return seen


def test_cloudos_dataclass_behaves_as_the_standard_one() -> None:
    """The same declarations made by ``cloudos.abi.dataclass`` and by ``dataclasses`` do the
    same: the standard module's behaviour is the expected value."""
    import dataclasses

    from cloudos.abi import dataclass as ours

    assert _behaviour(ours) == _behaviour(dataclasses)
    with pytest.raises(TypeError, match="non-default argument"):
        @ours.dataclass
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]
    for module in (ours, dataclasses):  # (the same refusal as the standard's)
        with pytest.raises(ValueError, match="mutable default"):
            @module.dataclass
            class Shared:
                items: list[int] = []


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


def test_generated_inits_are_compiled_once_and_cached(tmp_path: Any, monkeypatch: Any) -> None:
    """cloudos.abi.dataclass keeps the code of the ``__init__`` methods it generates in a
    cache file, as Python keeps a module's bytecode: a later run compiles none; a
    damaged file is compiled over; PYTHONDONTWRITEBYTECODE writes nothing."""
    import builtins

    from cloudos.abi import dataclass as dc

    cache = tmp_path / "inits.marshal"
    monkeypatch.setattr(dc, "_CACHE", str(cache))
    monkeypatch.setattr(dc, "_codes", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    source = "def __init__(self, a):\n    self.a = a"
    code = dc.compiled(source)
    assert cache.exists() and dc.compiled(source) is code

    monkeypatch.setattr(dc, "_codes", None)  # a new run: the file, and no compiling
    real_compile = builtins.compile
    monkeypatch.setattr(builtins, "compile", lambda *a, **k: pytest.fail("compiled again"))
    scope: dict[str, Any] = {}
    exec(dc.compiled(source), scope)
    assert scope["__init__"].__code__.co_varnames[:2] == ("self", "a")
    monkeypatch.setattr(builtins, "compile", real_compile)

    cache.write_bytes(b"\x00not marshal")  # damaged: compiled over, and rewritten
    monkeypatch.setattr(dc, "_codes", None)
    assert dc.compiled(source).co_consts is not None and cache.read_bytes() != b"\x00not marshal"

    cache.unlink()
    monkeypatch.setattr(dc, "_codes", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    dc.compiled(source)
    assert not cache.exists()
