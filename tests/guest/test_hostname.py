"""The machine's own names: tests/guest/hostname.c natively, then under ``cloudos run``
(its /etc/hostname and /etc/hosts name the guest, as a container's do), must print the
same; and with ``--hostname`` the host's names are nowhere in the guest's /etc/hosts."""

from __future__ import annotations

import shutil
import socket

import pytest

from tests.guest.sections import native_then_cloudos

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

REQUIRED = [b"/etc/hostname is gethostname's: yes", b"the machine's own name resolves: yes",
            b"localhost is 127.0.0.1: yes"]


def test_the_machine_finds_its_own_name(guest_bins, run_native, run_cloudos):
    native_then_cloudos(guest_bins.path("hostname", "static"), ["names"], REQUIRED,
                        run_native, run_cloudos, skip_if=b"is gethostname's: no")


@pytest.mark.parametrize("name", ["box1", "cloudos"])
def test_hostname_names_the_guest_not_the_host(name, run_cloudos):
    script = ("cat /etc/hostname; getent hosts $(hostname) | tr -s ' \\t' ' '; "
              "cat /etc/hosts")
    status, out, err = run_cloudos(["/bin/sh", "-c", script], extra_args=["--hostname", name])
    assert status == 0, err
    lines = out.decode().splitlines()
    assert lines[0] == name
    assert lines[1] == f"127.0.1.1 {name}"
    host = socket.gethostname()
    if host not in (name, "localhost"):
        assert host not in out.decode().split(), "the host's name leaked into /etc/hosts"
