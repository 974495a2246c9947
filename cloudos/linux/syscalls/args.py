"""Decoding raw 64-bit argument registers into the C types of Linux prototypes.

Times given by a guest (timeouts, timer values) are decoded here, once: checked
as Linux checks them, clamped as Linux clamps them, and turned into scheduler
deadlines the host can wait for, however far away the guest asked.
"""

import struct

from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.vm import AddressSpace
from cloudos.kernel.task import Thread

U64 = struct.Struct("<Q")
TIMESPEC = struct.Struct("<qq")  # struct timespec {tv_sec, tv_nsec}; struct timeval alike
NSEC, USEC = 10**9, 10**6  # the fractions per second of a timespec and of a timeval
# Linux keeps times as signed 64-bit nanoseconds (ktime_t) and clamps a longer time to
# the largest, KTIME_MAX; here in seconds.
KTIME_MAX_NS = 2**63 - 1
KTIME_MAX = KTIME_MAX_NS / NSEC
# The longest wait put on the scheduler's clock (136 years): the host's sleeps fail
# near 292 years, and no program can see a longer wait end early.
WAIT_MAX = float(2**32)


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
    """A NUL-terminated string from user memory (ENAMETOOLONG past ``limit``): looked for
    in each page's frame, only the string copied."""
    ram = aspace.ram
    out = bytearray()
    if limit > 0:  # (the common case, inline: all of it in its first page)
        size = 4096 - (va & 4095)
        phys = aspace.user_frame(va, False) + (va & 4095)
        nul = ram.find(0, phys, phys + size)
        if nul >= 0:
            return bytes(ram.bytes[phys:nul])
        out += ram.bytes[phys:phys + size]
        va += size
    while len(out) < limit:
        size = 4096 - (va & 4095)
        phys = aspace.user_frame(va, False) + (va & 4095)  # (EFAULT as copy_in's)
        nul = ram.find(0, phys, phys + size)
        if nul >= 0:
            return bytes(out) + ram.read(phys, nul - phys) if out else ram.read(phys, nul - phys)
        out += ram.read(phys, size)
        va += size
    raise KernelError(Errno.ENAMETOOLONG)


def seconds(sec: int, fraction: int, per_second: int = NSEC) -> float:
    """A timespec (or, with USEC, a timeval) in seconds, clamped to KTIME_MAX as Linux
    clamps it; EINVAL for negative seconds or a fraction out of range, as Linux."""
    if sec < 0 or not 0 <= fraction < per_second:
        raise KernelError(Errno.EINVAL, "time value out of range")
    return min(sec + fraction / per_second, KTIME_MAX)


def read_timespec(aspace: AddressSpace, addr: int, per_second: int = NSEC) -> float:
    """A ``struct timespec`` (``struct timeval`` with USEC) from user memory, in seconds."""
    sec, fraction = TIMESPEC.unpack(aspace.copy_in(addr, TIMESPEC.size))
    return seconds(sec, fraction, per_second)


def read_select_timeval(aspace: AddressSpace, addr: int) -> float:
    """select(2)'s ``struct timeval``: Linux first carries whole seconds out of tv_usec
    (C division: toward zero, and the 64-bit sum wraps), then checks it as a timespec."""
    sec, usec = TIMESPEC.unpack(aspace.copy_in(addr, TIMESPEC.size))
    carry = abs(usec) // USEC * (1 if usec >= 0 else -1)
    return seconds(s64(sec + carry), (usec - carry * USEC) * (NSEC // USEC))


def pack_time(value: float, per_second: int = NSEC) -> bytes:
    """``value`` seconds (clamped to 0..KTIME_MAX) as a timespec, or a timeval."""
    ns = min(max(round(value * NSEC), 0), KTIME_MAX_NS)
    return TIMESPEC.pack(ns // NSEC, ns % NSEC // (NSEC // per_second))


def deadline(t: Thread, wait: float) -> float:
    """When a wait of ``wait`` seconds from now ends, on the scheduler's clock (a past
    time for a negative wait; at most WAIT_MAX away)."""
    return t.process.kernel.scheduler.clock() + min(wait, WAIT_MAX)


def write_u64(aspace: AddressSpace, addr: int, value: int) -> None:
    aspace.copy_out(addr, U64.pack(value & 0xFFFF_FFFF_FFFF_FFFF))
