"""Capabilities: unforgeable tokens naming a kernel object and the rights held on it.

Owns: the guide's 64-bit token layout (type 8 | object 32 | rights 16 | valid 1 |
checksum 7, most significant first), the checksum (a keyed MAC, HMAC-SHA256
under a per-boot secret, truncated to 7 bits), each process's capability space,
grant (a subset of the rights, only with GRANT) and revoke (only with REVOKE;
everything derived from a capability, recursively, through the derivation tree).
A token is honoured only when its MAC checks *and* the presenting process holds
it: guessing the 7 bits gains nothing. Never: knows what a port or file does.
Called by: ``ipc`` and the native system call handlers.
"""

from __future__ import annotations

from _blake2 import blake2b  # (hashlib.blake2b itself; hashlib would load OpenSSL: ~3 ms)
import os

from cloudos.abi.dataclass import dataclass, field
from cloudos.abi.enums import IntEnum
from cloudos.kernel.errno import Errno, KernelError


class Right:
    """The guide's 16 rights: bits of plain ints (an IntFlag's | and & cost a
    microsecond each, and every call checks rights twice)."""

    READ = 1 << 0
    WRITE = 1 << 1
    EXEC = 1 << 2
    SEND = 1 << 3
    RECV = 1 << 4
    GRANT = 1 << 5
    REVOKE = 1 << 6
    DEBUG = 1 << 7
    KILL = 1 << 8
    SUSPEND = 1 << 9
    PRIORITY = 1 << 10
    MEMORY = 1 << 11
    DEVICE = 1 << 12
    NETWORK = 1 << 13
    FILE = 1 << 14
    ADMIN = 1 << 15


ALL_RIGHTS = (1 << 16) - 1


class ObjType(IntEnum):
    """Kinds of object a capability can name (the token's top byte)."""

    PORT = 1
    REPLY = 2     # a one-shot right to answer one call
    GRANT = 3     # a window on another process's memory
    PROCESS = 4
    FILE = 5


@dataclass(eq=False)
class Cap:
    """One capability: an object, rights on it, and where it came from."""

    type: ObjType
    obj: int
    rights: int
    parent: Cap | None = None
    children: list[Cap] = field(default_factory=list)
    valid: bool = True


class CapTable:
    """Token minting and checking for one boot, and the capability spaces."""

    def __init__(self) -> None:
        self.secret = os.urandom(32)  # per boot: tokens from another boot never check
        self.spaces: dict[int, dict[int, Cap]] = {}  # pid -> token -> capability

    def _mac(self, body: int) -> int:
        # a keyed BLAKE2b: an HMAC's strength at a third of its cost (one per call's reply)
        return blake2b(body.to_bytes(8, "little"), key=self.secret).digest()[0] & 0x7F

    def token(self, cap: Cap) -> int:
        body = (cap.type << 56) | (cap.obj << 24) | (cap.rights << 8) | (1 << 7)
        return body | self._mac(body)

    def install(self, pid: int, cap: Cap) -> int:
        """Put ``cap`` in ``pid``'s space; return its token."""
        token = self.token(cap)
        self.spaces.setdefault(pid, {})[token] = cap
        return token

    def lookup(self, pid: int, token: int, type_: ObjType, need: int) -> Cap:
        """``pid``'s capability ``token``, of ``type_``, with rights ``need``; else EPERM."""
        cap = self.spaces.get(pid, {}).get(token)
        if cap is None or not cap.valid:  # (a token in a space was minted, so it checks)
            if not token & 0x80 or self._mac(token & ~0x7F) != token & 0x7F:
                raise KernelError(Errno.EPERM, "forged token")
            raise KernelError(Errno.EPERM, "capability not held")
        if cap.type != type_:
            raise KernelError(Errno.EPERM, f"capability names a {cap.type.name}, not a {type_.name}")  # noqa: E501 (split, it costs image bytes)
        if cap.rights & need != need:
            raise KernelError(Errno.EPERM, f"missing rights {need & ~cap.rights:#x}")
        return cap

    def derive(self, cap: Cap, rights: int) -> Cap:
        """A child of ``cap`` with a subset of its rights (the caller checked GRANT)."""
        if rights & ~cap.rights:
            raise KernelError(Errno.EPERM, "cannot widen rights")
        child = Cap(cap.type, cap.obj, rights, cap)
        cap.children.append(child)
        return child

    def revoke(self, cap: Cap) -> int:
        """Invalidate everything derived from ``cap`` (not ``cap``); return how many."""
        count, stack = 0, list(cap.children)
        cap.children = []
        while stack:
            child = stack.pop()
            child.valid = False
            stack.extend(child.children)
            count += 1
        for space in self.spaces.values():
            for token in [t for t, c in space.items() if not c.valid]:
                del space[token]
        return count

    def fork(self, parent: int, child: int) -> None:
        """A forked process holds what its parent holds."""
        self.spaces[child] = dict(self.spaces.get(parent, {}))

    def drop(self, pid: int) -> None:
        self.spaces.pop(pid, None)
