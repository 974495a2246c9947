"""The range checks of the memory calls and of user pointers, against Linux.

``mm_ranges.c`` gives munmap, mmap, mprotect, mremap, madvise, msync, mincore,
the mlock family, brk and shmat hostile addresses and lengths (the kernel half,
non-canonical addresses, the top user page, ranges that cross the top of user
space or wrap past 2^64, zero and unaligned lengths) and passes non-canonical
and kernel-half pointers to calls that read or write user memory. Each section
runs natively, then under CloudOS: the output and status must be the same, and
CloudOS must not panic (a range crossing the top once walked the kernel half
and freed frame 0; a pointer with bit 48 set was used as the low address).
"""

from __future__ import annotations

import shutil

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

LINK_MODES = ["static", "static-pie"]

# Lines each section's native run must print: Linux's answers, so that a broken program
# cannot make the comparison vacuous.
SECTIONS = {
    "munmap": [b"kernel half: -1 EINVAL", b"non-canonical: -1 EINVAL",
               b"from user space past its top: -1 EINVAL", b"the top page: -1 EINVAL",
               b"wrapping past 2^64: -1 EINVAL", b"length 0: -1 EINVAL",
               b"nothing mapped there: 0", b"the page is gone: 1"],
    "random": [b"munmap: ok 0, EINVAL 2000, ENOMEM 0, EFAULT 0, other 0",
               b"still running: yes"],
    "mmap": [b"length -1: -1 ENOMEM", b"MAP_FIXED kernel half: -1 ENOMEM",
             b"MAP_FIXED top page: -1 ENOMEM", b"MAP_FIXED unaligned: -1 EINVAL",
             b"hint at the top page: ok, in user space below the top page: 1",
             b"a file at offset 2^63-4096: -1 EOVERFLOW"],
    "mprotect": [b"kernel half: -1 ENOMEM", b"length -1: -1 ENOMEM",
                 b"unknown prot bit, length 0: 0", b"still readable: x"],
    "mremap": [b"old in the kernel half: -1 EFAULT", b"new size -1: -1 EINVAL",
               b"shrinking from 4 TiB (the tail crosses the top): -1 EINVAL",
               b"MREMAP_FIXED to the top page: -1 EINVAL",
               b"MREMAP_FIXED to a free area: there, contents: x"],
    "advice": [b"madvise wrapping past 2^64: -1 EINVAL", b"msync length -1: 0",
               b"mincore the top page: -1 ENOMEM", b"mincore vector non-canonical: -1 EFAULT"],
    "mlock": [b"mlock kernel half: -1 ENOMEM", b"mlock length -1: 0",
              b"mlock2 bad flags: -1 EINVAL", b"mlockall no flags: -1 EINVAL"],
    "brk": [b"brk to the top page: unchanged: 1", b"grown by 64 KiB: 1", b"back: 1"],
    "pointers": [b"write from buf|1<<48: -1 EFAULT", b"read into buf|1<<48: -1 EFAULT",
                 b"write from the top page: -1 EFAULT", b"timespec untouched: 1",
                 b"futex wake at |1<<48: -1 EFAULT"],
    "shmat": [b"shmat kernel half: -1 ENOMEM", b"shmat the top page: -1 ENOMEM",
              b"shmat wrapping past 2^64: -1 EINVAL", b"shmat SHM_RND: rounded down",
              b"shmdt: 0"],
}


@pytest.mark.parametrize("mode", LINK_MODES)
@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_section(section, mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("mm_ranges", mode)
    native = run_native([prog, section])
    assert native[0] == 0, native
    lines = native[1].splitlines()
    for line in [f"== {section}".encode(), *SECTIONS[section]]:
        assert line in lines, native[1].decode()
    status, out, err = run_cloudos([prog, section])
    detail = f"cloudos stderr:\n{err.decode(errors='replace')}"
    assert b"Traceback" not in err and b"PANIC" not in err, detail
    assert out == native[1], detail
    assert status == native[0], detail
