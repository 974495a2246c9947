"""hostfs: a directory of the host passed through to the guest.

Owns: the mapping of guest operations onto host system calls under one host
directory, ``root``, and the rule that keeps the guest inside it. A node
remembers its parent node and name; each operation walks from a descriptor
held on ``root``, one name at a time with O_PATH|O_DIRECTORY|O_NOFOLLOW (so
only real directories are entered), checks the file found is still the
node's (ESTALE if the host replaced it), acts relative to a directory fd with
nothing followed, and closes every fd it opened but those it keeps for the
next operations: directories' O_PATH fds and regular files' read-only ones (at
most KEPT_FDS_MAX, each for HOST_TTL_NS and until the next change made here).
Never: passes the host a path with a "/" in it, a "..", or any call that
would follow a symlink; host symlinks are read with readlink and resolved by
the VFS inside the guest's namespace. Never opens anything but regular files
and directories (device nodes give EACCES, as on a nodev mount), never passes
through a host file system that describes the host rather than holding files
(procfs, sysfs, ...: /proc/self/mem alone would hand the guest this process's
memory; EACCES), and never writes when read-only.
Called by: the VFS (host directories it is told to mount) and ``overlay``
(the read-only lower layer of the root).

Names the VFS should never send (b"", b".", b"..", anything with b"/" or NUL)
are refused with EINVAL. Files belong to the host user running CloudOS: the
uid and gid given to create, mkdir and symlink are ignored, and chown asks the
host (which may say EPERM). A file or directory the guest removes (unlink, rmdir,
rename over it) while a node of it is held (an open file, a cwd) stays usable as
on Linux: the node keeps an O_PATH fd on it (``held``), taken before the removal,
and reaches the file through that fd from then on. A file removed, renamed or
replaced on the host behind a node's back gives ESTALE or ENOENT. Path walks
trust what they learnt here for HOST_TTL_NS (fs.py's walk cache): a name made or
removed on the host is seen by them within that time; changes made through the
VFS at once.
Host errors come back with the host's errno.
"""

from __future__ import annotations

import ctypes
import os
import stat
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import (
    Attr, DType, FileSystem, Magic, Node, StatFs, check_name, check_target, dtype,
)

# Mounted on the host, these are views of the host kernel and of this process.
PSEUDO_FS_TYPES = frozenset({
    b"proc", b"sysfs", b"debugfs", b"tracefs", b"securityfs", b"bpf", b"configfs",
    b"efivarfs", b"pstore", b"cgroup", b"cgroup2", b"fusectl", b"binfmt_misc", b"devpts",
    b"devtmpfs", b"mqueue", b"hugetlbfs", b"rpc_pipefs", b"nsfs", b"autofs",
})
# What a mount crossed below a shown directory may be: file systems that only store files
# (statfs(2) f_type magic numbers). Anything else a host mounted there (devtmpfs, mqueue,
# proc, sysfs, cgroup, FUSE views such as lxcfs ...), then or later, is refused: EACCES.
STORE_MAGIC = frozenset({
    0xEF53, 0x58465342, 0x9123683E, 0x01021994, 0x794C7630, 0x2FC12FC1,  # ext*, xfs, btrfs,
    0xF2F52010, 0x4D44, 0x2011BAB0, 0x5346544E, 0x6969, 0x01021997,      # tmpfs, overlay, zfs,
    0x73717368, 0x9660, 0xE0F5E1E2, 0x858458F6, 0xFF534D42, 0xFE534D42,  # f2fs, fat, exfat,
    0x00C36400, 0xCA451A4E,  # ntfs, nfs, 9p, squashfs, iso9660, erofs, ramfs, cifs, smb2,
})                           # ceph, bcachefs
_libc = ctypes.CDLL(None, use_errno=True)
WALK = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
OPEN = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC  # never blocks on a fifo
# How long a walk trusts a name or a directory's attributes it learnt from the host (FUSE's
# default entry and attribute timeout): a file made, removed or changed on the host behind
# the guest's back is seen by path lookups within this time; reads and fstat always ask.
HOST_TTL_NS = 1_000_000_000
KEPT_FDS_MAX = 64  # directory and read-only file fds kept open (HostFs._kept)


class HostNode(Node):
    """A host file, found by name from its parent (None for the root or once removed)."""

    __slots__ = ("host_dev", "kind", "parent", "name", "children", "held")
    fs: HostFs

    def __init__(self, fs: HostFs, st: os.stat_result, parent: HostNode | None,
                 name: bytes) -> None:
        super().__init__(fs, st.st_ino)
        self.host_dev = st.st_dev
        self.kind = stat.S_IFMT(st.st_mode)
        self.parent = parent
        self.name = name
        # Nodes handed out for entries of this directory, so a name maps to one node.
        self.children: weakref.WeakValueDictionary[bytes, HostNode] = \
            weakref.WeakValueDictionary()
        self.held = -1  # an O_PATH fd on the file once the guest removed it (see _hold)

    def __del__(self) -> None:
        if self.held >= 0:
            os.close(self.held)

    def reopen_path(self) -> str:
        """A path that opens the removed file through its held fd (a /proc magic link)."""
        return f"/proc/self/fd/{self.held}"

    def same_file(self, st: os.stat_result) -> bool:
        return (st.st_ino, st.st_dev, stat.S_IFMT(st.st_mode)) == \
            (self.ino, self.host_dev, self.kind)


@contextmanager
def host_errors() -> Iterator[None]:
    """Turns a failed host call into the same Linux errno."""
    try:
        yield
    except (OverflowError, ValueError) as err:  # Python refused the arguments
        raise KernelError(Errno.EINVAL, str(err)) from None
    except OSError as err:  # the host is Linux: its errno is the guest's
        raise KernelError(err.errno or Errno.EIO, str(err)) from None


def pseudo_devs(mountinfo: str = "/proc/self/mountinfo") -> frozenset[int]:
    """st_dev of every host mount of a PSEUDO_FS_TYPES file system (proc(5) mountinfo)."""
    try:
        with open(mountinfo, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return frozenset()  # no procfs on the host: nothing of it to leak
    devs = set()
    for line in lines:
        mount, _, source = line.partition(b" - ")
        major, minor = mount.split()[2].split(b":")
        if source.split()[0] in PSEUDO_FS_TYPES:
            devs.add(os.makedev(int(major), int(minor)))
    return frozenset(devs)


class HostFs(FileSystem):
    """A host directory, read-only unless asked otherwise."""

    name = "hostfs"
    cache_ttl_ns = HOST_TTL_NS

    def __init__(self, root: str, readonly: bool = True) -> None:
        super().__init__(readonly)
        self.host_root = root  # what the mount table names as its source
        self._root_fd = -1
        # O_PATH fds on directories walked to and O_RDONLY fds on files read, (fd, expiry)
        # by node, trusted as the walk cache's entries are (HOST_TTL_NS, and until a change
        # made here); fds let go of while a ``_walk`` or an ``_open`` may still use them
        # wait in ``_doomed`` until none does
        self._kept: dict[HostNode, tuple[int, int]] = {}
        self._doomed: list[int] = []
        self._walking = 0
        # The one path the host resolves for us, with symlinks: it is configuration.
        self._root_fd = os.open(root, WALK & ~os.O_NOFOLLOW)
        self._hidden = pseudo_devs()
        st = os.fstat(self._root_fd)
        self._check_shown(st)  # on refusal, __del__ closes the fd
        self._shown = {st.st_dev: True}  # devices met below the root: stores of files?
        self._root = HostNode(self, st, None, b"")

    def close(self) -> None:
        self._forget_kept()
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def changed(self) -> None:
        """A change made here: the kept fds go with the walk cache (a file the guest
        removed, moved or replaced is found again by name)."""
        super().changed()
        self._forget_kept()

    def _forget_kept(self) -> None:
        self._doomed += [fd for fd, _ in self._kept.values()]
        self._kept = {}
        self._close_doomed()

    def _close_doomed(self) -> None:
        if not self._walking:
            for fd in self._doomed:
                os.close(fd)
            self._doomed = []

    def __del__(self) -> None:
        self.close()

    # Finding a node on the host again.

    def _check_shown(self, st: os.stat_result) -> None:
        if st.st_dev in self._hidden:
            raise KernelError(Errno.EACCES, "a host pseudo file system is never passed through")

    def _check_crossing(self, st: os.stat_result, dir_fd: int, name: bytes) -> None:
        """Entry ``name`` lies on another device than the root (a mount crossed): pass it
        through only if that file system is a store of files (``STORE_MAGIC``), as found
        the first time the device is met, whenever the host mounted it."""
        self._check_shown(st)
        shown = self._shown.get(st.st_dev)
        if shown is None:  # devtmpfs has tmpfs's magic: its type in the mount table tells
            self._hidden = pseudo_devs()
            shown = _fs_magic(dir_fd, name) in STORE_MAGIC and st.st_dev not in self._hidden
            self._shown[st.st_dev] = shown
        if not shown:
            raise KernelError(Errno.EACCES, "a host view that is not a store of files")

    def _node(self, node: Node) -> HostNode:
        if not isinstance(node, HostNode) or node.fs is not self:
            raise KernelError(Errno.EXDEV, "node of another file system")
        return node

    def _dir(self, node: Node) -> HostNode:
        n = self._node(node)
        if n.kind != stat.S_IFDIR:
            raise KernelError(Errno.ENOTDIR, "not a directory")
        return n

    @contextmanager
    def _walk(self, dir: HostNode, fresh: bool = False) -> Iterator[int]:
        """An O_PATH fd on directory ``dir``, open for the ``with`` block (``fresh``: found
        by its name now, not kept from a walk before)."""
        if dir.held >= 0:  # removed by the guest: its own fd (lookups there find nothing)
            yield dir.held
            return
        fd = self._dir_fd(dir, fresh)
        self._walking += 1
        try:
            yield fd
        finally:
            self._walking -= 1
            self._close_doomed()

    def _dir_fd(self, dir: HostNode, fresh: bool = False) -> int:
        """An O_PATH fd on directory ``dir``, found from its parent's by name (one open),
        checked to be ``dir``'s file, and kept for the next walks."""
        if dir is self._root:
            return self._root_fd
        if dir.parent is None:
            raise KernelError(Errno.ESTALE, "file was removed")
        kept = self._kept.get(dir)
        if kept is not None and kept[1] > self.cache_clock() and not fresh:
            return kept[0]
        parent = self._dir_fd(dir.parent)
        with host_errors():
            fd = os.open(dir.name, WALK, dir_fd=parent)
        return self._keep(dir, fd, "directory replaced on the host")

    def _keep(self, node: HostNode, fd: int, stale: str) -> int:
        """Keeps ``fd``, just opened by ``node``'s name, if it is ``node``'s file (else
        ESTALE, ``stale`` saying why), in place of the one kept before."""
        try:
            if not node.same_file(os.fstat(fd)):
                raise KernelError(Errno.ESTALE, stale)
        except BaseException:
            os.close(fd)
            raise
        kept = self._kept.get(node)
        if kept is not None:
            self._doomed.append(kept[0])
        elif len(self._kept) >= KEPT_FDS_MAX:
            self._forget_kept()
        self._kept[node] = (fd, self.cache_clock() + HOST_TTL_NS)
        return fd

    @contextmanager
    def _at(self, node: HostNode) -> Iterator[tuple[int, bytes]]:
        """(dir fd, name) naming ``node``: (its own fd, b".") for a directory."""
        if node.kind == stat.S_IFDIR:
            with self._walk(node) as fd:
                yield fd, b"."
            return
        if node.parent is None:
            raise KernelError(Errno.ESTALE, "file was removed")
        with self._walk(node.parent) as fd:
            with host_errors():
                st = os.stat(node.name, dir_fd=fd, follow_symlinks=False)
            if not node.same_file(st):
                raise KernelError(Errno.ESTALE, "file replaced on the host")
            yield fd, node.name

    @contextmanager
    def _open(self, node: HostNode, flags: int) -> Iterator[int]:
        """A real fd on regular file ``node`` (for reading: the one kept, if young)."""
        if node.kind == stat.S_IFDIR:
            raise KernelError(Errno.EISDIR, "is a directory")
        if node.kind != stat.S_IFREG:
            raise KernelError(Errno.EACCES, "hostfs opens only regular files")
        if flags == os.O_RDONLY and node.held < 0:
            fd = self._reader(node)
            self._walking += 1
            try:
                with host_errors():
                    yield fd
            finally:
                self._walking -= 1
                self._close_doomed()
            return
        if node.held >= 0:
            with host_errors():
                fd = os.open(node.reopen_path(), flags | (OPEN & ~os.O_NOFOLLOW))
        else:
            with self._at(node) as (dir_fd, name):
                with host_errors():
                    fd = os.open(name, flags | OPEN, dir_fd=dir_fd)
        try:
            if not node.same_file(os.fstat(fd)):
                raise KernelError(Errno.ESTALE, "file replaced on the host")
            with host_errors():
                yield fd
        finally:
            os.close(fd)

    def _reader(self, node: HostNode) -> int:
        """An O_RDONLY fd on regular file ``node``, kept for the next reads."""
        kept = self._kept.get(node)
        if kept is not None and kept[1] > self.cache_clock():
            return kept[0]
        with self._at(node) as (dir_fd, name), host_errors():
            fd = os.open(name, os.O_RDONLY | OPEN, dir_fd=dir_fd)
        return self._keep(node, fd, "file replaced on the host")

    def _child(self, dir: HostNode, dir_fd: int, name: bytes) -> HostNode:
        """The node for entry ``name`` of ``dir``: the one already handed out if still that file."""
        with host_errors():
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        self._check_crossing(st, dir_fd, name)
        node = dir.children.get(name)
        if node is None or not node.same_file(st):
            node = HostNode(self, st, dir, name)
            dir.children[name] = node
        return node

    def _hold(self, dir: HostNode, dir_fd: int, name: bytes) -> None:
        """Before the guest removes entry ``name``: a node of it that is in use keeps an
        fd on it, so an open file or a cwd goes on working as on Linux."""
        node = dir.children.get(name)
        if node is None or node.held >= 0 or node.kind not in (stat.S_IFREG, stat.S_IFDIR):
            return
        try:
            fd = os.open(name, WALK if node.kind == stat.S_IFDIR else os.O_PATH | os.O_NOFOLLOW
                         | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            return  # the removal will fail or the file is gone: nothing to hold
        if node.same_file(os.fstat(fd)):
            node.held = fd
        else:
            os.close(fd)

    def _detach(self, dir: HostNode, name: bytes) -> None:
        node = dir.children.pop(name, None)
        if node is not None:
            node.parent = None

    def _check_change(self, dir: Node, name: bytes) -> HostNode:
        self._check_writable()
        check_name(name)
        return self._dir(dir)

    # The interface.

    def root(self) -> Node:
        return self._root

    def getattr(self, node: Node) -> Attr:
        n = self._node(node)
        if n.held >= 0:
            st = os.fstat(n.held)
        elif n.kind == stat.S_IFDIR:
            with self._walk(n) as fd:
                st = os.fstat(fd)  # (the walk checked it is still the node's)
        elif n.parent is None:
            raise KernelError(Errno.ESTALE, "file was removed")
        else:
            with self._walk(n.parent) as dir_fd, host_errors():
                st = os.stat(n.name, dir_fd=dir_fd, follow_symlinks=False)
            if not n.same_file(st):
                raise KernelError(Errno.ESTALE, "file replaced on the host")
        return Attr(ino=st.st_ino, mode=st.st_mode, nlink=st.st_nlink, uid=st.st_uid,
                    gid=st.st_gid, size=st.st_size, rdev=st.st_rdev, blksize=st.st_blksize,
                    blocks=st.st_blocks, atime_ns=st.st_atime_ns, mtime_ns=st.st_mtime_ns,
                    ctime_ns=st.st_ctime_ns, dev=self.dev)

    def lookup(self, dir: Node, name: bytes) -> Node:
        parent = self._dir(dir)
        check_name(name)
        with self._walk(parent) as fd:
            return self._child(parent, fd, name)

    def readdir(self, dir: Node) -> list[tuple[bytes, int, int]]:
        parent = self._dir(dir)
        entries = []
        # (fresh: a listing is of what is there now, never of a directory removed since)
        with self._walk(parent, fresh=True) as path_fd, host_errors():
            fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=path_fd)
            try:
                with os.scandir(fd) as listing:
                    for entry in listing:
                        entries.append((os.fsencode(entry.name), entry.inode(),
                                        _dtype(entry)))
            finally:
                os.close(fd)
        return entries

    def readlink(self, node: Node) -> bytes:
        n = self._node(node)
        if n.kind != stat.S_IFLNK:
            raise KernelError(Errno.EINVAL, "not a symlink")
        with self._at(n) as (dir_fd, name), host_errors():
            return os.readlink(name, dir_fd=dir_fd)

    def read(self, node: Node, offset: int, size: int) -> bytes:
        with self._open(self._node(node), os.O_RDONLY) as fd:
            # Never allocate more than the file holds, whatever the guest asks for.
            return os.pread(fd, min(size, max(0, os.fstat(fd).st_size - offset)), offset)

    def write(self, node: Node, offset: int, data: bytes) -> int:
        self._check_writable()
        with self._open(self._node(node), os.O_WRONLY) as fd:
            return os.pwrite(fd, data, offset)

    def seek_data(self, node: Node, offset: int, data: bool) -> int:
        """The host file's own data and holes (a sparse file has holes)."""
        if offset < 0:
            raise KernelError(Errno.ENXIO, "negative offset")
        with self._open(self._node(node), os.O_RDONLY) as fd:
            return os.lseek(fd, offset, os.SEEK_DATA if data else os.SEEK_HOLE)

    def truncate(self, node: Node, size: int) -> None:
        self.setattr(node, size=size)

    def create(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        parent = self._check_change(dir, name)
        with self._walk(parent) as dir_fd:
            with host_errors():
                fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | OPEN, mode & 0o7777,
                             dir_fd=dir_fd)
                try:
                    os.fchmod(fd, mode & 0o7777)  # what the guest asked, not the host's umask
                finally:
                    os.close(fd)
            return self._child(parent, dir_fd, name)

    def mkdir(self, dir: Node, name: bytes, mode: int, uid: int, gid: int) -> Node:
        parent = self._check_change(dir, name)
        with self._walk(parent) as dir_fd:
            with host_errors():
                os.mkdir(name, mode & 0o7777, dir_fd=dir_fd)
                os.chmod(name, mode & 0o7777, dir_fd=dir_fd, follow_symlinks=False)
            return self._child(parent, dir_fd, name)

    def symlink(self, dir: Node, name: bytes, target: bytes, uid: int, gid: int) -> Node:
        parent = self._check_change(dir, name)
        check_target(target)
        with self._walk(parent) as dir_fd:
            with host_errors():
                os.symlink(target, name, dir_fd=dir_fd)
            return self._child(parent, dir_fd, name)

    def mknod(self, dir: Node, name: bytes, mode: int, rdev: int, uid: int, gid: int) -> Node:
        """FIFOs, socket inodes and regular files on the host; never a device node (a
        guest must not reach the host's devices): EPERM."""
        parent = self._check_change(dir, name)
        kind = stat.S_IFMT(mode)
        if kind not in (stat.S_IFIFO, stat.S_IFSOCK, stat.S_IFREG):
            raise KernelError(Errno.EPERM, "hostfs makes no device nodes")
        with self._walk(parent) as dir_fd:
            with host_errors():
                os.mknod(name, kind | (mode & 0o777), 0, dir_fd=dir_fd)
                os.chmod(name, mode & 0o7777, dir_fd=dir_fd, follow_symlinks=False)
            return self._child(parent, dir_fd, name)

    def link(self, node: Node, dir: Node, name: bytes) -> None:
        parent = self._check_change(dir, name)
        n = self._node(node)
        if n.kind == stat.S_IFDIR:
            raise KernelError(Errno.EPERM, "hard link to a directory")
        with self._at(n) as (src_fd, src_name), self._walk(parent) as dst_fd, host_errors():
            os.link(src_name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd,
                    follow_symlinks=False)

    def unlink(self, dir: Node, name: bytes) -> None:
        parent = self._check_change(dir, name)
        with self._walk(parent) as fd, host_errors():
            self._hold(parent, fd, name)
            os.unlink(name, dir_fd=fd)
        self._detach(parent, name)

    def rmdir(self, dir: Node, name: bytes) -> None:
        parent = self._check_change(dir, name)
        with self._walk(parent) as fd, host_errors():
            self._hold(parent, fd, name)
            os.rmdir(name, dir_fd=fd)
        self._detach(parent, name)

    def rename(self, olddir: Node, oldname: bytes, newdir: Node, newname: bytes) -> None:
        src = self._check_change(olddir, oldname)
        dst = self._check_change(newdir, newname)
        with self._walk(src) as src_fd, self._walk(dst) as dst_fd, host_errors():
            old = os.stat(oldname, dir_fd=src_fd, follow_symlinks=False)
            try:
                new = os.stat(newname, dir_fd=dst_fd, follow_symlinks=False)
                if (new.st_ino, new.st_dev) == (old.st_ino, old.st_dev):
                    return  # two names of one file: POSIX says do nothing
            except FileNotFoundError:
                pass
            self._hold(dst, dst_fd, newname)
            os.rename(oldname, newname, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
        moved = src.children.get(oldname)
        self._detach(dst, newname)
        self._detach(src, oldname)
        if moved is not None:
            moved.parent, moved.name = dst, newname
            dst.children[newname] = moved

    def setattr(self, node: Node, mode: int | None = None, uid: int | None = None,
                gid: int | None = None, atime_ns: int | None = None,
                mtime_ns: int | None = None, size: int | None = None) -> None:
        self._check_writable()
        n = self._node(node)
        if mode is not None and n.kind == stat.S_IFLNK:
            raise KernelError(Errno.ENOTSUP, "a symlink's mode cannot change")
        if size is not None:
            if size < 0 or n.kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise KernelError(Errno.EINVAL, "negative size or not a regular file")
            with self._open(n, os.O_WRONLY) as fd:
                os.ftruncate(fd, size)
        if n.held >= 0:
            self._setattr_held(n, mode, uid, gid, atime_ns, mtime_ns)
            return
        with self._at(n) as (dir_fd, name), host_errors():
            if mode is not None:
                os.chmod(name, mode & 0o7777, dir_fd=dir_fd, follow_symlinks=False)
            if uid is not None or gid is not None:
                os.chown(name, -1 if uid is None else uid, -1 if gid is None else gid,
                         dir_fd=dir_fd, follow_symlinks=False)
            if atime_ns is not None or mtime_ns is not None:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                times = (st.st_atime_ns if atime_ns is None else atime_ns,
                         st.st_mtime_ns if mtime_ns is None else mtime_ns)
                os.utime(name, ns=times, dir_fd=dir_fd, follow_symlinks=False)

    @staticmethod
    def _setattr_held(n: HostNode, mode: int | None, uid: int | None, gid: int | None,
                      atime_ns: int | None, mtime_ns: int | None) -> None:
        """setattr of a removed file, through its held fd's magic link."""
        path = n.reopen_path()
        with host_errors():
            if mode is not None:
                os.chmod(path, mode & 0o7777)
            if uid is not None or gid is not None:
                os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
            if atime_ns is not None or mtime_ns is not None:
                st = os.fstat(n.held)
                os.utime(path, ns=(st.st_atime_ns if atime_ns is None else atime_ns,
                                   st.st_mtime_ns if mtime_ns is None else mtime_ns))

    def statfs(self) -> StatFs:
        with host_errors():
            st = os.statvfs(self._root_fd)
        return (Magic.HOSTFS, st.f_frsize, st.f_blocks, st.f_bfree, st.f_bavail, st.f_files,
                st.f_ffree)


def _fs_magic(dir_fd: int, name: bytes) -> int:
    """statfs(2)'s f_type for the file system holding entry ``name`` (-1: unknown)."""
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return -1
    try:
        buf = ctypes.create_string_buffer(120)  # struct statfs; f_type is its first long
        if _libc.fstatfs(fd, buf) != 0:
            return -1
        return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF
    finally:
        os.close(fd)


def _dtype(entry: os.DirEntry[str]) -> int:
    if entry.is_symlink():
        return DType.LNK
    if entry.is_dir(follow_symlinks=False):
        return DType.DIR
    if entry.is_file(follow_symlinks=False):
        return DType.REG
    return dtype(entry.stat(follow_symlinks=False).st_mode)
