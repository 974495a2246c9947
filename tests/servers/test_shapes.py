"""servers/shapes.py: a request's arguments checked against its handler's signature."""

from __future__ import annotations

from typing import Any

from cloudos.servers.shapes import shape_of
from cloudos.servers.vfs.server import Vfs


class Handlers:
    def read(self, request: Any, fd: int, count: int, pgid: int = 0) -> int:
        return 0

    def utimensat(self, request: Any, dirfd: int, path: bytes | None,
                  times: tuple[int | None, int | None] | None, flags: int) -> int:
        return 0

    def poll(self, request: Any, fds: list[tuple[int, int]], timeout: float) -> int:
        return 0


def test_arity_and_kinds() -> None:
    h = Handlers()
    read = shape_of(h.read)
    assert read.accepts((3, 10)) and read.accepts((3, 10, 7))
    assert not read.accepts(()) and not read.accepts((3,)) and not read.accepts((1, 2, 3, 4))
    assert not read.accepts((b"3", 10)) and not read.accepts((None, 10))
    times = shape_of(h.utimensat)
    assert times.accepts((-100, None, None, 0)) and times.accepts((3, b"f", (1, None), 0))
    assert not times.accepts((3, "f", None, 0)) and not times.accepts((3, b"f", [1, 2], 0))
    poll = shape_of(h.poll)
    assert poll.accepts(([(1, 1)], 5)) and poll.accepts(([], 0.5))
    assert not poll.accepts(((1, 1), 5))


def test_every_vfs_operation_has_a_shape() -> None:
    vfs = Vfs.__new__(Vfs)
    Vfs.__init__(vfs, None, None)  # type: ignore[arg-type]
    for op, handler in vfs.ops.items():
        assert not shape_of(handler).accepts(("not", "a", "request", 0, 0, 0, 0)), op
