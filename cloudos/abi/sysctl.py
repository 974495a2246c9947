"""The machine's tunables, /proc/sys: one record per machine, in one place.

Owns: the numeric and string values of /proc/sys that programs read and root may
write, each with Linux's default, range and mode (``TUNABLES``), and their parsing
as Linux's proc_dointvec_minmax/proc_dostring do.
Who reads what: procfs (servers/vfs/procfs.py) shows and writes every one; the
personality honours kernel/pid_max and kernel/threads-max (sys_fork) and fs/nr_open
(setrlimit); the VFS reads fs/pipe-max-size (``Sysctl.pipe_max_size``, for
F_SETPIPE_SZ) and fs/lease-break-time from ``VfsState.sysctl``, the same record.
Values some other module owns (file-max, hostname) are procfs's to route, not here.
Never: checks who writes (procfs does, with the file's mode).
"""

from __future__ import annotations

import weakref
from typing import Any

from cloudos.abi.dataclass import dataclass


INT_MAX = (1 << 31) - 1
PAGE = 4096


@dataclass(frozen=True)
class Tunable:
    """One file of /proc/sys: ``path`` below /proc/sys, its default and bounds."""

    path: str
    default: int | str
    low: int = 0
    high: int = INT_MAX
    mode: int = 0o644           # 0444: read-only even for root, as Linux's
    text: bool = False          # a string (proc_dostring), not a number


# Linux 6.x defaults (x86_64): kernel/pid_max.c, kernel/fork.c, fs/file.c, fs/pipe.c,
# fs/locks.c, mm/util.c, mm/vmscan.c, include/uapi/linux/capability.h ...
TUNABLES = (
    Tunable("kernel/pid_max", 32768, 301, 4 << 20),        # RESERVED_PIDS + 1 .. PID_MAX_LIMIT
    Tunable("kernel/threads-max", 0, 20, 0x3FFF_FFFF),     # MIN_THREADS .. FUTEX_TID_MASK
    Tunable("kernel/core_pattern", "core", text=True, high=127),  # CORENAME_MAX_SIZE - 1
    Tunable("kernel/core_uses_pid", 0),
    Tunable("kernel/tainted", 0),
    Tunable("kernel/ngroups_max", 65536, mode=0o444),
    Tunable("kernel/cap_last_cap", 40, mode=0o444),        # CAP_CHECKPOINT_RESTORE
    Tunable("kernel/randomize_va_space", 2, 0, 2),
    Tunable("kernel/panic", 0, -INT_MAX - 1),
    Tunable("kernel/dmesg_restrict", 0, 0, 1),              # !CONFIG_SECURITY_DMESG_RESTRICT
    Tunable("kernel/shmmax", (1 << 64) - (1 << 24) - 1, high=(1 << 64) - 1),  # SHMMAX
    Tunable("kernel/shmall", (1 << 64) - (1 << 24) - 1, high=(1 << 64) - 1),
    Tunable("kernel/shmmni", 4096, 0, 1 << 15),
    Tunable("kernel/msgmax", 8192),                         # MSGMAX
    Tunable("kernel/msgmnb", 16384),                        # MSGMNB
    Tunable("kernel/msgmni", 32000, 0, 1 << 15),            # MSGMNI .. IPCMNI
    # SEMMSL, SEMMNS, SEMOPM, SEMMNI: four numbers (ipc/ipc_sysctl.c's proc_ipc_sem_dointvec)
    Tunable("kernel/sem", "32000\t1024000000\t500\t32000", text=True, high=127),
    Tunable("kernel/random/poolsize", 256, mode=0o444),
    Tunable("kernel/random/entropy_avail", 256, mode=0o444),
    Tunable("fs/mqueue/msg_max", 10, 1, 65536),            # MIN_MSGMAX .. HARD_MSGMAX
    Tunable("fs/mqueue/msgsize_max", 8192, 128, 16 << 20),  # MIN_MSGSIZEMAX .. HARD_MSGSIZEMAX
    Tunable("fs/mqueue/msg_default", 10, 1, 65536),
    Tunable("fs/mqueue/msgsize_default", 8192, 128, 16 << 20),
    Tunable("fs/mqueue/queues_max", 256),
    Tunable("fs/pipe-max-size", 1 << 20, PAGE, 1 << 31),   # rounded up as round_pipe_size
    Tunable("fs/nr_open", 1 << 20, 64, 2147483584),        # BITS_PER_LONG .. sysctl_nr_open_max
    Tunable("fs/lease-break-time", 45, -INT_MAX - 1),
    Tunable("fs/inotify/max_queued_events", 16384),       # fs/notify/inotify/inotify_user.c
    Tunable("fs/inotify/max_user_instances", 128),
    Tunable("fs/inotify/max_user_watches", 8192),          # its floor (a small machine's)
    Tunable("fs/protected_symlinks", 0, 0, 1),
    Tunable("fs/protected_hardlinks", 0, 0, 1),
    Tunable("vm/overcommit_memory", 0, 0, 2),
    Tunable("vm/overcommit_ratio", 50),
    Tunable("vm/overcommit_kbytes", 0, high=(1 << 64) - 1),
    Tunable("vm/max_map_count", 65530),                     # DEFAULT_MAX_MAP_COUNT
    Tunable("vm/swappiness", 60, 0, 200),
    Tunable("vm/dirty_ratio", 20, 0, 100),
    Tunable("vm/dirty_background_ratio", 10, 0, 100),
    Tunable("vm/vfs_cache_pressure", 100),
    Tunable("vm/mmap_min_addr", 65536, high=(1 << 64) - 1),
    Tunable("vm/page-cluster", 3),
    Tunable("vm/nr_hugepages", 0, 0, 0),                    # no huge pages to reserve
)
BY_PATH = {t.path: t for t in TUNABLES}


class Sysctl:
    """The values of ``TUNABLES`` of one machine."""

    def __init__(self) -> None:
        self.values: dict[str, int | str] = {t.path: t.default for t in TUNABLES}

    def number(self, path: str) -> int:
        value = self.values[path]
        assert isinstance(value, int), path
        return value

    @property
    def pid_max(self) -> int:
        return self.number("kernel/pid_max")

    @property
    def nr_open(self) -> int:
        return self.number("fs/nr_open")

    @property
    def pipe_max_size(self) -> int:
        """The largest pipe buffer an unprivileged F_SETPIPE_SZ may ask for, in bytes."""
        return self.number("fs/pipe-max-size")

    @property
    def lease_break_time(self) -> int:
        return self.number("fs/lease-break-time")

    @property
    def sem(self) -> tuple[int, int, int, int]:
        """kernel/sem: SEMMSL (semaphores per set), SEMMNS (in all), SEMOPM (operations
        per semop), SEMMNI (sets)."""
        value = self.values["kernel/sem"]
        assert isinstance(value, str)
        msl, mns, opm, mni = (int(word) for word in value.split())
        return msl, mns, opm, mni

    @property
    def core_pattern(self) -> str:
        value = self.values["kernel/core_pattern"]
        assert isinstance(value, str)
        return value

    def show(self, path: str) -> bytes:
        return f"{self.values[path]}\n".encode()

    def write(self, path: str, data: bytes) -> None:
        """Sets ``path`` from what a program wrote; ValueError where Linux says EINVAL."""
        self.values[path] = parse(BY_PATH[path], data)


def parse(tunable: Tunable, data: bytes) -> int | str:
    """``data`` as ``tunable``'s value, checked as Linux's handlers check it (ValueError:
    EINVAL)."""
    if tunable.path == "kernel/sem":
        return _sem(data)
    if tunable.text:  # proc_dostring: up to the first newline, cut to the buffer
        return data.split(b"\n", 1)[0][:tunable.high].decode(errors="replace")
    words = data.split()
    if len(words) != 1:
        raise ValueError("one number")
    try:
        value = int(words[0], 10)
    except ValueError:
        raise ValueError("not a number") from None
    if tunable.path == "fs/pipe-max-size":
        value = round_pipe_size(value)
    if not tunable.low <= value <= tunable.high:
        raise ValueError(f"{value} outside {tunable.low}..{tunable.high}")
    return value


def _sem(data: bytes) -> str:
    """kernel/sem: four numbers, SEMMNI at most IPCMNI (32768), none negative."""
    try:
        numbers = [int(word, 10) for word in data.split()]
    except ValueError:
        raise ValueError("not a number") from None
    if len(numbers) != 4 or min(numbers) < 0 or max(numbers) > INT_MAX \
            or numbers[3] > 1 << 15:
        raise ValueError("kernel/sem takes four numbers")
    return "\t".join(str(n) for n in numbers)


def round_pipe_size(size: int) -> int:
    """fs/pipe.c's round_pipe_size: at least a page, a power of two (0 if too large)."""
    if size > 1 << 31:
        return 0
    if size < PAGE:
        return PAGE
    return 1 << (size - 1).bit_length()


_machines: weakref.WeakKeyDictionary[Any, Sysctl] = weakref.WeakKeyDictionary()


def of(machine: Any) -> Sysctl:
    """The tunables of ``machine`` (its kernel), made with Linux's defaults at first use."""
    table = _machines.get(machine)
    if table is None:
        table = _machines[machine] = Sysctl()
    return table
