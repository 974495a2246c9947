"""seccomp: a thread's system call filters and strict mode, applied at each system call
the thread makes (Linux's kernel/seccomp.c).

Owns: a thread's mode (``LinuxThread.seccomp``: None, ``STRICT``, or the newest
``Filter`` of a chain that only grows: fork, clone and TSYNC share it, exec keeps it,
nothing removes it); entering a mode with Linux's checks and errors (``set_strict``,
``set_filter``, ``action_available``); and the ``Gate``.
The gate stands in front of the dispatcher as every CPU's SYSCALL hook from the first
time any thread enters a mode: the call of a thread without one goes on at the cost of
one attribute test. For a thread with filters, all of them run over the call's
``struct seccomp_data`` (its raw number as an int, numbers past the table and negative
ones included; AUDIT_ARCH_X86_64; the RIP after the SYSCALL; the six argument
registers) and the most restrictive verdict acts (by Linux's order, the newest filter
first among equals): ALLOW and LOG run the call; ERRNO returns -data (at most 4095);
TRACE and USER_NOTIF fail ENOSYS, as on Linux without a tracer that asked for seccomp
events or a listener (neither can be had here); TRAP sends the thread SIGSYS
(SYS_SECCOMP, si_call_addr, si_syscall, si_arch, si_errno = data), the call unrun and
RAX still its number; KILL_THREAD ends the thread by SIGSYS (the process, with a core
dump, if it is its last); KILL_PROCESS and any unknown action end the process by
SIGSYS. Strict mode allows read, write, exit and rt_sigreturn and ends the thread by
SIGKILL at any other call.
A filter chain's verdict for a call number whose path reads only the number and the
arch (an allow-list's usual shape) is kept for that number (``Filter.cached``), as
Linux's action cache keeps its ALLOWs.
Never: changes the kernel's dispatcher or table, or runs anything of a filter but as
``cbpf`` data.
Differs from Linux: the filters run before a tracer's syscall-enter stop, not after it;
LOG and SECCOMP_FILTER_FLAG_LOG write no audit record; SPEC_ALLOW changes nothing (no
speculation mitigations are made here to relax).
Called by: ``syscalls/sys_seccomp`` (seccomp(2), prctl PR_SET_SECCOMP), every CPU's
SYSCALL hook, /proc's status (``mode``, ``count``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from cloudos.abi.seccomp import (AUDIT_ARCH_X86_64, BPF_MAXINSNS, MAX_ERRNO, MAX_INSNS_PER_PATH,
                                 RET_ACTION_FULL, RET_DATA, SOCK_FILTER, SOCK_FPROG, Action,
                                 FilterFlag, Mode)
from cloudos.abi.signal import SIGKILL, SIGSYS, SYS_SECCOMP
from cloudos.abi.sysno import Sysno
from cloudos.errno import Errno, KernelError
from cloudos.hal import regs as X
from cloudos.kernel.task import State, Thread
from cloudos.linux import cbpf, signals
from cloudos.linux.creds import CAP_SYS_ADMIN
from cloudos.linux.process import linux, linux_thread
from cloudos.linux.syscalls.args import s32
from cloudos.linux.syscalls.sys_fork import end_thread

if TYPE_CHECKING:
    from cloudos.kernel.boot import Kernel

SyscallHook = Callable[[int, int, int, int, int, int, int], "int | None"]

STRICT_CALLS = frozenset({Sysno.READ, Sysno.WRITE, Sysno.EXIT, Sysno.RT_SIGRETURN})
# (an int: an IntFlag's ~ keeps only its members' bits, and unknown bits must show)
SUPPORTED_FLAGS = int(FilterFlag.TSYNC | FilterFlag.LOG | FilterFlag.SPEC_ALLOW
                      | FilterFlag.TSYNC_ESRCH)  # (NEW_LISTENER, WAIT_KILLABLE_RECV: EINVAL)
# GET_ACTION_AVAIL's yes: every action but USER_NOTIF, whose listener cannot be made
AVAILABLE = frozenset(Action) - {Action.USER_NOTIF}
CACHED_NUMBERS = range(1024)  # the call numbers whose constant verdicts are kept
ALLOW, LOG, ERRNO, TRAP = Action.ALLOW, Action.LOG, Action.ERRNO, Action.TRAP
KILL_THREAD, TRACE, USER_NOTIF = Action.KILL_THREAD, Action.TRACE, Action.USER_NOTIF
ENOSYS = -Errno.ENOSYS
RUN = 1 << 64  # ``_verdict``'s answer "run the call": no RAX is this large


class _Strict:
    """Strict mode (its one value, ``STRICT``)."""

    mode = Mode.STRICT
    count = 0


STRICT = _Strict()


class Filter:
    """One installed filter and the chain before it (``prev``, older; shared with the
    threads and processes that had the chain when this one was added)."""

    mode = Mode.FILTER
    __slots__ = ("program", "prev", "log", "count", "length", "cached")
    count: int
    length: int

    def __init__(self, program: cbpf.Program, prev: Filter | None, log: bool) -> None:
        self.program, self.prev, self.log = program, prev, log
        self.count = 1 + (prev.count if prev is not None else 0)  # /proc's Seccomp_filters
        # instructions on the path, each older filter counted 4 longer (Linux's ENOMEM)
        self.length = program.length + (prev.length + 4 if prev is not None else 0)
        # call number -> the chain's verdict, or None: the verdict depends on more
        self.cached: dict[int, int | None] = {}

    def verdict(self, words: tuple[int, ...]) -> int:
        """The return value that acts: the most restrictive action, ordered as signed
        32-bit numbers, of every filter of the chain, the newest first among equals."""
        best, rank = int(ALLOW), _rank(ALLOW)
        f: Filter | None = self
        while f is not None:
            ret = cbpf.run(f.program, words)
            if _rank(ret) < rank:
                best, rank = ret, _rank(ret)
            f = f.prev
        return best

    def constant(self, number: int) -> int | None:
        """The chain's verdict for every call of ``number``, if it depends on nothing
        else (each filter's path reads only the number and the arch); else None."""
        known = {0: number & 0xFFFF_FFFF, 4: AUDIT_ARCH_X86_64}
        best, rank = int(ALLOW), _rank(ALLOW)
        f: Filter | None = self
        while f is not None:
            ret = cbpf.constant(f.program, known)
            if ret is None:
                return None
            if _rank(ret) < rank:
                best, rank = ret, _rank(ret)
            f = f.prev
        return best

    def descends_from(self, other: Filter | None) -> bool:
        """Whether ``other`` is this chain or one of its older parts (None: no filter)."""
        f: Filter | None = self
        while f is not None and f is not other:
            f = f.prev
        return f is other


def _rank(ret: int) -> int:
    """A return value's action as Linux orders them (ACTION_ONLY: signed 32 bits)."""
    action = ret & RET_ACTION_FULL
    return action - (1 << 32) if action & 0x8000_0000 else action


# -- entering a mode ----------------------------------------------------------------
def mode_of(t: Thread) -> int:
    """PR_GET_SECCOMP: the calling thread's mode."""
    state = linux_thread(t).seccomp
    return int(Mode.DISABLED if state is None else state.mode)


def set_strict(t: Thread) -> int:
    """SECCOMP_SET_MODE_STRICT: EINVAL if the thread has filters."""
    state = linux_thread(t)
    if state.seccomp is not None and state.seccomp is not STRICT:
        raise KernelError(Errno.EINVAL, "the thread has seccomp filters")
    _enter(t, [t], STRICT)
    return 0


def set_filter(t: Thread, flags: int, fprog: int) -> int:
    """SECCOMP_SET_MODE_FILTER: check all (flags, the program, the right to, the
    thread's mode, the chain's length, TSYNC's threads), then add the filter. Returns 0,
    or with TSYNC the tid of a thread that cannot take it (-ESRCH with TSYNC_ESRCH)."""
    if flags & ~SUPPORTED_FLAGS:
        raise KernelError(Errno.EINVAL, f"seccomp filter flags {flags:#x}")
    program = _read_program(t, fprog)
    state = linux_thread(t).seccomp
    if state is STRICT:
        raise KernelError(Errno.EINVAL, "the thread is in strict mode")
    new = Filter(program, state, bool(flags & FilterFlag.LOG))
    if new.length > MAX_INSNS_PER_PATH:
        raise KernelError(Errno.ENOMEM, f"{new.length} instructions of filters")
    threads = [t]
    if flags & FilterFlag.TSYNC:
        threads = _live_threads(t)
        failed = next((o for o in threads if not _may_sync(o, state)), None)
        if failed is not None:
            if flags & FilterFlag.TSYNC_ESRCH:
                raise KernelError(Errno.ESRCH, f"thread {failed.tid} cannot be synced")
            return failed.tid
    _enter(t, threads, new)
    return 0


def _read_program(t: Thread, fprog: int) -> cbpf.Program:
    """The checked program of the struct sock_fprog at ``fprog``, in Linux's order of
    errors: EFAULT for the struct, EINVAL for its length, EACCES without no_new_privs
    or CAP_SYS_ADMIN, EFAULT for the instructions, EINVAL for the program."""
    aspace = t.process.aspace
    length, address = SOCK_FPROG.unpack(aspace.copy_in(fprog, SOCK_FPROG.size))
    if not 1 <= length <= BPF_MAXINSNS:
        raise KernelError(Errno.EINVAL, f"filter of {length} instructions")
    process = linux(t.process)
    if not process.no_new_privs and not process.creds.capable(CAP_SYS_ADMIN):
        raise KernelError(Errno.EACCES, "a filter needs no_new_privs or CAP_SYS_ADMIN")
    return cbpf.check(aspace.copy_in(address, length * SOCK_FILTER.size))


def _live_threads(t: Thread) -> list[Thread]:
    return [o for o in t.process.threads if o.state is not State.TERMINATED]


def _may_sync(other: Thread, chain: Filter | None) -> bool:
    """TSYNC's rule: another thread may take the caller's new chain if it has no mode,
    or filters that are part of the caller's chain."""
    theirs = linux_thread(other).seccomp
    return theirs is None or isinstance(theirs, Filter) and chain is not None \
        and chain.descends_from(theirs)


def _enter(t: Thread, threads: list[Thread], state: _Strict | Filter) -> None:
    """``threads`` take ``state``; the gate stands in every CPU's hook from now on."""
    for thread in threads:
        linux_thread(thread).seccomp = state
    kernel = t.process.kernel
    for cpu in kernel.cpus:
        if not isinstance(cpu.syscall_handler, Gate):
            cpu.syscall_handler = Gate(kernel, cpu.syscall_handler)


def action_available(t: Thread, address: int) -> int:
    """SECCOMP_GET_ACTION_AVAIL: 0 if the u32 action at ``address`` is one this kernel
    takes, else EOPNOTSUPP."""
    action = int.from_bytes(t.process.aspace.copy_in(address, 4), "little")
    if action not in AVAILABLE:
        raise KernelError(Errno.EOPNOTSUPP, f"seccomp action {action:#x}")
    return 0


# -- at each system call -----------------------------------------------------------------
class Gate:
    """A CPU's SYSCALL hook while any thread may have a seccomp mode: the call goes on to
    ``inner`` (the dispatcher's hook) if the calling thread has none or its filters
    allow it; else the gate answers it."""

    __slots__ = ("kernel", "inner", "observer")

    def __init__(self, kernel: Kernel, inner: SyscallHook) -> None:
        self.kernel, self.inner = kernel, inner
        # Under --strace or --trace the hook is a tracing dispatcher's: a call the gate
        # refuses is reported too, as Linux's strace shows it (its syscall-enter stop
        # comes before seccomp's filters)
        self.observer = getattr(getattr(inner, "__self__", None), "observer", None)

    def __call__(self, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                 a5: int) -> int | None:
        thread = self.kernel.cpu.thread
        state = thread.personality.seccomp
        if state is None:
            return self.inner(nr, a0, a1, a2, a3, a4, a5)
        result = _verdict(self.kernel, thread, state, nr, (a0, a1, a2, a3, a4, a5))
        if result == RUN:
            return self.inner(nr, a0, a1, a2, a3, a4, a5)
        thread.syscall = nr
        observer = self.observer
        if observer is not None:
            observer.enter(thread, nr, [a0, a1, a2, a3, a4, a5])
        if result is not None and (observer is not None or thread.notify):
            self.kernel.cpu.set_result(result)  # (what RAX holds, as the tracer reads it)
        if observer is not None:  # (a kill's or a TRAP's call ends with RAX its number)
            observer.after(thread)
        if result is not None and thread.notify:  # a signal to deliver: the CPU stops
            return None
        return result


def _verdict(kernel: Kernel, thread: Thread, state: _Strict | Filter, nr: int,
             args: tuple[int, ...]) -> int | None:
    """What the gate does with the call: RUN it, return a value (RAX), or None (it
    stopped the thread: a signal to take, or its end)."""
    number = s32(nr)
    if isinstance(state, _Strict):
        if number in STRICT_CALLS:
            return RUN
        _kill(thread, SIGKILL, process=False)
        return None
    ret = state.cached.get(number, RUN) if number in CACHED_NUMBERS else None
    if ret == RUN:
        ret = state.cached[number] = state.constant(number)
    if ret is not None and ret & RET_ACTION_FULL == ALLOW:
        return RUN
    cpu = kernel.cpu
    rip = cpu.reg(X.UC_X86_REG_RIP) + cpu.hook_rip_lag  # (the return address, as Linux's)
    if ret is None:
        words = (number & 0xFFFF_FFFF, AUDIT_ARCH_X86_64, rip & 0xFFFF_FFFF, rip >> 32,
                 *(half for arg in args for half in (arg & 0xFFFF_FFFF, arg >> 32)))
        ret = state.verdict(words)
    return _act(thread, number, ret, rip)


def _act(thread: Thread, number: int, ret: int, rip: int) -> int | None:
    """Carry out the verdict ``ret`` on the call ``number`` made at ``rip``."""
    action = ret & RET_ACTION_FULL
    if action == ALLOW or action == LOG:
        return RUN
    if action == ERRNO:
        return -min(ret & RET_DATA, MAX_ERRNO)
    if action == TRACE or action == USER_NOTIF:
        return ENOSYS
    if action == TRAP:
        signals.force(thread, signals.SigInfo(SIGSYS, SYS_SECCOMP, addr=rip,
                                              errno=ret & RET_DATA, syscall=number,
                                              arch=AUDIT_ARCH_X86_64))
        return None
    _kill(thread, SIGSYS, process=action != KILL_THREAD)
    return None


def _kill(thread: Thread, sig: int, process: bool) -> None:
    """End ``thread`` by ``sig``: alone if others of its process live and not
    ``process``, else the whole process (a core dump, if ``sig`` makes one)."""
    others = [o for o in _live_threads(thread) if o is not thread]
    if process or not others:
        signals.force_fatal(thread.process, sig)
    else:
        linux_thread(thread).killed_by = sig  # (a tracer says so: "+++ killed by SIGSYS")
        end_thread(thread, sig)
