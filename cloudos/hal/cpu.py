"""One virtual x86_64 CPU: a Unicorn instance in long mode with paging on.

Owns the processor: its descriptor tables (GDT, IDT, TSS written into low
guest-physical memory), control registers, the ring-0 entry stub, and the
translation of everything that stops guest execution into a typed ``Trap``.
It knows nothing of processes: the kernel hands it a ``CpuContext`` and a
quantum and gets back a ``Trap``. Fast-path system calls are served inside the
SYSCALL hook through ``syscall_handler``, installed by the kernel.

Guest code runs at CPL 3. A new context starts in a ring-0 stub whose only
instruction is ``iretq``, so privileged instructions (``hlt``, ``mov cr3``,
``in``/``out``) raise #GP and user accesses to supervisor pages raise #PF.

Unicorn delivers CPU exceptions to a hook instead of through the IDT and never
clears the CPU's "exception in progress" state, so the second fault would
become a double fault. After each exception that state is patched back, and the
page-fault error code (which the hook does not receive) is read from the saved
CPU state (``_FaultState``); both fields are found at boot by faulting on
purpose, not hard-coded. ``notes/unicorn-facts.md`` has the evidence.

Preemption is a stop from a timer thread (``_QuantumTimer``), exact because
Unicorn's checks for it in the middle of blocks are turned off at boot
(``_exact_stops``): a stop lands at the start of a block, never after a store of
an instruction that would then run again.
"""

from __future__ import annotations

import ctypes
import mmap
import random
import struct
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Sequence

from unicorn import (UC_ARCH_X86, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INSN, UC_HOOK_INTR,
                     UC_HOOK_MEM_WRITE, UC_MODE_64)
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_ERR_INSN_INVALID
from unicorn import x86_const as X
from unicorn.unicorn_py3.arch.intel import UcIntel
from unicorn.unicorn_py3.unicorn import Uc, UcError
from unicorn.unicorn_py3.unicorn import uclib  # the C API, for the hot paths below

from cloudos.hal import _preempt  # type: ignore[attr-defined]
from cloudos.hal.ram import PhysicalMemory
# The machine's layout and the Trap, shared with hal.kvm: their home is hal.x86 (named here
# too, for the callers of old).
from cloudos.hal.x86 import (CR0, CR4, DEBUG_VECTOR, EFER, EFER_MSR, FPU_INIT,  # noqa: F401
                             GDT, GDT_PHYS, IDT_PHYS, KERNEL_BASE, KERNEL_CS, KERNEL_DS,
                             KSTACK_PHYS, LOW_RESERVED, MAX_CPUS, PF_FETCH, PF_PRESENT,
                             PF_USER, PF_WRITE, STUB_PHYS, SYSCALL_REGS, TSS_PHYS, TSS_SEL,
                             USER_CS, USER_DS, USER_RFLAGS, SyscallHandler, Trap, TrapKind)

if TYPE_CHECKING:
    from cloudos.hal.smp import Smp

_STUB = bytes.fromhex(
    "48cf"                      # +0  iretq: enter user mode from the frame on the stack
    "0fa2"                      # +2  cpuid: the boot-time probe of what Unicorn reports
    "00000000"
    "488b042500000000"          # +8  mov rax, [0]: boot-time fault probe (read)
    "4889042500000000"          # +16 mov [0], rax: boot-time fault probe (write)
    "f4"                        # +24 hlt: IDT target and emu_start's never-reached end
    "48ff00" "48ff00" "f4"      # +25 inc qword [rax] twice, hlt: the boot-time stop probe
)
_IRETQ, _PROBE_CPUID, _PROBE_READ, _PROBE_WRITE, _HALT, _PROBE_STOP = 0, 2, 8, 16, 24, 25

# CPUID leaf 7 features hidden from the guest on Unicorn: ERMS (EBX bit 9) and FSRM (EDX
# bit 4) make glibc's memcpy/memset use ``rep movsb``/``rep stosb``, which Unicorn's TCG
# runs slowly; glibc's SSE2 loops are ~3.5x faster here (bench/file_rw.c, README).
CPUID_LEAF7_HIDDEN_EBX, CPUID_LEAF7_HIDDEN_EDX = 1 << 9, 1 << 4
_VECTOR_KIND = {0: TrapKind.DIVIDE_ERROR, 3: TrapKind.BREAKPOINT, 6: TrapKind.INVALID_OPCODE,
                13: TrapKind.GENERAL_PROTECTION, 14: TrapKind.PAGE_FAULT}


class CpuContext:
    """The saved register state of one guest thread (a Unicorn context blob).

    ``entry`` is set until a new context first runs: the (RIP, RSP) its ``iretq``
    frame will hold. The frame is written just before that run, on the kernel stack
    page of the CPU that runs it. ``cpu`` is the CPU whose registers hold the context
    now (None: ``saved`` does); a context is portable between a machine's CPUs.
    ``root`` is its page tables (CR3), which a context keeps for life.
    """

    def __init__(self, cpu: "Cpu") -> None:
        self.saved = cpu.uc.context_save()
        # The saved blob as 64-bit words, where RAX and RIP are read and written in place
        # (``Cpu.slots``): the binding's UcContext.reg_write costs microseconds.
        address = ctypes.cast(self.saved.context, ctypes.c_void_p).value
        self.words = (ctypes.c_uint64 * cpu.context_words).from_address(address or 0)
        self.address = address or 0  # (for ``_preempt.swap``)
        self.entry: tuple[int, int] | None = None
        self.cpu: Cpu | None = None
        self.root = 0
        # May its address space write code (a writable and executable mapping, or an
        # executable one shared)? A guest's write to code is seen only by the Unicorn
        # that made it, so on a multiprocessor such contexts drop a CPU's translations
        # when they run there after any of them ran elsewhere (see ``run``).
        self.writes_code = False
        # Run one instruction, then trap as a debug exception (a tracer's PTRACE_SINGLESTEP).
        self.single_step = False


XMM = tuple(getattr(X, f"UC_X86_REG_XMM{i}") for i in range(16)) + (X.UC_X86_REG_MXCSR,
                                                                   X.UC_X86_REG_FPCW)


class Cpu:
    """A virtual x86_64 CPU bound to ``ram``. Call ``start`` once page tables exist.

    ``index`` numbers the CPUs of one machine; each has its own kernel stack page.
    On a multiprocessor (``smp`` set, see ``hal.smp``) guest code runs without the
    machine's lock and the hooks take it; ``thread`` is what the kernel runs on
    this CPU (opaque here).
    """

    name = "Unicorn"
    # Are lock-prefixed instructions atomic between this machine's CPUs? Not in Unicorn
    # (notes/unicorn-facts.md): threads that share memory must take turns.
    atomics_shared = False
    # Can ``run`` stop after one instruction (``CpuContext.single_step``)?
    can_single_step = True
    # How far RIP stands before the call's return address in the SYSCALL hook: Unicorn
    # runs the hook before RIP moves past the SYSCALL (2 bytes), as it does once it returns
    hook_rip_lag = 2

    def __init__(self, ram: PhysicalMemory, index: int = 0) -> None:
        if not 0 <= index < MAX_CPUS:
            raise ValueError(f"CPU {index}: at most {MAX_CPUS} CPUs")
        self.ram, self.index = ram, index
        self.kstack = KSTACK_PHYS + index * 0x1000
        self.smp: Smp | None = None
        self.thread: Any = None
        self.slice = (0.0, 0.0)  # the kernel's: when the running slice began, its system time
        self.in_guest = False  # guest code may run now: its TLB and code cache are in use
        self.holding = False   # this CPU's host thread holds the machine's lock
        self.parked = False    # idle, waiting for work (or its loop has ended)
        self.tlb_stale = self.code_stale = False  # another CPU changed what they cache
        self.out = threading.Event()  # set while not in guest code (shootdowns wait on it)
        self.out.set()
        self.uc: UcIntel = UcIntel(UC_ARCH_X86, UC_MODE_64)
        self.uc.mem_map_ptr(0, ram.size, 7, ram.host_address)
        # Serves a SYSCALL inside the hook: gets RAX (the number) and the six argument
        # registers, returns RAX to go on with, or None to stop the CPU (the thread blocked
        # or exited, or a signal waits; a handler that stops writes RAX itself if it must).
        self.syscall_handler: SyscallHandler = lambda *_regs: None
        # Resolves a page fault (CR2, RIP, error code) in place, without leaving emu_start;
        # False stops the CPU with a PAGE_FAULT trap. Leaving and re-entering costs ~110 µs.
        self.fault_handler: Callable[[int, int, int], bool] = lambda _a, _r, _e: False
        self._vector = -1
        self._cr2 = self._error = 0
        self._stopped_in_syscall = False
        # A single step (``_step``): the instruction it runs, whether a page fault made it
        # start again, whether the CPU stopped after it.
        self._step_at: int | None = None
        self._step_fault = self._step_done = False
        self._gp_rip = 0  # where an instruction a hook refused stands (see _general_protection)
        self._loaded: CpuContext | None = None
        self._faults: _FaultState | None = None
        self._swap: tuple[int | None, int, int, int, int, int] = (0, 0, 0, -1, 0, 0)  # start
        # The live state's exception latch may be set (see _reset_latch): cleared in the
        # context saved at the next switch, or in the live state before it runs again.
        self._latched = False
        self.slots: dict[int, int] = {}  # register -> word of a saved context (_slots)
        self.context_bytes = len(bytes(self.uc.context_save()))
        self.context_words = self.context_bytes // 8
        # before any code is translated: stops land at block starts only
        self._no_exit_request = _exact_stops(self.uc, self.context_bytes)
        self._no_exit_request.value = 1
        self._timer = _QuantumTimer(self.uc)
        self._stress: random.Random | None = None
        self._stress_hook: _Stress | None = None
        self._stress_handle = 0
        # The binding's register calls cost ~10 µs each in Python glue; the syscall path
        # calls the C API with buffers made once (measured: 12.3 -> 1.6 µs per syscall).
        self._handle = self.uc._uch
        self._arg_ids = (ctypes.c_int * 7)(*SYSCALL_REGS)
        self._args = (ctypes.c_uint64 * 7)()
        self._arg_ptrs = (ctypes.c_void_p * 7)(
            *(ctypes.addressof(self._args) + 8 * i for i in range(7)))
        self._value = ctypes.c_uint64()
        self._value_ref = ctypes.byref(self._value)
        # XMM0-15, MXCSR, FPCW as 16-byte slots: a signal frame's FPU state in one batch
        # call each way, not 18 binding calls (measured: 255 -> ~7 us per frame).
        self._vec = (ctypes.c_ubyte * (16 * len(XMM)))()
        self._vec_ids = (ctypes.c_int * len(XMM))(*XMM)
        self._vec_ptrs = (ctypes.c_void_p * len(XMM))(
            *(ctypes.addressof(self._vec) + 16 * i for i in range(len(XMM))))
        self._batches: dict[tuple[int, ...], tuple[Any, Any, Any]] = {}
        self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        self._gate = _Gate(self._on_syscall, _c_address(uclib.uc_reg_read_batch),
                           _c_address(uclib.uc_reg_write), _c_address(uclib.uc_emu_stop),
                           (ctypes.c_int * 7)(*SYSCALL_REGS), X.UC_X86_REG_RAX,
                           timer=self._timer.handle)
        _hook_add(self.uc, UC_HOOK_INSN, _preempt.gate_address(), self._gate,
                  ctypes.c_int(X.UC_X86_INS_SYSCALL))
        # Unicorn runs port I/O and SYSENTER at ring 3 (in returns 0) where the CPU would
        # check IOPL 0 and the TSS's I/O bitmap, or SYSENTER_CS 0: #GP, as on hardware.
        self.uc.hook_add(UC_HOOK_INSN, self._on_port_in, aux1=X.UC_X86_INS_IN)
        self.uc.hook_add(UC_HOOK_INSN, self._on_port_out, aux1=X.UC_X86_INS_OUT)
        self.uc.hook_add(UC_HOOK_INSN, self._on_sysenter, aux1=X.UC_X86_INS_SYSENTER)
        self._write_tables()

    # -- boot -----------------------------------------------------------------
    def _write_tables(self) -> None:
        gdt = list(GDT)
        tss_base, tss_limit = KERNEL_BASE + TSS_PHYS, 0x67
        gdt += [(tss_limit & 0xFFFF) | ((tss_base & 0xFFFFFF) << 16) | (0x89 << 40)
                | (((tss_base >> 24) & 0xFF) << 56), tss_base >> 32]
        self.ram.write(GDT_PHYS, struct.pack(f"<{len(gdt)}Q", *gdt))
        halt = KERNEL_BASE + STUB_PHYS + _HALT
        gate = struct.pack("<HHBBHII", halt & 0xFFFF, KERNEL_CS, 0, 0x8E,
                           (halt >> 16) & 0xFFFF, halt >> 32, 0)
        self.ram.write(IDT_PHYS, gate * 256)
        # TSS: RSP0 is the kernel stack; the I/O bitmap offset lies past the limit.
        tss = bytearray(0x68)
        struct.pack_into("<Q", tss, 4, KERNEL_BASE + KSTACK_PHYS + 0x1000)
        struct.pack_into("<H", tss, 0x66, 0x68)
        self.ram.write(TSS_PHYS, tss)
        self.ram.write(STUB_PHYS, _STUB)

    def start(self, kernel_cr3: int) -> None:
        """Architecture setup: paging on, descriptor tables loaded, ring 0, fault latch
        calibrated."""
        uc = self.uc
        uc.msr_write(EFER_MSR, EFER)
        uc.reg_write(X.UC_X86_REG_CR3, kernel_cr3)
        uc.reg_write(X.UC_X86_REG_CR4, CR4)
        uc.reg_write(X.UC_X86_REG_CR0, CR0)
        uc.reg_write(X.UC_X86_REG_GDTR, (0, KERNEL_BASE + GDT_PHYS, 10 * 8 - 1, 0))
        uc.reg_write(X.UC_X86_REG_IDTR, (0, KERNEL_BASE + IDT_PHYS, 256 * 16 - 1, 0))
        uc.reg_write(X.UC_X86_REG_TR, (TSS_SEL, KERNEL_BASE + TSS_PHYS, 0x67, 0x8B00))
        uc.reg_write(X.UC_X86_REG_SS, KERNEL_DS)
        # the FPU as Linux gives a new program (and KVM's reset): x87 exceptions masked,
        # 64-bit precision; SSE exceptions masked (Unicorn starts both at 0)
        self.set_vector_registers(FPU_INIT)
        self._faults = _FaultState.calibrate(self)
        if self._probe_stop() != 2:
            raise RuntimeError("Unicorn still stops in the middle of a block: preemption "
                               "would replay stores (see _exact_stops)")
        # the ~20 CPUIDs a program's start runs (glibc's feature probe) in C: a ctypes
        # callback cost ~4 us each
        self._cpuid = _Cpuid(_c_address(uclib.uc_reg_read), _c_address(uclib.uc_reg_write),
                             (ctypes.c_int * 4)(X.UC_X86_REG_RAX, X.UC_X86_REG_RBX,
                                                X.UC_X86_REG_RCX, X.UC_X86_REG_RDX),
                             (ctypes.c_uint64 * 4)(*self._probe_leaf7()))
        _hook_add(uc, UC_HOOK_INSN, _preempt.cpuid_address(), self._cpuid,
                  ctypes.c_int(X.UC_X86_INS_CPUID))
        self.slots = _slots(uc)
        # (CR3 is patched in a new context's blob: a reg_write costs ~10 us and a TLB flush)
        self._cr3_slot = _slot(uc, X.UC_X86_REG_CR3, 0x0C3C_3000_5EED_0000)
        self._pristine = uc.context_save()
        # ``switch``'s constant arguments to ``_preempt.swap``: the engine, where RIP, RAX
        # and the exception latch lie in a context, and the quantum timer's state.
        _preempt.swap_setup(_c_address(uclib.uc_context_save),
                            _c_address(uclib.uc_context_restore), _c_address(uclib.uc_ctl),
                            _TLB_FLUSH)
        faults = self._faults
        assert faults is not None
        self._swap = (_c_address(self._handle), self.slots[X.UC_X86_REG_RIP],
                      self.slots[X.UC_X86_REG_RAX], faults.latch >> 3, faults.latch_bits,
                      self._timer.handle)

    # -- contexts -------------------------------------------------------------
    def new_context(self, cr3: int, rip: int, rsp: int) -> CpuContext:
        """A context that enters user mode at ``rip`` with stack ``rsp`` and address space
        ``cr3``: the pristine state with CR3 patched in its blob (the live CPU untouched)."""
        ctx = CpuContext(self)
        ctypes.memmove(ctx.saved.context, self._pristine.context, self.context_bytes)
        ctx.words[self._cr3_slot] = cr3
        ctx.entry, ctx.root = (rip, rsp), cr3
        return ctx

    def _enter_user(self, ctx: CpuContext) -> None:
        """Point a loaded new context at the iretq stub, with its frame on the kernel stack."""
        assert ctx.entry is not None
        rip, rsp = ctx.entry
        frame = struct.pack("<5Q", rip, USER_CS, USER_RFLAGS, rsp, USER_DS)
        self.ram.write(self.kstack + 0x1000 - len(frame), frame)
        self.set_reg(X.UC_X86_REG_RSP, KERNEL_BASE + self.kstack + 0x1000 - len(frame))
        self.set_reg(X.UC_X86_REG_RIP, KERNEL_BASE + STUB_PHYS + _IRETQ)
        ctx.entry = None

    def clone_context(self, parent: CpuContext, cr3: int, regs: dict[int, int]) -> CpuContext:
        """A copy of ``parent`` with another address space and some registers changed.

        Call it with the CPU stopped (never from a hook): the copy is made by
        editing the live state and saving it, which a running hook would see.
        """
        self.load(parent)
        self._clean_latch()
        if all(reg in self.slots for reg in regs):  # (a fork: RAX) patched in the copy's blob
            child = CpuContext(self)
            for reg, value in regs.items():
                child.words[self.slots[reg]] = value & 0xFFFF_FFFF_FFFF_FFFF
            child.words[self._cr3_slot] = cr3
            child.root = cr3
            return child
        uc = self.uc
        uc.context_update(parent.saved)
        uc.reg_write(X.UC_X86_REG_CR3, cr3)
        for reg, value in regs.items():
            self.set_reg(reg, value)
        child = CpuContext(self)
        child.root = cr3
        uc.context_restore(parent.saved)
        self.flush_tlb()
        return child

    def set_context_reg(self, ctx: CpuContext, reg: int, value: int) -> None:
        """Set a general register of a thread that is not running (e.g. RAX on wake-up)."""
        if ctx.cpu is not None:
            ctx.cpu.set_reg(reg, value)
        elif reg in self.slots:
            ctx.words[self.slots[reg]] = value & 0xFFFF_FFFF_FFFF_FFFF
        else:
            ctx.saved.reg_write(reg, value & 0xFFFF_FFFF_FFFF_FFFF)

    def set_context_result(self, ctx: CpuContext, value: int) -> None:
        """The value a sleeping thread's system call returns (its RAX)."""
        self.set_context_reg(ctx, X.UC_X86_REG_RAX, value)

    def restart_syscall(self, ctx: CpuContext, number: int) -> None:
        """Make a stopped thread execute its SYSCALL instruction (2 bytes) again."""
        self.set_context_reg(ctx, X.UC_X86_REG_RAX, number)
        self.set_context_reg(ctx, X.UC_X86_REG_RIP, self.context_reg(ctx, X.UC_X86_REG_RIP) - 2)

    def context_reg(self, ctx: CpuContext, reg: int) -> int:
        if ctx.cpu is not None:
            return ctx.cpu.reg(reg)
        if reg in self.slots:
            return int(ctx.words[self.slots[reg]])
        return int(ctx.saved.reg_read(reg))

    def _switch_out(self) -> None:
        if self._loaded is not None:
            self.uc.context_update(self._loaded.saved)
            if self._latched:
                assert self._faults is not None
                self._faults.clear_saved(self._loaded.words)
            self._loaded.cpu = None
            self._loaded = None

    @property
    def loaded(self) -> CpuContext | None:
        """The context whose state the CPU holds now."""
        return self._loaded

    def load(self, ctx: CpuContext) -> None:
        """Make ``ctx`` the CPU's state (saving the previous one)."""
        if self._loaded is ctx:
            return
        if ctx.cpu is not None:  # it last ran on another CPU, which still holds it
            ctx.cpu._switch_out()
        before = self._loaded
        self._switch_out()
        _check(uclib.uc_context_restore(self._handle, ctx.saved.context))  # (not the binding's)
        self._latched = False
        # The restored CR3 may name other page tables. Another thread of the same address
        # space keeps the TLB, as on Linux: page-table changes flush it themselves (a
        # shootdown marks a CPU whose loaded context has that root).
        if before is None or before.root != ctx.root:
            self.drop_tlb()
        self._loaded, ctx.cpu = ctx, self

    def flush_tlb(self, root: int = 0) -> None:
        """Drop this CPU's cached translations. With ``root`` (page tables whose entries
        changed) on a multiprocessor: those of the CPU running the kernel now, and of
        every other CPU running on ``root`` (a TLB shootdown)."""
        if root and self.smp is not None:
            self.smp.shootdown(root)
        else:
            self.drop_tlb()

    def drop_tlb(self) -> None:
        """This CPU's cached translations only."""
        # The binding has no wrapper for this control; the call is uc_ctl(TLB_FLUSH),
        # made on the C API (the binding's ctl encodes its arguments at every call).
        _check(uclib.uc_ctl(self._handle, _TLB_FLUSH))

    def drop_code(self) -> None:
        """This CPU's translated code only."""
        self.uc.ctl_flush_tb()

    def invalidate_code(self) -> None:
        """Forget translated code: RAM written by the kernel (not the guest) may hold new
        code. On a multiprocessor every CPU forgets it."""
        if self.smp is not None:
            self.smp.shootdown(0)
        else:
            self.uc.ctl_flush_tb()

    def stress(self, seed: int | None) -> None:
        """Testing: end every run after a random 1-8 blocks (seeded), so that every
        preemption point, the rarest included, is taken often (races a loaded host
        shows once in thousands of runs show in a few). A block hook counts them: it
        is in every block translated from now on, until ``stress(None)``."""
        if seed is None:
            if self._stress_hook is not None:
                _check(uclib.uc_hook_del(self._handle, ctypes.c_size_t(self._stress_handle)))
                self._stress, self._stress_hook = None, None
                self.drop_code()
            return
        self._stress = random.Random(seed)
        if self._stress_hook is None:
            self._stress_hook = _Stress(_c_address(uclib.uc_emu_stop), 0)
            self._stress_handle = _hook_add(self.uc, UC_HOOK_BLOCK, _preempt.hook_address(),
                                            self._stress_hook)
            self.drop_code()

    def kick(self) -> None:
        """Stop the guest code this CPU runs at its next block (an inter-processor
        interrupt); the trap is QUANTUM_EXPIRED. Between two runs, nothing."""
        self._timer.kick()

    def halt(self, timeout: float | None) -> None:
        """HLT: nothing to run until ``timeout`` seconds pass or, on a multiprocessor,
        another CPU makes work for this one (``wake_others``)."""
        if self.smp is not None:
            self.smp.wait_idle(self, timeout)
        elif timeout is not None and timeout > 0:
            time.sleep(timeout)

    def others_busy(self) -> bool:
        """On a multiprocessor: another CPU runs a thread (so may yet make work)."""
        return self.smp is not None and self.smp.busy()

    def wake_others(self) -> None:
        """There is new work: an idle CPU comes to look (an interprocessor interrupt)."""
        if self.smp is not None:
            self.smp.wake_idle()

    # -- multiprocessor: the machine's lock around guest code -------------------
    def _enter_guest(self) -> None:
        """Catch up on other CPUs' page-table changes; give up the lock; run guest code."""
        if self.tlb_stale:
            self.tlb_stale = False
            self.drop_tlb()
        if self.code_stale:
            self.code_stale = False
            self.uc.ctl_flush_tb()
        self.in_guest = True
        self.out.clear()
        assert self.smp is not None
        self.smp.release(self)

    def _leave_guest(self) -> None:
        """Guest code stopped: take the lock (unless a hook kept it)."""
        self.in_guest = False
        self.out.set()
        assert self.smp is not None
        if not self.holding:
            self.smp.acquire(self)

    # -- registers ------------------------------------------------------------
    def reg(self, reg: int) -> int:
        """A 64-bit register (X.UC_X86_REG_*)."""
        _check(uclib.uc_reg_read(self._handle, reg, self._value_ref))
        return self._value.value

    def set_reg(self, reg: int, value: int) -> None:
        self._value.value = value & 0xFFFF_FFFF_FFFF_FFFF
        _check(uclib.uc_reg_write(self._handle, reg, self._value_ref))

    def registers(self) -> dict[str, int]:
        """The general registers, RIP, RFLAGS, FS base and the control registers, by name."""
        names = ("RIP", "RSP", "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8", "R9",
                 "R10", "R11", "R12", "R13", "R14", "R15", "RFLAGS", "FS_BASE", "CR2", "CR3")
        return {name: self.reg(getattr(X, f"UC_X86_REG_{name}")) for name in names}

    def read_regs(self, regs: tuple[int, ...]) -> list[int]:
        """Several 64-bit registers in one C call (a signal frame's 18: ~27 -> ~3 us)."""
        ids, values, ptrs = self._batch(regs)
        _check(uclib.uc_reg_read_batch(self._handle, ids, ptrs, len(regs)))
        return values[:]

    def write_regs(self, regs: tuple[int, ...], values: Sequence[int]) -> None:
        ids, buffer, ptrs = self._batch(regs)
        buffer[:] = [v & 0xFFFF_FFFF_FFFF_FFFF for v in values]
        _check(uclib.uc_reg_write_batch(self._handle, ids, ptrs, len(regs)))

    def _batch(self, regs: tuple[int, ...]) -> tuple[Any, Any, Any]:
        batch = self._batches.get(regs)
        if batch is None:
            values = (ctypes.c_uint64 * len(regs))()
            ptrs = (ctypes.c_void_p * len(regs))(
                *(ctypes.addressof(values) + 8 * i for i in range(len(regs))))
            batch = self._batches[regs] = ((ctypes.c_int * len(regs))(*regs), values, ptrs)
        return batch

    def syscall_args(self) -> list[int]:
        """RAX (the number) and the six argument registers, in one call."""
        _check(uclib.uc_reg_read_batch(self._handle, self._arg_ids, self._arg_ptrs, 7))
        return self._args[:]

    def set_result(self, value: int) -> None:
        self.set_reg(X.UC_X86_REG_RAX, value)

    def vector_registers(self) -> list[int]:
        """XMM0-15, MXCSR and the x87 control word of the loaded context (what a signal
        handler's caller gets back)."""
        ctypes.memset(self._vec, 0, len(self._vec))  # MXCSR and FPCW fill 4 and 2 bytes
        _check(uclib.uc_reg_read_batch(self._handle, self._vec_ids, self._vec_ptrs, len(XMM)))
        raw = bytes(self._vec)
        return [int.from_bytes(raw[i:i + 16], "little") for i in range(0, len(raw), 16)]

    def set_vector_registers(self, values: list[int]) -> None:
        count = min(len(values), len(XMM))
        raw = b"".join((v & (1 << 128) - 1).to_bytes(16, "little") for v in values[:count])
        ctypes.memmove(self._vec, raw, len(raw))
        _check(uclib.uc_reg_write_batch(self._handle, self._vec_ids, self._vec_ptrs, count))

    # -- execution ------------------------------------------------------------
    def run(self, ctx: CpuContext, quantum_us: int) -> Trap:
        """Run ``ctx`` until it traps or ``quantum_us`` microseconds pass."""
        self.load(ctx)
        self._clean_latch()
        if ctx.entry is not None:
            self._enter_user(ctx)
        uc = self.uc
        self._vector, self._cr2, self._error = -1, 0, 0
        self._stopped_in_syscall = False
        rip = self.reg(X.UC_X86_REG_RIP)
        if not ctx.single_step:  # (a step ends by itself; see _step)
            self._arm(quantum_us)
        smp = self.smp
        if smp is not None:
            if ctx.writes_code and smp.code_cpu is not self:  # code written elsewhere
                smp.code_cpu = self
                self.code_stale = True
            self._enter_guest()
        try:
            if ctx.single_step:
                self._step(rip)
            else:
                end = KERNEL_BASE + STUB_PHYS + _HALT
                uc.emu_start(rip, end)
                # Stopped at the iretq stub of a new context (a block start in ring 0): on
                # to user mode first. Its frame sits on the CPU's one kernel stack page,
                # where the next new context would write its own (issue 11). A kernel's
                # return-to-user path runs with interrupts off, too.
                while self._vector < 0 and not self._stopped_in_syscall \
                        and (rip := self.reg(X.UC_X86_REG_RIP)) == KERNEL_BASE + STUB_PHYS:
                    self._reset_latch()
                    self._clean_latch()
                    uc.emu_start(rip, end)
        except UcError as err:
            rip = self.reg(X.UC_X86_REG_RIP)
            if self._vector >= 0:  # a #GP earlier in the block: the CPU never got here
                return self._trap()
            if err.errno == UC_ERR_INSN_INVALID:  # Unicorn reports #UD this way, not as vector 6
                self._reset_latch()
                return Trap(TrapKind.INVALID_OPCODE, rip, 6)
            return Trap(TrapKind.EXIT, rip, detail=str(err))
        finally:
            self._timer.disarm()
            if smp is not None:
                self._leave_guest()
        if ctx.single_step and self._step_done and self._vector < 0 \
                and not self._stopped_in_syscall:
            self._reset_latch()  # one instruction ran: the #DB of the trap flag
            return Trap(TrapKind.BREAKPOINT, self.reg(X.UC_X86_REG_RIP), DEBUG_VECTOR)
        return self._trap()

    def can_switch(self, ctx: CpuContext) -> bool:
        """May ``switch`` give the CPU to ``ctx`` from the SYSCALL hook? Not to a context
        that has yet to enter user mode (its iretq frame is written before a run), nor
        to or from a single-stepped one, nor on a multiprocessor."""
        loaded = self._loaded
        return (self.smp is None and ctx.entry is None and not ctx.single_step
                and loaded is not None and not loaded.single_step and self._vector < 0)

    def switch(self, ctx: CpuContext, quantum_us: int, result: int | None = None) -> int:
        """In the SYSCALL hook: save the running context as if it had stopped after its
        SYSCALL (with ``result``, not None, as its RAX: what its call returns), make ``ctx``
        the CPU's state with a new quantum, and return its RAX (the
        hook writes it back), so the CPU goes on in ``ctx`` without stopping. Unicorn moves
        RIP past the SYSCALL (2 bytes) after the hook, whatever the hook wrote: the saved
        RIP is set 2 on, and the loaded one 2 back (notes/unicorn-facts.md)."""
        old = self._loaded
        assert old is not None and ctx.cpu is None and old is not ctx  # (can_switch)
        # ``load(ctx)``, its steps in one C call (``_preempt.swap``: the ctypes calls of
        # save, restore and the quantum's arming cost ~1 µs each): the running state is
        # saved with its latch cleared (as at any switch), ``ctx``'s restored, and the
        # quantum armed; the TLB is dropped here for other page tables.
        handle, rip, rax, latch, bits, timer = self._swap
        stress = self._stress is not None
        result = _preempt.swap(handle, old.address, ctx.address, rip, rax, latch, bits,
                               0 if stress else timer, quantum_us * 1000, result,
                               old.root != ctx.root)  # (``drop_tlb`` in the same call)
        old.cpu = None
        self._latched = False
        self._loaded, ctx.cpu = ctx, self
        if stress:
            self._arm(quantum_us)
        return int(result)

    def _arm(self, quantum_us: int) -> None:
        self._timer.arm(quantum_us)
        if self._stress is not None:
            assert self._stress_hook is not None
            self._stress_hook.countdown = max(1, self._stress.randint(-6, 8))

    def _step(self, rip: int) -> None:
        """Run one instruction: a code hook stops the CPU before the next one starts,
        and an instruction a page fault made start again is still the one step. The
        hook is there for the step only: it slows every instruction, and the
        translations made with it are dropped with it."""
        uc = self.uc
        self._step_at, self._step_fault, self._step_done = None, False, False
        hook = uc.hook_add(UC_HOOK_CODE, self._on_step)
        # The hook's stop must land before the next instruction: Unicorn checks for it
        # after each code hook only while its mid-block checks are on (no timer then:
        # those checks also follow every store, where a stop would replay it).
        self._no_exit_request.value = 0
        self.drop_code()
        try:
            uc.emu_start(rip, KERNEL_BASE + STUB_PHYS + _HALT)
        finally:
            uc.hook_del(hook)
            self._no_exit_request.value = 1
            self.drop_code()

    def _on_step(self, uc: Uc, address: int, _size: int, _data: object) -> None:
        if self._step_at is None or address == self._step_at and self._step_fault:
            self._step_at, self._step_fault = address, False  # (a page fault: it runs again)
            return
        self._step_done = True
        uc.emu_stop()

    def _trap(self) -> Trap:
        rip = self.reg(X.UC_X86_REG_RIP)
        self._reset_latch()
        if self._stopped_in_syscall:
            return Trap(TrapKind.SYSCALL, rip)
        vector = self._vector
        if vector < 0:
            return Trap(TrapKind.QUANTUM_EXPIRED, rip)
        if self._gp_rip:
            rip, self._gp_rip = self._gp_rip, 0
            self.set_reg(X.UC_X86_REG_RIP, rip)
        return Trap(_VECTOR_KIND.get(vector, TrapKind.EXCEPTION), rip, vector, self._cr2,
                    self._error)

    def _reset_latch(self) -> None:
        # On every stop, not only after an exception: measured, the latch reads 14
        # after a stop from the SYSCALL hook even when nothing faulted, and after an
        # invalid opcode (which Unicorn reports as an error, not through the hook); a
        # fault racing with the timer can be dropped before reaching the hook yet leave
        # it set. Left set, the context's next fault would be a #DF. The reset waits
        # for what comes next: a switch clears it in the saved context for free (a
        # patch of 4 bytes), and only a context that runs on needs the live state
        # saved, patched and restored (_clean_latch).
        self._latched = True

    def _clean_latch(self) -> None:
        if self._latched:
            assert self._faults is not None
            self._faults.snapshot()
            self._faults.clear()
            self._latched = False

    def _on_interrupt(self, uc: Uc, vector: int, _data: object) -> None:
        if self._vector >= 0:  # after a #GP earlier in this block: the CPU never got here
            return
        smp = self.smp
        if smp is not None:
            self._leave_guest()
        if vector == 14 and self._faults is not None:  # None while calibrating at boot
            # CR2 and the error code do not survive emu_start's return: read them here.
            self._cr2 = self.reg(X.UC_X86_REG_CR2)
            self._error = self._faults.snapshot()
            if not self._error & PF_USER:  # ring 3's `int $0x0e`, not a fault: the gate
                self._vector = 13           # is DPL 0, so the CPU would raise #GP there
                self._gp_rip = self.reg(X.UC_X86_REG_RIP) - 2
                uc.emu_stop()
                return
            if self.fault_handler(self._cr2, self.reg(X.UC_X86_REG_RIP), self._error):
                self._faults.clear()  # the faulting instruction runs again when we return
                self._step_fault = True
                if smp is not None:
                    self._enter_guest()
                return
        self._vector = vector
        uc.emu_stop()  # with the lock kept: the kernel handles the trap before anyone else

    def _general_protection(self) -> None:
        """#GP at the instruction the hook runs for. The stop comes at the end of its
        translation block, so the trap reports the instruction's own RIP, and a SYSCALL
        later in the block is not served (``_on_syscall``). The rest of the block has
        run, though: its register changes and (with Unicorn's mid-block stop checks
        off, ``_exact_stops``) its stores; before, the first store ended it."""
        if self._vector >= 0:
            return
        if self.smp is not None:
            self._leave_guest()
        self._vector = 13
        self._gp_rip = self.reg(X.UC_X86_REG_RIP)
        self.uc.emu_stop()

    def _on_port_in(self, _uc: Uc, _port: int, _size: int, _data: object) -> int:
        self._general_protection()
        return 0

    def _on_port_out(self, _uc: Uc, _port: int, _size: int, _value: int, _data: object) -> None:
        self._general_protection()

    def _probe_stop(self) -> int:
        """Ask for a stop in the middle of a block (a write hook, at the first of two
        ``inc qword [rax]``) and return how many of the two ran: 2 when stops land at
        block starts only, 1 when Unicorn left after the first store (to run that
        instruction again when started again: the replay ``_exact_stops`` prevents)."""
        uc, scratch = self.uc, self.kstack  # (the bottom of this CPU's kernel stack page)
        self.ram.write(scratch, bytes(8))
        hook = uc.hook_add(UC_HOOK_MEM_WRITE, lambda uc, *_args: uc.emu_stop())
        self.drop_code()
        try:
            uc.reg_write(X.UC_X86_REG_RAX, KERNEL_BASE + scratch)
            uc.emu_start(KERNEL_BASE + STUB_PHYS + _PROBE_STOP, KERNEL_BASE + STUB_PHYS + _HALT)
        finally:
            uc.hook_del(hook)
            self.drop_code()
            self.drop_tlb()
        done = int(struct.unpack("<Q", self.ram.read(scratch, 8))[0])
        self.ram.write(scratch, bytes(8))
        return done

    def _probe_leaf7(self) -> tuple[int, int, int, int]:
        """Run CPUID leaf 7 subleaf 0 at ring 0 (before the hook exists); the answer with
        ERMS and FSRM cleared."""
        uc, stub = self.uc, KERNEL_BASE + STUB_PHYS
        uc.reg_write(X.UC_X86_REG_RAX, 7)
        uc.reg_write(X.UC_X86_REG_RCX, 0)
        uc.emu_start(stub + _PROBE_CPUID, stub + _PROBE_CPUID + 2)
        eax, ebx, ecx, edx = (uc.reg_read(r) for r in (X.UC_X86_REG_EAX, X.UC_X86_REG_EBX,
                                                       X.UC_X86_REG_ECX, X.UC_X86_REG_EDX))
        return eax, ebx & ~CPUID_LEAF7_HIDDEN_EBX, ecx, edx & ~CPUID_LEAF7_HIDDEN_EDX

    def cpuid(self, leaf: int, subleaf: int = 0) -> tuple[int, int, int, int]:
        """What CPUID answers guest code for ``leaf`` and ``subleaf`` (EAX, EBX, ECX, EDX),
        less what differs between vCPUs (leaf 1's APIC id): Unicorn's own answers, asked
        of a scratch engine of the same model (this CPU's may be mid-run), with leaf 7's
        hidden features cleared as the CPUID hook clears them."""
        key = (leaf & 0xFFFF_FFFF, subleaf & 0xFFFF_FFFF)
        answer = _cpuid_answers.get(key)
        if answer is None:
            uc = _scratch_engine()
            uc.reg_write(X.UC_X86_REG_RAX, key[0])
            uc.reg_write(X.UC_X86_REG_RCX, key[1])
            uc.emu_start(_SCRATCH_CODE, _SCRATCH_CODE + 2)
            eax, ebx, ecx, edx = (uc.reg_read(r) & 0xFFFF_FFFF for r in (
                X.UC_X86_REG_RAX, X.UC_X86_REG_RBX, X.UC_X86_REG_RCX, X.UC_X86_REG_RDX))
            if key == (7, 0):
                ebx, edx = ebx & ~CPUID_LEAF7_HIDDEN_EBX, edx & ~CPUID_LEAF7_HIDDEN_EDX
            if key[0] == 1:
                ebx &= 0x00FF_FFFF
            answer = _cpuid_answers[key] = (eax, ebx, ecx, edx)
        return answer

    def _on_sysenter(self, _uc: Uc, _data: object) -> None:
        self._general_protection()

    def _on_syscall(self, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                    a5: int) -> int | None:
        """The SYSCALL gate's Python half (``_preempt.c`` reads the registers and writes
        RAX): the handler's RAX, or None to stop the CPU."""
        if self._vector >= 0:  # after a #GP earlier in this block: the CPU never got here
            return None
        smp = self.smp
        if smp is not None:
            self._leave_guest()
        try:
            result = self.syscall_handler(nr, a0, a1, a2, a3, a4, a5)
        except BaseException as err:  # re-raised by emu_start, as the binding's hooks do
            if self.uc._hook_exception is None:
                self.uc._hook_exception = err  # type: ignore[assignment]
            return None
        if result is None:
            self._stopped_in_syscall = True
        elif smp is not None:
            self._enter_guest()
        return result


_SCRATCH_CODE = 0x1000
_scratch: list[UcIntel] = []  # the engine ``Cpu.cpuid`` asks (made at its first use)
_cpuid_answers: dict[tuple[int, int], tuple[int, int, int, int]] = {}


def _scratch_engine() -> UcIntel:
    """An engine of the machine's CPU model with one CPUID instruction mapped."""
    if not _scratch:
        uc = UcIntel(UC_ARCH_X86, UC_MODE_64)
        uc.mem_map(_SCRATCH_CODE, 0x1000, 5)  # (read and execute)
        uc.mem_write(_SCRATCH_CODE, b"\x0f\xa2")  # cpuid
        _scratch.append(uc)
    return _scratch[0]


class _Stress(ctypes.Structure):
    """struct stress of _preempt.c: uc_emu_stop and the blocks left before the stress
    mode's stop (0: none)."""

    _fields_ = [("stop", ctypes.c_void_p), ("countdown", ctypes.c_uint64)]


# uc_ctl's control word: UC_CTL_TLB_FLUSH, no arguments, written (unicorn.h's UC_CTL macro).
_TLB_FLUSH = UC_CTL_TLB_FLUSH | UC_CTL_IO_WRITE << 30


class _Gate(ctypes.Structure):
    """struct gate of _preempt.c: the Python handler, the C API's batch read, register
    write and stop, the ids of the registers a system call reads, RAX's id, room for
    the values read, and the CPU's quantum timer (no stop is made while the gate
    serves a call; one due is made on the way out)."""

    _fields_ = [("handler", ctypes.py_object), ("read_batch", ctypes.c_void_p),
                ("write", ctypes.c_void_p), ("stop", ctypes.c_void_p),
                ("ids", ctypes.c_int * 7), ("rax", ctypes.c_int), ("values", ctypes.c_uint64 * 7),
                ("timer", ctypes.c_void_p)]


class _Cpuid(ctypes.Structure):
    """struct cpuid of _preempt.c: the C API's register read and write, the ids of RAX,
    RBX, RCX and RDX, and their values for leaf 7 subleaf 0 (``_probe_leaf7``)."""

    _fields_ = [("read", ctypes.c_void_p), ("write", ctypes.c_void_p),
                ("ids", ctypes.c_int * 4), ("leaf7", ctypes.c_uint64 * 4)]


def _c_address(function: Any) -> int | None:
    return ctypes.cast(function, ctypes.c_void_p).value



def _hook_add(uc: Uc, kind: int, callback: int, data: ctypes.Structure, *extra: Any) -> int:
    """Install a C hook (an address in _preempt.c) on every address, with ``data``."""
    handle = ctypes.c_size_t()
    _check(uclib.uc_hook_add(uc._uch, ctypes.byref(handle), kind, ctypes.c_void_p(callback),
                             ctypes.cast(ctypes.pointer(data), ctypes.c_void_p),
                             ctypes.c_uint64(1), ctypes.c_uint64(0), *extra))
    return handle.value


class _QuantumTimer:
    """The CPU's preemption timer: a host thread (C, in _preempt.c) that stops the
    vCPU at the quantum's deadline, or at once when another CPU kicks it.

    Its stops come from another thread, which is exact only once ``_exact_stops``
    has turned Unicorn's mid-block checks off (proved at boot by ``_probe_stop``):
    each lands at the start of a block. Nothing runs in the guest's blocks for it:
    the C block hook that read the clock every 64 blocks before cost ~0.7 s of
    compute's 1.8 (bench/compute.c). Arming is a store under a lock; the thread
    wakes only at deadlines (or when armed with an earlier one than it sleeps to).
    """

    def __init__(self, uc: Uc) -> None:
        self.handle = _preempt.timer_new(_c_address(uc._uch), _c_address(uclib.uc_emu_stop))
        # (between runs the thread never touches the engine, so it may close first)
        weakref.finalize(self, _preempt.timer_free, self.handle)

    def arm(self, quantum_us: int) -> None:
        _preempt.timer_arm(self.handle, int(quantum_us) * 1000)

    def disarm(self) -> None:
        _preempt.timer_disarm(self.handle)

    def kick(self) -> None:
        _preempt.timer_kick(self.handle)

    @property
    def stops(self) -> int:
        """Stops the timer has made (some ask again for one not yet seen)."""
        return int(_preempt.timer_stops(self.handle))


def _exact_stops(uc: Uc, context_bytes: int) -> ctypes.c_uint8:
    """Unicorn 2.1.4's ``no_exit_request`` flag, to be set before code is translated.

    Unicorn checks for a stop request at the start of every block (QEMU's check, exact)
    and also after every guest load and store (``check_exit_request``, tcg-op.c), where
    it leaves with the state put back at the start of the instruction that did the
    access: a stop asked from another thread that lands after a store makes the guest
    store again (a ``lock inc`` loop over-counted). With ``no_exit_request`` set those
    mid-block checks are not generated (Unicorn sets it for ARM's IT blocks); the one at
    each block start stays. It is a field of the engine's ``struct uc_struct``, found
    here as ``_FaultState``'s are: by the known values around it (``target_page_size``,
    ``target_page_align``, the host page sizes, ``qemu_icache_linesize``,
    ``context_content``, ``cpu_context_size``, ``next_pc``, then the flags
    ``hook_insert``, ``first_tb``, ``no_exit_request``, ``init_done``); then
    ``Cpu._probe_stop`` proves at boot that it did what it should."""
    base = ctypes.cast(uc._uch, ctypes.c_void_p).value
    assert base is not None
    blob = ctypes.string_at(base, 4096)  # (the struct is larger: its jmp_bufs follow)
    page = mmap.PAGESIZE
    found = []
    for at in range(0, len(blob) - 52, 4):
        size, align, host, real, _line, content, cpu_size = struct.unpack_from("<IIQQiii", blob, at)
        if (size, align, host, real, content) != (4096, 4095, page, page, 1):
            continue
        hook_insert, _first_tb, no_exit, init_done = blob[at + 48:at + 52]
        if 0 < context_bytes - cpu_size <= 64 and (hook_insert, no_exit, init_done) == (0, 0, 1):
            found.append(at + 50)
    if len(found) != 1:
        raise RuntimeError(f"cannot locate Unicorn's no_exit_request flag ({found})")
    return ctypes.c_uint8.from_address(base + found[0])


def _check(status: int) -> None:
    if status:
        raise UcError(status)


class _FaultState:
    """The vCPU's fault bookkeeping that Unicorn's hook path leaves behind.

    Two 32-bit fields of the CPU state, found at boot by faulting on purpose:
    the sticky "exception in progress" field (-1 when idle), which must be reset
    after each handled exception, and the page-fault error code, which tells a
    write from a read and an instruction fetch.
    """

    def __init__(self, cpu: Cpu, latch: int, error: int) -> None:
        self.uc, self.latch, self.error = cpu.uc, latch, error
        self.latch_bits = 0xFFFF_FFFF << 32 if latch & 7 else 0xFFFF_FFFF  # (its 32 of 64)
        self.scratch = cpu.uc.context_save()
        address = ctypes.cast(self.scratch.context, ctypes.c_void_p).value
        assert address is not None
        self.base = address

    @classmethod
    def calibrate(cls, cpu: Cpu) -> "_FaultState":
        """Fault by reading, writing and fetching at ring 0; find the two fields."""
        uc, stub = cpu.uc, KERNEL_BASE + STUB_PHYS
        idle = _ints(bytes(uc.context_save()))
        faults = []
        state: _FaultState | None = None
        for start in (stub + _PROBE_READ, stub + _PROBE_WRITE, KERNEL_BASE + GDT_PHYS):
            uc.emu_start(start, stub + _HALT)
            if cpu._vector != 14:
                raise RuntimeError(f"boot probe expected a page fault, got vector {cpu._vector}")
            cpu._vector = -1
            faults.append(_ints(bytes(uc.context_save())))
            if state is None:
                latch = [i for i, v in enumerate(zip(idle, faults[0])) if v == (-1, 14)]
                if len(latch) != 1:
                    raise RuntimeError(f"cannot locate the CPU exception latch ({latch})")
                state = cls(cpu, latch[0] * 4, 0)
            state.snapshot()
            state.clear()
        error = [i for i, v in enumerate(zip(*faults)) if v == (0, 2, 0x11)]
        if state is None or len(error) != 1:
            raise RuntimeError(f"cannot locate the page-fault error code ({error})")
        state.error = error[0] * 4
        return state

    def snapshot(self) -> int:
        """Save the CPU state into the scratch context; return the page-fault error code."""
        self.uc.context_update(self.scratch)
        return ctypes.c_int32.from_address(self.base + self.error).value

    def clear_saved(self, words: Any) -> None:
        """Reset the latch in a saved context (``CpuContext.words``)."""
        words[self.latch >> 3] |= self.latch_bits

    def clear(self) -> None:
        """Reset the latch in the snapshot and load it back into the CPU."""
        ctypes.memmove(self.base + self.latch, b"\xff\xff\xff\xff", 4)
        self.uc.context_restore(self.scratch)


def _slots(uc: Uc) -> dict[int, int]:
    """Where RAX and RIP lie in a saved context, in 64-bit words."""
    return {X.UC_X86_REG_RAX: _slot(uc, X.UC_X86_REG_RAX, 0x5A17_C0DE_0BAD_F00D),
            X.UC_X86_REG_RIP: _slot(uc, X.UC_X86_REG_RIP, 0x7E57_AB1E_D00D_FEED)}


def _slot(uc: Uc, reg: int, magic: int) -> int:
    """Where ``reg`` lies in a saved context, in 64-bit words: found by saving a known
    value, as the exception latch is (the blob is Unicorn's copy of QEMU's CPU state)."""
    before = uc.reg_read(reg)
    uc.reg_write(reg, magic)
    blob = bytes(uc.context_save())
    uc.reg_write(reg, before)
    at = blob.find(struct.pack("<Q", magic))
    if at < 0 or at % 8 or blob.count(struct.pack("<Q", magic)) != 1:
        raise RuntimeError(f"cannot locate register {reg} in a saved CPU context ({at})")
    return at // 8


def _ints(blob: bytes) -> tuple[int, ...]:
    return struct.unpack_from(f"<{len(blob) // 4}i", blob)
