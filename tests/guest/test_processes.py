"""End-to-end tests of processes and threads: fork/wait, a process tree, execve,
copy-on-write, pthreads, orphans, RLIMIT_NPROC, bad arguments, pidfds, clone3 and
the newer calls (openat2, epoll_pwait2, membarrier, futex_waitv).

Each guest program runs natively and under ``cloudos run`` in both link modes
(built by the ``guest_bins`` fixture in tests/conftest.py, with ``-pthread``);
stdout and the exit status must be identical.  The native run is sanity-checked
first so that a broken program cannot make the comparison vacuous.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

LINK_MODES = ["static", "static-pie"]

by_mode = pytest.mark.parametrize("mode", LINK_MODES)


def _assert_same(native, guest) -> None:
    n_status, n_out, _ = native
    g_status, g_out, g_err = guest
    detail = f"cloudos stderr:\n{g_err.decode(errors='replace')}"
    assert b"Traceback" not in g_err, detail
    assert g_out == n_out, detail
    assert g_status == n_status, detail


# Lines the native run of each program must print (guards against vacuous comparisons).
EXPECTED_LINES = {
    "fork_wait": [
        b"child 4: exited 255",
        b"child 0: exited 0",
        b"sigkill child: killed by signal 9",
        b"abort child: killed by signal 6",
        b"WNOHANG while running: 0",
        b"WNOHANG after exit returns the pid: yes",
        b"slow child: exited 5",
        b"wait4 rusage filled: yes",
        b"waitid: 0 si_signo=SIGCHLD si_pid==child: yes si_code=CLD_EXITED si_status=17",
        b"waitid killed: 0 si_pid==child: yes si_code=CLD_KILLED si_status=9",
        b"wait with no children: -1 ECHILD",
    ],
    "fork_tree": [b"tree of 50 processes: sum of (depth+1) = 243 (expected 243) ok"],
    "fork_copies": [b"fork rounds: 6, with a wrong view: 0"],
    "fork_shared_many": [b"child's writes seen: 200 of 200 alone, 100 of 100 between private pages",
                         b"private page still the parent's: yes"],
    "bss_brk": [b"bss reads zero: yes", b"bss keeps a write: yes",
                b"brk memory reads zero: yes, after shrinking and growing back: yes"],
    "cow": [
        b"child: sees heap pattern: yes",
        b"child: sees global pattern: yes",
        b"parent: heap buffer unchanged: ok",
        b"parent: global array unchanged: ok",
        b"parent: scalars unchanged: ok",
    ],
    "vfork": [
        b"child wrote the global: 42, the parent's local: 43",
        b"child exited 7",
        b"after vfork the child had finished: yes",
        b"vfork+exec of /bin/true: exited 0",
        b"vfork+failed exec: exited 127, child wrote 127",
        b"signal during vfork: handled after the child ended: yes",
        b"child exited 3",
    ],
    "threads_ended": [
        b"rusage counts the ended threads: 1", b"process clock counts them: 1",
        b"tasks after the joins: 1", b"tasks after 300 more: 1",
    ],
    # a private futex in MAP_SHARED memory is the process's own (before: the other
    # process's private wake woke it, which Linux never does)
    "futex_keys": [
        b"shared: child's wait: woken",
        b"shared: parent's wakes found a waiter: yes",
        b"private: child's wait: ETIMEDOUT",
        b"private: parent's wakes found a waiter: no",
    ],
    "pthreads": [
        b"counter: 160000 (expected 160000)",
        b"join return values: ok",
        b"ping-pong rounds: 1000 and 1000, final turn 0",
        b"pthread_exit value: 4242",
        b"detached thread ran: yes",
    ],
    "orphan": [b"top: start", b"grandchild: reparented: yes"],
    "stale_maps": [
        b"read after munmap: -1",
        b"write after mprotect(PROT_READ): -1, reads X",
        b"read after mprotect(PROT_NONE): -1",
        b"write after mprotect back: 0, reads Z",
        b"MAP_FIXED over a page reads: 0",
        b"MADV_DONTNEED page reads: 0",
        b"after read() into it: NEW contents",
        b"scattered munmap: 64 faults, 64 pages kept",
        b"fresh region: byte 9, sum of the rest 0",
    ],
    "bad_input": [
        b"futex WAIT on an unmapped address: -1 EFAULT",
        b"futex WAIT on a misaligned address: -1 EINVAL",
        b"wait4 with bad options: -1 EINVAL",
        b"kill with signal 99: -1 EINVAL",
        b"kill of a nonexistent pid: -1 ESRCH",
        b"clone CLONE_THREAD without CLONE_SIGHAND: -1 EINVAL",
        b"sched_setscheduler with a bad policy: -1 EINVAL",
        b"sched_getaffinity with size 1: -1 EINVAL",
    ],
}


@by_mode
@pytest.mark.parametrize("name", sorted(EXPECTED_LINES))
def test_same_output(name, mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path(name, mode)
    native = run_native([prog])
    assert native[0] == 0, native
    lines = native[1].splitlines()
    for line in EXPECTED_LINES[name]:
        assert line in lines, native[1].decode()
    _assert_same(native, run_cloudos([prog]))


def test_signal_handlers_keep_the_avx_state(guest_bins, run_native, run_cloudos, guest_backend):
    """A handler using AVX starts with YMM clear and leaves the interrupted code's YMM
    registers whole, upper halves too, as on Linux (KVM: the whole XSAVE area is kept)."""
    if guest_backend != "kvm":
        pytest.skip("Unicorn has no AVX (its CPUID does not offer it)")
    prog = guest_bins.path("avx_signal", "static")
    native = run_native([prog])
    if native[1] == b"no AVX\n":
        pytest.skip("the host has no AVX")
    assert native[0] == 0 and native[1].splitlines() == [
        b"handler ran: yes", b"handler starts with ymm0 clear: yes", b"lower half kept: yes",
        b"upper half kept: yes"], native
    _assert_same(native, run_cloudos([prog]))


@by_mode
def test_exec(mode, guest_bins, run_native, run_cloudos, tmp_path: Path):
    not_elf = tmp_path / "not-an-elf"
    not_elf.write_bytes(b"this is not an ELF file\n")
    not_elf.chmod(0o755)
    argv = [guest_bins.path("exec_parent", mode), guest_bins.path("exec_child", mode), not_elf]
    native = run_native(argv)
    assert native[0] == 0, native
    assert native[1] == (
        b"parent: forking\n"
        b"exec_child: argc=5\n"
        b"exec_child: argv[0]=[custom-name]\n"
        b"exec_child: argv[1]=[alpha]\n"
        b"exec_child: argv[2]=[with space]\n"
        b"exec_child: argv[3]=[]\n"
        b"exec_child: argv[4]=[last]\n"
        b"exec_child: env [FOO=bar]\n"
        b"exec_child: env [EMPTY=]\n"
        b"exec_child: env [SPACED=a b  c]\n"
        b"exec_child: env [PATH=/nowhere]\n"
        b"parent: child exited 3\n"
        b"execve nonexistent: -1 ENOENT\n"
        b"execve non-ELF: -1 ENOEXEC\n"
    ), native[1].decode()
    _assert_same(native, run_cloudos(argv))


def test_exec_of_a_rewritten_file(guest_bins, run_native, run_cloudos):
    """An exec of a file changed since its last exec (rewritten in place with the same
    size and inode, grown, renamed over) runs its new bytes, and a private mapping made
    after a rewrite shows them: what execve and mmap keep of the files they read (their
    bytes, headers, page-cache runs) is never stale."""
    prog = guest_bins.path("exec_rewrite", "static-pie")
    native = run_native([prog])
    assert native[0] == 0, native
    lines = native[1].splitlines()
    for line in (b"running EXEC-REWRITE-MARK:A", b"same inode 1, same size 1",
                 b"running EXEC-REWRITE-MARK:B", b"running EXEC-REWRITE-MARK:C",
                 b"new inode 1", b"running EXEC-REWRITE-MARK:D", b"exec after rename: exit 0",
                 b"mapped: E", b"mapped after rewrite: F", b"running EXEC-REWRITE-MARK:F"):
        assert line in lines, native[1].decode()
    assert lines.count(b"running EXEC-REWRITE-MARK:B") == 2, native[1].decode()
    _assert_same(native, run_cloudos([prog]))


@by_mode
def test_nproc_limit(mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path("nproc_limit", mode)
    native = run_native([prog])
    if b"not root: cannot setuid" in native[1]:
        pytest.skip("RLIMIT_NPROC needs a setuid() to an unused uid: the host run is not root")
    assert native[0] == 0, native
    assert b"fork failed with EAGAIN\n" in native[1], native[1].decode()
    assert b"children killed and reaped: yes\n" in native[1], native[1].decode()
    _assert_same(native, run_cloudos([prog]))


# --- pidfds, clone3, and the newer calls: programs in sections -------------------------------

# Lines each section's native run must print (a broken program cannot compare vacuously).
# One link mode: tests/guest/pthreads.c runs clone3 in both (glibc makes threads with it).
NEWER_CALLS = {
    ("pidfd", "pidfd"): [
        b"pidfd_open self: ok, close-on-exec 1", b"fdinfo's Pid is the process's: 1",
        b"waitid P_PIDFD of a pipe: -1 EBADF",
        b"child readable once killed: 1", b"waitid P_PIDFD after the kill: 0 CLD_KILLED status 15",
        b"pidfd_send_signal once reaped: -1 ESRCH",
        b"waitid nonblocking pidfd of a running child: -1 EAGAIN",
        b"pidfd_send_signal SIGKILL to a zombie: 0",
        b"waitid nonblocking pidfd once it exited: 0 CLD_EXITED status 7"],
    ("pidfd", "getfd"): [b"read through the copy: 5 'hello'",
                         b"pidfd_getfd once reaped: -1 ESRCH"],
    ("pidfd", "clone"): [b"clone3 with an unknown nonzero byte: -1 E2BIG",
                         b"clone3 CLONE_PIDFD: ok, pidfd set, close-on-exec 1",
                         b"clone CLONE_PIDFD: ok, pidfd set",
                         b"clone CLONE_PIDFD with CLONE_PARENT_SETTID: -1 EINVAL",
                         b"clone3 CLONE_CLEAR_SIGHAND: handler reset 1, ignored kept 1"],
    ("calls2", "open_how"): [b"openat2 an unknown nonzero byte: -1 E2BIG",
                             b"openat2 a mode without O_CREAT: -1 EINVAL",
                             b"openat2 O_CREAT mode 0640: ok, mode 640"],
    ("calls2", "resolve"): [b"NO_SYMLINKS through a link: -1 ELOOP",
                            b"NO_MAGICLINKS /proc/self/exe: -1 ELOOP",
                            b"NO_XDEV into /proc: -1 EXDEV", b"BENEATH ../: -1 EXDEV",
                            b"BENEATH a relative link: ok 'inner'",
                            b"IN_ROOT a link to /f: ok 'inner'"],
    ("calls2", "epoll_pwait2"): [b"epoll_pwait2 20 ms: 0, waited at least 15 ms: 1",
                                 b"epoll_pwait2 no timeout, one ready: 1, data 7"],
    ("calls2", "membarrier"): [b"membarrier PRIVATE_EXPEDITED unregistered: -1 EPERM",
                               b"membarrier GET_REGISTRATIONS: 16"],
    ("calls2", "futex_waitv"): [b"futex_waitv a changed value: -1 EAGAIN",
                                b"futex_waitv until 20 ms from now: -1 ETIMEDOUT",
                                b"futex_waitv woken by a FUTEX_WAKE of the second: wake 1, "
                                b"index 1"],
}


@pytest.mark.parametrize("program,section", list(NEWER_CALLS),
                         ids=[f"{p}-{s}" for p, s in NEWER_CALLS])
def test_newer_calls(program, section, guest_bins, run_native, run_cloudos):
    """One section of a program (argv[1] picks it): native first, then the same under CloudOS."""
    prog = guest_bins.path(program, "static")
    native = run_native([prog, section])
    assert native[0] == 0, native
    lines = native[1].splitlines()
    for line in [f"== {section}".encode(), *NEWER_CALLS[(program, section)]]:
        assert line in lines, native[1].decode()
    _assert_same(native, run_cloudos([prog, section]))


HIGH_UID_SECTIONS = {
    "waitid": [b"si_uid 3000000000 si_status 3 si_code CLD_EXITED 1"],
    "signal": [b"kill from uid 3000000001: si_uid 3000000001 SI_USER 1",
               b"sigqueue from uid 3000000002: si_uid 3000000002 value 42 SI_QUEUE 1",
               b"its si_uid 0xfffffff0 value 7"],
}


@pytest.mark.skipif(os.geteuid() != 0, reason="the native run needs root (setresuid)")
@pytest.mark.parametrize("section", sorted(HIGH_UID_SECTIONS))
def test_user_ids_above_2_31(section, guest_bins, run_native, run_cloudos):
    """uid_t is unsigned: waitid's and a signal's si_uid of a uid above 2^31 (the fuzzer
    found the kernel packing them as signed ints: a panic)."""
    prog = guest_bins.path("high_uid", "static")
    native = run_native([prog, section])
    assert native[0] == 0, native
    for line in [f"== {section}".encode(), *HIGH_UID_SECTIONS[section]]:
        assert line in native[1].splitlines(), native[1].decode()
    _assert_same(native, run_cloudos([prog, section]))
