"""readahead(2), sendmmsg(2) and recvmmsg(2), which were ENOSYS: each section of
tests/guest/mmsg.c runs natively and under ``cloudos run``; stdout and the exit status
must be identical, after the native run is checked for the lines that show it exercised
the section (readahead of each kind of file; batches on AF_UNIX datagram and stream
socketpairs and UDP on the loopback: MSG_WAITFORONE, MSG_DONTWAIT with nothing queued,
timeouts, partial batches, vlen 0 and past UIO_MAXIOV, a signal between two messages,
bad pointers, signals while a batch is under way)."""

from __future__ import annotations

import shutil

import pytest

from tests.guest.sections import native_then_cloudos

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

SECTIONS = {
    "readahead": [b"file: readahead(0, 4096): 0", b"file: readahead(count SIZE_MAX): -1 EINVAL",
                  b"file O_WRONLY: readahead: -1 EBADF", b"file O_PATH: readahead: -1 EBADF",
                  b"pipe read end: readahead: -1 EINVAL",
                  b"pipe write end: readahead: -1 EBADF", b"directory: readahead: -1 EINVAL",
                  b"socket: readahead: -1 EINVAL", b"/dev/null: readahead: -1 EINVAL",
                  b"memfd: readahead: 0", b"closed fd: readahead: -1 EBADF"],
    "dgram": [b"sendmmsg(3): 3", b"recvmmsg(5, MSG_DONTWAIT): 3", b"  [2] msg_len 7 data [three33]",
              b"recvmmsg(nothing queued, MSG_DONTWAIT): -1 EAGAIN",
              b"recvmmsg(4, MSG_WAITFORONE) of 2: 2", b"recvmmsg(3, timeout 0): 1",
              b"  timeout left 0.000000000", b"recvmmsg(3, timeout 5 s) of 2: 2",
              b"  timeout left in (4 s, 5 s]: 1", b"sendmmsg(vlen 0): 0", b"recvmmsg(vlen 0): 0",
              b"recvmmsg(3), each sent 0.1 s apart: 3"],
    "stream": [b"recvmmsg(3 of 4 bytes, MSG_DONTWAIT) of 6 bytes: 2",
               b"sendmmsg(1500 empty entries): 1024",
               b"recvmmsg(3), a signal after the first: 1",
               b"recvmmsg(1100) at the end of the stream: 1100",
               b"sendmmsg(to a closed peer, MSG_NOSIGNAL): -1 EPIPE"],
    "inet": [b"sendmmsg(3 addressed): 3", b"recvmmsg(4, MSG_WAITFORONE) of 3: 3",
             b"  [2] namelen 16 from the sender 1",
             b"recvmmsg(nothing queued, MSG_DONTWAIT): -1 EAGAIN",
             b"recvmmsg(5, MSG_DONTWAIT) of 2: 2", b"recvmmsg(2, timeout 0): 1"],
    "errors": [b"sendmmsg(pipe): -1 ENOTSOCK", b"sendmmsg(closed fd, bad vector): -1 EBADF",
               b"sendmmsg(bad vector): -1 EFAULT", b"recvmmsg(closed fd, vlen 0): -1 EBADF",
               b"recvmmsg(tv_nsec 1e9): -1 EINVAL", b"recvmmsg(bad timeout): -1 EFAULT",
               b"sendmmsg(second buffer bad): 1", b"sendmmsg(second entry unmapped): 1",
               b"recvmmsg(second entry unmapped): 1", b"sendmmsg(entry read-only): -1 EFAULT",
               b"recvmmsg(read-only timeout): -1 EFAULT"],
    # (a handler that ran between two runs of the call left the batch waiting on)
    "midbatch": [b"sendmmsg(200) under a 1 ms timer: 200, 200 bytes came in order 1",
                 b"recvmmsg(200) under it: 200, in order 1",
                 b"recvmmsg(201) of 200 queued, one signal 5 ms in: 200", b"  within 1 s: 1"],
}


@pytest.mark.parametrize("mode", ["static", "static-pie"])
@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, mode, guest_bins, run_native, run_cloudos):
    native_then_cloudos(guest_bins.path("mmsg", mode), [section], SECTIONS[section],
                        run_native, run_cloudos)
