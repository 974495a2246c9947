"""CPU features a guest sees: on Unicorn, CPUID hides ERMS and FSRM so that glibc's
memcpy/memset take their SSE loops rather than ``rep movsb``/``rep stosb`` (slow under
TCG); on KVM it shows the host's. The same program runs natively; its copies must check
out the same everywhere."""

from __future__ import annotations

import shutil

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)


@pytest.mark.parametrize("mode", ["static", "static-pie"])
def test_unicorn_hides_erms_and_fsrm_and_copies_still_work(mode, guest_bins, run_native,
                                                           run_cloudos):
    prog = guest_bins.path("cpu_features", mode)
    n_status, n_out, n_err = run_native([prog])
    assert n_status == 0, n_err
    native = n_out.splitlines()
    assert native[0].startswith(b"erms ")
    assert len(native) == 9 and all(line.endswith(b": ok") for line in native[1:]), native
    status, out, err = run_cloudos([prog], extra_args=["--backend", "unicorn"])
    assert status == 0, err.decode(errors="replace")
    guest = out.splitlines()
    assert guest[0] == b"erms 0 fsrm 0"
    assert guest[1:] == native[1:]


@pytest.mark.parametrize("mode", ["static", "static-pie"])
def test_kvm_shows_the_hosts_erms_and_fsrm(mode, guest_bins, run_native, run_cloudos,
                                           guest_backend):
    """On KVM the guest sees the host's CPUID (``rep movsb`` is at native speed there):
    the same line as natively, the same copies."""
    if guest_backend != "kvm":
        pytest.skip("the KVM backend's CPUID: this session runs Unicorn (CLOUDOS_BACKEND=kvm)")
    prog = guest_bins.path("cpu_features", mode)
    native = run_native([prog])
    assert native[0] == 0 and native[1].startswith(b"erms "), native
    status, out, err = run_cloudos([prog])
    assert status == 0, err.decode(errors="replace")
    assert out == native[1]
