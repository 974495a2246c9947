"""Differences from Linux found by the compatibility sweep (bench/compat_sweep.py): each
section of tests/guest/compat.c is one, with the calls around it.

The program runs natively and under ``cloudos run`` in both link modes; stdout and the
exit status must be identical, after the native run is checked for the lines that show
it exercised what the section is about. The sections that make files run in the guest's
/tmp (a tmpfs) and in a host directory shown with ``--mount DIR:rw`` (hostfs).
"""

from __future__ import annotations

import shutil

import pytest

from tests.guest.sections import native_then_cloudos

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

LINK_MODES = ["static", "static-pie"]

# Lines each section's native run must print (guards against vacuous comparisons).
SECTIONS = {
    # mkdir ., ln -s x ., mv . x: coreutils printed "Invalid argument" (was EINVAL)
    "dot_names": [b"mkdir .: -1 EEXIST", b"symlink x sub/..: -1 EEXIST",
                  b"rename f .: -1 EBUSY", b"renameat2 noreplace f ..: -1 EEXIST",
                  b"unlink sub/..: -1 EISDIR", b"rmdir /: -1 EBUSY",
                  b"open O_CREAT|O_EXCL ..: -1 EEXIST", b"bind .: -1 EADDRINUSE",
                  b"still there: sub: 0", b"test directory removed: 0"],
    # echo x | sort /dev/stdin: ENOENT (was: the link to /proc/self/fd/0 not followed)
    "stdin_pipe": [b"stat /dev/stdin: 0", b"access /dev/stdin R_OK: 0", b"open /dev/stdin: 1",
                   b"  [through]", b"  [ the pipe]"],
    # tar x of a symbolic link, os.chmod(follow_symlinks=False): ELOOP (was)
    "opath_link": [b"open O_PATH|O_NOFOLLOW link: 1", b"  a link: 1, size 1", b"  [d]",
                   b"fchmodat link AT_SYMLINK_NOFOLLOW: -1 EOPNOTSUPP",
                   b"test directory removed: 0"],
    # ps showed /bin/sh as "dash" (was: the name of the file the path led to)
    "comm": [b"  PR_GET_NAME [a-renamed-progr] comm [a-renamed-progr]",
             b"  PR_GET_NAME [the-script] comm [the-script]", b"test directory removed: 0"],
    # prlimit --pid PID: "No such process" (was: the caller's own limits only)
    "prlimit_other": [b"prlimit(child) set 64 128: 0", b"  the child sees NOFILE 64 128",
                      b"prlimit(999999): -1 ESRCH", b"parent's own unchanged: 1"],
    # fallocate -l 64K f in a --mount'ed directory: EOPNOTSUPP (was: tmpfs only)
    "fallocate_modes": [b"fallocate 0..64K: 0", b"  size 65536", b"  [a00def]",
                        b"posix_fallocate to 100000: 0", b"  size 100000",
                        b"fallocate read-only fd: -1 EBADF"],
    # ionice -c3 CMD: "ioprio_set failed: Function not implemented" (was ENOSYS)
    "ioprio": [b"set own IDLE: 0", b"get own (IDLE): 24576", b"the forked child's: 24576",
               b"set class 5: -1 EINVAL", b"set pid 999999: -1 ESRCH",
               b"get own process group: 1"],
    # cmake -S src -B build hung in its first compiler check (was: an EINTR cleared the sets)
    "select_sets": [b"pselect, a handler runs (SA_RESTART): -1 EINTR",
                    b"  the set kept: data 1 idle 1", b"pselect again with that set: 1",
                    b"  ready: data 1 idle 0", b"select, nothing comes: 0",
                    b"  the set cleared: idle 0", b"select with a closed fd: -1 EBADF",
                    b"  the sets kept: 1 1 1"],
    # ipcs listed no segment (was: shmctl IPC_INFO and SHM_INFO EINVAL)
    "shm_info": [b"shmget: 1", b"IPC_INFO: the highest slot in use, ours or above: 1",
                 b"  shmmin 1; shmmax, shmmni, shmall as in /proc/sys/kernel: 1 1 1; "
                 b"shmseg = shmmni: 1", b"SHM_INFO: the same slot: 1",
                 b"  used_ids >= 1: 1, shm_tot >= 4 pages: 1",
                 b"SHM_STAT over the slots finds ours, size 12289",
                 b"SHM_STAT past the highest slot: -1 EINVAL", b"SHM_INFO to NULL: -1 EFAULT",
                 b"IPC_RMID: 0"],
}
ON_HOSTFS = ["dot_names", "opath_link", "fallocate_modes"]


def _compare(prog, args, run_native, run_cloudos, extra_args=()):
    native_then_cloudos(prog, args, SECTIONS[args[0]], run_native, run_cloudos, extra_args)


@pytest.mark.parametrize("mode", LINK_MODES)
@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, mode, guest_bins, run_native, run_cloudos):
    """One section in /tmp, native first, then the same under CloudOS."""
    _compare(guest_bins.path("compat", mode), [section], run_native, run_cloudos)


@pytest.mark.parametrize("section", ON_HOSTFS)
def test_section_on_a_mounted_host_directory(section, guest_bins, run_native, run_cloudos,
                                             tmp_path):
    """The same in a host directory the guest is shown read-write (--mount DIR:rw)."""
    _compare(guest_bins.path("compat", "static"), [section, str(tmp_path)], run_native,
             run_cloudos, extra_args=["--mount", f"{tmp_path}:rw"])
