"""Which virtual CPU a machine gets: Unicorn's (``hal.cpu``) or KVM's (``hal.kvm``).

Owns the choice and its words for the boot log. ``CLOUDOS_BACKEND`` names it
(``cloudos run --backend`` sets it): ``unicorn``, ``kvm`` (an error where
``/dev/kvm`` cannot be used) or ``auto`` (KVM where ``/dev/kvm`` opens, else
Unicorn). Where the parent handed over an open /dev/kvm (``CLOUDOS_KVM_FD``,
``cloudos run --kvm-fd``), KVM uses it, and both kvm and auto refuse to start when it
is not KVM's device. Called by: the kernel's boot, once per machine.

Both classes have one interface; the kernel is typed against the Unicorn one, so
the KVM class is handed over as that type (``hal.kvm`` is checked on its own).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from cloudos.hal.cpu import Cpu

CHOICES = ("unicorn", "kvm", "auto")
DEFAULT = "unicorn"


class BackendError(ValueError):
    """The backend asked for cannot run here (or is no backend)."""


def cpu_class(name: str | None = None) -> tuple[type[Cpu], str]:
    """The CPU class for ``name`` (default: CLOUDOS_BACKEND, else unicorn) and a line for
    the boot log saying which it is and why."""
    name = (name or os.environ.get("CLOUDOS_BACKEND") or DEFAULT).lower()
    if name not in CHOICES:
        raise BackendError(f"CPU backend {name!r}: one of {', '.join(CHOICES)}")
    if name == "unicorn":
        from cloudos.hal.cpu import Cpu  # (each engine imported only when asked for: Unicorn
        return Cpu, "Unicorn CPU"        # alone costs ~20 ms of start-up)
    from cloudos.hal import kvm  # (imported only when asked for)
    reason = kvm.unavailable()
    if reason is None:
        return cast("type[Cpu]", kvm.KvmCpu), f"KVM CPU ({name}: {kvm.host_kvm().source})"
    if name == "kvm" or kvm.FD_ENV in os.environ:  # (a descriptor handed over must work)
        raise BackendError(f"CPU backend {name}: KVM cannot be used: {reason}")
    from cloudos.hal.cpu import Cpu
    return Cpu, f"Unicorn CPU (auto: no KVM: {reason})"
