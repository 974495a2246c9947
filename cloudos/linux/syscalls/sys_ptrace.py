"""Tracing another process: ptrace(2), process_vm_readv(2), process_vm_writev(2), and
the memory an open of /proc/<pid>/mem is granted (``open_memory``: the access check is
made there, for the opener, and the VFS gets a ``RemoteMemory`` of that process only).

Decodes each request, checks it (the caller may trace the target; the tracee is in
a ptrace-stop when the request needs one), then calls ``linux.ptrace``, which owns
the stops and the tracer-tracee link, or reads and writes the tracee's memory and
registers. Writes to a tracee's code reach the CPU: the page is made the tracee's
own (a page-cache or fork-shared frame is copied first) and translations dropped.
"""

from __future__ import annotations

import struct
from typing import Callable, Iterator

from cloudos.abi.ptrace import (AUDIT_ARCH_X86_64, IOVEC, NT_PRFPREG, NT_PRSTATUS,
                                OPTIONS_VALID, SYSCALL_INFO_ENTRY, SYSCALL_INFO_EXIT,
                                SYSCALL_INFO_HEAD, SYSCALL_INFO_NONE, USER_DEBUGREG,
                                USER_FPREGS_SIZE, USER_REGS, USER_REGS_STRUCT, USER_SIZE, Request)
from cloudos.abi.signal import NSIG, SIGKILL, SIGSTOP
from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.vm import PAGE_MASK, WRITE, AddressSpace, SegFault
from cloudos.kernel.task import Process, Thread
from cloudos.kernel.trap import SlowPath
from cloudos.linux import ptrace, signals
from cloudos.linux.creds import CAP_SYS_PTRACE
from cloudos.linux.process import linux
from cloudos.linux.ptrace import Resume, StopKind
from cloudos.linux.syscalls.args import s32

WORD = struct.Struct("<Q")
IOV_MAX = 1024
SSIZE_MAX = (1 << 63) - 1
PTE_PRESENT, PTE_FRAME = 0x1, 0x000F_FFFF_FFFF_F000
FXSAVE_MXCSR = 24  # offsetof(struct user_fpregs_struct, mxcsr)
FXSAVE_XMM = 160   # offsetof(struct user_fpregs_struct, xmm_space)

Request_ = Callable[[Thread, Process, int, int], int]


# -- who may trace whom --------------------------------------------------------------
def may_access(tracer: Process, target: Process, fscreds: bool = False) -> bool:
    """Linux's ptrace_may_access: the caller's real uid and gid (``fscreds``: its
    file-system ones, PTRACE_MODE_FSCREDS) are the target's real, effective and saved
    ones and the target is dumpable, or the caller has CAP_SYS_PTRACE."""
    me, them = linux(tracer).creds, linux(target).creds
    if tracer is target or me.capable(CAP_SYS_PTRACE):
        return True
    uid, gid = (me.fsuid, me.fsgid) if fscreds else (me.uid, me.gid)
    same = {them.uid, them.euid, them.suid} == {uid} \
        and {them.gid, them.egid, them.sgid} == {gid}
    return same and bool(linux(target).dumpable)


def _target(t: Thread, pid: int) -> Process:
    process = t.process.kernel.processes.get(pid) if pid > 0 else None
    if process is None or process.zombie or not hasattr(process.personality, "ptrace"):
        raise KernelError(Errno.ESRCH, f"no process {pid}")
    return process


def _check_attach(t: Thread, target: Process) -> None:
    """EPERM for the caller itself, init, a traced process, or one it may not access."""
    if target is t.process or target.pid == 1 or ptrace.tracee(target) is not None:
        raise KernelError(Errno.EPERM, f"process {target.pid} cannot be attached")
    mine = ptrace.tracee(t.process)
    if mine is not None and mine.tracer is target:
        raise KernelError(Errno.EPERM, "a tracee cannot trace its tracer")
    if not may_access(t.process, target):
        raise KernelError(Errno.EPERM, f"no right to trace process {target.pid}")


# -- attaching ------------------------------------------------------------------------
def _traceme(t: Thread) -> int:
    parent = t.process.parent
    if ptrace.tracee(t.process) is not None or parent is None or parent.zombie:
        raise KernelError(Errno.EPERM, "already traced, or no parent to trace it")
    ptrace.attach(t.process, parent, 0, False)
    return 0


def _attach(t: Thread, pid: int) -> int:
    target = _target(t, pid)
    _check_attach(t, target)
    ptrace.attach(target, t.process, 0, False)
    signals.send(target, signals.SigInfo(SIGSTOP, signals.SI_USER, t.process.pid,
                                         linux(t.process).uid))
    return 0


def _seize(t: Thread, pid: int, addr: int, data: int) -> int:
    target = _target(t, pid)
    if addr or data & ~OPTIONS_VALID:
        raise KernelError(Errno.EIO, f"PTRACE_SEIZE flags {addr:#x} options {data:#x}")
    _check_attach(t, target)
    ptrace.attach(target, t.process, data, True)
    return 0


# -- requests on an attached tracee ------------------------------------------------------
def _resumer(how: Resume) -> Request_:
    def request(t: Thread, tracee: Process, _addr: int, data: int) -> int:
        sig = _signal(data)
        if how is Resume.SINGLESTEP and not t.process.kernel.cpu.can_single_step:
            raise KernelError(Errno.EIO, "this CPU backend cannot single-step")
        ptrace.resume(tracee, how, sig)
        return 0
    return request


def _signal(data: int) -> int:
    if not 0 <= data <= NSIG:
        raise KernelError(Errno.EIO, f"signal {data}")
    return data


def _detach(t: Thread, tracee: Process, _addr: int, data: int) -> int:
    ptrace.detach(tracee, _signal(data))
    return 0


def _peek(t: Thread, tracee: Process, addr: int, data: int) -> int:
    """PEEKTEXT/PEEKDATA: the raw call stores the word at ``data`` (glibc's wrapper
    returns it); a word the tracee cannot read is EIO."""
    try:
        word = tracee.aspace.copy_in(addr, 8)
    except KernelError:
        raise KernelError(Errno.EIO, f"tracee address {addr:#x}") from None
    t.process.aspace.copy_out(data, word)
    return 0


def _poke(t: Thread, tracee: Process, addr: int, data: int) -> int:
    """POKETEXT/POKEDATA: write even into read-only code (a private copy of its page)."""
    try:
        poke_memory(tracee.aspace, addr, WORD.pack(data))
    except KernelError:
        raise KernelError(Errno.EIO, f"tracee address {addr:#x}") from None
    return 0


def poke_memory(aspace: AddressSpace, addr: int, data: bytes) -> None:
    """Linux's FOLL_FORCE write: a private mapping's pages become the tracee's own
    before the write, so a page shared with the page cache or a forked process keeps
    its bytes; the CPU forgets what it translated from them (``copy_out``). A shared
    mapping is written only if it is writable (check_vma_flags: not a COW mapping)."""
    for page in range(addr & PAGE_MASK, addr + len(data), PAGE_SIZE):
        vma = aspace.find(page)
        if vma is None:
            raise KernelError(Errno.EFAULT, f"{page:#x} unmapped")
        if vma.shared and not vma.prot & WRITE:
            raise KernelError(Errno.EFAULT, f"{page:#x} is a read-only shared mapping")
        if not vma.shared:
            _private_page(aspace, page)
    aspace.copy_out(addr, data, force=True)


def _private_page(aspace: AddressSpace, page: int) -> None:
    """Give ``page`` a frame of its own if it shares one without copy-on-write (a
    read-only page: its PTE would let ``copy_out`` write the shared frame)."""
    aspace.copy_in(page, 1)  # fault it in
    pte = aspace.pt.walk(page)
    frame = pte & PTE_FRAME
    owners = aspace.refs.get(frame, 1)
    if not pte & PTE_PRESENT or owners == 1:
        return
    private = aspace.frames.alloc(0)
    aspace.ram.copy(private, frame, PAGE_SIZE)
    if owners == 2:  # the reference count's convention (AddressSpace._drop)
        del aspace.refs[frame]
    else:
        aspace.refs[frame] = owners - 1
    aspace.pt.set_entry(page, private | (pte & ~PTE_FRAME))
    aspace.on_flush(aspace.pt.root)


def _peekuser(t: Thread, tracee: Process, addr: int, data: int) -> int:
    value = _user_word(tracee, addr)
    t.process.aspace.copy_out(data, WORD.pack(value))
    return 0


def _user_word(tracee: Process, offset: int) -> int:
    """A word of ``struct user``: a register, the debug registers (0), or EIO."""
    if offset % 8 or not 0 <= offset < USER_SIZE:
        raise KernelError(Errno.EIO, f"struct user offset {offset}")
    if offset < USER_REGS_STRUCT.size:
        return ptrace.get_regs(tracee)[offset // 8]
    return 0


def _pokeuser(t: Thread, tracee: Process, addr: int, data: int) -> int:
    if addr % 8 or not 0 <= addr < USER_SIZE:
        raise KernelError(Errno.EIO, f"struct user offset {addr}")
    if addr < USER_REGS_STRUCT.size:
        ptrace.set_reg(tracee, USER_REGS[addr // 8], data)
    elif addr >= USER_DEBUGREG and data:
        raise KernelError(Errno.EIO, "debug registers are not supported")
    return 0


def _getregs(t: Thread, tracee: Process, _addr: int, data: int) -> int:
    t.process.aspace.copy_out(data, USER_REGS_STRUCT.pack(*ptrace.get_regs(tracee)))
    return 0


def _setregs(t: Thread, tracee: Process, _addr: int, data: int) -> int:
    values = USER_REGS_STRUCT.unpack(t.process.aspace.copy_in(data, USER_REGS_STRUCT.size))
    _set_all(tracee, values)
    return 0


def _set_all(tracee: Process, values: tuple[int, ...]) -> None:
    for name, value in zip(USER_REGS, values):
        ptrace.set_reg(tracee, name, value)


def _fpregs(tracee: Process) -> bytes:
    """struct user_fpregs_struct: the FXSAVE image, with MXCSR and XMM0-15 filled. The
    tracee's context is loaded to be read: on the slow path only (``_with_fpregs``)."""
    state = ptrace.tracee(tracee)
    assert state is not None and state.thread.context is not None
    cpu = tracee.kernel.cpu
    cpu.load(state.thread.context)
    values = cpu.vector_registers()
    image = bytearray(USER_FPREGS_SIZE)
    struct.pack_into("<HH", image, 0, values[17], 0)  # the x87 control word
    struct.pack_into("<I", image, FXSAVE_MXCSR, values[16])
    for i, xmm in enumerate(values[:16]):
        image[FXSAVE_XMM + 16 * i:FXSAVE_XMM + 16 * i + 16] = xmm.to_bytes(16, "little")
    return bytes(image)


def _with_fpregs(t: Thread, tracee: Process, use: Callable[[bytes], int]) -> int:
    """Read the tracee's vector registers with the CPU stopped, where its context can
    be loaded (the caller's is loaded again before its result is set)."""
    def work() -> int:
        image = _fpregs(tracee)
        assert t.context is not None
        t.process.kernel.cpu.load(t.context)
        return use(image)
    raise SlowPath(work)


def _getfpregs(t: Thread, tracee: Process, _addr: int, data: int) -> int:
    def store(image: bytes) -> int:
        t.process.aspace.copy_out(data, image)
        return 0
    return _with_fpregs(t, tracee, store)


def _regset(t: Thread, tracee: Process, kind: int, iov: int, write: bool) -> int:
    """GETREGSET/SETREGSET: NT_PRSTATUS (user_regs_struct), NT_PRFPREG (read only);
    the iovec's length becomes what was used."""
    aspace = t.process.aspace
    base, length = IOVEC.unpack(aspace.copy_in(iov, IOVEC.size))
    if kind == NT_PRSTATUS:
        size = min(length, USER_REGS_STRUCT.size)
        if write:
            if size != USER_REGS_STRUCT.size:
                raise KernelError(Errno.EINVAL, "a short NT_PRSTATUS")
            _set_all(tracee, USER_REGS_STRUCT.unpack(aspace.copy_in(base, size)))
        else:
            aspace.copy_out(base, USER_REGS_STRUCT.pack(*ptrace.get_regs(tracee))[:size])
    elif kind == NT_PRFPREG and not write:
        size = min(length, USER_FPREGS_SIZE)

        def store(image: bytes) -> int:
            aspace.copy_out(base, image[:size])
            aspace.copy_out(iov + 8, WORD.pack(size))
            return 0
        return _with_fpregs(t, tracee, store)
    else:
        raise KernelError(Errno.EINVAL, f"regset {kind:#x}")
    aspace.copy_out(iov + 8, WORD.pack(size))
    return 0


def _setoptions(t: Thread, tracee: Process, _addr: int, data: int) -> int:
    if data & ~OPTIONS_VALID:
        raise KernelError(Errno.EINVAL, f"ptrace options {data:#x}")
    state = ptrace.tracee(tracee)
    assert state is not None
    state.options = data
    return 0


def _geteventmsg(t: Thread, tracee: Process, _addr: int, data: int) -> int:
    state = ptrace.tracee(tracee)
    assert state is not None
    t.process.aspace.copy_out(data, WORD.pack(state.message))
    return 0


def _getsiginfo(t: Thread, tracee: Process, _addr: int, data: int) -> int:
    """The siginfo of a signal-delivery stop; EINVAL in other stops, as Linux."""
    state = ptrace.tracee(tracee)
    assert state is not None
    info = state.info
    if info is None:
        raise KernelError(Errno.EINVAL, "not in a signal-delivery stop")
    t.process.aspace.copy_out(data, info.pack())
    return 0


def _syscall_info(t: Thread, tracee: Process, size: int, data: int) -> int:
    """PTRACE_GET_SYSCALL_INFO: the call of a syscall-stop (entry: number and arguments;
    exit: result); returns the size of the whole answer, copies at most ``size``."""
    state = ptrace.tracee(tracee)
    assert state is not None
    regs = dict(zip(USER_REGS, ptrace.get_regs(tracee)))
    if state.stop is StopKind.SYSCALL_ENTER:
        op, body = SYSCALL_INFO_ENTRY, struct.pack("<7Q", state.orig_rax, *state.args)
    elif state.stop is StopKind.SYSCALL_EXIT:
        rval = s64(regs["RAX"])
        op, body = SYSCALL_INFO_EXIT, struct.pack("<qB", rval, -4095 <= rval < 0)
    else:
        op, body = SYSCALL_INFO_NONE, b""
    answer = SYSCALL_INFO_HEAD.pack(op, AUDIT_ARCH_X86_64, regs["RIP"], regs["RSP"]) + body
    if size:
        t.process.aspace.copy_out(data, answer[:size])
    return len(answer)


def s64(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def _kill(t: Thread, tracee: Process, _addr: int, _data: int) -> int:
    t.process.kernel.kill(tracee, SIGKILL)
    return 0


def _interrupt(t: Thread, pid: int) -> int:
    """PTRACE_INTERRUPT: only for a tracee attached with PTRACE_SEIZE (else EIO)."""
    tracee = ptrace.traced_by(t.process, pid)
    state = ptrace.tracee(tracee) if tracee is not None else None
    if tracee is None or state is None or tracee.zombie:
        raise KernelError(Errno.ESRCH, f"no tracee {pid}")
    if not state.seized:
        raise KernelError(Errno.EIO, "PTRACE_INTERRUPT needs PTRACE_SEIZE")
    ptrace.interrupt(tracee)
    return 0


def _listen(t: Thread, tracee: Process, _addr: int, _data: int) -> int:
    state = ptrace.tracee(tracee)
    assert state is not None
    if not state.seized:
        raise KernelError(Errno.EIO, "PTRACE_LISTEN needs PTRACE_SEIZE")
    ptrace.listen(tracee)
    return 0


_STOPPED: dict[Request, Request_] = {
    Request.PEEKTEXT: _peek, Request.PEEKDATA: _peek, Request.POKETEXT: _poke,
    Request.POKEDATA: _poke, Request.PEEKUSER: _peekuser, Request.POKEUSER: _pokeuser,
    Request.CONT: _resumer(Resume.CONT), Request.SYSCALL: _resumer(Resume.SYSCALL),
    Request.SINGLESTEP: _resumer(Resume.SINGLESTEP), Request.DETACH: _detach,
    Request.GETREGS: _getregs, Request.SETREGS: _setregs, Request.GETFPREGS: _getfpregs,
    Request.GETREGSET: lambda t, p, a, d: _regset(t, p, a, d, False),
    Request.SETREGSET: lambda t, p, a, d: _regset(t, p, a, d, True),
    Request.SETOPTIONS: _setoptions, Request.GETEVENTMSG: _geteventmsg,
    Request.GETSIGINFO: _getsiginfo, Request.GET_SYSCALL_INFO: _syscall_info,
    Request.LISTEN: _listen,
}


def sys_ptrace(t: Thread, request: int, pid: int, addr: int, data: int, *_: int) -> int:
    """Implements Linux ptrace(2) (see ``linux.ptrace`` for what is traced)."""
    request, pid = request & 0xFFFF_FFFF, s32(pid)
    if request == Request.TRACEME:
        return _traceme(t)
    if request == Request.ATTACH:
        return _attach(t, pid)
    if request == Request.SEIZE:
        return _seize(t, pid, addr, data)
    if request == Request.KILL:
        tracee = ptrace.traced_by(t.process, pid)
        if tracee is None or tracee.zombie:
            raise KernelError(Errno.ESRCH, f"no tracee {pid}")
        return _kill(t, tracee, addr, data)
    if request == Request.INTERRUPT:
        return _interrupt(t, pid)
    handler = _STOPPED.get(Request(request)) if request in Request.__members__.values() \
        else None
    tracee = ptrace.check_stopped(ptrace.traced_by(t.process, pid), t.process)
    if handler is None:
        raise KernelError(Errno.EIO, f"ptrace request {request:#x} is not supported")
    return handler(t, tracee, addr, data)


# -- another process's memory ---------------------------------------------------------------
def _iovecs(aspace: AddressSpace, addr: int, count: int) -> list[tuple[int, int]]:
    if count > IOV_MAX:
        raise KernelError(Errno.EINVAL, f"{count} iovecs")
    raw = aspace.copy_in(addr, IOVEC.size * count)
    return [IOVEC.unpack_from(raw, IOVEC.size * i) for i in range(count)]


def _vm_copy(t: Thread, pid: int, local: int, lcount: int, remote: int, rcount: int,
             flags: int, write: bool) -> int:
    """Copy between the caller's ``local`` iovecs and process ``pid``'s ``remote`` ones,
    in order, a page at most at a time, until one side ends or a page faults; the
    bytes copied (EFAULT if a page faults before any was)."""
    if flags:
        raise KernelError(Errno.EINVAL, f"process_vm flags {flags:#x}")
    mine = t.process.aspace
    locals_, remotes = _iovecs(mine, local, lcount), _iovecs(mine, remote, rcount)
    if sum(n for _, n in locals_) > SSIZE_MAX or sum(n for _, n in remotes) > SSIZE_MAX:
        raise KernelError(Errno.EINVAL, "iovec lengths overflow ssize_t")
    target = _target(t, s32(pid))
    if not may_access(t.process, target):
        raise KernelError(Errno.EPERM, f"no right to access process {target.pid}")
    theirs, done = target.aspace, 0
    source, sink = (mine, theirs) if write else (theirs, mine)
    near = _spans(locals_)
    mine_at, mine_left = next(near, (0, 0))
    for their_at, their_left in _spans(remotes):
        while their_left and mine_left:
            size = min(their_left, mine_left)
            src, dst = (mine_at, their_at) if write else (their_at, mine_at)
            try:
                sink.copy_out(dst, source.copy_in(src, size))
            except KernelError:
                if not done:
                    raise
                return done
            done += size
            mine_at, mine_left = mine_at + size, mine_left - size
            their_at, their_left = their_at + size, their_left - size
            if not mine_left:
                mine_at, mine_left = next(near, (0, 0))
        if not mine_left:
            break
    return done


def _spans(iovecs: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The iovecs' bytes as pieces that each stay within one page (made as needed)."""
    for base, length in iovecs:
        at, end = base, base + length
        while at < end:
            size = min(end - at, PAGE_SIZE - at % PAGE_SIZE)
            yield at, size
            at += size


class RemoteMemory:
    """One process's memory as /proc/<pid>/mem reads and writes it (Linux's mem_rw):
    made by ``open_memory`` for an opener that passed the access check at open time,
    bound to the address space the process had then (after it exits or execs, reads
    and writes see nothing, as Linux's do once the mm it pinned has no users)."""

    def __init__(self, process: Process) -> None:
        self.process, self.aspace = process, process.aspace

    def _alive(self) -> bool:
        return not self.process.zombie and self.process.aspace is self.aspace

    def read(self, addr: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``addr``, a page at a time until one is not
        readable (EIO if the first is not)."""
        if not self._alive():
            return b""
        parts: list[bytes] = []
        for at, length in _spans([(addr, size)]):
            try:
                parts.append(self.aspace.copy_in(at, length))
            except (KernelError, SegFault):
                parts.append(b"")
            if len(parts[-1]) < length:
                break
        if size and not parts[0]:
            raise KernelError(Errno.EIO, f"{addr:#x} is not mapped")
        return b"".join(parts)

    def write(self, addr: int, data: bytes) -> int:
        """Write ``data`` at ``addr`` even into read-only pages (FOLL_FORCE), a page at
        a time; the bytes written (EIO if the first page is not writable)."""
        if not self._alive():
            return 0
        done = 0
        for at, length in _spans([(addr, len(data))]):
            try:
                poke_memory(self.aspace, at, data[done:done + length])
            except (KernelError, SegFault):
                if not done:
                    raise KernelError(Errno.EIO, f"{at:#x} is not mapped") from None
                break
            done += length
        return done


def open_memory(opener: Process, target: Process) -> RemoteMemory:
    """/proc/<pid>/mem's open: PTRACE_MODE_ATTACH_FSCREDS (the opener's file-system
    ids) or EACCES, as Linux's mm_access."""
    if not may_access(opener, target, fscreds=True):
        raise KernelError(Errno.EACCES, f"no right to the memory of process {target.pid}")
    return RemoteMemory(target)


def sys_process_vm_readv(t: Thread, pid: int, local: int, lcount: int, remote: int,
                         rcount: int, flags: int) -> int:
    """Implements Linux process_vm_readv(2)."""
    return _vm_copy(t, pid, local, lcount, remote, rcount, flags, False)


def sys_process_vm_writev(t: Thread, pid: int, local: int, lcount: int, remote: int,
                          rcount: int, flags: int) -> int:
    """Implements Linux process_vm_writev(2)."""
    return _vm_copy(t, pid, local, lcount, remote, rcount, flags, True)
