"""CloudOS: a capability-based microkernel for a virtual x86_64 machine.

Layers, each importing only the ones before it: ``hal`` (the machine) ←
``kernel`` (the trusted core) ← ``servers`` and ``linux`` (user-space services
and the Linux personality) ← ``cli``.
"""

__version__ = "0.1.0"
