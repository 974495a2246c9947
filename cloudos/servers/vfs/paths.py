"""Path resolution inside the VFS: components, `..`, mount points, symlinks.

Owns: turning a path (bytes) into a location — the chain of (name, file system,
node) from the namespace's root — with Linux's rules: `.` and empty components
skipped, `..` never above the caller's root (chroot: "/" and absolute symlinks
start there too; a working directory outside it climbs freely, as on Linux),
mount points crossed both ways, symlinks followed
(a loop limit of 40 gives ELOOP), ENOTDIR for a file in the middle,
ENAMETOOLONG for a component over 255 bytes; and openat2's limits on a walk (a
``Scope``: no symlinks, no magic links, no mount crossings, beneath or rooted in
its starting directory). Never: asks a file system to
follow a symlink or to see a `..`: a file system only ever gets single names,
so no path can escape the namespace it is mounted in.
A ``Namespace`` is one mount table; unshare(CLONE_NEWNS) gives a process a copy
(``vfs.mounts`` changes them). A walk asks each file system through its walk cache
(``FileSystem.walk_lookup`` and ``walk_attr``, fs.py), so a path walked before costs
a few dict lookups; the mount table is consulted at every step.
Called by: ``vfs.server``, ``vfs.mounts``.
"""

from __future__ import annotations

import stat
from typing import Any, Callable

from cloudos.abi.dataclass import dataclass
from cloudos.abi.flags import ResolveFlag
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import Attr, FileSystem, Node

IFMT = 0o170000  # (the file type bits of a mode: ``stat.S_IFMT`` without a call)

MAX_SYMLINKS = 40
NAME_MAX = 255


@dataclass(frozen=True)
class Step:
    """One component of a walk: its name and the node it names on its file system."""

    name: bytes
    fs: FileSystem
    node: Node


Walk = tuple[Step, ...]  # from the root ("/") to a location
NO_XDEV, NO_MAGICLINKS, NO_SYMLINKS = map(int, (ResolveFlag.NO_XDEV, ResolveFlag.NO_MAGICLINKS,
                                              ResolveFlag.NO_SYMLINKS))
BENEATH, IN_ROOT = int(ResolveFlag.BENEATH), int(ResolveFlag.IN_ROOT)


@dataclass(frozen=True)
class Scope:
    """openat2's limits on a walk (its RESOLVE_* flags) and the directory it starts in,
    which BENEATH keeps it under and IN_ROOT makes its "/"."""

    flags: int
    start: Walk

    def root(self, top: Walk) -> Walk:
        """Where "/" (a path's or an absolute symlink's) leads; ``top``: the caller's root."""
        if self.flags & IN_ROOT:
            return self.start
        if self.flags & BENEATH:
            raise KernelError(Errno.EXDEV, "an absolute path under RESOLVE_BENEATH")
        return self._same_mount(top)

    def up(self, walk: Walk, top: Walk) -> Walk:
        """Where ".." leads from ``walk``: not above the start (IN_ROOT stays, BENEATH
        refuses), not above the caller's root ``top`` (chroot), not across a mount
        (NO_XDEV)."""
        if len(walk) <= len(self.start) and self.flags & (IN_ROOT | BENEATH):
            if self.flags & BENEATH:
                raise KernelError(Errno.EXDEV, "\"..\" above the start under RESOLVE_BENEATH")
            return walk
        if len(walk) == len(top) and within(walk, top):
            return walk
        return self._same_mount(walk[:-1] or walk)

    def enter(self, walk: Walk) -> Walk:
        """A step down to ``walk``: NO_XDEV refuses a mount point."""
        return self._same_mount(walk)

    def follow(self, step: Step) -> None:
        """A symbolic link about to be followed: NO_SYMLINKS and NO_MAGICLINKS refuse."""
        if self.flags & NO_SYMLINKS:
            raise KernelError(Errno.ELOOP, "a symbolic link under RESOLVE_NO_SYMLINKS")
        if step.fs.magic_link(step.node):
            if self.flags & NO_MAGICLINKS:
                raise KernelError(Errno.ELOOP, "a magic link under RESOLVE_NO_MAGICLINKS")
            if self.flags & (BENEATH | IN_ROOT):
                raise KernelError(Errno.EXDEV, "a magic link leads out of the scope")

    def _same_mount(self, walk: Walk) -> Walk:
        if self.flags & NO_XDEV and walk[-1].fs is not self.start[-1].fs:
            raise KernelError(Errno.EXDEV, "a mount point under RESOLVE_NO_XDEV")
        return walk


UNSCOPED = Scope(0, ())


def path_of(walk: Walk) -> bytes:
    return b"/" + b"/".join(step.name for step in walk[1:])


def is_dir(step: Step) -> bool:
    return stat.S_ISDIR(step.fs.getattr(step.node).mode)


def within(walk: Walk, top: Walk) -> bool:
    """Whether ``walk`` lies at or under ``top`` (both from the same namespace's root:
    the names from the root say where a location is)."""
    return len(walk) >= len(top) and all(a.name == b.name for a, b in zip(walk[1:], top[1:]))


def relative(walk: Walk, top: Walk) -> bytes:
    """The path of ``walk`` as seen from a root at ``top`` (Linux's d_path: a location
    outside that root shows as "(unreachable)" and its path from the namespace's root)."""
    if not within(walk, top):
        return b"(unreachable)" + path_of(walk)
    return b"/" + b"/".join(step.name for step in walk[len(top):])


class Mounts(dict[bytes, FileSystem]):
    """A mount table: mount point's path -> the file system mounted there. It knows the
    last names of its paths (``leaves``, made again after any change), so a walk's step
    into a name no mount point ends in is not looked for in it by its whole path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._leaves: frozenset[bytes] | None = None

    @property
    def leaves(self) -> frozenset[bytes]:
        leaves = self._leaves
        if leaves is None:
            leaves = self._leaves = frozenset(path.rsplit(b"/", 1)[-1] for path in self)
        return leaves

    def __setitem__(self, key: bytes, value: FileSystem) -> None:
        self._leaves = None
        super().__setitem__(key, value)

    def __delitem__(self, key: bytes) -> None:
        self._leaves = None
        super().__delitem__(key)

    def pop(self, *args: Any) -> Any:
        self._leaves = None
        return super().pop(*args)

    def popitem(self) -> tuple[bytes, FileSystem]:
        self._leaves = None
        return super().popitem()

    def clear(self) -> None:
        self._leaves = None
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._leaves = None
        super().update(*args, **kwargs)

    def setdefault(self, key: bytes, default: Any = None) -> Any:
        self._leaves = None
        return super().setdefault(key, default)

    def __ior__(self, other: Any) -> Mounts:  # type: ignore[override,misc]
        self._leaves = None
        return super().__ior__(other)  # type: ignore[no-any-return]


class Namespace:
    """A mount table: the root file system and those mounted on directories."""

    def __init__(self, root: FileSystem, ino: int = 0) -> None:
        self.mounts = Mounts({b"/": root})
        self.ino = ino  # its nsfs inode number (/proc/<pid>/ns/mnt); 0: the first one's
        # the old root pivot_root(".", ".") left on top of "/", unreachable: umount2("/")
        # takes it (vfs/mounts.py)
        self.stacked: FileSystem | None = None
        self.expiring: set[bytes] = set()  # mount points umount2 marked with MNT_EXPIRE
        # the check that the caller may search a directory it walks through (the VFS
        # sets it: perm.py with the caller's credentials); None: no checks. Not asked
        # about a directory that owner, group and others may all search (anyone may)
        self.may_search: Callable[[Attr], None] | None = None
        self._root_walk: Walk | None = None  # ``root``'s, while "/" is the same node

    def root(self) -> Walk:
        fs = self.mounts[b"/"]
        node = fs.root()
        walk = self._root_walk  # (every walk from "/" starts here: made once per root)
        if walk is None or walk[0].fs is not fs or walk[0].node is not node:
            walk = self._root_walk = (Step(b"", fs, node),)
        return walk

    def mount(self, path: bytes, fs: FileSystem) -> None:
        self.mounts[path.rstrip(b"/") or b"/"] = fs

    def copy(self, ino: int) -> Namespace:
        """A new mount namespace with the same mounts (unshare/clone CLONE_NEWNS): the
        file systems are shared, mounting and unmounting afterwards are not."""
        other = Namespace(self.mounts[b"/"], ino)
        other.mounts = Mounts(self.mounts)
        other.may_search = self.may_search
        return other

    def _enter(self, walk: Walk, name: bytes) -> Walk:
        """One step down into ``name`` (which the caller checked is a directory entry)."""
        here = walk[-1]
        mounts = self.mounts
        if name in mounts.leaves:  # (else no mount point is there)
            names = [step.name for step in walk]  # (``path_of`` of the walk one step on:
            names[0] = b""  # its root's name is the empty one before the first "/")
            names.append(name)
            mounted = mounts.get(b"/".join(names))
            if mounted is not None:  # what lies beneath a mount point is never consulted
                return walk + (Step(name, mounted, mounted.root()),)
        return walk + (Step(name, here.fs, here.fs.walk_lookup(here.node, name)),)

    def resolve(self, start: Walk, path: bytes, follow: bool = True,
                parent: bool = False, top: Walk | None = None,
                scope: Scope = UNSCOPED) -> tuple[Walk, bytes]:
        """Walk ``path`` from ``start``; with ``parent``, stop before the last name.
        ``top`` is the caller's root (chroot): where "/" starts and ".." stops; ``scope``
        adds openat2's limits.

        Returns the location and, with ``parent``, the last name (b"" for "/").
        """
        if not path:
            raise KernelError(Errno.ENOENT, "empty path")
        top = top or self.root()
        walk = ((scope.root(top) if scope.flags else top) if path.startswith(b"/")  # (_root)
                else start)
        # the names still to walk, the next last ("." stays: "file/." is ENOTDIR)
        pending = [c for c in path.split(b"/") if c]
        pending.reverse()
        must_be_dir = path.endswith(b"/")
        links = 0
        may_search = self.may_search
        while pending:
            name = pending.pop()
            if len(name) > NAME_MAX:
                raise KernelError(Errno.ENAMETOOLONG, "a path component is too long")
            here = walk[-1].fs.walk_attr(walk[-1].node)
            mode = here.mode
            if mode & IFMT != stat.S_IFDIR:
                raise KernelError(Errno.ENOTDIR, path_of(walk).decode(errors="replace"))
            if mode & 0o111 != 0o111 and may_search is not None:  # (else anyone may search)
                may_search(here)
            last = not pending
            if last and parent:
                return walk, name
            if name == b".":
                continue
            if name == b"..":  # (a start outside ``top``, chroot's cwd, climbs freely)
                walk = scope.up(walk, top) if scope.flags else \
                    walk if len(walk) == len(top) and within(walk, top) else walk[:-1] or walk
                continue
            walk = self._enter(walk, name)
            if scope.flags:
                walk = scope.enter(walk)
            step = walk[-1]
            if step.fs.walk_attr(step.node).mode & IFMT == stat.S_IFLNK and (follow or not last
                                                                           or must_be_dir):
                links += 1
                if links > MAX_SYMLINKS:
                    raise KernelError(Errno.ELOOP, "too many symbolic links")
                if scope.flags:
                    scope.follow(step)
                target = step.fs.walk_readlink(step.node)
                walk = self._root(scope, top) if target.startswith(b"/") else walk[:-1]
                pending += reversed([c for c in target.split(b"/") if c])
        if parent:
            return walk, b""
        if must_be_dir and not is_dir(walk[-1]):
            raise KernelError(Errno.ENOTDIR, path_of(walk).decode(errors="replace"))
        return walk, b""

    def _root(self, scope: Scope, top: Walk) -> Walk:  # (inline in ``resolve``'s start)
        return scope.root(top) if scope.flags else top
