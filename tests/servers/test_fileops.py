"""The VFS of file kinds: every kind of open file is a module behind one protocol."""

from __future__ import annotations

import re
from pathlib import Path

from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.server import KINDS

VFS = Path(__file__).resolve().parents[2] / "cloudos" / "servers" / "vfs"


def test_every_kind_made_has_its_operations() -> None:
    made = {kind for path in VFS.glob("*.py")
            for kind in re.findall(r'OpenFile\(\s*"(\w+)"', path.read_text())}
    assert made == set(KINDS)
    assert all(isinstance(ops, FileOps) for ops in KINDS.values())


def test_the_server_does_not_know_the_kinds() -> None:
    """server.py dispatches: it asks a file's kind, never tests which kind it is (but for
    the checks Linux makes by file type: ftruncate of a node, epoll of a node)."""
    server = (VFS / "server.py").read_text()
    tests = re.findall(r'\.kind\s*[!=]=\s*"(\w+)"', server)
    assert set(tests) <= {"node"}, tests
