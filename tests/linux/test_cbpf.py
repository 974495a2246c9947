"""Classic BPF for seccomp (``linux.cbpf``): the checks Linux makes of a filter, the
interpreter's arithmetic and jumps, and the constant walk seccomp caches by. The guest
program tests/guest/seccomp.c compares whole filters with the host's Linux; here the
corners are each one case, and random programs must never do anything but pass the
check (and then run to a return) or fail it with EINVAL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudos.abi.seccomp import SECCOMP_DATA, SOCK_FILTER
from cloudos.errno import Errno, KernelError
from cloudos.linux import cbpf

LD_ABS, LD_LEN, LDX_LEN, LD_IMM, LDX_IMM = 0x20, 0x80, 0x81, 0x00, 0x01
LD_MEM, LDX_MEM, ST, STX, TAX, TXA = 0x60, 0x61, 0x02, 0x03, 0x07, 0x87
ADD_K, SUB_X, MUL_K, DIV_K, DIV_X, AND_K, OR_K, XOR_X = 0x04, 0x1C, 0x24, 0x34, 0x3C, 0x54, \
    0x44, 0xAC
LSH_K, LSH_X, RSH_X, NEG, MOD_K = 0x64, 0x6C, 0x7C, 0x84, 0x94
JA, JEQ_K, JGT_X, JGE_K, JSET_K = 0x05, 0x15, 0x2D, 0x35, 0x45
RET_K, RET_A, RET_X = 0x06, 0x16, 0x0E
ALLOW = 0x7FFF_0000


def raw(*insns: tuple[int, int, int, int]) -> bytes:
    return b"".join(SOCK_FILTER.pack(*insn) for insn in insns)


def words(nr: int = 39, args: tuple[int, ...] = (0,) * 6, ip: int = 0x401000) -> tuple[int, ...]:
    data = SECCOMP_DATA.pack(nr, 0xC000003E, ip, *args)
    return tuple(int.from_bytes(data[i:i + 4], "little") for i in range(0, 64, 4))


def result(*insns: tuple[int, int, int, int], data: tuple[int, ...] | None = None) -> int:
    return cbpf.run(cbpf.check(raw(*insns)), data or words())


def refused(*insns: tuple[int, int, int, int]) -> bool:
    try:
        cbpf.check(raw(*insns))
    except KernelError as err:
        assert err.errno == Errno.EINVAL
        return True
    return False


@pytest.mark.parametrize("insns", [
    (),                                            # empty
    ((RET_K, 0, 0, 0),) * 4097,                    # longer than BPF_MAXINSNS
    ((0x28, 0, 0, 0), (RET_K, 0, 0, 0)),           # a halfword load
    ((LD_ABS, 0, 0, 2), (RET_K, 0, 0, 0)),         # not aligned
    ((LD_ABS, 0, 0, 64), (RET_K, 0, 0, 0)),        # past seccomp_data
    ((JEQ_K, 1, 0, 0), (RET_K, 0, 0, 0)),          # a jump past the end
    ((JA, 0, 0, 1), (RET_K, 0, 0, 0)),
    ((RET_K, 0, 0, 0), (LD_ABS, 0, 0, 0)),         # no return at the end
    ((DIV_K, 0, 0, 0), (RET_K, 0, 0, 0)),          # division by a constant 0
    ((MOD_K, 0, 0, 3), (RET_K, 0, 0, 0)),          # seccomp allows no BPF_MOD
    ((LSH_K, 0, 0, 32), (RET_K, 0, 0, 0)),
    ((ST, 0, 0, 16), (RET_K, 0, 0, 0)),            # no scratch word 16
    ((LD_MEM, 0, 0, 0), (RET_K, 0, 0, 0)),         # read before written
    ((JEQ_K, 0, 1, 0), (ST, 0, 0, 2), (LD_MEM, 0, 0, 2), (RET_K, 0, 0, 0)),  # on one way
    ((RET_X, 0, 0, 0),),
])
def test_linux_refuses(insns):
    assert refused(*insns)


def test_a_word_written_on_every_way_may_be_read():
    assert not refused((ST, 0, 0, 2), (JEQ_K, 0, 1, 0), (ST, 0, 0, 2), (LD_MEM, 0, 0, 2),
                       (RET_A, 0, 0, 0))


def test_loads_see_seccomp_data_words():
    data = words(nr=-1, args=(0x1_0000_03E8, 0, 0, 0, 0, 0), ip=0x7FFF_1234_5678)
    assert result((LD_ABS, 0, 0, 0), (RET_A, 0, 0, 0), data=data) == 0xFFFF_FFFF
    assert result((LD_ABS, 0, 0, 4), (RET_A, 0, 0, 0)) == 0xC000_003E
    assert result((LD_ABS, 0, 0, 12), (RET_A, 0, 0, 0), data=data) == 0x7FFF
    assert result((LD_ABS, 0, 0, 16), (RET_A, 0, 0, 0), data=data) == 0x3E8
    assert result((LD_ABS, 0, 0, 20), (RET_A, 0, 0, 0), data=data) == 1
    assert result((LD_LEN, 0, 0, 0), (RET_A, 0, 0, 0)) == 64
    assert result((LDX_LEN, 0, 0, 0), (TXA, 0, 0, 0), (RET_A, 0, 0, 0)) == 64


def test_alu_wraps_at_32_bits():
    assert result((LD_IMM, 0, 0, 0xFFFF_FFFF), (ADD_K, 0, 0, 2), (RET_A, 0, 0, 0)) == 1
    assert result((LDX_IMM, 0, 0, 1), (SUB_X, 0, 0, 0), (RET_A, 0, 0, 0)) == 0xFFFF_FFFF
    assert result((LD_IMM, 0, 0, 0x8000_0001), (MUL_K, 0, 0, 4), (RET_A, 0, 0, 0)) == 4
    assert result((LD_IMM, 0, 0, 5), (NEG, 0, 0, 0), (RET_A, 0, 0, 0)) == 0xFFFF_FFFB
    assert result((LD_IMM, 0, 0, 100), (DIV_K, 0, 0, 7), (RET_A, 0, 0, 0)) == 14
    assert result((LD_IMM, 1, 0, 0xF0), (AND_K, 0, 0, 0x3C), (OR_K, 0, 0, 1),
                  (RET_A, 0, 0, 0)) == 0x31


def test_a_division_by_x_zero_returns_0_and_shifts_by_x_count_mod_32():
    assert result((LD_IMM, 0, 0, 9), (LDX_IMM, 0, 0, 0), (DIV_X, 0, 0, 0),
                  (RET_K, 0, 0, ALLOW)) == 0
    assert result((LD_IMM, 0, 0, 1), (LDX_IMM, 0, 0, 33), (LSH_X, 0, 0, 0),
                  (RET_A, 0, 0, 0)) == 2
    assert result((LD_IMM, 0, 0, 8), (LDX_IMM, 0, 0, 35), (RSH_X, 0, 0, 0),
                  (RET_A, 0, 0, 0)) == 1


def test_jumps_and_scratch_memory():
    prog = [(LD_ABS, 0, 0, 0), (ST, 0, 0, 5), (JEQ_K, 1, 0, 39), (JA, 0, 0, 4),
            (LDX_IMM, 0, 0, 7), (LD_MEM, 0, 0, 5), (JGT_X, 0, 1, 0), (RET_K, 0, 0, 2),
            (JSET_K, 0, 1, 0x20), (RET_K, 0, 0, 3), (JGE_K, 0, 1, 40), (RET_K, 0, 0, 4),
            (RET_K, 0, 0, 5)]
    assert result(*prog, data=words(nr=39)) == 2   # 39 > 7
    assert result(*prog, data=words(nr=1)) == 5    # JA to the JSET, then 1 < 40
    assert result((LD_IMM, 0, 0, 3), (TAX, 0, 0, 0), (LD_IMM, 0, 0, 5), (XOR_X, 0, 0, 0),
                  (RET_A, 0, 0, 0)) == 6


def test_constant_walks_only_known_words():
    allow_list = cbpf.check(raw((LD_ABS, 0, 0, 4), (JEQ_K, 1, 0, 0xC000_003E),
                                (RET_K, 0, 0, 0), (LD_ABS, 0, 0, 0), (JEQ_K, 0, 1, 39),
                                (RET_K, 0, 0, ALLOW), (RET_K, 0, 0, 0x5_0001)))
    known = {0: 39, 4: 0xC000_003E}
    assert cbpf.constant(allow_list, known) == ALLOW
    assert cbpf.constant(allow_list, {0: 40, 4: 0xC000_003E}) == 0x5_0001
    by_argument = cbpf.check(raw((LD_ABS, 0, 0, 16), (RET_A, 0, 0, 0)))
    assert cbpf.constant(by_argument, known) is None


instruction = st.tuples(st.sampled_from(sorted(cbpf.OPERATIONS) + [0x28, MOD_K, RET_X, 0xFFFF]),
                        st.integers(0, 255), st.integers(0, 255),
                        st.one_of(st.integers(0, 70), st.integers(0, 0xFFFF_FFFF)))


@settings(max_examples=300, deadline=None)
@given(st.lists(instruction, min_size=0, max_size=40), st.lists(st.integers(0, 2**64 - 1),
                                                                min_size=6, max_size=6))
def test_random_programs_are_refused_or_run_to_a_return(insns, args):
    try:
        program = cbpf.check(raw(*insns))
    except KernelError as err:
        assert err.errno == Errno.EINVAL
        return
    ret = cbpf.run(program, words(args=tuple(args)))
    assert 0 <= ret <= 0xFFFF_FFFF
    constant = cbpf.constant(program, {0: 39, 4: 0xC000_003E})
    assert constant is None or constant == cbpf.run(program, words(nr=39, args=tuple(args)))
