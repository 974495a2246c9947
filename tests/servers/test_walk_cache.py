"""The walk cache (fs.py, used by paths.py): what a path lookup learnt is reused, and
every change made through the VFS is seen by the next lookup, through every mount of
the file system; what changes on the host is seen once the entry expires (HOST_TTL_NS).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.bindfs import BindFs
from cloudos.servers.vfs.fs import CACHE_MAX, FileSystem, Node
from cloudos.servers.vfs.hostfs import KEPT_FDS_MAX, HOST_TTL_NS, HostFs
from cloudos.servers.vfs.overlay import OverlayFs
from cloudos.servers.vfs.paths import Namespace
from cloudos.servers.vfs.tmpfs import TmpFs


@contextmanager
def fails(code: Errno) -> Iterator[None]:
    with pytest.raises(KernelError) as info:
        yield
    assert info.value.errno == code, info.value


class Clock:
    """The walk cache's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def counting(fs: FileSystem) -> list[bytes]:
    """The names ``fs`` is asked to look up from now on."""
    asked: list[bytes] = []
    lookup = fs.lookup

    def counted(dir: Node, name: bytes) -> Node:
        asked.append(name)
        return lookup(dir, name)
    fs.lookup = counted  # type: ignore[method-assign]
    return asked


def find(ns: Namespace, path: bytes) -> Node:
    return ns.resolve(ns.root(), path)[0][-1].node


def test_a_name_looked_up_before_is_not_asked_again() -> None:
    fs = TmpFs()
    ns = Namespace(fs)
    fs.mkdir(fs.root(), b"d", 0o755, 0, 0)
    node = fs.create(fs.lookup(fs.root(), b"d"), b"f", 0o644, 0, 0)
    asked = counting(fs)
    assert find(ns, b"/d/f") is node
    assert asked == [b"d", b"f"]
    assert find(ns, b"/d/f") is node
    with fails(Errno.ENOENT):
        find(ns, b"/d/missing")
    with fails(Errno.ENOENT):
        find(ns, b"/d/missing")  # a negative entry: asked once
    assert asked == [b"d", b"f", b"missing"]


def test_entries_good_until_a_change_are_used_without_reading_the_clock() -> None:
    fs = TmpFs()
    clock = Clock()
    reads: list[int] = []

    def read() -> int:
        reads.append(clock.now)
        return clock.now
    fs.cache_clock = read  # type: ignore[method-assign]
    ns = Namespace(fs)
    fs.mkdir(fs.root(), b"d", 0o755, 0, 0)
    node = fs.create(fs.lookup(fs.root(), b"d"), b"f", 0o644, 0, 0)
    asked = counting(fs)
    assert find(ns, b"/d/f") is node
    reads.clear()
    clock.now = 10**15  # (a long time on: a tmpfs entry is still good)
    assert find(ns, b"/d/f") is node
    with fails(Errno.ENOENT):
        find(ns, b"/d/g")
    assert reads == [10**15] and asked == [b"d", b"f", b"g"]  # (only to make g's entry)
    reads.clear()
    with fails(Errno.ENOENT):
        find(ns, b"/d/g")
    assert reads == [] and asked == [b"d", b"f", b"g"]


def test_every_change_is_seen_by_the_next_lookup() -> None:
    fs = TmpFs()
    ns = Namespace(fs)
    root = fs.root()
    with fails(Errno.ENOENT):
        find(ns, b"/a")
    a = fs.create(root, b"a", 0o644, 0, 0)
    assert find(ns, b"/a") is a
    fs.rename(root, b"a", root, b"b")
    with fails(Errno.ENOENT):
        find(ns, b"/a")
    assert find(ns, b"/b") is a
    fs.mkdir(root, b"d", 0o755, 0, 0)
    fs.symlink(root, b"l", b"d", 0, 0)
    assert find(ns, b"/l") is fs.lookup(root, b"d")
    fs.unlink(root, b"l")
    fs.symlink(root, b"l", b"b", 0, 0)
    assert find(ns, b"/l") is a
    fs.rmdir(root, b"d")
    with fails(Errno.ENOENT):
        find(ns, b"/d/")
    fs.unlink(root, b"b")
    with fails(Errno.ENOENT):
        find(ns, b"/l")


def test_a_chmod_is_seen_by_the_next_search() -> None:
    fs = TmpFs()
    ns = Namespace(fs)
    searched: list[int] = []
    ns.may_search = lambda attr: searched.append(attr.mode & 0o777)
    d = fs.mkdir(fs.root(), b"d", 0o755, 0, 0)
    fs.create(d, b"f", 0o644, 0, 0)
    find(ns, b"/d/f")
    assert searched == []  # (a directory all may search is not asked about: test_vfs_paths)
    fs.setattr(d, mode=0o700)
    find(ns, b"/d/f")
    assert searched == [0o700]


def test_a_change_through_one_mount_is_seen_through_the_others() -> None:
    """A bind mount and an overlay see a change made below them at once."""
    inner = TmpFs()
    d = inner.mkdir(inner.root(), b"d", 0o755, 0, 0)
    bind = BindFs(inner, d, b"/d")
    over = OverlayFs(BindFs(inner, inner.root(), b""), TmpFs())
    ns = Namespace(TmpFs())
    for path in (b"/inner", b"/bind", b"/over"):
        ns.root()[0].fs.mkdir(ns.root()[0].node, path[1:], 0o755, 0, 0)
    ns.mount(b"/inner", inner)
    ns.mount(b"/bind", bind)
    ns.mount(b"/over", over)
    for path in (b"/bind/f", b"/over/d/f", b"/inner/d/f"):
        with fails(Errno.ENOENT):
            find(ns, path)
    f = bind.create(d, b"f", 0o644, 0, 0)
    assert find(ns, b"/inner/d/f") is f
    assert find(ns, b"/over/d/f").ino == f.ino
    inner.unlink(d, b"f")
    for path in (b"/bind/f", b"/over/d/f"):
        with fails(Errno.ENOENT):
            find(ns, path)


def test_the_cache_lets_go_of_removed_files() -> None:
    """A removed tmpfs file's bytes stay charged while its node is held: a walk cache
    must not hold it."""
    fs = TmpFs()
    ns = Namespace(fs)
    node = fs.create(fs.root(), b"big", 0o644, 0, 0)
    fs.write(node, 0, bytes(1 << 16))
    find(ns, b"/big")
    del node
    fs.unlink(fs.root(), b"big")
    assert fs.used_bytes == 0


def test_the_cache_is_bounded() -> None:
    fs = TmpFs()
    ns = Namespace(fs)
    for i in range(CACHE_MAX + 10):
        with fails(Errno.ENOENT):
            find(ns, b"/n%d" % i)
    assert len(fs._names) <= CACHE_MAX


def test_procfs_like_file_systems_are_never_cached() -> None:
    """A file system without a cache_ttl_ns (its entries change by themselves) is asked
    every time."""
    fs = TmpFs()
    fs.cache_ttl_ns = None
    ns = Namespace(fs)
    fs.create(fs.root(), b"f", 0o644, 0, 0)
    asked = counting(fs)
    find(ns, b"/f")
    find(ns, b"/f")
    assert asked == [b"f", b"f"]


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[Namespace, HostFs, Clock, Path]]:
    fs = HostFs(str(tmp_path), readonly=False)
    fs.cache_clock = Clock()  # type: ignore[method-assign]
    yield Namespace(fs), fs, fs.cache_clock, tmp_path  # type: ignore[misc]
    fs.close()


def test_hostfs_lookups_done_before_do_not_ask_the_host(
        host: tuple[Namespace, HostFs, Clock, Path]) -> None:
    ns, fs, clock, top = host
    (top / "d").mkdir()
    (top / "d" / "f").write_bytes(b"x")
    asked = counting(fs)
    find(ns, b"/d/f")
    clock.now += HOST_TTL_NS - 1
    find(ns, b"/d/f")
    assert asked == [b"d", b"f"]


def test_host_changes_are_seen_once_the_entries_expire(
        host: tuple[Namespace, HostFs, Clock, Path]) -> None:
    """A file made, removed or made unsearchable on the host: seen within HOST_TTL_NS."""
    ns, fs, clock, top = host
    (top / "d").mkdir()
    (top / "d" / "old").write_bytes(b"x")
    with fails(Errno.ENOENT):
        find(ns, b"/d/new")
    find(ns, b"/d/old")
    (top / "d" / "new").write_bytes(b"y")
    (top / "d" / "old").unlink()
    clock.now += HOST_TTL_NS
    assert fs.read(find(ns, b"/d/new"), 0, 10) == b"y"
    with fails(Errno.ENOENT):
        find(ns, b"/d/old")


def test_hostfs_changes_made_by_the_guest_are_seen_at_once(
        host: tuple[Namespace, HostFs, Clock, Path]) -> None:
    ns, fs, clock, top = host
    with fails(Errno.ENOENT):
        find(ns, b"/f")
    f = fs.create(fs.root(), b"f", 0o644, 0, 0)
    assert find(ns, b"/f") is f
    fs.rename(fs.root(), b"f", fs.root(), b"g")
    with fails(Errno.ENOENT):
        find(ns, b"/f")
    assert find(ns, b"/g") is f
    assert os.listdir(top) == ["g"]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_hostfs_keeps_few_directory_fds(host: tuple[Namespace, HostFs, Clock, Path]) -> None:
    """Walks keep the directories' fds open, KEPT_FDS_MAX at most; a change lets them go."""
    ns, fs, clock, top = host
    for i in range(2 * KEPT_FDS_MAX):
        (top / f"d{i}").mkdir()
        (top / f"d{i}" / "f").write_bytes(b"x")
    before = open_fds()
    for i in range(2 * KEPT_FDS_MAX):
        fs.getattr(find(ns, b"/d%d/f" % i))
        assert open_fds() <= before + KEPT_FDS_MAX
    fs.mkdir(fs.root(), b"new", 0o755, 0, 0)
    assert open_fds() <= before


def test_a_directory_replaced_on_the_host_is_found_again(
        host: tuple[Namespace, HostFs, Clock, Path]) -> None:
    """A kept directory fd is trusted no longer than the walk cache: the directory the host
    put in the old one's place is used once the entries expire, and a listing is always
    of the directory there now."""
    ns, fs, clock, top = host
    (top / "d").mkdir()
    (top / "d" / "f").write_bytes(b"old")
    assert fs.read(find(ns, b"/d/f"), 0, 10) == b"old"
    (top / "d").rename(top / "gone")
    (top / "d").mkdir()
    (top / "d" / "f").write_bytes(b"new")
    (top / "d" / "g").write_bytes(b"")
    d = find(ns, b"/d")
    with fails(Errno.ESTALE):
        fs.readdir(d)
    clock.now += HOST_TTL_NS
    assert fs.read(find(ns, b"/d/f"), 0, 10) == b"new"
    assert sorted(name for name, _, _ in fs.readdir(find(ns, b"/d"))) == [b"f", b"g"]


def test_a_kept_reader_sees_host_writes_at_once_and_a_replacement_once_expired(
        host: tuple[Namespace, HostFs, Clock, Path]) -> None:
    """A file's read-only fd is kept between reads: bytes the host writes in place are
    read at once; a file the host put in its place is read once the entries expire."""
    ns, fs, clock, top = host
    (top / "f").write_bytes(b"one")
    f = find(ns, b"/f")
    assert fs.read(f, 0, 10) == b"one"
    before = open_fds()
    assert fs.read(f, 0, 10) == b"one"
    assert open_fds() == before  # (the same fd)
    with open(top / "f", "r+b") as host_file:
        host_file.write(b"two")
    assert fs.read(f, 0, 10) == b"two"
    (top / "g").write_bytes(b"three")
    (top / "g").rename(top / "f")
    clock.now += HOST_TTL_NS
    with fails(Errno.ESTALE):
        fs.read(f, 0, 10)
    assert fs.read(find(ns, b"/f"), 0, 10) == b"three"


def counting_links(fs: FileSystem) -> list[Node]:
    """The symlinks whose target ``fs`` is asked for from now on."""
    asked: list[Node] = []
    readlink = fs.readlink

    def counted(node: Node) -> bytes:
        asked.append(node)
        return readlink(node)
    fs.readlink = counted  # type: ignore[method-assign]
    return asked


def test_a_symlink_followed_before_is_not_read_again_until_it_changes() -> None:
    fs = TmpFs()
    ns = Namespace(fs)
    root = fs.root()
    d = fs.mkdir(root, b"d", 0o755, 0, 0)
    e = fs.mkdir(root, b"e", 0o755, 0, 0)
    f = fs.create(d, b"f", 0o644, 0, 0)
    g = fs.create(e, b"f", 0o644, 0, 0)
    fs.symlink(root, b"l", b"d", 0, 0)
    asked = counting_links(fs)
    assert find(ns, b"/l/f") is f
    assert find(ns, b"/l/f") is f
    assert len(asked) == 1
    fs.unlink(root, b"l")  # a change: the next walk reads the new link's target
    fs.symlink(root, b"l", b"/e", 0, 0)
    assert find(ns, b"/l/f") is g
    assert len(asked) == 2
    fs.symlink(root, b"m", b"d", 0, 0)
    fs.rename(root, b"m", root, b"l")  # another link renamed over it
    assert find(ns, b"/l/f") is f
    assert len(asked) == 3


def test_a_symlink_replaced_on_the_host_is_seen_once_expired(
        host: tuple[Namespace, HostFs, Clock, Path]) -> None:
    ns, fs, clock, top = host
    for name, data in ((b"d1", b"one"), (b"d2", b"two")):
        (top / name.decode()).mkdir()
        (top / name.decode() / "f").write_bytes(data)
    (top / "l").symlink_to("d1")
    asked = counting_links(fs)
    assert fs.read(find(ns, b"/l/f"), 0, 10) == b"one"
    clock.now += HOST_TTL_NS - 1
    assert fs.read(find(ns, b"/l/f"), 0, 10) == b"one"
    assert len(asked) == 1
    (top / "new").symlink_to("d2")
    os.replace(top / "new", top / "l")
    clock.now += 1
    assert fs.read(find(ns, b"/l/f"), 0, 10) == b"two"
