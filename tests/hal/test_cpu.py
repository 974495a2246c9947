"""The virtual CPU: ring 3, traps, exact preemption, faults resolved in place.

These drive ``hal.cpu`` directly with hand-assembled code, so each checks one
fact about the machine that the kernel relies on.
"""

from __future__ import annotations

import struct

import pytest
from unicorn import x86_const as X

from cloudos.hal import cpu as C
from cloudos.hal.ram import PhysicalMemory
from cloudos.kernel.mm.buddy import BuddyAllocator
from cloudos.kernel.mm.pagetable import KERNEL_SLOT, PRESENT, PageTables, Pte

CODE, DATA, STACK = 0x600000, 0x700000, 0x800000


@pytest.fixture(scope="module")
def machine():
    ram = PhysicalMemory(64 << 20)
    frames = BuddyAllocator(C.LOW_RESERVED, ram.size - C.LOW_RESERVED)
    cpu = C.Cpu(ram)
    kernel = PageTables(ram, frames)
    for paddr in range(0, C.LOW_RESERVED, 4096):
        nx = 0 if paddr == C.STUB_PHYS else Pte.NO_EXECUTE
        kernel.map(C.KERNEL_BASE + paddr, paddr, Pte.WRITABLE | nx)
    cpu.start(kernel.root)
    user = PageTables(ram, frames, ram.words[(kernel.root >> 3) + KERNEL_SLOT])
    code, data = frames.alloc(), frames.alloc()
    user.map(CODE, code, Pte.USER)
    user.map(DATA, data, Pte.USER | Pte.WRITABLE | Pte.NO_EXECUTE)
    return ram, frames, cpu, user, code, data


def load(machine, code_hex: str):
    ram, _, cpu, user, code, data = machine
    ram.write(code, bytes.fromhex(code_hex))
    ram.zero(data, 4096)
    cpu.invalidate_code()
    cpu.syscall_handler = lambda: False  # every SYSCALL stops the CPU
    return cpu.new_context(user.root, CODE, STACK)


@pytest.mark.parametrize("instruction", ["f0ff07", "ff07", "f00fc107"],
                         ids=["lock inc", "inc", "lock xadd"])
def test_preemption_never_replays_an_instruction(machine, instruction) -> None:
    """Stopping a vCPU from another thread can replay guest stores; our timer must not."""
    ram, _, cpu, _, _, data = machine
    body = "b801000000" + instruction + "48ffc9"  # mov eax,1; INSN [rdi]; dec rcx
    size = len(bytes.fromhex(body)) + 2
    ctx = load(machine, body + f"75{(256 - size) & 0xFF:02x}" + "b83c0000000f05")
    cpu.load(ctx)
    cpu.set_reg(X.UC_X86_REG_RCX, 2_000_000)
    cpu.set_reg(X.UC_X86_REG_RDI, DATA)
    stops = 0
    while (trap := cpu.run(ctx, 50)).kind is C.TrapKind.QUANTUM_EXPIRED:
        stops += 1
    assert trap.kind is C.TrapKind.SYSCALL
    assert stops > 20, "the quantum timer did preempt"
    assert struct.unpack("<I", ram.read(data, 4))[0] == 2_000_000


def test_page_faults_resolved_in_place_resume_at_the_faulting_instruction(machine) -> None:
    ram, frames, cpu, user, _, _ = machine
    # inc rbx; inc rbx; mov byte [rdi],1; mov byte [rdi+0x1000],1; mov byte [rdi+0x2000],1;
    # inc rbx; syscall. Three faults in one run: the exception latch must be reset after
    # each, or the second would arrive as a double fault.
    ctx = load(machine, "48ffc3" "48ffc3" "c60701" "c6870010000001" "c6870020000001"
                        "48ffc3" "0f05")
    faults = []

    def resolve(address: int, rip: int, error: int) -> bool:
        faults.append((address, error))
        user.map(address & ~0xFFF, frames.alloc(), Pte.USER | Pte.WRITABLE)
        return True

    cpu.fault_handler = resolve
    try:
        cpu.load(ctx)
        cpu.set_reg(X.UC_X86_REG_RBX, 0)
        cpu.set_reg(X.UC_X86_REG_RDI, 0x20000000)
        trap = cpu.run(ctx, 1_000_000)
    finally:
        cpu.fault_handler = lambda _a, _r, _e: False
    assert trap.kind is C.TrapKind.SYSCALL
    assert cpu.reg(X.UC_X86_REG_RBX) == 3  # nothing before a fault ran twice
    write = C.PF_WRITE | C.PF_USER
    assert faults == [(0x20000000, write), (0x20001000, write), (0x20002000, write)]
    assert all(user.walk(0x20000000 + i * 0x1000) & PRESENT for i in range(3))


@pytest.mark.parametrize("code_hex, kind", [
    ("0f22d8", C.TrapKind.GENERAL_PROTECTION),   # mov cr3, rax at ring 3
    ("f4", C.TrapKind.GENERAL_PROTECTION),       # hlt
    ("0f0b", C.TrapKind.INVALID_OPCODE),         # ud2
    ("e460", C.TrapKind.GENERAL_PROTECTION),     # in al, 0x60 (IOPL 0, no I/O bitmap)
    ("ec", C.TrapKind.GENERAL_PROTECTION),       # in al, dx
    ("e680", C.TrapKind.GENERAL_PROTECTION),     # out 0x80, al
    ("0f34", C.TrapKind.GENERAL_PROTECTION),     # sysenter (SYSENTER_CS is 0)
    ("cd0e", C.TrapKind.GENERAL_PROTECTION),     # int 0x0e: a DPL-0 gate, not a page fault
    ("48b8" + (C.KERNEL_BASE + C.GDT_PHYS).to_bytes(8, "little").hex() + "488b00",
     C.TrapKind.PAGE_FAULT),                     # read a supervisor page
])
def test_ring3_cannot_do_privileged_things(machine, code_hex, kind) -> None:
    _, _, cpu, _, _, _ = machine
    ctx = load(machine, code_hex)
    trap = cpu.run(ctx, 1_000_000)
    assert trap.kind is kind
    if kind is C.TrapKind.GENERAL_PROTECTION:
        assert trap.rip == CODE  # at the instruction, not after it or later in its block
    assert cpu.reg(X.UC_X86_REG_CS) & 3 == 3  # still at ring 3


def test_a_new_context_preempted_before_user_mode_enters_at_its_own_entry(machine) -> None:
    """A new context stopped at its first block (the ring-0 iretq stub) must, when it
    runs again, enter user mode at its own entry, even after another new context ran
    on the same CPU in between (issue 11: processes started at another's entry)."""
    ram, _, cpu, user, code, _ = machine
    # At CODE: mov eax, 1; syscall. At CODE+0x100: mov eax, 2; syscall.
    ram.write(code, bytes.fromhex("b8010000000f05"))
    ram.write(code + 0x100, bytes.fromhex("b8020000000f05"))
    cpu.invalidate_code()
    cpu.syscall_handler = lambda: False
    first = cpu.new_context(user.root, CODE, STACK)
    second = cpu.new_context(user.root, CODE + 0x100, STACK - 0x100)
    cpu._timer.preempt.flag = 1  # as if the quantum had run out before the first block
    cpu._timer.arm = lambda seconds: None  # keep it raised through run's own arming
    try:
        trap = cpu.run(first, 1000)
    finally:
        del cpu._timer.arm
    assert trap.kind is C.TrapKind.QUANTUM_EXPIRED
    assert cpu.run(second, 1000).kind is C.TrapKind.SYSCALL
    assert cpu.context_reg(second, X.UC_X86_REG_RAX) == 2
    trap = cpu.run(first, 1000)
    assert trap.kind is C.TrapKind.SYSCALL
    assert cpu.context_reg(first, X.UC_X86_REG_RAX) == 1, "entered at the other's entry"
    assert cpu.context_reg(first, X.UC_X86_REG_RSP) == STACK


def test_a_fault_after_an_invalid_opcode_is_a_page_fault_not_a_double_fault(machine) -> None:
    """Unicorn reports #UD as an error from emu_start, not through the hook; the fault
    latch must be reset on that path too, or the next page fault arrives as vector 8
    (issue 11: programs probing CPU features with a SIGILL handler died at random)."""
    _, _, cpu, _, _, _ = machine
    # ud2, then (resumed past it) a read of an unmapped user page.
    ctx = load(machine, "0f0b" "48b8" + (0x900000).to_bytes(8, "little").hex() + "488b00")
    kinds = []
    for _ in range(10):
        trap = cpu.run(ctx, 1_000_000)
        assert trap.kind is C.TrapKind.INVALID_OPCODE
        cpu.set_reg(X.UC_X86_REG_RIP, trap.rip + 2)
        kinds.append(cpu.run(ctx, 1_000_000).kind)
        cpu.set_reg(X.UC_X86_REG_RIP, CODE)
    assert kinds == [C.TrapKind.PAGE_FAULT] * 10
