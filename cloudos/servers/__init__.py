"""User-space servers (pm, vfs, net, tty, rs), reached by IPC over ports.

Nothing lives here yet: the IPC runtime they need is issue 5. Until then the
console and process calls are served on the kernel's fast path.
"""
