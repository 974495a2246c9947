"""The Linux x86_64 system call table, as data.

Every number of the guide's table (0 ``read`` .. 334 ``rseq``) has an entry:
its name, its handler (or none), its support level and a note saying where
CloudOS differs from Linux. ``handlers()`` is what the kernel seals into its
dispatcher; ``cloudos syscalls`` prints ``TABLE``. A number without a handler
returns -ENOSYS and is counted, never silently ignored.
"""

from dataclasses import dataclass
from enum import Enum

from cloudos.kernel.trap import Handler
from cloudos.linux import sysvshm
from cloudos.linux.syscalls import (sys_file, sys_fork, sys_futex, sys_mm, sys_proc, sys_sched,
                                    sys_signal, sys_time, sys_timer)


class Support(Enum):
    """How much of a system call CloudOS implements."""

    FULL = "full"
    PARTIAL = "partial"
    NONE = "ENOSYS"


@dataclass(frozen=True, slots=True)
class Syscall:
    """One row of the table."""

    number: int
    name: str
    handler: Handler | None
    support: Support
    note: str = ""


# Names by number, from the guide's table (which is Linux's x86_64 table).
NAMES = (
    "read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "mmap",
    "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl",
    "pread64", "pwrite64", "readv", "writev", "access", "pipe", "select", "sched_yield",
    "mremap", "msync", "mincore", "madvise", "shmget", "shmat", "shmctl", "dup", "dup2",
    "pause", "nanosleep", "getitimer", "alarm", "setitimer", "getpid", "sendfile", "socket",
    "connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "bind",
    "listen", "getsockname", "getpeername", "socketpair", "setsockopt", "getsockopt", "clone",
    "fork", "vfork", "execve", "exit", "wait4", "kill", "uname", "semget", "semop", "semctl",
    "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl", "fcntl", "flock", "fsync", "fdatasync",
    "truncate", "ftruncate", "getdents", "getcwd", "chdir", "fchdir", "rename", "mkdir",
    "rmdir", "creat", "link", "unlink", "symlink", "readlink", "chmod", "fchmod", "chown",
    "fchown", "lchown", "umask", "gettimeofday", "getrlimit", "getrusage", "sysinfo", "times",
    "ptrace", "getuid", "syslog", "getgid", "setuid", "setgid", "geteuid", "getegid",
    "setpgid", "getppid", "getpgrp", "setsid", "setreuid", "setregid", "getgroups",
    "setgroups", "setresuid", "getresuid", "setresgid", "getresgid", "getpgid", "setfsuid",
    "setfsgid", "getsid", "capget", "capset", "rt_sigpending", "rt_sigtimedwait",
    "rt_sigqueueinfo", "rt_sigsuspend", "sigaltstack", "utime", "mknod", "uselib",
    "personality", "ustat", "statfs", "fstatfs", "sysfs", "getpriority", "setpriority",
    "sched_setparam", "sched_getparam", "sched_setscheduler", "sched_getscheduler",
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "mlock",
    "munlock", "mlockall", "munlockall", "vhangup", "modify_ldt", "pivot_root", "_sysctl",
    "prctl", "arch_prctl", "adjtimex", "setrlimit", "chroot", "sync", "acct", "settimeofday",
    "mount", "umount2", "swapon", "swapoff", "reboot", "sethostname", "setdomainname", "iopl",
    "ioperm", "create_module", "init_module", "delete_module", "get_kernel_syms",
    "query_module", "quotactl", "nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall",
    "security", "gettid", "readahead", "setxattr", "lsetxattr", "fsetxattr", "getxattr",
    "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
    "lremovexattr", "fremovexattr", "tkill", "time", "futex", "sched_setaffinity",
    "sched_getaffinity", "set_thread_area", "io_setup", "io_destroy", "io_getevents",
    "io_submit", "io_cancel", "get_thread_area", "lookup_dcookie", "epoll_create",
    "epoll_ctl_old", "epoll_wait_old", "remap_file_pages", "getdents64", "set_tid_address",
    "restart_syscall", "semtimedop", "fadvise64", "timer_create", "timer_settime",
    "timer_gettime", "timer_getoverrun", "timer_delete", "clock_settime", "clock_gettime",
    "clock_getres", "clock_nanosleep", "exit_group", "epoll_wait", "epoll_ctl", "tgkill",
    "utimes", "vserver", "mbind", "set_mempolicy", "get_mempolicy", "mq_open", "mq_unlink",
    "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr", "kexec_load", "waitid",
    "add_key", "request_key", "keyctl", "ioprio_set", "ioprio_get", "inotify_init",
    "inotify_add_watch", "inotify_rm_watch", "migrate_pages", "openat", "mkdirat", "mknodat",
    "fchownat", "futimesat", "newfstatat", "unlinkat", "renameat", "linkat", "symlinkat",
    "readlinkat", "fchmodat", "faccessat", "pselect6", "ppoll", "unshare", "set_robust_list",
    "get_robust_list", "splice", "tee", "sync_file_range", "vmsplice", "move_pages",
    "utimensat", "epoll_pwait", "signalfd", "timerfd_create", "eventfd", "fallocate",
    "timerfd_settime", "timerfd_gettime", "accept4", "signalfd4", "eventfd2", "epoll_create1",
    "dup3", "pipe2", "inotify_init1", "preadv", "pwritev", "rt_tgsigqueueinfo",
    "perf_event_open", "recvmmsg", "fanotify_init", "fanotify_mark", "prlimit64",
    "name_to_handle_at", "open_by_handle_at", "clock_adjtime", "syncfs", "sendmmsg", "setns",
    "getcpu", "process_vm_readv", "process_vm_writev", "kcmp", "finit_module", "sched_setattr",
    "sched_getattr", "renameat2", "seccomp", "getrandom", "memfd_create", "kexec_file_load",
    "bpf", "execveat", "userfaultfd", "membarrier", "mlock2", "copy_file_range", "preadv2",
    "pwritev2", "pkey_mprotect", "pkey_alloc", "pkey_free", "statx", "io_pgetevents", "rseq",
)

F, P = Support.FULL, Support.PARTIAL
F_ = sys_file  # the file family: its handlers forward to the VFS server
# name: (handler, support, note). Everything not listed is Support.NONE.
IMPLEMENTED: dict[str, tuple[Handler, Support, str]] = {
    "read": (F_.sys_read, F, ""),
    "write": (F_.sys_write, F, ""),
    "open": (F_.sys_open, P, "O_TMPFILE: EOPNOTSUPP"),
    "openat": (F_.sys_openat, P, "O_TMPFILE: EOPNOTSUPP"),
    "creat": (F_.sys_creat, F, ""),
    "close": (F_.sys_close, F, ""),
    "stat": (F_.sys_stat, F, ""),
    "fstat": (F_.sys_fstat, F, ""),
    "lstat": (F_.sys_lstat, F, ""),
    "newfstatat": (F_.sys_newfstatat, F, ""),
    "statx": (F_.sys_statx, P, "basic fields"),
    "poll": (F_.sys_poll, P, "pipes, eventfds, files, console input"),
    "ppoll": (F_.sys_ppoll, P, "the timeout is not updated"),
    "select": (F_.sys_select, P, "via poll; timeout not updated"),
    "pselect6": (F_.sys_pselect6, P, "via poll; the timeout is not updated"),
    "lseek": (F_.sys_lseek, P, "SEEK_SET/CUR/END; no SEEK_DATA/HOLE"),
    "ioctl": (F_.sys_ioctl, P, "TCGETS, TCSETS*, TIOC[GS]PGRP, TIOCGSID, TIOCGWINSZ, FIONREAD, FIONBIO, FIO[N]CLEX"),
    "pread64": (F_.sys_pread64, F, ""),
    "pwrite64": (F_.sys_pwrite64, F, ""),
    "readv": (F_.sys_readv, F, ""),
    "writev": (F_.sys_writev, F, ""),
    "access": (F_.sys_access, F, ""),
    "faccessat": (F_.sys_faccessat, F, ""),
    "pipe": (F_.sys_pipe, F, ""),
    "pipe2": (F_.sys_pipe2, F, ""),
    "eventfd": (F_.sys_eventfd, F, ""),
    "socketpair": (F_.sys_socketpair, P, "AF_UNIX: SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM"),
    "epoll_create": (F_.sys_epoll_create, F, ""),
    "timerfd_create": (F_.sys_timerfd_create, P, "REALTIME, MONOTONIC, BOOTTIME clocks"),
    "timerfd_settime": (F_.sys_timerfd_settime, P, "TFD_TIMER_CANCEL_ON_SET never cancels"),
    "timerfd_gettime": (F_.sys_timerfd_gettime, F, ""),
    "epoll_create1": (F_.sys_epoll_create1, F, ""),
    "epoll_ctl": (F_.sys_epoll_ctl, P, "EPOLLET reports changes of readiness; EPOLLEXCLUSIVE is checked, every waiter wakes"),
    "epoll_wait": (F_.sys_epoll_wait, P, "pipes, sockets, eventfds, timerfds, signalfds, console; regular files EPERM at epoll_ctl"),
    "epoll_pwait": (F_.sys_epoll_pwait, F, ""),
    "shutdown": (F_.sys_shutdown, F, ""),
    "sendto": (F_.sys_sendto, P, "connected AF_UNIX sockets; MSG_DONTWAIT, MSG_NOSIGNAL"),
    "recvfrom": (F_.sys_recvfrom, P, "connected AF_UNIX sockets; MSG_DONTWAIT; no address"),
    "socket": (F_.sys_socket, P, "AF_UNIX SOCK_STREAM and SOCK_SEQPACKET (no unbound SOCK_DGRAM); other families EAFNOSUPPORT (no network)"),
    "bind": (F_.sys_bind, F, ""),
    "listen": (F_.sys_listen, F, ""),
    "connect": (F_.sys_connect, P, "AF_UNIX stream; a full backlog is EAGAIN, never a wait"),
    "accept": (F_.sys_accept, F, ""),
    "accept4": (F_.sys_accept4, F, ""),
    "getsockname": (F_.sys_getsockname, F, ""),
    "getpeername": (F_.sys_getpeername, F, ""),
    "getsockopt": (F_.sys_getsockopt, P, "SOL_SOCKET: type, error, domain, buffers, peer credentials"),
    "setsockopt": (F_.sys_setsockopt, P, "SOL_SOCKET options accepted without effect"),
    "sendmsg": (F_.sys_sendmsg, P, "SCM_RIGHTS; other ancillary data EOPNOTSUPP"),
    "recvmsg": (F_.sys_recvmsg, P, "SCM_RIGHTS; no peer address returned"),
    "signalfd": (F_.sys_signalfd, F, ""),
    "signalfd4": (F_.sys_signalfd4, P, "read(2) only (readv: EINVAL); ssi_utime/ssi_stime are 0"),
    "eventfd2": (F_.sys_eventfd2, F, ""),
    "memfd_create": (F_.sys_memfd_create, P, "MFD_CLOEXEC, MFD_ALLOW_SEALING (no seals: F_ADD_SEALS is EINVAL)"),
    "dup": (F_.sys_dup, F, ""),
    "dup2": (F_.sys_dup2, F, ""),
    "dup3": (F_.sys_dup3, F, ""),
    "fcntl": (F_.sys_fcntl, P, "dup, cloexec, status flags; record locks always granted"),
    "fsync": (F_.sys_fsync, F, "file systems write through"),
    "fdatasync": (F_.sys_fsync, F, "file systems write through"),
    "sync": (F_.sys_sync, F, ""),
    "truncate": (F_.sys_truncate, F, ""),
    "ftruncate": (F_.sys_ftruncate, F, ""),
    "getdents64": (F_.sys_getdents64, F, ""),
    "getcwd": (F_.sys_getcwd, F, ""),
    "chdir": (F_.sys_chdir, F, ""),
    "fchdir": (F_.sys_fchdir, F, ""),
    "rename": (F_.sys_rename, F, ""),
    "renameat": (F_.sys_renameat, F, ""),
    "renameat2": (F_.sys_renameat2, P, "RENAME_NOREPLACE; RENAME_EXCHANGE: EINVAL"),
    "mkdir": (F_.sys_mkdir, F, ""),
    "mkdirat": (F_.sys_mkdirat, F, ""),
    "rmdir": (F_.sys_rmdir, F, ""),
    "link": (F_.sys_link, F, ""),
    "linkat": (F_.sys_linkat, F, ""),
    "unlink": (F_.sys_unlink, F, ""),
    "unlinkat": (F_.sys_unlinkat, F, ""),
    "symlink": (F_.sys_symlink, F, ""),
    "symlinkat": (F_.sys_symlinkat, F, ""),
    "readlink": (F_.sys_readlink, F, ""),
    "readlinkat": (F_.sys_readlinkat, F, ""),
    "chmod": (F_.sys_chmod, F, ""),
    "fchmod": (F_.sys_fchmod, F, ""),
    "fchmodat": (F_.sys_fchmodat, F, ""),
    "chown": (F_.sys_chown, P, "stored where the file system can"),
    "fchown": (F_.sys_fchown, P, "stored where the file system can"),
    "lchown": (F_.sys_lchown, P, "stored where the file system can"),
    "fchownat": (F_.sys_fchownat, P, "stored where the file system can"),
    "umask": (F_.sys_umask, F, ""),
    "statfs": (F_.sys_statfs, F, ""),
    "fstatfs": (F_.sys_fstatfs, F, ""),
    "utimensat": (F_.sys_utimensat, P, "UTIME_OMIT treated as now"),
    **{name: (F_.sys_xattr_path, P, "no file system has xattrs: ENOTSUP (ENOENT etc. first)")
       for name in ("setxattr", "lsetxattr", "getxattr", "lgetxattr", "listxattr",
                    "llistxattr", "removexattr", "lremovexattr")},
    **{name: (F_.sys_xattr_fd, P, "no file system has xattrs: ENOTSUP")
       for name in ("fsetxattr", "fgetxattr", "flistxattr", "fremovexattr")},
    "setresuid": (sys_proc.sys_setresuid, P, "one id per kind: real = effective = saved"),
    "setresgid": (sys_proc.sys_setresgid, P, "one id per kind: real = effective = saved"),
    "setreuid": (sys_proc.sys_setreuid, P, "one id per kind: real = effective = saved"),
    "setregid": (sys_proc.sys_setregid, P, "one id per kind: real = effective = saved"),
    "getresuid": (sys_proc.sys_getresuid, F, ""),
    "getresgid": (sys_proc.sys_getresgid, F, ""),
    "getgroups": (sys_proc.sys_getgroups, P, "no supplementary groups"),
    "sysinfo": (sys_proc.sys_sysinfo, P, "no load average or swap"),
    "getcpu": (sys_proc.sys_getcpu, F, "the CPU it runs on; one NUMA node"),
    "msync": (sys_mm.sys_msync, F, ""),
    "shmget": (sysvshm.sys_shmget, P, "pages are allocated at once (ENOMEM beyond free memory)"),
    "shmat": (sysvshm.sys_shmat, F, ""),
    "shmdt": (sysvshm.sys_shmdt, F, ""),
    "shmctl": (sysvshm.sys_shmctl, P, "IPC_STAT, SHM_STAT(_ANY), IPC_SET, IPC_RMID, SHM_(UN)LOCK; no IPC_INFO, SHM_INFO"),
    "mremap": (sys_mm.sys_mremap, P, "old_size 0 (duplicating a shared mapping) is EINVAL; grown file mappings read zero"),
    "mincore": (sys_mm.sys_mincore, P, "reports pages mapped in this process (not the page cache)"),
    "fadvise64": (F_.sys_fadvise64, P, "checked, then ignored"),
    "setgroups": (sys_proc.sys_setgroups, P, "accepted for root, not kept"),
    "mmap": (sys_mm.sys_mmap, P, "anonymous (shared survives fork), private files via the page cache, shared files; pages past the end of a file read zero instead of SIGBUS"),
    "mprotect": (sys_mm.sys_mprotect, F, ""),
    "munmap": (sys_mm.sys_munmap, F, ""),
    "brk": (sys_mm.sys_brk, F, "heap after the program, as Linux; RLIMIT_AS and the RAM bound one request"),
    "madvise": (sys_mm.sys_madvise, P, "MADV_DONTNEED and MADV_FREE drop private pages; other advice ignored"),
    "mlock": (sys_mm.sys_mlock, P, "range checked; memory is never swapped, no RLIMIT_MEMLOCK"),
    "mlock2": (sys_mm.sys_mlock2, P, "range checked; memory is never swapped, no RLIMIT_MEMLOCK"),
    "munlock": (sys_mm.sys_munlock, F, ""),
    "mlockall": (sys_mm.sys_mlockall, P, "flags checked; memory is never swapped"),
    "munlockall": (sys_mm.sys_munlockall, F, ""),
    "timer_create": (sys_timer.sys_timer_create, P, "REALTIME, MONOTONIC, BOOTTIME clocks (no CPU-time timers)"),
    "timer_settime": (sys_timer.sys_timer_settime, F, ""),
    "timer_gettime": (sys_timer.sys_timer_gettime, F, ""),
    "timer_getoverrun": (sys_timer.sys_timer_getoverrun, F, ""),
    "timer_delete": (sys_timer.sys_timer_delete, F, ""),
    "rt_sigqueueinfo": (sys_signal.sys_rt_sigqueueinfo, F, ""),
    "rt_tgsigqueueinfo": (sys_signal.sys_rt_tgsigqueueinfo, F, ""),
    "rt_sigtimedwait": (sys_signal.sys_rt_sigtimedwait, P, "a stop and continue start the timeout again"),
    "rt_sigaction": (sys_signal.sys_rt_sigaction, F, ""),
    "sigaltstack": (sys_signal.sys_sigaltstack, F, ""),
    "rt_sigprocmask": (sys_signal.sys_rt_sigprocmask, F, ""),
    "rt_sigreturn": (sys_signal.sys_rt_sigreturn, P, "SSE state kept in the kernel; fpstate is NULL"),
    "rt_sigsuspend": (sys_signal.sys_rt_sigsuspend, F, ""),
    "rt_sigpending": (sys_signal.sys_rt_sigpending, F, ""),
    "pause": (sys_signal.sys_pause, F, ""),
    "alarm": (sys_time.sys_alarm, F, ""),
    "setitimer": (sys_time.sys_setitimer, P, "ITIMER_REAL only"),
    "getitimer": (sys_time.sys_getitimer, P, "ITIMER_REAL only"),
    "nanosleep": (sys_time.sys_nanosleep, P, "blocks in the scheduler; rem is not written"),
    "getpid": (sys_proc.sys_getpid, F, ""),
    "clone": (sys_fork.sys_clone, P, "threads and COW processes; namespace/ptrace/pidfd flags: EINVAL"),
    "fork": (sys_fork.sys_fork, F, "copy-on-write"),
    "vfork": (sys_fork.sys_vfork, P, "a COW fork whose parent waits for exec or exit"),
    "execve": (sys_fork.sys_execve, F, "static and dynamic ELF, #! scripts; read through the VFS"),
    "exit": (sys_fork.sys_exit, F, ""),
    "wait4": (sys_fork.sys_wait4, F, ""),
    "kill": (sys_signal.sys_kill, P, "core files are always ./core (core_pattern is not read)"),
    "tkill": (sys_signal.sys_tkill, P, "as kill"),
    "tgkill": (sys_signal.sys_tgkill, P, "as kill"),
    "futex": (sys_futex.sys_futex, P, "WAIT, WAKE, *_BITSET, REQUEUE, CMP_REQUEUE; PI ops: ENOSYS"),
    "sched_yield": (sys_sched.sys_sched_yield, F, ""),
    "sched_setparam": (sys_sched.sys_sched_setparam, F, ""),
    "sched_getparam": (sys_sched.sys_sched_getparam, F, ""),
    "sched_setscheduler": (sys_sched.sys_sched_setscheduler, P, "FIFO/RR on MLFQ level 0"),
    "sched_getscheduler": (sys_sched.sys_sched_getscheduler, F, ""),
    "sched_get_priority_max": (sys_sched.sys_sched_get_priority_max, F, ""),
    "sched_get_priority_min": (sys_sched.sys_sched_get_priority_min, F, ""),
    "sched_setaffinity": (sys_sched.sys_sched_setaffinity, P, "kept and reported, not enforced: threads run on every CPU"),
    "sched_getaffinity": (sys_sched.sys_sched_getaffinity, F, "every CPU of the machine"),
    "getpriority": (sys_sched.sys_getpriority, P, "nice recorded; the MLFQ does not weigh it"),
    "setpriority": (sys_sched.sys_setpriority, P, "nice recorded; the MLFQ does not weigh it"),
    "times": (sys_sched.sys_times, F, ""),
    "getrusage": (sys_sched.sys_getrusage, P, "CPU times only"),
    "getpgid": (sys_proc.sys_getpgid, F, ""),
    "setpgid": (sys_proc.sys_setpgid, F, ""),
    "getpgrp": (sys_proc.sys_getpgrp, F, ""),
    "getsid": (sys_proc.sys_getsid, F, ""),
    "setsid": (sys_proc.sys_setsid, F, ""),
    "setuid": (sys_proc.sys_setuid, P, "real and effective ids together"),
    "setgid": (sys_proc.sys_setgid, P, "real and effective ids together"),
    "waitid": (sys_fork.sys_waitid, F, ""),
    "uname": (sys_proc.sys_uname, F, "sysname Linux, release 6.1.0-cloudos"),
    "getrlimit": (sys_proc.sys_getrlimit, F, ""),
    "setrlimit": (sys_proc.sys_setrlimit, P, "enforced: NOFILE, FSIZE, AS, STACK, CPU, NPROC, CORE; others recorded"),
    "getuid": (sys_proc.sys_getuid, F, "the host user's ids"),
    "getgid": (sys_proc.sys_getgid, F, "the host user's ids"),
    "geteuid": (sys_proc.sys_getuid, F, "the host user's ids"),
    "getegid": (sys_proc.sys_getgid, F, "the host user's ids"),
    "getppid": (sys_proc.sys_getppid, F, "0 for init, as on Linux"),
    "arch_prctl": (sys_proc.sys_arch_prctl, P, "ARCH_SET/GET_FS and _GS; CET and CPUID codes: EINVAL"),
    "gettid": (sys_proc.sys_gettid, F, ""),
    "time": (sys_time.sys_time, F, ""),
    "set_tid_address": (sys_proc.sys_set_tid_address, F, ""),
    "clock_gettime": (sys_time.sys_clock_gettime, P, "CPU-time clocks of other pids: EINVAL"),
    "clock_getres": (sys_time.sys_clock_getres, F, ""),
    "clock_nanosleep": (sys_time.sys_clock_nanosleep, P, "blocks in the scheduler; rem is not written"),
    "gettimeofday": (sys_time.sys_gettimeofday, F, "time zone is UTC"),
    "settimeofday": (sys_time.sys_settimeofday, P, "checked as Linux, then EPERM: the host's clock"),
    "clock_settime": (sys_time.sys_clock_settime, P, "checked as Linux, then EPERM: the host's clock"),
    "adjtimex": (sys_time.sys_adjtimex, P, "reads an unsynchronised clock; changes: EPERM"),
    "clock_adjtime": (sys_time.sys_clock_adjtime, P, "CLOCK_REALTIME as adjtimex; others EOPNOTSUPP"),
    "exit_group": (sys_fork.sys_exit_group, F, ""),
    "set_robust_list": (sys_proc.sys_set_robust_list, P, "recorded; not walked at thread exit"),
    "prlimit64": (sys_proc.sys_prlimit64, P, "own process only; as setrlimit"),
    "getrandom": (sys_time.sys_getrandom, F, "host CSPRNG"),
}
NOTES = {
    "rseq": "glibc falls back without it",
    "clone3": "glibc falls back to clone",
}


def _row(number: int, name: str) -> Syscall:
    if name in IMPLEMENTED:
        handler, support, note = IMPLEMENTED[name]
        return Syscall(number, name, handler, support, note)
    return Syscall(number, name, None, Support.NONE, NOTES.get(name, ""))


TABLE: tuple[Syscall, ...] = tuple(_row(n, name) for n, name in enumerate(NAMES))
assert set(IMPLEMENTED) <= set(NAMES), "a handler for an unknown name"


def handlers() -> tuple[Handler | None, ...]:
    """The dispatch tuple the kernel seals: index = system call number."""
    return tuple(row.handler for row in TABLE)
