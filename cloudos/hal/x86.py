"""The x86_64 machine both CPU backends implement: CloudOS's physical layout, descriptor
tables and control registers, and the ``Trap`` a run of guest code ends in.

Owns the facts ``hal.cpu`` (Unicorn) and ``hal.kvm`` (KVM) share and the kernel and
personality read (page-fault error bits, selectors, where the tables live); nothing
here imports either engine, so a KVM machine never loads Unicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from cloudos.abi.dataclass import dataclass
from cloudos.abi.enums import Enum
from cloudos.hal import regs as X

# Low guest-physical memory belongs to the machine, like a PC's first megabyte.
LOW_RESERVED = 1 << 20
GDT_PHYS = 0x1000
IDT_PHYS = 0x2000
TSS_PHYS = 0x3000
STUB_PHYS = 0x4000
KSTACK_PHYS = 0x5000  # one page per CPU from here; its top holds iretq frames
MAX_CPUS = 16
# Everything above is mapped at KERNEL_BASE + physical, supervisor-only.
KERNEL_BASE = 0xFFFF_8000_0000_0000

# Selectors in Linux's GDT layout, so guest programs see Linux's CS and SS.
KERNEL_CS, KERNEL_DS = 0x10, 0x18
USER_DS, USER_CS = 0x2B, 0x33
TSS_SEL = 0x40

EFER_MSR = 0xC0000080
EFER = (1 << 0) | (1 << 8) | (1 << 10) | (1 << 11)  # SCE, LME, LMA, NXE
CR0 = (1 << 0) | (1 << 1) | (1 << 5) | (1 << 16) | (1 << 31)  # PE, MP, NE, WP, PG
CR4 = (1 << 5) | (1 << 9) | (1 << 10)  # PAE, OSFXSR, OSXMMEXCPT; no OSXSAVE: no AVX
USER_RFLAGS = 0x202  # IF and the always-one bit
# Null, 32/64-bit kernel code, kernel data, 32-bit user code, user data, 64-bit user code;
# the TSS descriptor follows (two entries).
GDT = [0, 0x00CF9B000000FFFF, 0x00AF9B000000FFFF, 0x00CF93000000FFFF,
       0x00CFFB000000FFFF, 0x00CFF3000000FFFF, 0x00AFFB000000FFFF, 0]

# The registers a system call reads, in order: number, then the six arguments.
# A system call's handler: (number, six arguments) -> RAX, or None to stop the CPU.
SyscallHandler = Callable[[int, int, int, int, int, int, int], "int | None"]
SYSCALL_REGS = (X.UC_X86_REG_RAX, X.UC_X86_REG_RDI, X.UC_X86_REG_RSI, X.UC_X86_REG_RDX,
                X.UC_X86_REG_R10, X.UC_X86_REG_R8, X.UC_X86_REG_R9)


class TrapKind(Enum):
    """Why guest execution stopped."""

    SYSCALL = "syscall"                  # the syscall handler asked to stop
    PAGE_FAULT = "page fault"            # vector 14
    GENERAL_PROTECTION = "general protection"  # vector 13
    INVALID_OPCODE = "invalid opcode"    # vector 6
    DIVIDE_ERROR = "divide error"        # vector 0
    BREAKPOINT = "breakpoint"            # vector 3
    EXCEPTION = "exception"              # any other vector
    QUANTUM_EXPIRED = "quantum expired"  # the timer ran out
    EXIT = "exit"                        # the CPU cannot go on (emulator error)


DEBUG_VECTOR = 1  # #DB: what a single step ends in
PF_PRESENT, PF_WRITE, PF_USER, PF_FETCH = 1, 2, 4, 16  # x86 page-fault error code bits


@dataclass(frozen=True, slots=True)
class Trap:
    """A stop of guest execution: its kind, RIP, the vector, and for page faults CR2 and
    the error code (``PF_*`` bits: present, write, user, instruction fetch)."""

    kind: TrapKind
    rip: int
    vector: int = -1
    address: int = 0
    error: int = 0
    detail: str = ""

# A thread's saved state as the kernel names it in annotations (``hal.kvm.KvmContext`` has
# the same interface); the class is Unicorn's, so at run time only a placeholder.
if TYPE_CHECKING:
    from cloudos.hal.cpu import CpuContext as CpuContext
else:
    CpuContext = object


# The FPU's state at reset (FNINIT, and what Linux gives a new program or a signal handler):
# XMM0-15 zero, MXCSR 0x1f80 and the x87 control word 0x37f (every exception masked,
# 64-bit precision), in ``vector_registers``' order.
FPU_INIT = [0] * 16 + [0x1F80, 0x37F]
