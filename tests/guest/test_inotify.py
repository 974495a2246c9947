"""inotify and dnotify as Linux does them: each section of tests/guest/inotify.c runs natively
and under ``cloudos run`` in both link modes; stdout and the exit status must be identical,
after the native run is checked for the lines that show it exercised what the section is
about (the events printed are the kernel's: wd, mask names, the order cookies came in,
names and their padded lengths).
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
    "basic": [b"  wd=1 CREATE name=f len=16", b"  wd=1 CLOSE_WRITE name=f len=16",
              b"  wd=1 ACCESS name=f len=16", b"  wd=1 CLOSE_NOWRITE name=f len=16",
              b"  wd=1 ATTRIB name=f len=16", b"  wd=1 CREATE ISDIR name=sub len=16",
              b"  wd=1 OPEN ISDIR", b"  wd=1 ACCESS ISDIR", b"  wd=1 DELETE name=f len=16",
              b"  wd=1 DELETE ISDIR name=sub len=16", b"events: 0"],
    "self": [b"file wd: 1", b"  wd=1 OPEN", b"  wd=1 MODIFY", b"  wd=1 ATTRIB",
             b"  wd=2 OPEN name=f len=16", b"  wd=2 ATTRIB ISDIR"],
    "moves": [b"  wd=1 MOVED_FROM cookie#1 name=x len=16",
              b"  wd=2 MOVED_TO cookie#1 name=x2 len=16", b"  wd=3 MOVE_SELF",
              b"  wd=1 MOVED_TO cookie#2 name=y2 len=16", b"  wd=4 DELETE_SELF",
              b"  wd=4 IGNORED", b"  wd=2 MOVED_TO ISDIR cookie#4 name=sub len=16",
              b"  wd=2 MOVED_FROM cookie#6 name=z len=16",
              b"  wd=1 MOVED_TO cookie#6 name=y3 len=16"],
    "wd_reuse": [b"same wd for the same directory: 1 1", b"through a symlink: same 1",
                 b"another instance's first wd: 1", b"wd after rm_watch is new: 1"],
    "oneshot": [b"  wd=1 MODIFY", b"  wd=1 IGNORED", b"rm_watch of the one-shot's wd: -1 EINVAL"],
    "mask_add": [b"IN_MASK_ADD IN_DELETE: 1", b"IN_MASK_CREATE on a watched dir: -1 EEXIST",
                 b"IN_MASK_CREATE|IN_MASK_ADD: -1 EINVAL"],
    "rm_watch": [b"rm_watch: 0", b"  wd=1 IGNORED", b"rm_watch again: -1 EINVAL",
                 b"rm_watch on a pipe: -1 EINVAL", b"rm_watch on a bad fd: -1 EBADF",
                 b"events after rm_watch: 0"],
    "delete_self": [b"  wd=2 DELETE_SELF", b"  wd=1 DELETE ISDIR name=s len=16",
                    b"  wd=3 ATTRIB", b"  wd=1 DELETE_SELF",
                    b"rm_watch of the deleted dir's wd: -1 EINVAL", b"  wd=4 CLOSE_NOWRITE"],
    "nonblock": [b"read empty, IN_NONBLOCK: -1 EAGAIN", b"F_GETFD with IN_CLOEXEC: 1",
                 b"blocking read woken by a child: 32 late", b"blocking read, a signal: -1 EINTR"],
    "small_buf": [b"read 0 bytes: -1 EINVAL", b"read 35 bytes: -1 EINVAL",
                  b"read 48 bytes: 48", b"len 32 name a-rather-long-name",
                  b"read room for one and a half: 32", b"bad buffer, events queued: -1 EFAULT"],
    "fionread": [b"FIONREAD empty: 0", b"FIONREAD two events: 80", b"FIONREAD after: 0"],
    "readiness": [b"poll empty: 0", b"poll after an event: 1", b"epoll after an event: 1",
                  b"select: 1", b"poll read out: 0", b"poll waits for a child's event: 1"],
    "coalesce": [b"  wd=1 MODIFY name=g len=16", b"  wd=1 ACCESS name=f len=16"],
    "overflow": [b"max_queued_events: 16384", b"FIONREAD: 524304",
                 b"events 16385, overflows 1, last wd -1 mask 0x4000"],
    "fdinfo": [b"watch wd 2 mask 0x80000fff", b"watch wd 1 mask 0x4000100",
               b"fd link: anon_inode:inotify"],
    "copies": [b"  sent: 5", b"  copied: 5", b"  out of it: 5", b"  wd=1 ACCESS name=f len=16",
               b"  wd=1 MODIFY name=g len=16"],
    "fifo": [b"  wd=1 OPEN name=p len=16", b"  wd=2 MODIFY", b"  wd=2 ACCESS",
             b"  wd=2 CLOSE_WRITE", b"pipe read: 1", b"events: 0"],
    "unmount": [b"mount tmpfs: 0", b"umount: 0", b"  wd=1 UNMOUNT", b"  wd=1 IGNORED",
                b"rm_watch of the unmounted file's wd: -1 EINVAL",
                b"the other watch stays: 0"],
    "errors": [b"inotify_init1(O_RDWR): -1 EINVAL", b"add_watch on a pipe: -1 EINVAL",
               b"add_watch mask 0: -1 EINVAL", b"add_watch missing: -1 ENOENT",
               b"add_watch bad pointer: -1 EFAULT", b"IN_ONLYDIR on a file: -1 ENOTDIR",
               b"IN_ONLYDIR|IN_DONT_FOLLOW on a link to a dir: -1 ENOTDIR",
               b"IN_DONT_FOLLOW watches the link: 1",
               b"add_watch of a file nobody may read: -1 EACCES",
               b"write to an inotify fd: -1 EBADF"],
    "dnotify": [b"F_NOTIFY on a file: -1 ENOTDIR", b"F_NOTIFY DN_MULTISHOT alone: 0",
                b"one-shot: signals 1", b"then none: signals 1",
                b"multishot: signals 2, si_fd is the dir fd 1, si_code POLL_MSG 1",
                b"rename: signals 1", b"chmod, read, rename: signals 4",
                b"after close: signals 0"],
}


@pytest.mark.parametrize("mode", LINK_MODES)
@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, mode, guest_bins, run_native, run_cloudos):
    """One section, native first, then the same under CloudOS."""
    native_then_cloudos(guest_bins.path("inotify", mode), [section], SECTIONS[section],
                        run_native, run_cloudos, skip_if=b"private namespace:")


def test_limits_are_honoured(guest_bins, run_cloudos):
    """CloudOS only (it changes the limits): fs/inotify/max_queued_events (one
    IN_Q_OVERFLOW after that many), max_user_watches (ENOSPC), max_user_instances (EMFILE),
    and what a closed instance held is free again."""
    status, out, err = run_cloudos([guest_bins.path("inotify", "static"), "limits"])
    assert status == 0, err.decode()
    assert out.decode().splitlines() == [
        "== limits", "max_queued_events 4: 0",
        *(f"  wd=1 CREATE name={i} len=16" for i in range(4)), "  wd=-1 Q_OVERFLOW",
        "max_user_watches 2: 0", "a second watch: 2", "a third: -1 ENOSPC",
        "the first again (not a new one): 1",
        "after the instance closed, its watches are free: 1",
        "max_user_instances 2: 0", "a second instance: 1", "a third: -1 EMFILE",
        "after one closed: 1"], err.decode()
