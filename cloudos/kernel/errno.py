"""Error numbers of the kernel ABI, which is Linux x86_64's (asm-generic/errno*.h).

Owns the one typed error that kernel code raises, ``KernelError``; the trap
path turns it into ``-errno`` in RAX in exactly one place (``kernel.trap``).
``Errno`` names the numbers the kernel core raises; the personality and the
servers name the rest (``cloudos.errno``). A message names any number by the
host's (Linux's) name for it.
"""

import errno as _linux
from enum import IntEnum


class Errno(IntEnum):
    """The Linux x86_64 errno values the kernel core raises."""

    EPERM = 1
    ESRCH = 3
    EAGAIN = 11
    ENOMEM = 12
    EFAULT = 14
    EINVAL = 22
    ENOSYS = 38
    EMSGSIZE = 90
    ETIMEDOUT = 110


class KernelError(Exception):
    """An operation refused with a Linux error number."""

    def __init__(self, errno: int, why: str = "") -> None:
        name = _linux.errorcode.get(errno, f"errno {errno}")
        super().__init__(f"{name}: {why}" if why else name)
        self.errno = errno
