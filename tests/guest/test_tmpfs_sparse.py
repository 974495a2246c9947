"""Sparse tmpfs files: tests/guest/tmpfs_sparse.c natively, then under ``cloudos run``, must
print the same (tests/servers/test_tmpfs_limits.py has the unit tests)."""

from __future__ import annotations

import shutil

import pytest

from tests.guest.sections import native_then_cloudos

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

SECTIONS = {
    "sparse": [b"ftruncate to 8 GiB: 0", b"size: 8 GiB, st_blocks: 0", b"st_blocks < 256: yes",
               b"free space dropped by less than 64 MiB: yes",
               b"1 MiB at 1 GiB reads zeros: yes", b"the byte at 4 GiB: x",
               b"SEEK_HOLE from 0: 0", b"SEEK_DATA from 0 within 64 KiB before 2 GiB: yes",
               b"SEEK_DATA from 3 GiB within 64 KiB before 4 GiB: yes",
               b"SEEK_HOLE from 4 GiB within 64 KiB past it: yes",
               b"SEEK_DATA from 5 GiB: -1 ENXIO",
               b"SEEK_DATA from 2 GiB + 1 MiB: -1 ENXIO"],
    "fallocate": [b"size: 1048576, st_blocks >= 2048: yes",
                  b"size: 1048576, st_blocks >= 4096: yes", b"1 MiB reads zeros: yes",
                  b"size: 1048576, 1 MiB reads zeros: yes",
                  b"st_blocks dropped by >= 2048: yes", b"st_blocks < 256: yes",
                  b"/dev/shm has a size: yes",
                  b"fallocate more than /dev/shm holds: -1 ENOSPC",
                  b"size: 1048576, st_blocks < 256: yes"],
    "mmap": [b"ftruncate to 1 GiB: 0", b"mmap 16 MiB shared: mapped",
             b"a hole through the mapping: 0", b"munmap: 0",
             b"the byte written through the mapping: m", b"st_blocks < 256: yes"],
}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, guest_bins, run_native, run_cloudos):
    native_then_cloudos(guest_bins.path("tmpfs_sparse", "static"), [section], SECTIONS[section],
                        run_native, run_cloudos)
