"""File permissions: Linux's discretionary access control, as the VFS checks it.

Owns: who a process is to the file system (``Who``: the ids and capabilities the
personality tells the VFS, abi/vfs.py ``Credentials``), and the checks of
path_resolution(7) and the man pages of each call: search on every directory walked,
read/write/execute on the file opened, write and search on the directory whose entries
change, the sticky bit, and the owner-only changes (chmod, chown, explicit times), with
root's capability overrides (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
CAP_CHOWN, CAP_FSETID).
Never: decides who a process is (linux/creds.py does), or reads a path.
Called by: the VFS server (server.py) and the name walk (paths.py).
"""

from __future__ import annotations

import stat

from cloudos.abi.dataclass import dataclass
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fs import Attr

# capability bits (capabilities(7)); the personality's creds.py names them all
CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID = 0, 1, 2, 3, 4
CAP_MKNOD = 27
EVERY_CAP = (1 << 41) - 1
MAY_EXEC, MAY_WRITE, MAY_READ = 1, 2, 4


@dataclass(frozen=True)
class Who:
    """A process as the file system sees it."""

    uid: int = 0      # real ids: access(2) checks with them
    gid: int = 0
    fsuid: int = 0    # file-system ids: every other check, and new files' owner
    fsgid: int = 0
    groups: tuple[int, ...] = ()
    caps: int = EVERY_CAP

    def capable(self, cap: int) -> bool:
        return bool(self.caps >> cap & 1)

    def in_group(self, gid: int) -> bool:
        return gid == self.fsgid or gid in self.groups

    def owns(self, attr: Attr) -> bool:
        return self.fsuid == attr.uid

    def real(self) -> Who:
        """The same process with its real ids, for access(2): a real root keeps its
        capabilities, anyone else has none."""
        return Who(self.uid, self.gid, self.uid, self.gid, self.groups,
                   EVERY_CAP if self.uid == 0 else 0)


ROOT = Who()


def check(who: Who, attr: Attr, want: int) -> None:
    """EACCES unless ``who`` may ``want`` (MAY_* bits) the node ``attr`` describes."""
    if not allowed(who, attr, want):
        raise KernelError(Errno.EACCES, "permission denied")


def check_search(who: Who, attr: Attr) -> None:
    """``check(who, attr, MAY_EXEC)`` for a directory a walk goes through: a mode that
    lets owner, group and others all search lets anyone (whichever class ``who`` falls
    in, its bits have x), and most directories have it: nothing more to ask then."""
    if attr.mode & 0o111 != 0o111 and not allowed(who, attr, MAY_EXEC):
        raise KernelError(Errno.EACCES, "permission denied")


def allowed(who: Who, attr: Attr, want: int) -> bool:
    mode = attr.mode
    if who.fsuid == attr.uid:
        granted = mode >> 6
    elif who.in_group(attr.gid):
        granted = mode >> 3
    else:
        granted = mode
    if granted & want == want:
        return True
    is_dir = stat.S_ISDIR(mode)
    if who.capable(CAP_DAC_OVERRIDE) and (is_dir or not want & MAY_EXEC or mode & 0o111):
        return True
    return who.capable(CAP_DAC_READ_SEARCH) and not want & MAY_WRITE and \
        (is_dir or not want & MAY_EXEC)


def check_delete(who: Who, dir_attr: Attr, victim: Attr) -> None:
    """Removing or renaming ``victim`` out of a directory: write and search on it, and
    in a sticky directory, owning the file or the directory (or CAP_FOWNER)."""
    check(who, dir_attr, MAY_WRITE | MAY_EXEC)
    if dir_attr.mode & stat.S_ISVTX and not who.owns(victim) and not who.owns(dir_attr) \
            and not who.capable(CAP_FOWNER):
        raise KernelError(Errno.EPERM, "sticky directory: not the owner")


def check_owner(who: Who, attr: Attr) -> None:
    """chmod, explicit times, O_NOATIME: the owner or CAP_FOWNER, else EPERM."""
    if not who.owns(attr) and not who.capable(CAP_FOWNER):
        raise KernelError(Errno.EPERM, "not the owner")


def chmod_mode(who: Who, attr: Attr, mode: int) -> int:
    """The mode chmod sets: the owner's change, set-group-ID dropped when the caller is
    not in the file's group and lacks CAP_FSETID."""
    check_owner(who, attr)
    if mode & stat.S_ISGID and not who.in_group(attr.gid) and not who.capable(CAP_FSETID):
        mode &= ~stat.S_ISGID
    return stat.S_IFMT(attr.mode) | mode


def chown_ids(who: Who, attr: Attr, uid: int, gid: int) -> tuple[int | None, int | None, int]:
    """What chown changes (uid, gid: None keeps) and the mode after it: only CAP_CHOWN
    gives a file away; the owner may pick one of its own groups. Set-user-ID and (with
    group execute) set-group-ID of a non-directory are cleared, by root too."""
    new_uid = None if uid == -1 else uid
    new_gid = None if gid == -1 else gid
    if not who.capable(CAP_CHOWN):
        if new_uid is not None and not (who.owns(attr) and new_uid == attr.uid):
            raise KernelError(Errno.EPERM, "only CAP_CHOWN gives a file away")
        if new_gid is not None and not (who.owns(attr) and (new_gid == attr.gid
                                                             or who.in_group(new_gid))):
            raise KernelError(Errno.EPERM, "not the owner, or not one of its groups")
    mode = attr.mode
    if not stat.S_ISDIR(mode):
        mode &= ~stat.S_ISUID
        if mode & stat.S_IXGRP:
            mode &= ~stat.S_ISGID
    return new_uid, new_gid, mode


def new_owner(who: Who, parent: Attr, mode: int) -> tuple[int, int, int]:
    """The owner, group and mode of a file made in ``parent``: the fs ids, or the
    directory's group when it is set-group-ID (a new directory inherits the bit)."""
    if parent.mode & stat.S_ISGID:
        if stat.S_ISDIR(mode):
            mode |= stat.S_ISGID
        return who.fsuid, parent.gid, mode
    if mode & stat.S_ISGID and not stat.S_ISDIR(mode) and not who.in_group(who.fsgid) \
            and not who.capable(CAP_FSETID):
        mode &= ~stat.S_ISGID
    return who.fsuid, who.fsgid, mode
