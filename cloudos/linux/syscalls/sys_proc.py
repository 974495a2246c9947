"""Process identity: get*id(2), set{uid,gid}(2), process groups and sessions, uname(2),
arch_prctl(2), set_tid_address(2), set_robust_list(2), prlimit64(2), {get,set}rlimit(2).
"""

import struct
import time

from cloudos import __version__
from cloudos.abi import sysctl
from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.vm import USER_END
from cloudos.kernel.task import Process, Thread
from cloudos.linux.process import RLIM_INFINITY, RLIM_NLIMITS, linux, linux_thread
from cloudos.linux.syscalls.args import s32, write_u64
from cloudos.linux import cpulimit, creds, loadavg
from cloudos.linux.syscalls import sys_file, sys_ptrace
from cloudos.linux.process import RLIMIT_CPU, RLIMIT_NOFILE, RLIMIT_STACK

from cloudos.hal import regs as X

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
ROBUST_LIST_HEAD_SIZE = 24
RLIMIT = struct.Struct("<QQ")
UTS_RELEASE = (b"6.12.0-cloudos", f"#1 SMP CloudOS {__version__}".encode(), b"x86_64")
UTS_NAME_MAX = 64  # __NEW_UTS_LEN: each field holds 64 bytes and a NUL


def sys_getpid(t: Thread, *_: int) -> int:
    """Implements Linux getpid(2)."""
    return t.process.pid


def sys_gettid(t: Thread, *_: int) -> int:
    """Implements Linux gettid(2)."""
    return t.tid


def sys_getppid(t: Thread, *_: int) -> int:
    """Implements Linux getppid(2)."""
    return t.process.ppid


def sys_getpgid(t: Thread, pid: int, *_: int) -> int:
    """Implements Linux getpgid(2)."""
    return _process(t, pid).pgid


def sys_getpgrp(t: Thread, *_: int) -> int:
    """Implements Linux getpgrp(2)."""
    return t.process.pgid


def sys_getsid(t: Thread, pid: int, *_: int) -> int:
    """Implements Linux getsid(2)."""
    return _process(t, pid).sid


def sys_setsid(t: Thread, *_: int) -> int:
    """Implements Linux setsid(2): a new session and group led by the caller."""
    process = t.process
    if any(p.pgid == process.pid for p in process.kernel.processes.values() if not p.zombie):
        raise KernelError(Errno.EPERM, "already a process group leader")
    process.sid = process.pgid = process.pid
    return process.sid


def sys_setpgid(t: Thread, pid: int, pgid: int, *_: int) -> int:
    """Implements Linux setpgid(2) with its session and exec rules."""
    pid, pgid = s32(pid), s32(pgid)
    if pgid < 0:
        raise KernelError(Errno.EINVAL, f"pgid {pgid}")
    me = t.process
    target = _process(t, pid)
    if target is not me and target.parent is not me:
        raise KernelError(Errno.ESRCH, f"{pid} is neither the caller nor its child")
    if target is not me and (target.sid != me.sid):
        raise KernelError(Errno.EPERM, "child in another session")
    if target is not me and linux(target).execed:
        raise KernelError(Errno.EACCES, "child has already exec'd")
    if target.sid == target.pid:
        raise KernelError(Errno.EPERM, "a session leader cannot move")
    pgid = pgid or target.pid
    if pgid != target.pid and not any(p.pgid == pgid and p.sid == me.sid and not p.zombie
                                      for p in me.kernel.processes.values()):
        raise KernelError(Errno.EPERM, f"no group {pgid} in this session")
    target.pgid = pgid
    return 0


def _process(t: Thread, pid: int) -> Process:
    pid = s32(pid)
    if pid == 0:
        return t.process
    process = t.process.kernel.processes.get(pid)
    if process is None or pid < 0:
        raise KernelError(Errno.ESRCH, f"no process {pid}")
    return process


def _become(t: Thread, new: creds.Creds) -> int:
    """The process now has credentials ``new``; the VFS, which checks file permissions
    with them, hears of it before the process's next file call."""
    state = linux(t.process)
    if new != state.creds:
        state.creds = new
        sys_file.tell_credentials(t.process)
    return 0


def _id(value: int) -> int:
    """An id argument: a 32-bit value, -1 (keep) as -1."""
    return s32(value) if s32(value) == creds.KEEP else value & 0xFFFFFFFF


def sys_setuid(t: Thread, uid: int, *_: int) -> int:
    """Implements Linux setuid(2)."""
    return _become(t, creds.setuid(linux(t.process).creds, _id(uid)))


def sys_setgid(t: Thread, gid: int, *_: int) -> int:
    """Implements Linux setgid(2)."""
    return _become(t, creds.setgid(linux(t.process).creds, _id(gid)))


def sys_setresuid(t: Thread, ruid: int, euid: int, suid: int, *_: int) -> int:
    """Implements Linux setresuid(2)."""
    return _become(t, creds.setresuid(linux(t.process).creds, _id(ruid), _id(euid), _id(suid)))


def sys_setresgid(t: Thread, rgid: int, egid: int, sgid: int, *_: int) -> int:
    """Implements Linux setresgid(2)."""
    return _become(t, creds.setresgid(linux(t.process).creds, _id(rgid), _id(egid), _id(sgid)))


def sys_setreuid(t: Thread, ruid: int, euid: int, *_: int) -> int:
    """Implements Linux setreuid(2)."""
    return _become(t, creds.setreuid(linux(t.process).creds, _id(ruid), _id(euid)))


def sys_setregid(t: Thread, rgid: int, egid: int, *_: int) -> int:
    """Implements Linux setregid(2)."""
    return _become(t, creds.setregid(linux(t.process).creds, _id(rgid), _id(egid)))


def sys_setfsuid(t: Thread, fsuid: int, *_: int) -> int:
    """Implements Linux setfsuid(2): the old fsuid, whether or not it changed."""
    old = linux(t.process).creds
    _become(t, creds.setfsuid(old, _id(fsuid)))
    return old.fsuid


def sys_setfsgid(t: Thread, fsgid: int, *_: int) -> int:
    """Implements Linux setfsgid(2)."""
    old = linux(t.process).creds
    _become(t, creds.setfsgid(old, _id(fsgid)))
    return old.fsgid


def sys_getresuid(t: Thread, r: int, e: int, s: int, *_: int) -> int:
    """Implements Linux getresuid(2)."""
    c = linux(t.process).creds
    for addr, value in ((r, c.uid), (e, c.euid), (s, c.suid)):
        t.process.aspace.copy_out(addr, struct.pack("<I", value))
    return 0


def sys_getresgid(t: Thread, r: int, e: int, s: int, *_: int) -> int:
    """Implements Linux getresgid(2)."""
    c = linux(t.process).creds
    for addr, value in ((r, c.gid), (e, c.egid), (s, c.sgid)):
        t.process.aspace.copy_out(addr, struct.pack("<I", value))
    return 0


def sys_getgroups(t: Thread, size: int, groups: int, *_: int) -> int:
    """Implements Linux getgroups(2): the count, and the groups when ``size`` holds them."""
    have = linux(t.process).creds.groups
    if s32(size) < 0:
        raise KernelError(Errno.EINVAL, "negative size")
    if s32(size) == 0:
        return len(have)
    if s32(size) < len(have):
        raise KernelError(Errno.EINVAL, "buffer too small")
    t.process.aspace.copy_out(groups, struct.pack(f"<{len(have)}I", *have))
    return len(have)


def sys_setgroups(t: Thread, size: int, groups: int, *_: int) -> int:
    """Implements Linux setgroups(2)."""
    if not 0 <= s32(size) <= creds.NGROUPS_MAX:
        raise KernelError(Errno.EINVAL, "group count")
    raw = t.process.aspace.copy_in(groups, 4 * size) if size else b""
    wanted = struct.unpack(f"<{size}I", raw)
    if any(g == 0xFFFFFFFF for g in wanted):
        raise KernelError(Errno.EINVAL, "group -1")
    return _become(t, creds.setgroups(linux(t.process).creds, wanted))


def sys_getuid(t: Thread, *_: int) -> int:
    """Implements Linux getuid(2)."""
    return linux(t.process).creds.uid


def sys_geteuid(t: Thread, *_: int) -> int:
    """Implements Linux geteuid(2)."""
    return linux(t.process).creds.euid


def sys_getgid(t: Thread, *_: int) -> int:
    """Implements Linux getgid(2)."""
    return linux(t.process).creds.gid


def sys_getegid(t: Thread, *_: int) -> int:
    """Implements Linux getegid(2)."""
    return linux(t.process).creds.egid


CAP_HEADER = struct.Struct("<Ii")  # version, pid
CAP_DATA = struct.Struct("<III")   # effective, permitted, inheritable (32 bits each)
CAP_VERSIONS = {0x19980330: 1, 0x20071026: 2, 0x20080522: 2}  # version: data structs
CAP_PREFERRED = 0x20080522


def _cap_target(t: Thread, header: int) -> tuple[int, int]:
    version, pid = CAP_HEADER.unpack(t.process.aspace.copy_in(header, CAP_HEADER.size))
    if version not in CAP_VERSIONS:
        t.process.aspace.copy_out(header, struct.pack("<I", CAP_PREFERRED))
        raise KernelError(Errno.EINVAL, f"capability version {version:#x}")
    if pid < 0:
        raise KernelError(Errno.EINVAL, f"pid {pid}")
    return CAP_VERSIONS[version], pid


def sys_capget(t: Thread, header: int, data: int, *_: int) -> int:
    """Implements Linux capget(2): another process's sets too."""
    words, pid = _cap_target(t, header)
    if not data:
        return 0
    c = linux(_process(t, pid)).creds
    sets = (c.effective, c.permitted, c.inheritable)
    raw = b"".join(CAP_DATA.pack(*((v >> (32 * i)) & 0xFFFFFFFF for v in sets))
                   for i in range(words))
    t.process.aspace.copy_out(data, raw)
    return 0


def sys_capset(t: Thread, header: int, data: int, *_: int) -> int:
    """Implements Linux capset(2): the caller's own sets only (EPERM for another's)."""
    words, pid = _cap_target(t, header)
    if pid not in (0, t.process.pid):
        raise KernelError(Errno.EPERM, "capset of another process")
    raw = t.process.aspace.copy_in(data, CAP_DATA.size * words)
    sets = [0, 0, 0]
    for i in range(words):
        for k, value in enumerate(CAP_DATA.unpack_from(raw, CAP_DATA.size * i)):
            sets[k] |= value << (32 * i)
    valid = creds.ALL_CAPS
    return _become(t, creds.capset(linux(t.process).creds, *(v & valid for v in sets)))


def sys_uname(t: Thread, buf: int, *_: int) -> int:
    """Implements Linux uname(2)."""
    uts = linux(t.process).uts
    fields = (b"Linux", uts.nodename, *UTS_RELEASE, uts.domainname)
    t.process.aspace.copy_out(buf, b"".join(f.ljust(UTS_NAME_MAX + 1, b"\0") for f in fields))
    return 0


def _uts_name(t: Thread, name: int, length: int) -> bytes:
    """The new name of sethostname/setdomainname, checked in Linux's order."""
    if not linux(t.process).creds.capable(creds.CAP_SYS_ADMIN):  # over the UTS namespace
        raise KernelError(Errno.EPERM, "changing the host name needs privilege")
    if not 0 <= s32(length) <= UTS_NAME_MAX:
        raise KernelError(Errno.EINVAL, f"name of {s32(length)} bytes")
    return t.process.aspace.copy_in(name, length) if length else b""


def sys_sethostname(t: Thread, name: int, length: int, *_: int) -> int:
    """Implements Linux sethostname(2): the node name of the process's UTS namespace."""
    linux(t.process).uts.nodename = _uts_name(t, name, length)
    return 0


def sys_setdomainname(t: Thread, name: int, length: int, *_: int) -> int:
    """Implements Linux setdomainname(2)."""
    linux(t.process).uts.domainname = _uts_name(t, name, length)
    return 0


def sys_arch_prctl(t: Thread, code: int, addr: int, *_: int) -> int:
    """Implements Linux arch_prctl(2): the FS and GS base registers."""
    cpu = t.process.kernel.cpu
    reg = {ARCH_SET_FS: X.UC_X86_REG_FS_BASE, ARCH_GET_FS: X.UC_X86_REG_FS_BASE,
           ARCH_SET_GS: X.UC_X86_REG_GS_BASE, ARCH_GET_GS: X.UC_X86_REG_GS_BASE}.get(code)
    if reg is None:
        raise KernelError(Errno.EINVAL, f"arch_prctl code {code:#x}")
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        write_u64(t.process.aspace, addr, cpu.reg(reg))
        return 0
    if addr >= USER_END:
        raise KernelError(Errno.EPERM, "base outside user space")
    cpu.set_reg(reg, addr)
    return 0


def sys_set_tid_address(t: Thread, tidptr: int, *_: int) -> int:
    """Implements Linux set_tid_address(2): the tid word is cleared and woken at thread exit."""
    linux_thread(t).clear_child_tid = tidptr
    return t.tid


def sys_set_robust_list(t: Thread, head: int, length: int, *_: int) -> int:
    """Implements Linux set_robust_list(2): the list is walked when the thread ends or
    execs (``sys_futex.exit_robust_list``)."""
    if length != ROBUST_LIST_HEAD_SIZE:
        raise KernelError(Errno.EINVAL, "robust list head size")
    linux_thread(t).robust_list = (head, length)
    return 0


def sys_get_robust_list(t: Thread, pid: int, head_ptr: int, len_ptr: int, *_: int) -> int:
    """Implements Linux get_robust_list(2): the list head thread ``pid`` (0: the caller)
    registered, or 0; another process's only for one that may ptrace it (EPERM)."""
    pid, target = s32(pid), t
    if pid:
        found = next((th for th in t.process.kernel.threads() if th.tid == pid), None)
        if found is None:
            raise KernelError(Errno.ESRCH, f"no thread {pid}")
        target = found
        if not sys_ptrace.may_access(t.process, target.process):
            raise KernelError(Errno.EPERM, f"robust list of thread {pid}")
    aspace = t.process.aspace
    aspace.copy_out(len_ptr, struct.pack("<Q", ROBUST_LIST_HEAD_SIZE))
    aspace.copy_out(head_ptr, struct.pack("<Q", linux_thread(target).robust_list[0]))
    return 0


def _rlimit_target(t: Thread, pid: int) -> Process:
    """The process whose limits prlimit64 reads or sets: the caller for 0, else the one
    holding task ``pid`` (ESRCH for none), which another may touch only with all its real,
    effective and saved ids the caller's real ones, or CAP_SYS_RESOURCE (EPERM), as Linux's
    check_prlimit_permission."""
    if pid in (0, t.process.pid, t.tid):
        return t.process
    target = next((th.process for th in t.process.kernel.threads()
                   if th.tid == pid and not th.process.zombie), None) if pid > 0 else None
    if target is None or not hasattr(target.personality, "rlimits"):
        raise KernelError(Errno.ESRCH, f"no process {pid}")
    mine, its = linux(t.process).creds, linux(target).creds
    if not (mine.uid == its.uid == its.euid == its.suid
            and mine.gid == its.gid == its.egid == its.sgid) \
            and not mine.capable(creds.CAP_SYS_RESOURCE):
        raise KernelError(Errno.EPERM, f"the limits of process {pid}")
    return target


def sys_prlimit64(t: Thread, pid: int, resource: int, new: int, old: int, *_: int) -> int:
    """Implements Linux prlimit64(2): the caller's limits or another process's."""
    pid, resource = s32(pid), s32(resource)
    target = _rlimit_target(t, pid)  # (ESRCH and EPERM before EINVAL, as Linux)
    if not 0 <= resource < RLIM_NLIMITS:
        raise KernelError(Errno.EINVAL, f"resource {resource}")
    state, aspace = linux(target), t.process.aspace
    current = state.rlimits[resource]
    if new:
        soft, hard = RLIMIT.unpack(aspace.copy_in(new, RLIMIT.size))
        if soft > hard:
            raise KernelError(Errno.EINVAL, "soft limit above hard limit")
        if resource == RLIMIT_NOFILE and hard > sysctl.of(t.process.kernel).nr_open:
            raise KernelError(Errno.EPERM, "RLIMIT_NOFILE above fs/nr_open")
        if hard > current[1] and not linux(t.process).creds.capable(creds.CAP_SYS_RESOURCE):
            raise KernelError(Errno.EPERM, "raising a hard limit")
    if old:
        aspace.copy_out(old, RLIMIT.pack(*current))
    if new:
        state.rlimits[resource] = (soft, hard)
        if resource == RLIMIT_CPU:
            cpulimit.watch(target)
        elif resource == RLIMIT_STACK:  # the stack grows (page faults) up to it from now on
            target.aspace.stack_reserve = soft
    return 0


def sys_getrlimit(t: Thread, resource: int, rlim: int, *_: int) -> int:
    """Implements Linux getrlimit(2)."""
    return sys_prlimit64(t, 0, resource, 0, rlim)


def sys_setrlimit(t: Thread, resource: int, rlim: int, *_: int) -> int:
    """Implements Linux setrlimit(2)."""
    if not rlim:
        raise KernelError(Errno.EFAULT)
    return sys_prlimit64(t, 0, resource, rlim, 0)


__all__ = ["RLIM_INFINITY"]


SYSINFO = struct.Struct("<q3Q6QHH4xQQI4x")
SI_LOAD_SHIFT = 16  # sysinfo's loads are fixed point with 16 bits of fraction


def sys_sysinfo(t: Thread, info: int, *_: int) -> int:
    """Implements Linux sysinfo(2): uptime, load averages, memory and process count."""
    kernel = t.process.kernel
    uptime = int(time.time() - kernel.boot_time)
    procs = sum(1 for p in kernel.processes.values() if not p.zombie)
    loads = (v << (SI_LOAD_SHIFT - loadavg.FSHIFT) for v in loadavg.avenrun(kernel))
    t.process.aspace.copy_out(info, SYSINFO.pack(uptime, *loads, kernel.frames.total_bytes,
                                                 kernel.frames.free_bytes, 0, 0, 0, 0,
                                                 min(procs, 0xFFFF), 0, 0, 0, 1))
    return 0


def sys_getcpu(t: Thread, cpu: int, node: int, *_: int) -> int:
    """Implements Linux getcpu(2): the CPU the thread runs on; one node."""
    for addr, value in ((cpu, t.cpu), (node, 0)):
        if addr:
            t.process.aspace.copy_out(addr, struct.pack("<I", value))
    return 0
