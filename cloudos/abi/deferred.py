"""Dataclasses made when their first instance is: ``dataclass``, ``dataclasses.dataclass``
with the work done at the class's first instance instead of at its declaration.

Owns: ``dataclass`` (the same options as ``dataclasses.dataclass``; mypy sees it as
that, through ``dataclass_transform``) and ``make``, which does a deferred class's work
now. Why: ``dataclasses.dataclass`` writes each class's ``__init__``, ``__repr__``,
``__eq__``... as source and compiles it, 0.3 to 1.5 ms a class on this host; CloudOS
declares ~70 outside the kernel and a run of a small program makes instances of about
half, so at every start the other half cost ~10 ms for nothing.
How: the decorator leaves the class as declared with a first ``__init__`` that calls
``dataclasses.dataclass`` on it (which changes the class in place: it is the same class
object) and on any deferred class it inherits from, bases first, then runs the made
``__init__``. From the first instance on, the class is exactly what ``dataclasses.dataclass``
makes. Before it, the class has no ``__dataclass_fields__`` (``dataclasses.fields(cls)``
raises TypeError: call ``make(cls)`` first) and a field declared with ``field(...)`` reads
as its ``Field`` at class level; a declaration error (a field without a default after one
with) is raised by the first instance, not the import (tests/test_startup.py makes every
deferred class of the package, so such an error fails the tests).
Never: defers a class with ``slots=True`` (its decorator makes a new class object) or its
own ``__init__`` (the first ``__init__`` would take its place): those are made at once.
A subclass of a deferred class is declared with this decorator too (the standard one,
run first, would not see the base's fields): tests/test_startup.py checks the package.
Called by: the Linux personality's and the servers' modules, the machine, the sandbox.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable, TypeVar, dataclass_transform, overload

T = TypeVar("T")

_PENDING: dict[type, dict[str, Any]] = {}  # deferred class -> its decorator's options
_LOCK = threading.Lock()  # (two threads of an SMP machine may make the first instance)


@overload
def dataclass(cls: type[T], /) -> type[T]: ...


@overload
def dataclass(*, init: bool = True, repr: bool = True, eq: bool = True, order: bool = False,
              unsafe_hash: bool = False, frozen: bool = False, match_args: bool = True,
              kw_only: bool = False, slots: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def dataclass(cls: type[T] | None = None, /, **options: Any) -> Any:
    """``dataclasses.dataclass(cls, **options)``, done at ``cls``'s first instance."""
    def defer(cls: type[T]) -> type[T]:
        if options.get("slots") or "__init__" in cls.__dict__:
            return dataclasses.dataclass(cls, **options)
        def first_init(self: Any, *args: Any, **kwargs: Any) -> None:
            make(cls)  # (the made __init__ of this class, not of type(self): a subclass's
            cls.__init__(self, *args, **kwargs)  # own __init__ may be what called here)

        _PENDING[cls] = options
        type.__setattr__(cls, "__init__", first_init)
        return cls
    return defer if cls is None else defer(cls)


def make(cls: type) -> None:
    """Do the dataclass work ``cls`` and the deferred classes it inherits from still wait
    for (nothing for one already made)."""
    with _LOCK:
        for c in reversed(cls.__mro__):
            options = _PENDING.pop(c, None)
            if options is not None:
                type.__delattr__(c, "__init__")
                dataclasses.dataclass(c, **options)


def deferred(cls: type) -> bool:
    """Whether ``cls`` is a deferred class not made yet."""
    return cls in _PENDING
