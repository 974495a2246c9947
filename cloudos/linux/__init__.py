"""The Linux personality: the x86_64 Linux ABI on top of the CloudOS kernel.

ABI constants and structs, the ELF loader, per-process Linux state, and the
system call table as data (``linux.syscalls.table``), which ``install`` seals
into the kernel at boot.
"""
