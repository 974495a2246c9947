"""System V shared memory: shmget(2), shmat(2), shmdt(2), shmctl(2).

Owns: the machine's segments, each a memory object (``memobject``) with its
key, size, permissions and times; the attachments of each process (its
address -> segment id, inherited by fork, dropped by exec); IPC_RMID, after
which a segment lives until its last attachment goes.
Never: swaps or locks pages (SHM_LOCK succeeds and changes nothing).
Called by: the system call table; ``pagecache.collect_shared`` after a process
unmaps, execs or exits.

Identifiers are the segment's slot plus 32768 times a sequence number, like
Linux's; no limit but memory bounds the number or size of segments.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from cloudos.abi import sysctl
from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.pagetable import FRAME_MASK
from cloudos.kernel.mm.vm import (MMAP_FLOOR, PAGE_MASK, USER_END, AddressSpace, Prot,
                                  page_align)
from cloudos.linux import maps
from cloudos.linux.creds import CAP_SYS_ADMIN
from cloudos.linux.layout import find_free
from cloudos.kernel.task import Thread
from cloudos.linux.memobject import MemoryObject
from cloudos.linux.pagecache import cache_of, collect_shared
from cloudos.linux.process import linux, mappings_changed, now_shares_memory
from cloudos.linux.sysvipc import allowed
from cloudos.linux.syscalls.args import s32

IPC_PRIVATE, IPC_CREAT, IPC_EXCL = 0, 0o1000, 0o2000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, IPC_64 = 0, 1, 2, 3, 0x100
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 11, 12, 13, 14, 15
SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC = 0o10000, 0o20000, 0o40000, 0o100000
SHM_DEST = 0o1000  # in shm_perm.mode: removed, waiting for its last detach
SEQ_MULTIPLIER = 32768
# struct shmid64_ds of x86_64: ipc64_perm (key, uid, gid, cuid, cgid, mode, seq, two
# unused longs), segsz, atime, dtime, ctime, cpid, lpid, nattch, two unused longs
SHMID_DS = struct.Struct("<iIIIIIH2x4xQQQqqqiiQQQ")
# IPC_INFO's struct shminfo64: shmmax, shmmin, shmmni, shmseg, shmall, four unused longs
SHMINFO = struct.Struct("<9Q")
SHMMIN = 1
# SHM_INFO's struct shm_info: used_ids, shm_tot, shm_rss, shm_swp (pages), swap_attempts,
# swap_successes
SHM_INFO_STRUCT = struct.Struct("<i4x5Q")


class Segment(MemoryObject):
    def __init__(self, kernel: Any, ident: int, key: int, size: int, mode: int, uid: int,
                 gid: int, pid: int) -> None:
        super().__init__(kernel)
        self.ident, self.key, self.size, self.mode = ident, key, size, mode
        self.uid = self.cuid = uid
        self.gid = self.cgid = gid
        self.cpid = self.lpid = pid
        self.atime = self.dtime = 0
        self.ctime = int(time.time())
        self.removed = False

    def attachments(self) -> int:
        """How many attachments processes hold (shm_nattch)."""
        first, count = self.frame(0), 0
        for process in self.kernel.processes.values():
            attached = getattr(process.personality, "shm", {})
            for start, ident in attached.items() if not process.zombie else ():
                # still there: not unmapped or replaced since
                if ident == self.ident and process.aspace.pt.walk(start) & FRAME_MASK == first:
                    count += 1
        return count


class Segments:
    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.by_id: dict[int, Segment] = {}
        self.seq = 0

    def get(self, ident: int) -> Segment:
        segment = self.by_id.get(ident)
        if segment is None:
            raise KernelError(Errno.EINVAL, f"no shared memory segment {ident}")
        return segment

    def create(self, t: Thread, key: int, size: int, mode: int) -> Segment:
        if size > self.kernel.frames.free_bytes:
            raise KernelError(Errno.ENOMEM, f"segment of {size} bytes")
        slot = next(i for i in range(len(self.by_id) + 1)
                    if all(s.ident % SEQ_MULTIPLIER != i for s in self.by_id.values()))
        ident = self.seq * SEQ_MULTIPLIER + slot
        self.seq += 1
        state = linux(t.process)
        segment = Segment(self.kernel, ident, key, size, mode & 0o777,
                          state.creds.euid, state.creds.egid,
                          t.process.pid)
        segment.grow(page_align(size) // PAGE_SIZE)
        self.by_id[ident] = segment
        return segment

    def collect(self) -> None:
        """Free the removed segments nobody maps any more."""
        for segment in list(self.by_id.values()):
            if segment.removed and not segment.mapped():
                segment.destroy()
                del self.by_id[segment.ident]


def segments_of(kernel: Any) -> Segments:
    cache = cache_of(kernel)
    if cache.sysv is None:
        cache.sysv = Segments(kernel)
    return cache.sysv  # type: ignore[no-any-return]


def sys_shmget(t: Thread, key: int, size: int, flags: int, *_: int) -> int:
    """Implements Linux shmget(2)."""
    key, flags = s32(key), s32(flags)
    segments = segments_of(t.process.kernel)
    if key != IPC_PRIVATE:
        found = next((s for s in segments.by_id.values() if s.key == key and not s.removed),
                     None)
        if found is not None:
            if flags & IPC_CREAT and flags & IPC_EXCL:
                raise KernelError(Errno.EEXIST, f"key {key:#x} exists")
            if size > found.size:
                raise KernelError(Errno.EINVAL, "larger than the segment")
            want = (flags >> 6 | flags >> 3 | flags) & 7
            if not allowed(t, found, want):
                raise KernelError(Errno.EACCES, f"segment {found.ident}")
            return found.ident
        if not flags & IPC_CREAT:
            raise KernelError(Errno.ENOENT, f"no segment with key {key:#x}")
    if size < 1 or size >= 1 << 63:  # a size no file can have: Linux's EINVAL
        raise KernelError(Errno.EINVAL, f"segment size {size}")
    return segments.create(t, key, size, flags).ident


def _check_fixed(aspace: AddressSpace, addr: int, length: int, flags: int) -> None:
    """An attach at ``addr``, as Linux checks it: without SHM_REMAP the range must not wrap
    past 2^64 or meet a mapping (EINVAL); it must lie in user space (ENOMEM, mmap's answer)."""
    if not flags & SHM_REMAP and (addr + length >= 1 << 64
                                  or aspace.overlaps(addr, addr + length)):
        raise KernelError(Errno.EINVAL, f"{addr:#x}+{length:#x} is mapped (no SHM_REMAP)")
    if addr > USER_END - length:
        raise KernelError(Errno.ENOMEM, f"{addr:#x}+{length:#x} is outside user space")
    if addr < MMAP_FLOOR:
        raise KernelError(Errno.EPERM, f"{addr:#x} is below mmap_min_addr")


def sys_shmat(t: Thread, ident: int, addr: int, flags: int, *_: int) -> int:
    """Implements Linux shmat(2)."""
    mappings_changed(t.process.aspace)
    ident, flags = s32(ident), s32(flags)
    segment = segments_of(t.process.kernel).get(ident)
    if addr & ~PAGE_MASK:
        if not flags & SHM_RND:
            raise KernelError(Errno.EINVAL, f"address {addr:#x} not page-aligned")
        addr &= PAGE_MASK
    prot = Prot.READ | (0 if flags & SHM_RDONLY else Prot.WRITE) \
        | (Prot.EXEC if flags & SHM_EXEC else 0)
    if not allowed(t, segment, 4 | (0 if flags & SHM_RDONLY else 2)):
        raise KernelError(Errno.EACCES, f"segment {ident}")
    aspace, length = t.process.aspace, segment.pages * PAGE_SIZE
    if addr:
        _check_fixed(aspace, addr, length, flags)
        start = addr
    else:
        if flags & SHM_REMAP:
            raise KernelError(Errno.EINVAL, "SHM_REMAP needs an address")
        start = find_free(aspace, length)
    aspace.add(start, length, prot, "SYSV", shared=True)
    # (Linux names an attachment by its key, as a deleted file of shmem)
    maps.record(aspace, start, length, b"/SYSV%08x (deleted)" % (segment.key & 0xFFFF_FFFF),
                0, 0, ident)
    segment.map(aspace, start, 0, segment.pages)
    linux(t.process).shm[start] = ident
    segment.atime, segment.lpid = int(time.time()), t.process.pid
    return start if flags & SHM_RDONLY else now_shares_memory(t, start)


def sys_shmdt(t: Thread, addr: int, *_: int) -> int:
    """Implements Linux shmdt(2)."""
    state = linux(t.process)
    segment = segments_of(t.process.kernel).by_id.get(state.shm.get(addr, -1))
    if segment is None or t.process.aspace.pt.walk(addr) & FRAME_MASK != segment.frame(0):
        state.shm.pop(addr, None)  # unmapped or replaced since: no attachment there now
        raise KernelError(Errno.EINVAL, f"nothing attached at {addr:#x}")
    del state.shm[addr]
    t.process.aspace.remove(addr, segment.pages * PAGE_SIZE)
    segment.dtime, segment.lpid = int(time.time()), t.process.pid
    collect_shared(t.process.kernel)
    return 0


def _info(t: Thread, segments: Segments, cmd: int, buf: int) -> int:
    """IPC_INFO (the limits, as /proc/sys/kernel/shm* set them) and SHM_INFO (the segments
    in use, their pages, all resident: nothing is swapped); ipcs asks them, then SHM_STAT
    for each slot up to the answer: the highest slot in use (0 when none is)."""
    if cmd == IPC_INFO:
        table = sysctl.of(t.process.kernel)
        mni = table.number("kernel/shmmni")
        raw = SHMINFO.pack(table.number("kernel/shmmax"), SHMMIN, mni, mni,
                           table.number("kernel/shmall"), 0, 0, 0, 0)
    else:
        pages = sum(page_align(s.size) // PAGE_SIZE for s in segments.by_id.values())
        raw = SHM_INFO_STRUCT.pack(len(segments.by_id), pages, pages, 0, 0, 0)
    t.process.aspace.copy_out(buf, raw)
    return max((ident % SEQ_MULTIPLIER for ident in segments.by_id), default=0)


def sys_shmctl(t: Thread, ident: int, cmd: int, buf: int, *_: int) -> int:
    """Implements Linux shmctl(2): IPC_STAT, SHM_STAT(_ANY), IPC_SET, IPC_RMID,
    SHM_(UN)LOCK, IPC_INFO, SHM_INFO."""
    ident, cmd = s32(ident), s32(cmd) & ~IPC_64
    segments = segments_of(t.process.kernel)
    aspace = t.process.aspace
    if cmd in (IPC_INFO, SHM_INFO):
        return _info(t, segments, cmd, buf)
    if cmd in (SHM_STAT, SHM_STAT_ANY):  # ident is a slot: the answer is the identifier
        segment = next((s for s in segments.by_id.values()
                        if s.ident % SEQ_MULTIPLIER == ident), None)
        if segment is None:
            raise KernelError(Errno.EINVAL, f"no segment in slot {ident}")
    elif cmd in (IPC_STAT, IPC_SET, IPC_RMID, SHM_LOCK, SHM_UNLOCK):
        segment = segments.get(ident)
    else:
        raise KernelError(Errno.EINVAL, f"shmctl command {cmd}")
    if cmd in (IPC_STAT, SHM_STAT, SHM_STAT_ANY):
        if cmd != SHM_STAT_ANY and not allowed(t, segment, 4):
            raise KernelError(Errno.EACCES, f"segment {segment.ident}")
        mode = segment.mode | (SHM_DEST if segment.removed else 0)
        aspace.copy_out(buf, SHMID_DS.pack(
            IPC_PRIVATE if segment.removed else segment.key, segment.uid, segment.gid,
            segment.cuid, segment.cgid, mode, segment.ident // SEQ_MULTIPLIER & 0xFFFF, 0, 0,
            segment.size, segment.atime, segment.dtime, segment.ctime, segment.cpid,
            segment.lpid, segment.attachments(), 0, 0))
        return segment.ident if cmd != IPC_STAT else 0
    if cmd in (IPC_SET, IPC_RMID):
        state = linux(t.process)
        if not state.creds.capable(CAP_SYS_ADMIN) and state.creds.euid not in (segment.uid,
                                                                    segment.cuid):
            raise KernelError(Errno.EPERM, f"segment {ident} belongs to another user")
        if cmd == IPC_SET:
            fields = SHMID_DS.unpack(aspace.copy_in(buf, SHMID_DS.size))
            segment.uid, segment.gid = fields[1], fields[2]
            segment.mode = fields[5] & 0o777
            segment.ctime = int(time.time())
        else:
            segment.removed = True
            segments.collect()
    return 0
