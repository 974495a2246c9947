"""The ELF loader: x86_64 executables, static (ET_EXEC, static-pie) and dynamic.

Owns: checking an ELF file as Linux's binfmt_elf does, mapping its PT_LOAD
segments with their permissions into an address space — and, for a dynamic
program, its PT_INTERP loader (ld.so) in the mmap area, started first with
AT_BASE and AT_ENTRY — and building the initial stack (argc, argv, envp,
auxiliary vector) as binfmt_elf lays it out.
Never: runs anything (the caller starts a thread at ``Image.entry``), or trusts
a field of the file: every offset, size and address is checked before use, so a
malformed file is an ``ExecError``, never another exception.
Called by: ``linux.process`` (``load_program``, for init and execve).
"""

from __future__ import annotations

import os
import struct

from cloudos.abi.dataclass import dataclass
from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.vm import (MMAP_FLOOR, PAGE_MASK, PIE_BASE, STACK_RESERVE, USER_END,
                                  AddressSpace, Prot, page_align)
from cloudos.linux import maps
from cloudos.linux.aspace import LinuxAddressSpace
from cloudos.linux.layout import find_free
from cloudos.linux.pagecache import EAGER_COPY_MAX, FileId, PageCache

ET_EXEC, ET_DYN, EM_X86_64 = 2, 3, 62
PT_LOAD, PT_INTERP, PT_GNU_STACK = 1, 3, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
# a PT_LOAD's p_flags (its PF_R, PF_W and PF_X) -> its protection (made once: an IntFlag
# operation costs microseconds, and an exec maps several segments)
_SEGMENT_PROT = [Prot((flags & PF_R and Prot.READ) | (flags & PF_W and Prot.WRITE)
                      | (flags & PF_X and Prot.EXEC)) for flags in range(8)]
ELF_MAGIC = b"\x7fELF"
# e_ident's magic, e_type, e_machine, e_entry, e_phoff, e_phentsize, e_phnum
ELF_HEADER = struct.Struct("<4s12xHH4xQQ14xHH6x")
PROGRAM_HEADER = struct.Struct("<IIQQ8xQQ8x")  # type, flags, offset, vaddr, filesz, memsz
PHDRS_MAX = 65536  # Linux refuses a program header table larger than this
PATH_MAX = 4096
OFFSET_MAX = 1 << 63  # a file offset (loff_t) is signed: beyond it a read is EINVAL
ELIBBAD = 80  # "accessing a corrupted shared library": a malformed dynamic loader
STACK_INITIAL = 128 << 10
U64 = (1 << 64) - 1

# Auxiliary vector keys (include/uapi/linux/auxvec.h).
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ = 0, 3, 4, 5, 6
AT_BASE, AT_FLAGS, AT_ENTRY = 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_SYSINFO_EHDR = 23, 25, 26, 31, 33
HWCAP = 0x078BFBFF  # CPUID.1:EDX of the emulated CPU family: fpu..sse2, what glibc reads


class ExecError(Exception):
    """A file that cannot be executed; ``errno`` is what execve would return.

    ``fatal``: Linux finds this fault only after execve's point of no return (the old
    program is gone by then), so the caller dies of SIGSEGV instead of seeing an error.
    """

    def __init__(self, errno: int, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.errno = errno
        self.fatal = fatal


def _fatal(path: str, why: str, errno: int = Errno.EINVAL) -> ExecError:
    return ExecError(errno, f"{path}: cannot be loaded ({why})", fatal=True)


@dataclass(frozen=True)
class Segment:
    """One program header."""

    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class Header:
    """The checked ELF header of a file and its program headers."""

    type: int
    entry: int
    phoff: int
    segments: tuple[Segment, ...]

    @property
    def loads(self) -> list[Segment]:
        return [s for s in self.segments if s.type == PT_LOAD]


@dataclass(frozen=True)
class Image:
    """A loaded program: where it starts and what the stack needs to describe it.

    ``entry`` is where the thread starts: the dynamic loader's entry when there is one
    (at ``base``), else the program's own (``program_entry``, AT_ENTRY either way).
    """

    entry: int
    phdr: int
    phnum: int
    exec_stack: bool
    program_entry: int
    base: int


def parse(data: bytes, path: str, errno: int = Errno.ENOEXEC) -> Header:
    """The header checks Linux makes before it commits to a program: magic, type,
    machine, and a program header table of the right entry size within the file.
    ``errno`` is what a failure returns (ELIBBAD for a dynamic loader)."""
    if len(data) < ELF_HEADER.size or not data.startswith(ELF_MAGIC):
        raise ExecError(errno, f"{path}: not an ELF file")
    magic, etype, machine, entry, phoff, phentsize, phnum = ELF_HEADER.unpack_from(data)
    if etype not in (ET_EXEC, ET_DYN) or machine != EM_X86_64:
        raise ExecError(errno, f"{path}: not an x86_64 ELF executable (type {etype}, "
                               f"machine {machine})")
    size = phentsize * phnum
    if phentsize != PROGRAM_HEADER.size or not 0 < size <= PHDRS_MAX \
            or phoff + size > len(data):
        raise ExecError(errno, f"{path}: malformed ELF file (program headers)")
    segments = tuple(Segment(*PROGRAM_HEADER.unpack_from(data, phoff + i * PROGRAM_HEADER.size))
                     for i in range(phnum))
    return Header(etype, entry, phoff, segments)


def interpreter(data: bytes, header: Header, path: str) -> bytes | None:
    """The path its first PT_INTERP names (None: a static program), with Linux's errors:
    a size outside 2..PATH_MAX or no NUL at its end ENOEXEC, a short read EIO."""
    seg = next((s for s in header.segments if s.type == PT_INTERP), None)
    if seg is None:
        return None
    if not 2 <= seg.filesz <= PATH_MAX:
        raise ExecError(Errno.ENOEXEC, f"{path}: malformed PT_INTERP (size {seg.filesz})")
    if seg.offset >= OFFSET_MAX:
        raise ExecError(Errno.EINVAL, f"{path}: PT_INTERP at offset {seg.offset:#x}")
    raw = data[seg.offset:seg.offset + seg.filesz]
    if len(raw) < seg.filesz:
        raise ExecError(Errno.EIO, f"{path}: PT_INTERP past the end of the file")
    if raw[-1]:
        raise ExecError(Errno.ENOEXEC, f"{path}: PT_INTERP is not NUL-terminated")
    return raw[:raw.index(0)]


def check(data: bytes, path: str, loader: bytes | None) -> tuple[Header, Header | None]:
    """What Linux checks of a program and its dynamic loader before its point of no
    return; ExecError with Linux's errno. ``loader``: the bytes of the file its
    PT_INTERP names (None when the caller found none)."""
    header = parse(data, path)
    name = interpreter(data, header, path)
    if name is None:
        return header, None
    if not name:
        raise ExecError(Errno.EACCES, f"{path}: its dynamic loader has an empty name")
    if loader is None:
        raise ExecError(Errno.ENOENT, f"{path}: its dynamic loader was not found")
    if len(loader) < ELF_HEADER.size:
        raise ExecError(Errno.EIO, f"{path}: its dynamic loader is too short")
    return header, parse(loader, f"{path}: dynamic loader {os.fsdecode(name)}", ELIBBAD)


# The checked headers of programs (and their loaders) loaded before, by their identities:
# a file keeps its identity only while its bytes stay the same (pagecache.FileId).
_CHECKED: dict[tuple[FileId, FileId | None], tuple[Header, Header | None]] = {}
CHECKED_MAX = 256


def _checked(data: bytes, path: str, interp: bytes | None,
             ids: tuple[FileId | None, FileId | None]) -> tuple[Header, Header | None]:
    """``check``, or what it found for the same files before."""
    if ids[0] is None or (interp is None) != (ids[1] is None):
        return check(data, path, interp)
    key = (ids[0], ids[1])
    found = _CHECKED.get(key)
    if found is None:
        found = check(data, path, interp)
        if len(_CHECKED) >= CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = found
    return found


def load(aspace: AddressSpace, data: bytes, path: str, interp: bytes | None = None,
         layout: int = 0, cache: PageCache | None = None,
         ids: tuple[FileId | None, FileId | None] = (None, None),
         loader_path: bytes = b"") -> Image:
    """Map the program in ``data`` (and its dynamic loader ``interp``, if it names one)
    into ``aspace``; ExecError when it is not loadable (``fatal`` past the checks Linux
    makes before committing to it).

    ``layout``: 64 random bits (``aslr.bits``; 0: fixed addresses) by which the base of a
    position-independent program, the mmap area (the loader, libraries), the stack and
    the heap move by page counts, as Linux's randomize_va_space=2 does.
    The segments are recorded (``maps``) as mappings of ``path`` and of ``loader_path``
    (its PT_INTERP name when not given).
    """
    header, ld = _checked(data, path, interp, ids)
    # The random page counts of the layout, from one draw of 64 bits
    # (each a power of two: bits taken apart are as random as separate draws).
    bits = layout
    aspace.mmap_top -= (bits & 0xFFFF) * PAGE_SIZE  # up to 256 MiB lower
    aspace.stack_top -= (bits >> 16 & 0xFFF) * PAGE_SIZE  # up to 16 MiB lower
    pie = PIE_BASE + (bits >> 28 & 0xFFFFF) * PAGE_SIZE
    bias = _map_image(aspace, data, header, pie if header.type == ET_DYN else None, path,
                      cache, ids[0], os.fsencode(path))
    # The heap begins after the program (at a random page within 32 MiB with ASLR), as on
    # Linux: it may grow until a mapping is in its way, whatever the machine's size.
    end = max(s.vaddr + s.memsz for s in header.loads) + bias
    aspace.brk_start = aspace.brk = page_align(end) + (
        (bits >> 48 & 0x1FFF) * PAGE_SIZE)
    entry = _entry(header, bias, path)
    phdr = _phdr_address(header) + bias & U64
    exec_stack = any(s.type == PT_GNU_STACK and s.flags & PF_X for s in header.segments)
    phnum = len(header.segments)
    if ld is None or interp is None:
        return Image(entry, phdr, phnum, exec_stack, entry, 0)
    if ld.type == ET_DYN:
        try:
            base: int | None = find_free(aspace, _span(ld, path))
        except KernelError as err:
            raise _fatal(path, f"no room for its dynamic loader: {err}", err.errno) from None
    else:
        base = None
    ld_bias = _map_image(aspace, interp, ld, base, f"{path}: dynamic loader", cache, ids[1],
                         loader_path or interpreter(data, header, path) or b"")
    return Image(_entry(ld, ld_bias, path), phdr, phnum, exec_stack, entry, ld_bias)


def _entry(header: Header, bias: int, path: str) -> int:
    entry = (header.entry + bias) & U64  # the addition wraps, as in Linux
    if entry >= USER_END:
        raise _fatal(path, f"entry point {entry:#x} outside user space")
    return entry


def _phdr_address(header: Header) -> int:
    """AT_PHDR before relocation: where the PT_LOAD holding the program headers maps them
    (0 when none does), as Linux computes it; PT_PHDR is not trusted."""
    for seg in header.loads:
        if seg.offset <= header.phoff < seg.offset + seg.filesz:
            return header.phoff - seg.offset + seg.vaddr
    return 0


def _span(header: Header, path: str) -> int:
    loads = header.loads
    if not loads:
        raise _fatal(path, "no PT_LOAD segment")
    low = min(s.vaddr for s in loads) & PAGE_MASK
    span = max(s.vaddr + s.memsz for s in loads) - low
    if not 0 < span <= USER_END:
        raise _fatal(path, f"its segments span {span:#x} bytes")
    return span


def _map_image(aspace: AddressSpace, data: bytes, header: Header, base: int | None,
               path: str, cache: PageCache | None = None, file: FileId | None = None,
               name: bytes = b"") -> int:
    """Map every PT_LOAD; position-independent images go at ``base``. Returns the bias."""
    _span(header, path)
    loads = header.loads
    bias = 0 if base is None else base - (min(s.vaddr for s in loads) & PAGE_MASK)
    for seg in loads:
        _check_segment(aspace, data, seg, bias, path)
    for seg in loads:
        _map_segment(aspace, data, seg, bias, path, cache, file)
        # the file's pages, then its bss past them: anonymous memory, as Linux shows it
        start, vaddr = (seg.vaddr + bias) & PAGE_MASK, seg.vaddr + bias
        file_end, end = page_align(vaddr + seg.filesz), page_align(vaddr + seg.memsz)
        maps.record(aspace, start, file_end - start, name or None,
                    seg.offset - (vaddr - start), *(file or (0, 0))[:2])
        if end > file_end:
            maps.record(aspace, file_end, end - file_end, None)
    return bias


def _check_segment(aspace: AddressSpace, data: bytes, seg: Segment, bias: int,
                   path: str) -> None:
    """The faults Linux finds while mapping (after its point of no return): ExecError."""
    vaddr = seg.vaddr + bias
    if seg.filesz > seg.memsz or seg.offset + seg.filesz > len(data) \
            or (seg.vaddr - seg.offset) % PAGE_SIZE:
        raise _fatal(path, f"bad PT_LOAD at {seg.vaddr:#x}")
    if not MMAP_FLOOR <= vaddr <= vaddr + seg.memsz <= USER_END:
        raise _fatal(path, f"segment at {vaddr & U64:#x} outside user space")
    if seg.memsz - seg.filesz > aspace.frames.total_bytes:
        raise _fatal(path, f"segment at {vaddr:#x} larger than memory", Errno.ENOMEM)


def _map_segment(aspace: AddressSpace, data: bytes, seg: Segment, bias: int, path: str,
                 cache: PageCache | None = None, file: FileId | None = None) -> None:
    vaddr, offset, filesz, memsz = seg.vaddr + bias, seg.offset, seg.filesz, seg.memsz
    prot = _SEGMENT_PROT[seg.flags & (PF_R | PF_W | PF_X)]
    start = vaddr & PAGE_MASK
    try:
        aspace.add(start, vaddr + memsz - start, prot, os.path.basename(path))
        # As with a file mapping, the first page carries the file bytes before the segment
        # too. Pages of file bytes come from the page cache, the last one whole, as Linux
        # maps it; unless bss begins in it: then that page is a private copy, zeroed past
        # the file bytes.
        file_start = offset - (vaddr - start)
        end = vaddr + filesz
        whole = (end + PAGE_SIZE - 1) & PAGE_MASK if memsz == filesz else end & PAGE_MASK
        if cache is not None and file is not None and whole > start:
            cache.map(aspace, start, file, file_start,
                      memoryview(data)[file_start:file_start + whole - start])
            start, file_start = whole, file_start + whole - start
        # The rest (the page bss begins in) is a private copy. A small writable segment's
        # bss is filled now too, as its data pages are copied now (``EAGER_COPY_MAX``):
        # programs write it first thing, and a fault costs far more than a zeroed page
        # (a static program's start: two faults).
        tail = data[file_start:offset + filesz] if file_start < offset + filesz else b""
        bss, last = page_align(vaddr + filesz), page_align(vaddr + memsz)
        eager = seg.flags & PF_W and bss < last and last - (vaddr & PAGE_MASK) <= EAGER_COPY_MAX
        if eager and isinstance(aspace, LinuxAddressSpace):
            aspace.fill(start, tail, (last - start) // PAGE_SIZE)  # (one run: copy and bss)
        else:
            if tail:
                aspace.copy_out(start, tail, force=True)
            for page in range(bss, last if eager else bss, PAGE_SIZE):
                aspace.user_frame(page, True)
    except KernelError as err:  # out of memory, most likely
        raise _fatal(path, f"segment at {vaddr:#x}: {err}", err.errno) from None


def env_area(stack_top: int, execfn: bytes, envp: list[bytes]) -> tuple[int, int]:
    """Where ``build_stack`` puts the environment strings (Linux's mm->env_start and
    env_end: what /proc/<pid>/environ shows): just below execfn, below the top word."""
    end = stack_top - 8 - len(execfn) - 1
    return end - sum(len(e) + 1 for e in envp), end


def saved_auxv(aspace: AddressSpace, rsp: int, argc: int, envc: int) -> bytes:
    """A copy of the auxiliary vector ``build_stack`` laid out above ``rsp``, AT_NULL's
    pair included (Linux's mm->saved_auxv: what /proc/<pid>/auxv shows, whatever the
    program writes over its stack later)."""
    start = rsp + 8 * (1 + argc + 1 + envc + 1)
    pairs: list[bytes] = []
    while not pairs or pairs[-1][:8] != bytes(8):
        pairs.append(aspace.copy_in(start + 16 * len(pairs), 16))
    return b"".join(pairs)


_STACK_PROT = {False: Prot.READ | Prot.WRITE, True: Prot.READ | Prot.WRITE | Prot.EXEC}


def build_stack(aspace: AddressSpace, image: Image, argv: list[bytes], envp: list[bytes],
                execfn: bytes, ids: tuple[int, int, int, int], vdso: int = 0) -> int:
    """Create the stack VMA and lay out argc/argv/envp/auxv; return the initial RSP.
    ``vdso``: where the vDSO's ELF header is mapped (AT_SYSINFO_EHDR; 0: none).

    The stack starts at STACK_INITIAL, or more when the strings need it (execve has
    bounded them by then: ``sys_fork``'s argument limits)."""
    prot = _STACK_PROT[image.exec_stack]
    top = aspace.stack_top
    # Strings go at the top, highest first: execfn, envp, argv, platform, random bytes.
    blob = bytearray()
    top -= 8  # Linux leaves the last word zero

    def push(raw: bytes) -> int:
        blob[:0] = raw
        return top - len(blob)

    fn = push(execfn + b"\0")
    env_ptrs = [push(e + b"\0") for e in reversed(envp)][::-1]
    arg_ptrs = [push(a + b"\0") for a in reversed(argv)][::-1]
    platform = push(b"x86_64\0")
    rand = push(os.urandom(16))
    uid, euid, gid, egid = ids
    auxv = [AT_PHDR, image.phdr, AT_PHENT, PROGRAM_HEADER.size, AT_PHNUM, image.phnum,
            AT_PAGESZ, PAGE_SIZE, AT_BASE, image.base, AT_FLAGS, 0,
            AT_ENTRY, image.program_entry, AT_UID, uid, AT_EUID, euid,
            AT_GID, gid, AT_EGID, egid, AT_SECURE, int(uid != euid or gid != egid),
            AT_RANDOM, rand, AT_HWCAP, HWCAP,
            AT_HWCAP2, 0, AT_CLKTCK, 100, AT_PLATFORM, platform, AT_EXECFN, fn,
            *((AT_SYSINFO_EHDR, vdso) if vdso else ()), AT_NULL, 0]
    words = [len(argv), *arg_ptrs, 0, *env_ptrs, 0, *auxv]
    strings_bottom = top - len(blob)
    rsp = (strings_bottom - 8 * len(words)) & ~15
    size = max(STACK_INITIAL, (aspace.stack_top - rsp + STACK_INITIAL) & PAGE_MASK)
    if size > STACK_RESERVE:
        raise ExecError(Errno.E2BIG, "argument list too long")
    aspace.add(aspace.stack_top - size, size, prot, "[stack]", grows_down=True)
    aspace.copy_out(rsp, struct.pack(f"<{len(words)}Q", *(w & U64 for w in words)))
    aspace.copy_out(strings_bottom, bytes(blob))
    return rsp
