"""Records: frozen, slotted value classes that are cheap to declare.

Owns: ``Record``, a base class that makes a class of annotated fields
(``class Read(Record): fd: int ...``) into an immutable value with ``__slots__``, a
positional-or-keyword ``__init__``, equality, hashing and a repr, as
``@dataclass(frozen=True, slots=True)`` does (mypy sees it as one, through
``dataclass_transform``), and ``fields``, the declared fields.
Why not dataclasses: declaring the VFS protocol's ~130 requests with them costs
about 35 ms at every start of CloudOS (each generates and compiles five methods and
rebuilds the class for its slots); a record's class is made once, with its slots, by
the base's metaclass, shares the base's methods, and compiles its ``__init__`` when its
first instance is made (~10 us a class, against ~20 us when a decorator made each
class a second time, to give it slots).
Never: validates values (a request's shape is checked by ``abi.shapes``).
Called by: ``abi.vfs``.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, TypeVar

from cloudos.abi.dataclass import FrozenInstanceError, compiled


if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator

T = TypeVar("T")
_MISSING = object()


class Field(NamedTuple):
    name: str
    hint: Any  # the annotation as written (a string: ``from __future__ import annotations``)
    default: Any  # _MISSING when the field is required


class _Made(type):
    """Record's metaclass: a record class is made with its fields as its slots."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) \
            -> _Made:
        if not bases:  # (Record itself)
            return super().__new__(mcls, name, bases, namespace)
        own = namespace.get("__annotations__", {})
        fields = tuple(Field(name, hint, namespace.get(name, _MISSING))
                       for name, hint in own.items() if not str(hint).startswith("ClassVar"))
        names = tuple(f.name for f in fields)
        body = {k: v for k, v in namespace.items() if k not in names}
        body.update(__slots__=names, __match_args__=names, __record_fields__=fields)
        made = super().__new__(mcls, name, bases, body)
        type.__setattr__(made, "__init__", _first_init(made, fields))
        return made


@dataclass_transform(frozen_default=True)
class Record(metaclass=_Made):
    """The base of records: a subclass's annotated fields (ClassVars excluded) are its
    values."""

    __slots__: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        same: bool = _values(self) == _values(other)
        return same

    def __hash__(self) -> int:
        return hash((type(self).__name__, _values(self)))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({args})"

    def __getstate__(self) -> tuple[Any, ...]:
        return _values(self)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state):
            object.__setattr__(self, name, value)


def fields(cls: type) -> tuple[Field, ...]:
    """The fields a record class declares, in order."""
    return cls.__dict__["__record_fields__"]  # type: ignore[no-any-return]


def required(field: Field) -> bool:
    return field.default is _MISSING


def hints(cls: type) -> dict[str, Any]:
    """The fields' annotations, evaluated."""
    return typing.get_type_hints(cls)


def _first_init(cls: type, fields: tuple[Field, ...]) -> Callable[..., None]:
    """An ``__init__`` that compiles the record's own on the first instance, installs it,
    and runs it: most records of a protocol are never made in a run, and compiling all of
    them up front cost about 5 ms of every start of CloudOS."""
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = cls.__dict__["__init__"]
        if init is __init__:  # (another first instance may have compiled it already)
            init = _init(cls.__name__, fields)
            type.__setattr__(cls, "__init__", init)
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__name__}.__init__"
    return __init__


def _init(name: str, fields: tuple[Field, ...]) -> Callable[..., None]:
    params = ", ".join(f.name if required(f) else f"{f.name}=_d_{f.name}" for f in fields)
    body = "".join(f"    _set(self, {f.name!r}, {f.name})\n" for f in fields) or "    pass\n"
    scope: dict[str, Any] = {"_set": object.__setattr__}
    scope.update({f"_d_{f.name}": f.default for f in fields if not required(f)})
    exec(compiled(f"def __init__(self, {params}):\n{body}"), scope)  # one per record
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{name}.__init__"
    return init


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in self.__slots__)
