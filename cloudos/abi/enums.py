"""Enum classes made the fast way: ``class Sysno(IntEnum): READ = 0 ...`` with the
``IntEnum`` (or ``IntFlag``, ``Enum``) imported from here makes the same class as the
standard library's, at a fifth of the cost.

Owns: ``Enum``, ``IntEnum`` and ``IntFlag``, bases whose classes are made by the
standard ``enum`` module's own fast path for large enums (``enum._simple_enum``, which
``re``'s flags and ``http``'s status codes use): the result is an ordinary enum of the
standard kind (``isinstance(Sysno.READ, enum.IntEnum)``, ``Sysno(0)``, iteration,
aliases, flag arithmetic), without the per-member bookkeeping of the ``class``
statement's metaclass. Why: CloudOS's ABI declares ~45 enums with ~1,000 members, and
the standard metaclass made them in ~8 ms of every start (issue 18); this way ~2 ms.
Never: ``auto()``, ``_ignore_``, ``__init_subclass__`` hooks or subclassing an enum
made here (the fast path supports none of them); members are plain values, as the
ABI's are. mypy sees the standard classes (TYPE_CHECKING).
Called by: ``cloudos.abi``'s modules, the kernel's and the servers' enums.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enum import Enum, IntEnum, IntFlag
else:
    class _Made(type):
        """The bases' metaclass: a class statement on one of them gives the class
        ``enum._simple_enum`` makes of the statement's namespace."""

        def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) \
                -> Any:
            if not bases:  # (Enum, IntEnum, IntFlag below)
                return super().__new__(mcls, name, bases, namespace)
            if len(bases) != 1 or type(bases[0]) is not _Made or "_kind" in namespace:
                raise TypeError(f"{name}: an enum made here has one base, Enum, IntEnum or "
                                "IntFlag of cloudos.abi.enums")
            plain = type(name, (), namespace)
            return enum._simple_enum(bases[0]._kind)(plain)

    class Enum(metaclass=_Made):
        _kind = enum.Enum

    class IntEnum(metaclass=_Made):
        _kind = enum.IntEnum

    class IntFlag(metaclass=_Made):
        _kind = enum.IntFlag

__all__ = ["Enum", "IntEnum", "IntFlag"]
