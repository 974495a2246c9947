"""One x86_64 CPU on Linux KVM (``/dev/kvm``): guest code at native speed.

The same interface as the Unicorn ``hal.cpu.Cpu`` (``run(ctx, quantum)`` → ``Trap``,
registers by Unicorn's ids from ``hal.regs``, contexts portable between a machine's
CPUs, TLB flushes, kick/halt), on a KVM vCPU whose guest-physical memory is the
machine's RAM buffer (``hal.ram``), one VM per RAM. The kernel cannot tell the two
apart; ``hal.backend`` chooses one. Nothing here imports Unicorn (~20 ms of start-up).

How guest code leaves to the host (gVisor's KVM platform in miniature): every way
out of ring 3 lands in a tiny ring-0 stub that exits with ``out``. SYSCALL jumps
(LSTAR) to ``out 0x10``; each exception vector's IDT gate to ``out 0x20+vector``,
its frame (and error code) on this CPU's kernel stack (TSS RSP0). A stop is told
apart by RIP alone, so a timer signal that lands after the CPU entered a stub but
before its ``out`` means the same thing. One exit per system call or fault.

The registers KVM hands over (synchronised through the ``kvm_run`` area,
KVM_CAP_SYNC_REGS, not ioctls) are turned into the user's view at once: a
thread's state is always its user RIP, RSP, RFLAGS and general registers, its
CR3 and FS/GS bases. How the vCPU gets back to ring 3 depends on where it stopped:
preempted in user code, it just runs on; stopped in a stub (ring 0), it runs a
second stub, ``pop rax; iretq``, from a frame the host writes on the kernel stack,
or ``mov cr3, rax`` first when the TLB must be flushed (the CR3 is put in RAX, the
user's RAX in the frame). Measured on this nested host: changing CPL through
KVM_SET_SREGS costs ~48 µs, the ``iretq`` ~4 µs, so the vCPU's CPL is never set
from the host after boot; CR3 and the FS/GS bases are (~1 µs).

Some hosts run SYSCALL without leaving ring 3: RIP goes to LSTAR, RFLAGS is
masked, CS and SS stay the user's (measured here: KVM is PVM, see below). There
the stub's supervisor page faults at LSTAR; a page fault at exactly that RIP from
ring 3 is that SYSCALL (a jump there with chosen RCX/R11 is no more than a SYSCALL
and a jump), answered like a system call: still one exit per call, but PVM's
emulation of the SYSCALL makes it ~55 µs. A timer signal can stop the vCPU
between a fault (that one, or any other in user code) and its delivery, with the
fault queued in KVM: it is taken out (KVM_SET_VCPU_EVENTS) and answered at once, or
it would strike whatever runs next, at its RIP. (``int N`` through a
DPL-0 gate and ``sysenter`` give #UD there, not #GP: SIGILL, not SIGSEGV.)

A single step (PTRACE_SINGLESTEP) is the trap flag, set for one run and never shown to
the user: #DB's stub ends the run after one instruction (a SYSCALL, which clears TF on
the way in, ends it when answered).

Preemption: a timer thread sets ``immediate_exit`` and sends SIGURG to the vCPU's
host thread, which blocks SIGURG except inside KVM_RUN (KVM_SET_SIGNAL_MASK):
KVM_RUN returns EINTR, the pending signal is taken with sigtimedwait. Guest code
pays nothing for it. A TLB flush of a CPU preempted in user code toggles CR3's PWT
bit (bit 3, harmless here) through KVM_SET_SREGS: KVM reloads its MMU on any CR3
change.

This host's KVM is PVM (``kvm_pvm``: shadow page tables, no hardware
virtualisation), and a shadow MMU only notices page-table writes the guest makes:
the kernel writes them from the host. So a flush that follows changed entries (or,
for a few runs of pages, ``forget_frames``) drops what KVM built: a zap of all its
shadow tables (a one-page marker slot moved: KVM drops them all when a slot moves).
A new address space needs none on one CPU, where the frames of gone tables are kept
from new tables until the next zap (``_KeptTables``); on several, it zaps too (its
tables may sit in frames that held others).

Never: lets a guest crash the host. An exception in the ring-0 stubs, a triple
fault or a KVM internal error is ``KvmError`` (the CLI's panic report).
"""

from __future__ import annotations

import ctypes
import mmap
import os
import random
import signal
import stat
import struct
import threading
import time
import weakref
from time import perf_counter as clock
from typing import TYPE_CHECKING, Any, Callable, Sequence

from cloudos.hal import regs as X

from cloudos.hal import _kvmapi as K
from cloudos.hal.x86 import (CR0, CR4, DEBUG_VECTOR, EFER, GDT, GDT_PHYS, IDT_PHYS,
                             KERNEL_BASE, KERNEL_CS, KERNEL_DS, KSTACK_PHYS, MAX_CPUS, STUB_PHYS,
                             TSS_PHYS, TSS_SEL, USER_CS, USER_DS, USER_RFLAGS, PF_FETCH,
                             SyscallHandler, Trap, TrapKind)
from cloudos.hal.ram import PhysicalMemory

if TYPE_CHECKING:
    from cloudos.hal.smp import Smp

NAME = "KVM"
FD_ENV = "CLOUDOS_KVM_FD"  # an open /dev/kvm handed over by the parent (cloudos run --kvm-fd)
KICK = signal.SIGURG  # ignored by default: one that reaches the process does nothing

# The stubs, after hal.cpu's in the stub page (supervisor, executable).
STUB = STUB_PHYS + 0x100
STUB_VA = KERNEL_BASE + STUB
_SYSCALL, _IRET_FLUSH, _IRET, _VECTORS = 0x00, 0x04, 0x07, 0x10
_UNEXPECTED = _VECTORS + 4 * 32  # any vector above 31 (nothing raises one)
_STUB_END = _UNEXPECTED + 4
# The CPUID probe, run once per VM by its first vCPU's ``start``, at ring 0: it fills the
# table below with what CPUID answers guest code (on PVM hosts that is neither KVM's
# table nor the host's), for ``KvmCpu.cpuid``, and exits by ``out`` to port 0x11.
_PROBE, _PROBE_TABLE, _PROBE_PORT = 0x100, 0x180, 0x11
EINTR = 4
PROBED = ((0, 0), (1, 0), (6, 0), (7, 0), (7, 1), (0xD, 1), (0x8000_0000, 0),
          (0x8000_0001, 0), (0x8000_0002, 0), (0x8000_0003, 0), (0x8000_0004, 0),
          (0x8000_0006, 0), (0x8000_0008, 0))
_PROBE_ROW = struct.Struct("<6I")  # leaf, subleaf, then EAX, EBX, ECX, EDX as answered
_PROBE_CODE = bytes.fromhex(
    "5053515256"        # push rax, rbx, rcx, rdx, rsi
    "488d35" + (_PROBE_TABLE - _PROBE - 12).to_bytes(4, "little").hex() +  # lea rsi, table
    "8b06" "83f8ff" "7417"  # loop: mov eax, [rsi]; cmp eax, -1; je done
    "8b4e04" "0fa2"     # mov ecx, [rsi+4]; cpuid
    "894608" "895e0c" "894e10" "895614"  # the four answers to [rsi+8..20]
    "4883c618" "ebe2"   # add rsi, 24; jmp loop
    "5e5a595b58"        # done: pop rsi, rdx, rcx, rbx, rax
    "e611f4")           # out 0x11, al; hlt
_ERROR_CODE_VECTORS = frozenset({8, 10, 11, 12, 13, 14, 17, 21, 29, 30})
_USER_GATES = frozenset({3, 4})  # int3 and into work at ring 3, as on Linux


def _stubs() -> bytes:
    code = bytearray(_STUB_END)
    code[_SYSCALL:_SYSCALL + 4] = bytes.fromhex("e610f490")   # out 0x10, al; hlt
    code[_IRET_FLUSH:_IRET + 4] = bytes.fromhex("0f22d8" "5848cff4")  # mov cr3, rax;
    # pop rax; iretq; hlt
    for vector in range(33):                                  # out 0x20+v, al; hlt
        code[_VECTORS + 4 * vector:_VECTORS + 4 * vector + 4] = bytes([0xE6, 0x20 + vector,
                                                                        0xF4, 0x90])
    code[_STUB_END:] = bytes(_PROBE - _STUB_END) + _PROBE_CODE
    code += bytes(_PROBE_TABLE - len(code))
    for leaf, subleaf in PROBED:
        code += _PROBE_ROW.pack(leaf, subleaf, 0, 0, 0, 0)
    return bytes(code + _PROBE_ROW.pack(0xFFFF_FFFF, 0, 0, 0, 0, 0))


MSR_STAR, MSR_LSTAR, MSR_SFMASK = 0xC0000081, 0xC0000082, 0xC0000084
SFMASK = 0x47700  # TF DF IF IOPL NT AC cleared on SYSCALL, as Linux does
RFLAGS_USER = 0x3F0DD7  # what ring-3 state may hold (no IOPL, no VM, no NT)
RFLAGS_TF = 1 << 8  # the trap flag: #DB after the next instruction
CR4_OSXSAVE = 1 << 18
XCR0_X87, XCR0_SSE, XCR0_AVX = 1, 2, 4
XCR0_WANTED = XCR0_X87 | XCR0_SSE | XCR0_AVX  # what glibc may use (never AVX-512 or AMX)
CPUID_XSAVE, CPUID_OSXSAVE, CPUID_AVX = 1 << 26, 1 << 27, 1 << 28  # leaf 1, ECX
PWT = 1 << 3
PAGE = 0x1000
MARKER_SLOT = 1  # the marker's KVM slot (the RAM's is 0)
KEPT_TABLES = 256  # gone tables' frames kept from reuse (_KeptTables) before a zap
FORGET_RUNS = 16  # runs of frames forget_frames unmaps one by one; more: a zap
_mprotect = ctypes.CDLL(None, use_errno=True).mprotect
_mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
USER_TOP = 0x0000_8000_0000_0000
TSS_STRIDE = 0x80  # each CPU its own TSS (its own RSP0) in the TSS page

ALL_REGS = K.SYNC_X86_REGS | K.SYNC_X86_SREGS

_GPR = {getattr(X, f"UC_X86_REG_{name.upper()}"): name for name in K.GPRS}
_GPR[X.UC_X86_REG_EFLAGS] = "rflags"
_SEGMENTS = {X.UC_X86_REG_CS: "cs", X.UC_X86_REG_SS: "ss", X.UC_X86_REG_DS: "ds",
             X.UC_X86_REG_ES: "es", X.UC_X86_REG_FS: "fs", X.UC_X86_REG_GS: "gs"}
_BASES = {X.UC_X86_REG_FS_BASE: "fs", X.UC_X86_REG_GS_BASE: "gs"}
_CONTROL = {X.UC_X86_REG_CR0: "cr0", X.UC_X86_REG_CR2: "cr2", X.UC_X86_REG_CR3: "cr3",
            X.UC_X86_REG_CR4: "cr4"}
_SYSCALL_ARGS = ("rax", "rdi", "rsi", "rdx", "r10", "r8", "r9")
XMM_OFFSET, MXCSR_OFFSET, FCW_OFFSET = 160, 24, 0  # in the XSAVE area's legacy region
XSTATE_BV_OFFSET, YMM_HI_OFFSET = 512, 576  # the XSAVE header's first byte; YMM_Hi128


class KvmError(Exception):
    """KVM cannot go on (internal error, triple fault, a fault in the ring-0 stubs): a
    kernel panic, never a guest's doing."""


# -- the host's KVM ------------------------------------------------------------------
class _Kvm:
    """/dev/kvm, opened once per process (or handed over open): the API version, what the
    vCPUs may offer."""

    def __init__(self) -> None:
        self.fd, self.source = _device()
        version = K.ioctl(self.fd, K.GET_API_VERSION)
        if version != K.API_VERSION:
            raise OSError(f"KVM API version {version}, not {K.API_VERSION}")
        if K.ioctl(self.fd, K.CHECK_EXTENSION, K.CAP_SYNC_REGS) & ALL_REGS != ALL_REGS:
            raise OSError("KVM cannot synchronise registers through kvm_run (KVM_CAP_SYNC_REGS)")
        self.run_size = K.ioctl(self.fd, K.GET_VCPU_MMAP_SIZE)
        self.cpuid = K.cpuid_buffer(256)
        K.ioctl(self.fd, K.GET_SUPPORTED_CPUID, self.cpuid)
        leaves = {(e.function, e.index): e for e in K.cpuid_entries(self.cpuid)}
        xstate = leaves.get((0xD, 0))
        self.xcr0 = (xstate.eax if xstate else XCR0_X87 | XCR0_SSE) & XCR0_WANTED
        # KVM saves what leaf 0xD lists; PVM lists it yet leaves XSAVE and AVX out of leaf
        # 1, so the vCPU could not set CR4.OSXSAVE and libc would never pick AVX code.
        features = leaves[(1, 0)]
        if self.xcr0 & XCR0_AVX:
            features.ecx |= CPUID_XSAVE | CPUID_AVX
        elif self.xcr0 & XCR0_SSE:
            features.ecx |= CPUID_XSAVE
        self.xsave = bool(features.ecx & CPUID_XSAVE)


def _device() -> tuple[int, str]:
    """The KVM device: the descriptor a jailer left open (``CLOUDOS_KVM_FD``), else
    /dev/kvm opened here; and a word for the boot log saying which.

    A parent with access to /dev/kvm (root) may open it, drop its privileges and start
    CloudOS, which then needs no access of its own (Firecracker's jailer, crosvm). The
    descriptor must be KVM's device; it is made close-on-exec, so no program CloudOS
    starts on the host inherits it.
    """
    given = os.environ.get(FD_ENV)
    if given is None:
        return os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC), "/dev/kvm opened"
    where = f"the KVM descriptor {given!r} ({FD_ENV}, --kvm-fd)"
    if not given.isdigit():
        raise OSError(f"{where}: not a file descriptor number")
    fd = int(given)
    try:
        mode = os.fstat(fd).st_mode
    except OSError as err:
        raise OSError(f"{where}: {err.strerror}") from None
    if not stat.S_ISCHR(mode):
        raise OSError(f"{where}: not /dev/kvm (not a character device)")
    try:
        version = K.ioctl(fd, K.GET_API_VERSION)
    except OSError as err:
        raise OSError(f"{where}: not /dev/kvm (KVM_GET_API_VERSION: {err.strerror})") from None
    if version != K.API_VERSION:
        raise OSError(f"{where}: KVM API version {version}, not {K.API_VERSION}")
    os.set_inheritable(fd, False)
    return fd, f"/dev/kvm from descriptor {fd}"


_kvm: _Kvm | None = None
_kvm_lock = threading.Lock()


def host_kvm() -> _Kvm:
    """The host's KVM; OSError when /dev/kvm cannot be used."""
    global _kvm
    with _kvm_lock:
        if _kvm is None:
            _kvm = _Kvm()
        return _kvm


def unavailable() -> str | None:
    """Why KVM cannot be used here, or None when it can."""
    try:
        host_kvm()
    except OSError as err:
        return str(err)
    return None


class _Vm:
    """One KVM virtual machine over one RAM buffer; the CPUs of a machine share it."""

    def __init__(self, ram: PhysicalMemory) -> None:
        kvm = host_kvm()
        self.fd = K.ioctl(kvm.fd, K.CREATE_VM, 0)
        try:  # Intel's real-mode helper pages (never used: CPUs start in long mode)
            K.ioctl(self.fd, K.SET_TSS_ADDR, 0xFFFB_D000)
        except OSError:
            pass
        self.ram = ram
        self.add_memory()
        # The marker: a slot of one page above the RAM, which no guest table points to.
        # Moving it is how the VM drops its shadow tables (``zap``): KVM drops them all
        # when any slot goes or moves (the SLOT_ZAP_ALL behaviour, its default for a
        # plain VM), and a slot of one page moves in ~30 µs, where taking the RAM's slot
        # away and back cost ~450 µs idle (its per-page arrays freed and made again)
        self.kept: _KeptTables | None = None  # (one CPU: ``KvmCpu.table_frames``)
        self._marker = mmap.mmap(-1, PAGE)
        above = (ram.size + 2 * PAGE - 1) & -PAGE
        self._marker_at = [above, above + 2 * PAGE]
        self._place_marker()
        self.next_vcpu = 0
        self.stale = False  # page tables changed behind KVM's back: zap before running
        # Whether a vCPU entered guest code since the VM was made or last zapped: until
        # one does, KVM has built no shadow entry, and there is nothing to zap or forget
        # (the first program's start-up: one zap saved, and the refaults after it)
        self.ran = False
        self.zaps = 0  # times KVM's shadow tables were dropped (tests and benchmarks)
        self.probed = False  # the CPUID probe has run (its first vCPU's ``start``)

    def add_memory(self) -> None:
        region = K.MemoryRegion(0, 0, 0, self.ram.size, self.ram.host_address)
        K.ioctl(self.fd, K.SET_USER_MEMORY_REGION, region)

    def _place_marker(self) -> None:
        address = ctypes.addressof(ctypes.c_char.from_buffer(self._marker))
        K.ioctl(self.fd, K.SET_USER_MEMORY_REGION,
                K.MemoryRegion(MARKER_SLOT, 0, self._marker_at[0], PAGE, address))

    def zap(self) -> None:
        """Make KVM forget every translation it built from the page tables (the guest
        refaults its working set in KVM): the marker slot moves to its other place."""
        self._marker_at.reverse()
        self._place_marker()
        self.zaps += 1
        self.dropped()

    def dropped(self) -> None:
        """KVM holds nothing built from the tables now (zapped, or never run since)."""
        self.stale = self.ran = False
        if self.kept is not None:
            self.kept.release()

    def __del__(self) -> None:
        os.close(self.fd)


class _KeptTables:
    """The frames page tables are made of, for a VM with one CPU: a frame a gone table
    gives back is kept from every new table until KVM's shadow tables are next dropped.

    KVM's shadow MMU keeps what it built from a guest table by the table's frame, and
    sees only the guest's own writes to it, not the host's. So a new address space whose
    tables sat in a gone one's frames needed a zap before it ran (an exec, a fork: ~3
    zaps for every /bin/true a shell runs, each followed by the refaults of the shell's
    own working set). With those frames kept until a zap, a new table's frame never held
    a table KVM still knows, and a new context needs none. ``KEPT_TABLES`` frames kept
    make the next entry zap; short of frames, the allocator's reclaim zaps now and has
    them back at once (the vCPU is out of guest code: one CPU).
    """

    def __init__(self, frames: Any, vm: _Vm) -> None:
        self.frames, self.vm = frames, vm
        self.held: list[tuple[int, int]] = []
        # out of frames, the allocator's reclaim (the page cache's) asks here too
        cache = frames.reclaim
        frames.reclaim = lambda: cache() or self.reclaim()

    def alloc(self, order: int = 0) -> int:
        return int(self.frames.alloc(order))

    def reclaim(self) -> int:
        """Out of frames: a zap now gives the kept ones back; how many."""
        count = len(self.held)
        if count:
            self.vm.zap()
        return count

    def free(self, frame: int, order: int = 0) -> None:
        self.held.append((frame, order))
        if len(self.held) >= KEPT_TABLES:
            self.vm.stale = True

    def release(self) -> None:
        held, self.held = self.held, []
        for frame, order in held:
            self.frames.free(frame, order)


_vms: weakref.WeakKeyDictionary[PhysicalMemory, _Vm] = weakref.WeakKeyDictionary()


# -- register state ------------------------------------------------------------------
class _State:
    """A thread's user state: general registers, RIP, RFLAGS (``regs``), CR3 and the data
    segments with the FS/GS bases (in ``sregs``), and what changed since KVM had them."""

    def __init__(self, regs: K.Regs, sregs: K.Sregs) -> None:
        self.regs, self.sregs = regs, sregs
        self.dirty = ALL_REGS

    def copy_from(self, other: "_State") -> None:
        """Take ``other``'s user state; the CPL and the descriptor tables stay."""
        ctypes.pointer(self.regs)[0] = other.regs
        mine, theirs = self.sregs, other.sregs
        mine.ds, mine.es, mine.fs, mine.gs = theirs.ds, theirs.es, theirs.fs, theirs.gs
        mine.cr3 = theirs.cr3
        self.dirty = ALL_REGS

    def read(self, reg: int) -> int:
        name = _GPR.get(reg)
        if name is not None:
            return int(getattr(self.regs, name))
        if reg in (X.UC_X86_REG_CS, X.UC_X86_REG_SS):
            return USER_CS if reg == X.UC_X86_REG_CS else USER_DS
        if reg in _SEGMENTS:
            return int(getattr(self.sregs, _SEGMENTS[reg]).selector)
        if reg in _BASES:
            return int(getattr(self.sregs, _BASES[reg]).base)
        value = int(getattr(self.sregs, _CONTROL[reg]))
        return value & ~0xFFF if reg == X.UC_X86_REG_CR3 else value

    def write(self, reg: int, value: int) -> None:
        value &= 0xFFFF_FFFF_FFFF_FFFF
        name = _GPR.get(reg)
        if name is not None:
            if name == "rflags":
                value = (value & RFLAGS_USER) | 2
            setattr(self.regs, name, value)
            self.dirty |= K.SYNC_X86_REGS
            return
        if reg in _BASES:
            getattr(self.sregs, _BASES[reg]).base = value
        elif reg == X.UC_X86_REG_CR3:
            self.sregs.cr3 = value
        else:
            raise KeyError(f"register {reg} cannot be set on KVM")
        self.dirty |= K.SYNC_X86_SREGS


def _segment(selector: int, dpl: int, code: bool) -> K.Segment:
    return K.Segment(base=0, limit=0xFFFF_FFFF, selector=selector, type=0xB if code else 3,
                     present=1, dpl=dpl, db=0 if code else 1, s=1, l=1 if code else 0, g=1)


class KvmContext:
    """The saved state of one guest thread: its registers and its x87/SSE/AVX state.

    ``entry``, ``cpu``, ``root`` and ``writes_code`` mean what they mean for
    ``hal.cpu.CpuContext``; the state enters user mode at ``entry`` on its first run.
    """

    def __init__(self, state: _State, xsave: K.Xsave) -> None:
        self.state = _State(K.Regs(), K.Sregs())
        self.state.copy_from(state)
        self.xsave = K.Xsave()
        ctypes.pointer(self.xsave)[0] = xsave
        self.entry: tuple[int, int] | None = None
        self.cpu: KvmCpu | None = None
        self.root = 0
        self.writes_code = False
        self.single_step = False  # the next run: one instruction (PTRACE_SINGLESTEP)


# -- the CPU -------------------------------------------------------------------------
class KvmCpu:
    """A KVM vCPU bound to ``ram``, with hal.cpu.Cpu's interface. Call ``start`` once
    page tables exist."""

    name = NAME
    atomics_shared = True  # real hardware: threads of one process may run side by side
    can_single_step = True  # by the trap flag: #DB after one user instruction
    fault_around = True  # a fault is an exit: fill its neighbours too (linux.faultaround)
    hook_rip_lag = 0  # in the SYSCALL hook RIP is the return address already (from RCX)

    def __init__(self, ram: PhysicalMemory, index: int = 0) -> None:
        if not 0 <= index < MAX_CPUS:
            raise ValueError(f"CPU {index}: at most {MAX_CPUS} CPUs")
        self.ram, self.index = ram, index
        self.kstack = KSTACK_PHYS + index * 0x1000
        self.smp: Smp | None = None
        self.thread: Any = None
        self.slice = (0.0, 0.0)  # the kernel's: when the running slice began, its system time
        self.in_guest = False
        self.holding = False
        self.parked = False
        self.tlb_stale = self.code_stale = False
        self.out = threading.Event()
        self.out.set()
        self.syscall_handler: SyscallHandler = lambda *_regs: None
        self.fault_handler: Callable[[int, int, int], bool] = lambda _a, _r, _e: False
        self.exits = 0  # times guest code left to the host (the benchmark reports it)
        # ... of which: system calls, exceptions (page faults...), stops by the timer or a
        # kick (``exits`` less the three: a stop in a stub, before its own exit)
        self.exit_syscalls = self.exit_faults = self.exit_stops = 0
        self.guest_time = 0.0  # wall seconds inside KVM_RUN (on a multiprocessor)
        self.lock_wait = 0.0  # wall seconds waiting for the big lock after an exit
        self.forgotten = 0  # runs of frames KVM was made to forget (forget_frames)
        kvm = host_kvm()
        vm = _vms.get(ram)
        if vm is None:
            vm = _vms[ram] = _Vm(ram)
        self._vm = vm
        self.fd = K.ioctl(vm.fd, K.CREATE_VCPU, vm.next_vcpu)
        vm.next_vcpu += 1
        self._map = mmap.mmap(self.fd, kvm.run_size, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)
        self._run = K.Run.from_buffer(self._map)
        self._run.kvm_valid_regs = ALL_REGS
        self._live = _State(self._run.regs, self._run.sregs)
        self._loaded: KvmContext | None = None
        self._flush = False
        self._stress: random.Random | None = None
        self._stepping = False  # this run is a single step
        self._widening = False  # serving a page fault: tables only gain entries or rights
        self._timer = _Kick(self._run)
        self._xsave = K.Xsave()
        self._write_tables()
        K.ioctl(self.fd, K.SET_CPUID2, kvm.cpuid)
        empty = (ctypes.c_uint32 * 3)(8, 0, 0)  # during KVM_RUN no signal is blocked
        K.ioctl(self.fd, K.SET_SIGNAL_MASK, empty)

    def cpuid(self, leaf: int, subleaf: int = 0) -> tuple[int, int, int, int]:
        """What CPUID answered guest code for ``leaf`` and ``subleaf`` (EAX, EBX, ECX, EDX;
        a leaf of ``PROBED``, asked at the VM's first entry to user mode), less what
        differs between vCPUs (leaf 1's APIC id); zeros for any other, or before."""
        for row in range(len(PROBED)):
            at = STUB + _PROBE_TABLE + row * _PROBE_ROW.size
            got = _PROBE_ROW.unpack_from(self.ram.bytes, at)
            if got[:2] == (leaf, subleaf):
                eax, ebx, ecx, edx = got[2:]
                return eax, ebx & 0x00FF_FFFF if leaf == 1 else ebx, ecx, edx
        return 0, 0, 0, 0

    def __del__(self) -> None:
        try:
            del self._run, self._live
            self._map.close()
            os.close(self.fd)
        except (AttributeError, BufferError, OSError):
            pass

    # -- boot -----------------------------------------------------------------
    @property
    def tss(self) -> int:
        return TSS_PHYS + self.index * TSS_STRIDE

    def _write_tables(self) -> None:
        self.ram.write(GDT_PHYS, struct.pack(f"<{len(GDT)}Q", *GDT))
        gates = bytearray()
        for vector in range(256):
            handler = STUB_VA + _VECTORS + 4 * min(vector, 32)
            kind = 0xEE if vector in _USER_GATES else 0x8E
            gates += struct.pack("<HHBBHII", handler & 0xFFFF, KERNEL_CS, 0, kind,
                                 (handler >> 16) & 0xFFFF, handler >> 32, 0)
        self.ram.write(IDT_PHYS, gates)
        tss = bytearray(0x68)  # RSP0: this CPU's kernel stack; no I/O bitmap
        struct.pack_into("<Q", tss, 4, KERNEL_BASE + self.kstack + 0x1000)
        struct.pack_into("<H", tss, 0x66, 0x68)
        self.ram.write(self.tss, tss)
        self.ram.write(STUB, _stubs())

    def start(self, kernel_cr3: int) -> None:
        """Architecture setup: long mode with paging, the descriptor tables, SYSCALL's
        MSRs, XCR0; the template every new context starts from."""
        kvm = host_kvm()
        sregs = K.Sregs()
        K.ioctl(self.fd, K.GET_SREGS, sregs)
        user_data = _segment(USER_DS, 3, False)
        sregs.ds = sregs.es = user_data
        sregs.fs = sregs.gs = _segment(0, 3, False)
        sregs.tr = K.Segment(base=KERNEL_BASE + self.tss, limit=0x67, selector=TSS_SEL,
                             type=0xB, present=1)
        sregs.ldt = K.Segment(type=2, unusable=1)
        sregs.gdt = K.Dtable(KERNEL_BASE + GDT_PHYS, len(GDT) * 8 - 1)
        sregs.idt = K.Dtable(KERNEL_BASE + IDT_PHYS, 256 * 16 - 1)
        sregs.cr0, sregs.cr3, sregs.efer = CR0, kernel_cr3, EFER
        sregs.cr4 = CR4 | (CR4_OSXSAVE if kvm.xsave else 0)
        sregs.cs, sregs.ss = _segment(KERNEL_CS, 0, True), _segment(KERNEL_DS, 0, False)
        self._pristine = _State(K.Regs(), K.Sregs())
        self._pristine.copy_from(_State(K.Regs(), sregs))
        self._pristine.regs.rflags = USER_RFLAGS
        K.ioctl(self.fd, K.SET_SREGS, sregs)  # ring 0: the first run enters through iretq
        ctypes.pointer(self._run.sregs)[0] = sregs
        self._in_stub = True
        msrs = struct.pack("<II" + "IIQ" * 3, 3, 0,
                           MSR_STAR, 0, ((USER_CS - 16) << 48) | (KERNEL_CS << 32),
                           MSR_LSTAR, 0, STUB_VA + _SYSCALL, MSR_SFMASK, 0, SFMASK)
        buf = ctypes.create_string_buffer(msrs, len(msrs))
        if K.ioctl(self.fd, K.SET_MSRS, ctypes.addressof(buf)) != 3:
            raise OSError("KVM refused the SYSCALL MSRs")
        if kvm.xsave:
            xcrs = K.Xcrs(nr_xcrs=1)
            xcrs.xcrs[0] = K.Xcr(0, 0, kvm.xcr0)
            K.ioctl(self.fd, K.SET_XCRS, xcrs)
        K.ioctl(self.fd, K.GET_XSAVE, self._xsave)  # the FPU as reset: FCW 0x37F, MXCSR 0x1F80
        self._pristine_fpu = K.Xsave()
        ctypes.pointer(self._pristine_fpu)[0] = self._xsave
        if not self._vm.probed:
            self._probe_cpuid()

    def _probe_cpuid(self) -> None:
        """Run the CPUID probe (ring 0, on this CPU's kernel stack) to its exit; a host
        signal that stops it part-way changes nothing: it goes on where it stopped."""
        regs = self._run.regs
        regs.rip, regs.rsp, regs.rflags = STUB_VA + _PROBE, KERNEL_BASE + self.kstack + 0x1000, 2
        self._run.kvm_dirty_regs = K.SYNC_X86_REGS
        while (error := K.run(self.fd)) == EINTR:
            self._run.kvm_dirty_regs = 0
        self._run.kvm_dirty_regs = 0
        port = self._run.exit[0] >> 16 & 0xFFFF  # (struct kvm_run's io.port)
        if error or self._run.exit_reason != K.EXIT_IO or port != _PROBE_PORT:
            what = os.strerror(error) if error else self._describe(self._run.exit_reason)
            raise KvmError(f"the CPUID probe did not end at its exit: {what}")
        self._vm.probed = True

    # -- contexts -------------------------------------------------------------
    def new_context(self, cr3: int, rip: int, rsp: int) -> KvmContext:
        """A context that enters user mode at ``rip`` with stack ``rsp`` and address space
        ``cr3``."""
        ctx = KvmContext(self._pristine, self._pristine_fpu)
        ctx.state.sregs.cr3 = cr3
        ctx.state.regs.rip, ctx.state.regs.rsp = rip, rsp
        ctx.entry, ctx.root = (rip, rsp), cr3
        self._new_space()
        return ctx

    def clone_context(self, parent: KvmContext, cr3: int, regs: dict[int, int]) -> KvmContext:
        """A copy of ``parent`` with another address space and some registers changed."""
        if parent.cpu is not None:
            parent.cpu._save(parent)
        child = KvmContext(parent.state, parent.xsave)
        child.state.sregs.cr3, child.root = cr3, cr3
        self._new_space()
        for reg, value in regs.items():
            child.state.write(reg, value)
        return child

    def set_context_reg(self, ctx: KvmContext, reg: int, value: int) -> None:
        """Set a register of a thread that is not running (e.g. RAX on wake-up)."""
        (ctx.cpu._live if ctx.cpu is not None else ctx.state).write(reg, value)

    def set_context_result(self, ctx: KvmContext, value: int) -> None:
        """The value a sleeping thread's system call returns (its RAX)."""
        self.set_context_reg(ctx, X.UC_X86_REG_RAX, value)

    def restart_syscall(self, ctx: KvmContext, number: int) -> None:
        """Make a stopped thread execute its SYSCALL instruction (2 bytes) again."""
        self.set_context_reg(ctx, X.UC_X86_REG_RAX, number)
        self.set_context_reg(ctx, X.UC_X86_REG_RIP, self.context_reg(ctx, X.UC_X86_REG_RIP) - 2)

    def context_reg(self, ctx: KvmContext, reg: int) -> int:
        return (ctx.cpu._live if ctx.cpu is not None else ctx.state).read(reg)

    @property
    def loaded(self) -> KvmContext | None:
        return self._loaded

    def _save(self, ctx: KvmContext) -> None:
        """Copy the live state of ``ctx`` (loaded here) into it."""
        ctx.state.copy_from(self._live)
        K.ioctl(self.fd, K.GET_XSAVE, ctx.xsave)

    def _switch_out(self) -> None:
        if self._loaded is not None:
            self._save(self._loaded)
            self._loaded.cpu = None
            self._loaded = None

    def load(self, ctx: KvmContext) -> None:
        """Make ``ctx`` the CPU's state (saving the previous one)."""
        if self._loaded is ctx:
            return
        if ctx.cpu is not None:
            ctx.cpu._switch_out()
        self._switch_out()
        self._live.copy_from(ctx.state)
        K.ioctl(self.fd, K.SET_XSAVE, ctx.xsave)
        self._loaded, ctx.cpu = ctx, self
        self._flush = True

    def flush_tlb(self, root: int = 0) -> None:
        """Drop cached translations (on a multiprocessor, with ``root``: a shootdown).

        Not while a page fault is served: that only adds entries or widens one (demand
        zero, stack growth, a copy-on-write page made private and writable), and KVM's
        shadow MMU mends a stale entry itself, as a TLB needs no flush for an entry that
        gains rights: the access faults in KVM again, KVM walks the guest's tables and
        finds the new entry (with a new frame it drops the old one on every vCPU). Only
        entries that shrink or go need a zap. python3 -c sum(...): 312 of its 335 zaps
        were copy-on-write breaks. On one CPU only: with several, another vCPU might read
        the old frame through KVM's old entry after the host wrote the new one (a system
        call's copy-out) and before the faulting vCPU's retry replaced it.
        """
        if self._widening and self.smp is None:
            return
        if root and self.smp is not None:
            self.smp.shootdown(root)
        else:
            self.drop_tlb()

    def _new_space(self) -> None:
        """A context on another address space: its tables may sit in frames that held
        other tables, unless the VM keeps those frames until its next zap."""
        if self._vm.kept is None:
            self._vm.stale = True

    def table_frames(self, frames: Any) -> Any:
        """Where the page tables of the address spaces this CPU runs take their frames:
        ``frames`` itself on several CPUs; on one, the VM's ``_KeptTables`` over it, so
        that a new address space needs no zap (``new_context``)."""
        if self.smp is not None:
            return frames
        if self._vm.kept is None:
            self._vm.kept = _KeptTables(frames, self._vm)
        return self._vm.kept

    def give_back_tables(self) -> None:
        """Every address space is gone (the machine stopped): the kept frames of gone
        tables go back to the allocator, KVM's shadow tables dropped first (a zap)."""
        if self._vm.kept is not None:
            self._vm.kept.reclaim()

    def forget_frames(self, frames: list[int]) -> bool:
        """Make KVM drop every entry it built that maps one of ``frames`` (guest-physical
        pages whose mappings shrank or went), without a zap; False when it cannot, and the
        caller flushes as before.

        The host's mapping of each run of those pages turns read-only and back; KVM hears
        of it (its MMU notifier) and unmaps those pages from all its shadow tables, so the
        next access walks the guest's tables again. ~45 µs a run, against a zap's ~30 µs
        and the refaults of every page the guest then touches (~20 µs each here). Not for more than
        ``FORGET_RUNS`` runs. Nothing to do while a fault is served on one CPU
        (``flush_tlb``). On several, the others are stopped first (a vCPU writing such a
        page while it is read-only would stop with an error), as for a zap; the caller
        holds the big lock, so they cannot enter again meanwhile.
        """
        if self.smp is None and self._widening or not self._vm.ran:
            return True
        runs: list[list[int]] = []
        for frame in sorted(set(frames)):
            if runs and runs[-1][1] == frame:
                runs[-1][1] = frame + PAGE
            else:
                if len(runs) == FORGET_RUNS:
                    return False
                runs.append([frame, frame + PAGE])
        if self.smp is not None:
            self._stop_others()
        for start, end in runs:
            address, length = self.ram.host_address + start, end - start
            if _mprotect(address, length, mmap.PROT_READ) != 0:
                return False
            if _mprotect(address, length, mmap.PROT_READ | mmap.PROT_WRITE) != 0:
                raise KvmError(f"RAM at {start:#x}+{length:#x} left read-only: "
                               f"{os.strerror(ctypes.get_errno())}")
        self.forgotten += len(runs)
        return True

    def drop_tlb(self) -> None:
        """This CPU's cached translations only, before guest code runs again."""
        self._flush = self._vm.stale = True

    def drop_code(self) -> None:
        """Nothing to drop: the processor sees code the host writes into RAM."""

    def invalidate_code(self) -> None:
        """Nothing to do: there is no translated code on KVM."""

    def stress(self, seed: int) -> None:
        """Testing: end every run after a random 1-50 µs (seeded)."""
        self._stress = random.Random(seed)

    @property
    def zaps(self) -> int:
        """Times this CPU's VM dropped KVM's shadow tables (tests, benchmarks)."""
        return self._vm.zaps

    def kick(self) -> None:
        """Stop the guest code this CPU runs now (an inter-processor interrupt)."""
        self._timer.kick()

    def can_switch(self, ctx: Any) -> bool:
        """Unicorn's CPU may change contexts inside its SYSCALL hook; here every system call
        is already an exit to the host, so a switch is the scheduler's (a new KVM_RUN)."""
        return False

    def switch(self, ctx: Any, quantum_us: int) -> int:
        raise NotImplementedError("KVM switches contexts between runs (can_switch)")

    def halt(self, timeout: float | None) -> None:
        """HLT: nothing to run until ``timeout`` seconds pass or another CPU has work."""
        if self.smp is not None:
            self.smp.wait_idle(self, timeout)  # type: ignore[arg-type]
        elif timeout is not None and timeout > 0:
            time.sleep(timeout)

    def others_busy(self) -> bool:
        return self.smp is not None and self.smp.busy()

    def wake_others(self) -> None:
        if self.smp is not None:
            self.smp.wake_idle()

    def _enter_guest(self) -> None:
        if self.tlb_stale:
            self.tlb_stale = False
            self._flush = True
        self.code_stale = False
        self.in_guest = True
        self.out.clear()
        assert self.smp is not None
        self.smp.release(self)  # type: ignore[arg-type]

    def _leave_guest(self) -> None:
        self.in_guest = False
        self.out.set()
        assert self.smp is not None
        self.smp.acquire(self)  # type: ignore[arg-type]

    # -- registers ------------------------------------------------------------
    def reg(self, reg: int) -> int:
        """A 64-bit register (X.UC_X86_REG_*), as the user's code sees it."""
        return self._live.read(reg)

    def set_reg(self, reg: int, value: int) -> None:
        self._live.write(reg, value)

    def read_regs(self, regs: tuple[int, ...]) -> list[int]:
        return [self._live.read(reg) for reg in regs]

    def write_regs(self, regs: tuple[int, ...], values: Sequence[int]) -> None:
        for reg, value in zip(regs, values):
            self._live.write(reg, value)

    def registers(self) -> dict[str, int]:
        """The general registers, RIP, RFLAGS, FS base and the control registers, by name."""
        names = ("RIP", "RSP", "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8", "R9",
                 "R10", "R11", "R12", "R13", "R14", "R15", "RFLAGS", "FS_BASE", "CR2", "CR3")
        return {name: self.reg(getattr(X, f"UC_X86_REG_{name}")) for name in names}

    def syscall_args(self) -> list[int]:
        """RAX (the number) and the six argument registers."""
        regs = self._run.regs
        return [getattr(regs, name) for name in _SYSCALL_ARGS]

    def set_result(self, value: int) -> None:
        self._run.regs.rax = value & 0xFFFF_FFFF_FFFF_FFFF
        self._live.dirty |= K.SYNC_X86_REGS

    def vector_registers(self) -> list[int]:
        """XMM0-15, MXCSR and the x87 control word of the loaded context; then its whole
        XSAVE area as one number (the upper halves of YMM are in it), which
        ``set_vector_registers`` puts back as it was."""
        K.ioctl(self.fd, K.GET_XSAVE, self._xsave)
        area = bytes(self._xsave.region)
        xmm = [int.from_bytes(area[XMM_OFFSET + 16 * i:XMM_OFFSET + 16 * i + 16], "little")
               for i in range(16)]
        return xmm + [struct.unpack_from("<I", area, MXCSR_OFFSET)[0],
                      struct.unpack_from("<H", area, FCW_OFFSET)[0],
                      int.from_bytes(area, "little")]

    def set_vector_registers(self, values: list[int]) -> None:
        """XMM0-15, MXCSR (and the x87 control word) from ``values``: over the whole XSAVE
        area that ``vector_registers`` gave with them (YMM's upper halves back as they
        were), else with the upper halves of YMM cleared (a signal handler starts so, as
        on Linux)."""
        region = self._xsave.region
        if len(values) > 18:
            ctypes.memmove(region, values[18].to_bytes(len(region), "little"), len(region))
        else:
            K.ioctl(self.fd, K.GET_XSAVE, self._xsave)
            ctypes.memset(ctypes.addressof(region) + YMM_HI_OFFSET, 0, 256)
            region[XSTATE_BV_OFFSET] &= ~XCR0_AVX  # (the component in its initial state)
        for i, value in enumerate(values[:16]):
            region[XMM_OFFSET + 16 * i:XMM_OFFSET + 16 * i + 16] = list(
                (value & (1 << 128) - 1).to_bytes(16, "little"))
        mxcsr = (values[16] & 0xFFBF).to_bytes(4, "little")  # reserved bits: #GP on load
        region[MXCSR_OFFSET:MXCSR_OFFSET + 4] = list(mxcsr)
        if len(values) > 17:
            region[FCW_OFFSET:FCW_OFFSET + 2] = list((values[17] & 0x1F3F).to_bytes(2, "little"))
        K.ioctl(self.fd, K.SET_XSAVE, self._xsave)

    # -- execution ------------------------------------------------------------
    def run(self, ctx: KvmContext, quantum_us: int) -> Trap:
        """Run ``ctx`` until it traps or ``quantum_us`` microseconds pass (with
        ``ctx.single_step``: or one instruction has run, a BREAKPOINT trap of #DB)."""
        self.load(ctx)
        ctx.entry = None
        if self._stress is not None:
            quantum_us = self._stress.randint(1, 50)
        self._stepping = ctx.single_step
        if self._stepping:
            self._run.regs.rflags |= RFLAGS_TF
            self._live.dirty |= K.SYNC_X86_REGS
        self._timer.arm(quantum_us / 1e6)
        smp = self.smp
        try:
            while True:
                trap = self._before_entry()
                if trap is not None:
                    return trap
                if smp is not None:
                    self._enter_guest()
                    entered = clock()
                    error = K.run(self.fd)
                    left = clock()
                    self._leave_guest()
                    self.guest_time += left - entered
                    self.lock_wait += clock() - left
                else:
                    error = K.run(self.fd)
                self.exits += 1
                trap = self._on_exit(error)
                if trap is not None:
                    return trap
        finally:
            self._timer.disarm()
            if self._stepping:  # (the tracee never sees the flag a tracer's step set)
                self._run.regs.rflags &= ~RFLAGS_TF
                self._live.dirty |= K.SYNC_X86_REGS

    def _before_entry(self) -> Trap | None:
        """Make the vCPU enter the user's state: straight on from user code, or through
        the iretq stub (flushing the TLB first if asked) from a stub."""
        live, regs = self._live, self._run.regs
        if not regs.rip < USER_TOP:
            return Trap(TrapKind.GENERAL_PROTECTION, regs.rip, 13)  # iretq's #GP, as on Linux
        vm = self._vm
        if vm.stale:
            if vm.ran:
                self._zap()
            else:
                vm.dropped()  # (nothing cached yet)
        vm.ran = True  # (set before the run: another vCPU's zap must see it)
        if self._in_stub:
            frame = self.kstack + 0x1000 - 48
            struct.pack_into("<6Q", self.ram.bytes, frame, regs.rax, regs.rip, USER_CS,
                             regs.rflags, regs.rsp, USER_DS)
            regs.rsp, regs.rflags = KERNEL_BASE + frame, 2  # (the user's TF would trap here)
            regs.rip = STUB_VA + (_IRET_FLUSH if self._flush else _IRET)
            regs.rax = live.sregs.cr3
            live.dirty |= K.SYNC_X86_REGS
        elif self._flush:
            live.sregs.cr3 ^= PWT
            live.dirty |= K.SYNC_X86_SREGS
        self._flush = False
        self._run.kvm_dirty_regs, live.dirty = live.dirty, 0
        return None

    def _zap(self) -> None:
        """Zap KVM's shadow tables with every other CPU out of guest code (KVM would kick
        them itself; stopped, none runs on an entry the kernel just changed meanwhile)."""
        if self.smp is not None:
            self._stop_others()
        self._vm.zap()

    def _stop_others(self) -> None:
        """Every CPU out of guest code (they cannot enter again: the caller holds the big
        lock, and the holder is never in guest code; it need not be this CPU: an address
        space's ``forget`` is the method of the CPU that made it)."""
        assert self.smp is not None
        others = [cpu for cpu in self.smp.cpus if cpu.in_guest]
        for cpu in others:
            cpu.kick()
        for cpu in others:
            cpu.out.wait()

    def _from_frame(self) -> None:
        """The user's state from the iretq stub's frame (a stop before the iretq ran)."""
        regs = self._run.regs
        regs.rax, regs.rip, _cs, regs.rflags, regs.rsp, _ss = struct.unpack_from(
            "<6Q", self.ram.bytes, self.kstack + 0x1000 - 48)

    def _on_exit(self, error: int) -> Trap | None:
        """What a return from KVM_RUN means: a trap, or None to go on."""
        run, regs = self._run, self._run.regs
        if error not in (0, 4):  # EINTR: the timer, a kick or another host signal
            raise KvmError(f"KVM_RUN: {os.strerror(error)}")
        reason = run.exit_reason if error == 0 else K.EXIT_INTR
        if reason not in (K.EXIT_IO, K.EXIT_INTR):
            raise KvmError(self._describe(reason))
        # An ``out`` exit reports RIP past the instruction; a signal may also stop the
        # CPU in a stub before its ``out`` ran, which means the same.
        offset = regs.rip - STUB_VA - (2 if reason == K.EXIT_IO else 0)
        # (RIP can be LSTAR's at ring 3: a SYSCALL that kept ring 3, stopped before its fault)
        self._in_stub = run.sregs.cs.selector & 3 == 0
        if offset == _SYSCALL:
            self.exit_syscalls += 1
            if not self._in_stub:  # this host's SYSCALL, stopped with its fault queued
                self._take_queued_exception()
            regs.rip, regs.rflags = regs.rcx, (regs.r11 & RFLAGS_USER) | 2
            return self._syscall()
        if not self._in_stub:  # stopped in user code, perhaps with an exception queued
            queued = self._take_queued_exception()
            if queued is None:
                self.exit_stops += 1
                return Trap(TrapKind.QUANTUM_EXPIRED, regs.rip)
            self.exit_faults += 1
            vector, error, address = queued
            return self._deliver(vector, regs.rip, regs.rflags, error, address)
        if _IRET_FLUSH <= offset < _VECTORS and reason == K.EXIT_INTR:
            self._from_frame()
            self._flush = offset == _IRET_FLUSH
            self.exit_stops += 1
            return Trap(TrapKind.QUANTUM_EXPIRED, regs.rip)
        if _VECTORS <= offset < _STUB_END and offset % 4 == 0:
            self.exit_faults += 1
            return self._exception(offset // 4 - _VECTORS // 4)
        raise KvmError(f"{K.EXIT_NAMES[reason]} exit at {regs.rip:#x} in the stubs")

    def _take_queued_exception(self) -> tuple[int, int, int] | None:
        """The exception KVM has decided on but not yet delivered, as (vector, error code,
        CR2), taken out of the vCPU; None if there is none.

        A stop in user code can find one: this host's KVM (PVM) queues a user fault for
        delivery at the next entry, and a timer signal can end KVM_RUN in between (under
        a 1-40 us quantum, about one stop in ten). Left queued, it would strike whatever
        the next entry runs, perhaps another context, at that context's RIP with the
        other's error code and CR2: grep, run after ls on a loaded host, died of a write
        to an address of ls's. Taken here, it is answered as if its stub had run, at the
        RIP it was raised at (a fault's own instruction; a trap's next one), so nothing is
        lost or run twice. So is the page fault at LSTAR that a SYSCALL which kept ring 3
        leaves queued (measured: a getpid loop saw the call run twice, the second with
        its result as the number)."""
        events = (ctypes.c_uint8 * 64)()
        K.ioctl(self.fd, K.GET_VCPU_EVENTS, events)
        if not (events[K.EVENT_EXCEPTION_INJECTED] or events[K.EVENT_EXCEPTION_PENDING]):
            return None
        vector = events[K.EVENT_EXCEPTION_NR]
        error = int.from_bytes(bytes(events[K.EVENT_EXCEPTION_ERROR_CODE:][:4]), "little")
        address = self._run.sregs.cr2
        if events[K.EVENT_EXCEPTION_HAS_PAYLOAD]:  # (CR2 not yet written: the payload is it)
            address = int.from_bytes(bytes(events[K.EVENT_EXCEPTION_PAYLOAD:][:8]), "little")
        for field in (K.EVENT_EXCEPTION_INJECTED, K.EVENT_EXCEPTION_PENDING,
                      K.EVENT_EXCEPTION_HAS_PAYLOAD):
            events[field] = 0
        K.ioctl(self.fd, K.SET_VCPU_EVENTS, events)
        return vector, error, address

    def _syscall(self) -> Trap | None:
        result = self.syscall_handler(*self.syscall_args())
        if result is None:
            return Trap(TrapKind.SYSCALL, self._run.regs.rip)
        self.set_result(result)
        if self._stepping:  # the step was the SYSCALL (which clears TF on the way in)
            return Trap(TrapKind.BREAKPOINT, self._run.regs.rip, DEBUG_VECTOR)
        return None  # (a quantum that ran out meanwhile stops the next KVM_RUN)

    def _exception(self, vector: int) -> Trap | None:
        """An exception's stub: take the frame the CPU pushed as the user's state."""
        regs = self._run.regs
        frame = regs.rsp - KERNEL_BASE
        if not self.kstack <= frame < self.kstack + 0x1000:
            raise KvmError(f"exception {vector} with RSP {regs.rsp:#x}: not from ring 3")
        error = 0
        if vector in _ERROR_CODE_VECTORS:
            error = struct.unpack_from("<Q", self.ram.bytes, frame)[0]
            frame += 8
        rip, cs, rflags, rsp, _ss = struct.unpack_from("<5Q", self.ram.bytes, frame)
        if cs & 3 != 3:
            raise KvmError(f"exception {vector} (error {error:#x}) at {rip:#x} in ring 0")
        regs.rsp = rsp
        return self._deliver(vector, rip, rflags, error, self._run.sregs.cr2)

    def _deliver(self, vector: int, rip: int, rflags: int, error: int,
                 address: int) -> Trap | None:
        """Exception ``vector`` raised in user code at ``rip`` (CR2 ``address`` for a page
        fault): resolved in place (None: go on at ``rip``), or the kernel's trap."""
        regs = self._run.regs
        if vector == 14 and address == STUB_VA + _SYSCALL and error & PF_FETCH:
            if rip == STUB_VA + _SYSCALL:  # a SYSCALL that kept ring 3 and faulted at LSTAR
                self.exit_faults -= 1
                self.exit_syscalls += 1
                regs.rip, regs.rflags = regs.rcx, (regs.r11 & RFLAGS_USER) | 2
                return self._syscall()
            # That fault delivered late, after the host moved RIP on (what
            # _take_queued_exception prevents): nothing happened at ``rip``; go on there.
            regs.rip, regs.rflags = rip, rflags
            return None
        regs.rip, regs.rflags = rip, rflags
        if vector == 6 and self._user_bytes(rip, 1) == b"\xcd":
            # `int N` through a DPL-0 gate, which this host reports as #UD: #GP, as on Linux
            vector, error = 13, self._user_bytes(rip + 1, 1)[0] * 8 + 2
        if vector == 32:
            return Trap(TrapKind.EXCEPTION, rip, vector, detail="an unexpected interrupt")
        if vector == DEBUG_VECTOR and self._stepping:
            return Trap(TrapKind.BREAKPOINT, rip, DEBUG_VECTOR)  # one instruction ran
        if vector == 14:
            self._widening = True
            try:
                if self.fault_handler(address, rip, error):
                    return None
            finally:
                self._widening = False
            return Trap(TrapKind.PAGE_FAULT, rip, 14, address, error)
        kind = {0: TrapKind.DIVIDE_ERROR, 3: TrapKind.BREAKPOINT, 6: TrapKind.INVALID_OPCODE,
                13: TrapKind.GENERAL_PROTECTION}.get(vector, TrapKind.EXCEPTION)
        return Trap(kind, rip, vector, 0, error)

    def _user_bytes(self, va: int, length: int) -> bytes:
        """``length`` bytes of user memory at ``va`` through the loaded page tables (b""
        where a page is missing): for telling apart what this host's KVM reports alike."""
        out = b""
        for address in range(va, va + length):
            table = self._run.sregs.cr3 & 0x000F_FFFF_FFFF_F000
            for shift in (39, 30, 21, 12):
                entry = self.ram.words[(table >> 3) + ((address >> shift) & 0x1FF)]
                if not entry & 1 or not entry & 4:  # not present, or not a user page
                    return b""
                table = entry & 0x000F_FFFF_FFFF_F000
                if entry & 0x80 and shift != 12:  # a huge page
                    table = (table & ~((1 << shift) - 1)) | (address & ((1 << shift) - 1))
                    break
            else:
                table |= address & 0xFFF
            if table >= self.ram.size:
                return b""
            out += bytes(self.ram.bytes[table:table + 1])
        return out

    def _describe(self, reason: int) -> str:
        run = self._run
        what = K.EXIT_NAMES.get(reason, f"exit {reason}")
        detail = f" (data {', '.join(hex(v) for v in run.exit[:4])})" if reason in (9, 17) else ""
        return f"KVM exit: {what}{detail} at RIP {run.regs.rip:#x}"


class _Kick:
    """The CPU's preemption timer and IPI: stops KVM_RUN in the vCPU's host thread.

    ``immediate_exit`` stops a KVM_RUN about to start; SIGURG (blocked in the vCPU's
    thread outside KVM_RUN) stops one under way. After the run, the pending signal is
    taken and SIGURG unblocked again (``disarm``), so it stops nothing else and the host
    thread's mask is as it was: programs the host process starts later inherit it (a
    SIGURG left blocked showed in the native runs of the strace test).
    """

    def __init__(self, run: K.Run) -> None:
        self.run = run
        self.cv = threading.Condition()
        self.deadline: float | None = None
        self.fired = False
        self.thread: int | None = None  # the host thread running the vCPU
        self.unblock = False  # whether disarm unblocks SIGURG (it was not blocked before)
        threading.Thread(target=self._loop, name="kvm-timer", daemon=True).start()

    def arm(self, seconds: float) -> None:
        thread = threading.get_ident()
        self.unblock = KICK not in signal.pthread_sigmask(signal.SIG_BLOCK, {KICK})
        with self.cv:
            self.thread = thread
            self.deadline = time.monotonic() + seconds
            self.cv.notify()

    def disarm(self) -> None:
        with self.cv:
            self.deadline = None
            if self.fired:
                self.fired = False
                self.run.immediate_exit = 0
                signal.sigtimedwait({KICK}, 0)
        if self.unblock:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {KICK})

    def kick(self) -> None:
        with self.cv:
            if self.deadline is not None:
                self._fire()

    def _fire(self) -> None:
        if not self.fired and self.thread is not None:
            self.fired = True
            self.run.immediate_exit = 1
            signal.pthread_kill(self.thread, KICK)

    def _loop(self) -> None:
        with self.cv:
            while True:
                if self.deadline is None or self.fired:
                    self.cv.wait()
                    continue
                remaining = self.deadline - time.monotonic()
                if remaining > 0:
                    self.cv.wait(remaining)
                    continue
                self._fire()
