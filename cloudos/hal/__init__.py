"""The machine: guest-physical RAM and virtual x86_64 CPUs. Knows nothing of processes.

The kernel drives it; nothing here imports from ``cloudos.kernel`` or above.
"""
