"""Robust futex lists: a thread or process that ends (exits, is killed, or execs) holding a
robust mutex leaves it to the next locker with EOWNERDEAD; get_robust_list.

Each section of tests/guest/robust.c runs natively and under ``cloudos run``; stdout and
the exit status must be identical, after the native run is checked for the lines that
show it exercised the section. Before the robust list was walked, every locker of a
mutex its holder had left waited for ever. The waiter and killed sections, where the
next locker is asleep in the kernel as the holder dies, also run on 2 CPUs beside CPU
hogs.
"""

from __future__ import annotations

import shutil

import pytest

from tests.guest.sections import native_then_cloudos
from tests.guest.test_direct_switch import hogs  # noqa: F401 (a fixture)

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

OWNER_DEAD = [b"  consistent: 0", b"  unlock: 0", b"  lock again: 0"]
SECTIONS = {
    "thread": [b"lock after the holder thread ended: EOWNERDEAD", *OWNER_DEAD,
               b"trylock of a plain mutex its dead holder kept: EBUSY"],
    "process": [b"lock after the holder process exited: EOWNERDEAD", *OWNER_DEAD],
    "waiter": [b"lock that waited while the holder died: EOWNERDEAD", *OWNER_DEAD],
    "killed": [b"holder killed by signal 9", b"lock after the holder was killed: EOWNERDEAD",
               *OWNER_DEAD],
    "exec": [b"execed holder exited with 0", b"lock after the holder execed: EOWNERDEAD",
             *OWNER_DEAD],
    "pending": [b"set_robust_list: 0", b"held word: owner died 1, waiters 1, tid bits left 0",
                b"another owner's word: 12345", b"pending word (no owner): 0"],
    "get": [b"get_robust_list(0): 0, len 24, head set 1", b"get_robust_list(self): 0, len 24",
            b"get_robust_list(999999): -1 ESRCH", b"get_robust_list(0, bad head): -1 EFAULT",
            b"get_robust_list(0, bad len): -1 EFAULT",
            b"set_robust_list(bad length): -1 EINVAL",
            b"child: get_robust_list(0): 0, len 24, head set 1",
            b"get_robust_list(reaped child): -1 ESRCH"],
    "hostile": [*(f"thread with bad list {i} ended; the process goes on".encode()
                  for i in range(4)),
                b"thread with its head in the text ended; the process goes on",
                b"word after the loop entry: 0", b"child with a head at 0x10 exited with 7"],
}


@pytest.mark.parametrize("mode", ["static", "static-pie"])
@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, mode, guest_bins, run_native, run_cloudos):
    native_then_cloudos(guest_bins.path("robust", mode), [section], SECTIONS[section],
                        run_native, run_cloudos, timeout=60)


@pytest.mark.parametrize("section", ["waiter", "killed", "thread"])
def test_section_loaded_on_two_cpus(section, hogs, guest_bins, run_native,  # noqa: F811
                                    run_cloudos):
    native_then_cloudos(guest_bins.path("robust", "static"), [section], SECTIONS[section],
                        run_native, run_cloudos, extra_args=["--cpus", "2"], timeout=60)
