"""abi/vfs.py: the VFS protocol declared once, and untyped messages decoded against it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloudos.abi import vfs
from cloudos.abi.record import Record
from cloudos.abi.shapes import shape_of
from cloudos.abi.dataclass import FrozenInstanceError
from cloudos.errno import Errno
from cloudos.servers.vfs.server import Vfs

ROOT = Path(__file__).resolve().parents[2] / "cloudos"


class Sample(Record):
    fd: int
    path: bytes | None
    times: tuple[int | None, int | None] | None
    fds: list[tuple[int, int]]
    timeout: float = 0.0


def test_arity_and_kinds() -> None:
    shape = shape_of(Sample)
    assert shape.accepts((3, b"f", None, [], 1)) and shape.accepts((3, None, (1, None), [(1, 1)]))
    assert shape.accepts((3, None, None, [], 0.5))
    assert not shape.accepts((3, b"f", None)) and not shape.accepts((3, b"f", None, [], 1, 2))
    assert not shape.accepts((b"3", b"f", None, [])) and not shape.accepts((3, "f", None, []))
    assert not shape.accepts((3, b"f", [1, 2], [])) and not shape.accepts((3, b"f", None, (1, 1)))


def test_decode_answers_unknown_ops_and_misfits_with_an_errno() -> None:
    assert vfs.decode(vfs.Op.READ, (3, 10)) == vfs.Read(3, 10)
    assert vfs.decode(vfs.Op.READ, (3, 10, 7, 1)) == vfs.Read(3, 10, 7, 1)
    assert vfs.decode(vfs.Op.FDATASYNC, (4,)) == vfs.Fsync(4)
    assert vfs.decode(vfs.Op.SYNC, ()) == vfs.Sync()
    for op, args in ((0, ()), (0, (3,)), (0, (1, 2, 3, 4, 5)), (0, (b"3", 10)), (1003, ()),
                     (7, ((1, 1), 5))):
        assert vfs.decode(op, args) is Errno.EINVAL, (op, args)
    for unknown in (12345, -1, 2, "read", None):
        assert vfs.decode(unknown, ()) is Errno.ENOSYS, unknown


def test_every_op_has_a_request_and_every_request_a_handler() -> None:
    assert set(vfs.BY_OP) == set(vfs.Op) - vfs.RUNTIME_OPS
    vfs_ = Vfs.__new__(Vfs)
    Vfs.__init__(vfs_, None, None)  # type: ignore[arg-type]
    assert set(vfs_.handlers) == set(vfs.REQUESTS)
    for cls in vfs.REQUESTS:
        assert vfs.BY_OP[cls.OP] is cls  # type: ignore[attr-defined]
        assert "__slots__" in cls.__dict__, cls


def test_every_sender_sends_typed_requests() -> None:
    """No message body is a bare (op, *args) tuple any more, and no server reads
    ``request.args``: the server runtime has no untyped form to decode."""
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        assert not re.findall(r"body=\(", text), path
        assert "request.args" not in text, path


def test_no_op_number_is_a_literal_at_either_end() -> None:
    """The client names its requests and the server its handlers: no ``call(t, 257, ...``,
    no ``{0: self.read}``, no ``request.args[2]``."""
    client = (ROOT / "linux" / "syscalls" / "sys_file.py").read_text()
    server = (ROOT / "servers" / "vfs" / "server.py").read_text()
    assert not re.findall(r"\bcall\(\s*t\s*,\s*-?\d", client)
    assert not re.findall(r"\bcall\(\s*t\s*,\s*t\.syscall", client)
    assert not re.findall(r"[{,]\s*\d+\s*:\s*self\.\w+", server)
    assert "request.args" not in server.replace("request.args)", "")


def test_requests_are_frozen_slotted_values() -> None:
    read = vfs.Read(3, 10)
    assert (read.fd, read.count, read.pgid, read.sid) == (3, 10, 0, 0)
    assert read == vfs.Read(fd=3, count=10, pgid=0) and read != vfs.Read(3, 11)
    assert read != vfs.Write(3, 10) and hash(read) == hash(vfs.Read(3, 10))
    assert repr(read) == "Read(fd=3, count=10, pgid=0, sid=0, inline=None)"
    with pytest.raises(FrozenInstanceError):
        read.fd = 4  # type: ignore[misc]
    with pytest.raises(AttributeError):
        read.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        vfs.Read(3)  # type: ignore[call-arg]
