"""hal.regs: the register ids KVM runs use instead of Unicorn's must be Unicorn's."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from unicorn import x86_const as X

from cloudos.hal import regs
from cloudos.hal.kvm import unavailable

NO_KVM = unavailable()


def test_every_register_id_is_unicorns() -> None:
    names = [name for name in vars(regs) if name.startswith("UC_X86_REG_")]
    assert len(names) > 50
    assert {name: getattr(regs, name) for name in names} == \
        {name: getattr(X, name) for name in names}


PROBE = """
import os, sys
def count(status, exit=os._exit):  # (the CLI ends with os._exit: no atexit)
    sys.stderr.write("unicorn modules: %d, hashlib: %d\\n" % (sum(
        m.split(".")[0] == "unicorn" for m in sys.modules), "hashlib" in sys.modules))
    exit(status)
os._exit = count
sys.argv = ["cloudos", "run", "--backend", BACKEND, "--", "/bin/true"]
from cloudos.cli import main
main()
"""


@pytest.mark.parametrize("backend", ["kvm", "unicorn"])
def test_a_kvm_machine_never_imports_unicorn(backend) -> None:
    """Booting a KVM machine and running a program loads no Unicorn module (its import is
    ~20 ms of every start-up); a Unicorn machine does load it. Neither loads hashlib
    (OpenSSL, ~3 ms: the capabilities' and ASLR's blake2b come from _blake2)."""
    if backend == "kvm" and NO_KVM is not None:
        pytest.skip(f"no KVM here: /dev/kvm: {NO_KVM}")
    proc = subprocess.run([sys.executable, "-c", PROBE.replace("BACKEND", repr(backend))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"unicorn modules: (\d+), hashlib: (\d)", proc.stderr)
    assert found, proc.stderr
    count = int(found[1])
    assert (count == 0) if backend == "kvm" else (count > 0), proc.stderr
    assert found[2] == "0", proc.stderr
