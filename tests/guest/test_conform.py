"""Differences from Linux found by running CPython 3.11's own regression tests (Lib/test)
under CloudOS: each section of tests/guest/conform.c is one, with the calls around it.

The program runs natively and under ``cloudos run`` in both link modes; stdout and the
exit status must be identical, after the native run is checked for the lines that show
it exercised what the section is about.
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
    "sched": [b"getaffinity(-1, 4): -1 EINVAL", b"getaffinity(-1, 8): -1 ESRCH",
              b"getaffinity(999999, 1): -1 EINVAL",
              b"setaffinity(999999, bad mask): -1 EFAULT",
              b"rr_get_interval(0): 0, under a second: 1",
              b"rr_get_interval(-1): -1 EINVAL", b"rr_get_interval(0, bad): -1 EFAULT"],
    "itimer": [b"  interval 0.050000, value in (0.19, 0.204]: 1", b"  signals while asleep: 0",
               b"  3 signals while computing: 1", b"child's ITIMER_PROF: 0 0",
               b"parent's ITIMER_PROF still set: 1", b"setitimer 3: -1 EINVAL",
               b"getitimer bad address: -1 EFAULT"],
    "creat_dir": [b"O_CREAT nx/: -1 EISDIR", b"nx made: 0", b"O_CREAT f/: -1 EISDIR",
                  b"O_CREAT|O_RDONLY d: -1 EISDIR", b"O_CREAT|O_EXCL d: -1 EEXIST",
                  b"O_CREAT|O_RDONLY ld (a link to d): -1 EISDIR",
                  b"O_CREAT missing/x/: -1 ENOENT", b"O_CREAT d/g: 1",
                  b"test directory removed: 0"],
    "tty_seek": [b"/dev/tty seekable: 0", b"lseek pty slave: -1 ESPIPE",
                 b"lseek pty slave whence 9: -1 EINVAL", b"lseek pipe whence 9: -1 EINVAL",
                 b"lseek closed fd whence 9: -1 EBADF", b"lseek /dev/null 10, SEEK_SET: 0",
                 b"lseek /dev/zero 5, SEEK_CUR: 0", b"lseek /dev/urandom 10, SEEK_SET: 0"],
    "cpu_clocks": [b"own thread clock: err 0, above 0.05: 1",
                   b"other thread's clock: err 0, above 0: 1",
                   b"joined thread's clock: EINVAL", b"which 3: EINVAL",
                   b"process 999999: EINVAL", b"  resolution 0.000000001",
                   b"child's process clock: readable",
                   b"child's thread clock (another process): EINVAL"],
    "tcflow": [b"tcsendbreak(slave, 1): 0", b"TCSBRKP 0: 0", b"tcflow(slave, TCOOFF): 0",
               b"slave write while off: -1 EAGAIN", b"slave POLLOUT while off: 0",
               b"master reads 1: 62", b"master reads 1: 13", b"slave reads 1: 11",
               b"master write while off: -1 EAGAIN", b"tcflow(slave, 4): -1 EINVAL",
               b"tcflow(/dev/null): -1 ENOTTY"],
    "proc_dir_pidfd": [b"pidfd_send_signal(/proc/self, SIGUSR1): 0", b"SIGUSR1 handled: 1",
                       b"waitid(P_PIDFD, /proc/self): -1 EBADF",
                       b"pidfd_send_signal(/proc/self/task/TID): -1 EBADF",
                       b"child killed by signal 15",
                       b"pidfd_send_signal(/proc/CHILD) after reaping: -1 ESRCH"],
    "stream_peek": [b"peek empty nonblock: -1 EAGAIN", b"peek 64: 11 [hello world]",
                    b"recv 3: 3 [hel]", b"recvmsg peek 4: 4 [lo w] flags 0",
                    b"recv OOB: -1 EINVAL", b"blocking peek: 3 [abc]",
                    b"recvmsg peek again: 2 [Fd], fd passed: 1, its first byte: /",
                    b"recvmsg after: 4 [tail], fd passed: 0, its first byte: -",
                    b"peek at the end: 0"],
    "stream_waitall": [b"waitall|dontwait, empty: -1 EAGAIN",
                       b"waitall 10 over three writes: 10 [abcdefghij]",
                       b"waitall 20, files on the way: 4 [klFD]",
                       b"waitall 20, then the end: 8 [afterxyz]",
                       b"recvmsg waitall 10: 4 [1234], fd passed: 1, its first byte: /",
                       b"waitall 10, a signal after 3: 3 [abc]",
                       b"waitall 10, a signal before any: -1 EINTR"],
    "statfs_flags": [b"/: 0, ST_VALID in f_flags: 1, 0x20 in statvfs f_flag: 0",
                     b"/proc: 0, ST_VALID in f_flags: 1, 0x20 in statvfs f_flag: 0"],
}


@pytest.mark.parametrize("mode", LINK_MODES)
@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, mode, guest_bins, run_native, run_cloudos):
    """One section, native first, then the same under CloudOS."""
    native_then_cloudos(guest_bins.path("conform", mode), [section], SECTIONS[section],
                        run_native, run_cloudos)


@pytest.mark.parametrize("mode", LINK_MODES)
def test_dev_tty_without_terminal(mode, guest_bins, run_native, run_cloudos):
    """/dev/tty with no controlling terminal: natively the run leaves the session of
    whatever terminal pytest has (setsid -w); CloudOS's runs have none on stdin."""
    if shutil.which("setsid") is None:
        pytest.skip("setsid(1) not found")
    native_then_cloudos(guest_bins.path("conform", mode), ["dev_tty"],
                        [b"open /dev/tty: -1 ENXIO", b"in a new session: ENXIO"],
                        lambda argv: run_native(["setsid", "-w", *argv]), run_cloudos)
