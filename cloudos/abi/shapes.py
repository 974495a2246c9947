"""Request shapes: what a message's arguments must look like, read once from type hints.

Owns: turning a request record's fields (``fd: int``, ``path: bytes | None``,
``fds: list[tuple[int, int]]``) into a cheap check of an untyped argument tuple:
how many, and the kind of each (``int``, ``bytes``, ``list``, ``tuple``, ``None``
where the hint allows it). A server decodes a message that arrives untyped (a raw
message from a guest) through its shape, so a malformed one is an error answer,
never a crash of the server.
Never: checks values (ranges, fds, flags): each handler does, as Linux does.
Called by: ``abi.vfs.decode``.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from cloudos.abi import record
from cloudos.abi.dataclass import dataclass

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
    """The arguments a request takes: their kinds, and how many may be left out."""

    kinds: tuple[tuple[type, ...], ...]
    required: int

    def accepts(self, args: tuple[Any, ...]) -> bool:
        if not self.required <= len(args) <= len(self.kinds):
            return False
        return all(isinstance(arg, kinds) for arg, kinds in zip(args, self.kinds))


def shape_of(cls: type) -> Shape:
    """The shape of a record's ``__init__`` arguments, from its fields and their hints."""
    declared = record.fields(cls)
    hints = record.hints(cls)
    kinds = tuple(_kinds(hints.get(f.name, Any)) for f in declared)
    return Shape(kinds, sum(record.required(f) for f in declared))
