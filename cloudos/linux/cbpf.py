"""Classic BPF as seccomp filters use it: Linux's checks of a program, and an interpreter
that runs one over the 16 words of a ``struct seccomp_data``.

Owns: ``Program`` (a checked program, decoded once: each instruction an operation and
its operands, jumps as absolute targets), ``check`` (the only way to make one: every
rule of Linux's ``bpf_check_classic`` and ``seccomp_check_filter``, whose refusals are
all EINVAL), ``run`` (A and X are unsigned 32-bit; a division by X = 0 ends the program
with 0, as Linux's conversion of classic BPF does; a shift by X counts X mod 32) and
``constant`` (the result of a program whose path reads only words the caller knows,
for seccomp's cache).
Never: knows what a return value means (``seccomp`` does), reads guest memory, raises
anything but ``KernelError(EINVAL)`` on a guest's program; a checked program runs to a
return in at most its length of steps (jumps only go forward).
Called by: ``seccomp``.
"""

from __future__ import annotations

from cloudos.abi.seccomp import (BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_DIV, BPF_IMM,
                                 BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K,
                                 BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MAXINSNS, BPF_MEM,
                                 BPF_MEMWORDS, BPF_MISC, BPF_MUL, BPF_NEG, BPF_OR, BPF_RET,
                                 BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W,
                                 BPF_X, BPF_XOR, SECCOMP_DATA, SOCK_FILTER)
from cloudos.errno import Errno, KernelError

U32 = 0xFFFF_FFFF
ALL_WORDS = 0xFFFF  # a mask of the scratch words known written (check_load_and_stores')

# The operations of a decoded program: what an opcode does, after seccomp's rewrites (a
# load of the length is a load of the constant sizeof(struct seccomp_data)).
(LD_ABS, LD_IMM, LDX_IMM, LD_MEM, LDX_MEM, ST, STX, TAX, TXA, NEG, ALU_K, ALU_X, JA,
 JUMP_K, JUMP_X, RET_K, RET_A) = range(17)

_SIMPLE = {
    BPF_LD | BPF_W | BPF_ABS: LD_ABS,
    BPF_LD | BPF_IMM: LD_IMM, BPF_LD | BPF_W | BPF_LEN: LD_IMM,
    BPF_LDX | BPF_IMM: LDX_IMM, BPF_LDX | BPF_W | BPF_LEN: LDX_IMM,
    BPF_LD | BPF_MEM: LD_MEM, BPF_LDX | BPF_MEM: LDX_MEM, BPF_ST: ST, BPF_STX: STX,
    BPF_MISC | BPF_TAX: TAX, BPF_MISC | BPF_TXA: TXA, BPF_ALU | BPF_NEG: NEG,
    BPF_JMP | BPF_JA: JA, BPF_RET | BPF_K: RET_K, BPF_RET | BPF_A: RET_A,
}
# The ALU and conditional jump operations seccomp allows (no BPF_MOD), with K or X.
_ALU_OPS = (BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH)
_JUMP_OPS = (BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET)
OPERATIONS = {**_SIMPLE,
              **{BPF_ALU | op | src: ALU_K if src == BPF_K else ALU_X
                 for op in _ALU_OPS for src in (BPF_K, BPF_X)},
              **{BPF_JMP | op | src: JUMP_K if src == BPF_K else JUMP_X
                 for op in _JUMP_OPS for src in (BPF_K, BPF_X)}}
_LENGTH_LOADS = (BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN)
_MEMORY = (LD_MEM, LDX_MEM, ST, STX)


class Program:
    """A checked program: ``insns[pc]`` is (operation, sub-operation, a, b, k), where for
    a conditional jump a and b are the targets if true and if false (JA: both its
    target), and the sub-operation is an ALU operation's or a jump's BPF_OP."""

    __slots__ = ("insns", "length")

    def __init__(self, insns: tuple[tuple[int, int, int, int, int], ...]) -> None:
        self.insns = insns
        self.length = len(insns)


def _invalid(pc: int, why: str) -> KernelError:
    return KernelError(Errno.EINVAL, f"filter instruction {pc}: {why}")


def check(raw: bytes) -> Program:
    """The program of ``raw`` (struct sock_filter[]), checked as Linux checks a seccomp
    filter: EINVAL if Linux refuses it."""
    count = len(raw) // SOCK_FILTER.size
    if not 1 <= count <= BPF_MAXINSNS:
        raise KernelError(Errno.EINVAL, f"filter of {count} instructions")
    insns = [SOCK_FILTER.unpack_from(raw, pc * SOCK_FILTER.size) for pc in range(count)]
    decoded = tuple(_decode(pc, count, *insn) for pc, insn in enumerate(insns))
    if decoded[-1][0] not in (RET_K, RET_A):
        raise _invalid(count - 1, "the last instruction is not a return")
    _check_memory(decoded)
    return Program(decoded)


def _decode(pc: int, count: int, code: int, jt: int, jf: int,
            k: int) -> tuple[int, int, int, int, int]:
    """One instruction, checked (its opcode allowed, its operands in range)."""
    operation = OPERATIONS.get(code)
    if operation is None:
        raise _invalid(pc, f"opcode {code:#x} not allowed in a seccomp filter")
    sub = code & 0xF0
    if code in _LENGTH_LOADS:
        k = SECCOMP_DATA.size
    elif operation == LD_ABS and (k >= SECCOMP_DATA.size or k & 3):
        raise _invalid(pc, f"load at {k}: not an aligned word of seccomp_data")
    elif operation in _MEMORY and k >= BPF_MEMWORDS:
        raise _invalid(pc, f"scratch word {k}")
    elif operation == ALU_K and (sub == BPF_DIV and k == 0 or sub in (BPF_LSH, BPF_RSH)
                                 and k >= 32):
        raise _invalid(pc, f"constant {k} of ALU operation {sub:#x}")
    elif operation == JA:
        if k >= count - pc - 1:
            raise _invalid(pc, f"jump by {k} past the end")
        return (JA, 0, pc + 1 + k, pc + 1 + k, 0)
    elif operation in (JUMP_K, JUMP_X):
        if pc + 1 + jt >= count or pc + 1 + jf >= count:
            raise _invalid(pc, f"jump by {jt}/{jf} past the end")
        return (operation, sub, pc + 1 + jt, pc + 1 + jf, k)
    return (operation, sub, 0, 0, k)


def _check_memory(insns: tuple[tuple[int, int, int, int, int], ...]) -> None:
    """Linux's check_load_and_stores: a load of a scratch word must follow a store to it
    on every way there. Walked in order, with the words known stored (none at the
    start): a jump leaves at its targets what it knew (what several ways agree on), and
    the instruction after a jump, reached only by jumps, knows what they left."""
    known_at = [ALL_WORDS] * len(insns)
    known = 0
    for pc, (operation, _sub, a, b, k) in enumerate(insns):
        known &= known_at[pc]
        if operation in (ST, STX):
            known |= 1 << k
        elif operation in (LD_MEM, LDX_MEM) and not known & 1 << k:
            raise _invalid(pc, f"scratch word {k} read before it is written")
        elif operation == JA:
            known_at[a] &= known
            known = ALL_WORDS
        elif operation in (JUMP_K, JUMP_X):
            known_at[a] &= known
            known_at[b] &= known
            known = ALL_WORDS


def run(program: Program, words: tuple[int, ...]) -> int:
    """The program's return value over ``words`` (seccomp_data as 16 unsigned 32-bit
    words). One loop, operations tested in the order filters use them most; a function
    over ~60 lines because a call per instruction would double a filter's cost."""
    insns = program.insns
    a = x = pc = 0
    memory = [0] * BPF_MEMWORDS
    while True:
        operation, sub, t, f, k = insns[pc]
        pc += 1
        if operation == LD_ABS:
            a = words[k >> 2]
        elif operation == JUMP_K or operation == JUMP_X:
            v = k if operation == JUMP_K else x
            if sub == BPF_JEQ:
                taken = a == v
            elif sub == BPF_JGE:
                taken = a >= v
            elif sub == BPF_JGT:
                taken = a > v
            else:
                taken = bool(a & v)
            pc = t if taken else f
        elif operation == RET_K:
            return k
        elif operation == ALU_K or operation == ALU_X:
            v = k if operation == ALU_K else x
            if sub == BPF_AND:
                a &= v
            elif sub == BPF_OR:
                a |= v
            elif sub == BPF_XOR:
                a ^= v
            elif sub == BPF_ADD:
                a = (a + v) & U32
            elif sub == BPF_SUB:
                a = (a - v) & U32
            elif sub == BPF_MUL:
                a = (a * v) & U32
            elif sub == BPF_DIV:
                if v == 0:
                    return 0
                a //= v
            elif sub == BPF_LSH:
                a = (a << (v & 31)) & U32
            else:
                a >>= v & 31
        elif operation == RET_A:
            return a
        elif operation == JA:
            pc = f
        elif operation == LD_IMM:
            a = k
        elif operation == LDX_IMM:
            x = k
        elif operation == TAX:
            x = a
        elif operation == TXA:
            a = x
        elif operation == LD_MEM:
            a = memory[k]
        elif operation == LDX_MEM:
            x = memory[k]
        elif operation == ST:
            memory[k] = a
        elif operation == STX:
            memory[k] = x
        else:
            a = -a & U32


def constant(program: Program, known: dict[int, int]) -> int | None:
    """The program's return value for any seccomp_data whose words at the byte offsets
    of ``known`` have those values, if its path reads no other data (the loads of known
    words, jumps against constants, AND with a constant, a constant return; Linux's
    seccomp_is_const_allow); else None."""
    a = pc = 0
    insns = program.insns
    while True:
        operation, sub, t, f, k = insns[pc]
        pc += 1
        if operation == LD_ABS and k in known:
            a = known[k]
        elif operation == JUMP_K:
            taken = (a == k if sub == BPF_JEQ else a >= k if sub == BPF_JGE
                     else a > k if sub == BPF_JGT else bool(a & k))
            pc = t if taken else f
        elif operation == JA:
            pc = f
        elif operation == ALU_K and sub == BPF_AND:
            a &= k
        elif operation == RET_K:
            return k
        else:
            return None

