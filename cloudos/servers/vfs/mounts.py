"""Mounts made by the guest: chroot, mount, umount2, pivot_root, unshare(CLONE_NEWNS).

Owns: changing a process's root (chroot) and a mount namespace's table (paths.py's
``Namespace``: mount points by their path from the namespace's root) with Linux's
rules and errors: new tmpfs instances (size=, nr_inodes=, mode= options), bind mounts
(recursive with MS_REC; read-only by a later MS_REMOUNT|MS_BIND|MS_RDONLY, bindfs.py),
moves, remounts, lazy and busy unmounts, pivot_root, and a process's own copy of its
namespace. Every mount is private: CloudOS has no mount propagation, so MS_SHARED,
MS_SLAVE, MS_PRIVATE and MS_UNBINDABLE only check their target.
Checks CAP_SYS_ADMIN (CAP_SYS_CHROOT for chroot) where Linux does: after the path
lookups of mount, umount2 and chroot, before those of pivot_root.
Never: closes a file system it unmounts (a detached one may still hold open files and
working directories, and a copied namespace may still show it).
Called by: ``vfs.server``'s handlers for those requests.
"""

from __future__ import annotations

import re
import stat
from typing import TYPE_CHECKING

from cloudos.abi.flags import CloneFlag, MountFlag, UmountFlag
from cloudos.abi.vfs import NsTarget
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import notify, perm
from cloudos.servers.vfs.bindfs import BindFs, underlying
from cloudos.servers.vfs.devfs import DevFs
from cloudos.servers.vfs.devpts import DevPts
from cloudos.servers.vfs.fs import MOUNTABLE, FileSystem
from cloudos.servers.vfs.paths import Mounts, Namespace, Step, Walk, is_dir, path_of, within
from cloudos.servers.vfs.procfs import NS_INIT, ProcFs, ProcNode
from cloudos.servers.vfs.sysfs import SysFs
from cloudos.servers.vfs.tmpfs import TmpFs

if TYPE_CHECKING:
    from cloudos.abi import vfs as requests
    from cloudos.servers.vfs.server import Proc, Vfs

CAP_SYS_CHROOT, CAP_SYS_ADMIN = 18, 21
MNT_FIRST_INO = NS_INIT["mnt"] + 0x1000  # past the UTS namespaces' (machine.py)
# what setns's nstype says for each namespace file (/proc/<pid>/ns/<name>)
NS_FLAGS = {"mnt": CloneFlag.NEWNS, "uts": CloneFlag.NEWUTS, "ipc": CloneFlag.NEWIPC,
            "net": CloneFlag.NEWNET, "pid": CloneFlag.NEWPID, "user": CloneFlag.NEWUSER,
            "cgroup": CloneFlag.NEWCGROUP, "time": 0x80}
PROPAGATION = MountFlag.SHARED | MountFlag.PRIVATE | MountFlag.SLAVE | MountFlag.UNBINDABLE
SIZE_SUFFIX = {b"": 1, b"k": 1 << 10, b"m": 1 << 20, b"g": 1 << 30, b"t": 1 << 40}


def chroot(vfs: Vfs, proc: Proc, path: bytes) -> int:
    """chroot(2): lookup, search permission, then CAP_SYS_CHROOT, in Linux's order."""
    walk = vfs.resolve(proc, proc.cwd, path)[0]
    if not is_dir(walk[-1]):
        raise KernelError(Errno.ENOTDIR, path.decode(errors="replace"))
    perm.check(proc.who, walk[-1].fs.getattr(walk[-1].node), perm.MAY_EXEC)
    if not proc.who.capable(CAP_SYS_CHROOT):
        raise KernelError(Errno.EPERM, "chroot needs CAP_SYS_CHROOT")
    proc.root = walk
    return 0


def _may_mount(proc: Proc) -> None:
    if not proc.who.capable(CAP_SYS_ADMIN):
        raise KernelError(Errno.EPERM, "mounting needs CAP_SYS_ADMIN")


def _flags(flags: int) -> int:
    """mount(2)'s flags without the old magic number in their high half."""
    if flags & MountFlag.MGC_MSK == MountFlag.MGC_VAL:
        flags &= ~MountFlag.MGC_MSK
    return flags


def _mount_point(ns: Namespace, walk: Walk) -> bytes:
    """The path of the mount whose root ``walk`` is; EINVAL for any other place."""
    path = path_of(walk)
    fs = ns.mounts.get(path)
    if fs is None or walk[-1].fs is not fs:
        raise KernelError(Errno.EINVAL, f"{path.decode(errors='replace')} is not a mount point")
    return path


def mount(vfs: Vfs, proc: Proc, r: requests.Mount) -> int:
    """mount(2): which of its operations the flags ask for, as do_mount decides."""
    flags = _flags(r.flags)
    ns = proc.namespace(vfs.state.namespace)
    target = vfs.resolve(proc, proc.cwd, r.target)[0]
    _may_mount(proc)
    if flags & MountFlag.REMOUNT:
        return _remount(vfs, ns, target, flags)
    if flags & MountFlag.BIND:
        return _bind(vfs, proc, ns, target, r.source, bool(flags & MountFlag.REC))
    if flags & PROPAGATION:
        _mount_point(ns, target)
        return 0
    if flags & MountFlag.MOVE:
        return _move(vfs, proc, ns, target, r.source)
    fs = _new_fs(vfs, ns, r.fstype, r.data, bool(flags & MountFlag.RDONLY))
    if not is_dir(target[-1]):
        raise KernelError(Errno.ENOTDIR, r.target.decode(errors="replace"))
    if isinstance(fs, TmpFs):  # (a new instance: the source it was given is its name)
        fs.source = r.source.decode(errors="surrogateescape")
    ns.mount(path_of(target), fs)
    return 0


def _new_fs(vfs: Vfs, ns: Namespace, fstype: bytes, data: bytes,
            readonly: bool) -> FileSystem:
    """A new instance of ``fstype``: tmpfs; proc, sysfs, devtmpfs and devpts are the
    machine's one instance again (Linux's are per pid namespace and singular; its devpts mounts are
    separate instances: here every one shows the machine's pseudo-terminals); ENODEV for
    others."""
    if fstype.decode(errors="replace") not in MOUNTABLE:
        raise KernelError(Errno.ENODEV, f"no file system {fstype.decode(errors='replace')}")
    if fstype == b"tmpfs":
        return _tmpfs(vfs, ns, data, readonly)
    kind = {b"proc": ProcFs, b"sysfs": SysFs, b"devtmpfs": DevFs, b"devpts": DevPts}.get(fstype)
    found = next((fs for fs in vfs.state.namespace.mounts.values()
                  if kind is not None and isinstance(fs, kind)), None)
    if found is None:
        raise KernelError(Errno.ENODEV, f"no file system {fstype.decode(errors='replace')}")
    return found


def _size(value: bytes, ram: int) -> int:
    """A tmpfs size= value: bytes with an optional k, m, g, t suffix, or a percent of RAM."""
    match = re.fullmatch(rb"(\d+)([kmgt%]?)", value.lower())
    if match is None:
        raise KernelError(Errno.EINVAL, f"tmpfs size {value!r}")
    number, suffix = int(match[1]), match[2]
    return ram * number // 100 if suffix == b"%" else number * SIZE_SUFFIX[suffix]


def _tmpfs_options(data: bytes, ram: int) -> dict[bytes, int]:
    """mount(2)'s tmpfs options (shmem_parse_one): size= (0: no limit but the RAM),
    nr_inodes= (0: none), mode=, uid=, gid=; inode64 and inode32 change nothing here.
    EINVAL for another option or a bad value, as Linux."""
    found: dict[bytes, int] = {}
    for option in filter(None, data.split(b",")):
        key, _, value = option.partition(b"=")
        try:
            if key == b"size":
                found[key] = _size(value, ram)
            elif key == b"nr_inodes":
                found[key] = _size(value, 1 << 40)
            elif key == b"mode":
                found[key] = int(value, 8) & 0o7777
            elif key in (b"uid", b"gid"):
                found[key] = int(value)
                if not 0 <= found[key] < 0xFFFFFFFF:
                    raise ValueError(value)
            elif key not in (b"inode64", b"inode32") or value:
                raise KernelError(Errno.EINVAL, f"tmpfs option {key!r}")
        except ValueError:
            raise KernelError(Errno.EINVAL, f"tmpfs option {option!r}") from None
    return found


def _tmpfs(vfs: Vfs, ns: Namespace, data: bytes, readonly: bool) -> TmpFs:
    """A new tmpfs, with ``data``'s options."""
    ram = vfs.state.map_limit
    options = _tmpfs_options(data, ram)
    size, inodes = options.get(b"size") or None, options.get(b"nr_inodes") or None
    mode = options.get(b"mode", 0o1777)
    fs = TmpFs(ram // 2 if size is None else size, inodes, readonly, mode=mode,
               uid=options.get(b"uid", 0), gid=options.get(b"gid", 0))
    pool = next((t.pool for t in map(_tmpfs_of, ns.mounts.values()) if t is not None), None)
    if pool is not None:  # the machine's RAM, which every tmpfs draws on
        fs.pool = pool
    shown = [f"size={(size + 1023) // 1024}k"] if size is not None else []
    shown += [f"nr_inodes={inodes}"] if inodes is not None else []
    shown += [f"mode={mode:03o}"] if mode != 0o1777 else []
    shown += [f"{key.decode()}={options[key]}" for key in (b"uid", b"gid") if options.get(key)]
    fs.options = "".join("," + option for option in shown)
    return fs


def _tmpfs_of(fs: FileSystem) -> TmpFs | None:
    upper = getattr(fs, "upper", None)  # an overlay keeps its writes in a tmpfs
    found = upper if isinstance(upper, TmpFs) else fs
    return found if isinstance(found, TmpFs) and not found.readonly else None


def _bind(vfs: Vfs, proc: Proc, ns: Namespace, target: Walk, source: bytes,
          recursive: bool) -> int:
    """MS_BIND: ``source`` (and with MS_REC the mounts under it) seen at ``target`` too;
    a directory only on a directory, a file only on a file (ENOTDIR)."""
    where = vfs.resolve(proc, proc.cwd, source)[0]
    if is_dir(where[-1]) != is_dir(target[-1]):
        raise KernelError(Errno.ENOTDIR, "bind mount of a directory on a file or back")
    source_path, target_path = path_of(where), path_of(target)
    below = [(path, fs) for path, fs in ns.mounts.items()
             if recursive and path != source_path and within_path(path, source_path)]
    ns.mount(target_path, _bind_fs(where))
    for path, fs in below:
        ns.mount(target_path.rstrip(b"/") + path[len(source_path.rstrip(b"/")):],
                 _bind_fs(((Step(b"", fs, fs.root())),)))
    return 0


def within_path(path: bytes, top: bytes) -> bool:
    return path == top or path.startswith(top.rstrip(b"/") + b"/")


def _mount_start(walk: Walk) -> int:
    """The index in ``walk`` of the root of the mount it ends in."""
    return max(i for i, s in enumerate(walk) if i == 0 or s.fs is not walk[i - 1].fs)


def _mount_of(walk: Walk) -> bytes:
    """The mount point of the mount ``walk`` ends in."""
    return path_of(walk[:_mount_start(walk) + 1])


def _bind_fs(walk: Walk, readonly: bool | None = None) -> BindFs:
    """A bind mount of the place ``walk`` ends at: the file system it is in, from there;
    read-only as ``readonly`` says, else as the mount it is in (Linux copies the flag)."""
    step = walk[-1]
    if readonly is None:
        readonly = isinstance(step.fs, BindFs) and step.fs.mount_readonly
    start = _mount_start(walk)
    inside = b"/" + b"/".join(s.name for s in walk[start + 1:])
    if isinstance(step.fs, BindFs):  # a bind of a bind: the same file system below
        prefix = step.fs.root_path.rstrip(b"/")
        return BindFs(step.fs.inner, step.node, prefix + inside if prefix else inside,
                      readonly)
    return BindFs(step.fs, step.node, inside, readonly)


def _remount(vfs: Vfs, ns: Namespace, target: Walk, flags: int) -> int:
    """MS_REMOUNT: a mount's read-only flag (with MS_BIND: this mount's only; without:
    its file system's, for every mount of it: a tmpfs's only here)."""
    path = _mount_point(ns, target)
    fs = ns.mounts[path]
    readonly = bool(flags & MountFlag.RDONLY)
    if not flags & MountFlag.BIND:
        if not isinstance(underlying(fs), TmpFs):
            raise KernelError(Errno.EPERM, f"{fs.name} cannot be remounted")
        underlying(fs).readonly = readonly
    elif isinstance(fs, BindFs) and not _shared(vfs, ns, path, fs):
        fs.readonly = readonly
    else:  # the first flag of a mount, or of a mount another namespace has a copy of
        ns.mount(path, _bind_fs(target, readonly))
    return 0


def _shared(vfs: Vfs, ns: Namespace, path: bytes, fs: FileSystem) -> bool:
    """Whether another mount namespace has ``fs`` mounted at ``path`` too (the copy
    unshare made)."""
    machine = vfs.state.namespace
    others = {id(n): n for n in (machine, *(p.namespace(machine)
                                            for p in vfs.state.procs.values()))}
    return any(n is not ns and n.mounts.get(path) is fs for n in others.values())


def _move(vfs: Vfs, proc: Proc, ns: Namespace, target: Walk, source: bytes) -> int:
    """MS_MOVE: the mount at ``source`` (and those under it) moves to ``target``."""
    old = _mount_point(ns, vfs.resolve(proc, proc.cwd, source)[0])
    new = path_of(target)
    if old == b"/" or within_path(new, old):
        raise KernelError(Errno.EINVAL, "a mount moved under itself")
    moved = ns.mounts[old]
    if is_dir(target[-1]) != stat.S_ISDIR(moved.getattr(moved.root()).mode):
        raise KernelError(Errno.ENOTDIR, "a directory moved onto a file or back")
    moving = [(path, fs) for path, fs in ns.mounts.items() if within_path(path, old)]
    for path, _ in moving:
        del ns.mounts[path]
    for path, fs in moving:
        ns.mount(new.rstrip(b"/") + path[len(old.rstrip(b"/")):], fs)
    return 0


def umount(vfs: Vfs, proc: Proc, r: requests.Umount2) -> int:
    """umount2(2): EINVAL for a place that is no mount's root; EBUSY, unless MNT_DETACH,
    while a process of the namespace works or has a file open in it, or another mount
    lies under it. A detached mount lives on for what still uses it. MNT_EXPIRE unmounts
    only on its second call (the first marks the mount: EAGAIN); unlike Linux, using the
    mount in between does not clear the mark."""
    ns = proc.namespace(vfs.state.namespace)
    walk = vfs.resolve(proc, proc.cwd, r.target, not r.flags & UmountFlag.NOFOLLOW)[0]
    _may_mount(proc)
    path = _mount_point(ns, walk)
    if path == b"/" and ns.stacked is not None:  # the old root pivot_root(".", ".") left
        ns.stacked = None
        return 0
    if path == b"/":
        raise KernelError(Errno.EBUSY, "the namespace's root")
    under = [p for p in ns.mounts if p != path and within_path(p, path)]
    if not r.flags & UmountFlag.DETACH and (under or _busy(vfs, ns, ns.mounts[path])):
        raise KernelError(Errno.EBUSY, f"{path.decode(errors='replace')} is in use")
    if r.flags & UmountFlag.EXPIRE and path not in ns.expiring:
        ns.expiring.add(path)
        raise KernelError(Errno.EAGAIN, "marked to expire")
    gone = [ns.mounts[p] for p in (path, *under)]
    for p in (path, *under):
        del ns.mounts[p]
        ns.expiring.discard(p)
    if vfs.state.notify.marks:
        _unmounted(vfs, gone)
    return 0


def _unmounted(vfs: Vfs, gone: list[FileSystem]) -> None:
    """The file systems of ``gone`` that no namespace mounts any more: inotify's IN_UNMOUNT
    for their watched files (a bind mount's file system is its inner one's)."""
    namespaces = [vfs.state.namespace, *(p.ns for p in vfs.state.procs.values() if p.ns)]
    left = {id(underlying(fs)) for ns in namespaces for fs in ns.mounts.values()}
    for fs in {id(underlying(fs)): underlying(fs) for fs in gone}.values():
        if id(fs) not in left:
            notify.unmounted(vfs, fs)


def _busy(vfs: Vfs, ns: Namespace, fs: FileSystem) -> bool:
    """Whether a process in ``ns`` has its working directory, root or an open file in
    ``fs`` (Linux's mount count, seen from the walks that hold it)."""
    machine = vfs.state.namespace
    for proc in vfs.state.procs.values():
        if proc.namespace(machine) is not ns:
            continue
        walks = [proc.cwd, proc.root or ()] + [e.file.walk or () for e in
                                               proc.fds.entries.values()]
        if any(step.fs is fs for walk in walks for step in walk):
            return True
    return False


def pivot_root(vfs: Vfs, proc: Proc, r: requests.PivotRoot) -> int:
    """pivot_root(2): ``new_root`` (a mount point, not the current root) becomes the
    namespace's root and the old root is mounted at ``put_old`` (at or under it);
    processes whose root or working directory was the old root move to the new one."""
    _may_mount(proc)
    machine = vfs.state.namespace
    ns = proc.namespace(machine)
    new = vfs.resolve(proc, proc.cwd, r.new_root)[0]
    old = vfs.resolve(proc, proc.cwd, r.put_old)[0]
    if not is_dir(new[-1]) or not is_dir(old[-1]):
        raise KernelError(Errno.ENOTDIR, "pivot_root of a file")
    top = proc.top(machine)
    root_mount = _mount_of(top)
    if root_mount in (_mount_of(new), _mount_of(old)):
        raise KernelError(Errno.EBUSY, "new_root or put_old on the root's mount")
    if path_of(top) != root_mount:
        raise KernelError(Errno.EINVAL, "the current root is not a mount point")
    if len(top) > 1:  # (Linux pivots a chroot's root mount: CloudOS, its namespace's)
        raise KernelError(Errno.EINVAL, "pivot_root inside a chroot")
    _mount_point(ns, new)
    if not within(old, new) or not within(new, top):
        raise KernelError(Errno.EINVAL, "put_old not under new_root, or new_root not under "
                                        "the root")
    _rebase(vfs, ns, new, old)
    return 0


def _rebase(vfs: Vfs, ns: Namespace, new: Walk, old: Walk) -> None:
    """pivot_root's change: every mount point's path from the new root, and every walk
    held by the namespace's processes rewritten to lead there from it. With put_old the
    new root itself (pivot_root(".", ".")), the old root lies stacked on the new one,
    unreachable, until umount2("/") takes it away (Linux's way to drop the old root
    without a directory for it); what is not under the new root is then gone from the
    table."""
    new_path = path_of(new).rstrip(b"/")
    put_old = path_of(old)[len(new_path):]  # (b"" when it is the new root)
    old_fs, new_fs = ns.mounts[b"/"], ns.mounts[new_path]
    new_root = (Step(b"", new_fs, new_fs.root()),)
    old_root = new_root + old[len(new):-1] + (Step(old[-1].name, old_fs, old_fs.root()),)

    def moved(path: bytes) -> bytes:
        if within_path(path, new_path):
            return path[len(new_path):] or b"/"
        return (put_old.rstrip(b"/") + path).rstrip(b"/") or b"/"

    def rebased(walk: Walk) -> Walk:
        if within(walk, new):
            return new_root + walk[len(new):]
        return old_root + walk[1:] if put_old else walk  # (unreachable: detached)

    ns.mounts = Mounts({moved(path): fs for path, fs in ns.mounts.items()
                        if path != new_path and (put_old or within_path(path, new_path))})
    ns.mounts[b"/"] = new_fs
    ns.stacked = old_fs if not put_old else None

    machine = vfs.state.namespace
    for proc in vfs.state.procs.values():
        if proc.namespace(machine) is not ns:
            continue
        if proc.root is None or len(proc.root) == 1:
            proc.root = None
            proc.cwd = new_root if len(proc.cwd) == 1 else rebased(proc.cwd)
        else:
            proc.root = rebased(proc.root)
            proc.cwd = rebased(proc.cwd)
        for entry in proc.fds.entries.values():
            if entry.file.walk is not None and entry.file.walk[0].fs is old_fs:
                entry.file.walk = rebased(entry.file.walk)


def unshare(vfs: Vfs, pid: int) -> int:
    """Process ``pid`` gets its own copy of its mount namespace (unshare, or clone with
    CLONE_NEWNS: then the child's copy)."""
    proc = vfs.state.procs.get(pid)
    if proc is not None:
        vfs.state.mount_namespaces += 1
        proc.ns = proc.namespace(vfs.state.namespace).copy(
            MNT_FIRST_INO + vfs.state.mount_namespaces)
    return 0


def setns(vfs: Vfs, proc: Proc, fd: int, nstype: int) -> NsTarget:
    """setns(2): ``fd`` must be a namespace file (/proc/<pid>/ns/*: EINVAL for any other
    file) of type ``nstype`` (0: any), then the caller needs CAP_SYS_ADMIN. Joining a
    mount namespace, which needs CAP_SYS_CHROOT too, is done here, and puts the caller
    at its root, as Linux does."""
    file = proc.fds.get(fd)
    node = file.walk[-1].node if file.walk is not None else None
    if not isinstance(node, ProcNode) or node.kind != "nsfile":
        raise KernelError(Errno.EINVAL, f"fd {fd} is not a namespace file")
    flag = NS_FLAGS.get(node.name.partition(":[")[0], 0)
    if not flag or (nstype and nstype != flag):
        raise KernelError(Errno.EINVAL, f"fd {fd} is not a namespace of type {nstype:#x}")
    _may_mount(proc)  # (CAP_SYS_ADMIN, which every namespace asks of a joiner)
    if flag == CloneFlag.NEWNS:
        if not proc.who.capable(CAP_SYS_CHROOT):
            raise KernelError(Errno.EPERM, "joining a mount namespace needs CAP_SYS_CHROOT")
        target = vfs.state.procs.get(node.pid)
        if target is None:
            raise KernelError(Errno.EINVAL, "the namespace's process is gone")
        proc.ns, proc.root = target.ns, None
        proc.cwd = proc.namespace(vfs.state.namespace).root()
    return NsTarget(flag, node.pid)
