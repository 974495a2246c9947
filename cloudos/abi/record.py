"""Records: frozen, slotted value classes that are cheap to declare.

Owns: ``record``, a class decorator that makes a class of annotated fields into an
immutable value with ``__slots__``, a positional-or-keyword ``__init__``, equality,
hashing and a repr, as ``@dataclass(frozen=True, slots=True)`` does (mypy sees it as
one, through ``dataclass_transform``), and ``fields``, the declared fields.
Why not dataclasses: declaring the VFS protocol's ~80 requests with them costs
about 35 ms at every start of CloudOS (each generates and compiles five methods and
rebuilds the class for its slots); a record compiles one ``__init__`` when its first
instance is made, shares the rest, and builds faster instances.
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


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    """``cls`` as a frozen, slotted value class of its annotated fields (ClassVars excluded)."""
    own = cls.__dict__.get("__annotations__", {})
    fields = tuple(Field(name, hint, cls.__dict__.get(name, _MISSING))
                   for name, hint in own.items() if not str(hint).startswith("ClassVar"))
    names = tuple(f.name for f in fields)
    namespace = {k: v for k, v in cls.__dict__.items()
                 if k not in names and k not in ("__dict__", "__weakref__")}
    namespace.update(__slots__=names, __match_args__=names, __record_fields__=fields,
                     __setattr__=_frozen,
                     __delattr__=_frozen, __eq__=_eq, __hash__=_hash, __repr__=_repr,
                     __getstate__=_getstate, __setstate__=_setstate)
    made: type[T] = type(cls.__name__, cls.__bases__, namespace)
    type.__setattr__(made, "__init__", _first_init(made, fields))
    return made


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


def _frozen(self: Any, name: str, *_: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _eq(self: Any, other: object) -> Any:
    if type(other) is not type(self):
        return NotImplemented
    same: bool = _values(self) == _values(other)
    return same


def _hash(self: Any) -> int:
    return hash((type(self).__name__, _values(self)))


def _repr(self: Any) -> str:
    args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
    return f"{type(self).__name__}({args})"


def _getstate(self: Any) -> tuple[Any, ...]:
    return _values(self)


def _setstate(self: Any, state: tuple[Any, ...]) -> None:
    for name, value in zip(self.__slots__, state):
        object.__setattr__(self, name, value)
