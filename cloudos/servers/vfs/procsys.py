"""procsys: /proc/sys, the machine's tunables as files (for procfs, which mounts them).

Owns: which files /proc/sys has and their modes (the tunables of ``cloudos.abi.sysctl``
and the files whose values live elsewhere: uname's names, the UTS namespace's, the
VFS's open-file count and limit, the boot and random UUIDs), what each reads, and a
write's checks (proc_sys_permission: root by effective uid gets the owner's bits,
others the others'; EINVAL for a bad value; a write past offset 0 changes nothing,
as sysctl_writes_strict).
Never: keeps a value itself (the machine's ``Sysctl`` record, the personality's UTS
namespaces and the VFS's ``OpenFiles`` do).
Called by: procfs, for the nodes below /proc/sys.
"""

from __future__ import annotations

import os
from typing import Callable, Protocol

from cloudos.abi import sysctl
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.files import OpenFiles


class SysView(Protocol):
    """What /proc/sys needs of the machine."""

    def sysctl(self) -> sysctl.Sysctl: ...  # the machine's tunables
    def uts(self, pid: int) -> tuple[bytes, bytes]: ...  # node and domain name of its namespace
    def set_uts(self, pid: int, nodename: bytes | None, domainname: bytes | None) -> None: ...
    def release(self) -> tuple[bytes, bytes]: ...  # uname's release and version


# The files that are not plain tunables: what they show comes from elsewhere, with the
# mode Linux gives them
DYNAMIC = {"kernel/ostype": 0o444, "kernel/osrelease": 0o444, "kernel/version": 0o444,
           "kernel/hostname": 0o644, "kernel/domainname": 0o644,
           "kernel/random/boot_id": 0o444, "kernel/random/uuid": 0o444,
           "fs/file-max": 0o644, "fs/file-nr": 0o444}
MODES = {**{t.path: t.mode for t in sysctl.TUNABLES}, **DYNAMIC}
DIRS = {"", *(path.rsplit("/", 1)[0] if "/" in path else "" for path in MODES),
        *(path.split("/", 1)[0] for path in MODES)}
UTS_MAX = 64  # __NEW_UTS_LEN: proc_do_uts_string keeps at most 64 bytes
FILE_MAX = (1 << 63) - 1  # LONG_MAX: fs.file-max's bound


def children(path: str) -> list[str]:
    """The names in the directory ``path`` ("" for /proc/sys itself)."""
    prefix = f"{path}/" if path else ""
    return sorted({p[len(prefix):].split("/", 1)[0] for p in (*DIRS, *MODES)
                   if p.startswith(prefix) and p != path})


class SysFiles:
    """The contents of /proc/sys's files, read and written for the calling process."""

    def __init__(self, view: SysView, caller: Callable[[], int]) -> None:
        self.view, self.caller = view, caller
        self.boot_id = _uuid4()  # one per boot, as random/boot_id

    def read(self, path: str) -> bytes:
        if path not in DYNAMIC:
            return self.view.sysctl().show(path)
        release, version = self.view.release()
        nodename, domainname = self.view.uts(self.caller())
        return {"kernel/ostype": lambda: b"Linux", "kernel/osrelease": lambda: release,
                "kernel/version": lambda: version, "kernel/hostname": lambda: nodename,
                "kernel/domainname": lambda: domainname,
                "kernel/random/boot_id": lambda: self.boot_id,
                "kernel/random/uuid": _uuid4,
                "fs/file-max": lambda: str(OpenFiles.limit).encode(),
                "fs/file-nr": lambda: f"{OpenFiles.count}\t0\t{OpenFiles.limit}".encode(),
                }[path]() + b"\n"

    @staticmethod
    def check_writable(path: str, euid: int | None) -> None:
        """EACCES unless a writer of effective uid ``euid`` may write ``path`` by its mode,
        as Linux's proc_sys_permission (the files are root's: root gets the owner's bits)."""
        mode = MODES.get(path, 0)
        if not (mode >> 6 if euid == 0 else mode) & 0o2:
            raise KernelError(Errno.EACCES, f"/proc/sys/{path} is not writable")

    def write(self, path: str, offset: int, data: bytes) -> int:
        """What a write of ``data`` at ``offset`` does (the caller checked the mode)."""
        if offset:  # sysctl_writes_strict: a write past the start changes nothing
            return len(data)
        try:
            if path in ("kernel/hostname", "kernel/domainname"):  # the writer's namespace
                name = data.split(b"\n", 1)[0][:UTS_MAX]
                self.view.set_uts(self.caller(), *((name, None) if path.endswith("hostname")
                                                   else (None, name)))
            elif path == "fs/file-max":
                OpenFiles.limit = int(sysctl.parse(sysctl.Tunable(path, 0, high=FILE_MAX),
                                                   data))
            else:
                self.view.sysctl().write(path, data)
        except ValueError as err:
            raise KernelError(Errno.EINVAL, f"/proc/sys/{path}: {err}") from None
        return len(data)


def _uuid4() -> bytes:
    """A random (version 4) UUID as text, as Linux's random/uuid gives (the standard
    uuid module would cost ~3 ms of every start: it imports platform)."""
    b = bytearray(os.urandom(16))
    b[6], b[8] = b[6] & 0x0F | 0x40, b[8] & 0x3F | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()
