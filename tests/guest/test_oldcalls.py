"""Older calls programs still make: utime(2), utimes(2), futimesat(2), ioprio_get(2),
ioprio_set(2) (ionice), syncfs(2), sync_file_range(2), fsync(2)/fdatasync(2) of each kind
of file (EINVAL where the file has nothing to sync, as Linux; CloudOS answered 0), the *at
calls given an absolute path and a bad dirfd (which Linux ignores; CloudOS said EBADF or
ENOTDIR), and execveat(2) (fexecve; /dev/fd/N as a script's name). Each section of
tests/guest/oldcalls.c runs natively and under ``cloudos run``; stdout and the exit status
must be identical, after the native run is checked for the lines that show it exercised
the section. The new calls were ENOSYS before (ionice failed: "ioprio_set failed: Function
not implemented")."""

from __future__ import annotations

import shutil

import pytest

from tests.guest.sections import native_then_cloudos

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

SECTIONS = {
    "utimes": [b"after utime: atime 1000000000.000000000 mtime 1234567890.000000000",
               b"after utime(NULL): both within 5 s of now: 1",
               b"utime(f, bad times): -1 EFAULT",
               b"after utimes: atime 1100000000.250000000 mtime 1200000000.999999000",
               b"utimes(f, usec 1000000): -1 EINVAL", b"utimes(NULL path): -1 EFAULT",
               b"after futimesat: atime 1300000000.000001000 mtime 1400000000.000002000",
               b"after futimesat on the fd: atime 1500000000.000003000 "
               b"mtime 1600000000.000004000",
               b"futimesat(AT_FDCWD, NULL): -1 EFAULT", b"futimesat(99, f): -1 EBADF",
               b"as another user: utimes(f, times): -1 EPERM",
               b"as another user: utimes(f, NULL) on a writable file: 0",
               b"as another user: utime(f, NULL) on a read-only file: -1 EACCES"],
    "ioprio": [b"get(process, 0): class 2 data 7", b"get after idle: class 3 data 0",
               b"get after best-effort 8 (level 0, a hint): class 2 data 8",
               b"get after bit 16: class 2 data 4", b"set(none, 1): -1 EINVAL",
               b"set(class 5): -1 EINVAL", b"get(process, 999999): -1 ESRCH",
               b"get after realtime: class 1 data 0", b"child inherits: class 2 data 3",
               b"parent: get(pgrp 0), best of the group: class 2 data 3",
               b"child after its parent set it: class 2 data 1",
               b"child as another user: set(parent): -1 EPERM",
               b"get after pgrp set: class 2 data 5", b"set(user 54321): -1 ESRCH",
               b"after exec: class 2 data 5", b"section child exited with 0"],
    "fsync": [b"pipe read end: fsync: -1 EINVAL", b"pipe write end: fdatasync: -1 EINVAL",
              b"socket: fsync: -1 EINVAL", b"/dev/null: fsync: -1 EINVAL",
              b"/dev/zero: fdatasync: -1 EINVAL", b"eventfd: fsync: -1 EINVAL",
              b"directory /: fsync: 0", b"regular file, read-only: fdatasync: 0",
              b"O_PATH: fsync: -1 EBADF", b"memfd: fsync: 0", b"closed fd: fsync: -1 EBADF",
              b"pipe: syncfs: 0", b"pipe: sync_file_range: -1 ESPIPE",
              b"directory: sync_file_range: 0", b"O_PATH: syncfs: -1 EBADF",
              b"sync_file_range(flags 8): -1 EINVAL", b"sync_file_range(overflow): -1 EINVAL",
              b"sync_file_range(closed fd, flags 8): -1 EBADF",
              b"sync_file_range(pipe, flags 8): -1 EINVAL"],
    "at": [b"-- dirfd: closed fd", b"-- dirfd: a file's fd", b"fstatat: 0", b"mkdirat: 0",
           b"readlinkat (11 bytes): 0", b"unlinkat b (a directory): 0",
           b"relative name: openat: -1 EBADF", b"relative name: openat: -1 ENOTDIR"],
    "execveat": [b"close-on-exec fd, AT_EMPTY_PATH: ran, comm [oldcalls.static]",
                 b"fd, empty path, no flag: -1 ENOENT", b"bad flags: -1 EINVAL",
                 b"closed fd, relative name: -1 EBADF",
                 b"a file's fd, relative name: -1 ENOTDIR",
                 b"symbolic link, AT_SYMLINK_NOFOLLOW: -1 ELOOP",
                 b"a pipe's fd, AT_EMPTY_PATH: -1 EACCES",
                 b"script: $0 is [/dev/fd/6], comm [dash]",
                 b"script by a close-on-exec fd: -1 ENOENT"],
}


@pytest.mark.parametrize("mode", ["static", "static-pie"])
@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, mode, guest_bins, run_native, run_cloudos):
    native_then_cloudos(guest_bins.path("oldcalls", mode), [section], SECTIONS[section],
                        run_native, run_cloudos)
