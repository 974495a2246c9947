"""The page cache: many processes running the same dynamic program share libc's pages."""

from __future__ import annotations

import os
import re


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
