"""The page cache: many processes running the same dynamic program share libc's pages."""

from __future__ import annotations

import os
import re
from typing import Any


def mem_free_kb(run_cloudos, processes: int) -> int:
    # each job is a shell of its own (the ": " keeps dash from exec'ing sleep in its
    # place); MemFree is read once all of them (and their sleeps) are running (up to
    # 30 s: a loaded host starts 100 processes slowly); init's exit then halts the machine
    # with the jobs still sleeping, as a container ends
    script = (f"for i in $(seq {processes}); do sh -c 'sleep 60; :' & done; "
              f"n=0; while [ $(ls /proc | grep -c '^[0-9]') -le {2 * processes} ]; do "
              "n=$((n+1)); [ $n -lt 300 ] || exit 9; sleep 0.1; done; "
              "grep MemFree /proc/meminfo")
    status, out, err = run_cloudos(["/bin/sh", "-c", script], timeout=180)
    assert status == 0, err.decode()
    return int(re.search(rb"MemFree:\s+(\d+) kB", out).group(1))


def test_fifty_shells_share_libc(run_cloudos) -> None:
    libc_kb = os.path.getsize(os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6")) // 1024
    one, fifty = mem_free_kb(run_cloudos, 1), mem_free_kb(run_cloudos, 50)
    per_process = (one - fifty) / 49
    # Without sharing each process would hold its own copy of libc (~1.9 MiB) and ld.so;
    # with the page cache it costs only its private pages (stack, heap, data, tables).
    assert per_process < libc_kb / 2, (per_process, libc_kb)


def test_small_writable_private_mappings_get_their_own_pages_at_once() -> None:
    """A data segment's pages (a small writable private mapping) are private copies from
    the start, with the file's bytes: no copy-on-write fault when the loader relocates
    them. Larger or read-only mappings share the cache's frames."""
    from cloudos.kernel.boot import Kernel
    from cloudos.kernel.mm.buddy import PAGE_SIZE
    from cloudos.kernel.mm.pagetable import FRAME_MASK, WRITABLE
    from cloudos.kernel.mm.vm import Prot
    from cloudos.linux.aspace import install_frame_refs, new_aspace
    from cloudos.linux.pagecache import EAGER_COPY_MAX, PageCache

    kernel = Kernel(64 << 20)
    install_frame_refs(kernel)
    cache = PageCache(kernel)
    size = EAGER_COPY_MAX + PAGE_SIZE - 100  # the file ends inside its last page
    file = (1, 2, size, 4)
    data = (bytes(range(1, 256)) * (size // 255 + 1))[:size]
    base = 0x7000_0000_0000
    refs = kernel.frame_refs

    def mapped(prot: Prot, length: int) -> tuple[Any, list[int]]:
        aspace = new_aspace(kernel)
        aspace.add(base, length, prot, "file")
        cache.map(aspace, base, file, 0, data[:length])
        ptes = [aspace.pt.walk(base + i * PAGE_SIZE) for i in range(length // PAGE_SIZE)]
        shown = aspace.copy_in(base, length)
        assert shown == data[:length].ljust(length, b"\0")  # past the end: zeros
        return aspace, ptes

    small, ptes = mapped(Prot.READ | Prot.WRITE, EAGER_COPY_MAX)
    assert all(pte & WRITABLE and (pte & FRAME_MASK) not in refs for pte in ptes)
    reader, shared = mapped(Prot.READ, EAGER_COPY_MAX)
    assert all((pte & FRAME_MASK) in refs for pte in shared)  # the cache's frames
    small.copy_out(base, b"written")  # private: the file's pages do not change
    assert reader.copy_in(base, 7) == data[:7]
    large, ptes = mapped(Prot.READ | Prot.WRITE, EAGER_COPY_MAX + PAGE_SIZE)
    assert all(not pte & WRITABLE and (pte & FRAME_MASK) in refs for pte in ptes)
    large.copy_out(base, b"written")  # copy-on-write
    assert reader.copy_in(base, 7) == data[:7] and large.copy_in(base, 7) == b"written"
    for aspace in (small, reader, large):
        aspace.destroy()
