"""Memory system calls: brk(2), mmap(2), munmap(2), mprotect(2), madvise(2), msync(2),
mremap(2), mincore(2), mlock(2) and its family.

Linux flags and ranges are decoded and checked here, with Linux's errno and in
Linux's order, before the address space (``kernel.mm.vm``) is asked to do the
work: lengths are page-rounded in 64 bits as C rounds them (so a length within a
page of 2^64 becomes 0), and every range handed to the kernel lies below
``USER_END`` (Linux's TASK_SIZE), so the kernel never walks the half it shares
with every process. A private file mapping shares the page cache's frames
copy-on-write (the VFS reads the file for it); a shared one maps the file's
object in ``sharedfiles``.
"""

from cloudos.errno import Errno, KernelError
from cloudos.abi import sysctl, vfs
from cloudos.kernel.mm.buddy import PAGE_SHIFT, PAGE_SIZE
from cloudos.kernel.mm.pagetable import COW, FRAME_MASK
from cloudos.kernel.mm.vm import (MMAP_BASE, MMAP_FLOOR, PAGE_MASK, USER_END, AddressSpace,
                                  Prot, Vma, page_align)
from cloudos.linux import maps, vdso
from cloudos.linux.layout import find_free
from cloudos.kernel.ipc import Message
from cloudos.kernel.task import Thread
from cloudos.linux.pagecache import cache_of, collect_shared
from cloudos.linux.process import (RLIM_INFINITY, RLIMIT_AS, linux, mappings_changed,
                                    now_shares_memory)
from cloudos.linux.syscalls import sys_file
from cloudos.linux.syscalls.args import s32, s64

MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE = 0x01, 0x02, 0x03, 0x0F
MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN = 0x10, 0x20, 0x0100
MAP_NORESERVE, MAP_FIXED_NOREPLACE = 0x4000, 0x100000
# Flags accepted with no effect here: DENYWRITE, EXECUTABLE, LOCKED, NORESERVE,
# POPULATE, NONBLOCK, STACK, HUGETLB, SYNC, and the huge page size bits.
MAP_KNOWN = (MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | 0x0800 | 0x1000 | 0x2000
             | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x80000 | MAP_FIXED_NOREPLACE
             | (0x3F << 26))
PROT_ALL = Prot.READ | Prot.WRITE | Prot.EXEC
# the same as plain ints, and every Prot by its bits, made once: an IntFlag operation
# costs microseconds (brk and mprotect run at every program's start)
PROT_BITS, PROT_W, PROT_WX = int(PROT_ALL), int(Prot.WRITE), int(Prot.WRITE | Prot.EXEC)
PROTS = [Prot(bits) for bits in range(PROT_BITS + 1)]
HEAP_PROT = Prot.READ | Prot.WRITE
PROT_GROWSDOWN, PROT_GROWSUP = 0x01000000, 0x02000000
MADV_DONTNEED, MADV_FREE = 4, 8
SHARED_READ, SHARED_WRITE = vfs.Sharing.SHARED_READ, vfs.Sharing.SHARED_WRITE  # MmapRead's
# VMA names of shared file mappings: whether the open file allowed writing
SHARED_NAMES = {SHARED_READ: "file-shared-ro", SHARED_WRITE: "file-shared"}
OVERCOMMIT_ALWAYS = 1  # vm/overcommit_memory's OVERCOMMIT_ALWAYS
MADV_KNOWN = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25}


PROT_SEM = 0x08  # accepted by mprotect, meaning nothing on x86
MPROTECT_KNOWN = PROT_BITS | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP
U64 = (1 << 64) - 1
MAX_FILE_SIZE = (1 << 63) - 1  # Linux's MAX_LFS_FILESIZE


def _page_up(length: int) -> int:
    """Linux's PAGE_ALIGN in 64 bits: a length within a page of 2^64 wraps to 0."""
    return page_align(length) & U64


def _unmap_size(addr: int, length: int) -> int:
    """munmap's checks (EINVAL unless the range is aligned, inside user space and not
    empty); the page-aligned length."""
    if addr & ~PAGE_MASK or addr > USER_END or length > USER_END - addr \
            or page_align(length) == 0:
        raise KernelError(Errno.EINVAL, f"munmap range {addr:#x}+{length:#x}")
    return page_align(length)


def _map_size(addr: int, length: int, fixed: bool) -> int:
    """mmap's checks of a range (EINVAL for length 0, ENOMEM for one that cannot fit in
    user space, then EINVAL for an unaligned fixed address, EPERM for one below the floor);
    the page-aligned length."""
    if length == 0:
        raise KernelError(Errno.EINVAL, "mmap of length 0")
    size = _page_up(length)
    if size == 0 or size > USER_END or fixed and addr > USER_END - size:
        raise KernelError(Errno.ENOMEM, f"{addr:#x}+{length:#x} does not fit in user space")
    if fixed:
        if addr & ~PAGE_MASK:
            raise KernelError(Errno.EINVAL, f"address {addr:#x} not page-aligned")
        _above_floor(addr)
    return size


def _above_floor(addr: int) -> None:
    """EPERM for a fixed address below vm.mmap_min_addr, as Linux refuses it."""
    if addr < MMAP_FLOOR:
        raise KernelError(Errno.EPERM, f"{addr:#x} is below mmap_min_addr")


def _file_range(offset: int, size: int) -> None:
    """EOVERFLOW when [offset, offset+size) passes the largest file offset (2^63-1)."""
    if offset >> PAGE_SHIFT > (MAX_FILE_SIZE - size) >> PAGE_SHIFT:
        raise KernelError(Errno.EOVERFLOW, f"offset {offset:#x}+{size:#x}")


def _end(addr: int, length: int, wrapped: Errno) -> int:
    """The end of a page-aligned range [addr, addr+length) rounded up; ``wrapped`` when
    that end passes 2^64 (Linux's ``end < start`` check)."""
    end = addr + _page_up(length)
    if end > U64:
        raise KernelError(wrapped, f"range {addr:#x}+{length:#x} wraps")
    return end


def _all_mapped(aspace: AddressSpace, start: int, end: int) -> None:
    """ENOMEM unless every page of [start, end) is in a VMA (none is at or above USER_END)."""
    va = start
    while va < end:
        vma = aspace.find(va)
        if vma is None:
            raise KernelError(Errno.ENOMEM, f"{va:#x} is not mapped")
        va = vma.end


def _within_as(t: Thread, more: int, committed: bool = True) -> bool:
    """Whether the address space may grow by ``more`` bytes: under RLIMIT_AS, and, for
    memory that would be committed (writable, private or anonymous, not MAP_NORESERVE),
    within the machine's RAM, as Linux's heuristic overcommit refuses one request larger
    than RAM and swap (a 1 TiB brk or mmap is ENOMEM, on a machine of any size)."""
    kernel = t.process.kernel
    # vm/overcommit_memory 1 (always) skips the heuristic; 2 (strict accounting) is
    # checked as 0 is: no commit charge is kept
    if committed and more > kernel.frames.total_bytes \
            and sysctl.of(kernel).number("vm/overcommit_memory") != OVERCOMMIT_ALWAYS:
        return False
    limit = linux(t.process).rlimits[RLIMIT_AS][0]
    return limit == RLIM_INFINITY or sum(v.end - v.start for v in t.process.aspace.vmas) \
        + more <= limit


def sys_brk(t: Thread, addr: int, *_: int) -> int:
    """Implements Linux brk(2): returns the new break, or the old one when it cannot move."""
    aspace = t.process.aspace
    if addr < aspace.brk_start or addr > MMAP_BASE:
        return aspace.brk
    old_end, new_end = page_align(aspace.brk), page_align(addr)
    if new_end > old_end:
        if aspace.overlaps(old_end, new_end) or not _within_as(t, new_end - old_end):
            return aspace.brk
        aspace.add(old_end, new_end - old_end, HEAP_PROT, "[heap]")
        try:  # its first page now: the caller writes there at once (malloc's top chunk,
            aspace.user_frame(old_end, True)  # a static program's TLS), a fault saved
        except KernelError:
            pass  # no frame left: the page is filled when touched, or the fault reports it
    elif new_end < old_end:
        aspace.remove(new_end, old_end - new_end)
    aspace.brk = addr
    return addr


def sys_mmap(t: Thread, addr: int, length: int, prot: int, flags: int, fd: int,
             offset: int) -> int:
    """Implements Linux mmap(2): anonymous memory, private copies of files, shared files."""
    flags &= 0xFFFF_FFFF
    if offset & ~PAGE_MASK:
        raise KernelError(Errno.EINVAL, "offset not page-aligned")
    size = _map_size(addr, length, bool(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
    kind = flags & MAP_TYPE
    if kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE) \
            or (kind == MAP_SHARED_VALIDATE and flags & ~MAP_KNOWN):
        raise KernelError(Errno.EINVAL, f"mmap flags {flags:#x}")
    if not flags & MAP_ANONYMOUS:
        _file_range(offset, size)
    access = Prot(prot & PROT_ALL)  # mmap ignores bits it does not know, as Linux does
    committed = bool(access & Prot.WRITE) and not flags & MAP_NORESERVE \
        and (kind == MAP_PRIVATE or bool(flags & MAP_ANONYMOUS))
    if not _within_as(t, size, committed):
        raise KernelError(Errno.ENOMEM, f"{size:#x} bytes: RLIMIT_AS or more than the RAM")
    aspace = t.process.aspace
    if len(aspace.vmas) > sysctl.of(t.process.kernel).number("vm/max_map_count"):
        raise KernelError(Errno.ENOMEM, "more mappings than vm/max_map_count")
    mappings_changed(aspace)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if flags & MAP_FIXED_NOREPLACE and aspace.overlaps(addr, addr + size):
            raise KernelError(Errno.EEXIST, f"{addr:#x} is mapped")
        start = addr
    else:
        start = find_free(aspace, size, addr & PAGE_MASK)
    if flags & MAP_ANONYMOUS:
        aspace.add(start, size, access, "", grows_down=bool(flags & MAP_GROWSDOWN),
                   shared=kind != MAP_PRIVATE)
        # (Linux names shared anonymous memory as the shmem file behind it)
        maps.record(aspace, start, size, b"/dev/zero (deleted)" if kind != MAP_PRIVATE
                    else None)
        if kind != MAP_PRIVATE and access & Prot.WRITE:
            return now_shares_memory(t, start)
        return start
    shared = kind != MAP_PRIVATE
    sharing = (SHARED_WRITE if access & Prot.WRITE else SHARED_READ) if shared \
        else vfs.Sharing.PRIVATE

    def map_file(msg: Message) -> int:
        """The VFS sent the file's bytes and identity: its pages are mapped."""
        answer = msg.body
        if not isinstance(answer, vfs.MappedFile):
            return int(answer)
        data, key = answer.data, answer.key
        if flags & MAP_FIXED_NOREPLACE and aspace.overlaps(start, start + size):
            return -Errno.EEXIST
        cache = cache_of(t.process.kernel)
        mappings_changed(aspace)  # (the call slept: kinds may have been asked meanwhile)
        if shared:  # the file's one set of shared pages, written back
            # the VMA's name says whether mprotect may add PROT_WRITE: the file's open mode
            name = SHARED_NAMES[SHARED_WRITE if answer.writable else SHARED_READ]
            aspace.add(start, size, access, name, shared=True)
            maps.record(aspace, start, size, answer.path, offset, key[0], key[1])
            cache.shared.map(aspace, start, size, offset, (key[0], key[1]), bytes(data),
                             sharing == SHARED_WRITE)
            return start
        file = (key[0], key[1], key[2], key[3])  # (st_dev, st_ino, size, mtime)
        if (file[0], file[1]) in cache.shared.files:
            # mapped shared too: its newest bytes may not be the cached ones for this
            # size and mtime, so these pages are cached under a name of their own
            cache.private_copies += 1
            file = (file[0], file[1], file[2], -cache.private_copies)
        aspace.add(start, size, access, "file")
        maps.record(aspace, start, size, answer.path, offset, key[0], key[1])
        # Pages of the file come from the page cache; pages past its end are demand-zero.
        cache.map(aspace, start, file, offset, data)
        return start

    return sys_file.call(t, vfs.MmapRead(s32(fd), offset, size, sharing), deliver=map_file)


def sys_munmap(t: Thread, addr: int, length: int, *_: int) -> int:
    """Implements Linux munmap(2)."""
    size = _unmap_size(addr, length)
    t.process.aspace.remove(addr, size)
    maps.forget(t.process.aspace, addr, size)
    collect_shared(t.process.kernel)
    return 0


def sys_mprotect(t: Thread, addr: int, length: int, prot: int, *_: int) -> int:
    """Implements Linux mprotect(2)."""
    if prot & PROT_GROWSDOWN and prot & PROT_GROWSUP or addr & ~PAGE_MASK:
        raise KernelError(Errno.EINVAL, f"mprotect {addr:#x} prot {prot:#x}")
    if length == 0:
        return 0
    end = _end(addr, length, Errno.ENOMEM)
    if end == addr:
        raise KernelError(Errno.ENOMEM, f"length {length:#x} wraps")
    if prot & ~MPROTECT_KNOWN:
        raise KernelError(Errno.EINVAL, f"prot {prot:#x}")
    access, size, aspace = PROTS[prot & PROT_BITS], end - addr, t.process.aspace
    _all_mapped(aspace, addr, end)
    if prot & PROT_WX and any(
            vma.name == vdso.VVAR for vma in aspace.vmas if vma.start < end and vma.end > addr):
        raise KernelError(Errno.EACCES, "the [vvar] page is the kernel's, read-only")
    mappings_changed(aspace)
    if prot & PROT_W:  # a shared file mapping may be written if its file was opened so
        names = {vma.name for vma in aspace.vmas if vma.start < addr + size and vma.end > addr}
        if SHARED_NAMES[SHARED_READ] in names:
            raise KernelError(Errno.EACCES, "the file was not opened for writing")
        if SHARED_NAMES[SHARED_WRITE] in names:
            shared = cache_of(t.process.kernel).shared
            for obj in shared.objects(aspace, addr, addr + size):
                obj.writable = True
    aspace.protect(addr, size, access)
    if prot & PROT_W and any(vma.shared for vma in aspace.vmas
                             if vma.start < addr + size and vma.end > addr):
        return now_shares_memory(t, 0)
    return 0


def sys_madvise(t: Thread, addr: int, length: int, advice: int, *_: int) -> int:
    """Implements Linux madvise(2): MADV_DONTNEED and MADV_FREE drop pages; other advice is
    ignored."""
    advice = s64(advice)
    if addr & ~PAGE_MASK or advice not in MADV_KNOWN or length and not _page_up(length):
        raise KernelError(Errno.EINVAL, f"madvise {addr:#x}+{length:#x} advice {advice}")
    end = _end(addr, length, Errno.EINVAL)
    if end == addr:
        return 0
    aspace = t.process.aspace
    _all_mapped(aspace, addr, end)
    va, private = addr, []
    while va < end:
        vma = aspace.find(va)
        assert vma is not None, f"{va:#x} was mapped a moment ago"
        if not vma.shared:  # shared pages keep their contents: there is nothing to drop
            private.append((va, min(vma.end, end) - va))
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
    end = _end(addr, length, Errno.ENOMEM)
    _all_mapped(t.process.aspace, addr, end)
    shared = cache_of(t.process.kernel).shared
    for obj in shared.objects(t.process.aspace, addr, end) if shared.files else ():
        shared.sync(obj)
    return 0


MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4


def _mremap_sizes(old: int, old_size: int, new_size: int, flags: int,
                  new: int) -> tuple[int, int]:
    """mremap's checks of its arguments, in Linux's order (all EINVAL); the page-aligned
    sizes. A target address (MREMAP_FIXED, MREMAP_DONTUNMAP) must fit in user space."""
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or old & ~PAGE_MASK:
        raise KernelError(Errno.EINVAL, f"mremap {old:#x} flags {flags:#x}")
    old_size, new_size = _page_up(old_size), _page_up(new_size)
    if new_size == 0 or new_size > USER_END:
        raise KernelError(Errno.EINVAL, f"mremap to size {new_size:#x}")
    if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) and (
            new > USER_END - new_size or new & ~PAGE_MASK or not flags & MREMAP_MAYMOVE
            or flags & MREMAP_DONTUNMAP and old_size != new_size
            or new < old + old_size and old < new + new_size):
        raise KernelError(Errno.EINVAL, f"mremap target {new:#x}+{new_size:#x}")
    if flags & MREMAP_FIXED:
        _above_floor(new)
    return old_size, new_size


def sys_mremap(t: Thread, old: int, old_size: int, new_size: int, flags: int, new: int,
               *_: int) -> int:
    """Implements Linux mremap(2): shrink, grow in place, or move (the same frames)."""
    mappings_changed(t.process.aspace)
    flags &= 0xFFFF_FFFF
    old_size, new_size = _mremap_sizes(old, old_size, new_size, flags, new)
    aspace = t.process.aspace
    vma = aspace.find(old)
    if vma is None:
        raise KernelError(Errno.EFAULT, f"{old:#x} is not mapped")
    if old_size == 0:  # Linux duplicates a shared mapping this way: not supported
        raise KernelError(Errno.EINVAL, "mremap of old_size 0")
    if new_size < old_size and not flags & (MREMAP_FIXED | MREMAP_DONTUNMAP):
        # Linux unmaps the tail as munmap would, whatever mappings it spans
        tail = _unmap_size(old + new_size, old_size - new_size)
        aspace.remove(old + new_size, tail)
        collect_shared(t.process.kernel)
        return old
    if new_size == old_size and not flags & (MREMAP_FIXED | MREMAP_DONTUNMAP):
        return old
    if old + old_size > vma.end:
        raise KernelError(Errno.EFAULT, f"{old:#x}+{old_size:#x} is not one mapping")
    if flags & MREMAP_DONTUNMAP and (vma.shared or vma.name):
        raise KernelError(Errno.EINVAL, "MREMAP_DONTUNMAP needs private anonymous memory")
    if flags & MREMAP_FIXED:
        aspace.remove(new, new_size)
    elif new_size > old_size and old + old_size == vma.end and old + new_size <= USER_END \
            and not aspace.overlaps(vma.end, old + new_size):
        grow = new_size - old_size
        maps.grown(aspace, vma.start, vma.end, grow)
        aspace.add(vma.end, grow, Prot(vma.prot), vma.name, vma.grows_down, vma.shared)
        return old
    elif not flags & MREMAP_MAYMOVE:
        raise KernelError(Errno.ENOMEM, "no room to grow in place")
    else:
        new = find_free(aspace, new_size)
    kept = min(old_size, new_size)
    maps.moved(aspace, old, new, new_size)
    _move(aspace, vma, old, new, kept)
    if new_size > kept:
        aspace.add(new + kept, new_size - kept, Prot(vma.prot), vma.name, vma.grows_down,
                   vma.shared)
    if flags & MREMAP_DONTUNMAP:  # the old range stays, empty: it faults in zero pages
        aspace.add(old, old_size, Prot(vma.prot))
        maps.record(aspace, old, old_size, None)
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
    if addr + length > USER_END:
        raise KernelError(Errno.ENOMEM, "range outside user space")
    size = page_align(length)
    if vec + size // PAGE_SIZE > USER_END:
        raise KernelError(Errno.EFAULT, f"vector {vec:#x} outside user space")
    if size // PAGE_SIZE > MINCORE_PAGES:
        raise KernelError(Errno.ENOMEM, "more pages than mincore reports at once")
    aspace = t.process.aspace
    _all_mapped(aspace, addr, addr + size)
    present = bytearray(size // PAGE_SIZE)
    for page, _pte in aspace.pt.mapped(addr, addr + size):
        present[(page - addr) // PAGE_SIZE] = 1
    aspace.copy_out(vec, present)
    return 0


MLOCK_ONFAULT = 1
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4


def _lock_range(t: Thread, addr: int, length: int) -> int:
    """mlock's and munlock's checks: the pages holding [addr, addr+length) must all be
    mapped (ENOMEM); EINVAL when the range wraps past 2^64. Nothing is ever swapped
    here, so there is nothing more to do."""
    start = addr & PAGE_MASK
    end = _end(start, length + (addr & ~PAGE_MASK), Errno.EINVAL)
    _all_mapped(t.process.aspace, start, end)
    return 0


def sys_mlock(t: Thread, addr: int, length: int, *_: int) -> int:
    """Implements Linux mlock(2): checks the range (memory is never swapped)."""
    return _lock_range(t, addr, length)


def sys_mlock2(t: Thread, addr: int, length: int, flags: int, *_: int) -> int:
    """Implements Linux mlock2(2): checks the flags and the range (memory is never swapped)."""
    if flags & ~MLOCK_ONFAULT:
        raise KernelError(Errno.EINVAL, f"mlock2 flags {flags:#x}")
    return _lock_range(t, addr, length)


def sys_munlock(t: Thread, addr: int, length: int, *_: int) -> int:
    """Implements Linux munlock(2): checks the range."""
    return _lock_range(t, addr, length)


def sys_mlockall(t: Thread, flags: int, *_: int) -> int:
    """Implements Linux mlockall(2): checks the flags (memory is never swapped)."""
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        raise KernelError(Errno.EINVAL, f"mlockall flags {flags:#x}")
    return 0


def sys_munlockall(t: Thread, *_: int) -> int:
    """Implements Linux munlockall(2)."""
    return 0
