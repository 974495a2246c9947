"""The one typed error kernel code raises, ``KernelError``: a Linux errno (``cloudos.abi``).

The trap path turns it into ``-errno`` in RAX in exactly one place (``kernel.trap``).
"""

import errno as _linux

from cloudos.abi.errno import Errno as Errno


class KernelError(Exception):
    """An operation refused with a Linux error number."""

    def __init__(self, errno: int, why: str = "") -> None:
        name = _linux.errorcode.get(errno, f"errno {errno}")
        super().__init__(f"{name}: {why}" if why else name)
        self.errno = errno
