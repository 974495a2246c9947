"""/proc/cpuinfo agrees with CPUID: tests/guest/cpuinfo.c natively, then under ``cloudos
run`` on one and two CPUs, must print the same (it prints only whether each field and
flag agrees with what its own CPUID instruction says, so the host's CPU and the guest's
may differ)."""

from __future__ import annotations

import shutil

import pytest

from tests.guest.sections import native_then_cloudos

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

REQUIRED = [b"an entry per online CPU: yes", b"vendor_id is CPUID's: yes", b"cpu family: yes",
            b"model: yes", b"stepping: yes", b"model name: yes",
            b"15 flags agree with CPUID: yes"]


@pytest.mark.parametrize("cpus", [1, 2])
def test_proc_cpuinfo_is_what_cpuid_says(cpus, guest_bins, run_native, run_cloudos):
    native_then_cloudos(guest_bins.path("cpuinfo", "static"), ["cpuinfo"], REQUIRED,
                        run_native, run_cloudos, extra_args=["--cpus", str(cpus)])
