"""sandbox: what a guest sees of the host, as data, and the namespace built from it.

Owns: the default root (the host's system directories, read-only, less their
secrets, under a writable tmpfs, with empty /tmp, /var/tmp, /home and /root),
image roots (``--root DIR``), the host directories a user shares (``--mount``,
the caller's directory), the rule that decides which host entries the
default root hides, and the table ``cloudos run --show-mounts`` prints.
Never: shows a host path the user did not name outside ``SYSTEM_DIRS``, or
anything ``HIDDEN`` or private (not readable by every host user) inside them.
Called by: ``machine`` (``default_namespace``) and the CLI (the table, and the
check of the caller's directory).

Why "readable by every host user": a file the host keeps from its ordinary
users (/etc/shadow 0640, SSH host keys 0600, /etc/ssl/private 0710) is one an
unprivileged guest should not see either, and the guest may well be root.
``HIDDEN`` adds what is readable yet private or identifying, and names the
usual secrets again so the policy holds on a host whose modes are wrong.
"""

from __future__ import annotations

import os
import stat
from fnmatch import fnmatchcase

from cloudos.abi.dataclass import dataclass
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.devfs import DevFs
from cloudos.servers.vfs.devpts import DevPts
from cloudos.servers.vfs.filterfs import FilterFs
from cloudos.servers.vfs.fs import Attr, FileSystem
from cloudos.servers.vfs.hostfs import HostFs
from cloudos.servers.vfs.overlay import OverlayFs
from cloudos.servers.vfs.paths import Namespace
from cloudos.servers.vfs.tmpfs import TmpFs

# The host's top-level directories the default root shows (read-only, filtered).
SYSTEM_DIRS = ("bin", "etc", "lib", "lib32", "lib64", "libx32", "sbin", "usr")

# Host paths the default root hides, whatever their mode: (pattern, why).
HIDDEN: tuple[tuple[str, str], ...] = (
    ("/etc/shadow*", "password hashes"),
    ("/etc/gshadow*", "group password hashes"),
    ("/etc/sudoers*", "who may become root"),
    ("/etc/security/opasswd", "old password hashes"),
    ("/etc/ssh/*_key", "the SSH server's private keys"),
    ("/etc/ssl/private", "private TLS keys"),
    ("/etc/pki/tls/private", "private TLS keys"),
    ("/etc/letsencrypt", "certificates' private keys"),
    ("/etc/krb5.keytab", "Kerberos keys"),
    ("/etc/ipsec.secrets", "VPN keys"),
    ("/etc/wireguard", "VPN keys"),
    ("/etc/openvpn", "VPN keys"),
    ("/etc/ppp/*-secrets", "dial-up passwords"),
    ("/etc/NetworkManager/system-connections", "Wi-Fi and VPN passwords"),
    ("/etc/mysql/debian.cnf", "the database maintenance password"),
    ("/etc/apt/auth.conf*", "package repository credentials"),
    ("/etc/machine-id", "an identifier unique to this host (dbus, journald)"),
)

# Empty directories of the default root (they live in its tmpfs): (path, mode).
EMPTY_DIRS = (("/tmp", 0o1777), ("/var", 0o755), ("/var/tmp", 0o1777), ("/home", 0o755),
              ("/root", 0o700))


def hidden_path(path: bytes) -> bool:
    """Whether the default root hides the host's ``path`` (b"/etc/shadow") by its name."""
    if path.count(b"/") == 1 and path[1:].decode(errors="replace") not in SYSTEM_DIRS:
        return True
    return any(fnmatchcase(path, pattern.encode()) for pattern, _ in HIDDEN)


def hidden(path: bytes, attr: Attr) -> bool:
    """Whether the default root hides the host's ``path``, a file others may not read."""
    kind = stat.S_IFMT(attr.mode)
    if kind == stat.S_IFDIR:  # others must be able to list and enter it
        return attr.mode & 0o005 != 0o005
    if kind == stat.S_IFREG:
        return not attr.mode & 0o004
    return False  # symlinks resolve in the guest; hostfs opens no device


@dataclass(frozen=True)
class Mount:
    """A host directory shown to the guest at ``guest`` (read-only unless ``writable``)."""

    host: str
    guest: str
    writable: bool = False

    @classmethod
    def parse(cls, spec: str) -> Mount:
        """HOSTDIR:GUESTDIR[:rw|:ro]; HOSTDIR[:rw|:ro] alone shows it at the same path."""
        parts = spec.split(":")
        if len(parts) == 1 or len(parts) == 2 and parts[1] in ("rw", "ro"):
            parts.insert(1, os.path.abspath(parts[0]) if parts[0] else "")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/") \
                or (len(parts) == 3 and parts[2] not in ("rw", "ro")):
            raise ValueError(f"mount {spec!r} is not HOSTDIR[:/GUESTDIR][:rw|:ro]")
        guest = os.path.normpath(parts[1])
        return cls(os.path.abspath(parts[0]), guest, len(parts) == 3 and parts[2] == "rw")


@dataclass(frozen=True)
class Sandbox:
    """What one machine shows: its root, then ``mounts`` in order (later ones on top)."""

    root: str | None = None   # an image's root directory; None: the host's system dirs
    root_writable: bool = False  # writes to ``root`` reach the host (else a tmpfs takes them)
    mounts: tuple[Mount, ...] = ()

    def table(self) -> list[tuple[str, str, str]]:
        """(guest path, what is there, access) for every mount, the root first."""
        if self.root is None:
            dirs = ", ".join(f"/{d}" for d in SYSTEM_DIRS)
            rows = [("/", f"tmpfs over the host's {dirs} (less HIDDEN)", "rw, writes stay")]
            rows += [(path, "empty directory", f"{mode:o}") for path, mode in EMPTY_DIRS]
        elif self.root_writable:
            rows = [("/", f"host {self.root}", "rw, writes reach the host")]
        else:
            rows = [("/", f"tmpfs over host {self.root}", "rw, writes stay")]
        rows += [("/dev", "devfs (null, zero, full, random, urandom, tty, ptmx, fds)", "rw"),
                 ("/dev/shm", "tmpfs", "rw"), ("/dev/pts", "devpts (pseudo-terminals)", "rw"),
                 ("/proc", "procfs (the guest's processes)", "ro"),
                 ("/sys", "sysfs (the machine's CPUs)", "ro")]
        rows += [(m.guest, f"host {m.host}", "rw, writes reach the host" if m.writable
                  else "ro") for m in self.mounts]
        return rows

    def namespace(self) -> Namespace:
        """The guest's mount table (/proc and /sys are the machine's to add); KernelError or OSError
        when a host directory cannot be shown or a mount point cannot be made."""
        namespace = Namespace(self._root_fs())
        if self.root is None:
            for path, mode in EMPTY_DIRS:
                make_dirs(namespace, path, mode)
        system: list[tuple[str, FileSystem | None]] = [
            ("/dev", DevFs()), ("/dev/shm", TmpFs(mode=0o1777)), ("/dev/pts", DevPts()),
            ("/proc", None), ("/sys", None)]
        shared: list[tuple[str, FileSystem | None]] = [
            (m.guest, HostFs(m.host, readonly=not m.writable)) for m in self.mounts]
        for path, fs in system + shared:
            self._mount_point(namespace, path)
            if fs is not None:
                namespace.mount(path.encode(), fs)
        return namespace

    def _root_fs(self) -> FileSystem:
        if self.root is None:
            return OverlayFs(FilterFs(HostFs("/"), hidden_path, hidden), TmpFs())
        if self.root_writable:
            return HostFs(self.root, readonly=False)
        return OverlayFs(HostFs(self.root), TmpFs())

    def _mount_point(self, namespace: Namespace, path: str) -> None:
        """Makes ``path`` where it is missing, so that ``ls`` shows it: in the root's tmpfs,
        never in a host directory. Its parent must be there (a mount on a file system
        that makes no directory, /dev/shm on devfs, is reached through the mount alone)."""
        parent = os.path.dirname(path)
        if self.root_writable:
            try:
                namespace.resolve(namespace.root(), parent.encode())
            except KernelError:
                raise KernelError(Errno.ENOENT, f"{parent} is not in {self.root} (with "
                                                "--root-rw, mount points must exist)") from None
            return
        make_dirs(namespace, parent, 0o755)
        try:
            make_dirs(namespace, path, 0o755)
        except KernelError as err:
            if err.errno not in (Errno.EROFS, Errno.EPERM, Errno.EACCES):
                raise


DEFAULT_HOSTS = (b"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                 b"ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")


def hosts_text(hostname: str, root_hosts: bytes | None) -> bytes:
    """/etc/hosts for a machine named ``hostname``: the root's own file's lines for the
    loopback names (``localhost*``, ``ip6-*``: the same answers for localhost as on the
    host), none of its other names, and the machine's name on its loopback (127.0.1.1, as
    Debian names a machine without a fixed address); Docker's defaults without a file."""
    lines = []
    for line in (DEFAULT_HOSTS if root_hosts is None else root_hosts).splitlines():
        fields = line.split(b"#", 1)[0].split()
        local = [name for name in fields[1:] if name.startswith((b"localhost", b"ip6-"))]
        if len(fields) > 1 and local:
            lines.append(fields[0] + b"\t" + b" ".join(local))
    lines.append(b"127.0.1.1\t" + os.fsencode(hostname))
    return b"\n".join(lines) + b"\n"


def name_files(namespace: Namespace, hostname: str) -> None:
    """Write /etc/hostname and /etc/hosts for a machine named ``hostname`` (its UTS node
    name), as a container runtime does: a program that looks its own name up (sudo,
    ``hostname -f``, Java's and Python's getfqdn) finds it, and the host's names and
    addresses stay outside. They go to the root's writable layer (the guest may change
    them); a root whose writes reach the host (--root-rw) and one without /etc are left
    alone (the caller sees to the first)."""
    try:
        etc = namespace.resolve(namespace.root(), b"etc")[0]
    except KernelError:
        return
    here = etc[-1]
    fs = here.fs
    for name in (b"hostname", b"hosts"):
        old: bytes | None = None
        try:
            node = fs.lookup(here.node, name)
            if not stat.S_ISREG(fs.getattr(node).mode):  # (a symlink: replaced by a file)
                fs.unlink(here.node, name)
                raise KernelError(Errno.ENOENT, "replaced")
            old = fs.read(node, 0, 1 << 16)
            fs.setattr(node, size=0)
        except KernelError as err:
            if err.errno != Errno.ENOENT:
                raise
            node = fs.create(here.node, name, 0o644, 0, 0)
        text = f"{hostname}\n".encode() if name == b"hostname" else hosts_text(hostname, old)
        fs.write(node, 0, text)


def make_dirs(namespace: Namespace, path: str, mode: int) -> None:
    """``mkdir -p path`` in ``namespace`` (used before any guest runs)."""
    walk = namespace.root()
    for name in path.encode().split(b"/"):
        if not name:
            continue
        try:
            walk = namespace.resolve(walk, name)[0]
        except KernelError as err:
            if err.errno != Errno.ENOENT:
                raise
            here = walk[-1]
            here.fs.mkdir(here.node, name, mode, 0, 0)
            walk = namespace.resolve(walk, name)[0]


def within(path: str, top: str) -> bool:
    """Whether ``path`` is ``top`` or below it (both absolute and normalised)."""
    return path == top or path.startswith(top.rstrip("/") + "/")


def cwd_refusal(cwd: str, home: str, root: str | None) -> str | None:
    """Why the caller's directory ``cwd`` must not be shown by default, or None."""
    if cwd == "/":
        return "it is the host's whole file system"
    for private in {home, "/root"}:
        if within(private, cwd):
            return f"it is, or holds, a home directory ({private}: keys, tokens, dotfiles)"
    if any(within(cwd, f"/{d}") for d in SYSTEM_DIRS) and root is not None:
        return "it would cover the image's system directories"
    if any(within(cwd, top) for top in ("/proc", "/sys", "/dev", "/run")):
        return "it describes the host, not files of yours"
    return None


def visible_in_default_root(path: str) -> bool:
    """Whether host ``path`` is under one of the system directories the default root shows
    (where sharing it again would only add the secrets the root hides)."""
    return any(within(path, f"/{d}") for d in SYSTEM_DIRS)
