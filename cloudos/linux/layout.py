"""Where Linux puts a new mapping: mmap's placement policy.

The kernel keeps the VMAs of an address space; choosing an address for a new
one is the personality's policy. Linux's: the caller's hint when that range
is free, otherwise top-down from ``mmap_top`` (lowered by ASLR), the first gap
that fits.
"""

from __future__ import annotations

from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.vm import MMAP_FLOOR, USER_END, AddressSpace, page_align


def find_free(aspace: AddressSpace, length: int, hint: int = 0) -> int:
    """A free range of ``length`` bytes: at ``hint`` if it fits, else top-down from
    ``aspace.mmap_top``; ENOMEM when no gap is big enough."""
    length = page_align(length)
    if hint and MMAP_FLOOR <= hint and hint + length <= USER_END \
            and not aspace.overlaps(hint, hint + length):
        return hint
    top = aspace.mmap_top
    for vma in reversed(aspace.vmas):
        if vma.start >= top:
            continue
        if vma.end <= top - length:
            return top - length
        top = min(top, vma.start)
    if top - length >= MMAP_FLOOR:
        return top - length
    raise KernelError(Errno.ENOMEM, "address space full")
