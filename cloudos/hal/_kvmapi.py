"""The Linux KVM API as ctypes: ioctl numbers, the structures they take, the ioctl call.

Owns nothing but the ABI (``linux/kvm.h`` for x86_64); ``hal.kvm`` is the CPU built
on it. Layouts are checked against their C sizes when the module loads.
"""

from __future__ import annotations

import ctypes
import os

u8, u16, u32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64


def _io(nr: int) -> int:
    return 0xAE00 | nr


def _iow(nr: int, size: int) -> int:
    return (1 << 30) | (size << 16) | 0xAE00 | nr


def _ior(nr: int, size: int) -> int:
    return (2 << 30) | (size << 16) | 0xAE00 | nr


def _iowr(nr: int, size: int) -> int:
    return (3 << 30) | (size << 16) | 0xAE00 | nr


GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15", "rip", "rflags")


class Regs(ctypes.Structure):
    _fields_ = [(name, u64) for name in GPRS]


class Segment(ctypes.Structure):
    _fields_ = [("base", u64), ("limit", u32), ("selector", u16), ("type", u8),
                ("present", u8), ("dpl", u8), ("db", u8), ("s", u8), ("l", u8), ("g", u8),
                ("avl", u8), ("unusable", u8), ("padding", u8)]


class Dtable(ctypes.Structure):
    _fields_ = [("base", u64), ("limit", u16), ("padding", u16 * 3)]


class Sregs(ctypes.Structure):
    _fields_ = [*((name, Segment) for name in ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt")),
                ("gdt", Dtable), ("idt", Dtable),
                *((name, u64) for name in ("cr0", "cr2", "cr3", "cr4", "cr8", "efer",
                                           "apic_base")),
                ("interrupt_bitmap", u64 * 4)]


class Run(ctypes.Structure):
    """struct kvm_run, with the exits CloudOS reads (io, internal error, fail entry)
    overlaid on the 256-byte exit union, and the synchronised registers after it."""

    _fields_ = [("request_interrupt_window", u8), ("immediate_exit", u8), ("padding1", u8 * 6),
                ("exit_reason", u32), ("ready_for_interrupt_injection", u8), ("if_flag", u8),
                ("flags", u16), ("cr8", u64), ("apic_base", u64),
                ("exit", u64 * 32),
                ("kvm_valid_regs", u64), ("kvm_dirty_regs", u64),
                ("regs", Regs), ("sregs", Sregs)]


class MemoryRegion(ctypes.Structure):
    _fields_ = [("slot", u32), ("flags", u32), ("guest_phys_addr", u64),
                ("memory_size", u64), ("userspace_addr", u64)]


class MsrEntry(ctypes.Structure):
    _fields_ = [("index", u32), ("reserved", u32), ("data", u64)]


class CpuidEntry(ctypes.Structure):
    _fields_ = [("function", u32), ("index", u32), ("flags", u32), ("eax", u32), ("ebx", u32),
                ("ecx", u32), ("edx", u32), ("padding", u32 * 3)]


class Xcr(ctypes.Structure):
    _fields_ = [("xcr", u32), ("reserved", u32), ("value", u64)]


class Xcrs(ctypes.Structure):
    _fields_ = [("nr_xcrs", u32), ("flags", u32), ("xcrs", Xcr * 16), ("padding", u64 * 16)]


class Xsave(ctypes.Structure):
    _fields_ = [("region", u8 * 4096)]


assert ctypes.sizeof(Regs) == 144 and ctypes.sizeof(Sregs) == 312
assert Run.kvm_valid_regs.offset == 288 and Run.regs.offset == 304  # type: ignore[attr-defined]

API_VERSION = 12  # the only one there has ever been (KVM_GET_API_VERSION)
GET_API_VERSION, CREATE_VM, CHECK_EXTENSION, GET_VCPU_MMAP_SIZE = (_io(0), _io(1), _io(3),
                                                                   _io(4))
GET_SUPPORTED_CPUID = _iowr(0x05, 8)
CREATE_VCPU = _io(0x41)
SET_USER_MEMORY_REGION = _iow(0x46, ctypes.sizeof(MemoryRegion))
SET_TSS_ADDR = _io(0x47)
RUN = _io(0x80)
GET_REGS, SET_REGS = _ior(0x81, 144), _iow(0x82, 144)
GET_SREGS, SET_SREGS = _ior(0x83, 312), _iow(0x84, 312)
SET_MSRS = _iow(0x89, 8)
SET_CPUID2 = _iow(0x90, 8)
SET_SIGNAL_MASK = _iow(0x8B, 4)
GET_XSAVE, SET_XSAVE = _ior(0xA4, 4096), _iow(0xA5, 4096)
SET_XCRS = _iow(0xA7, ctypes.sizeof(Xcrs))
GET_VCPU_EVENTS, SET_VCPU_EVENTS = _ior(0x9F, 64), _iow(0xA0, 64)
# struct kvm_vcpu_events opens with the exception: injected, nr, has_error_code, pending,
# then the error code (u32); its payload flag (u8) and payload (u64) are at 55 and 56
EVENT_EXCEPTION_INJECTED, EVENT_EXCEPTION_NR, EVENT_EXCEPTION_PENDING = 0, 1, 3
EVENT_EXCEPTION_ERROR_CODE = 4
EVENT_EXCEPTION_HAS_PAYLOAD, EVENT_EXCEPTION_PAYLOAD = 55, 56

CAP_SYNC_REGS = 74
SYNC_X86_REGS, SYNC_X86_SREGS = 1, 2

EXIT_NAMES = {0: "unknown", 1: "exception", 2: "io", 3: "hypercall", 4: "debug", 5: "hlt",
              6: "mmio", 7: "irq window open", 8: "shutdown (triple fault)", 9: "fail entry",
              10: "intr", 17: "internal error"}
EXIT_IO, EXIT_HLT, EXIT_INTR = 2, 5, 10

_libc = ctypes.CDLL(None, use_errno=True)
_ioctl = _libc.ioctl
_ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
_ioctl.restype = ctypes.c_int


def ioctl(fd: int, request: int, arg: object = None) -> int:
    """ioctl(2) (the GIL released while it runs); OSError on failure, EINTR included."""
    pointer = ctypes.addressof(arg) if isinstance(arg, ctypes.Structure | ctypes.Array) else arg
    result = _ioctl(fd, request, pointer)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"KVM ioctl {request:#x}: {os.strerror(errno)}")
    return int(result)


def run(fd: int) -> int:
    """KVM_RUN: 0, or the errno (EINTR: a signal or ``immediate_exit`` stopped it)."""
    if _ioctl(fd, RUN, None) < 0:
        return ctypes.get_errno()
    return 0


def cpuid_buffer(entries: int) -> ctypes.Array[ctypes.c_uint8]:
    """A struct kvm_cpuid2 with room for ``entries`` entries, nent set."""
    buf = (ctypes.c_uint8 * (8 + entries * ctypes.sizeof(CpuidEntry)))()
    u32.from_buffer(buf).value = entries
    return buf


def cpuid_entries(buf: ctypes.Array[ctypes.c_uint8]) -> ctypes.Array[CpuidEntry]:
    count = u32.from_buffer(buf).value
    return (CpuidEntry * count).from_buffer(buf, 8)
