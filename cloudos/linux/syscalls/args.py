"""Decoding raw 64-bit argument registers into the C types of Linux prototypes."""

import struct

from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.vm import AddressSpace

U64 = struct.Struct("<Q")
TIMESPEC = struct.Struct("<qq")


def s32(value: int) -> int:
    """An ``int`` argument: the low 32 bits, signed."""
    return ((value & 0xFFFF_FFFF) ^ 0x8000_0000) - 0x8000_0000


def s64(value: int) -> int:
    """A ``long`` argument, signed."""
    return (value ^ (1 << 63)) - (1 << 63)


def host_error(err: OSError) -> KernelError:
    """A host I/O failure reported as the same Linux errno (the host is Linux too)."""
    return KernelError(err.errno or Errno.EIO)


def user_string(aspace: AddressSpace, va: int, limit: int = 4096) -> bytes:
    """A NUL-terminated string from user memory (ENAMETOOLONG past ``limit``)."""
    out = bytearray()
    while len(out) < limit:
        chunk = aspace.copy_in(va, 4096 - (va & 4095))
        nul = chunk.find(0)
        if nul >= 0:
            return bytes(out + chunk[:nul])
        out += chunk
        va += len(chunk)
    raise KernelError(Errno.ENAMETOOLONG)


def read_timespec(aspace: AddressSpace, addr: int) -> float:
    """A ``struct timespec`` from user memory, in seconds; EINVAL when out of range."""
    sec, nsec = TIMESPEC.unpack(aspace.copy_in(addr, TIMESPEC.size))
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        raise KernelError(Errno.EINVAL, "timespec out of range")
    return sec + nsec / 1e9


def write_u64(aspace: AddressSpace, addr: int, value: int) -> None:
    aspace.copy_out(addr, U64.pack(value & 0xFFFF_FFFF_FFFF_FFFF))
