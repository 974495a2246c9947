"""Linux system call handlers, one module per family, and the table that names them all.

Every handler has one shape: ``(thread, a0..a5) -> int`` (the RAX result),
decodes its arguments in its first lines, raises ``KernelError`` to fail, and
``Stop`` when the calling thread leaves the CPU.
"""
