"""/sys: tests/guest/sysfs.c natively, then under ``cloudos run`` with as many CPUs as
the host has (so that the counts agree), must print the same; and the file system's own
rules (tests/servers/test_sysfs_tree.py has the unit tests)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.guest.sections import native_then_cloudos

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

HOST_CPUS = len(os.sched_getaffinity(0))
SECTIONS = {
    "cpus": [f"sysconf online {HOST_CPUS}, configured {HOST_CPUS}".encode(),
             b"cpuN directories: %d, each DT_DIR: yes" % HOST_CPUS,
             b"as many as sysconf counts: yes", b"cpu0/topology/core_id is a file: yes"],
    "attrs": [b"online: mode 100444, size 4096, links 1", b"statfs(/sys) f_type 0x62656572",
              b"read of a directory: -1 errno 21", b"stat below a file: -1 errno 20",
              b"stat of a missing name: -1 errno 2"],
}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, guest_bins, run_native, run_cloudos):
    if HOST_CPUS > 16 or os.cpu_count() != HOST_CPUS:
        pytest.skip("the host's CPUs are more than a machine has, or not all this process's")
    native_then_cloudos(guest_bins.path("sysfs", "static"), [section], SECTIONS[section],
                        run_native, run_cloudos, extra_args=["--cpus", str(HOST_CPUS)])


@pytest.mark.parametrize("cpus", [1, 3])
def test_the_counts_are_the_machines(cpus, guest_bins, run_cloudos):
    """sysconf and the files count the machine's CPUs, whatever the host has."""
    status, out, err = run_cloudos([guest_bins.path("sysfs", "static"), "cpus"],
                                   extra_args=["--cpus", str(cpus)])
    assert status == 0, err
    span = b"0" if cpus == 1 else b"0-%d" % (cpus - 1)
    assert b"sysconf online %d, configured %d" % (cpus, cpus) in out
    assert b"/sys/devices/system/cpu/online: [%s\n]" % span in out
    assert b"cpuN directories: %d, each DT_DIR: yes" % cpus in out
