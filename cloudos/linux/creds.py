"""A process's credentials and Linux's rules for changing them.

Owns: the real, effective, saved and file-system user and group ids, the supplementary
groups and the capability sets of a process (credentials(7), capabilities(7)), and what
each set*id call, capset and execve do to them, with the legacy "root is privileged"
rules: a process whose effective uid becomes 0 gains its permitted capabilities, one
that leaves uid 0 for good loses them.
Never: checks a file's permissions (the VFS does, with the ids it is told).
Called by: ``syscalls.sys_proc`` (the calls), ``process`` (fork, spawn), ``sys_fork``
(execve), the syscalls that need a privilege (``capable``).
"""

from __future__ import annotations


from cloudos.abi.dataclass import dataclass, replace
from cloudos.errno import Errno, KernelError

# capabilities(7), by bit number
CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID = 0, 1, 2, 3, 4
CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP = 5, 6, 7, 8
CAP_LINUX_IMMUTABLE, CAP_NET_BIND_SERVICE, CAP_IPC_OWNER = 9, 10, 15
CAP_SYS_CHROOT, CAP_SYS_PTRACE = 18, 19
CAP_SYS_ADMIN, CAP_SYS_NICE, CAP_SYS_RESOURCE, CAP_MKNOD = 21, 23, 24, 27
CAP_SYSLOG = 34
CAP_MAC_OVERRIDE = 32
CAP_LAST_CAP = 40  # CAP_CHECKPOINT_RESTORE, the last of Linux 6.x
ALL_CAPS = (1 << (CAP_LAST_CAP + 1)) - 1
# The capabilities a file-system uid of 0 carries (cap_fs_mask): they follow fsuid.
FS_CAPS = sum(1 << c for c in (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
                               CAP_FSETID, CAP_LINUX_IMMUTABLE, CAP_MKNOD, CAP_MAC_OVERRIDE))
NGROUPS_MAX = 65536
KEEP = -1  # an id argument that keeps the current value


@dataclass(frozen=True)
class Creds:
    """Who a process is. Immutable: a change makes new credentials (as Linux's cred)."""

    uid: int
    euid: int
    suid: int
    fsuid: int
    gid: int
    egid: int
    sgid: int
    fsgid: int
    groups: tuple[int, ...] = ()
    effective: int = 0
    permitted: int = 0
    inheritable: int = 0
    bounding: int = ALL_CAPS
    keep_caps: bool = False  # SECBIT_KEEP_CAPS: leaving uid 0 keeps the permitted set

    @classmethod
    def of(cls, uid: int, gid: int) -> Creds:
        """A first process's credentials: root holds every capability."""
        caps = ALL_CAPS if uid == 0 else 0
        return cls(uid, uid, uid, uid, gid, gid, gid, gid, (), caps, caps, 0)

    def capable(self, cap: int) -> bool:
        return bool(self.effective >> cap & 1)

    def in_group(self, gid: int) -> bool:
        return gid == self.fsgid or gid in self.groups


def _check(ids: tuple[int, ...], allowed: tuple[int, ...]) -> None:
    if any(i != KEEP and i not in allowed for i in ids):
        raise KernelError(Errno.EPERM, "that id needs CAP_SETUID/CAP_SETGID")


def _valid(ids: tuple[int, ...]) -> None:
    if any(i < KEEP or i > 0xFFFFFFFE for i in ids):
        raise KernelError(Errno.EINVAL, "id out of range")


def _fix_caps(old: Creds, new: Creds) -> Creds:
    """What a uid change does to the capability sets (capabilities(7), "Effect of
    user ID changes on capabilities")."""
    effective, permitted = new.effective, new.permitted
    if 0 in (old.uid, old.euid, old.suid) and 0 not in (new.uid, new.euid, new.suid):
        effective = 0
        if not new.keep_caps:
            permitted = 0
    if old.euid == 0 and new.euid != 0:
        effective = 0
    if old.euid != 0 and new.euid == 0:
        effective = permitted
    if old.fsuid == 0 and new.fsuid != 0:
        effective &= ~FS_CAPS
    if old.fsuid != 0 and new.fsuid == 0:
        effective |= permitted & FS_CAPS
    return replace(new, effective=effective, permitted=permitted)


def setresuid(c: Creds, r: int, e: int, s: int) -> Creds:
    _valid((r, e, s))
    if not c.capable(CAP_SETUID):
        _check((r, e, s), (c.uid, c.euid, c.suid))
    uid = c.uid if r == KEEP else r
    euid = c.euid if e == KEEP else e
    suid = c.suid if s == KEEP else s
    return _fix_caps(c, replace(c, uid=uid, euid=euid, suid=suid, fsuid=euid))


def setreuid(c: Creds, r: int, e: int) -> Creds:
    _valid((r, e))
    if not c.capable(CAP_SETUID):
        _check((r,), (c.uid, c.euid))
        _check((e,), (c.uid, c.euid, c.suid))
    uid = c.uid if r == KEEP else r
    euid = c.euid if e == KEEP else e
    suid = euid if r != KEEP or (e != KEEP and e != c.uid) else c.suid
    return _fix_caps(c, replace(c, uid=uid, euid=euid, suid=suid, fsuid=euid))


def setuid(c: Creds, u: int) -> Creds:
    if u == KEEP:
        raise KernelError(Errno.EINVAL, "uid -1")
    _valid((u,))
    if c.capable(CAP_SETUID):
        new = replace(c, uid=u, euid=u, suid=u, fsuid=u)
    else:
        _check((u,), (c.uid, c.suid))
        new = replace(c, euid=u, fsuid=u)
    return _fix_caps(c, new)


def setfsuid(c: Creds, u: int) -> Creds:
    """setfsuid never fails: it changes the id when it may and reports the old one."""
    if c.capable(CAP_SETUID) or u in (c.uid, c.euid, c.suid, c.fsuid):
        return _fix_caps(c, replace(c, fsuid=u)) if 0 <= u <= 0xFFFFFFFE else c
    return c


def setresgid(c: Creds, r: int, e: int, s: int) -> Creds:
    _valid((r, e, s))
    if not c.capable(CAP_SETGID):
        _check((r, e, s), (c.gid, c.egid, c.sgid))
    egid = c.egid if e == KEEP else e
    return replace(c, gid=c.gid if r == KEEP else r, egid=egid,
                   sgid=c.sgid if s == KEEP else s, fsgid=egid)


def setregid(c: Creds, r: int, e: int) -> Creds:
    _valid((r, e))
    if not c.capable(CAP_SETGID):
        _check((r,), (c.gid, c.egid))
        _check((e,), (c.gid, c.egid, c.sgid))
    egid = c.egid if e == KEEP else e
    sgid = egid if r != KEEP or (e != KEEP and e != c.gid) else c.sgid
    return replace(c, gid=c.gid if r == KEEP else r, egid=egid, sgid=sgid, fsgid=egid)


def setgid(c: Creds, g: int) -> Creds:
    if g == KEEP:
        raise KernelError(Errno.EINVAL, "gid -1")
    _valid((g,))
    if c.capable(CAP_SETGID):
        return replace(c, gid=g, egid=g, sgid=g, fsgid=g)
    _check((g,), (c.gid, c.sgid))
    return replace(c, egid=g, fsgid=g)


def setfsgid(c: Creds, g: int) -> Creds:
    if c.capable(CAP_SETGID) or g in (c.gid, c.egid, c.sgid, c.fsgid):
        return replace(c, fsgid=g) if 0 <= g <= 0xFFFFFFFE else c
    return c


def setgroups(c: Creds, groups: tuple[int, ...]) -> Creds:
    if not c.capable(CAP_SETGID):
        raise KernelError(Errno.EPERM, "setgroups needs CAP_SETGID")
    return replace(c, groups=tuple(sorted(set(groups))))


def capset(c: Creds, effective: int, permitted: int, inheritable: int) -> Creds:
    """capset(2) on oneself: nothing gained that is not permitted."""
    bound = c.permitted if not c.capable(CAP_SETPCAP) else ALL_CAPS
    if inheritable & ~(c.inheritable | bound) or permitted & ~c.permitted \
            or effective & ~permitted:
        raise KernelError(Errno.EPERM, "capabilities beyond the permitted set")
    return replace(c, effective=effective, permitted=permitted, inheritable=inheritable)


def execve(c: Creds, set_uid: int | None = None, set_gid: int | None = None) -> Creds:
    """The credentials after execve of a program, set-user-ID to ``set_uid`` and
    set-group-ID to ``set_gid`` when its mode says so: the saved ids become the
    effective ones; root (real or effective) gets the full permitted set."""
    euid = c.euid if set_uid is None else set_uid
    egid = c.egid if set_gid is None else set_gid
    if 0 in (c.uid, euid):
        permitted = (c.inheritable | c.bounding) & ALL_CAPS
    else:
        permitted = 0  # no file capabilities, no ambient set
    effective = permitted if euid == 0 else 0
    return replace(c, euid=euid, suid=euid, fsuid=euid, egid=egid, sgid=egid, fsgid=egid,
                   permitted=permitted, effective=effective, keep_caps=False)
