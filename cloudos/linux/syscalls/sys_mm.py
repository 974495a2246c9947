"""Memory system calls: brk(2), mmap(2), munmap(2), mprotect(2), madvise(2).

Linux flags are decoded and checked here; the address space (``kernel.mm.vm``)
does the work. A private file mapping shares the page cache's frames
copy-on-write (the VFS reads the file for it); a shared one maps the file's
object in ``sharedfiles``.
"""

from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.mm.vm import MMAP_BASE, PAGE_MASK, USER_END, Prot, page_align
from cloudos.kernel.ipc import Message
from cloudos.kernel.task import Thread
from cloudos.linux.pagecache import cache_of, collect_shared
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
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr + size > USER_END:
            raise KernelError(Errno.ENOMEM, "beyond user space")
        if flags & MAP_FIXED_NOREPLACE and aspace.overlaps(addr, addr + size):
            raise KernelError(Errno.EEXIST, f"{addr:#x} is mapped")
        start = addr
    else:
        start = aspace.find_free(size, addr & PAGE_MASK)
    if flags & MAP_ANONYMOUS:
        aspace.add(start, size, access, "", grows_down=bool(flags & MAP_GROWSDOWN),
                   shared=kind != MAP_PRIVATE)
        return start
    shared = kind != MAP_PRIVATE
    sharing = (SHARED_WRITE if access & Prot.WRITE else SHARED_READ) if shared else 0

    def map_file(msg: Message) -> int:
        """The VFS sent the file's bytes and identity: its pages are mapped."""
        if not isinstance(msg.body, tuple):
            return int(msg.body)
        _, data, file = msg.body
        if flags & MAP_FIXED_NOREPLACE and aspace.overlaps(start, start + size):
            return -Errno.EEXIST
        cache = cache_of(t.process.kernel)
        if shared:  # the file's one set of shared pages, written back
            aspace.add(start, size, access, SHARED_NAMES[sharing], shared=True)
            cache.shared.map(aspace, start, size, offset, file, data, sharing == SHARED_WRITE)
            return start
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
    if access & Prot.WRITE:  # a shared file mapping may be written if its file was opened so
        names = {vma.name for vma in aspace.vmas if vma.start < addr + size and vma.end > addr}
        if SHARED_NAMES[SHARED_READ] in names:
            raise KernelError(Errno.EACCES, "the file was not opened for writing")
        if SHARED_NAMES[SHARED_WRITE] in names:
            shared = cache_of(t.process.kernel).shared
            for obj in shared.objects(aspace, addr, addr + size):
                obj.writable = True
    aspace.protect(addr, size, access)
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
