"""Linux process state and the creation of the first process from an ELF file.

Owns: what Linux adds to a kernel process (credentials, resource limits,
signal actions and masks, robust-list and tid-address registrations) and
``spawn``, which reads a program from the host, loads it and starts it.
Never: schedules or maps memory itself (the kernel and ``elf`` do).
Called by: the CLI (init) and the syscall handlers (their state).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cloudos.kernel.boot import Kernel
from cloudos.kernel.task import Process, Thread
from cloudos.linux import elf

RLIM_INFINITY = (1 << 64) - 1
RLIMIT_STACK, RLIMIT_NOFILE, RLIM_NLIMITS = 3, 7, 16
DEFAULT_RLIMITS = {RLIMIT_STACK: (8 << 20, RLIM_INFINITY), RLIMIT_NOFILE: (1024, 4096),
                   8: (8 << 20, 8 << 20),  # RLIMIT_MEMLOCK
                   6: (4096, 4096), 11: (4096, 4096)}  # RLIMIT_NPROC, RLIMIT_SIGPENDING


@dataclass
class LinuxProcess:
    """Linux-only state of a process."""

    uid: int
    gid: int
    rlimits: dict[int, tuple[int, int]] = field(
        default_factory=lambda: {r: DEFAULT_RLIMITS.get(r, (RLIM_INFINITY, RLIM_INFINITY))
                                 for r in range(RLIM_NLIMITS)})
    sigactions: dict[int, bytes] = field(default_factory=dict)  # raw struct sigaction


@dataclass
class LinuxThread:
    """Linux-only state of a thread."""

    sigmask: int = 0
    robust_list: tuple[int, int] = (0, 0)


def linux(process: Process) -> LinuxProcess:
    state = process.personality
    assert isinstance(state, LinuxProcess)
    return state


def linux_thread(thread: Thread) -> LinuxThread:
    state = thread.personality
    assert isinstance(state, LinuxThread)
    return state


def spawn(kernel: Kernel, path: str, argv: list[str], env: dict[str, str]) -> Process:
    """Create a process running the host program at ``path``; ExecError if it cannot run."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise elf.ExecError(13, f"{path}: is a directory") from None
    except OSError as err:
        raise elf.ExecError(err.errno or 2, f"{path}: {err.strerror}") from None
    if not os.access(path, os.X_OK):
        raise elf.ExecError(13, f"{path}: permission denied")
    process = kernel.new_process(os.path.basename(path)[:15])
    process.personality = LinuxProcess(os.getuid(), os.getgid())
    try:
        image = elf.load(process.aspace, data, path)
        ids = (os.getuid(), os.geteuid(), os.getgid(), os.getegid())
        rsp = elf.build_stack(process.aspace, image, [a.encode() for a in argv],
                              [f"{k}={v}".encode() for k, v in env.items()], path.encode(), ids)
    except BaseException:
        kernel.exit_process(process, 127)
        raise
    thread = kernel.start_thread(process, image.entry, rsp)
    thread.personality = LinuxThread()
    return process
