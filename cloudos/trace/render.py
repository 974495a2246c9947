"""strace's printers: one argument register of a given ``Kind`` as strace shows it.

Owns: quoting (strace's escapes, ``-s`` cutting with ``...``), flag words, the structs
strace abbreviates (stat, sigaction, sockaddr ...), results and errors, signal names and
siginfo. Each ``Kind`` of ``cloudos.linux.syscalls.decode`` has one printer in
``PRINTERS``. Guest memory is read through the process's address space; anything that
cannot be read (a bad pointer, a struct that runs off a mapping) prints the address in
hex, as strace does: a printer's error never leaves ``Renderer.arg``.
Never: changes guest memory or kernel state.
Called by: ``cloudos.trace.strace`` and ``cloudos.trace.timeline``.
"""

from __future__ import annotations

import errno as host_errno
import os
import struct
from typing import Callable, Sequence

from cloudos.abi.dataclass import dataclass
from cloudos.hal import regs as X

from cloudos.abi.errno import Errno
from cloudos.abi.seccomp import AUDIT_ARCH_X86_64
from cloudos.abi.signal import CLD_EXITED, SIGRTMIN, SYS_SECCOMP, Signal
from cloudos.abi.sysno import Sysno
from cloudos.kernel.task import Thread
from cloudos.linux.syscalls import decode as d
from cloudos.linux.syscalls.decode import Arg, Kind, Ret

MASK64 = (1 << 64) - 1
PATH_MAX = 4096
MAX_ERRNO = 4095
ERESTARTSYS = 512


def s32(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >> 31 else value


def s64(value: int) -> int:
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def quote(data: bytes) -> str:
    """``data`` in double quotes with strace's escapes (octal as short as unambiguous)."""
    out = ['"']
    special = {0x22: '\\"', 0x5C: "\\\\", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
               0x0B: "\\v"}
    for i, c in enumerate(data):
        if c in special:
            out.append(special[c])
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        elif i + 1 < len(data) and 0x30 <= data[i + 1] <= 0x37:
            out.append(f"\\{c:03o}")
        else:
            out.append(f"\\{c:o}")
    out.append('"')
    return "".join(out)


def hexaddr(value: int) -> str:
    return "NULL" if value == 0 else f"{value & MASK64:#x}"


def flags(value: int, bits: Sequence[tuple[int, str]], zero: str = "0") -> str:
    """``A|B|0x..``: named bits in order, then what no name covers."""
    names, rest = [], value
    for bit, name in bits:
        if bit and rest & bit == bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(f"{rest:#x}")
    return "|".join(names) or zero


def octal(value: int) -> str:
    """C's ``%#03o``: 0644, 022, 000."""
    return ("0" + format(value, "o") if value else "0").rjust(3, "0")


def signame(sig: int) -> str:
    if 0 < sig < SIGRTMIN:
        return Signal(sig).name
    if sig == SIGRTMIN:
        return "SIGRTMIN"
    return f"SIGRT_{sig - SIGRTMIN}" if SIGRTMIN < sig <= 64 else str(sig)


def sigset(mask: int) -> str:
    """``[INT CHLD]``, or ``~[...]`` of the complement when more than half are set."""
    mask &= MASK64
    prefix = ""
    if bin(mask).count("1") > 32:
        prefix, mask = "~", ~mask & MASK64
    names = [signame(n + 1).removeprefix("SIG") for n in range(64) if mask >> n & 1]
    return prefix + "[" + " ".join(names) + "]"


def errname(number: int) -> str:
    try:
        return Errno(number).name
    except ValueError:
        return host_errno.errorcode.get(number, f"E?{number}")


def result(value: int, ret: Ret) -> str:
    """``= ...`` of strace without the ``= ``: a number, an address, or -1 ERR (text)."""
    if ret is Ret.NONE:
        return "?"
    signed = s64(value)
    if -MAX_ERRNO <= signed < 0:
        number = -signed
        if number == ERESTARTSYS:
            return "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
        if errname(number).startswith("E?"):  # a number no errno names (seccomp's ERRNO)
            return f"-1 (errno {number})"
        return f"-1 {errname(number)} ({os.strerror(number)})"
    if ret is Ret.HEX:
        return f"{value & MASK64:#x}"
    if ret is Ret.OCTAL:
        return octal(value)
    return str(signed)


def makedev(dev: int) -> str:
    major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF)
    minor = (dev & 0xFF) | ((dev >> 12) & ~0xFF)
    return f"makedev({major:#x}, {minor:#x})".replace("0x0,", "0,").replace("0x0)", "0)")


def file_mode(mode: int) -> str:
    kind = d.FILE_TYPES.get(mode & 0o170000)
    perms = octal(mode & 0o7777)
    return f"{kind}|{perms}" if kind else perms


@dataclass
class Call:
    """What a printer may look at: the caller, the registers, the result, -s."""

    thread: Thread
    args: Sequence[int]
    result: int
    index: int
    arg: Arg
    strsize: int

    def read(self, addr: int, length: int) -> bytes:
        return self.thread.process.aspace.copy_in(addr, length)

    def word(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def cstring(self, addr: int, limit: int) -> tuple[bytes, bool]:
        """A NUL-terminated string of at most ``limit`` bytes, and whether it went on."""
        out = bytearray()
        while len(out) <= limit:
            chunk = self.read(addr, 4096 - (addr & 4095))
            nul = chunk.find(0)
            if nul >= 0:
                out += chunk[:nul]
                break
            out += chunk
            addr += len(chunk)
        return bytes(out[:limit]), len(out) > limit

    def string(self, addr: int, limit: int) -> str:
        text, more = self.cstring(addr, limit)
        return quote(text) + ("..." if more else "")

    @property
    def length(self) -> int:
        return self.result if self.arg.length < 0 else self.args[self.arg.length]


Printer = Callable[[Call, int], "str | None"]


def _buf(c: Call, v: int) -> str:
    n = max(0, c.length)
    shown = min(n, c.strsize)
    return quote(c.read(v, shown)) + ("..." if n > shown else "")


def _random(c: Call, v: int) -> str:
    n = max(0, c.length)
    shown = min(n, c.strsize)
    data = "".join(f"\\x{b:02x}" for b in c.read(v, shown))
    return f'"{data}"' + ("..." if n > shown else "")


def _iovec(c: Call, v: int) -> str:
    count = max(0, s32(c.length))
    left = c.result if c.arg.out else -1
    items = []
    for i in range(min(count, c.strsize)):
        base, size = struct.unpack("<QQ", c.read(v + 16 * i, 16))
        n = size if left < 0 else min(size, left)
        left = left - n if left >= 0 else left
        shown = min(n, c.strsize)
        data = quote(c.read(base, shown)) + ("..." if n > shown else "")
        items.append(f"{{iov_base={data}, iov_len={size}}}")
    return "[" + ", ".join(items) + (", ..." if count > c.strsize else "") + "]"


def _creat_mode(c: Call, v: int) -> str | None:
    flag_word = c.args[c.index - 1]
    creates = flag_word & d.O_CREAT or flag_word & d.O_TMPFILE == d.O_TMPFILE
    return octal(v & 0xFFFF) if creates else None


def _open_flags(_c: Call, v: int) -> str:
    v &= 0xFFFF_FFFF
    rest = flags(v & ~3, d.OPEN_BITS, "")
    return d.OPEN_ACCESS[v & 3] + ("|" + rest if rest else "")


def _map_flags(_c: Call, v: int) -> str:
    v &= 0xFFFF_FFFF
    kind = d.MAP_TYPES.get(v & 0xF)
    rest = flags(v & ~0xF if kind else v, d.MAP_BITS, "")
    return "|".join(x for x in (kind, rest) if x) or "0"


def _signal(_c: Call, v: int) -> str:
    return signame(s32(v)) if s32(v) > 0 else str(s32(v))


def _sigset(c: Call, v: int) -> str:
    return hexaddr(v) if v == 0 else sigset(c.word(v))


def _sigaction(c: Call, v: int) -> str:
    if v == 0:
        return "NULL"
    handler, sa_flags, restorer, mask = struct.unpack("<QQQQ", c.read(v, 32))
    name = {0: "SIG_DFL", 1: "SIG_IGN"}.get(handler, f"{handler:#x}")
    text = f"{{sa_handler={name}, sa_mask={sigset(mask)}, sa_flags={flags(sa_flags, d.SA_BITS)}"
    if sa_flags & 0x04000000:
        text += f", sa_restorer={restorer:#x}"
    return text + "}"


def _stat(c: Call, v: int) -> str:
    raw = c.read(v, 144)
    mode, = struct.unpack_from("<I", raw, 24)
    rdev, size = struct.unpack_from("<Qq", raw, 40)
    if mode & 0o170000 in (0o20000, 0o60000):
        return f"{{st_mode={file_mode(mode)}, st_rdev={makedev(rdev)}, ...}}"
    return f"{{st_mode={file_mode(mode)}, st_size={size}, ...}}"


def _pipefds(c: Call, v: int) -> str:
    a, b = struct.unpack("<ii", c.read(v, 8))
    return f"[{a}, {b}]"


def _wait_status(c: Call, v: int) -> str:
    if v == 0 or s64(c.result) <= 0:
        return hexaddr(v)
    status, = struct.unpack("<i", c.read(v, 4))
    low = status & 0x7F
    if status & 0xFFFF == 0xFFFF:
        what = "WIFCONTINUED(s)"
    elif low == 0x7F:
        what = f"WIFSTOPPED(s) && WSTOPSIG(s) == {signame(status >> 8 & 0xFF)}"
    elif low == 0:
        what = f"WIFEXITED(s) && WEXITSTATUS(s) == {status >> 8 & 0xFF}"
    else:
        what = f"WIFSIGNALED(s) && WTERMSIG(s) == {signame(low)}"
        what += " && WCOREDUMP(s)" if status & 0x80 else ""
    return f"[{{{what}}}]"


def _clone(c: Call, _v: int) -> str:
    flag_word, stack, parent_tid, child_tid, tls = c.args[:5]
    exit_signal = flag_word & 0xFF
    names = flags(flag_word & ~0xFF, d.CLONE_BITS, "")
    if exit_signal:
        names = "|".join(x for x in (names, signame(exit_signal)) if x)
    parts = [f"child_stack={hexaddr(stack)}", f"flags={names or '0'}"]
    if flag_word & 0x100000:  # CLONE_PARENT_SETTID
        tid = f"[{s32(int.from_bytes(c.read(parent_tid, 4), 'little'))}]" \
            if s64(c.result) > 0 else hexaddr(parent_tid)
        parts.append(f"parent_tid={tid}")
    if flag_word & 0x80000:  # CLONE_SETTLS
        parts.append(f"tls={hexaddr(tls)}")
    if flag_word & 0x1200000:  # CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID
        parts.append(f"child_tidptr={hexaddr(child_tid)}")
    return ", ".join(parts)


def _argv(c: Call, v: int) -> str:
    items: list[str] = []
    while len(items) <= c.strsize:
        ptr = c.word(v + 8 * len(items))
        if ptr == 0:
            break
        items.append(c.string(ptr, c.strsize))
    more = len(items) > c.strsize
    return "[" + ", ".join(items[:c.strsize]) + (", ..." if more else "") + "]"


def _envp(c: Call, v: int) -> str:
    count = 0
    while count < 4096 and c.word(v + 8 * count):
        count += 1
    return f"{hexaddr(v)} /* {count} var{'s' if count != 1 else ''} */"


def _sock_type(_c: Call, v: int) -> str:
    kind = d.SOCK_TYPES.get(v & 0xF, str(v & 0xF))
    rest = flags(v & ~0xF, d.SOCK_BITS, "")
    return kind + ("|" + rest if rest else "")


def _sockaddr(c: Call, v: int) -> str:
    length = s32(c.length)
    raw = c.read(v, max(2, min(length, 128)))
    family, = struct.unpack_from("<H", raw)
    name = d.DOMAINS.get(family, str(family))
    if family == 1:
        path = raw[2:length]
        if path[:1] == b"\0":
            return f"{{sa_family={name}, sun_path=@{quote(path[1:])}}}"
        return f"{{sa_family={name}, sun_path={quote(path.partition(bytes(1))[0])}}}"
    if family == 2 and length >= 8:
        port, = struct.unpack_from(">H", raw, 2)
        addr = ".".join(str(b) for b in raw[4:8])
        return f"{{sa_family={name}, sin_port=htons({port}), sin_addr=inet_addr(\"{addr}\")}}"
    return f"{{sa_family={name}, sa_data={quote(raw[2:length])}}}"


def _timespec(c: Call, v: int) -> str:
    if v == 0:
        return "NULL"
    sec, nsec = struct.unpack("<qq", c.read(v, 16))
    return f"{{tv_sec={sec}, tv_nsec={nsec}}}"


def _futex_op(_c: Call, v: int) -> str:
    name = d.FUTEX_OPS.get(v & 0x7F, str(v & 0x7F))
    name += "_PRIVATE" if v & d.FUTEX_PRIVATE else ""
    return name + ("|FUTEX_CLOCK_REALTIME" if v & d.FUTEX_CLOCK_REALTIME else "")


def _fcntl_arg(c: Call, v: int) -> str | None:
    cmd = c.args[1] & 0xFFFF_FFFF
    if cmd in d.FCNTL_NO_ARG:
        return None
    if cmd == 2:  # F_SETFD
        return flags(v & 0xFFFF_FFFF, ((1, "FD_CLOEXEC"),))
    if cmd == 4:  # F_SETFL
        return _open_flags(c, v)
    return str(s32(v)) if cmd in (0, 1030) else hexaddr(v)


def _prctl_option(_c: Call, v: int) -> str:
    option = v & 0xFFFF_FFFF
    known = d.PRCTLS.get(option)
    return known[0] if known else f"{option:#x} /* PR_??? */"


def _prctl_arg(c: Call, v: int) -> str | None:
    """prctl's argument ``c.index`` (1-4), as its option says (strace's prctl.c)."""
    known = d.PRCTLS.get(c.args[0] & 0xFFFF_FFFF)
    layout = known[1] if known else None
    if layout is None:  # (an option without a layout, or none: four words in hex)
        return f"{v & MASK64:#x}" if v else "0"
    if c.index > len(layout):
        return None
    kind = layout[c.index - 1]
    failed = -MAX_ERRNO <= s64(c.result) < 0
    if kind.startswith("*") and (failed or v == 0):  # (nothing stored: the address)
        return hexaddr(v)
    if kind == "signal":
        return _signal(c, v)
    if kind == "*signal":
        return "[" + _signal(c, int.from_bytes(c.read(v, 4), "little")) + "]"
    if kind == "*int":
        return f"[{s32(int.from_bytes(c.read(v, 4), 'little'))}]"
    if kind == "*ptr":
        return f"[{hexaddr(c.word(v))}]"
    if kind in ("str", "*str"):
        return c.string(v, 15)  # (TASK_COMM_LEN less the NUL)
    if kind == "cap":
        cap = s32(v)
        return d.CAPABILITIES[cap] if 0 <= cap < len(d.CAPABILITIES) else str(cap)
    if kind == "dumpable":
        return d.DUMPABLES.get(v & MASK64, str(v & MASK64))
    if kind == "ambient":
        return d.AMBIENT_OPS.get(v & MASK64, f"{v & MASK64:#x} /* PR_CAP_AMBIENT_??? */")
    if kind == "tsc":
        return d.TSCS.get(v & MASK64, f"{v & MASK64:#x} /* PR_TSC_??? */")
    if kind == "*tsc":
        tsc = int.from_bytes(c.read(v, 4), "little")
        return "[" + d.TSCS.get(tsc, f"{tsc:#x} /* PR_TSC_??? */") + "]"
    if kind == "ptracer":
        return "PR_SET_PTRACER_ANY" if v & MASK64 == MASK64 else str(s32(v))
    if kind == "seccomp_mode":
        return d.SECCOMP_MODES.get(v & MASK64, f"{v & MASK64:#x} /* SECCOMP_MODE_??? */")
    if kind == "seccomp_prog":
        return _sock_fprog(c, v) if c.args[1] & MASK64 == 2 else None
    return str(v & MASK64)


def prctl_result(args: Sequence[int], value: int) -> str:
    """What strace adds after prctl's result: the name of PR_GET_DUMPABLE's or
    PR_MCE_KILL_GET's answer."""
    names = {d.PR_GET_DUMPABLE: d.DUMPABLES, d.PR_MCE_KILL_GET: d.MCE_KILLS}.get(
        args[0] & 0xFFFF_FFFF, {})
    return f" ({names[value]})" if value in names else ""


def _sock_fprog(c: Call, v: int) -> str:
    length = int.from_bytes(c.read(v, 2), "little")
    return f"{{len={length}, filter={hexaddr(c.word(v + 8))}}}"


def _seccomp_op(_c: Call, v: int) -> str:
    op = v & 0xFFFF_FFFF
    return d.SECCOMP_OPS.get(op, f"{op:#x} /* SECCOMP_SET_MODE_??? */")


def _seccomp_arg(c: Call, v: int) -> str:
    op = c.args[0] & 0xFFFF_FFFF
    if v == 0 or -MAX_ERRNO <= s64(c.result) < 0 and op != 1:
        return hexaddr(v)
    if op == 1:  # SECCOMP_SET_MODE_FILTER
        return _sock_fprog(c, v)
    if op == 2:  # SECCOMP_GET_ACTION_AVAIL
        action = int.from_bytes(c.read(v, 4), "little")
        return "[" + d.SECCOMP_ACTIONS.get(action, f"{action:#x}") + "]"
    return hexaddr(v)


def _dirents(c: Call, v: int) -> str:
    if s64(c.result) < 0:
        return hexaddr(v)
    raw, count, offset = c.read(v, c.result), 0, 0
    while offset + 18 <= len(raw):
        reclen, = struct.unpack_from("<H", raw, offset + 16)
        if reclen == 0:
            break
        offset += reclen
        count += 1
    return f"{hexaddr(v)} /* {count} entr{'ies' if count != 1 else 'y'} */"


def _utsname(c: Call, v: int) -> str:
    raw = c.read(v, 65 * 2)
    sysname, nodename = (raw[i * 65:(i + 1) * 65].split(b"\0", 1)[0] for i in range(2))
    return f"{{sysname={quote(sysname)}, nodename={quote(nodename)}, ...}}"


def _rlim(value: int) -> str:
    if value == MASK64:
        return "RLIM64_INFINITY"
    return f"{value // 1024}*1024" if value and value % 1024 == 0 else str(value)


def _rlimit_val(c: Call, v: int) -> str:
    if v == 0:
        return "NULL"
    cur, top = struct.unpack("<QQ", c.read(v, 16))
    return f"{{rlim_cur={_rlim(cur)}, rlim_max={_rlim(top)}}}"


def _pollfds(c: Call, v: int) -> str:
    count = max(0, s32(c.length))
    items = []
    for i in range(min(count, c.strsize)):
        fd, events, _ = struct.unpack("<ihh", c.read(v + 8 * i, 8))
        items.append(f"{{fd={fd}, events={flags(events & 0xFFFF, d.POLL_BITS)}}}")
    return "[" + ", ".join(items) + (", ..." if count > c.strsize else "") + "]"


def _sigframe(c: Call, _v: int) -> str:
    """The mask rt_sigreturn restores, from the frame at the stack pointer (at entry)."""
    from cloudos.linux.signals import SIGCONTEXT, UCONTEXT_HEAD
    rsp = c.thread.process.kernel.cpu.reg(X.UC_X86_REG_RSP)
    return f"{{mask={sigset(c.word(rsp + UCONTEXT_HEAD.size + SIGCONTEXT.size))}}}"


def _named(table: dict[int, str], signed: bool = True) -> Printer:
    def show(_c: Call, v: int) -> str:
        key = s32(v) if signed else v & 0xFFFF_FFFF
        return table.get(key, str(key) if signed else f"{key:#x}")
    return show


def _bits(table: Sequence[tuple[int, str]], zero: str = "0") -> Printer:
    return lambda _c, v: flags(v & 0xFFFF_FFFF, table, zero)


PRINTERS: dict[Kind, Printer] = {
    Kind.INT: lambda _c, v: str(s32(v)),
    Kind.LONG: lambda _c, v: str(s64(v)),
    Kind.ULONG: lambda _c, v: str(v & MASK64),
    Kind.HEX: lambda _c, v: f"{v & MASK64:#x}" if v else "0",
    Kind.PTR: lambda _c, v: hexaddr(v),
    Kind.FD: lambda _c, v: str(s32(v)),
    Kind.DIRFD: lambda _c, v: "AT_FDCWD" if s32(v) == -100 else str(s32(v)),
    Kind.PATH: lambda c, v: c.string(v, PATH_MAX),
    Kind.STR: lambda c, v: c.string(v, c.strsize),
    Kind.BUF: _buf,
    Kind.RANDOM: _random,
    Kind.GRND_FLAGS: _bits(d.GRND_BITS),
    Kind.IOVEC: _iovec,
    Kind.OPEN_FLAGS: _open_flags,
    Kind.FD_FLAGS: _bits(d.OPEN_BITS),
    Kind.MODE: lambda _c, v: octal(v & 0xFFFF_FFFF),
    Kind.CREAT_MODE: _creat_mode,
    Kind.ACCESS_MODE: _bits(d.ACCESS_BITS, "F_OK"),
    Kind.AT_FLAGS: _bits(d.AT_BITS),
    Kind.PROT: _bits(d.PROT_BITS, "PROT_NONE"),
    Kind.MAP_FLAGS: _map_flags,
    Kind.MREMAP_FLAGS: _bits(d.MREMAP_BITS),
    Kind.MADVICE: _named(d.MADVICES),
    Kind.WHENCE: _named(d.WHENCES),
    Kind.SIGNAL: _signal,
    Kind.SIGSET: _sigset,
    Kind.SIGHOW: _named(d.SIGHOWS),
    Kind.SIGACTION: _sigaction,
    Kind.STAT: _stat,
    Kind.PIPEFDS: _pipefds,
    Kind.WAIT_STATUS: _wait_status,
    Kind.WAIT_OPTIONS: _bits(d.WAIT_BITS),
    Kind.CLONE_FLAGS: _clone,
    Kind.ARGV: _argv,
    Kind.ENVP: _envp,
    Kind.SOCK_DOMAIN: _named(d.DOMAINS),
    Kind.SOCK_TYPE: _sock_type,
    Kind.SOCKADDR: _sockaddr,
    Kind.TIMESPEC: _timespec,
    Kind.CLOCK: _named(d.CLOCKS),
    Kind.FUTEX_OP: _futex_op,
    Kind.FCNTL_CMD: _named(d.FCNTL_CMDS),
    Kind.FCNTL_ARG: _fcntl_arg,
    Kind.IOCTL_REQ: _named(d.IOCTLS, signed=False),
    Kind.ARCH_PRCTL: _named(d.ARCH_PRCTLS, signed=False),
    Kind.PRCTL_OPTION: _prctl_option,
    Kind.PRCTL_ARG: _prctl_arg,
    Kind.SECCOMP_OP: _seccomp_op,
    Kind.SECCOMP_FLAGS: lambda c, v: flags(v & 0xFFFF_FFFF, d.SECCOMP_FILTER_BITS)
    if c.args[0] & 0xFFFF_FFFF == 1 else str(v & 0xFFFF_FFFF),
    Kind.SECCOMP_ARG: _seccomp_arg,
    Kind.DIRENTS: _dirents,
    Kind.UTSNAME: _utsname,
    Kind.RLIMIT: lambda _c, v: d.RLIMITS[v] if 0 <= v < len(d.RLIMITS) else str(s32(v)),
    Kind.RLIMIT_VAL: _rlimit_val,
    Kind.SHUT_HOW: _named(d.SHUT_HOWS),
    Kind.POLLFDS: _pollfds,
    Kind.SIGFRAME: _sigframe,
    Kind.RAW: lambda _c, v: f"{v & MASK64:#x}",
}
# Kinds a failed call never wrote: shown as their address, as strace does.
_KEPT_ON_ERROR = frozenset({Kind.CLONE_FLAGS, Kind.PRCTL_ARG, Kind.SECCOMP_ARG})


class Renderer:
    """Arguments and results in strace's words, with strings cut at ``strsize`` (-s)."""

    def __init__(self, strsize: int = 32) -> None:
        self.strsize = strsize

    def arg(self, thread: Thread, args: Sequence[int], index: int, arg: Arg,
            result: int = 0) -> str | None:
        """Argument ``index`` (None: strace leaves it out, as open's mode without O_CREAT)."""
        value = args[index]
        if arg.out and -MAX_ERRNO <= s64(result) < 0 and arg.kind not in _KEPT_ON_ERROR:
            return hexaddr(value)
        try:
            return PRINTERS[arg.kind](Call(thread, args, result, index, arg, self.strsize),
                                      value)
        except Exception:  # a bad pointer or a struct cut short: strace shows the address
            return hexaddr(value)


def siginfo(signo: int, code: int, pid: int = 0, uid: int = 0, status: int = 0,
            addr: int = 0, errno: int = 0, syscall: int = 0, arch: int = 0) -> str:
    """``{si_signo=SIGCHLD, si_code=CLD_EXITED, ...}`` as strace prints a signal's info."""
    head = f"{{si_signo={signame(signo)}, si_code="
    if signo == Signal.SIGSYS and code == SYS_SECCOMP:  # a seccomp filter's TRAP
        try:
            call = f"__NR_{Sysno(syscall).call_name}"
        except ValueError:
            call = str(syscall)
        return (head + "SYS_SECCOMP" + (f", si_errno={errname(errno)}" if errno else "")
                + f", si_call_addr={hexaddr(addr)}, si_syscall={call}, si_arch="
                + ("AUDIT_ARCH_X86_64" if arch == AUDIT_ARCH_X86_64 else f"{arch:#x}") + "}")
    if signo == Signal.SIGCHLD and code > 0:
        shown = f"{status}" if code == CLD_EXITED else signame(status)
        return (head + f"{d.CLD_CODES.get(code, code)}, si_pid={pid}, si_uid={uid}, "
                f"si_status={shown}, si_utime=0, si_stime=0}}")
    if signo in (Signal.SIGSEGV, Signal.SIGBUS, Signal.SIGILL, Signal.SIGFPE) and code > 0 \
            and code != 0x80:
        return head + f"{d.SEGV_CODES.get(code, code)}, si_addr={hexaddr(addr)}}}"
    name = d.SI_CODES.get(code, str(code))
    if code in (0, -6, -1):  # SI_USER, SI_TKILL, SI_QUEUE: from a process
        return head + f"{name}, si_pid={pid}, si_uid={uid}}}"
    if code == 0x80 and signo == Signal.SIGSEGV:
        return head + f"{name}, si_addr={hexaddr(addr)}}}"
    return head + f"{name}}}"
