"""The file systems the VFS mounts: tmpfs, hostfs and overlay.

The behavioural tests run against all three, each given a writable directory
to work in (for the overlay, an empty directory of the read-only lower layer,
so every test also exercises copy-up). Then what is particular to each:
hostfs never leaving its root, overlay never touching its lower layer, and
tmpfs checked against a dict model by hypothesis.
"""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import DType, FileSystem, Magic, Node
from cloudos.servers.vfs.hostfs import HostFs
from cloudos.servers.vfs.overlay import OverlayFs
from cloudos.servers.vfs.tmpfs import TmpFs


@contextmanager
def fails(code: Errno) -> Iterator[None]:
    with pytest.raises(KernelError) as info:
        yield
    assert info.value.errno == code, info.value


@dataclass
class Rig:
    fs: FileSystem
    top: Node  # a writable, empty directory

    def at(self, path: bytes) -> Node:
        node = self.top
        for name in path.split(b"/"):
            node = self.fs.lookup(node, name)
        return node

    def file(self, name: bytes, data: bytes = b"") -> Node:
        node = self.fs.create(self.top, name, 0o644, 0, 0)
        if data:
            assert self.fs.write(node, 0, data) == len(data)
        return node

    def names(self, dir: Node | None = None) -> set[bytes]:
        return {name for name, _, _ in self.fs.readdir(dir or self.top)}

    def content(self, node: Node) -> bytes:
        return self.fs.read(node, 0, 1 << 20)


PASSWD = b"root:x:0:0:root:/root:/bin/sh\n"
HOSTS = b"127.0.0.1 localhost\n"
LOWER_TREE = {  # the overlay's lower layer: path -> content (None: a directory)
    "work": None,
    "etc": None,
    "etc/passwd": PASSWD,
    "etc/hosts": HOSTS,
    "etc/sub": None,
    "etc/sub/deep": b"deep\n",
    "bin": None,
    "bin/sh": b"\x7fELF",
}


def make_lower(top: Path) -> Path:
    top.mkdir()
    for path, content in LOWER_TREE.items():
        if content is None:
            (top / path).mkdir()
        else:
            (top / path).write_bytes(content)
    (top / "bin/sh").chmod(0o755)
    (top / "etc/localhost").symlink_to("hosts")
    return top


def snapshot(top: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under ``top``: (mode, mtime, content or link target)."""
    seen = {}
    for path in [top, *top.rglob("*")]:
        st_ = path.lstat()
        if path.is_symlink():
            body = os.readlink(path).encode()
        elif path.is_file():
            body = path.read_bytes()
        else:
            body = b""
        seen[str(path.relative_to(top))] = (st_.st_mode, st_.st_mtime_ns, body)
    return seen


def make_overlay(tmp_path: Path) -> OverlayFs:
    return OverlayFs(HostFs(str(make_lower(tmp_path / "lower"))), TmpFs())


@pytest.fixture(params=["tmpfs", "hostfs", "overlay"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    fs: FileSystem
    if request.param == "tmpfs":
        fs = TmpFs()
        top = fs.root()
    elif request.param == "hostfs":
        (tmp_path / "host").mkdir()
        fs = HostFs(str(tmp_path / "host"), readonly=False)
        top = fs.root()
    else:
        fs = make_overlay(tmp_path)
        top = fs.lookup(fs.root(), b"work")
    yield Rig(fs, top)
    fs.close()


# Behaviour all three share.

def test_create_write_read(rig: Rig) -> None:
    node = rig.file(b"f")
    attr = rig.fs.getattr(node)
    assert attr.mode == stat.S_IFREG | 0o644 and attr.size == 0 and attr.nlink == 1
    assert attr.dev == rig.fs.dev and attr.ino == node.ino
    assert rig.fs.write(node, 0, b"hello") == 5
    assert rig.fs.read(node, 0, 100) == b"hello"
    assert rig.fs.read(node, 3, 2) == b"lo"
    assert rig.fs.read(node, 9, 2) == b""
    assert rig.fs.write(node, 0, b"") == 0
    assert rig.fs.getattr(node).size == 5
    assert rig.fs.lookup(rig.top, b"f") is node


def test_write_past_end_fills_with_zeros(rig: Rig) -> None:
    node = rig.file(b"f", b"hello")
    assert rig.fs.write(node, 10, b"x") == 1
    assert rig.content(node) == b"hello" + bytes(5) + b"x"
    assert rig.fs.getattr(node).size == 11


def test_truncate(rig: Rig) -> None:
    node = rig.file(b"f", b"hello")
    rig.fs.truncate(node, 2)
    assert rig.content(node) == b"he"
    rig.fs.truncate(node, 5)
    assert rig.content(node) == b"he" + bytes(3)
    with fails(Errno.EISDIR):
        rig.fs.truncate(rig.top, 0)


def test_readdir(rig: Rig) -> None:
    assert rig.fs.readdir(rig.top) == []
    f = rig.file(b"f")
    d = rig.fs.mkdir(rig.top, b"d", 0o755, 0, 0)
    rig.fs.symlink(rig.top, b"l", b"f", 0, 0)
    listing = {name: (ino, kind) for name, ino, kind in rig.fs.readdir(rig.top)}
    assert listing == {b"f": (f.ino, DType.REG), b"d": (d.ino, DType.DIR),
                       b"l": (rig.at(b"l").ino, DType.LNK)}
    with fails(Errno.ENOTDIR):
        rig.fs.readdir(f)


def test_mkdir_rmdir(rig: Rig) -> None:
    d = rig.fs.mkdir(rig.top, b"d", 0o750, 0, 0)
    assert rig.fs.getattr(d).mode == stat.S_IFDIR | 0o750
    rig.fs.create(d, b"inner", 0o644, 0, 0)
    with fails(Errno.ENOTEMPTY):
        rig.fs.rmdir(rig.top, b"d")
    rig.fs.unlink(d, b"inner")
    rig.file(b"f")
    with fails(Errno.ENOTDIR):
        rig.fs.rmdir(rig.top, b"f")
    rig.fs.rmdir(rig.top, b"d")
    assert rig.names() == {b"f"}
    with fails(Errno.ENOENT):
        rig.fs.lookup(rig.top, b"d")


def test_unlink(rig: Rig) -> None:
    node = rig.file(b"f", b"data")
    rig.fs.mkdir(rig.top, b"d", 0o755, 0, 0)
    with fails(Errno.EISDIR):
        rig.fs.unlink(rig.top, b"d")
    rig.fs.unlink(rig.top, b"f")
    assert rig.names() == {b"d"}
    with fails(Errno.ENOENT):
        rig.fs.unlink(rig.top, b"f")
    if not isinstance(rig.fs, HostFs):  # an unlinked host file is gone (ESTALE)
        assert rig.content(node) == b"data"


def test_rename_over_existing(rig: Rig) -> None:
    a = rig.file(b"a", b"new")
    rig.file(b"b", b"old")
    rig.fs.rename(rig.top, b"a", rig.top, b"b")
    assert rig.names() == {b"b"}
    assert rig.content(rig.at(b"b")) == b"new"
    assert rig.content(a) == b"new"
    d = rig.fs.mkdir(rig.top, b"d", 0o755, 0, 0)
    rig.fs.rename(rig.top, b"b", d, b"moved")
    assert rig.names(d) == {b"moved"}


def test_rename_errors(rig: Rig) -> None:
    rig.file(b"f")
    a = rig.fs.mkdir(rig.top, b"a", 0o755, 0, 0)
    child = rig.fs.mkdir(a, b"child", 0o755, 0, 0)
    full = rig.fs.mkdir(rig.top, b"full", 0o755, 0, 0)
    rig.fs.create(full, b"x", 0o644, 0, 0)
    with fails(Errno.EINVAL):
        rig.fs.rename(rig.top, b"a", child, b"a")
    with fails(Errno.EINVAL):
        rig.fs.rename(rig.top, b"a", a, b"self")
    with fails(Errno.EISDIR):
        rig.fs.rename(rig.top, b"f", rig.top, b"a")
    with fails(Errno.ENOTDIR):
        rig.fs.rename(rig.top, b"a", rig.top, b"f")
    with fails(Errno.ENOTEMPTY):
        rig.fs.rename(rig.top, b"a", rig.top, b"full")
    with fails(Errno.ENOENT):
        rig.fs.rename(rig.top, b"missing", rig.top, b"g")
    rig.fs.rename(rig.top, b"full", a, b"child")  # over an empty directory
    assert rig.names(rig.at(b"a/child")) == {b"x"}
    assert rig.names() == {b"a", b"f"}


def test_rename_between_links_of_one_file_does_nothing(rig: Rig) -> None:
    node = rig.file(b"f")
    rig.fs.link(node, rig.top, b"g")
    rig.fs.rename(rig.top, b"f", rig.top, b"g")
    assert rig.names() == {b"f", b"g"}
    rig.fs.rename(rig.top, b"f", rig.top, b"f")
    assert rig.names() == {b"f", b"g"}


def test_symlink_readlink(rig: Rig) -> None:
    f = rig.file(b"f")
    link = rig.fs.symlink(rig.top, b"l", b"../f/x", 0, 0)
    attr = rig.fs.getattr(link)
    assert stat.S_ISLNK(attr.mode) and attr.size == len(b"../f/x")
    assert rig.fs.readlink(rig.at(b"l")) == b"../f/x"
    with fails(Errno.EINVAL):
        rig.fs.readlink(f)
    with fails(Errno.EEXIST):
        rig.fs.symlink(rig.top, b"f", b"x", 0, 0)


def test_hard_links(rig: Rig) -> None:
    f = rig.file(b"f", b"one")
    rig.fs.link(f, rig.top, b"g")
    g = rig.at(b"g")
    assert rig.fs.getattr(f).nlink == 2 and rig.fs.getattr(g).nlink == 2
    assert rig.fs.getattr(g).ino == rig.fs.getattr(f).ino
    rig.fs.write(g, 0, b"two")
    assert rig.content(f) == b"two"
    rig.fs.unlink(rig.top, b"f")
    assert rig.fs.getattr(g).nlink == 1
    d = rig.fs.mkdir(rig.top, b"d", 0o755, 0, 0)
    with fails(Errno.EPERM):
        rig.fs.link(d, rig.top, b"d2")
    with fails(Errno.EEXIST):
        rig.fs.link(g, rig.top, b"d")


def test_exists_and_missing(rig: Rig) -> None:
    f = rig.file(b"f")
    with fails(Errno.EEXIST):
        rig.fs.create(rig.top, b"f", 0o644, 0, 0)
    with fails(Errno.EEXIST):
        rig.fs.mkdir(rig.top, b"f", 0o755, 0, 0)
    with fails(Errno.ENOENT):
        rig.fs.lookup(rig.top, b"missing")
    with fails(Errno.ENOTDIR):
        rig.fs.lookup(f, b"x")
    with fails(Errno.ENOTDIR):
        rig.fs.create(f, b"x", 0o644, 0, 0)
    with fails(Errno.EISDIR):
        rig.fs.read(rig.top, 0, 1)
    with fails(Errno.EISDIR):
        rig.fs.write(rig.top, 0, b"x")


@pytest.mark.parametrize("name", [b"", b".", b"..", b"a/b", b"/", b"../etc", b"a\0"])
def test_bad_names_are_einval(rig: Rig, name: bytes) -> None:
    with fails(Errno.EINVAL):
        rig.fs.lookup(rig.top, name)
    with fails(Errno.EINVAL):
        rig.fs.create(rig.top, name, 0o644, 0, 0)


def test_bad_arguments(rig: Rig) -> None:
    f = rig.file(b"f", b"x")
    for op in (lambda: rig.fs.read(f, -1, 1), lambda: rig.fs.read(f, 0, -1),
               lambda: rig.fs.write(f, -1, b"x"), lambda: rig.fs.truncate(f, -1),
               lambda: rig.fs.symlink(rig.top, b"l", b"a\0b", 0, 0)):
        with fails(Errno.EINVAL):
            op()
    with fails(Errno.ENOENT):
        rig.fs.symlink(rig.top, b"l", b"", 0, 0)
    with fails(Errno.ENAMETOOLONG):
        rig.fs.symlink(rig.top, b"l", b"x" * 4096, 0, 0)
    with fails(Errno.ENAMETOOLONG):
        rig.fs.create(rig.top, b"x" * 256, 0o644, 0, 0)
    assert rig.names() == {b"f"} and rig.content(f) == b"x"


def test_times(rig: Rig) -> None:
    f = rig.file(b"f")
    rig.fs.setattr(f, atime_ns=1_000_000_000, mtime_ns=2_000_000_000)
    attr = rig.fs.getattr(f)
    assert (attr.atime_ns, attr.mtime_ns) == (1_000_000_000, 2_000_000_000)
    before = attr.ctime_ns
    rig.fs.write(f, 0, b"x")
    attr = rig.fs.getattr(f)
    assert attr.mtime_ns > 2_000_000_000 and attr.ctime_ns >= before
    rig.fs.setattr(rig.top, mtime_ns=1)
    rig.file(b"g")
    assert rig.fs.getattr(rig.top).mtime_ns > 1


def test_chmod_keeps_type(rig: Rig) -> None:
    f = rig.file(b"f")
    rig.fs.setattr(f, mode=0o4711)
    assert rig.fs.getattr(f).mode == stat.S_IFREG | 0o4711


def test_statfs(rig: Rig) -> None:
    magic, bsize, blocks, bfree, bavail, files, ffree = rig.fs.statfs()
    assert magic in tuple(Magic) and bsize > 0 and 0 <= bavail <= bfree <= blocks and ffree <= files


def test_hostfs_statfs_keeps_the_hosts_reserve(tmp_path: Path) -> None:
    """f_bavail is the host's (df's Available), below f_bfree by the blocks the host keeps
    for root: the same difference whatever else writes meanwhile."""
    _, _, _, bfree, bavail, _, _ = HostFs(str(tmp_path)).statfs()
    host = os.statvfs(tmp_path)
    assert bfree - bavail == host.f_bfree - host.f_bavail


@pytest.mark.parametrize("make", [lambda p: TmpFs(readonly=True), lambda p: HostFs(str(p))])
def test_read_only_instances_refuse_every_change(tmp_path: Path,
                                                 make: Callable[[Path], FileSystem]) -> None:
    (tmp_path / "f").write_bytes(b"data")
    (tmp_path / "d").mkdir()
    fs = make(tmp_path)
    root = fs.root()
    f = fs.lookup(root, b"f") if isinstance(fs, HostFs) else root
    changes: list[Callable[[], object]] = [
        lambda: fs.write(f, 0, b"x"), lambda: fs.truncate(f, 0),
        lambda: fs.create(root, b"n", 0o644, 0, 0), lambda: fs.mkdir(root, b"n", 0o755, 0, 0),
        lambda: fs.symlink(root, b"n", b"t", 0, 0),
        lambda: fs.mknod(root, b"n", stat.S_IFIFO, 0, 0, 0),
        lambda: fs.link(f, root, b"n"), lambda: fs.unlink(root, b"f"), lambda: fs.rmdir(root, b"d"),
        lambda: fs.rename(root, b"f", root, b"n"), lambda: fs.setattr(f, mode=0o600),
    ]
    for change in changes:
        with fails(Errno.EROFS):
            change()
    assert (tmp_path / "f").read_bytes() == b"data"
    fs.close()


# tmpfs.

def test_tmpfs_directory_nlink() -> None:
    fs = TmpFs()
    root = fs.root()
    assert fs.getattr(root).nlink == 2
    a = fs.mkdir(root, b"a", 0o755, 0, 0)
    fs.mkdir(root, b"b", 0o755, 0, 0)
    fs.create(root, b"f", 0o644, 0, 0)
    assert fs.getattr(root).nlink == 4
    fs.rename(root, b"b", a, b"b")
    assert (fs.getattr(root).nlink, fs.getattr(a).nlink) == (3, 3)
    fs.rmdir(a, b"b")
    assert fs.getattr(a).nlink == 2


def test_tmpfs_size_limit() -> None:
    fs = TmpFs(max_bytes=8192)
    root = fs.root()
    f = fs.create(root, b"f", 0o644, 0, 0)
    assert fs.write(f, 0, bytes(6000)) == 6000
    assert fs.write(f, 6000, bytes(6000)) == 2192  # a short write, then
    with fails(Errno.ENOSPC):
        fs.write(f, 8192, b"x")
    fs.truncate(f, 8 << 30)  # growing allocates nothing, so charges nothing
    assert (fs.getattr(f).size, fs.used_bytes) == (8 << 30, 8192)
    with fails(Errno.ENOSPC):
        fs.write(f, 8192, b"x")
    g = fs.create(root, b"g", 0o644, 0, 0)
    with fails(Errno.ENOSPC):
        fs.write(g, 0, b"x")
    fs.unlink(root, b"f")
    with fails(Errno.ENOSPC):  # still open: still charged
        fs.write(g, 0, b"x")
    del f
    gc.collect()  # the tracebacks caught above hold the node in a cycle
    assert fs.write(g, 0, b"x") == 1


def test_tmpfs_mknod() -> None:
    fs = TmpFs()
    root = fs.root()
    fifo = fs.mknod(root, b"p", stat.S_IFIFO | 0o600, 0, 0, 0)
    null = fs.mknod(root, b"null", stat.S_IFCHR | 0o666, (1 << 8) | 3, 0, 0)
    assert fs.getattr(fifo).mode == stat.S_IFIFO | 0o600
    assert fs.getattr(null).rdev == (1 << 8) | 3
    assert {(n, t) for n, _, t in fs.readdir(root)} == {(b"p", DType.FIFO), (b"null", DType.CHR)}
    with fails(Errno.EPERM):
        fs.mknod(root, b"d", stat.S_IFDIR | 0o755, 0, 0, 0)


NAMES = st.sampled_from([b"a", b"b", b"c"])
OPS = st.one_of(
    st.tuples(st.just("create"), NAMES),
    st.tuples(st.just("write"), NAMES, st.integers(0, 80), st.binary(max_size=40)),
    st.tuples(st.just("truncate"), NAMES, st.integers(0, 80)),
    st.tuples(st.just("unlink"), NAMES),
)
MODEL_MAX = 128
Op = tuple[Any, ...]  # ("create", name), ("write", name, offset, data), ...


@dataclass
class ModelFile:
    """A file of the model: its bytes, and how many it holds (a tmpfs file holds its
    first chunk from its start up to the last byte written: these files fit in one)."""

    data: bytearray
    held: int = 0


def model_step(model: dict[bytes, ModelFile], op: Op) -> Errno | int | None:
    """What a file system of MODEL_MAX bytes does: an errno, a write count, or None."""
    kind, name = op[0], op[1]
    if kind == "create":
        if name in model:
            return Errno.EEXIST
        model[name] = ModelFile(bytearray())
        return None
    if name not in model:
        return Errno.ENOENT
    file = model[name]
    data, free = file.data, MODEL_MAX - sum(f.held for f in model.values())
    if kind == "unlink":
        del model[name]
        return None
    if kind == "truncate":  # growing holds nothing more; a cut frees what it cut
        data[:] = data[:op[2]].ljust(op[2], b"\0")
        file.held = min(file.held, op[2])
        return None
    offset, payload = op[2], op[3]
    if not payload:
        return 0
    room = file.held + free - offset
    if room <= 0:
        return Errno.ENOSPC
    payload = payload[:room]
    data[:] = data.ljust(offset, b"\0")
    data[offset:offset + len(payload)] = payload
    file.held = max(file.held, offset + len(payload))
    return len(payload)


def fs_step(fs: TmpFs, op: Op) -> Errno | int | None:
    kind, name, root = op[0], op[1], fs.root()
    try:
        if kind == "create":
            fs.create(root, name, 0o644, 0, 0)
            return None
        node = fs.lookup(root, name)
        if kind == "unlink":
            fs.unlink(root, name)
            return None
        if kind == "truncate":
            fs.truncate(node, op[2])
            return None
        return fs.write(node, op[2], op[3])
    except KernelError as err:
        return err.errno


@settings(max_examples=300, deadline=None)
@given(st.lists(OPS, max_size=30))
def test_tmpfs_matches_a_dict(ops: list[Op]) -> None:
    fs = TmpFs(max_bytes=MODEL_MAX)
    model: dict[bytes, ModelFile] = {}
    for op in ops:
        assert fs_step(fs, op) == model_step(model, op), op
        assert_matches(fs, model)


def assert_matches(fs: TmpFs, model: dict[bytes, ModelFile]) -> None:
    root = fs.root()
    assert sorted(name for name, _, _ in fs.readdir(root)) == sorted(model)
    for name, file in model.items():
        node = fs.lookup(root, name)
        assert fs.read(node, 0, 1000) == file.data
        assert fs.getattr(node).size == len(file.data)
    assert fs.used_bytes == sum(f.held for f in model.values())


# hostfs: nothing leaves the root.

@pytest.fixture
def escape(tmp_path: Path) -> Iterator[tuple[HostFs, Path]]:
    root = tmp_path / "root"
    root.mkdir()
    (root / "etc").symlink_to("/etc")
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "up").symlink_to("..")
    (root / "dir").mkdir()
    (root / "dir/file").write_bytes(b"inside")
    fs = HostFs(str(root), readonly=False)
    yield fs, root
    fs.close()


def test_hostfs_symlink_to_outside_is_only_a_symlink(escape: tuple[HostFs, Path]) -> None:
    fs, _ = escape
    link = fs.lookup(fs.root(), b"etc")
    assert stat.S_ISLNK(fs.getattr(link).mode)
    assert fs.readlink(link) == b"/etc"
    with fails(Errno.ENOTDIR):
        fs.lookup(link, b"passwd")
    with fails(Errno.ENOTDIR):
        fs.readdir(link)
    with fails(Errno.ENOTDIR):
        fs.create(link, b"planted", 0o644, 0, 0)
    for name in (b"passwd", b"etc", b"up"):
        with fails(Errno.EACCES):
            fs.read(fs.lookup(fs.root(), name), 0, 100)
        with fails(Errno.EACCES):
            fs.write(fs.lookup(fs.root(), name), 0, b"x")


def test_hostfs_directory_swapped_for_a_symlink_cannot_be_listed(
        escape: tuple[HostFs, Path]) -> None:
    fs, root = escape
    d = fs.lookup(fs.root(), b"dir")
    f = fs.lookup(d, b"file")
    (root / "dir/file").unlink()
    (root / "dir").rmdir()
    (root / "dir").symlink_to("/etc")
    for op in (lambda: fs.readdir(d), lambda: fs.lookup(d, b"passwd"), lambda: fs.read(f, 0, 9),
               lambda: fs.getattr(f), lambda: fs.create(d, b"x", 0o644, 0, 0)):
        with pytest.raises(KernelError) as info:
            op()
        assert info.value.errno in (Errno.ENOTDIR, Errno.ESTALE, Errno.ENOENT)


def test_hostfs_file_replaced_behind_a_node_is_stale(escape: tuple[HostFs, Path]) -> None:
    fs, root = escape
    f = fs.lookup(fs.lookup(fs.root(), b"dir"), b"file")
    (root / "dir/new").write_bytes(b"another")  # made while the old one lives: another inode
    (root / "dir/new").rename(root / "dir/file")
    with fails(Errno.ESTALE):
        fs.read(f, 0, 10)


@pytest.mark.parametrize("name", [b"..", b"../..", b"dir/../..", b"/etc"])
def test_hostfs_refuses_names_that_climb(escape: tuple[HostFs, Path], name: bytes) -> None:
    fs, _ = escape
    with fails(Errno.EINVAL):
        fs.lookup(fs.root(), name)
    with fails(Errno.EINVAL):
        fs.mkdir(fs.root(), name, 0o755, 0, 0)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a device needs root")
def test_hostfs_does_not_open_devices(tmp_path: Path) -> None:
    os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    fs = HostFs(str(tmp_path))
    null = fs.lookup(fs.root(), b"null")
    assert stat.S_ISCHR(fs.getattr(null).mode)
    with fails(Errno.EACCES):
        fs.read(null, 0, 1)
    fs.close()


def test_hostfs_never_shows_the_hosts_devtmpfs() -> None:
    """The host's /dev names its devices: a view of the host, not a store of files."""
    if b"devtmpfs" not in open("/proc/self/mountinfo", "rb").read():
        pytest.skip("no devtmpfs mounted on this host")
    devs = [line.split()[4] for line in open("/proc/self/mountinfo", "rb")
            if b" - devtmpfs " in line]
    with fails(Errno.EACCES):
        HostFs(devs[0].decode())


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="no procfs on this host")
def test_hostfs_never_passes_procfs_through() -> None:
    fs = HostFs("/")
    with fails(Errno.EACCES):
        fs.lookup(fs.root(), b"proc")
    assert b"proc" in {name for name, _, _ in fs.readdir(fs.root())}
    fs.close()
    with fails(Errno.EACCES):
        HostFs("/proc/self")


def test_hostfs_writes_reach_the_host_exactly(escape: tuple[HostFs, Path]) -> None:
    fs, root = escape
    d = fs.lookup(fs.root(), b"dir")
    f = fs.create(d, b"new", 0o666, 0, 0)  # not narrowed by the host's umask
    fs.write(f, 0, b"abc")
    assert (root / "dir/new").read_bytes() == b"abc"
    assert stat.S_IMODE((root / "dir/new").stat().st_mode) == 0o666
    assert fs.getattr(f).ino == (root / "dir/new").stat().st_ino
    fs.rename(fs.root(), b"dir", fs.root(), b"moved")  # nodes held follow the rename
    assert fs.read(f, 0, 10) == b"abc"
    assert fs.lookup(fs.lookup(fs.root(), b"moved"), b"new") is f
    fifo = fs.mknod(d, b"fifo", stat.S_IFIFO | 0o644, 0, 0, 0)  # a real FIFO on the host
    assert stat.S_ISFIFO((root / "moved/fifo").lstat().st_mode)
    assert fs.getattr(fifo).mode == stat.S_IFIFO | 0o644
    with fails(Errno.EPERM):  # but never a device node
        fs.mknod(d, b"null", stat.S_IFCHR | 0o666, os.makedev(1, 3), 0, 0)
    assert not (root / "moved/null").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may chown anything")
def test_hostfs_passes_host_permission_errors(escape: tuple[HostFs, Path]) -> None:
    fs, _ = escape
    with fails(Errno.EPERM):
        fs.setattr(fs.lookup(fs.root(), b"dir"), uid=0)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_hostfs_does_not_leak_fds(escape: tuple[HostFs, Path]) -> None:
    fs, _ = escape
    root = fs.root()
    d = fs.lookup(root, b"dir")
    before = open_fds()
    for i in range(100):  # ten operations a round, some failing
        name = b"f%d" % i
        f = fs.create(d, name, 0o644, 0, 0)
        fs.write(f, 0, b"x" * i)
        fs.read(f, 0, 1000)
        fs.getattr(f)
        fs.readdir(d)
        fs.setattr(f, mode=0o600, mtime_ns=i)
        for failing in (lambda: fs.lookup(d, b"missing"), lambda: fs.read(d, 0, 1),
                        lambda: fs.read(fs.lookup(root, b"etc"), 0, 1)):
            with pytest.raises(KernelError):
                failing()
        fs.unlink(d, name)
    del f  # a removed file's node keeps an fd on it while it is held (an open file)
    assert open_fds() <= before


# overlay: the lower layer never changes.

@pytest.fixture
def ovl(tmp_path: Path) -> Iterator[tuple[OverlayFs, Path]]:
    fs = make_overlay(tmp_path)
    lower = tmp_path / "lower"
    before = snapshot(lower)
    yield fs, lower
    fs.close()
    assert snapshot(lower) == before, "the overlay changed its lower layer"


def lookup(fs: FileSystem, path: bytes) -> Node:
    node = fs.root()
    for name in path.split(b"/"):
        node = fs.lookup(node, name)
    return node


def listing(fs: FileSystem, path: bytes) -> set[bytes]:
    return {name for name, _, _ in fs.readdir(lookup(fs, path))}


def test_overlay_reads_the_lower_layer(ovl: tuple[OverlayFs, Path]) -> None:
    fs, _ = ovl
    assert fs.read(lookup(fs, b"etc/passwd"), 0, 100) == PASSWD
    assert listing(fs, b"etc") == {b"passwd", b"hosts", b"sub", b"localhost"}
    assert fs.readlink(lookup(fs, b"etc/localhost")) == b"hosts"
    assert fs.getattr(lookup(fs, b"bin/sh")).mode == stat.S_IFREG | 0o755
    assert fs.statfs()[0] == Magic.OVERLAYFS


def test_overlay_copy_up_keeps_lower_untouched(ovl: tuple[OverlayFs, Path]) -> None:
    fs, _ = ovl
    held = lookup(fs, b"etc/passwd")
    lower_ino = held.ino
    same = lookup(fs, b"etc/passwd")
    assert same is held
    fs.write(same, 0, b"ROOT")
    assert fs.read(held, 0, 4) == b"ROOT"  # every holder sees the copy
    assert fs.read(held, 4, 100) == PASSWD[4:]
    assert held.ino != lower_ino and fs.getattr(held).ino == held.ino
    sh = lookup(fs, b"bin/sh")
    fs.setattr(sh, mode=0o700)
    assert fs.getattr(sh).mode == stat.S_IFREG | 0o700
    assert fs.read(sh, 0, 10) == b"\x7fELF"
    fs.truncate(lookup(fs, b"etc/sub/deep"), 0)
    assert fs.getattr(lookup(fs, b"etc/sub/deep")).size == 0
    fs.setattr(lookup(fs, b"etc"), mode=0o700)
    assert listing(fs, b"etc") == {b"passwd", b"hosts", b"sub", b"localhost"}


def test_overlay_copy_up_keeps_attributes(ovl: tuple[OverlayFs, Path]) -> None:
    fs, lower = ovl
    hosts = lookup(fs, b"etc/hosts")
    before = fs.getattr(hosts)
    fs.setattr(hosts, uid=1234)
    after = fs.getattr(hosts)
    assert (after.mode, after.mtime_ns, after.size, after.uid) == \
        (before.mode, before.mtime_ns, before.size, 1234)
    assert fs.getattr(lookup(fs, b"etc")).mtime_ns == (lower / "etc").stat().st_mtime_ns


def test_overlay_whiteouts_hide_deleted_lower_files(ovl: tuple[OverlayFs, Path]) -> None:
    fs, _ = ovl
    etc = lookup(fs, b"etc")
    fs.unlink(etc, b"hosts")
    with fails(Errno.ENOENT):
        fs.lookup(etc, b"hosts")
    assert listing(fs, b"etc") == {b"passwd", b"sub", b"localhost"}
    new = fs.create(etc, b"hosts", 0o600, 0, 0)
    assert fs.read(new, 0, 100) == b""
    assert listing(fs, b"etc") == {b"passwd", b"sub", b"localhost", b"hosts"}


def test_overlay_rmdir_sees_both_layers(ovl: tuple[OverlayFs, Path]) -> None:
    fs, _ = ovl
    etc = lookup(fs, b"etc")
    with fails(Errno.ENOTEMPTY):
        fs.rmdir(etc, b"sub")
    fs.unlink(lookup(fs, b"etc/sub"), b"deep")
    fs.rmdir(etc, b"sub")
    assert listing(fs, b"etc") == {b"passwd", b"hosts", b"localhost"}
    sub = fs.mkdir(etc, b"sub", 0o755, 0, 0)  # a new directory: opaque
    assert fs.readdir(sub) == []
    with fails(Errno.ENOENT):
        fs.lookup(sub, b"deep")
    fs.rmdir(fs.root(), b"work")
    with fails(Errno.ENOTEMPTY):
        fs.rmdir(fs.root(), b"etc")


def test_overlay_merged_readdir(ovl: tuple[OverlayFs, Path]) -> None:
    fs, _ = ovl
    etc = lookup(fs, b"etc")
    fs.create(etc, b"new", 0o644, 0, 0)
    fs.mkdir(lookup(fs, b"etc/sub"), b"more", 0o755, 0, 0)
    assert listing(fs, b"etc") == {b"passwd", b"hosts", b"sub", b"localhost", b"new"}
    assert listing(fs, b"etc/sub") == {b"deep", b"more"}
    assert fs.getattr(lookup(fs, b"etc/sub")).nlink == 1  # merged: count unknown
    names = [name for name, _, _ in fs.readdir(etc)]
    assert len(names) == len(set(names))


def test_overlay_rename(ovl: tuple[OverlayFs, Path]) -> None:
    fs, _ = ovl
    etc = lookup(fs, b"etc")
    fs.rename(etc, b"passwd", etc, b"passwd-")
    assert listing(fs, b"etc") == {b"passwd-", b"hosts", b"sub", b"localhost"}
    assert fs.read(lookup(fs, b"etc/passwd-"), 0, 100) == PASSWD
    fs.rename(etc, b"passwd-", etc, b"hosts")  # over a lower file
    assert fs.read(lookup(fs, b"etc/hosts"), 0, 100) == PASSWD
    with fails(Errno.EXDEV):
        fs.rename(fs.root(), b"etc", fs.root(), b"etc2")
    new = fs.mkdir(fs.root(), b"new", 0o755, 0, 0)
    fs.create(new, b"x", 0o644, 0, 0)
    fs.rename(fs.root(), b"new", etc, b"sub2")
    assert listing(fs, b"etc/sub2") == {b"x"}
    fs.unlink(lookup(fs, b"etc/sub"), b"deep")
    fs.rename(etc, b"sub2", etc, b"sub")  # over an emptied lower directory: opaque
    assert listing(fs, b"etc/sub") == {b"x"}


def test_overlay_unlinked_lower_file_still_held(ovl: tuple[OverlayFs, Path]) -> None:
    fs, _ = ovl
    etc = lookup(fs, b"etc")
    held = fs.lookup(etc, b"hosts")
    fs.unlink(etc, b"hosts")
    assert fs.read(held, 0, 100) == HOSTS
    fs.write(held, 0, b"X")
    assert fs.read(held, 0, 3) == b"X27"
    assert not any(name.startswith(b".overlay") for name, _, _ in fs.readdir(fs.root()))


# renameat2's RENAME_EXCHANGE: tmpfs and the overlay swap two names; hostfs refuses.

def test_exchange(rig: Rig) -> None:
    a = rig.file(b"a", b"AAA")
    d = rig.fs.mkdir(rig.top, b"d", 0o755, 0, 0)
    rig.fs.create(d, b"inner", 0o644, 0, 0)
    if isinstance(rig.fs, HostFs):
        with fails(Errno.EINVAL):
            rig.fs.exchange(rig.top, b"a", rig.top, b"d")
        return
    rig.fs.exchange(rig.top, b"a", rig.top, b"d")
    assert rig.content(rig.at(b"d")) == b"AAA" and rig.at(b"d") is a
    assert rig.names(rig.at(b"a")) == {b"inner"}
    rig.fs.mkdir(rig.at(b"a"), b"sub", 0o755, 0, 0)
    with fails(Errno.EINVAL):  # a directory into its own subtree
        rig.fs.exchange(rig.top, b"a", rig.at(b"a"), b"sub")
    with fails(Errno.ENOENT):
        rig.fs.exchange(rig.top, b"a", rig.top, b"missing")
    other = rig.fs.mkdir(rig.top, b"other", 0o755, 0, 0)
    rig.file(b"f", b"FFF")
    rig.fs.create(other, b"o", 0o644, 0, 0)
    rig.fs.exchange(rig.top, b"a", other, b"o")  # a directory across directories
    assert rig.names(rig.at(b"other/o")) == {b"inner", b"sub"}
    assert stat.S_ISREG(rig.fs.getattr(rig.at(b"a")).mode)
    if isinstance(rig.fs, TmpFs):
        assert rig.fs.getattr(other).nlink == 3 and rig.fs.getattr(rig.top).nlink == 3


def test_overlay_exchange_with_lower_files(ovl: tuple[OverlayFs, Path]) -> None:
    fs, _ = ovl
    etc = lookup(fs, b"etc")
    fs.exchange(etc, b"passwd", etc, b"hosts")
    assert fs.read(lookup(fs, b"etc/passwd"), 0, 100) == HOSTS
    assert fs.read(lookup(fs, b"etc/hosts"), 0, 100) == PASSWD
    with fails(Errno.EXDEV):  # a directory with a lower part does not move
        fs.exchange(etc, b"sub", etc, b"hosts")
    new = fs.mkdir(fs.root(), b"newdir", 0o755, 0, 0)
    fs.create(new, b"n", 0o644, 0, 0)
    fs.exchange(fs.root(), b"newdir", etc, b"passwd")  # a new directory where a file was
    assert listing(fs, b"etc/passwd") == {b"n"}
    assert fs.read(lookup(fs, b"newdir"), 0, 100) == HOSTS
    assert listing(fs, b"etc") == {b"passwd", b"hosts", b"sub", b"localhost"}


def test_seek_data_and_holes(rig: Rig) -> None:
    """SEEK_DATA/SEEK_HOLE: a host file's holes are the host's, a tmpfs file's its own."""
    f = rig.file(b"f", b"data")
    assert rig.fs.seek_data(f, 0, True) == 0 and rig.fs.seek_data(f, 1, False) == 4
    for offset in (4, 100, -1):
        with fails(Errno.ENXIO):
            rig.fs.seek_data(f, offset, True)
    sparse = rig.file(b"sparse")
    rig.fs.truncate(sparse, 1 << 20)
    rig.fs.write(sparse, 1 << 20, b"tail")
    assert rig.fs.seek_data(sparse, 0, True) == 1 << 20
    assert rig.fs.seek_data(sparse, 0, False) == 0
    assert rig.fs.seek_data(sparse, 1 << 20, False) == (1 << 20) + 4  # the end is a hole
    rig.fs.truncate(sparse, 2 << 20)
    with fails(Errno.ENXIO):  # only a hole follows
        rig.fs.seek_data(sparse, (3 << 19), True)


def test_fallocate_and_punch_hole(rig: Rig) -> None:
    """fallocate's mode 0 grows the file (KEEP_SIZE does not); a punched hole reads zeros
    within the file and does not grow it."""
    f = rig.file(b"f", b"0123456789")
    rig.fs.allocate_range(f, 5, 100, keep_size=True)
    assert rig.fs.getattr(f).size == 10
    rig.fs.allocate_range(f, 5, 100, keep_size=False)
    assert rig.content(f) == b"0123456789" + bytes(95)
    rig.fs.punch_hole(f, 2, 5)
    assert rig.content(f)[:10] == b"01" + bytes(5) + b"789"
    rig.fs.punch_hole(f, 100, 1000)
    assert rig.content(f) == b"01" + bytes(5) + b"789" + bytes(95)
