"""ptrace(2) for debuggers inside the guest, against Linux.

``ptrace.c`` is a parent tracing its children: TRACEME and the exec stop, PEEK/POKE
of a variable, SETREGS changing a system call's result, PTRACE_SYSCALL counting
write calls with TRACESYSGOOD, an int3 breakpoint put with POKETEXT, single steps,
a wait4 woken by its child's end, a read a signal interrupts (ERESTARTSYS, the
signal, the read again), the exit event, CLONE_PTRACE, the fork event with its
child auto-attached, ATTACH/DETACH of a running process, SEIZE with EXITKILL, the
EPERM/ESRCH/EIO cases, and process_vm_readv/writev. All its sections run in one
guest (they take a second or two together): the output and status must be Linux's.
Debian's strace, when the host has it, traces a program inside the guest.
``proc_mem.c`` reads and writes processes' memory through /proc/<pid>/mem, and gdb
inside the guest uses that file (no warning of its own).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

LINK_MODES = ["static", "static-pie"]

# Lines the native run must print: Linux's answers, so the comparison is not vacuous.
EXPECTED = [
    b"after exec: stopped by 5 event 0", b"orig_rax is execve: yes", b"then: exited 7",
    b"siginfo signo 19 code -6", b"peek 1234 errno 0", b"peek of address 8: EIO",
    b"child sees 5678",
    b"at entry rax is -ENOSYS: yes", b"at exit rax is its pid: yes", b"getpid returned 4242",
    b"write stops 6 (entry and exit), all SIGTRAP|0x80: yes",
    b"stopped after the int3: yes", b"target ran", b"parent's code untouched: yes",
    b"single steps: 3 stopped by SIGTRAP, 3 moved rip", b"stepped child runs",
    b"a step's si_code is TRAP_TRACE: yes",
    b"wait4 exit with a pid", b"SIGCHLD stop", b"wait in the tracee: its child, status 4",
    b"read exit: ERESTARTSYS", b"SIGUSR1 stop", b"after the signal: rt_sigreturn",
    b"read exit: 1", b"read in the tracee: 1 'x', handler ran: 1",
    b"exiting: stopped by 5 event 6", b"event message 0x300, in exit_group: yes",
    b"then: exited 3",
    b"the clone stopped by 19", b"tracee: exited 8", b"stops 2",
    b"grandchild was the event's pid: yes",
    b"fork event 1, grandchild stopped by 19, exits 3 and 13",
    b"attach: 0", b"again: EPERM", b"detach: 0", b"child: exited 5",
    b"seize: 0", b"peek of a running tracee: ESRCH", b"victim: killed by 9",
    b"cont of a non-tracee: ESRCH", b"attach to itself: EPERM",
    b"attach to no process: ESRCH", b"seize with bad options: EIO",
    b"nobody attaches to root: EPERM", b"traceme: 0, twice: EPERM",
    b"readv: 5 'hello'", b"readv into two: 11 'hello there'", b"partial: 4",
    b"bad remote: EFAULT", b"flags: EINVAL", b"no process: ESRCH", b"writev: 5",
    b"child's buffer: HELLO there", b"own buffer: hello there",
]


@pytest.mark.parametrize("mode", LINK_MODES)
def test_ptrace(mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("ptrace", mode)
    native = run_native([prog])
    assert native[0] == 0, native
    lines = native[1].splitlines()
    for line in EXPECTED:
        assert line in lines, native[1].decode()
    guest = run_cloudos([prog])
    assert guest[1].decode().splitlines() == native[1].decode().splitlines(), guest[2]
    assert guest[0] == native[0], guest


STRACE = "/usr/bin/strace"


@pytest.mark.skipif(not os.access(STRACE, os.X_OK), reason="strace is not installed")
def test_strace(run_cloudos):
    """Debian's strace -f traces /bin/echo inside the guest and shows its write."""
    status, out, err = run_cloudos([STRACE, "-f", "-e", "trace=write", "/bin/echo", "hi"])
    assert status == 0, (out, err)
    assert b"hi\n" in out
    assert re.search(rb'^write\(1, "hi\\n", 3\) += 3$', err, re.M), err.decode()


MEM_EXPECTED = [
    b"child stopped: 1", b"child's value 42, mine 41", b"pwrite: 8", b"child sees 1234",
    b"child exit 0", b"read string: 18 [hello from memory]", b"size 0 mode 100600",
    b"pwrite read-only: 6", b"page now [AFTER!]", b"read at lseek: 8 41",
    b"answer before: 1", b"pwrite code: 6", b"answer after: 7",
    b"read across the edge: 16", b"read unmapped: -1 EIO", b"write unmapped: -1 EIO",
    b"SEEK_END: -1 EINVAL", b"write read-only shared: -1 EIO", b"mmap: -1 ENODEV",
    b"ftruncate: 0 -",
    b"lseek 0x7ffffffff000: 7ffffffff000",
    b"lseek kernel half: ffff800000001000", b"lseek SEEK_CUR: ffff800000002000",
    b"read there: -1 EIO", b"nobody opens root's: -1 EACCES",
]


@pytest.mark.parametrize("mode", LINK_MODES)
def test_proc_mem(mode, guest_bins, run_native, run_cloudos):
    """/proc/<pid>/mem (proc_mem.c): a stopped child's variable read and written, the
    caller's own memory, a read-only page written, EIO, EACCES, lseek anywhere."""
    prog = guest_bins.path("proc_mem", mode)
    native = run_native([prog])
    assert native[0] == 0, native
    lines = native[1].splitlines()
    for line in MEM_EXPECTED:
        assert line in lines, native[1].decode()
    guest = run_cloudos([prog])
    assert (guest[0], guest[1]) == (native[0], native[1]), guest


GDB = "/usr/bin/gdb"
GDB_COMMANDS = ["-batch", "-ex", "break marker", "-ex", "run", "-ex", "print x", "-ex", "bt 1",
                "-ex", "continue", "-ex", "print x", "-ex", "delete", "-ex", "continue"]
BREAKPOINTS = """
#include <stdio.h>
static int total;
__attribute__((noinline)) void marker(int x) { total += x; }
int main(void) { for (int i = 1; i <= 3; i++) marker(i * 10); printf("total %d\\n", total); }
"""


# The one warning gdb may print on a host: a container that refuses personality(2).
HOST_WARNING = b"warning: Error disabling address space randomization"


def _gdb_lines(out: bytes) -> list[bytes]:
    """gdb's report, without the host's warning and with the inferior's pid left out
    (any other warning, such as "opening /proc/PID/mem file ... failed", stays in)."""
    return [re.sub(rb"process \d+", b"process N", line) for line in out.splitlines()
            if line.strip() and not line.startswith(HOST_WARNING)]


@pytest.mark.skipif(not os.access(GDB, os.X_OK), reason="gdb is not installed")
@pytest.mark.parametrize("link", [["-static"], ["-pie"]], ids=["static", "dynamic-pie"])
def test_gdb_breakpoints(link, run_native, run_cloudos, tmp_path):
    """Debian's gdb -batch inside the guest: a breakpoint hit twice, its argument
    printed, a backtrace, then the program run to its end, as gdb reports it on Linux.
    (A PIE program's breakpoint is put at its load address, which gdb learns from
    AT_ENTRY in /proc/<pid>/auxv: without it, "Cannot insert breakpoint 1".)"""
    source = tmp_path / "bp.c"
    source.write_text(BREAKPOINTS)
    program = tmp_path / "bp"
    subprocess.run(["gcc", *link, "-g", "-O0", "-o", str(program), str(source)], check=True)
    argv = [GDB, *GDB_COMMANDS, str(program)]
    native = run_native(argv)
    lines = _gdb_lines(native[1] + native[2])
    assert b"$2 = 20" in lines and b"total 60" in lines, lines
    status, out, err = run_cloudos(argv, extra_args=["--mount", str(tmp_path)])
    assert status == native[0], err.decode()
    assert _gdb_lines(out + err) == lines, (out + err).decode()
    assert b"warning" not in out + err, (out + err).decode()
