"""Request shapes: what each server operation accepts, read once from its type hints.

Owns: turning a handler's signature (``def read(self, request, fd: int, count: int,
pgid: int = 0)``) into a cheap check of a request's arguments: how many, and the
kind of each (``int``, ``bytes``, ``list``, ``tuple``, ``None`` where the hint
allows it). A server checks every request against the shape of the operation it
names before it runs it, so a malformed request (a raw message from a guest, a
personality bug) is an error answer, never a crash of the server.
Never: checks values (ranges, fds, flags): each handler does, as Linux does.
Called by: the servers' dispatch (``vfs.server.Vfs.handle``).
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

# A hint names the kinds a value may have; Python's own loose equivalences hold
# (a bool is an int, an int may stand for a float or a flag).
_KINDS: dict[Any, tuple[type, ...]] = {
    int: (int,), bool: (int,), float: (int, float), bytes: (bytes, bytearray),
    str: (str,), type(None): (type(None),),
}


def _kinds(hint: Any) -> tuple[type, ...]:
    """The runtime types a value annotated ``hint`` may have (``object``: anything)."""
    if hint is Any:
        return (object,)
    if hint in _KINDS:
        return _KINDS[hint]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return tuple(kind for part in typing.get_args(hint) for kind in _kinds(part))
    if origin is not None:  # list[int], tuple[int, int], dict[...]: the container's type
        return (origin,)
    return (hint,) if isinstance(hint, type) else (object,)


@dataclass(frozen=True)
class Shape:
    """The arguments one operation takes after its request: their kinds, how many may be left out."""

    kinds: tuple[tuple[type, ...], ...]
    required: int

    def accepts(self, args: tuple[Any, ...]) -> bool:
        if not self.required <= len(args) <= len(self.kinds):
            return False
        return all(isinstance(arg, kinds) for arg, kinds in zip(args, self.kinds))


_shapes: dict[Callable[..., Any], Shape] = {}  # by function: read once, not per restart


def shape_of(handler: Callable[..., Any]) -> Shape:
    """The shape of a bound handler ``(request, *args)``, from its signature and hints."""
    func = getattr(handler, "__func__", handler)
    shape = _shapes.get(func)
    if shape is None:
        shape = _shapes[func] = _read_shape(handler)
    return shape


def _read_shape(handler: Callable[..., Any]) -> Shape:
    hints = typing.get_type_hints(handler)
    params = list(inspect.signature(handler).parameters.values())[1:]  # after ``request``
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        raise TypeError(f"{handler.__name__}: only positional arguments make a request")
    kinds = tuple(_kinds(hints.get(p.name, Any)) for p in params)
    return Shape(kinds, sum(p.default is p.empty for p in params))
