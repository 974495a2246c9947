"""Core dumps: the ELF core file of a process killed by a signal whose default action
dumps core (SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU,
SIGXFSZ, SIGSYS), when its RLIMIT_CORE allows one.

Owns: the file's layout, as Linux writes it for x86_64 and as gdb and readelf read it:
an ELF header (ET_CORE, EM_X86_64); a PT_NOTE with one NT_PRSTATUS per thread (the
signal, the ids, the user registers) and NT_PRPSINFO (state, ids, name, arguments);
then one PT_LOAD per mapping with its bytes. (No NT_AUXV, NT_FILE or FPU notes.) Pages
never touched read as zero and are not allocated; PROT_NONE mappings are recorded
without contents. The core bit of the wait status (WCOREDUMP).
Its name: the guest's /proc/sys/kernel/core_pattern expanded as Linux's
format_corename (%p %P %i %I %u %g %s %t %h %e %E %c %d %%; kernel/core_uses_pid).
Never: writes the file: the VFS does, where the name says (relative: in the process's
working directory), cut to RLIMIT_CORE; a pattern piping to a helper ("|...") writes
nothing (no helper runs on the host for a guest).
Called by: the kernel's ``on_dying`` hook (the machine wires it), while the process's
memory is still there.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from cloudos.hal import regs as X

from cloudos.abi import sysctl
from cloudos.abi.signal import DEFAULT_CORE
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.pagetable import FRAME_MASK, PRESENT
from cloudos.kernel.task import Process
from cloudos.linux.elf import EM_X86_64, PF_R, PF_W, PF_X, PT_LOAD
from cloudos.linux.process import RLIM_INFINITY, RLIMIT_CORE, linux

CORE_DUMPED = 0x80  # in the wait status
ET_CORE, PT_NOTE = 4, 4
PHNUM_MAX = 0xFFFF  # e_phnum: past it Linux moves the count to a section header (PN_XNUM)
NT_PRSTATUS, NT_PRPSINFO = 1, 3
EHDR = struct.Struct("<4sBBBBB7xHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
# struct user_regs_struct, in order
USER_REGS = ("R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8", "RAX", "RCX",
             "RDX", "RSI", "RDI", "RAX", "RIP", "CS", "RFLAGS", "RSP", "SS", "FS_BASE",
             "GS_BASE", "DS", "ES", "FS", "GS")
REG_IDS = tuple(getattr(X, f"UC_X86_REG_{name}") for name in USER_REGS)


def _note(kind: int, desc: bytes) -> bytes:
    name = b"CORE\0"
    return (struct.pack("<III", len(name), len(desc), kind) + name.ljust(8, b"\0")
            + desc.ljust((len(desc) + 3) & ~3, b"\0"))


def _prstatus(process: Process, thread: Any, signal: int) -> bytes:
    cpu = process.kernel.cpu
    regs = [cpu.context_reg(thread.context, r) if thread.context is not None else 0
            for r in REG_IDS]
    regs[15] = regs[10]  # orig_rax: what a debugger shows as the call number
    head = struct.pack("<iiihxxQQiiii", signal, 0, 0, signal, 0, 0, thread.tid,
                       process.parent.pid if process.parent else 0, process.pgid, process.sid)
    times = bytes(64)  # utime, stime, cutime, cstime
    return head + times + struct.pack("<27Q", *(r & 0xFFFF_FFFF_FFFF_FFFF for r in regs)) \
        + struct.pack("<i4x", 1)


def _prpsinfo(process: Process) -> bytes:
    state = linux(process)
    args = process.cmdline.replace(b"\0", b" ").strip()[:80]
    return struct.pack("<BcBbxxxxQIIiiii16s80s", 0, b"R", 0, 0, 0, state.uid, state.gid,
                       process.pid, process.parent.pid if process.parent else 0,
                       process.pgid, process.sid, process.name.encode()[:16], args)


def _contents(process: Process, start: int, end: int) -> bytes:
    """The bytes of [start, end): present pages from their frames, the others zero."""
    aspace, ram = process.aspace, process.kernel.ram
    out = bytearray(end - start)
    for va, pte in aspace.pt.mapped(start, end):
        if pte & PRESENT:
            frame = pte & FRAME_MASK
            out[va - start:va - start + PAGE_SIZE] = ram.bytes[frame:frame + PAGE_SIZE]
    return bytes(out)


def core_image(process: Process, signal: int, limit: int = RLIM_INFINITY) -> bytes:
    """The ELF core file of ``process``, killed by ``signal``, cut at ``limit`` bytes.

    A guest decides how large its mappings are, so the image is built only up to the
    limit and never past the machine's RAM (Linux writes a sparse file; this one is
    built in host memory), and it lists at most 0xFFFE mappings (e_phnum's 16 bits)."""
    threads = [t for t in process.threads if t.context is not None] or process.threads[:1]
    notes = b"".join(_note(NT_PRSTATUS, _prstatus(process, t, signal)) for t in threads)
    notes += _note(NT_PRPSINFO, _prpsinfo(process))
    vmas = list(process.aspace.vmas)[:PHNUM_MAX - 1]
    headers = EHDR.size + PHDR.size * (1 + len(vmas))
    first = (headers + len(notes) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    phdrs = [PHDR.pack(PT_NOTE, 0, headers, 0, 0, len(notes), 0, 4)]
    offset, body = first, bytearray()
    room = (min(limit, process.kernel.frames.total_bytes) - first) & ~(PAGE_SIZE - 1)
    for vma in vmas:
        size = vma.end - vma.start
        length = size if vma.prot else 0
        flags = (PF_R if vma.prot & 1 else 0) | (PF_W if vma.prot & 2 else 0) \
            | (PF_X if vma.prot & 4 else 0)
        phdrs.append(PHDR.pack(PT_LOAD, flags, offset, vma.start, 0, length, size,
                               PAGE_SIZE))
        offset += length
        take = min(length, room - len(body))
        if take > 0:
            body += _contents(process, vma.start, vma.start + take)
    ehdr = EHDR.pack(b"\x7fELF", 2, 1, 1, 0, 0, ET_CORE, EM_X86_64, 1, 0, EHDR.size, 0, 0,
                     EHDR.size, PHDR.size, len(phdrs), 0, 0, 0)
    head = ehdr + b"".join(phdrs) + notes
    image = head.ljust(first, b"\0") + body
    return image if limit == RLIM_INFINITY else image[:limit]


def on_dying(process: Process) -> bytes | None:
    """The core file of a process dying by a core-dumping signal, if its limit allows one
    (its wait status then gets the core bit); else None."""
    signal = process.killed_by
    if signal not in DEFAULT_CORE or not hasattr(process.personality, "rlimits"):
        return None
    limit = linux(process).rlimits[RLIMIT_CORE][0]
    if limit == 0:
        return None
    linux(process).core_dumped = True
    return core_image(process, signal, limit)


def core_name(process: Process, signal: int) -> bytes | None:
    """The core file's path from kernel/core_pattern (None: a pipe to a helper)."""
    table = sysctl.of(process.kernel)
    pattern = table.core_pattern.encode()
    if pattern.startswith(b"|"):
        return None
    state = linux(process)
    exe = process.exe.replace(b"/", b"!")
    values = {b"p": b"%d" % process.pid, b"P": b"%d" % process.pid,
              b"i": b"%d" % process.pid, b"I": b"%d" % process.pid,
              b"u": b"%d" % state.uid, b"g": b"%d" % state.gid, b"s": b"%d" % signal,
              b"t": b"%d" % int(time.time()), b"h": state.uts.nodename,
              b"e": process.name.encode().replace(b"/", b"!"), b"E": exe,
              b"c": b"%d" % state.rlimits[RLIMIT_CORE][0], b"d": b"%d" % state.dumpable,
              b"%": b"%"}
    name, i = bytearray(), 0
    while i < len(pattern):
        if pattern[i:i + 1] == b"%" and i + 1 < len(pattern):
            name += values.get(pattern[i + 1:i + 2], b"")  # an unknown one: dropped
            i += 2
        else:
            name += pattern[i:i + 1]
            i += 1
    if table.number("kernel/core_uses_pid") and b"%p" not in pattern:
        name += b".%d" % process.pid
    return bytes(name)


def dumped(process: Process) -> bool:
    return bool(getattr(process.personality, "core_dumped", False))
