"""Linux x86_64 ptrace(2) numbers (linux/ptrace.h, asm/ptrace-abi.h, sys/user.h).

Owns: the request, option and event numbers, the layout of ``struct user_regs_struct``
and of ``struct ptrace_syscall_info``. What they mean to a process is the
personality's (``cloudos.linux.ptrace``).
"""

import struct

from cloudos.abi.enums import IntEnum, IntFlag


class Request(IntEnum):
    """ptrace(2) requests."""

    TRACEME = 0
    PEEKTEXT = 1
    PEEKDATA = 2
    PEEKUSER = 3
    POKETEXT = 4
    POKEDATA = 5
    POKEUSER = 6
    CONT = 7
    KILL = 8
    SINGLESTEP = 9
    GETREGS = 12
    SETREGS = 13
    GETFPREGS = 14
    SETFPREGS = 15
    ATTACH = 16
    DETACH = 17
    SYSCALL = 24
    SETOPTIONS = 0x4200
    GETEVENTMSG = 0x4201
    GETSIGINFO = 0x4202
    SETSIGINFO = 0x4203
    GETREGSET = 0x4204
    SETREGSET = 0x4205
    SEIZE = 0x4206
    INTERRUPT = 0x4207
    LISTEN = 0x4208
    GET_SYSCALL_INFO = 0x420E


class Option(IntFlag):
    """PTRACE_O_* options of PTRACE_SETOPTIONS and PTRACE_SEIZE."""

    TRACESYSGOOD = 0x1
    TRACEFORK = 0x2
    TRACEVFORK = 0x4
    TRACECLONE = 0x8
    TRACEEXEC = 0x10
    TRACEVFORKDONE = 0x20
    TRACEEXIT = 0x40
    TRACESECCOMP = 0x80
    EXITKILL = 0x100000
    SUSPEND_SECCOMP = 0x200000


OPTIONS_VALID = 0x3000FF  # every PTRACE_O_* Linux knows (others: EINVAL)


class Event(IntEnum):
    """PTRACE_EVENT_*: the byte above the signal in a ptrace-stop's wait status."""

    FORK = 1
    VFORK = 2
    CLONE = 3
    EXEC = 4
    VFORK_DONE = 5
    EXIT = 6
    STOP = 128


SYSCALL_TRAP = 0x80  # TRACESYSGOOD's bit on SIGTRAP in a syscall-stop's status

# struct user_regs_struct, in order: 27 unsigned longs
USER_REGS = ("R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8", "RAX",
             "RCX", "RDX", "RSI", "RDI", "ORIG_RAX", "RIP", "CS", "EFLAGS", "RSP", "SS",
             "FS_BASE", "GS_BASE", "DS", "ES", "FS", "GS")
USER_REGS_STRUCT = struct.Struct(f"<{len(USER_REGS)}Q")
USER_SIZE = 912           # sizeof(struct user): PEEKUSER/POKEUSER offsets below it are valid
USER_DEBUGREG = 848       # offsetof(struct user, u_debugreg): 8 debug registers
USER_FPREGS_SIZE = 512    # struct user_fpregs_struct (the FXSAVE image)
NT_PRSTATUS, NT_PRFPREG = 1, 2  # GETREGSET's regsets
IOVEC = struct.Struct("<QQ")

# struct ptrace_syscall_info: op, 3 pad bytes, arch, instruction and stack pointer, then
# entry {nr, args[6]} or exit {rval, is_error}
SYSCALL_INFO_HEAD = struct.Struct("<B3xIQQ")
SYSCALL_INFO_NONE, SYSCALL_INFO_ENTRY, SYSCALL_INFO_EXIT = 0, 1, 2
AUDIT_ARCH_X86_64 = 0xC000003E
