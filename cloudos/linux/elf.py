"""The ELF loader: x86_64 executables, static (ET_EXEC, static-pie) and dynamic.

Owns: checking an ELF file, mapping its PT_LOAD segments with their
permissions into an address space — and, for a dynamic program, its PT_INTERP
loader (ld.so) in the mmap area, started first with AT_BASE and AT_ENTRY —
and building the initial stack (argc, argv, envp, auxiliary vector) as Linux's
binfmt_elf lays it out.
Never: runs anything; the caller starts a thread at ``Image.entry``.
Called by: ``linux.process`` (exec of init today; execve with issue 4).
"""

from __future__ import annotations

import io
import os
import secrets
import struct
from dataclasses import dataclass
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.vm import PAGE_MASK, PIE_BASE, AddressSpace, Prot
from cloudos.linux.layout import find_free
from cloudos.linux.pagecache import FileId, PageCache

EM_X86_64 = 62
PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
STACK_INITIAL = 128 << 10

# Auxiliary vector keys (include/uapi/linux/auxvec.h).
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = 23, 25, 26, 31
HWCAP = 0x078BFBFF  # CPUID.1:EDX of the emulated CPU family: fpu..sse2, what glibc reads


class ExecError(Exception):
    """A file that cannot be executed; ``errno`` is what execve would return."""

    def __init__(self, errno: int, message: str) -> None:
        super().__init__(message)
        self.errno = errno


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


def _check(elf: ELFFile, path: str) -> None:
    header = elf.header
    if elf.elfclass != 64 or not elf.little_endian or header.e_machine != "EM_X86_64":
        raise ExecError(8, f"{path}: not an x86_64 ELF executable "
                           f"(class {elf.elfclass}, machine {header.e_machine})")
    if header.e_type not in ("ET_EXEC", "ET_DYN"):
        raise ExecError(8, f"{path}: ELF type {header.e_type} is not executable")


def load(aspace: AddressSpace, data: bytes, path: str, interp: bytes | None = None,
         aslr: bool = False, cache: PageCache | None = None,
         ids: tuple[FileId | None, FileId | None] = (None, None)) -> Image:
    """Map the program in ``data`` (and its dynamic loader ``interp``, if it names one)
    into ``aspace``; ExecError when it is not loadable.

    With ``aslr`` (the guide's address space layout randomization), the base of a
    position-independent program, the mmap area (the loader, libraries) and the
    stack move by random page counts, as Linux's randomize_va_space=2 does.
    """
    elf, segments = _parse(data, path)
    wants_interp = any(s.p_type == "PT_INTERP" for s in segments)
    if wants_interp and interp is None:
        raise ExecError(2, f"{path}: its dynamic loader was not found")
    if aslr:
        aspace.mmap_top -= secrets.randbelow(1 << 16) * PAGE_SIZE  # up to 256 MiB lower
        aspace.stack_top -= secrets.randbelow(1 << 12) * PAGE_SIZE  # up to 16 MiB lower
    pie = PIE_BASE + (secrets.randbelow(1 << 20) * PAGE_SIZE if aslr else 0)
    base = pie if elf.header.e_type == "ET_DYN" else None
    bias = _map_image(aspace, data, segments, base, path, cache, ids[0])
    phdr = next((s.p_vaddr for s in segments if s.p_type == "PT_PHDR"), None)
    if phdr is None:
        first = next(s for s in segments if s.p_type == "PT_LOAD")
        phdr = first.p_vaddr + elf.header.e_phoff - first.p_offset
    exec_stack = any(s.p_type == "PT_GNU_STACK" and s.p_flags & PF_X for s in segments)
    entry = elf.header.e_entry + bias
    if not wants_interp or interp is None:
        return Image(entry, phdr + bias, elf.header.e_phnum, exec_stack, entry, 0)
    ld, ld_segments = _parse(interp, "dynamic loader")
    if ld.header.e_type != "ET_DYN":
        raise ExecError(8, f"{path}: its dynamic loader is not position-independent")
    span = _span(ld_segments)
    ld_bias = _map_image(aspace, interp, ld_segments, find_free(aspace, span), "ld.so", cache,
                         ids[1])
    return Image(ld.header.e_entry + ld_bias, phdr + bias, elf.header.e_phnum, exec_stack,
                 entry, ld_bias)


def interpreter_of(data: bytes) -> str | None:
    """The PT_INTERP path of an ELF program (its dynamic loader), or None."""
    try:
        for segment in ELFFile(io.BytesIO(data)).iter_segments():
            if segment.header.p_type == "PT_INTERP":
                return str(segment.get_interp_name())  # type: ignore[attr-defined]
    except (ELFError, struct.error, ValueError):
        pass
    return None


def _parse(data: bytes, path: str) -> tuple[ELFFile, list[Any]]:
    try:
        elf = ELFFile(io.BytesIO(data))
        _check(elf, path)
        segments = [seg.header for seg in elf.iter_segments()]
    except (ELFError, struct.error, ValueError) as err:
        raise ExecError(8, f"{path}: malformed ELF file ({err})") from None
    if not any(s.p_type == "PT_LOAD" for s in segments):
        raise ExecError(8, f"{path}: malformed ELF file (no PT_LOAD segment)")
    return elf, segments


def _span(segments: list[Any]) -> int:
    loads = [s for s in segments if s.p_type == "PT_LOAD"]
    low = min(s.p_vaddr for s in loads) & PAGE_MASK
    return max(s.p_vaddr + s.p_memsz for s in loads) - low


def _map_image(aspace: AddressSpace, data: bytes, segments: list[Any], base: int | None,
               path: str, cache: PageCache | None = None, file: FileId | None = None) -> int:
    """Map every PT_LOAD; position-independent images go at ``base``. Returns the bias."""
    loads = [s for s in segments if s.p_type == "PT_LOAD"]
    bias = 0 if base is None else base - (min(s.p_vaddr for s in loads) & PAGE_MASK)
    for seg in loads:
        _map_segment(aspace, data, seg, bias, path, cache, file)
    return bias


def _map_segment(aspace: AddressSpace, data: bytes, seg: Any, bias: int, path: str,
                 cache: PageCache | None = None, file: FileId | None = None) -> None:
    vaddr, offset = seg.p_vaddr + bias, seg.p_offset  # type: ignore[attr-defined]
    filesz, memsz, flags = seg.p_filesz, seg.p_memsz, seg.p_flags  # type: ignore[attr-defined]
    if filesz > memsz or offset + filesz > len(data) or (vaddr - offset) % PAGE_SIZE:
        raise ExecError(8, f"{path}: malformed ELF file (bad PT_LOAD at {vaddr:#x})")
    prot = Prot((PF_R & flags and Prot.READ) | (PF_W & flags and Prot.WRITE)
                | (PF_X & flags and Prot.EXEC))
    start = vaddr & PAGE_MASK
    try:
        aspace.add(start, vaddr + memsz - start, prot, os.path.basename(path))
    except Exception as err:
        raise ExecError(8, f"{path}: segment at {vaddr:#x} cannot be mapped ({err})") from None
    # As with a file mapping, the first page carries the file bytes before the segment too.
    file_start = offset - (vaddr - start)
    # Pages of file bytes come from the page cache, the last one whole, as Linux maps it;
    # unless bss begins in it: then that page is a private copy, zeroed past the file bytes.
    end = vaddr + filesz
    whole = (end + PAGE_SIZE - 1) & PAGE_MASK if memsz == filesz else end & PAGE_MASK
    if cache is not None and file is not None and whole > start:
        cache.map(aspace, start, file, file_start, data[file_start:file_start + whole - start])
        start, file_start = whole, file_start + whole - start
    if file_start < offset + filesz:  # the rest (the page bss begins in): a private copy
        aspace.copy_out(start, data[file_start:offset + filesz], force=True)


def build_stack(aspace: AddressSpace, image: Image, argv: list[bytes], envp: list[bytes],
                execfn: bytes, ids: tuple[int, int, int, int]) -> int:
    """Create the stack VMA and lay out argc/argv/envp/auxv; return the initial RSP."""
    prot = Prot.READ | Prot.WRITE | (Prot.EXEC if image.exec_stack else Prot.NONE)
    top = aspace.stack_top
    aspace.add(top - STACK_INITIAL, STACK_INITIAL, prot, "[stack]", grows_down=True)
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
    auxv = [AT_PHDR, image.phdr, AT_PHENT, 56, AT_PHNUM, image.phnum, AT_PAGESZ, PAGE_SIZE,
            AT_BASE, image.base, AT_FLAGS, 0, AT_ENTRY, image.program_entry, AT_UID, uid,
            AT_EUID, euid,
            AT_GID, gid, AT_EGID, egid, AT_SECURE, 0, AT_RANDOM, rand, AT_HWCAP, HWCAP,
            AT_HWCAP2, 0, AT_CLKTCK, 100, AT_PLATFORM, platform, AT_EXECFN, fn, AT_NULL, 0]
    words = [len(argv), *arg_ptrs, 0, *env_ptrs, 0, *auxv]
    strings_bottom = top - len(blob)
    rsp = (strings_bottom - 8 * len(words)) & ~15
    if aspace.stack_top - rsp > STACK_INITIAL:
        raise ExecError(7, "argument list too long")  # E2BIG
    aspace.copy_out(rsp, struct.pack(f"<{len(words)}Q", *words))
    aspace.copy_out(strings_bottom, bytes(blob))
    return rsp
