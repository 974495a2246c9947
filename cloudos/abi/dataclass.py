"""Dataclasses that cost little to declare and to make: the part of the standard
``dataclasses`` that CloudOS uses, with the same meaning.

Owns: ``dataclass`` (the options ``init``, ``repr``, ``eq``, ``frozen`` and ``slots``;
mypy sees it as a dataclass decorator, through ``dataclass_transform``), ``field``
(``default``, ``default_factory``, ``init``, ``repr``, ``compare``), ``fields``,
``replace``, ``make`` and ``FrozenInstanceError``.
Why not ``dataclasses``: it writes each class's ``__init__``, ``__repr__`` and
``__eq__`` (and a frozen class's ``__setattr__``, ``__delattr__`` and ``__hash__``) as
source and compiles each, 0.3 to 1.9 ms a class on this host, and it imports
``inspect`` (with ``ast``, ``dis`` and ``tokenize``). A run of ``cloudos run`` makes ~40
of CloudOS's ~80 dataclasses, and that was ~21 ms of a ~120 ms start (issue 18:
start-up is most of a short program's run).
How: at declaration, the decorator reads the class's annotations after its dataclass
bases' fields and installs shared ``__repr__``, ``__eq__``, ``__hash__`` and, for a
frozen class, ``__setattr__``/``__delattr__``, which read the fields from the class.
The one method that must be the class's own, ``__init__``, is compiled when the first
instance is made (a first ``__init__`` compiles, installs and runs it), so a class that
a run never makes costs nothing more. The rules are the standard decorator's: a class's
own ``__repr__``, ``__eq__`` or ``__hash__`` is kept; ``eq`` without ``frozen`` makes
instances unhashable; ``__post_init__`` runs last; a field without a default after one
with is a TypeError at declaration; ``slots=True`` makes a new class with the fields as
slots; a field given with ``field(default_factory=...)`` is not a class attribute.
Never: ``order``, ``unsafe_hash``, ``kw_only``, ``InitVar``, ``asdict``; the standard
functions (``dataclasses.fields``...) do not know these classes (use this module's).
Called by: most of CloudOS (kernel, personality, servers, HAL, machine).
"""

from __future__ import annotations

import marshal
import os
import sys
from operator import attrgetter
from reprlib import recursive_repr
from types import CodeType
from typing import Any, Callable, TypeVar, dataclass_transform, overload

T = TypeVar("T")
_FIELDS = "__cloudos_fields__"  # a dataclass's fields, bases' first: a tuple of Field
_MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen dataclass (or a record)."""


class Field:
    """One field: its name, its annotation as written, and what ``field()`` said."""

    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "compare")

    def __init__(self, default: Any = _MISSING, default_factory: Any = _MISSING,
                 init: bool = True, repr: bool = True, compare: bool = True) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.compare = init, repr, compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r})"


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] = _MISSING,
          init: bool = True, repr: bool = True, compare: bool = True) -> Any:
    """A field's declaration beyond its default, as ``dataclasses.field``."""
    return Field(default, default_factory, init, repr, compare)


def fields(class_or_instance: Any) -> tuple[Field, ...]:
    """A dataclass's fields, in ``__init__``'s order (``init=False`` ones included)."""
    found: tuple[Field, ...] | None = getattr(class_or_instance, _FIELDS, None)
    if found is None:
        raise TypeError(f"{class_or_instance!r} is not a dataclass")
    return found


def replace(obj: T, /, **changes: Any) -> T:
    """A new instance of ``obj``'s class with ``changes`` and ``obj``'s other fields."""
    for f in fields(obj):
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, "
                                 "it cannot be specified with replace()")
        elif f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


@overload
def dataclass(cls: type[T], /) -> type[T]: ...


@overload
def dataclass(*, init: bool = True, repr: bool = True, eq: bool = True,
              frozen: bool = False, slots: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: type[T] | None = None, /, *, init: bool = True, repr: bool = True,
              eq: bool = True, frozen: bool = False, slots: bool = False) -> Any:
    """``cls`` as a dataclass of its annotated fields (ClassVars excluded)."""
    def wrap(cls: type[T]) -> type[T]:
        return _process(cls, init, repr, eq, frozen, slots)
    return wrap if cls is None else wrap(cls)


def make(cls: type) -> None:
    """Compile ``cls``'s ``__init__`` now, not at its first instance (a test that
    checks every class of the package uses it)."""
    init = cls.__dict__.get("__init__")
    if getattr(init, "_first", False):
        type.__setattr__(cls, "__init__", _init(cls))


def _process(cls: type[T], init: bool, repr: bool, eq: bool, frozen: bool,
             slots: bool) -> type[T]:
    own = cls.__dict__
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get(_FIELDS, ()):
            found[f.name] = f
    new_names = []
    for name, hint in own.get("__annotations__", {}).items():
        if str(hint).startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = own.get(name, _MISSING)
        f = value if isinstance(value, Field) else Field(value)
        f.name, f.type = name, hint
        if f.default is not _MISSING and f.default.__class__.__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not "
                             "allowed: use default_factory")
        found[name] = f  # (a field declared again keeps its place, as dataclasses does)
        new_names.append(name)
    all_fields = tuple(found.values())
    _check_order(cls, all_fields)

    namespace: dict[str, Any] = {_FIELDS: all_fields}
    if "__match_args__" not in own:
        namespace["__match_args__"] = tuple(f.name for f in all_fields if f.init)
    if repr and "__repr__" not in own:
        namespace["__repr__"] = _repr
    if eq and "__eq__" not in own:
        namespace["__eq__"] = _eq
    if frozen:
        if "__setattr__" in own or "__delattr__" in own:
            raise TypeError(f"cannot overwrite __setattr__ or __delattr__ in {cls.__name__}")
        namespace.update(__setattr__=_frozen, __delattr__=_frozen)
    hash_given = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if eq and not hash_given:
        namespace["__hash__"] = _hash if frozen else None
    namespace["__cloudos_values__"] = staticmethod(_getter([f.name for f in all_fields
                                                            if f.compare]))

    if slots:
        made = _slotted(cls, new_names, namespace)
    else:
        made = cls
        for f in all_fields:
            if f.name in own and isinstance(own[f.name], Field):
                if f.default is _MISSING:
                    type.__delattr__(cls, f.name)
                else:
                    type.__setattr__(cls, f.name, f.default)
        for name, value in namespace.items():
            type.__setattr__(cls, name, value)
    if init and "__init__" not in own:
        type.__setattr__(made, "__init__", _first_init(made))
    return made


def _slotted(cls: type, names: list[str], namespace: dict[str, Any]) -> type:
    """``cls`` made again with ``names`` as its slots (a class's slots are fixed when
    it is made); the fields' defaults then live in ``__init__`` only."""
    body = {k: v for k, v in cls.__dict__.items()
            if k not in names and k not in ("__dict__", "__weakref__")}
    body.update(namespace, __slots__=tuple(names))
    if body.get("__setattr__") is _frozen:  # (copy and pickle set a frozen one's slots)
        body.update(__getstate__=_getstate, __setstate__=_setstate)
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made


def _check_order(cls: type, all_fields: tuple[Field, ...]) -> None:
    seen_default = False
    for f in all_fields:
        if not f.init:
            continue
        if f.default is not _MISSING or f.default_factory is not _MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"{cls.__name__}: non-default argument {f.name!r} follows "
                            "default argument")


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function from an instance to the tuple of its ``names`` fields."""
    if not names:
        return lambda _: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


def _first_init(cls: type) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = cls.__dict__["__init__"]
        if init is __init__:  # (another thread's first instance may have made it)
            init = _init(cls)
            type.__setattr__(cls, "__init__", init)
        init(self, *args, **kwargs)

    __init__._first = True  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _init(cls: type) -> Callable[..., None]:
    """``cls``'s ``__init__``: one function, compiled from source as the standard
    decorator's is (so that a call costs what a hand-written ``__init__`` does)."""
    frozen = cls.__dict__.get("__setattr__") is _frozen
    scope: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": _MISSING}
    params, lines = [], []
    for f in fields(cls):
        value = f.name
        if f.default_factory is not _MISSING:
            scope[f"_f_{f.name}"] = f.default_factory
            if f.init:
                params.append(f"{f.name}=_MISSING")
                value = f"_f_{f.name}() if {f.name} is _MISSING else {f.name}"
            else:
                value = f"_f_{f.name}()"
        elif f.default is not _MISSING:
            scope[f"_d_{f.name}"] = f.default
            if f.init:
                params.append(f"{f.name}=_d_{f.name}")
            else:
                value = f"_d_{f.name}"
        elif f.init:
            params.append(f.name)
        else:
            continue  # (init=False without a default: set by __post_init__ or later)
        lines.append(f"    _set(self, {f.name!r}, {value})" if frozen
                     else f"    self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(lines) or "    pass")
    exec(compiled(source), scope)
    made: Callable[..., None] = scope["__init__"]
    made.__qualname__ = f"{cls.__qualname__}.__init__"
    return made


_CACHE = os.path.join(os.path.dirname(__file__), "__pycache__",
                      f"dataclass-inits.{sys.implementation.cache_tag}.marshal")
_codes: dict[str, CodeType] | None = None  # source -> its code, as the cache file has it


def compiled(source: str) -> CodeType:
    """``source`` (a generated method) compiled, from a cache kept as Python keeps a
    module's bytecode: compiling one ``__init__`` costs ~0.3 ms, and a run makes ~30
    classes and records, every run the same. The cache is a file of the package's
    ``__pycache__`` (marshal, keyed by the exact source, so a changed class is a new
    entry); like a .pyc it is not written under PYTHONDONTWRITEBYTECODE or where the
    package's directory is read-only, and a damaged or foreign file is compiled over."""
    global _codes
    if _codes is None:
        _codes = _load_codes()
    code = _codes.get(source)
    if code is None:
        code = compile(source, "<cloudos.abi.dataclass>", "exec")
        _codes[source] = code
        _save_codes(_codes)
    return code


def _load_codes() -> dict[str, CodeType]:
    try:
        with open(_CACHE, "rb") as f:
            codes = marshal.loads(f.read())  # (marshal.load(f) reads it bit by bit: 10x slower)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(codes, dict) or len(codes) > 1000:  # (not ours, or grown stale)
        return {}
    return codes


def _save_codes(codes: dict[str, CodeType]) -> None:
    if sys.dont_write_bytecode:
        return
    partial = f"{_CACHE}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(_CACHE), exist_ok=True)
        with open(partial, "wb") as f:
            marshal.dump(codes, f)
        os.replace(partial, _CACHE)  # (whole or not at all: another run may read it)
    except OSError:
        try:
            os.unlink(partial)
        except OSError:
            pass


@recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
    return f"{self.__class__.__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    values = self.__cloudos_values__
    same: bool = values(self) == values(other)
    return same


def _hash(self: Any) -> int:
    return hash(self.__cloudos_values__(self))


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(fields(self), state):
        object.__setattr__(self, f.name, value)


def _frozen(self: Any, name: str, *_: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")
