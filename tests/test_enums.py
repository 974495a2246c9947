"""cloudos.abi.enums: the ABI's enums, made by the standard library's fast path, are
the enums the ``class`` statement makes (the standard's are the expected values)."""

from __future__ import annotations

import enum
import importlib
import pickle
import pkgutil
from typing import Any

import pytest

import cloudos
from cloudos.abi.enums import IntEnum, IntFlag


def _package_enums() -> list[Any]:
    found: dict[Any, None] = {}
    for info in pkgutil.walk_packages(cloudos.__path__, "cloudos."):
        if info.name == "cloudos.__main__" or info.name.rpartition(".")[2].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, enum.EnumType) and value.__module__ == info.name:
                found[value] = None
    return list(found)


def _standard(cls: Any) -> Any:
    """The same members made by the standard metaclass (its functional form)."""
    kind = next(k for k in (enum.IntFlag, enum.Flag, enum.IntEnum, enum.Enum)
                if issubclass(cls, k))
    return kind(cls.__name__, [(name, m.value) for name, m in cls.__members__.items()])


def _behaviour(cls: Any) -> list[Any]:
    seen: list[Any] = [[(m.name, m.value) for m in cls],
                       [(name, m.name) for name, m in cls.__members__.items()]]
    seen += [(m.value, cls(m.value).name) for m in cls]
    if issubclass(cls, enum.Flag):
        members = list(cls)
        for a in members:
            for b in members[:8]:
                both = a | b
                seen.append((both.value, both.name, (a & b).value, (a ^ b).value))
            seen.append(((~a).value, (a | 0).value, (0 | a).value if issubclass(cls, int)
                         else None))
        seen.append(cls(0).value)
        odd = 1 << 62  # bits no member names: IntFlag keeps them (boundary KEEP)
        seen.append(cls(odd).value if issubclass(cls, enum.IntFlag) else None)
    else:
        with pytest.raises(ValueError):
            cls(object())
    return seen


def test_every_enum_of_the_package_is_the_standard_one() -> None:
    enums = _package_enums()
    assert len(enums) > 40
    for cls in enums:
        assert _behaviour(cls) == _behaviour(_standard(cls)), cls
        assert cls.__module__.startswith("cloudos.") and cls.__qualname__ == cls.__name__


def test_methods_aliases_and_kinds_survive() -> None:
    class Kind(IntEnum):
        """doc"""
        A = 1
        B = 2
        ALIAS = 1

        @property
        def lower(self) -> str:
            return self.name.lower()

    class Bits(IntFlag):
        R = 4
        W = 2
        X = 1

    assert isinstance(Kind.A, enum.IntEnum) and isinstance(Bits.R, enum.IntFlag)
    assert Kind.ALIAS is Kind.A and list(Kind) == [Kind.A, Kind.B] and Kind(2).lower == "b"
    assert Kind.__doc__ == "doc" and Kind.A + 1 == 2 and {Kind.A: 1}[1] == 1
    assert (Bits.R | Bits.W).value == 6 and Bits(7) == Bits.R | Bits.W | Bits.X
    assert str(Bits.R | Bits.W) == str(enum.IntFlag("Bits", {"R": 4, "W": 2})(6))
    from cloudos.abi.sysno import Sysno
    assert pickle.loads(pickle.dumps(Sysno.READ)) is Sysno.READ
    with pytest.raises(TypeError):
        class Two(IntEnum, IntFlag):  # type: ignore[misc]
            A = 1
