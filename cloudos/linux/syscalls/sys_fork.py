"""Process lifetime: fork(2), vfork(2), clone(2), execve(2), exit(2), exit_group(2),
wait4(2), waitid(2).

Linux process semantics over the kernel's mechanisms (copy-on-write address
spaces, contexts, sleep channels). fork and clone build CPU contexts, so they
finish on the slow path (``SlowPath``), with the CPU stopped; execve asks the
VFS for the program and finishes when the VFS answers (the CPU is stopped then
too). This is the code that moves into a process manager server (``servers/pm``):
each handler already only decodes, checks, and calls kernel operations.
"""

from __future__ import annotations

import os
import struct

from cloudos.hal import regs as X

from cloudos.abi import sysctl, vfs
from cloudos.abi.ptrace import Event
from cloudos.abi.signal import (CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED,
                                CLD_TRAPPED,
                                CONTINUED_STATUS, SIGCHLD, SIGCONT, SIGKILL, SIGSEGV)
from cloudos.errno import Errno, KernelError
from cloudos.kernel.boot import Kernel
from cloudos.kernel.ipc import Message
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.vm import PAGE_MASK, USER_END, AddressSpace
from cloudos.kernel.task import Process, State, Thread
from cloudos.kernel.trap import SlowPath, Stop
from cloudos.linux.elf import ExecError, env_area, saved_auxv
from cloudos.linux import coredump, maps
from cloudos.linux import ptrace, signals
from cloudos.linux.coredump import CORE_DUMPED
from cloudos.linux import creds
from cloudos.linux.creds import CAP_SYS_ADMIN, CAP_SYS_RESOURCE
from cloudos.linux.aspace import LinuxAddressSpace
from cloudos.linux.pagecache import collect_shared
from cloudos.linux.process import (RLIMIT_NPROC, RLIMIT_STACK, LinuxProcess, cputimes, linux,
                                   linux_thread, load_program, since_boot, thread_ended)
from cloudos.linux.syscalls.args import s32, user_string
from cloudos.linux.syscalls import sys_file, sys_ns
from cloudos.linux.syscalls.sys_futex import exit_robust_list, futex_wake
from cloudos.linux import cpulimit

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT = 0x1000, 0x2000, 0x4000, 0x8000
CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS = 0x10000, 0x20000, 0x40000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_DETACHED = 0x100000, 0x200000, 0x400000
CLONE_UNTRACED, CLONE_CHILD_SETTID = 0x800000, 0x1000000
CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP = 1 << 32, 1 << 33  # clone3's only
CSIGNAL, CLONE_LEGACY_FLAGS = 0xFF, 0xFFFF_FFFF  # the exit signal's bits; clone(2)'s flags
CLONE_SUPPORTED = (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_VFORK
                   | CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS
                   | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED
                   | CLONE_UNTRACED | CLONE_CHILD_SETTID | CLONE_PIDFD | CLONE_CLEAR_SIGHAND
                   | CLONE_PTRACE | CSIGNAL)
# struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
# tls, set_tid, set_tid_size, cgroup; its first version ends after tls
CLONE_ARGS = struct.Struct("<11Q")
CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER2 = 64, 88
MAX_PID_NS_LEVEL, INT_MAX, NSIG = 32, (1 << 31) - 1, 64
WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 4, 8, 0x01000000
WNOTHREAD, WALL, WCLONE = 0x20000000, 0x40000000, 0x80000000
P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3
THREAD_RAM = 128 << 10  # RAM per task of threads-max (Linux: 8 kernel stacks' worth)
RESERVED_PIDS = 300  # where pid numbers start again past pid_max, as Linux's alloc_pid
# execve's argument limits (Linux's fs/exec.c): the strings and their pointers share a
# quarter of RLIMIT_STACK, at most 3/4 of _STK_LIM, at least ARG_MAX; one string holds
# at most MAX_ARG_STRLEN bytes with its NUL
STK_LIM, ARG_MAX, MAX_ARG_STRLEN = 8 << 20, 32 * PAGE_SIZE, 32 * PAGE_SIZE
TLS_MAX = USER_END - PAGE_SIZE  # TASK_SIZE_MAX: an FS base at or above it is EPERM


# -- fork and clone -----------------------------------------------------------
def threads_max(kernel: Kernel) -> int:
    """threads-max's default: one task per 128 KiB of RAM, so that a fork or thread bomb
    meets EAGAIN, root's included."""
    return max(kernel.frames.total_bytes // THREAD_RAM, 64)


def _check_nproc(t: Thread) -> None:
    """The machine's cap on tasks (Linux's kernel/threads-max), then RLIMIT_NPROC: a
    non-root user's tasks, threads included, as Linux counts them."""
    state = linux(t.process)
    limit = state.rlimits[RLIMIT_NPROC][0]
    kernel = t.process.kernel
    if len(kernel.threads()) >= (sysctl.of(kernel).number("kernel/threads-max")
                                 or threads_max(kernel)):
        raise KernelError(Errno.EAGAIN, "the machine's task limit (threads-max) reached")
    if state.creds.capable(CAP_SYS_RESOURCE) or state.creds.capable(CAP_SYS_ADMIN):
        return
    tasks = sum(1 for th in kernel.threads() if linux(th.process).uid == state.uid)
    if tasks >= limit:
        raise KernelError(Errno.EAGAIN, "RLIMIT_NPROC reached")


# personality(2) flags (include/uapi/linux/personality.h) that exec honours or clears
ADDR_NO_RANDOMIZE = 0x0040000
PER_CLEAR_ON_SETID = 0x0400000 | ADDR_NO_RANDOMIZE | 0x0200000 | 0x0100000  # (and 3 more)


def sys_personality(t: Thread, persona: int, *_: int) -> int:
    """Implements Linux personality(2): 0xffffffff only asks; any other value becomes the
    process's execution domain and flags (kept across fork and exec), the old one returned.
    ADDR_NO_RANDOMIZE turns address space randomization off for the programs it execs
    (setarch -R, gdb); the other flags are kept and reported, not honoured."""
    state = linux(t.process)
    old = state.persona
    persona &= 0xFFFFFFFF
    if persona != 0xFFFFFFFF:
        state.persona = persona
    return old


def _layout_mode(t: Thread) -> str:
    """How an exec lays the program out (``aslr.MODES``): the process's mode (--aslr),
    "off" when its personality says ADDR_NO_RANDOMIZE or kernel/randomize_va_space is 0
    (as Linux)."""
    state = linux(t.process)
    if state.persona & ADDR_NO_RANDOMIZE \
            or sysctl.of(t.process.kernel).number("kernel/randomize_va_space") == 0:
        return "off"
    return state.aslr


def _bound_ids(kernel: Kernel) -> None:
    """The kernel's next pid (or tid) below kernel/pid_max: past it, numbering starts
    again at RESERVED_PIDS, skipping ids in use, as Linux's alloc_pid; EAGAIN when every
    id below pid_max is taken. (The kernel hands out ``next_pid`` or the first free id
    after it: steering it here bounds the ids without a bound in the kernel.)"""
    pid_max = sysctl.of(kernel).pid_max
    used = {th.tid for th in kernel.threads()} | set(kernel.processes)
    start = kernel.next_pid if kernel.next_pid < pid_max else RESERVED_PIDS
    for low, high in ((start, pid_max), (RESERVED_PIDS, min(start, pid_max))):
        free = next((n for n in range(low, high) if n not in used), None)
        if free is not None:
            kernel.next_pid = free
            return
    raise KernelError(Errno.EAGAIN, f"every pid below pid_max {pid_max} is taken")


def _copy_thread(t: Thread, flags: int, stack: int, tls: int, child_tid: int) -> Thread:
    """The new thread (and process unless CLONE_THREAD): runs from the caller's context."""
    kernel, parent = t.process.kernel, t.process
    _bound_ids(kernel)
    if flags & CLONE_VM:
        aspace = parent.aspace
    else:  # the child's first writes: its stack top, and its tid's word if it is set
        assert t.context is not None, "only CPU threads make system calls"
        copied = ((stack or kernel.cpu.context_reg(t.context, X.UC_X86_REG_RSP)) - 8,
                  *((child_tid,) if flags & CLONE_CHILD_SETTID else ()))
        aspace = parent.aspace
        aspace = aspace.fork(copied) if isinstance(aspace, LinuxAddressSpace) else aspace.fork()
        aspace.stack_reserve = parent.aspace.stack_reserve  # RLIMIT_STACK is inherited
        maps.fork(parent.aspace, aspace)
    regs = {X.UC_X86_REG_RAX: 0}
    if stack:
        regs[X.UC_X86_REG_RSP] = stack
    if flags & CLONE_SETTLS:
        regs[X.UC_X86_REG_FS_BASE] = tls
    assert t.context is not None, "only CPU threads make system calls"
    context = kernel.cpu.clone_context(t.context, aspace.pt.root, regs)
    if flags & CLONE_THREAD:
        child = kernel.new_thread(parent, context)
    else:
        process = kernel.new_process(parent.name, parent.parent if flags & CLONE_PARENT
                                     else parent, aspace)
        process.exe, process.cmdline = parent.exe, parent.cmdline
        process.personality = linux(parent).fork()
        cpulimit.watch(process)  # RLIMIT_CPU is inherited, its CPU time starts at 0
        kernel.ipc.caps.fork(parent.pid, process.pid)
        sys_file.notify(kernel, vfs.Fork(parent.pid, process.pid))
        sys_ns.enter_namespaces(process, flags)
        child = kernel.new_thread(process, context)
    child.personality = linux_thread(t).fork()
    if not flags & (CLONE_THREAD | CLONE_UNTRACED):
        ptrace.on_clone(t, child, _clone_event(flags), bool(flags & CLONE_PTRACE))
    linux_thread(child).started = since_boot(kernel)
    if not flags & CLONE_THREAD:
        linux(child.process).started = linux_thread(child).started
    child.policy, child.rt_priority, child.nice = t.policy, t.rt_priority, t.nice
    if flags & CLONE_CHILD_SETTID:
        _store_tid(aspace, child_tid, child.tid)
    if flags & CLONE_CHILD_CLEARTID:
        linux_thread(child).clear_child_tid = child_tid
    return child


def _clone_event(flags: int) -> Event:
    """Which PTRACE_EVENT a new process is (Linux's kernel_clone): vfork, fork (exit
    signal SIGCHLD), else clone."""
    if flags & CLONE_VFORK:
        return Event.VFORK
    return Event.FORK if flags & 0xFF == SIGCHLD else Event.CLONE


def _store_tid(aspace: AddressSpace, address: int, tid: int) -> None:
    """CLONE_PARENT_SETTID, CLONE_CHILD_SETTID: Linux ignores a store that faults (the
    child exists by then: the caller must get its pid, or it would run twice)."""
    try:
        aspace.copy_out(address, struct.pack("<i", tid))
    except KernelError:
        pass


def _check_clone(t: Thread, flags: int, parent_tid: int, tls: int, pidfd: int) -> None:
    """clone's checks, in Linux's order (copy_process), before anything is made."""
    known = CLONE_SUPPORTED | sys_ns.HONOURED | sys_ns.REFUSED
    if flags & ~known:
        raise KernelError(Errno.EINVAL, f"clone flags {flags & ~known:#x} are not supported")
    if flags & CLONE_NEWNS and flags & CLONE_FS:
        raise KernelError(Errno.EINVAL, "CLONE_NEWNS with CLONE_FS")
    if flags & CLONE_THREAD and flags & sys_ns.HONOURED:  # (a thread shares its VFS process)
        raise KernelError(Errno.EINVAL, "a thread in namespaces of its own")
    if (flags & CLONE_THREAD and not flags & CLONE_SIGHAND) \
            or (flags & CLONE_SIGHAND and not flags & CLONE_VM):
        raise KernelError(Errno.EINVAL, "CLONE_THREAD needs CLONE_SIGHAND needs CLONE_VM")
    if flags & CLONE_CLEAR_SIGHAND and flags & CLONE_SIGHAND:
        raise KernelError(Errno.EINVAL, "CLONE_CLEAR_SIGHAND with shared handlers")
    if flags & CLONE_PIDFD:
        if flags & CLONE_PARENT_SETTID and pidfd == parent_tid:
            raise KernelError(Errno.EINVAL, "the pidfd and the parent's tid in one place")
        if flags & (CLONE_THREAD | CLONE_DETACHED | CLONE_VFORK):
            raise KernelError(Errno.EINVAL, "CLONE_PIDFD of a thread or a vfork: not "
                                            "supported")
        t.process.aspace.copy_out(pidfd, bytes(4))  # EFAULT now, not once the child runs
    if flags & CLONE_SETTLS and tls >= TLS_MAX:
        raise KernelError(Errno.EPERM, f"TLS base {tls:#x} outside user space")
    _check_nproc(t)
    sys_ns.check_namespaces(t, flags)


def _clone(t: Thread, flags: int, stack: int, parent_tid: int, child_tid: int,
           tls: int, pidfd: int = 0) -> int:
    _check_clone(t, flags, parent_tid, tls, pidfd)

    def work() -> int:
        if linux(t.process).group_exit:  # dying: no child outlives it (Linux's "let kill
            return -Errno.EINTR          # terminate clone/fork in the middle")
        child = _copy_thread(t, flags, stack, tls, child_tid)
        if flags & CLONE_PARENT_SETTID:
            _store_tid(t.process.aspace, parent_tid, child.tid)
        if flags & CLONE_CLEAR_SIGHAND:
            _default_handlers(linux(child.process))
        if flags & CLONE_PIDFD:
            return _give_pidfd(t, child, pidfd)
        if flags & CLONE_VFORK:  # the parent sleeps until the child execs or exits
            t.process.kernel.scheduler.sleep_on(t, ("vfork", child.process.pid),
                                                None, child.tid)
            raise Stop
        return child.tid

    raise SlowPath(work)


def _give_pidfd(t: Thread, child: Thread, address: int) -> int:
    """CLONE_PIDFD: a pidfd for the new process, stored at ``address``; the caller's
    result is the child's pid once the VFS made it. (Linux makes the fd first: here an
    EMFILE comes after the child started, which then runs on.)"""
    def store(msg: Message) -> int:
        fd = int(msg.body)
        if fd < 0:
            return fd
        t.process.aspace.copy_out(address, struct.pack("<i", fd))
        return child.tid

    return sys_file.call(t, vfs.PidfdOpen(child.process.pid, 0, False), deliver=store)


def _default_handlers(state: LinuxProcess) -> None:
    """Every caught signal back to its default action; ignored ones stay ignored (exec,
    CLONE_CLEAR_SIGHAND)."""
    state.sigactions = {sig: act for sig, act in state.sigactions.items()
                        if struct.unpack_from("<Q", act)[0] == 1}  # SIG_IGN


def sys_fork(t: Thread, *_: int) -> int:
    """Implements Linux fork(2): a copy-on-write copy of the process."""
    return _clone(t, SIGCHLD, 0, 0, 0, 0)


def sys_vfork(t: Thread, *_: int) -> int:
    """Implements Linux vfork(2): the child runs in the parent's memory (nothing copied,
    nothing marked copy-on-write) while the parent sleeps until the child execs or exits."""
    return _clone(t, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0)


def sys_clone(t: Thread, flags: int, stack: int, parent_tid: int, child_tid: int, tls: int,
              *_: int) -> int:
    """Implements Linux clone(2) (x86_64 argument order: flags, stack, ptid, ctid, tls);
    CLONE_PIDFD stores the pidfd at ptid."""
    flags &= CLONE_LEGACY_FLAGS
    return _clone(t, flags, stack, parent_tid, child_tid, tls,
                  parent_tid if flags & CLONE_PIDFD else 0)


def sys_clone3(t: Thread, uargs: int, size: int, *_: int) -> int:
    """Implements Linux clone3(2): clone's arguments in a struct clone_args of ``size``
    bytes (a larger one than we know must end in zeros: E2BIG); set_tid: EPERM (no pid
    namespaces to place it in), CLONE_INTO_CGROUP: EBADF (no cgroup2 directory)."""
    if size > PAGE_SIZE:
        raise KernelError(Errno.E2BIG, f"clone_args of {size} bytes")
    if size < CLONE_ARGS_SIZE_VER0:
        raise KernelError(Errno.EINVAL, f"clone_args of {size} bytes")
    raw = t.process.aspace.copy_in(uargs, size)
    if any(raw[CLONE_ARGS.size:]):
        raise KernelError(Errno.E2BIG, "clone_args has fields we do not know")
    (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
     set_tid_size, cgroup) = CLONE_ARGS.unpack(raw[:CLONE_ARGS.size].ljust(CLONE_ARGS.size,
                                                                           b"\0"))
    _check_clone3(flags, exit_signal, stack, stack_size, (set_tid, set_tid_size), cgroup, size)
    if set_tid_size:
        raise KernelError(Errno.EPERM, "set_tid: no pid namespace to choose pids in")
    if flags & CLONE_INTO_CGROUP:
        raise KernelError(Errno.EBADF, "CLONE_INTO_CGROUP: there is no cgroup2 directory")
    return _clone(t, flags | exit_signal, stack + stack_size if stack else 0, parent_tid,
                  child_tid, tls, pidfd)


def _check_clone3(flags: int, exit_signal: int, stack: int, stack_size: int,
                  set_tid: tuple[int, int], cgroup: int, size: int) -> None:
    """clone3's own checks (Linux's copy_clone_args_from_user, clone3_args_valid): EINVAL."""
    array, count = set_tid
    if count > MAX_PID_NS_LEVEL or bool(array) != bool(count):
        raise KernelError(Errno.EINVAL, f"set_tid_size {count}")
    if exit_signal & ~CSIGNAL or exit_signal > NSIG:
        raise KernelError(Errno.EINVAL, f"exit_signal {exit_signal}")
    if flags & CLONE_INTO_CGROUP and (cgroup > INT_MAX or size < CLONE_ARGS_SIZE_VER2):
        raise KernelError(Errno.EINVAL, f"cgroup {cgroup}")
    if flags & ~(CLONE_LEGACY_FLAGS | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) \
            or flags & (CLONE_DETACHED | CSIGNAL):
        raise KernelError(Errno.EINVAL, f"clone3 flags {flags:#x}")
    if flags & (CLONE_THREAD | CLONE_PARENT) and exit_signal:
        raise KernelError(Errno.EINVAL, "an exit signal for a thread or a sibling")
    if bool(stack) != bool(stack_size):
        raise KernelError(Errno.EINVAL, "a stack needs its size, and a size its stack")


# -- exec ---------------------------------------------------------------------
def _arg_limit(t: Thread) -> int:
    """Bytes execve's strings and their pointers may take (Linux's bprm_stack_limits)."""
    stack = linux(t.process).rlimits[RLIMIT_STACK][0]
    return max(min(STK_LIM // 4 * 3, stack // 4), ARG_MAX)


def _pointers(aspace: AddressSpace, addr: int, room: int) -> list[int]:
    """The pointers of a NULL-terminated array (argv, envp), read a page at a time;
    E2BIG as soon as they alone fill ``room`` bytes, before any string is read."""
    out: list[int] = []
    while addr:
        n = max(1, (PAGE_SIZE - (addr & ~PAGE_MASK)) // 8)
        for pointer in struct.unpack(f"<{n}Q", aspace.copy_in(addr, 8 * n)):
            if not pointer:
                return out
            out.append(pointer)
            if 8 * len(out) >= room:
                raise KernelError(Errno.E2BIG, "argument list too long")
        addr += 8 * n
    return out


def _strings(aspace: AddressSpace, pointers: list[int], room: int) -> tuple[list[bytes], int]:
    """The strings ``pointers`` point to and the room left after them; E2BIG for one
    longer than MAX_ARG_STRLEN or when together they pass ``room``."""
    out: list[bytes] = []
    page, raw = -1, b""  # the last page read: arguments usually lie side by side
    for va in pointers:
        if va & PAGE_MASK != page:
            page, raw = va & PAGE_MASK, aspace.copy_in(va & PAGE_MASK, PAGE_SIZE)
        end = raw.find(0, va - page)
        try:
            text = raw[va - page:end] if end >= 0 else user_string(aspace, va, MAX_ARG_STRLEN)
        except KernelError as err:
            if err.errno != Errno.ENAMETOOLONG:
                raise
            text = bytes(MAX_ARG_STRLEN)
        room -= len(text) + 1
        if len(text) >= MAX_ARG_STRLEN or room < 0:
            raise KernelError(Errno.E2BIG, "argument list too long")
        out.append(text)
    return out, room


def _arguments(t: Thread, name: bytes, argv: int, envp: int) -> tuple[list[bytes], list[bytes]]:
    """argv and envp with Linux's checks in Linux's order: the pointers (each counts
    8 bytes against the limit), then the path, envp's and argv's strings."""
    aspace, room = t.process.aspace, _arg_limit(t)
    arg_ptrs = _pointers(aspace, argv, room)
    room -= 8 * max(len(arg_ptrs), 1)
    env_ptrs = _pointers(aspace, envp, room)
    room -= 8 * len(env_ptrs) + len(name) + 1
    if room < 0:
        raise KernelError(Errno.E2BIG, "argument list too long")
    env, room = _strings(aspace, env_ptrs, room)
    args, _ = _strings(aspace, arg_ptrs, room)
    return args or [b""], env  # an empty argv gets "" as argv[0] (Linux 5.18 on)


def sys_execve(t: Thread, path: int, argv: int, envp: int, *_: int) -> int:
    """Implements Linux execve(2): ELF programs (with their loader) and #! scripts."""
    return _execve(t, sys_file.AT_FDCWD, path, argv, envp, 0)


AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW = sys_file.AT_EMPTY_PATH, sys_file.AT_SYMLINK_NOFOLLOW
EXECVEAT_FLAGS = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH


def sys_execveat(t: Thread, dirfd: int, path: int, argv: int, envp: int, flags: int,
                 *_: int) -> int:
    """Implements Linux execveat(2): execve of a path relative to ``dirfd``, or of the file
    ``dirfd`` itself (AT_EMPTY_PATH: fexecve); AT_SYMLINK_NOFOLLOW makes a symbolic link
    ELOOP. A script found so is given /dev/fd/N[/path] as its name (ENOENT when that fd is
    close-on-exec, as Linux)."""
    if flags & 0xFFFF_FFFF & ~EXECVEAT_FLAGS:
        raise KernelError(Errno.EINVAL, f"execveat flags {flags:#x}")
    return _execve(t, s32(dirfd), path, argv, envp, flags & EXECVEAT_FLAGS)


def _execve(t: Thread, dirfd: int, path: int, argv: int, envp: int, flags: int) -> int:
    name = user_string(t.process.aspace, path)
    if not name and not flags & AT_EMPTY_PATH:
        raise KernelError(Errno.ENOENT, "empty path")
    try:
        args, env = _arguments(t, name, argv, envp)
        bad_arguments = 0
    except KernelError as err:  # reported after the file's own errors, as Linux does
        args, env, bad_arguments = [], [], err.errno

    def exec_file(msg: Message) -> int:
        """The VFS's answer: program, loader, #! prefix — or an error; the CPU is stopped."""
        image = msg.body
        if not isinstance(image, vfs.ExecImage):
            return int(image)
        if bad_arguments:
            return -bad_arguments
        resolved = image.path
        argv = [*image.prefix, *args[1:]] if image.prefix else args
        state = linux(t.process)
        ids = creds.execve(state.creds, *((None, None) if state.no_new_privs
                                          else image.set_ids))
        if ids.euid != state.creds.euid or ids.egid != state.creds.egid:
            state.persona &= ~PER_CLEAR_ON_SETID  # a set-ID program gets its own layout
        try:
            new, entry, rsp = load_program(t.process.kernel, os.fsdecode(resolved), image.program,
                                           argv, env, image.loader, _layout_mode(t),
                                           (image.program_id, image.loader_id),
                                           (ids.uid, ids.euid, ids.gid, ids.egid),
                                           image.loader_path)
        except ExecError as err:
            if err.fatal:  # Linux finds this past its point of no return: the caller dies
                t.process.kernel.kill(t.process, SIGSEGV)
            return -err.errno
        _become(t, new, entry, rsp, resolved, argv, name or resolved)  # (fexecve: the
        # file's own name, the interpreter's for a script, as Linux 6.x's comm_from_dentry)
        if ids != linux(t.process).creds:
            linux(t.process).creds = ids
            sys_file.tell_credentials(t.process)
        linux(t.process).env_area = env_area(new.stack_top, resolved, env)
        linux(t.process).auxv = saved_auxv(new, rsp, len(argv), len(env))
        return 0  # RAX of the new program's first instruction, as Linux leaves it

    return sys_file.call(t, vfs.ExecRead(dirfd, name, flags), deliver=exec_file, fast=False)


def _become(t: Thread, new: AddressSpace, entry: int, rsp: int, path: bytes,
            args: list[bytes], called: bytes) -> None:
    """The rest of a successful exec: one thread, the new image, Linux's resets. ``path``
    is the program's file, ``called`` the path execve was given, which names the process
    (comm: /bin/sh is "sh" though the file is dash, a #! script is the script's name)."""
    process, kernel = t.process, t.process.kernel
    for other in process.threads:  # exec ends every other thread, as if each exited,
        exit_robust_list(other)     # and releases the robust futexes of all in the old
        if other is not t:          # memory
            other.state = State.TERMINATED
    process.threads = [t]
    old, process.aspace = process.aspace, new
    new.stack_reserve = linux(process).rlimits[RLIMIT_STACK][0]  # how far its stack grows
    kernel.release_aspace(process, old)
    collect_shared(kernel)
    process.name = os.path.basename(os.fsdecode(called))[:15]
    process.exe, process.cmdline = path, b"".join(a + b"\0" for a in args)
    t.context = kernel.cpu.new_context(new.pt.root, entry, rsp)
    linux_thread(t).clear_child_tid = 0
    state = linux(process)
    state.execed = True
    state.shm = {}
    state.membarrier = 0
    for timer in state.timers.values():  # exec deletes the POSIX timers
        timer.generation += 1
    state.timers = {}
    _default_handlers(state)
    sys_file.notify(kernel, vfs.Exec(process.pid))
    ptrace.on_exec(t)
    kernel.scheduler.wakeup(("vfork", process.pid), process.pid)


# -- exit ---------------------------------------------------------------------
def _clear_child_tid(t: Thread) -> None:
    """CLONE_CHILD_CLEARTID: zero the tid word and wake one waiter (pthread_join)."""
    address = linux_thread(t).clear_child_tid
    if address:
        try:
            t.process.aspace.copy_out(address, bytes(4))
            futex_wake(t, address, 1)
        except KernelError:
            pass  # Linux ignores a bad address here too


def sys_exit(t: Thread, code: int, *_: int) -> int:
    """Implements Linux exit(2): ends the calling thread."""
    if ptrace.exit_stop(t, (s32(code) & 0xFF) << 8):
        raise Stop
    end_thread(t, s32(code) & 0xFF)
    raise Stop


def end_thread(t: Thread, code: int) -> None:
    """End the calling thread alone (exit(2); a seccomp kill of one thread among others):
    its robust futexes and CLONE_CHILD_CLEARTID word are released; if it was the last,
    its process exits with ``code``."""
    exit_robust_list(t)
    _clear_child_tid(t)
    kernel = t.process.kernel
    kernel.exit_thread(t, code)
    thread_ended(t)
    kernel.scheduler.wakeup(("vfork", t.process.pid), t.process.pid)


def sys_exit_group(t: Thread, code: int, *_: int) -> int:
    """Implements Linux exit_group(2): ends every thread of the process."""
    if ptrace.exit_stop(t, (s32(code) & 0xFF) << 8):
        raise Stop
    _clear_child_tid(t)
    kernel = t.process.kernel
    kernel.exit_process(t.process, s32(code) & 0xFF)
    kernel.scheduler.wakeup(("vfork", t.process.pid), t.process.pid)
    raise Stop


def on_exit(process: Process) -> None:
    """What a process's end means on Linux: orphans go to init, init's end halts the
    machine (like a container's pid 1), a waiting parent or vfork parent wakes up."""
    kernel = process.kernel
    init = kernel.processes.get(1)
    reaper = process.parent  # the nearest live subreaper above it adopts, else init
    while reaper is not None and (reaper.zombie or not linux(reaper).subreaper):
        reaper = reaper.parent
    heir = reaper if reaper is not None else init if init is not process else None
    for child in process.children:
        child.parent = heir
        if heir is not None:
            heir.children.append(child)
        death = linux(child).pdeathsig if not child.zombie else 0
        if death:
            signals.send(child, signals.SigInfo(death, signals.SI_USER, process.pid))
    process.children = []
    if process is init:
        for other in list(kernel.processes.values()):
            kernel.exit_process(other, 0, SIGKILL)
    kernel.scheduler.wakeup(("vfork", process.pid), process.pid)
    ptrace.on_exit(process)
    if process.parent is not None:
        kernel.scheduler.wakeup(("child", process.parent.pid))
    if heir is not None and any(c.zombie for c in heir.children):
        kernel.scheduler.wakeup(("child", heir.pid))


def reap(process: Process) -> None:
    """The parent collected the status: its child's CPU time becomes its children's."""
    parent = process.parent
    if parent is not None:
        user, system = cputimes(process)
        cu, cs = linux(process).child_times
        pu, ps = linux(parent).child_times
        linux(parent).child_times = (pu + user + cu, ps + system + cs)
    process.kernel.forget(process)


# -- wait ---------------------------------------------------------------------
def _matches(t: Thread, child: Process, pid: int) -> bool:
    if pid > 0:
        return child.pid == pid
    if pid == 0:
        return child.pgid == t.process.pgid
    if pid < -1:
        return child.pgid == -pid
    return True


def _candidates(t: Thread, pid: int) -> list[Process]:
    kids = [c for c in _family(t) if _matches(t, c, pid)]
    if not kids:
        raise KernelError(Errno.ECHILD, f"no child matches {pid}")
    return kids


def _family(t: Thread) -> list[Process]:
    """Children of the calling process (all its threads wait on the same children), and
    the processes it traces (it hears of their stops and of their end)."""
    family = list(t.process.children)
    return family + [p for p in ptrace.tracees(t.process) if p not in family]


def wait_status(process: Process) -> int:
    """The status word of wait4(): exit code, or the signal that ended it (and the core
    bit when it left a core file)."""
    if process.killed_by:
        return process.killed_by | (CORE_DUMPED if coredump.dumped(process) else 0)
    return (process.exit_code & 0xFF) << 8


def shell_status(process: Process) -> int:
    """How a shell reports the end of a process: its code, or 128 + signal."""
    return 128 + process.killed_by if process.killed_by else process.exit_code & 0xFF


RUSAGE = struct.Struct("<qqqq14q")


def rusage_bytes(user: float, system: float) -> bytes:
    return RUSAGE.pack(int(user), int(user % 1 * 1e6), int(system), int(system % 1 * 1e6),
                       *([0] * 14))


def _report(t: Thread, child: Process, options: int) -> int:
    """The ptrace-stop of ``child`` if the caller traces it, else the stop or continue
    that ``options`` asks for (a status word), or 0."""
    traced = ptrace.report(child, t.process)
    if traced:
        return traced
    report = linux(child).wait_report if isinstance(child.personality, LinuxProcess) else 0
    if report == CONTINUED_STATUS:
        return report if options & WCONTINUED else 0
    return report if options & WUNTRACED else 0


def _wait_or_sleep(t: Thread, nr: int, options: int, pid: int) -> tuple[Process, int] | None:
    """A child to report: a zombie (status 0) if ``options`` has WEXITED, or a stop or
    continue (its status word); None with WNOHANG; else sleep and restart the call."""
    for child in _candidates(t, pid):
        if child.zombie and options & WEXITED:
            return child, 0
        report = 0 if child.zombie else _report(t, child, options)
        if report:
            return child, report
    if options & WNOHANG:
        return None
    t.process.kernel.scheduler.sleep_on(t, ("child", t.process.pid), restart=nr)
    raise Stop


def sys_wait4(t: Thread, pid: int, wstatus: int, options: int, rusage: int, *_: int) -> int:
    """Implements Linux wait4(2): exited and killed children; stopped (WUNTRACED) and
    continued (WCONTINUED) ones."""
    pid, options = s32(pid), options & 0xFFFF_FFFF
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE):
        raise KernelError(Errno.EINVAL, f"wait4 options {options:#x}")
    found = _wait_or_sleep(t, 61, options | WEXITED, pid)
    if found is None:
        return 0
    child, report = found
    aspace = t.process.aspace
    if wstatus:
        aspace.copy_out(wstatus, struct.pack("<i", report or wait_status(child)))
    if rusage:
        aspace.copy_out(rusage, rusage_bytes(*cputimes(child)))
    _collect(t, child, report)
    return child.pid


def _collect(t: Thread, child: Process, report: int) -> None:
    """The caller took ``child``'s report: its stop is told, or it is reaped (a tracee
    that is not the caller's child is only let go: its parent reaps it)."""
    if report and ptrace.report(child, t.process):
        ptrace.collected(child)
    elif report:
        linux(child).wait_report = 0
    elif child in t.process.children:
        ptrace.forget(t.process, child)
        reap(child)
    else:
        ptrace.forget(t.process, child)


def sys_waitid(t: Thread, idtype: int, ident: int, infop: int, options: int, rusage: int,
               *_: int) -> int:
    """Implements Linux waitid(2): WEXITED, WSTOPPED, WCONTINUED, WNOWAIT; P_ALL, P_PID,
    P_PGID and P_PIDFD."""
    idtype, ident, options = s32(idtype), s32(ident), options & 0xFFFF_FFFF
    if options & ~(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL
                   | WCLONE) or not options & (WEXITED | WUNTRACED | WCONTINUED):
        raise KernelError(Errno.EINVAL, f"waitid options {options:#x}")
    pid = {P_ALL: -1, P_PID: ident, P_PGID: -ident if ident else 0}.get(idtype)
    if (pid is None and idtype != P_PIDFD) or (idtype == P_PID and ident <= 0) \
            or (idtype == P_PIDFD and ident < 0):
        raise KernelError(Errno.EINVAL, f"waitid idtype {idtype} id {ident}")
    nonblock = False
    if idtype == P_PIDFD:  # the pidfd's process, if it is a child (ECHILD otherwise)
        from cloudos.linux.syscalls import sys_pidfd  # (loaded at its first use: table.py)
        named = sys_pidfd.target(t, ident)
        pid, nonblock = named.pid, named.nonblock and not options & WNOHANG
        if sys_pidfd.process_of(t, named) is None:
            raise KernelError(Errno.ECHILD, f"process {named.pid} was reaped")
    assert pid is not None, "every idtype but P_PIDFD named its pid above"
    found = _wait_or_sleep(t, 247, options | (WNOHANG if nonblock else 0), pid)
    aspace = t.process.aspace
    if found is None:
        if nonblock:  # a PIDFD_NONBLOCK pidfd: EAGAIN, as Linux, not WNOHANG's 0
            raise KernelError(Errno.EAGAIN, f"process {pid} has not changed state")
        if infop:
            aspace.copy_out(infop, bytes(128))
        return 0
    child, report = found
    if infop:
        if report:
            code, status = ((CLD_CONTINUED, SIGCONT) if report == CONTINUED_STATUS
                            else (CLD_TRAPPED if ptrace.report(child, t.process)
                                  else CLD_STOPPED, report >> 8 & 0xFF))
        else:
            code = CLD_KILLED if child.killed_by else CLD_EXITED
            code = CLD_DUMPED if coredump.dumped(child) else code
            status = child.killed_by or child.exit_code
        uid = linux(child).uid if isinstance(child.personality, LinuxProcess) else 0
        aspace.copy_out(infop, struct.pack("<iiiiiI", SIGCHLD, 0, code, 0, child.pid, uid)
                        + struct.pack("<i", status) + bytes(100))
    if rusage:
        aspace.copy_out(rusage, rusage_bytes(*cputimes(child)))
    if not options & WNOWAIT:
        _collect(t, child, report)
    return 0

