"""``cloudos run --strace``: the lines of a static program compared with the host's
``strace -f -s 32`` of the same program (or, without strace on the host, with the lines
Linux's strace prints, written out), and the forms for many tasks and sleeping calls."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
GUEST_SRC_DIR = REPO / "tests" / "guest"


# What strace prints for strace_calls.c between BEGIN and END (strace 6.1 on Debian 12,
# glibc 2.36), once normalised by ``normalise``; used when the host has no strace.
EXPECTED = """\
write(1, "BEGIN\\n", 6) = 6
umask(022) = 022
mkdir("DIR", 0755) = 0
chdir("DIR") = 0
openat(AT_FDCWD, "data.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3
write(3, "hello, world\\n", 13) = 13
write(3, "\\177ELF\\2\\1\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0\\3\\0>\\0\\1\\0\\0\\0\\20t\\2\\0\\0\\0\\0\\0"..., 38) = 38
write(3, "quote\\" back\\\\slash\\ttab\\r\\n", 23) = 23
close(3) = 0
openat(AT_FDCWD, "data.txt", O_RDONLY|O_CLOEXEC) = 3
read(3, "hello, world\\n", 13) = 13
lseek(3, 0, SEEK_SET) = 0
pread64(3, "world", 5, 7) = 5
newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=74, ...}, AT_EMPTY_PATH) = 0
close(3) = 0
newfstatat(AT_FDCWD, "data.txt", {st_mode=S_IFREG|0644, st_size=74, ...}, 0) = 0
newfstatat(AT_FDCWD, "missing", ADDR, AT_SYMLINK_NOFOLLOW) = -1 ENOENT (No such file or directory)
openat(AT_FDCWD, "missing", O_RDONLY) = -1 ENOENT (No such file or directory)
openat(AT_FDCWD, "data.txt", O_WRONLY|O_CREAT|O_EXCL, 0600) = -1 EEXIST (File exists)
access("data.txt", R_OK|W_OK) = 0
access("missing", F_OK) = -1 ENOENT (No such file or directory)
pipe2([3, 4], O_CLOEXEC) = 0
write(4, "ab\\0\\1\\19", 6) = 6
read(3, "ab\\0\\1\\19", 128) = 6
dup2(3, 10) = 10
fcntl(10, F_GETFD) = 0
fcntl(10, F_SETFD, FD_CLOEXEC) = 0
close(10) = 0
close(3) = 0
close(4) = 0
close(99) = -1 EBADF (Bad file descriptor)
openat(AT_FDCWD, ".", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3
newfstatat(3, "", {st_mode=S_IFDIR|0755, st_size=SIZE, ...}, AT_EMPTY_PATH) = 0
getdents64(3, ADDR /* 3 entries */, 32768) = 80
getdents64(3, ADDR /* 0 entries */, 32768) = 0
close(3) = 0
socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3
bind(3, {sa_family=AF_UNIX, sun_path="sock"}, 110) = 0
listen(3, 5) = 0
close(3) = 0
unlink("sock") = 0
rename("data.txt", "moved.txt") = 0
symlink("moved.txt", "link") = 0
readlink("link", "moved.txt", 128) = 9
unlink("link") = 0
unlink("moved.txt") = 0
chdir("/") = 0
rmdir("DIR") = 0
rt_sigaction(SIGUSR1, {sa_handler=ADDR, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=ADDR}, NULL, 8) = 0
rt_sigprocmask(SIG_BLOCK, [USR1], [], 8) = 0
getpid() = PID
kill(PID, SIGUSR1) = 0
rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0
rt_sigreturn({mask=[]}) = 0
clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000000}, NULL) = 0
clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=ADDR) = PID
wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = PID
write(1, "END\\n", 4) = 4
"""
EXPECTED_CHILD = """\
set_robust_list(ADDR, 24) = 0
write(1, "child\\n", 6) = 6
exit_group(3) = ?
+++ exited with 3 +++
"""
EXPECTED_SIGNALS = ["--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=PID, si_uid=UID} ---"]

PREFIX = re.compile(r"^\[pid +(\d+)\] ")


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """strace_calls.c and strace_threads.c, built as the guest fixtures build them."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path_factory.mktemp("strace-bin")
    built = {}
    for name in ("strace_calls", "strace_threads", "fuzz"):
        built[name] = out / name
        subprocess.run(["gcc", "-static", "-O1", "-pthread", "-o", str(built[name]),
                        str(GUEST_SRC_DIR / f"{name}.c")], check=True)
    built["ipc_pingpong"] = out / "ipc_pingpong"  # (CloudOS's own calls: include/cloudos.h)
    subprocess.run(["gcc", "-static", "-O1", "-I", str(REPO / "include"), "-o",
                    str(built["ipc_pingpong"]), str(REPO / "tests" / "ipc" / "ipc_pingpong.c")],
                   check=True)
    return built


def tasks(text: str) -> dict[int, list[str]]:
    """Each task's lines (0: the program's own, prefixed or not; then each child's by pid),
    with a call cut by ``<unfinished ...>`` joined to its ``<... resumed>`` rest."""
    text = re.sub(r"strace: Process \d+ attached\n", "", text)
    forks = r"^(?:\[pid +\d+\] )?(?:clone\(|<\.\.\. clone resumed>).*\) += (\d+)$"
    children = {int(n) for n in re.findall(forks, text, re.MULTILINE)}
    lines: dict[int, list[str]] = {0: []}
    for line in text.splitlines():
        match = PREFIX.match(line)
        pid = int(match.group(1)) if match and int(match.group(1)) in children else 0
        line = PREFIX.sub("", line)
        own = lines.setdefault(pid, [])
        if line.startswith("<... ") and own and own[-1].endswith(" <unfinished ...>"):
            own[-1] = own[-1][:-len(" <unfinished ...>")] + line.split(" resumed>", 1)[1]
        else:
            own.append(line)
    return lines


def normalise(line: str, directory: str) -> str:
    """Take out what differs between two runs: addresses, pids, uids, the column."""
    line = line.replace(directory, "DIR")
    line = re.sub(r"\s+= ", " = ", line)
    line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
    line = re.sub(r"(si_pid|kill\()(=?)\d+", r"\1\2PID", line)
    line = re.sub(r"si_uid=\d+", "si_uid=UID", line)
    line = re.sub(r"st_size=\d+, \.\.\.\}, AT_EMPTY_PATH", "st_size=SIZE, ...}, AT_EMPTY_PATH",
                  line) if "S_IFDIR" in line else line
    return re.sub(r"^((?:getpid|clone|wait4)\(.*\)) = \d+$", r"\1 = PID", line)


def between(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith('write(1, "BEGIN'))
    end = next(i for i, line in enumerate(lines) if line.startswith('write(1, "END'))
    return lines[start:end + 1]


def split(text: str, directory: str) -> tuple[list[str], list[str], list[str]]:
    """(the program's calls, its child's lines, the signals it took), normalised. Signal
    lines are compared apart: CloudOS delivers a signal on the way out of the call that
    sent it, Linux may do it a call later. SIGCHLD is left out: without a handler it is
    discarded when sent, as Linux does unless a tracer keeps it."""
    per_task = tasks(text)
    main = [normalise(x, directory) for x in between(per_task.pop(0))]
    child = [normalise(x, directory) for lines in per_task.values() for x in lines]
    signals = [x for x in main if x.startswith("--- ") and "SIGCHLD" not in x]
    return [x for x in main if not x.startswith("--- ")], child, signals


def test_strace_lines_match_linux(programs: dict[str, Path], tmp_path: Path,
                                  run_cloudos: Any) -> None:
    directory = f"/tmp/strace-{uuid.uuid4().hex[:8]}"  # made and removed by the program
    log = tmp_path / "strace.txt"
    status, out, err = run_cloudos([programs["strace_calls"], directory],
                                   extra_args=["--strace=" + str(log)])
    assert status == 0, err
    assert out == b"BEGIN\nchild\nEND\n"  # nothing of the trace in the guest's stdout
    ours = split(log.read_text(), directory)
    if shutil.which("strace") is not None:
        native = subprocess.run(["strace", "-f", "-s", "32", str(programs["strace_calls"]),
                                 directory], capture_output=True, text=True, timeout=60)
        assert native.returncode == 0, native.stderr
        linux = split(native.stderr, directory)
    else:
        linux = (EXPECTED.splitlines(), EXPECTED_CHILD.splitlines(), EXPECTED_SIGNALS)
    assert ours[0] == linux[0]
    assert ours[1] == linux[1]
    assert ours[2] == linux[2]
    assert (ours[0], ours[1], ours[2]) == (EXPECTED.splitlines(), EXPECTED_CHILD.splitlines(),
                                           EXPECTED_SIGNALS)


def test_strace_threads_sleeping_calls_and_a_killed_child(programs: dict[str, Path],
                                                          tmp_path: Path,
                                                          run_cloudos: Any) -> None:
    log = tmp_path / "strace.txt"
    status, _, err = run_cloudos([programs["strace_threads"]],
                                 extra_args=["--strace=" + str(log), "--strace-durations"])
    assert status == 0, err
    text = log.read_text()
    lines = text.splitlines()
    # the reader thread's read sleeps while the main thread runs: cut, then resumed
    cut = [x for x in lines if re.match(r"\[pid +\d+\] read\(3,  <unfinished \.\.\.>$", x)]
    assert len(cut) == 1, text
    reader = PREFIX.match(cut[0]).group(1)  # type: ignore[union-attr]
    resumed = [x for x in lines if x.startswith(f"[pid {reader:>5}] <... read resumed>")]
    assert len(resumed) == 1 and re.search(r'"x", 1\) += 1 <0\.\d{6}>$', resumed[0]), text
    assert lines.index(cut[0]) < lines.index(resumed[0])
    # (CloudOS's pipe write is a call to the VFS: it may sleep too, and be cut the same way)
    assert any(re.match(r'\[pid +\d+\] write\(4, "x", 1(\) += 1| <unfinished \.\.\.>$)', x)
               for x in lines if not x.startswith(f"[pid {reader:>5}]")), text
    assert f"[pid {reader:>5}] +++ exited with 0 +++" in lines
    # the child: its fault, then its end; the parent hears of it
    assert any(re.match(r"\[pid +\d+\] --- SIGSEGV \{si_signo=SIGSEGV, si_code=SEGV_MAPERR, "
                        r"si_addr=0x8\} ---$", x) for x in lines), text
    assert any(re.match(r"\[pid +\d+\] \+\+\+ killed by SIGSEGV( \(core dumped\))? \+\+\+$", x)
               for x in lines), text
    assert lines[-1] == "+++ exited with 0 +++"
    assert all(x.startswith(("[pid ", "--- ", "+++ ")) or "(" in x for x in lines)


def test_strace_filter_and_timestamps(programs: dict[str, Path], tmp_path: Path,
                                      run_cloudos: Any) -> None:
    log = tmp_path / "strace.txt"
    directory = f"/tmp/strace-{uuid.uuid4().hex[:8]}"
    status, _, err = run_cloudos([programs["strace_calls"], directory], extra_args=[
        "--strace=" + str(log), "--strace-filter=openat,close", "--strace-timestamps"])
    assert status == 0, err
    lines = log.read_text().splitlines()
    calls = [x for x in lines if not re.match(r"(\[pid +\d+\] )?\d\d:\d\d:\d\d\.\d{6} (---|\+\+\+)",
                                              x)]
    assert calls and all(re.match(r"(\[pid +\d+\] )?\d\d:\d\d:\d\d\.\d{6} (openat|close)\(", x)
                         for x in calls), lines


def test_strace_usage_errors(run_cloudos: Any) -> None:
    status, _, err = run_cloudos(["/bin/true"], extra_args=["--strace", "--strace-filter=nope"])
    assert status == 125 or status == 2, err
    assert b"no such system call: nope" in err


def test_hostile_calls_are_traced_without_harm(programs: dict[str, Path], tmp_path: Path,
                                               run_cloudos: Any) -> None:
    """The syscall fuzzer's wild pointers and numbers under --strace and --trace: the
    machine and init survive, bad pointers print as addresses, every line is whole."""
    log, timeline = tmp_path / "strace.txt", tmp_path / "trace.json"
    status, out, err = run_cloudos([programs["fuzz"], "7", "4", "150"], timeout=90,
                                   extra_args=["--strace=" + str(log), "--trace", str(timeline)])
    assert status == 0 and b"Traceback" not in err and b"trace:" not in err, err
    assert re.search(rb"^fuzz: seed 7, 4 children, \d+ calls issued", out, re.M), out
    lines = log.read_text().splitlines()
    assert len(lines) > 300
    assert all(re.search(r"( = .+|<unfinished \.\.\.>| ---| \+\+\+)$", x) for x in lines)
    assert any(re.search(r"\(.*0x[0-9a-f]+.*\) += -1 EFAULT", x) for x in lines)
    assert json.loads(timeline.read_text())["traceEvents"]


def test_strace_sleeping_calls_end_with_their_result(programs: dict[str, Path], tmp_path: Path,
                                                     run_cloudos: Any) -> None:
    """A call that sleeps and is woken by another thread's call (an IPC call answered by a
    reply, a receive by a call, a futex wait by a wake) is shown resumed with its result,
    however the wake-up was made: a call does the scheduler's steps itself only while no
    tracer watches (``switch.inline``); when it did, the tracer never saw the call end
    and printed ``<... cloudos_call resumed> <unfinished ...>) = ?``."""
    log = tmp_path / "strace.txt"
    status, _, err = run_cloudos([programs["ipc_pingpong"], "20"],
                                 extra_args=["--strace=" + str(log)])
    assert status == 0, err
    text = log.read_text()
    lines = text.splitlines()
    resumed = [x for x in lines if "resumed>" in x]
    assert any("cloudos_call resumed>" in x for x in resumed), text
    assert any("cloudos_receive resumed>" in x for x in resumed), text
    for line in resumed:
        assert re.search(r"resumed>.*\) += -?\d+( [A-Z]+ \(.*\))?$", line), line
    assert "<unfinished ...>)" not in text



def test_a_signal_that_ends_a_process_shows_before_its_end(run_cloudos: Any,
                                                           tmp_path: Path) -> None:
    """A signal whose default action ends the process is shown as Linux's strace shows
    it, ``--- SIGTERM {...} ---`` before ``+++ killed by SIGTERM +++`` (SIGKILL shows
    only the end): dash's ``kill -TERM $$``, here and under the host's strace."""
    log = tmp_path / "strace.txt"
    script = "kill -TERM $$"
    status, _out, err = run_cloudos(["/bin/sh", "-c", script], extra_args=["--strace=" + str(log)])
    assert status == 128 + 15, err

    def ending(text: str) -> list[str]:
        lines = [re.sub(r"si_(pid|uid)=\d+", r"si_\1=N", " ".join(line.split()))
                 for line in text.splitlines() if line.startswith(("---", "+++"))]
        return lines[-2:]

    ours = ending(log.read_text())
    assert ours == ["--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=N, si_uid=N} ---",
                    "+++ killed by SIGTERM +++"]
    if shutil.which("strace") is not None:
        native = subprocess.run(["strace", "/bin/sh", "-c", script], capture_output=True,
                                text=True, timeout=60)
        assert ending(native.stderr) == ours


# prctl's and seccomp's lines for strace_prctl.c (strace 6.1), addresses as ADDR
PRCTL_LINES = """\
prctl(PR_SET_PDEATHSIG, SIGKILL) = 0
prctl(PR_GET_PDEATHSIG, [SIGKILL]) = 0
prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)
prctl(PR_SET_DUMPABLE, SUID_DUMP_USER) = 0
prctl(PR_GET_KEEPCAPS) = 0
prctl(PR_SET_KEEPCAPS, 0) = 0
prctl(PR_SET_NAME, "worker") = 0
prctl(PR_GET_NAME, "worker") = 0
prctl(PR_GET_SECCOMP) = 0
prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) = 1
prctl(PR_SET_TIMERSLACK, 50000) = 0
prctl(PR_GET_TIMERSLACK) = 50000
prctl(PR_SET_CHILD_SUBREAPER, 1) = 0
prctl(PR_GET_CHILD_SUBREAPER, [1]) = 0
prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) = 0
prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0
prctl(PR_GET_TID_ADDRESS, [ADDR]) = 0
prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) = 0
prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) = 1
prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SYS_ADMIN, 0, 0) = 0
prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY) = -1 EINVAL (Invalid argument)
prctl(ADDR /* PR_??? */, ADDR, ADDR, ADDR, ADDR) = -1 EINVAL (Invalid argument)
prctl(PR_GET_TSC, [PR_TSC_ENABLE]) = 0
prctl(PR_GET_ENDIAN, ADDR) = -1 EINVAL (Invalid argument)
prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) = 2 (PR_MCE_KILL_DEFAULT)
seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC|SECCOMP_FILTER_FLAG_LOG, \
{len=1, filter=ADDR}) = 0
seccomp(SECCOMP_GET_ACTION_AVAIL, 0, [SECCOMP_RET_LOG]) = 0
seccomp(ADDR /* SECCOMP_SET_MODE_??? */, 0, NULL) = -1 EINVAL (Invalid argument)
prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, {len=1, filter=ADDR}) = 0
"""


def test_prctl_and_seccomp_arguments_show_as_strace_shows_them(guest_bins: Any, run_cloudos: Any,
                                                               tmp_path: Path) -> None:
    """prctl's arguments as its option says (names, signals, capabilities, what a GET
    stored, nothing after an option that takes none) and seccomp's operation, flags and
    program: the host's strace's lines, once addresses are left out."""
    prog = guest_bins.path("strace_prctl", "static")
    log = tmp_path / "strace.txt"
    status, _out, err = run_cloudos([prog], extra_args=["--strace=" + str(log)])
    assert status == 0, err

    def calls(text: str) -> list[str]:
        return [re.sub(r"0x[0-9a-f]+", "ADDR", " ".join(line.split()))
                for line in text.splitlines() if line.startswith(("prctl(", "seccomp("))]

    ours = calls(log.read_text())
    assert ours == PRCTL_LINES.replace("\\\n", "").splitlines()
    if shutil.which("strace") is not None:
        native = subprocess.run(["strace", str(prog)], capture_output=True, text=True,
                                timeout=60)
        assert native.returncode == 0, native.stderr
        assert calls(native.stderr) == ours
