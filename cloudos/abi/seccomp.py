"""Linux x86_64 seccomp(2) and classic BPF numbers (linux/seccomp.h, linux/filter.h,
linux/bpf_common.h, linux/audit.h).

Owns: the operations, modes, filter flags and return actions of seccomp(2), the layouts of
``struct seccomp_data``, ``struct sock_fprog`` and ``struct sock_filter``, and the parts of
a classic BPF opcode. What a filter does to a thread is the personality's
(``cloudos.linux.seccomp``), how a program is checked and run is ``cloudos.linux.cbpf``'s.
"""

import struct

from cloudos.abi.enums import IntEnum, IntFlag


class Op(IntEnum):
    """seccomp(2)'s first argument."""

    SET_MODE_STRICT = 0
    SET_MODE_FILTER = 1
    GET_ACTION_AVAIL = 2
    GET_NOTIF_SIZES = 3


class Mode(IntEnum):
    """A thread's seccomp mode (prctl PR_GET_SECCOMP; /proc/PID/status "Seccomp:")."""

    DISABLED = 0
    STRICT = 1
    FILTER = 2


class FilterFlag(IntFlag):
    """SECCOMP_SET_MODE_FILTER's flags."""

    TSYNC = 1
    LOG = 2
    SPEC_ALLOW = 4
    NEW_LISTENER = 8
    TSYNC_ESRCH = 16
    WAIT_KILLABLE_RECV = 32


class Action(IntEnum):
    """SECCOMP_RET_*: a filter's verdict, in the top 16 bits of its return value. As
    signed 32-bit numbers they are ordered from the most restrictive to the least."""

    KILL_PROCESS = 0x8000_0000
    KILL_THREAD = 0x0000_0000
    TRAP = 0x0003_0000
    ERRNO = 0x0005_0000
    USER_NOTIF = 0x7FC0_0000
    TRACE = 0x7FF0_0000
    LOG = 0x7FFC_0000
    ALLOW = 0x7FFF_0000


RET_ACTION_FULL = 0xFFFF_0000  # the action bits of a return value
RET_DATA = 0x0000_FFFF         # the data bits (ERRNO's errno, TRAP's si_errno)
MAX_ERRNO = 4095               # ERRNO's data is capped at this
AUDIT_ARCH_X86_64 = 0xC000_003E  # seccomp_data.arch of a 64-bit call

# struct seccomp_data {int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];}
SECCOMP_DATA = struct.Struct("<iIQ6Q")
# struct sock_fprog {unsigned short len; struct sock_filter *filter;}
SOCK_FPROG = struct.Struct("<H6xQ")
# struct sock_filter {__u16 code; __u8 jt; __u8 jf; __u32 k;}
SOCK_FILTER = struct.Struct("<HBBI")
BPF_MAXINSNS = 4096   # the longest program
BPF_MEMWORDS = 16     # the scratch memory's words (M[0..15])
MAX_INSNS_PER_PATH = 32768  # all of a thread's filters, each counted 4 longer (ENOMEM)

# struct seccomp_notif_sizes, as SECCOMP_GET_NOTIF_SIZES would fill it (not offered here)
NOTIF_SIZES = struct.Struct("<HHH")

# A classic BPF opcode: class | size | mode (loads), class | op | source (ALU, jumps).
BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC = range(8)
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND = 0x00, 0x10, 0x20, 0x30, 0x40, 0x50
BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR = 0x60, 0x70, 0x80, 0x90, 0xA0
BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET = 0x00, 0x10, 0x20, 0x30, 0x40
BPF_K, BPF_X, BPF_A = 0x00, 0x08, 0x10  # source: the constant k, X; RET's A
BPF_TAX, BPF_TXA = 0x00, 0x80
