"""The kernel configuration CloudOS reports: /proc/config.gz's text, in Linux's .config form.

Owns: which of Linux's CONFIG_ options describe CloudOS, each decided by what it does:
an option that gives programs system calls is set ("=y") when every one of them has a
handler in the syscall table, and "is not set" otherwise; the others are facts of the
machine (its architecture, its executable formats, its file systems, its socket
families), each with the module that makes it true.
Never: sets an option for a system call that returns ENOSYS.
Called by: the machine's ProcView (procfs serves the text gzipped, as Linux's
IKCONFIG_PROC does).
"""

from __future__ import annotations

from cloudos.abi.sysno import Sysno as S
from cloudos.linux.syscalls.sys_proc import UTS_RELEASE
from cloudos.linux.syscalls.table import Support, table

# Options that give system calls (init/Kconfig, fs/Kconfig, net/Kconfig ...): their calls.
BY_SYSCALLS: dict[str, tuple[S, ...]] = {
    "MULTIUSER": (S.SETUID, S.SETGID, S.SETGROUPS, S.SETRESUID, S.CAPGET),
    "SYSVIPC": (S.SHMGET, S.SEMGET, S.MSGGET),
    "POSIX_MQUEUE": (S.MQ_OPEN, S.MQ_TIMEDSEND, S.MQ_TIMEDRECEIVE),
    "CROSS_MEMORY_ATTACH": (S.PROCESS_VM_READV, S.PROCESS_VM_WRITEV),
    "FHANDLE": (S.NAME_TO_HANDLE_AT, S.OPEN_BY_HANDLE_AT),
    "POSIX_TIMERS": (S.TIMER_CREATE, S.TIMER_SETTIME, S.CLOCK_SETTIME),
    "FUTEX": (S.FUTEX,),
    "EPOLL": (S.EPOLL_CREATE1, S.EPOLL_CTL, S.EPOLL_WAIT),
    "SIGNALFD": (S.SIGNALFD4,),
    "TIMERFD": (S.TIMERFD_CREATE, S.TIMERFD_SETTIME, S.TIMERFD_GETTIME),
    "EVENTFD": (S.EVENTFD2,),
    "SHMEM": (S.MEMFD_CREATE,),
    "AIO": (S.IO_SETUP, S.IO_SUBMIT, S.IO_GETEVENTS),
    "IO_URING": (S.IO_URING_SETUP, S.IO_URING_ENTER),
    "ADVISE_SYSCALLS": (S.MADVISE, S.FADVISE64),
    "MEMBARRIER": (S.MEMBARRIER,),
    "KCMP": (S.KCMP,),
    "RSEQ": (S.RSEQ,),
    "BPF_SYSCALL": (S.BPF,),
    "USERFAULTFD": (S.USERFAULTFD,),
    "FILE_LOCKING": (S.FLOCK,),
    "INOTIFY_USER": (S.INOTIFY_INIT1, S.INOTIFY_ADD_WATCH),
    "FANOTIFY": (S.FANOTIFY_INIT, S.FANOTIFY_MARK),
    "SECCOMP": (S.SECCOMP,),
    "SECCOMP_FILTER": (S.SECCOMP,),  # linux/seccomp.py: classic BPF filters
    "SYSFS_SYSCALL": (S.SYSFS,),
    "SWAP": (S.SWAPON, S.SWAPOFF),
    "MODULES": (S.INIT_MODULE, S.DELETE_MODULE),
    "KEXEC": (S.KEXEC_LOAD,),
    "BSD_PROCESS_ACCT": (S.ACCT,),
    "QUOTA": (S.QUOTACTL,),
    "KEYS": (S.ADD_KEY, S.KEYCTL),
    "PERF_EVENTS": (S.PERF_EVENT_OPEN,),
    "SECURITY_LANDLOCK": (S.LANDLOCK_CREATE_RULESET,),
    "NET": (S.SOCKET, S.SOCKETPAIR),
}

# Options CloudOS meets by what it is, not by one call: each with where it is done.
FACTS: dict[str, bool] = {
    "64BIT": True, "X86_64": True, "X86": True, "MMU": True,  # hal: x86_64 long mode, paging
    "SMP": True,  # hal: one vCPU per host thread
    "BINFMT_ELF": True, "BINFMT_SCRIPT": True,  # linux/elf.py: ELF and #! programs
    "COREDUMP": True, "ELF_CORE": True,  # linux/coredump.py
    "PROC_FS": True, "PROC_SYSCTL": True,  # servers/vfs/procfs.py, procsys.py
    "SYSFS": True,  # servers/vfs/sysfs.py
    "IKCONFIG": True, "IKCONFIG_PROC": True,  # this file, as /proc/config.gz
    "TMPFS": True, "DEVTMPFS": True, "OVERLAY_FS": True,  # servers/vfs: tmpfs, devfs, overlay
    "FSNOTIFY": True, "DNOTIFY": True,  # servers/vfs/notify.py: events, fcntl(F_NOTIFY)
    "UNIX": True,  # servers/vfs/unix.py: AF_UNIX
    "INET": True, "IPV6": True,  # servers/vfs/inet.py: TCP and UDP over IPv4 and IPv6
    "BLOCK": False,  # no block devices yet
    "NUMA": False, "TRANSPARENT_HUGEPAGE": False,  # (no mempolicy calls; 4 KiB pages only)
    "CGROUPS": False, "USER_NS": False, "PID_NS": False, "NET_NS": False,
}


def _implemented(number: S) -> bool:
    return table()[number].support is not Support.NONE


def options() -> dict[str, bool]:
    """Every option CloudOS reports, set or not, by name (without CONFIG_)."""
    return {**FACTS, **{name: all(map(_implemented, calls))
                        for name, calls in BY_SYSCALLS.items()}}


def text() -> bytes:
    """The configuration in Linux's .config form, as /proc/config.gz holds it."""
    release = UTS_RELEASE[0].decode()
    lines = ["#", "# Automatically generated file; DO NOT EDIT.",
             f"# Linux/x86 {release} Kernel Configuration", "#"]
    for name, on in sorted(options().items()):
        lines.append(f"CONFIG_{name}=y" if on else f"# CONFIG_{name} is not set")
    return ("\n".join(lines) + "\n").encode()
