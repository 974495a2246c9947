"""End-to-end tests of files through the VFS server: file and directory calls, FIFOs and
special files (mknod, O_TMPFILE, SEEK_DATA, fallocate, renameat2), bash process substitution,
fd duplication and flags, pipes, socket pairs, eventfds, timerfds, epoll, shared file
mappings and POSIX shared memory, file locks (fcntl, OFD, flock), close-on-exec,
the host's files read-only and path resolution errors.

Each guest program runs natively and under ``cloudos run`` in both link modes
(built by the ``guest_bins`` fixture in tests/conftest.py); stdout and the exit
status must be identical. The programs work in a fresh directory of their own
under /tmp (inside CloudOS that is the root overlay's tmpfs, so nothing reaches
the host) and print only relative names, errno names and counts. The native
run is sanity-checked first so that a broken program cannot make the comparison
vacuous.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

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


def _check_native(native, expected_lines) -> None:
    status, out, err = native
    assert status == 0, (status, out, err)
    lines = out.splitlines()
    missing = [line for line in expected_lines if line not in lines]
    assert not missing, f"native run lacks {missing!r}:\n{out.decode(errors='replace')}"


# Lines each program's native run must print (guards against vacuous comparisons).
EXPECTED_LINES = {
    "files_badbuf": [
        b"write tail bad: 3996 offset 3996",
        b"write head bad: -1 EFAULT offset 3996",
        b"pwrite tail bad: 10 offset 3996",
        b"read tail bad: 4089 offset 4089",
        b"pread tail bad: 3 offset 4089",
    ],
    "files_basic": [
        b"read 5: 5 [world]",
        b"lseek SEEK_END +100: 112",
        b"fstat after hole: size=113 reg=1 dir=0 lnk=0 nlink=1 mode=0644",
        b"hole is zeros: yes",
        b"after ftruncate 5: size=5 reg=1 dir=0 lnk=0 nlink=1 mode=0644",
        b"content of f: [hel+app]",
        b"O_EXCL on existing: -1 EEXIST",
        b"open missing: -1 ENOENT",
        b"read on write-only fd: -1 EBADF",
        b"rmdir non-empty: -1 ENOTEMPTY",
        b"content of b: [AAA]",
        b"stat b (2 links): size=3 reg=1 dir=0 lnk=0 nlink=2 mode=0644",
        b"readlink s: 1 [b]",
        b"lstat s: size=1 reg=0 dir=0 lnk=1 nlink=1 mode=0777",
        b"mode: 0600",
        b"cwd: sub",
        b"access b W_OK: 0",
        b"access missing F_OK: -1 ENOENT",
        b"test directory removed (stat): -1 ENOENT",
    ],
    "files_copy": [
        b"offset now 20, src position still 11",
        b"dst: [56789afghij]",
        b"the reader got 20 bytes",
        b"first sendfile into an empty pipe: 65536 (offset 65536)",
        b"copy: [abc2345]",
        b"fds 20 21 22 after: -1 -1 -1",
    ],
    "files_vectored": [
        b"pieces: [0 0 104] [ello ve] [ctored world]",
        b"read [vecto], position now 21",
        b"file: [XY........hello vectoXYd world]",
        b"preadv of a pipe: -1 ESPIPE",
        b"writev, second iovec bad: 10",
        b"readv, second iovec bad: 4",
        b"writev of a pipe, second iovec bad: -1 EFAULT",
    ],
    "files_dir": [
        b"readdir dir: 25 entries",
        b"  file19-abcde f",
        b"  sub2 d",
        b"getdents64 dir (64-byte buffer): 25 entries (2 dot, 3 dirs, 20 files), "
        b"more than 2 calls: yes, malformed records: 0",
        b"getdents64 with a 10-byte buffer: -1 EINVAL",
        b"readdir dir: 14 entries",
    ],
    "files_dup": [
        b"file holds 45 bytes: [this line goes to the file (dup2 returned 1)",
        b"F_GETFD 10: 1",
        b"opened 4 5 6",
        b"F_DUPFD 0 with a gap: 5",
        b"F_DUPFD 20: 20",
        b"flags now: O_RDWR|O_APPEND|O_NONBLOCK",
        b"offset after append write: 55",
    ],
    "files_host": [
        b"stat size matches the bytes read: yes",
        b"/ is a directory: yes",
        b"/ lists etc: 1, usr: 1, tmp: 1, more than 5 entries: yes",
        b"relative read from /etc: same length",
    ],
    "files_symloop": [
        b"open a (a->b->a): -1 ELOOP",
        b"open a chain of 45 links: -1 ELOOP",
        b"read through a chain of 30 links: [end of chain]",
        b"open a 300-byte name: -1 ENAMETOOLONG",
        b"open file/x: -1 ENOTDIR",
        b"O_NOFOLLOW on a symlink: -1 ELOOP",
    ],
}


@by_mode
@pytest.mark.parametrize("name", sorted(EXPECTED_LINES))
def test_same_output(name, mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path(name, mode)
    native = run_native([prog])
    _check_native(native, EXPECTED_LINES[name])
    _assert_same(native, run_cloudos([prog]))


# Credentials and file permissions: the programs start as root and drop privileges in
# children, so they compare with Linux only where the tests run as root.
ROOT_ONLY = {
    "creds": [b"after: uid 1000 2000 3000 fsuid 2000 gid 0 0 0 fsgid 0",
              b"after: effective none permitted none", b"getgroups: 3: 5 6 7",
              b"euid 1000: effective none permitted root's",
              b"capget bad version: -1 EINVAL version now 0x20080522"],
    "dac": [b"read a 0600 file: EACCES", b"unlink another's file in a sticky dir: EPERM",
            b"sgid/sub: uid 0 gid 100 mode 2755", b"setuid: uid 1 gid 1 mode 0755",
            b"sticky/mine: uid 65534 gid 65534 mode 0644",
            b"euid 0, real nobody: access R_OK 0600: EACCES", b"test directory removed: yes"],
}


@by_mode
@pytest.mark.parametrize("name", sorted(ROOT_ONLY))
@pytest.mark.skipif(os.geteuid() != 0, reason="the programs drop root's privileges")
def test_credentials_and_permissions(name, mode, guest_bins, run_native, run_cloudos):
    prog = guest_bins.path(name, mode)
    native = run_native([prog])
    _check_native(native, ROOT_ONLY[name])
    _assert_same(native, run_cloudos([prog]))


def _first_line_of_os_release() -> bytes:
    with open("/etc/os-release", "rb") as f:
        return f.readline().rstrip(b"\n")


@by_mode
def test_host_file_matches_python(mode, guest_bins, run_native):
    """The reference itself reads /etc/os-release right (CloudOS is compared to it above)."""
    _, out, _ = run_native([guest_bins.path("files_host", mode)])
    with open("/etc/os-release", "rb") as f:
        data = f.read()
    assert b"first line: [" + _first_line_of_os_release() + b"]" in out.splitlines()
    assert f"total length: {len(data)}".encode() in out.splitlines()


# --- pipes: what each section of files_pipe.c must print (test_section) ---

PIPE_SECTIONS = {
    "bulk": [b"received 10485760 bytes, fnv1a64 85148c4ddc8d0383, pattern mismatches 0",
             b"read after EOF: 0", b"writer: exited 0"],
    "eof": [b"read with data after writer closed: 4", b"then EOF: 0"],
    "sigpipe": [b"writer without a reader: killed by signal 13"],
    "epipe": [b"write without a reader, SIGPIPE ignored: -1 EPIPE",
              b"child writer, SIGPIPE ignored (42 = EPIPE): exited 42"],
    "nonblock": [b"nonblocking read, empty pipe: -1 EAGAIN",
                 b"read after fcntl O_NONBLOCK: -1 EAGAIN",
                 b"filling a nonblocking pipe ends with EAGAIN, holds >= 4096 bytes: yes"],
    "ends": [b"write to the read end: -1 EBADF", b"lseek on a pipe: -1 ESPIPE"],
    "pages": [b"1-byte writes into an empty pipe: 65536",
              b"write 10 (no page free): -1 EAGAIN",
              b"write 4086 more (into the same page): 4086",
              b"then 4096-byte writes: 57344 bytes",
              b"3 pages with 4116 bytes: F_SETPIPE_SZ 8192: -1 EBUSY"],
    "poll": [b"poll empty, timeout 0: 0 revents=", b"poll with data, timeout 0: 1 revents=IN ",
             b"poll both ends: 2"],
    "poll_timeout": [b"poll empty, timeout 50ms: 0 revents= waited>=40ms:yes",
                     b"write after the timed-out poll: 1"],
    "select": [b"select empty, timeout 0: 0 readable=0 writable=0",
               b"select with data, timeout 0: 1 readable=1 writable=0"],
    "select_timeout": [b"select empty, timeout 50ms: 0 readable=0 writable=0 waited>=40ms:yes",
                       b"write after the timed-out select: 1"],
    "many_fds": [b"poll 2501 entries: 1", b"poll 4096 entries (RLIMIT_NOFILE): 1",
                 b"poll 4097 entries: -1 EINVAL", b"select nfds 3001: 1",
                 b"  fd 3000 readable: yes"],
    "hangup": [b"poll read end after writer closed: 1 revents=HUP  waited>=800ms:no",
               b"poll write end after reader closed: 1 revents=OUT ERR  waited>=800ms:no"],
    "wake": [b"poll woken by the child: 1 IN=1", b"late writer: exited 0"],
    "handoff": [b"parked read of 3: 3 [abc]", b"then the rest: 7 [defghij]",
                b"parked readv of 2+4: 6 [01|2345]", b"then the rest: 4 [6789]",
                b"parked reads of 1000, 200000 written at once: 200000 bytes, sum "
                b"a2950bc2512b8d60",
                b"parked read interrupted: -1 EINTR", b"the next read gets the bytes: 3 [xyz]",
                b"a parked read of 65536, then 69999 written: 69999 bytes",
                b"parked reader: exited 0", b"the write of 200000: 200000",
                b"the write of 69999: 69999"],
}


# --- eventfd: what each section of files_eventfd.c must print (test_section) ---

EVENTFD_SECTIONS = {
    "counting": [b"read initial 5: 8 value=5", b"read sums the writes: 8 value=7",
                 b"read after writing 0: -1 EAGAIN"],
    "semaphore": [b"semaphore read: -1 EAGAIN", b"write 2: 8"],
    "errors": [b"read 4 bytes: -1 EINVAL", b"write 0xffffffffffffffff: -1 EINVAL",
               b"eventfd bad flags: -1 EINVAL", b"pread: -1 ESPIPE",
               b"eventfd(2) then read: 8 value=7"],
    "full": [b"write 1 more: -1 EAGAIN", b"poll full: 0x1", b"poll with a count: 0x5"],
    "wake_fork": [b"blocking read woken by the child: 8 value=42", b"waited >= 50ms: yes"],
    "wake_thread": [b"semaphore reads from a thread's 1000 posts: 1000"],
    "blocked_writer": [b"writer still blocked: yes", b"read the blocked write: 8 value=5"],
    "describe": [b"link: anon_inode:[eventfd]", b"FD_CLOEXEC: 1"],
    "vectored": [b"first buffer: 9 second: 0", b"read after writev: 8 value=2"],
}


# --- socket pairs: what each section of files_socketpair.c must print (test_section) ---

SOCKETPAIR_SECTIONS = {
    "both_ways": [b"read on 1: 4 [ping]", b"read on 0: 5 [pong!]", b"S_ISSOCK: 1"],
    "send_recv": [b"recv MSG_DONTWAIT, empty: -1 EAGAIN", b"got [abc]", b"address length: 0",
                  b"send to a non-socket: -1 ENOTSOCK"],
    "nonblock": [b"filling ends with EAGAIN, holds >= 4096: yes"],
    "shut": [b"then EOF: 0 []", b"write on 1 after SHUT_WR: -1 EPIPE",
             b"read on 1 after SHUT_RD: 0 []", b"write 0->1 after peer SHUT_RD: -1 EPIPE"],
    "peer_close": [b"read the data: 4 [last]", b"send MSG_NOSIGNAL: -1 EPIPE",
                   b"writer to a closed peer: killed by signal 13"],
    "parent_child": [b"echo 6 [PARENT]", b"child: exited 0"],
    "kinds": [b"AF_INET: -1 EOPNOTSUPP", b"protocol 6: -1 EPROTONOSUPPORT",
              b"bad pointer: -1 EFAULT", b"the peer is us: 1"],
    "seqpacket": [b"read 1 of a 2-byte message: 1", b"[d]", b"an empty message: 0",
                  b"SO_TYPE 5", b"a message larger than the buffer: -1 EMSGSIZE",
                  b"read after the peer closed: 0", b"send after the peer closed: -1 EPIPE"],
    "dgram": [b"read 100 gets one message: 5", b"SO_TYPE 2",
              b"read after the peer closed: -1 EAGAIN",
              b"send after the peer closed: -1 ECONNREFUSED"],
    "dgram_buffer": [b"1-byte datagrams until EAGAIN: 278", b"193-byte datagrams until EAGAIN: 167",
                     b"200000-byte datagrams until EAGAIN: 2", b"POLLOUT when full: 0",
                     b"of 278, reads until POLLOUT: 209", b"reads back 20000",
                     b"then 1-byte datagrams until EAGAIN: 27", b"SO_SNDBUF 1 reads back 4608",
                     b"one byte more: -1 EMSGSIZE"],
    # (a stream's sender is charged per sk_buff as Linux allocates them: a pipe's 64 KiB
    # flat before, so a large write with nobody reading yet waited for ever)
    "stream_buffer": [b"1-byte stream writes until EAGAIN: 278 bytes",
                      b"65536-byte stream writes until EAGAIN: 233152 bytes",
                      b"POLLOUT when full: 0",
                      b"a blocking write of 150000, no reader yet: 150000",
                      b"reads back 20000", b"child read 1048576 bytes, sum 133693440"],
    # (a pair's messages were received as a stream's bytes: no MSG_TRUNC either way, a
    # peek across messages, MSG_WAITALL waiting for more messages)
    "msgtrunc": [b"SOCK_DGRAM: recvmsg of 11 into 4: 4 flags 0x20",
                 b"SOCK_SEQPACKET: recvmsg of 11 into 4: 4 flags 0x20",
                 b"  recv MSG_TRUNC into 4: 11", b"  recvmsg MSG_TRUNC into 4: 11 flags 0x20",
                 b"  peek with two queued: 3 [abc]", b"  recv MSG_WAITALL: 3 [abc]",
                 b"  recv MSG_OOB: -1 EOPNOTSUPP", b"  FIONREAD with 5 and 2 queued: 7",
                 b"  read of 0 bytes: 0", b"  then: 5 [defgh]",
                 b"  asleep, then 16 into 4: 16 flags 0x20",
                 b"  after the peer closed: 0 flags 0"],
    # (recvmsg zeroed msg_namelen, msg_controllen and msg_flags before it received: a
    # read-only msghdr failed with the message still queued, an EAGAIN changed them;
    # recvfrom zeroed its address length before, and refused a negative one before)
    "msghdr": [b"SOCK_DGRAM", b"SOCK_STREAM",
               b"  nothing queued, MSG_DONTWAIT: -1 EAGAIN namelen 77 controllen 64 flags 0x1234",
               b"  no msg_name: 3 namelen 77 controllen 0 flags 0",
               b"  msg_name, unbound sender: 3 namelen 0 controllen 0 flags 0",
               b"  msg_namelen -1: -1 EINVAL namelen 4294967295 controllen 0 flags 0",
               b"  read-only msghdr, MSG_PEEK: -1 EFAULT", b"  peeked [fou]",
               b"  read-only msghdr: -1 EFAULT", b"  got [fiv]",
               b"  recvfrom, read-only addrlen: -1 EFAULT", b"  recvfrom, addrlen -1: -1 EINVAL"],
}


# --- epoll: what each section of files_epoll.c must print (test_section) ---

EPOLL_SECTIONS = {
    "level": [b"only the write end: 1 [data=11 events=0x4]",
              b"maxevents 2: 2 [data=10 events=0x1] [data=11 events=0x4]",
              b"after mod and del: 1 [data=99 events=0x4]"],
    "timeout": [b"empty, 50 ms: 0", b"waited >= 40ms: yes"],
    "wake": [b"woken by the child: 1 [data=7 events=0x1]", b"waited >= 50ms: yes"],
    "oneshot_edge": [b"second wait: one-shot spent, edge seen: 0",
                     b"new data on the edge pipe: 1 [data=2 events=0x1]"],
    "loops": [b"a in c (a loop): -1 ELOOP", b"a in b (a loop): -1 ELOOP",
              b"a in itself, by a dup: -1 EINVAL", b"upwards chain: 5 instances",
              b"downwards chain: 5 instances", b"y1 in x3 (six deep): -1 ELOOP",
              b"y2 in x3 (five deep): 0", b"the outermost sees the pipe: 1"],
    "exclusive": [b"one write woke 1 of 2 exclusive waiters"],
    "errors": [b"add twice (2): -1 EEXIST", b"add a regular file: -1 EPERM",
               b"wait on a pipe: -1 EINVAL",
               b"mod an exclusive watch: -1 EINVAL", b"EPOLLEXCLUSIVE on an epoll fd: -1 EINVAL"],
}


# --- timerfd: what each section of files_timerfd.c must print (test_section) ---

TIMERFD_SECTIONS = {
    "oneshot": [b"expirations: 1, waited 90..10000 ms: yes", b"disarmed after firing: yes",
                b"read again: -1 EAGAIN"],
    "periodic": [b"expirations in 250 ms at 20 ms: at least 8, at most one per 20 ms: yes",
                 b"interval: 0.020000000, next within 20 ms: yes", b"old interval: 20000000 ns"],
    "absolute": [b"expirations: 1, waited 60..10000 ms: yes", b"read at once: 8"],
    "readiness": [b"revents: 0x1, waited >= 40 ms: yes", b"data: 5 events: 0x1"],
    "errors": [b"clock 99: -1 EINVAL", b"settime on stdin: -1 EINVAL", b"write: -1 EINVAL"],
}


# --- close-on-exec across fork and execve ----------------------------------------------


@by_mode
def test_cloexec(mode, guest_bins, run_native, run_cloudos):
    argv = [guest_bins.path("files_cloexec", mode), guest_bins.path("fdcheck", mode)]
    native = run_native(argv)
    assert native[0] == 0, native
    assert native[1] == (
        b"parent: fds 3 4 5 6 7, FD_CLOEXEC 1 0 1 1 0\n"
        b"forked child: fd 3 open, fd 5 open\n"
        b"fdcheck: fd 3 closed (EBADF)\n"
        b"fdcheck: fd 4 open, FD_CLOEXEC=0, reads [inherited]\n"
        b"fdcheck: fd 5 closed (EBADF)\n"
        b"fdcheck: fd 6 closed (EBADF)\n"
        b"fdcheck: fd 7 open, FD_CLOEXEC=0, reads [closed-on-exec]\n"
        b"fdcheck: fd 8 closed (EBADF)\n"
        b"parent: fdcheck: exited 0\n"
        b"parent: offset of b after the child read it: 9\n"
        b"fdcheck: fd 3 open, FD_CLOEXEC=0, reads [closed-on-exec]\n"
        b"fdcheck: fd 4 closed (EBADF)\n"
        b"parent: fdcheck with flags flipped: exited 0\n"
        b"parent: fd 4 still without FD_CLOEXEC here: yes\n"
    ), native[1].decode()
    _assert_same(native, run_cloudos(argv))


# --- path edge cases: what each section of files_edge.c must print (test_section) ---

EDGE_SECTIONS = {
    "rmdir_dot": [b"rmdir .: -1 EINVAL", b"rmdir d/.: -1 EINVAL", b"d still exists: 0"],
    "dot_after_file": [b"open file/.: -1 ENOTDIR", b"stat file/.: -1 ENOTDIR"],
    "creat_dangling": [b"O_CREAT through a dangling link: 0", b"the target now exists: 0"],
}


# --- splice, tee, vmsplice; the vectored calls' argument order (issue 13) -----------------

SPLICE_SECTIONS = {
    "copies": [b"offset now 6, file position 0", b"pipe holds: 4 [2345]",
               b"second pipe holds: 3 [012]", b"offset now 7, file position 0", b"  [??.abcd]",
               b"/dev/zero to pipe: 100", b"pipe to /dev/null: 50",
               b"a device's offset stays: 5",
               b"a directory to pipe: -1 EINVAL", b"empty pipe without writers: 0"],
    "errors": [b"length 0, bad fds: 0", b"bad offset pointer for the pipe: -1 ESPIPE",
               b"write end as input: -1 EBADF", b"no pipe at all: -1 EINVAL",
               b"a pipe to itself: -1 EINVAL", b"empty pipe, O_NONBLOCK: -1 EAGAIN",
               b"file to a pipe without reader: -1 EPIPE", b"readv bad fd, bad iovec: -1 EBADF",
               b"readv write end, bad iovec: -1 EBADF", b"readv bad iovec: -1 EFAULT",
               b"preadv bad fd, negative offset: -1 EINVAL",
               b"pwritev read end, bad iovec: -1 ESPIPE"],
    "tee_vmsplice": [b"copy: 5 [hello]", b"original, still whole: 11 [hello world]",
                     b"tee bad flags before length 0: -1 EINVAL", b"  [vms|plice]",
                     b"vmsplice bad fd, bad iovec: -1 EBADF", b"vmsplice a file, nothing: 0",
                     b"vmsplice into read-only memory: -1 EFAULT", b"the pipe kept: 4 [read]",
                     b"vmsplice more than fits: 4096"],
    "waits": [b"  [late]", b"the pipe got: 11 [from socket]", b"socket at end of file: 0",
              b"a signal ends a waiting splice: -1 EINTR", b"the pipe got: 4 [kept]",
              b"pipe to a TCP socket: 6", b"  [to tcp]"],
}


# --- every sectioned program: one case per (program, section) ------------------------------

# --- MAP_SHARED file mappings, memfd, POSIX shared memory and semaphores ------------------

MMAP_SECTIONS = {
    "coherent": [b"mapping sees an appended write: [tail]", b"size: 31",
                 b"a second mapping sees the first: J, same page: no",
                 b"a private mapping starts from the shared bytes: J"],
    "persist": [b"after munmap and close: 8 [unmapped]", b"second page: [second page]",
                b"size unchanged: 8192", b"bytes past the end are dropped: 5 [abcde]"],
    "fork": [b"parent sees: [from the child] [through a new mapping]"],
    "access": [b"shared writable on O_RDONLY: EACCES", b"mprotect it writable: -1 EACCES",
               b"a private copy's write stays private: r", b"shared on O_WRONLY: EACCES"],
    "truncate": [b"byte 99: x, byte 100 after the cut: 0", b"regrown file reads zero: 1"],
    "madvise": [b"contents: [kept]", b"contents: [anon kept]",
                b"private anonymous reads zero: 0", b"shared after mprotect: [after mprotect]"],
    "memfd": [b"regular: 1, links: 0, size: 0, mode: 777", b"link: /memfd:cloudos (deleted)",
              b"parent map: [memfd shared], pread: 12 [memfd shared]"],
    "posix": [b"second open sees: [posix shm]", b"open after unlink: ENOENT",
              b"sem_wait woken by the child: 0", b"value left: 1"],
    "pshared": [b"child woke: status 7", b"condition variable across fork: status 9"],
}


# --- job control: stop and continue ---------------------------------------------------

JOBS_SECTIONS = {
    "stop": [b"status: stopped by 19", b"runs while stopped: no", b"status: continued",
             b"runs after SIGCONT: yes"],
    "tstp": [b"after SIGTSTP: stopped by 20", b"bytes left in the pipe while stopped: 1",
             b"the read got: x"],
    "sigchld": [b"SIGCHLD codes: 519 618 (CLD_STOPPED=5, CLD_CONTINUED=6)",
                b"with SA_NOCLDSTOP: 0 signals"],
    "waitid": [b"info: pid child code 5 status 19", b"info: pid child code 6 status 18"],
    "pending": [b"alive after SIGTERM while stopped (WNOHANG): 0",
                b"after SIGCONT: killed by 15"],
    "handlers": [b"the SIGTSTP handler stopped itself: stopped by 19",
                 b"handlers ran (tstp*10 + cont): exited 11"],
}


MEMORY_SECTIONS = {
    "mremap": [b"grown in place: yes, contents kept: 1, new pages zero: 1",
               b"moved: yes, contents kept: 1, old address unmapped: 1",
               b"child moved and wrote: exit 0, ours unchanged: b",
               b"shared after the child's move: [written after a move]",
               b"MREMAP_FIXED: at the target: yes, contents: 1", b"not mapped: EFAULT",
               b"realloc of 1 MiB to 8 MiB keeps contents: 1"],
    "mincore": [b"resident: 1 0 1 0", b"bad vector: -1 EFAULT", b"with a hole: -1 ENOMEM"],
}


SIGWAIT_SECTIONS = {
    "pending": [b"first: 10 (SIGUSR1=10), si_signo 10, si_code 0, from us: 1",
                b"second: 12 (SIGUSR2=12)", b"none left, zero timeout: -1 EAGAIN"],
    "woken": [b"woken by the child: 10, from the child: 1, waited 30..10000 ms: yes",
              b"sigwait got: 10", b"timeout: -1 EAGAIN", b"waited 60..10000 ms: yes"],
    "interrupted": [b"a handled SIGALRM outside the set (SA_RESTART): -1 EINTR",
                    b"blocked SIGCHLD (default: ignore) taken: 17, code 1 (CLD_EXITED=1), "
                    b"status 3"],
    "queued": [b"taken: 10, code SI_QUEUE: 1, value 1234, pid is ours: 1",
               b"handler got value 99, code SI_QUEUE: 1",
               b"posing as kill to another process: -1 EPERM", b"no such process: -1 ESRCH"],
    "masks": [b"ppoll: -1 EINTR, handler ran 1, SIGUSR1 blocked again: 1",
              b"pselect: -1 EINTR, handler ran 1, SIGUSR1 blocked again: 1",
              b"epoll_pwait: -1 EINTR, handler ran 1, SIGUSR1 blocked again: 1",
              b"a pending signal let in: -1 EINTR, handler ran 2",
              b"a mask that keeps it out: 0 (timeout), blocked: 1",
              b"kept out during the wait: 0, handled as soon as it returned: 1"],
    "errors": [b"nsec 1e9: -1 EINVAL", b"sigsetsize 4: -1 EINVAL", b"bad set pointer: -1 EFAULT"],
}


SYSV_SHM_SECTIONS = {
    "basics": [b"attached once: size 10000, attached 1, mode 600, creator us: 1, dest: 0",
               b"parent sees: [inherited attach] [child]", b"shmdt again: -1 EINVAL",
               b"writing a read-only attach: killed by 11", b"key gone: -1 ENOENT"],
    "removal": [b"removed, attached: size 4096, attached 1, mode 640, creator us: 1, dest: 1",
                b"after the last detach: -1 EINVAL", b"after munmap of the last attach: -1 EINVAL"],
    "fixed": [b"at the given address: yes", b"over a mapping: EINVAL", b"with SHM_REMAP: yes",
              b"the two attaches share: z", b"attached: 2"],
    "errors": [b"size 0: -1 EINVAL", b"missing key: -1 ENOENT", b"IPC_STAT bad buffer: -1 EFAULT"],
}


SYSV_IPC_SECTIONS = {
    "sem_basics": [b"nsems 3, mode 640, ours: 1, otime 0", b"GETALL: 7 8 9", b"after: 0 10 9",
                   b"one of two would block, IPC_NOWAIT: -1 EAGAIN", b"nothing done: 0 10 9",
                   b"past SEMVMX: -1 ERANGE", b"semaphore 3: -1 EFBIG",
                   b"too many operations: -1 E2BIG", b"timeout: -1 EAGAIN",
                   b"another user: more semaphores than it has: -1 EINVAL",
                   b"another user: GETVAL: -1 EACCES", b"another user: IPC_RMID: -1 EPERM",
                   b"mode now 604", b"key gone: -1 ENOENT", b"SEM_STAT of a slot: 1",
                   b"semmni 32000, semmns 1024000000, semmsl 32000, semopm 500, semvmx 32767, "
                   b"semaem 32767, semume 500, semusz 20"],
    "sem_wait": [b"the child sleeps on semaphore 0: 1", b"ping-pong rounds: 20, child exit 0",
                 b"the child's last pid on semaphore 0: 1", b"waiting for zero: 1, ncnt 0",
                 b"at one it still waits: 1", b"at zero it goes: exit 0"],
    "sem_mutex": [b"mutual exclusion: counter 600, exits 0 0, value 1"],
    "sem_undo": [b"after the holder exited: 1",
                 b"the child holds it: 0; blocked until its exit: 0, value 0, child exit 0",
                 b"SETVAL cleared the undo: 1", b"undo after SETVAL: 2"],
    "sem_interrupt": [b"child: semop on a removed set: -1 EIDRM",
                      b"semop interrupted by SIGALRM (SA_RESTART): -1 EINTR",
                      b"the sleeper is gone: GETNCNT: 0", b"semtimedop 100ms: -1 EAGAIN",
                      b"one is not enough: ncnt 1",
                      b"two wake it before its timeout: exit 0, value 0",
                      b"a killed sleeper: 137, ncnt 0", b"its operation was not done: 1"],
    "msg_basics": [b"qnum 5, cbytes 23, qbytes 16384, lspid us: 1, stime set: 1",
                   b"type -2 (the lowest up to 2): 4, type 1 [uno]",
                   b"any but 3 (MSG_EXCEPT): 4, type 2 [two]", b"too small: -1 E2BIG",
                   b"too small, MSG_NOERROR: 3, type 3 [thr]", b"type 4, IPC_NOWAIT: -1 ENOMSG",
                   b"over msgmax: -1 EINVAL", b"msgrcv into a bad pointer: -1 EFAULT",
                   b"still queued: 0, lrpid us: 1",
                   b"msgmax 8192, msgmnb 16384, msgmni 32000, msgpool 512000, msgmap 16384, "
                   b"msgtql 16384, msgssz 16, msgseg 65535"],
    "msg_block": [b"child waited for type 7: 6, type 7 [seven]",
                  b"child waited, too small: -1 E2BIG",
                  b"left for the parent: 6, type 8 [eight]", b"full, IPC_NOWAIT: -1 EAGAIN",
                  b"child's blocked send: 0", b"the child's: 5, type 3 [wait]",
                  b"another user's IPC_SET: -1 EPERM"],
    "msg_interrupt": [b"child: removed while it waits: -1 EIDRM",
                      b"msgrcv interrupted by SIGALRM (SA_RESTART): -1 EINTR",
                      b"it is there: 6, type 1 [after]",
                      b"child: send on a removed queue: -1 EIDRM"],
}

MQUEUE_SECTIONS = {
    "basics": [b"attributes: flags 0, maxmsg 4, msgsize 64, curmsgs 0", b"O_EXCL again: -1 EEXIST",
               b"a slash inside: -1 EACCES", b"full, O_NONBLOCK: -1 EAGAIN",
               b"full, timed out: -1 ETIMEDOUT", b"over msgsize: -1 EMSGSIZE",
               b"priority 32768: -1 EINVAL", b"buffer under msgsize: -1 EMSGSIZE",
               b"first: 4 [high] prio 5", b"second: 5 [high2] prio 5", b"fourth: 3 [low] prio 1",
               b"send on O_RDONLY: -1 EBADF", b"receive into a bad pointer: -1 EFAULT",
               b"after: flags O_NONBLOCK, maxmsg 4, msgsize 64, curmsgs 0",
               b"open after unlink: -1 ENOENT", b"and reads: 5 [still] prio 0",
               b"default attributes: flags 0, maxmsg 10, msgsize 8192, curmsgs 0",
               b"nobody: maxmsg 11: -1 EINVAL", b"RLIMIT_MSGQUEUE: first: 0",
               b"third: -1 EMFILE", b"no fd left: -1 EMFILE",
               b"and no queue made: -1 ENOENT"],
    "blocking": [b"child waited: 3 [one] prio 1", b"child waited again: 3 [two] prio 7",
                 b"it waited for the child: yes, child exit 0", b"timed receive: -1 ETIMEDOUT",
                 b"receive interrupted by SIGALRM: -1 EINTR",
                 b"with SA_RESTART it goes on: 4 [late] prio 2"],
    "poll": [b"empty: 1, revents 0x4", b"full: 1, revents 0x1",
             b"poll waits for a message: 1, revents 0x1"],
    "notify": [b"again: -1 EBUSY", b"child: another process: -1 EBUSY",
               b"signals 1, code SI_MESGQ 1, value 42, from the child 1",
               b"not empty before: signals 1", b"unregistered: signals 1",
               b"SIGEV_NONE: signals 1", b"a close dropped it: 0",
               b"the registered child exited: 0"],
}

UNIX_SECTIONS = {
    "dgram_bound": [b"bind the same path: -1 EADDRINUSE", b"poll with one: 0x5",
                    b"from unbound: 5 [hello], from length 0",
                    b"first: 3 [one], from length 18 abstract [cloudos-dgram-s]",
                    b"MSG_TRUNC: 9 [trun], from length 18 abstract [cloudos-dgram-s]",
                    b"recvmsg cut: 2, MSG_TRUNC 1, namelen 18",
                    b"sendto a missing path: -1 ENOENT", b"sendto an unbound name: -1 ECONNREFUSED",
                    b"sendto too large: -1 EMSGSIZE", b"queue full after 11: EAGAIN",
                    b"getpeername: 0, length 10 [dgram-r]",
                    b"request: 4 [ping] from [cloudos-dgram-child]", b"child exit: 7",
                    b"autobound: length 8, first byte 0, five hex digits 1",
                    b"send to a closed receiver: -1 ECONNREFUSED", b"send again: -1 ENOTCONN",
                    b"sendmsg an fd to a name: 2", b"epoll with one: 1",
                    b"recvmsg: 2, controllen 24, the fd is open 1",
                    b"blocking send to a full queue: 1", b"all were received: -1 EAGAIN",
                    b"a waiting recv: 4", b"recv after SHUT_RD: 0",
                    b"send after SHUT_WR: -1 EPIPE",
                    b"the pipe's reader sees its end: 0"],
    "names": [b"a socket file: 1", b"bind again: -1 EADDRINUSE", b"poll listening with one: 0x1",
              b"accept: ok, peer length 2, family 1", b"getpeername: length 7 [sock]",
              b"connect after the listener closed: -1 ECONNREFUSED",
              b"connect to a missing path: -1 ENOENT",
              b"a stream socket to a seqpacket listener: -1 EPROTOTYPE",
              b"the accepted end reads one message: 3"],
    "abstract": [b"name: length 19, first byte 0, rest [cloudos-abstract]",
                 b"bind the same abstract name: -1 EADDRINUSE", b"accepted side reads: 3 [abs]",
                 b"autobound: length 8, abstract 1"],
    "server": [b"peer credentials: length 12, pid is the listener's: 1", b"reply 1: 3 [bye]",
               b"server exit: 0"],
    "nonblocking": [b"accept with nothing waiting: -1 EAGAIN",
                    b"accept4: ok, nonblocking: 1, cloexec: 1",
                    b"SO_TYPE 1, SO_ERROR 0, SO_ACCEPTCONN 1"],
    "messages": [b"pieces: [scat] [ter gather], flags 0, controllen 0",
                 b"sendmsg to a closed peer (MSG_NOSIGNAL): -1 EPIPE"],
    "rights": [b"recvmsg 2 [ab] controllen 24 flags 0 | len 24 level 1 type 1: passed-file "
               b"cloexec=0 null cloexec=0", b"recvmsg 4 [prey] controllen 0 flags 0x8",
               b"recvmsg 1 [z] controllen 20 flags 0x8 | len 20 level 1 type 1: passed-file "
               b"cloexec=0", b"sendmsg of a bad fd: -1 EBADF",
               b"the child read the passed file: exit 0, our offset moved: 4"],
}


POSIX_TIMER_SECTIONS = {
    "oneshot": [b"armed, left 1..80 ms: yes",
                b"fired 1, code SI_TIMER: 1, value 42, after 60..10000 ms: yes", b"disarmed: 1",
                b"timer_delete again: -1 EINVAL"],
    "periodic": [b"periodic expiries in 250 ms at 20 ms: at least 6, at most one per 20 ms: yes",
                 b"old interval: 20000000 ns", b"no more after disarming: yes",
                 b"absolute fired after 30..10000 ms: yes"],
    "overrun": [b"one signal for many expiries: 10, si_overrun 5..(one per 10 ms): yes, value 7",
                b"timer_getoverrun agrees: yes",
                b"after the next expiries, still the signal taken: yes",
                b"SIGEV_NONE counts down: yes"],
    "thread": [b"function ran in another thread: calls 5, other thread: yes"],
    "errors": [b"signal 99: -1 EINVAL", b"nsec 1e9: -1 EINVAL", b"bad timer id: -1 EINVAL",
               b"bad itimerspec pointer: -1 EFAULT", b"still armed, over 30 years away: 1"],
}


SIGNALFD_SECTIONS = {
    "basics": [b"read with nothing pending: -1 EAGAIN", b"poll with two pending: 0x1",
               b"read: 256 bytes, first 10, second 12, code SI_USER: 1, from us: 1",
               b"SIGUSR1 no longer read: -1 EAGAIN", b"it stayed pending: 10",
               b"a negative sigqueue value: 128 bytes, ssi_int -5, code SI_QUEUE: 1"],
    "blocking": [b"woken: 128 bytes, signal 10, from the child: 1", b"epoll_wait for SIGCHLD: 1",
                 b"SIGCHLD: signal 17, code CLD_EXITED: 1, status 3, pid is the child: 1"],
    "errors": [b"bad flags: -1 EINVAL", b"not a signalfd: -1 EINVAL", b"bad fd: -1 EBADF"],
}


# FIFOs: what each section of files_fifo.c must print (Linux's fifo_open and pipe_poll)
FIFO_SECTIONS = {
    "order": [b"open O_RDONLY (waits for the writer): ok", b"it waited: yes",
              b"read until EOF: 5 [hello], last read 0",
              b"open O_WRONLY (waits for the reader): ok", b"child read: 5 [world]"],
    "nonblock": [b"O_WRONLY|O_NONBLOCK, no reader: -1 ENXIO",
                 b"poll reader, no writer yet: 0 revents=", b"read, no writer: 0",
                 b"read, writer and no data: -1 EAGAIN",
                 b"poll reader, writer gone: 1 revents=HUP ",
                 b"poll O_RDWR with data: 1 revents=IN OUT ",
                 b"read after every opener closed (the data went): -1 EAGAIN"],
    "epipe": [b"poll writer, reader gone: 1 revents=OUT ERR ",
              b"write, no reader (SIGPIPE ignored): -1 EPIPE",
              b"writer with SIGPIPE's default action: killed by signal 13"],
    "interrupted": [b"open O_RDONLY, interrupted: -1 EINTR",
                    b"then O_WRONLY|O_NONBLOCK (the interrupted reader is gone): -1 ENXIO"],
    "restarted": [b"open O_RDONLY, SA_RESTART handler ran meanwhile: ok", b"handlers run: 1",
                  b"bytes: [late]", b"writer: exited 0"],
    "procfd": [b"open /proc/self/fd/W O_WRONLY: ok", b"bytes: [via-proc]", b"is a FIFO: 1",
               b"write end still open (the reopened one): write: 1",
               b"every writer closed: read: 0", b"read from the first: 1"],
    "names": [b"FIFO: 1, mode 0644, size 0, nlink 1", b"mkfifo again: -1 EEXIST",
              b"mkfifo in a missing directory: -1 ENOENT", b"lseek: -1 ESPIPE",
              b"fstat is the node: 1", b"ftruncate: -1 EINVAL"],
}

# Special files and the less common file calls: what each section of files_special.c must
# print (the native run on this host's Linux)
SPECIAL_SECTIONS = {
    "mknod": [b"fifo: fifo mode 0644 size 0", b"sock: sock mode 0600 size 0",
              b"open sock: -1 ENXIO", b"plain: reg mode 0644 size 0", b"mknod dir: -1 EPERM",
              b"mknod bad type: -1 EINVAL", b"mknod existing: -1 EEXIST",
              b"mknod in a missing directory: -1 ENOENT", b"null: chr mode 0644 size 0 rdev 1:3",
              b"write to it: 4", b"unprivileged mknod chr: -1 EPERM",
              b"unprivileged mknod chr over an existing name: -1 EEXIST",
              b"unprivileged mknod fifo: 0",
              b"unprivileged mknod fifo in root's 0755 directory: -1 EACCES",
              b"unprivileged O_TMPFILE there: -1 EACCES",
              b"unprivileged open of root's 0600 FIFO: -1 EACCES"],
    "tmpfile": [b"fstat: reg mode 0600 nlink 0", b"bytes: [unnamed]", b"names in d: 0",
                b"O_TMPFILE|O_RDONLY: -1 EINVAL", b"O_TMPFILE on a file: -1 ENOTDIR",
                b"umask applies: mode 0600", b"named: reg mode 0640 nlink 1 size 11",
                b"fstat of the fd: nlink 1", b"linkat /proc/self/fd/N AT_SYMLINK_FOLLOW: 0",
                b"linkat of an O_EXCL one: -1 ENOENT", b"linkat of an unlinked file: -1 ENOENT"],
    "seek": [b"SEEK_DATA 50: 50", b"SEEK_HOLE 0: 100", b"SEEK_DATA at the end: -1 ENXIO",
             b"SEEK_DATA -1: -1 ENXIO", b"position after a failed SEEK_DATA: 10",
             b"SEEK_DATA 0 of an empty file: -1 ENXIO"],
    "fallocate": [b"bytes: [01234_____abcdefghij], size 4096",
                  b"PUNCH_HOLE without KEEP_SIZE: -1 EOPNOTSUPP", b"ZERO_RANGE: -1 EOPNOTSUPP",
                  b"past the largest file: -1 EFBIG", b"pipe: -1 ESPIPE",
                  b"read-only fd: -1 EBADF"],
    "renameat2": [b"NOREPLACE onto an existing name: -1 EEXIST", b"c holds [BBB]",
                  b"b/inner holds [III]", b"EXCHANGE with a missing name: -1 ENOENT",
                  b"NOREPLACE|EXCHANGE: -1 EINVAL",
                  b"EXCHANGE a directory with its own subdirectory: -1 EINVAL",
                  b"other/o holds [BBB]", b"b's nlink (itself, ., sub's ..): 3"],
    "utimensat": [b"atime 1000, mtime is now: 1", b"atime 3000.000000500, mtime is now: 1",
                  b"tv_nsec 1e9: -1 EINVAL"],
    "shm": [b"file: fifo mode 0600 size 0", b"fifo holds [FILE]", b"SEEK_DATA 50: 50",
            b"linked: reg mode 0600 size 100"],
}


# --- file locks: what each section of files_locks.c must print (test_section) ---

LOCKS_SECTIONS = {
    "record": [b"child F_SETLK write [50,60) under the parent's [0,100): -1 EAGAIN",
               b"child F_GETLK write [50,60): F_WRLCK start=0 len=100 whence=0 pid=parent",
               b"child F_GETLK write at 1000: F_RDLCK start=150 len=0 whence=0 pid=parent",
               b"child F_GETLK write [0,100) after the split: F_WRLCK start=0 len=40 whence=0 "
               b"pid=parent",
               b"parent F_GETLK write [45,55): the child's: F_WRLCK start=45 len=10 whence=0 "
               b"pid=other"],
    "ranges": [b"SEEK_CUR 5 len 10 at offset 10: F_WRLCK start=15 len=10 whence=0 pid=parent",
               b"start 350 len -20: F_WRLCK start=330 len=20 whence=0 pid=parent",
               b"merged [500,510)+[510,520): F_WRLCK start=500 len=20 whence=0 pid=parent",
               b"read at 617: the write lock after it: F_WRLCK start=615 len=5 whence=0 "
               b"pid=parent"],
    "wait": [b"child F_SETLKW waits for the parent: 0", b"child waited >= 80ms: yes"],
    "deadlock": [b"parent F_SETLKW on the child's byte 1: -1 EDEADLK",
                 b"child F_SETLKW on the parent's byte 0: 0"],
    "release": [b"child: after the parent closed another fd: F_UNLCK (start=0 len=0 kept)",
                b"parent: the child exited holding [0,10): 0"],
    "ofd": [b"F_OFD_GETLK from it: F_WRLCK start=0 len=10 whence=0 pid=-1",
            b"F_SETLK of the same process conflicts: -1 EAGAIN",
            b"after closing one of two fds of the description: F_RDLCK start=0 len=10 "
            b"whence=0 pid=-1",
            b"after closing the last: F_UNLCK (start=0 len=100 kept)"],
    "flock": [b"child LOCK_EX|LOCK_NB: -1 EAGAIN", b"child converts to LOCK_EX|LOCK_NB: -1 EAGAIN",
              b"child fcntl write lock: independent of flock: 0",
              b"child LOCK_EX waits for the parent's LOCK_UN: 0",
              b"after closing one fd of the holder: -1 EAGAIN", b"after closing the last: 0"],
    "eintr": [b"F_SETLKW interrupted by SIGALRM: -1 EINTR", b"flock LOCK_EX interrupted: -1 EINTR",
              b"alarms: 3", b"F_SETLK after the parent let go: 0",
              b"flock LOCK_EX restarted after SIGALRM (SA_RESTART): 0",
              b"alarms: 4, waited >= 250ms: yes"],
    "errors": [b"write lock on O_RDONLY: -1 EBADF", b"l_start 5 l_len -6: -1 EINVAL",
               b"SEEK_CUR l_start LLONG_MAX: -1 EOVERFLOW", b"F_OFD_SETLK with l_pid: -1 EINVAL",
               b"bad fd and bad pointer: -1 EBADF", b"flock bad fd and bad operation: -1 EINVAL"],
    "pipe_size": [b"F_SETPIPE_SZ 5000: 8192", b"F_SETPIPE_SZ 4096 while it holds 8192: -1 EBUSY",
                  b"write 2000 more: -1 EAGAIN", b"F_GETPIPE_SZ of a file: -1 EBADF",
                  b"unprivileged F_SETPIPE_SZ 1048577: -1 EPERM"],
    "exec": [b"after exec, f (its fd kept): F_WRLCK start=0 len=10 whence=0 pid=parent",
             b"after exec, g (another fd was close-on-exec): F_UNLCK (start=0 len=0 kept)"],
    "proc_locks": [b"  -> POSIX WRITE child f 5 5", b"  FLOCK READ parent g 0 EOF",
                   b"  OFDLCK READ -1 f 40 44", b"  POSIX READ parent f 100 EOF",
                   b"  POSIX WRITE parent f 0 9",
                   b"the waiter is numbered as the lock it waits for: 1"],
    "lease": [b"F_SETLEASE F_RDLCK on an O_RDWR fd: -1 EAGAIN", b"F_SETLEASE F_RDLCK: 0",
              b"F_SETLEASE F_UNLCK without one: -1 EAGAIN",
              b"F_SETLEASE on a directory: -1 EINVAL",
              b"child open O_WRONLY|O_NONBLOCK: a break begins: -1 EAGAIN",
              b"child open O_WRONLY interrupted by SIGALRM: -1 EINTR",
              b"child open O_WRONLY waits for the lease to go: opened, waited >= 80ms: yes",
              b"SIGIO for the holder: 1", b"F_GETLEASE while it breaks: 2",
              b"F_GETLEASE: coming down to F_RDLCK: 0", b"another user's F_SETLEASE: -1 EACCES",
              b"child truncate(2) waits for the read lease to go: 0", b"SIGIOs: 3"],
    "threads": [b"another thread's record lock, other fd: 0 ",
                b"a thread's F_OFD_SETLKW through b: 0, waited >= 80ms: yes"],
    "async": [b"SIGIO after a write: 1", b"after a write and a read: SIGIO 2 SIGUSR1 1",
              b"O_ASYNC cleared: SIGIO 2 SIGUSR1 1", b"a socket's peer wrote: SIGIO 3",
              b"O_ASYNC without an owner: SIGIO 3", b"F_GETFL: O_ASYNC 0 O_APPEND 1"],
    "owner": [b"F_GETOWN_EX: type F_OWNER_PGRP 1, the group 1",
              b"F_SETOWN_EX no such process: -1 ESRCH", b"F_GETSIG through a dup: 64"],
}


# mounts.c: chroot, tmpfs and bind mounts, /proc/self/mounts, namespaces, pivot_root
MOUNTS_SECTIONS = {
    "chroot": [b"getcwd outside the new root: (unreachable)<top>",
               b"/../../inside: in the root", b"absolute symlink /sub/up: in the root",
               b"/outside (only outside the root): -1 ENOENT", b"child: /inside: in the root",
               b"getcwd after climbing: (unreachable)/",
               b"the old outside by its full path: beside the root"],
    "tmpfs": [b"mode: 750, tmpfs: 1", b"size: 65536 bytes", b"filled: 65536 bytes, then ENOSPC",
              b"umount while it is the cwd: -1 EBUSY", b"umount: 0",
              b"umount again (not a mount point): -1 EINVAL",
              b"mount unknown type: -1 ENODEV", b"umount2 MNT_DETACH while busy: 0",
              b"read from the detached tmpfs: kept by an open fd"],
    "bind": [b"src/g: written through the bind", b"same file: 1",
             b"create through it: -1 EROFS", b"open for writing through it: -1 EROFS",
             b"dst/f: still writable at the source",
             b"dst2/sub tmpfs: 1, dst3/sub tmpfs: 0",
             b"umount dst2 with a mount under it: -1 EBUSY", b"umount dst: 0"],
    "proc_mounts": [b"mounts tmpfs: tmpfs rw size=64k", b"mounts tmpfs: tmpfs rw mode=750",
                    b"mounts bind: (type) ro -", b"mountinfo bind: root ends /src, ro",
                    b"mounts tmpfs after umount: absent"],
    "pseudo": [b"/proc/filesystems lists sysfs: 1", b"mount sysfs: 0",
               b"its f_type is SYSFS_MAGIC: 1", b"the same possible CPUs as /sys: 1",
               b"umount sysfs: 0", b"mount proc: 0", b"its self is a link: 1",
               b"mount nonsensefs: -1 ENODEV"],
    "unshare": [b"child's node name: inner-host", b"child's uts namespace differs: 1",
                b"child sees the tmpfs: 1", b"parent sees the tmpfs: 0",
                b"parent's node name unchanged: 1",
                b"clone(CLONE_NEWUTS) child's node name: cloned-host",
                b"child's mnt namespace differs: 1", b"setns(uts fd, CLONE_NEWNS): -1 EINVAL",
                b"joiner's node name: inner-host", b"joiner sees the tmpfs after: 1"],
    "pivot_root": [b"pivot_root: 0", b"/hello: in the new root",
                   b"the old root's file under /old: the old root's file",
                   b"after detaching /old: -1 ENOENT", b"pivot_root(., .): 0",
                   b"/there: in the next root", b"/hello (the old root's): -1 ENOENT"],
    "unprivileged": [b"chroot: -1 EPERM", b"mount: -1 EPERM", b"mount on a missing dir: -1 ENOENT",
                     b"umount: -1 EPERM", b"unshare(CLONE_NEWUTS): -1 EPERM",
                     b"pivot_root: -1 EPERM", b"setns: -1 EPERM"],
}


# files_dcache: every change made through the VFS is seen by the next path lookup
DCACHE_SECTIONS = {
    "names": [b"missing again: -1 ENOENT", b"created: [one]", b"old name: -1 ENOENT",
              b"b after rename over: [three]", b"unlinked, open: -1 ENOENT",
              b"d/f after the rename: -1 ENOENT", b"e/f: [in d]",
              b"e/ after rmdir: -1 ENOENT", b"e again: size=-1 mode=0700 uid=0",
              b"through the new l: [second]", b"hard link: [first]"],
    "attrs": [b"after chmod: size=5 mode=0600 uid=0", b"after chown: size=5 mode=0600 uid=1",
              b"after truncate: size=2 mode=0600 uid=1",
              b"after append: size=10 mode=0600 uid=1", b"content: [12abcdefgh]",
              b"d after chmod: size=-1 mode=0711 uid=0"],
    "search": [b"nobody opens d/f: [readable]", b"nobody opens d/f after chmod 700: -1 EACCES",
               b"nobody opens d/f after chmod 701: [readable]",
               b"nobody opens d/f in its own d (300): [readable]"],
}


SECTIONED = {"files_pipe": PIPE_SECTIONS, "files_fifo": FIFO_SECTIONS,
             "files_special": SPECIAL_SECTIONS, "files_eventfd": EVENTFD_SECTIONS,
             "files_socketpair": SOCKETPAIR_SECTIONS, "files_epoll": EPOLL_SECTIONS,
             "files_timerfd": TIMERFD_SECTIONS, "files_edge": EDGE_SECTIONS,
             "files_mmap": MMAP_SECTIONS, "jobs": JOBS_SECTIONS, "memory": MEMORY_SECTIONS,
             "sigwait": SIGWAIT_SECTIONS, "sysv_shm": SYSV_SHM_SECTIONS,
             "sysv_ipc": SYSV_IPC_SECTIONS, "mqueue": MQUEUE_SECTIONS,
             "files_unix": UNIX_SECTIONS, "posix_timers": POSIX_TIMER_SECTIONS,
             "signalfd": SIGNALFD_SECTIONS, "files_locks": LOCKS_SECTIONS,
             "mounts": MOUNTS_SECTIONS, "files_splice": SPLICE_SECTIONS,
             "files_dcache": DCACHE_SECTIONS}
SECTION_CASES = [(program, section) for program, sections in SECTIONED.items()
                 for section in sections]


@by_mode
@pytest.mark.parametrize("program,section", SECTION_CASES,
                         ids=[f"{p.removeprefix('files_')}-{s}" for p, s in SECTION_CASES])
def test_section(program, section, mode, guest_bins, run_native, run_cloudos):
    """One section of a program (argv[1] picks it): native first, then the same under CloudOS."""
    prog = guest_bins.path(program, mode)
    native = run_native([prog, section])
    if program == "mounts" and b"private namespace:" in native[1]:
        pytest.skip("the host gives this run no mount namespace of its own (not root?)")
    _check_native(native, [f"== {section}".encode(), *SECTIONED[program][section]])
    _assert_same(native, run_cloudos([prog, section]))


# --- bash process substitution: /dev/fd/N of a pipe opened again -------------------------

PROCESS_SUBSTITUTION = ("cat <(echo hi); echo x > >(cat); wait $!; paste <(seq 3) <(seq 4 6); "
                        "tee >(tr a-z A-Z) <<<abc >/dev/null; wait $!")


def test_bash_process_substitution(run_native, run_cloudos):
    """bash's <(...) and >(...) name /dev/fd/N of a pipe, which the command opens again.
    (``wait $!``: the machine halts when init exits, as a container does, so bash waits
    for the >(...) reader it would otherwise leave running.)"""
    if shutil.which("bash") is None:
        pytest.skip("bash not installed")
    argv = ["/bin/bash", "-c", PROCESS_SUBSTITUTION]
    native = run_native(argv)
    assert native == (0, b"hi\nx\n1\t4\n2\t5\n3\t6\nABC\n", b""), native
    _assert_same(native, run_cloudos(argv))


# --- /proc/config.gz: the kernel configuration, as zcat reads it ------------------------

CONFIG_SET = "EPOLL|FUTEX|UNIX|INET|IPV6|TMPFS|PROC_FS|IKCONFIG_PROC|EVENTFD|SIGNALFD|TIMERFD"
CONFIG_SCRIPT = (
    "test -s /proc/config.gz && echo sized; zcat /proc/config.gz | sed -n 2p; "
    # every line an option set, one not set, or a comment: no line of another form
    "zcat /proc/config.gz | grep -vcE '^(CONFIG_[A-Z0-9_]+=.+|# CONFIG_[A-Z0-9_]+ is not set"
    "|#.*|)$'; "
    f"zcat /proc/config.gz | grep -E '^CONFIG_({CONFIG_SET})=' | sort")


def test_proc_config_gz(run_native, run_cloudos):
    """/proc/config.gz is a gzip of Linux's .config form; the options a program looks for
    (the system calls and socket families CloudOS has) are set, as on the host."""
    if shutil.which("zcat") is None or not os.path.exists("/proc/config.gz"):
        pytest.skip("no zcat, or the host has no /proc/config.gz to compare with")
    argv = ["/bin/sh", "-c", CONFIG_SCRIPT]
    native = run_native(argv)
    assert native[0] == 0 and native[1].startswith(
        b"sized\n# Automatically generated file; DO NOT EDIT.\n0\n"), native
    assert native[1].count(b"=y\n") == len(CONFIG_SET.split("|")), native
    _assert_same(native, run_cloudos(argv))


# --- core dumps ---------------------------------------------------------------------------

CORE_LINES = [b"SIGABRT: killed by 6, core dumped: 1",
              b"NT_PRSTATUS names the signal and the child: 1, memory holds the marker: 1",
              b"SIGABRT with RLIMIT_CORE 0: killed by 6, core dumped: 0",
              b"waitid: code CLD_DUMPED 1, status 6"]


def _core_pattern() -> str:
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            return f.read().strip()
    except OSError:
        return "?"


@by_mode
def test_core_dumps(mode, guest_bins, run_native, run_cloudos):
    """Core files and WCOREDUMP, compared with Linux where Linux writes "core" files."""
    if _core_pattern() != "core":
        pytest.skip(f"the host's core_pattern is {_core_pattern()!r}, not a plain core file")
    prog = guest_bins.path("coredump", mode)
    native = run_native([prog])
    _check_native(native, [b"== dumps", *CORE_LINES])
    _assert_same(native, run_cloudos([prog]))


def test_gdb_reads_a_core_file(guest_bins, run_cloudos, tmp_path):
    """The core file of a crashed guest is one gdb can take a backtrace from."""
    if shutil.which("gdb") is None:
        pytest.skip("gdb not installed")
    crash = tmp_path / "crash.c"
    crash.write_text("int deep(int *p) { return *p; }\nint main(void) { return deep((int *)8); }\n")
    import subprocess
    subprocess.run(["gcc", "-g", "-O0", "-static", "-o", str(tmp_path / "crash"), str(crash)],
                   check=True)
    status, _, err = run_cloudos(["/bin/sh", "-c", "cd /mnt/t && ulimit -c unlimited && ./crash"],
                                 extra_args=["--mount", f"{tmp_path}:/mnt/t:rw"])
    assert status == 139, err.decode()
    bt = subprocess.run(["gdb", "-batch", "-ex", "bt", str(tmp_path / "crash"),
                         str(tmp_path / "core")], capture_output=True, text=True)
    assert "in deep (p=0x8) at" in bt.stdout and "in main () at" in bt.stdout, bt.stdout + bt.stderr


@pytest.mark.parametrize("mode", ["static", "static-pie"])
def test_files_removed_while_held_stay_usable(mode, guest_bins, run_native, run_cloudos,
                                              tmp_path):
    """An open file after unlink or rename over it, and a working directory after rmdir,
    on a host directory mounted :rw (issue 11: BusyBox's cp tests got ESTALE and EIO)."""
    prog = guest_bins.path("files_held", mode)
    (tmp_path / "native").mkdir()
    (tmp_path / "guest").mkdir()
    native = run_native([prog, tmp_path / "native"])
    _check_native(native, [b"content: before after", b"old fd reads: old content",
                           b"nlink of removed cwd: 0", b"create in new dir: 0"])
    guest = run_cloudos([prog, "/mnt/h"], extra_args=["--mount", f"{tmp_path / 'guest'}:/mnt/h:rw"])
    _assert_same(native, guest)
    assert list((tmp_path / "guest").iterdir()) == []


def test_host_changes_through_a_mount_are_seen(guest_bins, tmp_path):
    """A host directory shown with --mount, changed on the host while the guest runs: a
    file rewritten in place reads new at once; a file made or removed is seen by path
    lookups within the walk cache's HOST_TTL_NS (1 s; the guest allows 2)."""
    (tmp_path / "f").write_bytes(b"old")
    (tmp_path / "gone").write_bytes(b"")
    prog = guest_bins.path("files_dcache", "static")
    command = [sys.executable, "-m", "cloudos", "run", "--mount", str(prog.parent),
               "--mount", f"{tmp_path}:/mnt/h", "--", str(prog), "host", "/mnt/h"]
    guest = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        assert guest.stdout is not None and guest.stdin is not None
        before = [guest.stdout.readline() for _ in range(4)]
        assert before == [b"f before: [old]\n", b"new before: -1 ENOENT\n",
                          b"gone before: size=0 mode=%04o uid=%d\n"
                          % ((tmp_path / "gone").stat().st_mode & 0o7777, os.getuid()),
                          b"ready\n"], before
        with open(tmp_path / "f", "r+b") as f:  # in place: the same inode
            f.write(b"new")
        (tmp_path / "new").write_bytes(b"made on the host")
        (tmp_path / "gone").unlink()
        out, err = guest.communicate(b"go\n", timeout=60)
    finally:
        guest.kill()
        guest.wait()
    assert guest.returncode == 0, err
    assert out.splitlines() == [b"f at once: [new]", b"new and gone seen by 2 s: yes",
                                b"new: [made on the host]", b"gone: -1 ENOENT"], (out, err)
