"""The VFS core without a machine: path resolution (``vfs.paths``) over tmpfs mounts,
and file descriptor tables (``vfs.files.FdTable``). Milliseconds per test.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.files import FdTable, OpenFile
from cloudos.servers.vfs.paths import MAX_SYMLINKS, Namespace, Walk, path_of, relative
from cloudos.servers.vfs.tmpfs import TmpFs


@contextmanager
def fails(code: Errno) -> Iterator[None]:
    with pytest.raises(KernelError) as info:
        yield
    assert info.value.errno == code, info.value


class Tree:
    """A namespace: tmpfs root with /a/b/, /a/file, /links/..., and a tmpfs on /mnt."""

    def __init__(self) -> None:
        self.root_fs, self.mnt_fs = TmpFs(), TmpFs()
        self.ns = Namespace(self.root_fs)
        fs = self.root_fs
        root = fs.root()
        a = fs.mkdir(root, b"a", 0o755, 0, 0)
        fs.mkdir(a, b"b", 0o755, 0, 0)
        fs.create(a, b"file", 0o644, 0, 0)
        mnt = fs.mkdir(root, b"mnt", 0o755, 0, 0)
        fs.create(mnt, b"hidden", 0o644, 0, 0)  # beneath the mount: never seen
        self.links = fs.mkdir(root, b"links", 0o755, 0, 0)
        self.mnt_fs.mkdir(self.mnt_fs.root(), b"inside", 0o755, 0, 0)
        self.ns.mount(b"/mnt", self.mnt_fs)

    def link(self, name: bytes, target: bytes) -> None:
        self.root_fs.symlink(self.links, name, target, 0, 0)

    def resolve(self, path: bytes, start: Walk | None = None, **options: bool) -> bytes:
        walk, _ = self.ns.resolve(start or self.ns.root(), path, **options)
        return path_of(walk)

    def walk(self, path: bytes) -> Walk:
        return self.ns.resolve(self.ns.root(), path)[0]


def test_dot_dotdot_and_empty_components() -> None:
    tree = Tree()
    assert tree.resolve(b"/") == b"/"
    assert tree.resolve(b"//a/./b//") == b"/a/b"
    assert tree.resolve(b"/a/b/../file") == b"/a/file"
    assert tree.resolve(b"/../../a/..") == b"/"  # never above the root
    assert tree.resolve(b"b/..", start=tree.walk(b"/a")) == b"/a"
    assert tree.resolve(b"/", start=tree.walk(b"/a/b")) == b"/"
    with fails(Errno.ENOENT):
        tree.resolve(b"")
    with fails(Errno.ENOENT):
        tree.resolve(b"/a/nothing/..")  # Linux looks each name up, even before ".."


def test_a_file_in_the_middle_or_with_a_slash_is_enotdir() -> None:
    tree = Tree()
    for path in (b"/a/file/x", b"/a/file/", b"/a/file/.", b"/a/file/.."):
        with fails(Errno.ENOTDIR):
            tree.resolve(path)


def test_a_long_component_is_enametoolong() -> None:
    tree = Tree()
    with fails(Errno.ENAMETOOLONG):
        tree.resolve(b"/a/" + b"x" * 256)
    with fails(Errno.ENOENT):
        tree.resolve(b"/a/" + b"x" * 255)


def test_parent_mode_stops_before_the_last_name() -> None:
    tree = Tree()
    walk, name = tree.ns.resolve(tree.ns.root(), b"/a/b/new", parent=True)
    assert (path_of(walk), name) == (b"/a/b", b"new")
    walk, name = tree.ns.resolve(tree.ns.root(), b"/", parent=True)
    assert (path_of(walk), name) == (b"/", b"")


def test_mounts_are_crossed_both_ways_and_hide_what_lies_beneath() -> None:
    tree = Tree()
    walk = tree.walk(b"/mnt/inside")
    assert walk[-1].fs is tree.mnt_fs and walk[-2].fs is tree.mnt_fs
    assert walk[-2].node is tree.mnt_fs.root()
    with fails(Errno.ENOENT):
        tree.resolve(b"/mnt/hidden")
    back = tree.walk(b"/mnt/inside/../../a")
    assert path_of(back) == b"/a" and back[-1].fs is tree.root_fs
    assert tree.resolve(b"..", start=tree.walk(b"/mnt")) == b"/"


def test_symlinks_absolute_relative_and_not_followed_at_the_end() -> None:
    tree = Tree()
    tree.link(b"abs", b"/a/b")
    tree.link(b"rel", b"../a/file")
    tree.link(b"into_mount", b"/mnt/inside")
    assert tree.resolve(b"/links/abs/..") == b"/a"
    assert tree.resolve(b"/links/rel") == b"/a/file"
    assert tree.walk(b"/links/into_mount")[-1].fs is tree.mnt_fs
    walk, _ = tree.ns.resolve(tree.ns.root(), b"/links/abs", follow=False)
    assert stat.S_ISLNK(walk[-1].fs.getattr(walk[-1].node).mode)
    # A trailing slash means the directory: the last link is followed even so.
    assert tree.resolve(b"/links/abs/", follow=False) == b"/a/b"


def test_a_symlink_target_never_escapes_the_namespace() -> None:
    tree = Tree()
    tree.link(b"up", b"../../../../..")
    assert tree.resolve(b"/links/up") == b"/"


def test_symlink_loops_and_chains_end_in_eloop_after_40() -> None:
    tree = Tree()
    tree.link(b"ping", b"pong")
    tree.link(b"pong", b"ping")
    with fails(Errno.ELOOP):
        tree.resolve(b"/links/ping")
    tree.link(b"self", b"self/x")
    with fails(Errno.ELOOP):
        tree.resolve(b"/links/self")
    for n in range(MAX_SYMLINKS + 1):
        tree.link(b"c%d" % n, b"c%d" % (n + 1) if n < MAX_SYMLINKS else b"/a")
    assert tree.resolve(b"/links/c1") == b"/a"  # 40 links: allowed
    with fails(Errno.ELOOP):
        tree.resolve(b"/links/c0")  # 41


def open_file() -> OpenFile:
    return OpenFile("pipe", 0)


def test_a_chroot_root_is_where_slash_starts_and_dotdot_stops() -> None:
    tree = Tree()
    top = tree.walk(b"/a")
    tree.link(b"abs", b"/b")
    assert path_of(tree.ns.resolve(top, b"/../../b", top=top)[0]) == b"/a/b"
    assert path_of(tree.ns.resolve(top, b"b/../..", top=top)[0]) == b"/a"
    # a start outside the root (chroot leaves the working directory) climbs freely
    assert path_of(tree.ns.resolve(tree.walk(b"/links"), b"..", top=top)[0]) == b"/"
    assert path_of(tree.ns.resolve(tree.walk(b"/links"), b"abs", top=top)[0]) == b"/a/b"
    assert relative(tree.walk(b"/a/b"), top) == b"/b"
    assert relative(tree.walk(b"/links"), top) == b"(unreachable)/links"


def test_a_copied_namespace_mounts_and_unmounts_on_its_own() -> None:
    tree = Tree()
    copy = tree.ns.copy(7)
    del copy.mounts[b"/mnt"]
    copy.mount(b"/a", TmpFs())
    assert path_of(tree.ns.resolve(tree.ns.root(), b"/mnt/inside")[0]) == b"/mnt/inside"
    with fails(Errno.ENOENT):
        copy.resolve(copy.root(), b"/mnt/inside")
    with fails(Errno.ENOENT):
        copy.resolve(copy.root(), b"/a/file")
    assert copy.ino == 7 and tree.ns.ino == 0


def test_fds_are_the_lowest_free_number_at_or_above_lowest() -> None:
    table = FdTable()
    files = [open_file() for _ in range(4)]
    assert [table.install(f) for f in files[:3]] == [0, 1, 2]
    del table.entries[1]
    assert table.install(files[3]) == 1
    assert table.install(files[0], lowest=10) == 10
    assert table.install(files[0], lowest=10) == 11
    assert table.install(files[1], fd=7) == 7  # dup2: exactly there
    assert table.get(7) is files[1]
    with fails(Errno.EBADF):
        table.get(5)


def test_the_limit_is_emfile_but_dup2_below_it_still_works() -> None:
    table = FdTable(limit=3)
    for _ in range(3):
        table.install(open_file())
    with fails(Errno.EMFILE):
        table.install(open_file())
    with fails(Errno.EMFILE):
        FdTable(limit=3).install(open_file(), lowest=3)
    replacement = open_file()
    assert table.install(replacement, fd=1) == 1 and table.get(1) is replacement


def test_fork_shares_open_file_descriptions_and_keeps_cloexec() -> None:
    table = FdTable(limit=100)
    shared = open_file()
    table.install(shared)
    table.install(shared, cloexec=True)
    child = table.fork()
    assert child.get(0) is shared and child.get(1) is shared
    assert shared.refs == 3
    assert [e.cloexec for e in child.entries.values()] == [False, True]
    assert child.limit == 100
    child.install(open_file(), fd=0)
    assert table.get(0) is shared  # the tables are separate; the files are shared


def test_the_root_walk_is_made_once_and_follows_a_new_root() -> None:
    """``Namespace.root`` gives the same walk while "/" is the same node of the same file
    system, and a new one once another file system is put on "/" (pivot_root's move)."""
    t = Tree()
    first = t.ns.root()
    assert first is t.ns.root() and first[0].fs is t.root_fs and path_of(first) == b"/"
    assert t.ns.resolve(first, b"/a/file")[0][0] is first[0]
    t.ns.mounts[b"/"] = t.mnt_fs  # (as vfs.mounts' pivot_root sets it)
    moved = t.ns.root()
    assert moved is not first and moved[0].fs is t.mnt_fs
    assert moved[0].node is t.mnt_fs.root()
    assert t.ns.resolve(moved, b"/inside")[0][-1].fs is t.mnt_fs
    with fails(Errno.ENOENT):
        t.ns.resolve(moved, b"/a/file")
    copy = t.ns.copy(5)
    assert copy.root()[0].fs is t.mnt_fs and copy.root() is not moved  # its own


@pytest.mark.parametrize("change", ["setitem", "delitem", "pop", "popitem", "clear", "update",
                                    "setdefault", "ior"])
def test_the_walk_sees_every_change_of_the_mount_table(change: str) -> None:
    # (a walk looks a step up in the table only if some mount point ends in its name:
    # that set of names must follow every way the table changes)
    tree = Tree()
    assert tree.resolve(b"/mnt/inside") == b"/mnt/inside"
    with fails(Errno.ENOENT):
        tree.resolve(b"/a/b/inside")  # (walked once: its names are known)
    mounts, other = tree.ns.mounts, tree.mnt_fs
    if change == "setitem":
        mounts[b"/a/b"] = other
    elif change == "update":
        mounts.update({b"/a/b": other})
    elif change == "setdefault":
        mounts.setdefault(b"/a/b", other)
    elif change == "ior":
        mounts |= {b"/a/b": other}
    else:
        root = mounts[b"/"]
        if change == "delitem":
            del mounts[b"/mnt"]
        elif change == "pop":
            mounts.pop(b"/mnt")
        elif change == "popitem":
            assert mounts.popitem()[0] == b"/mnt"
        else:
            mounts.clear()
            mounts[b"/"] = root
        assert tree.resolve(b"/mnt/hidden") == b"/mnt/hidden"  # the mount is gone
        return
    assert tree.resolve(b"/a/b/inside") == b"/a/b/inside"
    assert tree.walk(b"/a/b")[-1].fs is other


def test_a_mount_on_a_name_deeper_down_is_found() -> None:
    tree = Tree()
    tree.ns.mount(b"/a/b/deep/", TmpFs())  # (its trailing "/" dropped: the name is "deep")
    tree.root_fs.mkdir(tree.walk(b"/a/b")[-1].node, b"deep", 0o755, 0, 0)
    assert tree.walk(b"/a/b/deep")[-1].fs is tree.ns.mounts[b"/a/b/deep"]
    assert tree.walk(b"/a/b/deep")[-1].fs is not tree.root_fs


def test_the_search_check_is_asked_only_about_a_directory_not_all_may_search() -> None:
    """``Namespace.may_search`` sees the directories a walk goes through whose mode does
    not give x to owner, group and others alike (anyone may search the others); symlinks
    in the path are followed in order (their names walked before the path's rest)."""
    tree = Tree()
    fs = tree.root_fs
    a = fs.lookup(fs.root(), b"a")
    fs.mkdir(a, b"private", 0o710, 0, 0)
    asked: list[int] = []
    tree.ns.may_search = lambda attr: asked.append(attr.mode & 0o7777)
    assert tree.resolve(b"/a/b") == b"/a/b" and asked == []
    assert tree.resolve(b"/a/private/..") == b"/a" and asked == [0o710]
    fs.setattr(a, mode=0o750)
    asked.clear()
    tree.link(b"up", b"../a/private")
    assert tree.resolve(b"/links/up/../b") == b"/a/b"
    assert asked == [0o750, 0o710, 0o750]  # /a (through the link), private, /a again

    def refuse(attr: object) -> None:
        raise KernelError(Errno.EACCES, "no search")

    tree.ns.may_search = refuse
    with fails(Errno.EACCES):
        tree.resolve(b"/a/b")
    assert tree.resolve(b"/mnt/inside") == b"/mnt/inside"  # (0o755 all the way)
