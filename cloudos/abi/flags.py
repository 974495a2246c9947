"""Linux x86_64 flag words: open(2), the *at calls, renameat2(2), fallocate(2), mmap(2), clone(2),
fcntl(2), flock(2), mount(2) and umount2(2).

Owns the bits of each flag argument, named once (asm-generic/fcntl.h, fcntl.h,
linux/fs.h, linux/falloc.h, asm/mman.h, sched.h), as ``IntFlag`` classes.
Hot paths (every read and write tests an open file's access mode) bind the values
as plain ints (``int(OpenFlag.NONBLOCK)``): arithmetic on an ``IntFlag`` member
costs about 0.6 us an operation, on an int 0.02 us.
Never: decides what a flag means; the personality and the servers do.
"""

from __future__ import annotations

from cloudos.abi.enums import IntEnum, IntFlag


AT_FDCWD = -100  # a dirfd: the working directory


class OpenFlag(IntFlag):
    """open(2)'s flags: the access mode (ACCMODE's bits), creation and status flags."""

    RDONLY = 0
    WRONLY = 0o1
    RDWR = 0o2
    ACCMODE = 0o3
    CREAT = 0o100
    EXCL = 0o200
    NOCTTY = 0o400
    TRUNC = 0o1000
    APPEND = 0o2000
    NONBLOCK = 0o4000
    DSYNC = 0o10000
    ASYNC = 0o20000  # FASYNC: SIGIO to the file's owner when I/O is possible
    DIRECT = 0o40000
    LARGEFILE = 0o100000
    DIRECTORY = 0o200000
    NOFOLLOW = 0o400000
    NOATIME = 0o1000000
    CLOEXEC = 0o2000000
    SYNC = 0o4010000  # __O_SYNC | O_DSYNC
    PATH = 0o10000000
    TMPFILE = 0o20200000  # __O_TMPFILE | O_DIRECTORY


class AtFlag(IntFlag):
    """The flags of the *at calls (fstatat, unlinkat, linkat, ...)."""

    SYMLINK_NOFOLLOW = 0x100
    REMOVEDIR = 0x200
    EACCESS = 0x200  # faccessat: the effective ids (the same bit as REMOVEDIR)
    SYMLINK_FOLLOW = 0x400
    EMPTY_PATH = 0x1000


class ResolveFlag(IntFlag):
    """openat2(2)'s struct open_how ``resolve``: limits on the path walk."""

    NO_XDEV = 0x01  # cross no mount point (EXDEV)
    NO_MAGICLINKS = 0x02  # follow no /proc/<pid>/fd/N-like link (ELOOP)
    NO_SYMLINKS = 0x04  # follow no symbolic link at all (ELOOP)
    BENEATH = 0x08  # never leave the starting directory (EXDEV)
    IN_ROOT = 0x10  # the starting directory is "/" for this walk
    CACHED = 0x20  # only what the dentry cache holds (EAGAIN otherwise)


class MembarrierCmd(IntFlag):
    """membarrier(2)'s commands (one at a time; QUERY answers the set of them)."""

    QUERY = 0
    GLOBAL = 1 << 0
    GLOBAL_EXPEDITED = 1 << 1
    REGISTER_GLOBAL_EXPEDITED = 1 << 2
    PRIVATE_EXPEDITED = 1 << 3
    REGISTER_PRIVATE_EXPEDITED = 1 << 4
    PRIVATE_EXPEDITED_SYNC_CORE = 1 << 5
    REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 6
    PRIVATE_EXPEDITED_RSEQ = 1 << 7
    REGISTER_PRIVATE_EXPEDITED_RSEQ = 1 << 8
    GET_REGISTRATIONS = 1 << 9


class RenameFlag(IntFlag):
    """renameat2(2)'s flags."""

    NOREPLACE = 1
    EXCHANGE = 2
    WHITEOUT = 4


class FallocFlag(IntFlag):
    """fallocate(2)'s modes (linux/falloc.h)."""

    KEEP_SIZE = 0x01
    PUNCH_HOLE = 0x02
    NO_HIDE_STALE = 0x04
    COLLAPSE_RANGE = 0x08
    ZERO_RANGE = 0x10
    INSERT_RANGE = 0x20
    UNSHARE_RANGE = 0x40
    WRITE_ZEROES = 0x80


class InotifyMask(IntFlag):
    """inotify's event bits and watch flags (<sys/inotify.h>): what inotify_add_watch asks
    for and what each struct inotify_event's mask says."""

    ACCESS = 0x001
    MODIFY = 0x002
    ATTRIB = 0x004
    CLOSE_WRITE = 0x008
    CLOSE_NOWRITE = 0x010
    OPEN = 0x020
    MOVED_FROM = 0x040
    MOVED_TO = 0x080
    CREATE = 0x100
    DELETE = 0x200
    DELETE_SELF = 0x400
    MOVE_SELF = 0x800
    ALL_EVENTS = 0xFFF
    UNMOUNT = 0x2000
    Q_OVERFLOW = 0x4000
    IGNORED = 0x8000
    ONLYDIR = 0x0100_0000
    DONT_FOLLOW = 0x0200_0000
    EXCL_UNLINK = 0x0400_0000
    MASK_CREATE = 0x1000_0000
    MASK_ADD = 0x2000_0000
    ISDIR = 0x4000_0000
    ONESHOT = 0x8000_0000


class DnotifyMask(IntFlag):
    """fcntl(F_NOTIFY)'s events of a directory (dnotify, <fcntl.h>)."""

    ACCESS = 0x01
    MODIFY = 0x02
    CREATE = 0x04
    DELETE = 0x08
    RENAME = 0x10
    ATTRIB = 0x20
    MULTISHOT = 0x8000_0000


class MapFlag(IntFlag):
    """mmap(2)'s flags: the mapping's type (TYPE's bits) and the rest."""

    SHARED = 0x01
    PRIVATE = 0x02
    SHARED_VALIDATE = 0x03
    TYPE = 0x0F
    FIXED = 0x10
    ANONYMOUS = 0x20
    GROWSDOWN = 0x0100
    DENYWRITE = 0x0800
    EXECUTABLE = 0x1000
    LOCKED = 0x2000
    NORESERVE = 0x4000
    POPULATE = 0x8000
    NONBLOCK = 0x10000
    STACK = 0x20000
    HUGETLB = 0x40000
    SYNC = 0x80000
    FIXED_NOREPLACE = 0x100000
    HUGE_SIZE = 0x3F << 26  # MAP_HUGE_SHIFT's field: the huge page size


class CloneFlag(IntFlag):
    """clone(2)'s flags (the low byte is the signal sent to the parent at exit)."""

    CSIGNAL = 0xFF
    VM = 0x100
    FS = 0x200
    FILES = 0x400
    SIGHAND = 0x800
    PIDFD = 0x1000
    PTRACE = 0x2000
    VFORK = 0x4000
    PARENT = 0x8000
    THREAD = 0x10000
    NEWNS = 0x20000
    SYSVSEM = 0x40000
    SETTLS = 0x80000
    PARENT_SETTID = 0x100000
    CHILD_CLEARTID = 0x200000
    DETACHED = 0x400000
    UNTRACED = 0x800000
    CHILD_SETTID = 0x1000000
    NEWCGROUP = 0x2000000
    NEWUTS = 0x4000000
    NEWIPC = 0x8000000
    NEWUSER = 0x10000000
    NEWPID = 0x20000000
    NEWNET = 0x40000000
    IO = 0x80000000
    CLEAR_SIGHAND = 1 << 32  # clone3 only: the child's handlers reset to SIG_DFL
    INTO_CGROUP = 1 << 33  # clone3 only: the child starts in clone_args.cgroup


class FcntlCmd(IntEnum):
    """fcntl(2)'s commands (asm-generic/fcntl.h, linux/fcntl.h; x86_64's 64-bit flock)."""

    DUPFD, GETFD, SETFD, GETFL, SETFL = 0, 1, 2, 3, 4
    GETLK, SETLK, SETLKW = 5, 6, 7
    SETOWN, GETOWN, SETSIG, GETSIG = 8, 9, 10, 11
    SETOWN_EX, GETOWN_EX, GETOWNER_UIDS = 15, 16, 17
    OFD_GETLK, OFD_SETLK, OFD_SETLKW = 36, 37, 38
    SETLEASE, GETLEASE, NOTIFY = 1024, 1025, 1026
    DUPFD_CLOEXEC = 1030
    SETPIPE_SZ, GETPIPE_SZ = 1031, 1032
    ADD_SEALS, GET_SEALS = 1033, 1034


class LockType(IntEnum):
    """struct flock's l_type."""

    RDLCK, WRLCK, UNLCK = 0, 1, 2


class OwnerType(IntEnum):
    """struct f_owner_ex's type (F_SETOWN_EX, F_GETOWN_EX)."""

    TID, PID, PGRP = 0, 1, 2


class FlockOp(IntFlag):
    """flock(2)'s operation."""

    SH = 1
    EX = 2
    NB = 4
    UN = 8
    MAND = 32  # Linux ignores a request with it (and warns once)


class SpliceFlag(IntFlag):
    """splice(2), tee(2), vmsplice(2) flags (linux/splice.h)."""

    MOVE = 0x01  # a hint: move pages rather than copy
    NONBLOCK = 0x02  # do not wait for the pipe (the other file may still block)
    MORE = 0x04  # a hint: more data follows
    GIFT = 0x08  # vmsplice: the pages are given to the pipe


SPLICE_F_ALL = int(SpliceFlag.MOVE | SpliceFlag.NONBLOCK | SpliceFlag.MORE | SpliceFlag.GIFT)


class StatfsFlag(IntFlag):
    """statfs(2)'s f_flags (linux/statfs.h): the mount's flags, and VALID to say so."""

    RDONLY = 1
    NOSUID = 2
    NODEV = 4
    NOEXEC = 8
    SYNCHRONOUS = 16
    VALID = 32  # f_flags is filled in (Linux 2.6.36 on); glibc's statvfs takes it off
    MANDLOCK = 64
    NOSYMFOLLOW = 256
    NOATIME = 1024
    NODIRATIME = 2048
    RELATIME = 4096


class MountFlag(IntFlag):
    """mount(2)'s flags (linux/mount.h)."""

    RDONLY = 1
    NOSUID = 2
    NODEV = 4
    NOEXEC = 8
    SYNCHRONOUS = 16
    REMOUNT = 32
    MANDLOCK = 64
    DIRSYNC = 128
    NOSYMFOLLOW = 256
    NOATIME = 1024
    NODIRATIME = 2048
    BIND = 4096
    MOVE = 8192
    REC = 16384
    SILENT = 32768
    UNBINDABLE = 1 << 17
    PRIVATE = 1 << 18
    SLAVE = 1 << 19
    SHARED = 1 << 20
    RELATIME = 1 << 21
    STRICTATIME = 1 << 24
    LAZYTIME = 1 << 25
    MGC_VAL = 0xC0ED0000  # the old magic number in the high half: ignored
    MGC_MSK = 0xFFFF0000


class UmountFlag(IntFlag):
    """umount2(2)'s flags."""

    FORCE = 1
    DETACH = 2
    EXPIRE = 4
    NOFOLLOW = 8
