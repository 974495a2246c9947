"""Where the personality and the servers import errors from: the ABI's one ``Errno``
(``cloudos.abi.errno``) and the kernel's ``KernelError``, which carries one."""

from cloudos.abi.errno import Errno
from cloudos.kernel.errno import KernelError

__all__ = ["Errno", "KernelError"]
