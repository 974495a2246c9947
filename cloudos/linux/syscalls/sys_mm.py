"""Memory system calls: brk(2), mmap(2), munmap(2), mprotect(2), madvise(2), msync(2),
mremap(2), mincore(2).

Linux flags are decoded and checked here; the address space (``kernel.mm.vm``)
does the work. A private file mapping shares the page cache's frames
copy-on-write (the VFS reads the file for it); a shared one maps the file's
object in ``sharedfiles``.
"""

from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.pagetable import COW, FRAME_MASK
from cloudos.kernel.mm.vm import (MMAP_BASE, PAGE_MASK, USER_END, AddressSpace, Prot, Vma,
                                  page_align)
from cloudos.linux.layout import find_free
from cloudos.kernel.ipc import Message
from cloudos.kernel.task import Thread
from cloudos.linux.pagecache import cache_of, collect_shared
from cloudos.linux.process import mappings_changed, now_shares_memory
from cloudos.linux.syscalls import sys_file
from cloudos.linux.syscalls.args import s32, s64

MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE = 0x01, 0x02, 0x03, 0x0F
MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN = 0x10, 0x20, 0x0100
MAP_FIXED_NOREPLACE = 0x100000
# Flags accepted with no effect here: DENYWRITE, EXECUTABLE, LOCKED, NORESERVE,
# POPULATE, NONBLOCK, STACK, HUGETLB, SYNC, and the huge page size bits.
MAP_KNOWN = (MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | 0x0800 | 0x1000 | 0x2000
             | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x80000 | MAP_FIXED_NOREPLACE
             | (0x3F << 26))
PROT_ALL = Prot.READ | Prot.WRITE | Prot.EXEC
PROT_GROWSDOWN, PROT_GROWSUP = 0x01000000, 0x02000000
MADV_DONTNEED, MADV_FREE = 4, 8
SHARED_READ, SHARED_WRITE = 1, 2  # MMAP_READ's sharing argument (what the VFS checks)
# VMA names of shared file mappings: whether the open file allowed writing
SHARED_NAMES = {SHARED_READ: "file-shared-ro", SHARED_WRITE: "file-shared"}
MADV_KNOWN = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25}


def _prot(prot: int) -> Prot:
    if prot & ~(PROT_ALL | PROT_GROWSDOWN | PROT_GROWSUP):
        raise KernelError(Errno.EINVAL, f"prot {prot:#x}")
    return Prot(prot & PROT_ALL)


def _range(addr: int, length: int) -> int:
    """Check an (addr, length) pair as Linux does; return the page-aligned length."""
    if addr & ~PAGE_MASK:
        raise KernelError(Errno.EINVAL, f"address {addr:#x} not page-aligned")
    size = page_align(length)
    if length == 0 or size == 0 or size > USER_END:
        raise KernelError(Errno.EINVAL if length == 0 else Errno.ENOMEM, f"length {length:#x}")
    return size


def sys_brk(t: Thread, addr: int, *_: int) -> int:
    """Implements Linux brk(2): returns the new break, or the old one when it cannot move."""
    aspace = t.process.aspace
    if addr < aspace.brk_start or addr > MMAP_BASE:
        return aspace.brk
    old_end, new_end = page_align(aspace.brk), page_align(addr)
    if new_end > old_end:
        if aspace.overlaps(old_end, new_end):
            return aspace.brk
        aspace.add(old_end, new_end - old_end, Prot.READ | Prot.WRITE, "[heap]")
    elif new_end < old_end:
        aspace.remove(new_end, old_end - new_end)
    aspace.brk = addr
    return addr


def sys_mmap(t: Thread, addr: int, length: int, prot: int, flags: int, fd: int,
             offset: int) -> int:
    """Implements Linux mmap(2): anonymous memory, private copies of files, shared files."""
    flags &= 0xFFFF_FFFF
    size = _range(addr if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) else 0, length)
    kind = flags & MAP_TYPE
    if kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE) \
            or (kind == MAP_SHARED_VALIDATE and flags & ~MAP_KNOWN):
        raise KernelError(Errno.EINVAL, f"mmap flags {flags:#x}")
    if offset & ~PAGE_MASK:
        raise KernelError(Errno.EINVAL, "offset not page-aligned")
    access = _prot(prot)
    aspace = t.process.aspace
    mappings_changed(aspace)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr + size > USER_END:
            raise KernelError(Errno.ENOMEM, "beyond user space")
        if flags & MAP_FIXED_NOREPLACE and aspace.overlaps(addr, addr + size):
            raise KernelError(Errno.EEXIST, f"{addr:#x} is mapped")
        start = addr
    else:
        start = find_free(aspace, size, addr & PAGE_MASK)
    if flags & MAP_ANONYMOUS:
        aspace.add(start, size, access, "", grows_down=bool(flags & MAP_GROWSDOWN),
                   shared=kind != MAP_PRIVATE)
        if kind != MAP_PRIVATE and access & Prot.WRITE:
            return now_shares_memory(t, start)
        return start
    shared = kind != MAP_PRIVATE
    sharing = (SHARED_WRITE if access & Prot.WRITE else SHARED_READ) if shared else 0

    def map_file(msg: Message) -> int:
        """The VFS sent the file's bytes and identity: its pages are mapped."""
        if not isinstance(msg.body, tuple):
            return int(msg.body)
        _, data, file, *writable = msg.body
        if flags & MAP_FIXED_NOREPLACE and aspace.overlaps(start, start + size):
            return -Errno.EEXIST
        cache = cache_of(t.process.kernel)
        mappings_changed(aspace)  # (the call slept: kinds may have been asked meanwhile)
        if shared:  # the file's one set of shared pages, written back
            # the VMA's name says whether mprotect may add PROT_WRITE: the file's open mode
            name = SHARED_NAMES[SHARED_WRITE if writable and writable[0] else SHARED_READ]
            aspace.add(start, size, access, name, shared=True)
            cache.shared.map(aspace, start, size, offset, file, data, sharing == SHARED_WRITE)
            return start
        if (file[0], file[1]) in cache.shared.files:
            # mapped shared too: its newest bytes may not be the cached ones for this
            # size and mtime, so these pages are cached under a name of their own
            cache.private_copies += 1
            file = (file[0], file[1], file[2], -cache.private_copies)
        aspace.add(start, size, access, "file")
        # Pages of the file come from the page cache; pages past its end are demand-zero.
        cache.map(aspace, start, file, offset, data)
        return start

    return sys_file.call(t, sys_file.MMAP_READ, s32(fd), offset, size, sharing,
                         deliver=map_file)


def sys_munmap(t: Thread, addr: int, length: int, *_: int) -> int:
    """Implements Linux munmap(2)."""
    size = _range(addr, length)
    t.process.aspace.remove(addr, size)
    collect_shared(t.process.kernel)
    return 0


def sys_mprotect(t: Thread, addr: int, length: int, prot: int, *_: int) -> int:
    """Implements Linux mprotect(2)."""
    access = _prot(prot)
    if addr & ~PAGE_MASK:
        raise KernelError(Errno.EINVAL, "address not page-aligned")
    if length == 0:
        return 0
    size, aspace = _range(addr, length), t.process.aspace
    mappings_changed(aspace)
    if access & Prot.WRITE:  # a shared file mapping may be written if its file was opened so
        names = {vma.name for vma in aspace.vmas if vma.start < addr + size and vma.end > addr}
        if SHARED_NAMES[SHARED_READ] in names:
            raise KernelError(Errno.EACCES, "the file was not opened for writing")
        if SHARED_NAMES[SHARED_WRITE] in names:
            shared = cache_of(t.process.kernel).shared
            for obj in shared.objects(aspace, addr, addr + size):
                obj.writable = True
    aspace.protect(addr, size, access)
    if access & Prot.WRITE and any(vma.shared for vma in aspace.vmas
                                   if vma.start < addr + size and vma.end > addr):
        return now_shares_memory(t, 0)
    return 0


def sys_madvise(t: Thread, addr: int, length: int, advice: int, *_: int) -> int:
    """Implements Linux madvise(2): MADV_DONTNEED and MADV_FREE drop pages; other advice is ignored."""
    advice = s64(advice)
    if addr & ~PAGE_MASK or advice not in MADV_KNOWN:
        raise KernelError(Errno.EINVAL, f"madvise {addr:#x} advice {advice}")
    if length == 0:
        return 0
    size = _range(addr, length)
    aspace = t.process.aspace
    va, private = addr, []
    while va < addr + size:
        vma = aspace.find(va)
        if vma is None:
            raise KernelError(Errno.ENOMEM, f"{va:#x} is not mapped")
        if not vma.shared:  # shared pages keep their contents: there is nothing to drop
            private.append((va, min(vma.end, addr + size) - va))
        va = vma.end
    if advice in (MADV_DONTNEED, MADV_FREE):
        for start, length in private:
            aspace.discard(start, length)
    return 0


MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4


def sys_msync(t: Thread, addr: int, length: int, flags: int, *_: int) -> int:
    """Implements Linux msync(2): shared file mappings in the range are written to their files."""
    if addr & ~PAGE_MASK or flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) \
            or flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC:
        raise KernelError(Errno.EINVAL, "msync arguments")
    end = addr + page_align(length)
    va = addr
    while va < end:
        vma = t.process.aspace.find(va)
        if vma is None:
            raise KernelError(Errno.ENOMEM, f"{va:#x} is not mapped")
        va = vma.end
    shared = cache_of(t.process.kernel).shared
    for obj in shared.objects(t.process.aspace, addr, end) if shared.files else ():
        shared.sync(obj)
    return 0


MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4


def sys_mremap(t: Thread, old: int, old_size: int, new_size: int, flags: int, new: int,
               *_: int) -> int:
    """Implements Linux mremap(2): shrink, grow in place, or move (the same frames)."""
    mappings_changed(t.process.aspace)
    flags &= 0xFFFF_FFFF
    if old & ~PAGE_MASK or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) \
            or flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) and not flags & MREMAP_MAYMOVE \
            or flags & MREMAP_FIXED and new & ~PAGE_MASK:
        raise KernelError(Errno.EINVAL, f"mremap {old:#x} flags {flags:#x}")
    old_size, new_size = page_align(old_size), _range(0, new_size)
    aspace = t.process.aspace
    vma = aspace.find(old)
    if old_size == 0:  # Linux duplicates a shared mapping this way: not supported
        raise KernelError(Errno.EINVAL, "mremap of old_size 0")
    if vma is None or old + old_size > vma.end:
        raise KernelError(Errno.EFAULT, f"{old:#x}+{old_size:#x} is not one mapping")
    if flags & MREMAP_DONTUNMAP and (vma.shared or vma.name or old_size != new_size):
        raise KernelError(Errno.EINVAL, "MREMAP_DONTUNMAP needs private anonymous memory")
    if flags & MREMAP_FIXED:
        if new < old + old_size and old < new + new_size or new + new_size > USER_END:
            raise KernelError(Errno.EINVAL, "mremap target overlaps the source")
        aspace.remove(new, new_size)
    elif new_size <= old_size and not flags & MREMAP_DONTUNMAP:
        if new_size < old_size:
            aspace.remove(old + new_size, old_size - new_size)
            collect_shared(t.process.kernel)
        return old
    elif new_size > old_size and old + old_size == vma.end and old + new_size <= USER_END \
            and not aspace.overlaps(vma.end, old + new_size):
        aspace.add(vma.end, new_size - old_size, Prot(vma.prot), vma.name, vma.grows_down,
                   vma.shared)
        return old
    elif not flags & MREMAP_MAYMOVE:
        raise KernelError(Errno.ENOMEM, "no room to grow in place")
    else:
        new = find_free(aspace, new_size)
    kept = min(old_size, new_size)
    _move(aspace, vma, old, new, kept)
    if new_size > kept:
        aspace.add(new + kept, new_size - kept, Prot(vma.prot), vma.name, vma.grows_down,
                   vma.shared)
    if flags & MREMAP_DONTUNMAP:  # the old range stays, empty: it faults in zero pages
        aspace.add(old, old_size, Prot(vma.prot))
    elif old_size > kept:
        aspace.remove(old + kept, old_size - kept)
    return new


def _move(aspace: AddressSpace, vma: Vma, old: int, new: int, size: int) -> None:
    """Map the frames of [old, old+size) at ``new`` with their sharing kept; unmap ``old``."""
    prot, name, grows_down, shared = Prot(vma.prot), vma.name, vma.grows_down, vma.shared
    pages = aspace.pt.mapped(old, old + size)
    aspace.add(new, size, prot, name, grows_down, shared)
    for va, pte in pages:
        frame = pte & FRAME_MASK
        # a private page another owner holds (fork, page cache) stays copy-on-write
        aspace.share(va - old + new, frame,
                     cow=not shared and bool(pte & COW or frame in aspace.refs))
    aspace.remove(old, size)


MINCORE_PAGES = 1 << 20  # pages mincore reports at one time


def sys_mincore(t: Thread, addr: int, length: int, vec: int, *_: int) -> int:
    """Implements Linux mincore(2): a byte per page, 1 when the page is in memory."""
    if addr & ~PAGE_MASK:
        raise KernelError(Errno.EINVAL, "address not page-aligned")
    size = page_align(length)
    if addr + size > USER_END or size // PAGE_SIZE > MINCORE_PAGES:
        raise KernelError(Errno.ENOMEM, "range outside user space")
    aspace = t.process.aspace
    va = addr
    while va < addr + size:
        vma = aspace.find(va)
        if vma is None:
            raise KernelError(Errno.ENOMEM, f"{va:#x} is not mapped")
        va = vma.end
    present = bytearray(size // PAGE_SIZE)
    for page, _pte in aspace.pt.mapped(addr, addr + size):
        present[(page - addr) // PAGE_SIZE] = 1
    aspace.copy_out(vec, present)
    return 0
