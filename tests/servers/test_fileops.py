"""The VFS of file kinds: every kind of open file is a module behind one protocol."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.server import KINDS

VFS = Path(__file__).resolve().parents[2] / "cloudos" / "servers" / "vfs"


def test_every_kind_made_has_its_operations() -> None:
    made = {kind for path in VFS.glob("*.py")
            for kind in re.findall(r'OpenFile\(\s*"(\w+)"', path.read_text())}
    every = set(KINDS) | set(KINDS.LATER)  # type: ignore[attr-defined]  # (made when met)
    assert made == every
    assert all(isinstance(KINDS[kind], FileOps) for kind in every)


def test_the_server_does_not_know_the_kinds() -> None:
    """server.py dispatches: it asks a file's kind, never tests which kind it is (but for
    the checks Linux makes by file type: ftruncate of a node, epoll of a node)."""
    server = (VFS / "server.py").read_text()
    tests = re.findall(r'\.kind\s*[!=]=\s*"(\w+)"', server)
    assert set(tests) <= {"node"}, tests


def test_an_open_file_has_the_fields_it_was_given_and_the_defaults_of_the_others() -> None:
    """``OpenFile`` sets on the instance only the fields a kind gives; every other reads
    its declared default, a field it does not have is refused, and each open file counts
    against file-max once (its own ``__init__``, not the dataclass's)."""
    import pytest

    from cloudos.abi.dataclass import fields
    from cloudos.servers.vfs.files import OpenFile, OpenFiles

    before = OpenFiles.count
    a = OpenFile("pipe", 1, pipe=None, name=b"x", refs=2)
    b = OpenFile("node", 0)
    assert OpenFiles.count == before + 2
    for field in fields(OpenFile):
        default = field.default
        assert getattr(b, field.name) == {"kind": "node", "flags": 0}.get(field.name, default)
    assert (a.kind, a.flags, a.name, a.refs, a.offset, a.cred) == ("pipe", 1, b"x", 2, 0,
                                                                    (0, -1, -1))
    a.refs -= 1  # (a change is the instance's own)
    assert (a.refs, b.refs, OpenFile("node", 0).refs) == (1, 1, 1)
    with pytest.raises(TypeError, match="no field bogus"):
        OpenFile("node", 0, bogus=1)
    assert repr(b).startswith("OpenFile(kind='node', flags=0, walk=None, pipe=None")


def test_file_max_refuses_the_open_file_past_it(monkeypatch: Any) -> None:
    """The machine's count of open files stops at its limit: ENFILE, not counted, and
    counted again once a file goes."""
    import errno
    import gc

    import pytest

    from cloudos.errno import KernelError
    from cloudos.servers.vfs.files import OpenFile, OpenFiles

    gc.collect()
    monkeypatch.setattr(OpenFiles, "limit", OpenFiles.count + 1)
    monkeypatch.setattr(OpenFiles, "last_collect", 0.0)
    first = OpenFile("node", 0)
    with pytest.raises(KernelError) as info:
        OpenFile("node", 0)
    assert info.value.errno == errno.ENFILE
    assert OpenFiles.count == OpenFiles.limit
    del first
    again = OpenFile("node", 0)  # (the place the first left)
    assert OpenFiles.count == OpenFiles.limit and again.refs == 1
