"""seccomp(2) and prctl's PR_SET_SECCOMP: each section of tests/guest/seccomp.c runs
natively, then under ``cloudos run``, and must print and end the same. The required lines
are the ones that show a section did what it is about on the host (a filter that never
acted would make both runs agree vacuously)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.guest.sections import native_then_cloudos

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

SIGSYS_END = b"killed by Bad system call"
SECTIONS = {
    "strict": [b"write in strict mode: ok", b"strict, write then exit: exited with 3",
               b"strict, getpid: killed by Killed", b"strict, exit_group: killed by Killed"],
    "errno": [b"PR_GET_SECCOMP after: 2", b"getppid: -1 errno 13",
              b"getuid, ERRNO 5000: -1 errno 4095", b"getgid, ERRNO 0: 0"],
    "kill": [b"KILL_PROCESS: " + SIGSYS_END, b"KILL_THREAD, the only thread: " + SIGSYS_END,
             b"unknown action 0x10000: " + SIGSYS_END,
             b"KILL_THREAD in a side thread: exited with 7"],
    "trap": [b"handler ran: si_signo 31 (SIGSYS 31), si_code 1, si_errno 0x42",
             b"si_syscall 110, si_arch 0xc000003e",
             b"si_call_addr is the address after the SYSCALL: yes",
             b"TRAP, SIGSYS blocked: " + SIGSYS_END],
    "data": [b"getppid, ERRNO 7 if arch is AUDIT_ARCH_X86_64: -1 errno 7",
             b"getppid, ERRNO 8 if instruction_pointer is after its SYSCALL: -8",
             b"syscall(-1): -1 errno 33", b"dup(0x1000003e8): -1 errno 41",
             b"getpgrp, errno computed by the filter: -1 errno 161"],
    "stack": [b"two ERRNO filters, the newest: -1 errno 12",
              b"then LOG, TRACE, ALLOW: ERRNO still wins: -1 errno 12",
              b"getpid, TRACE without a tracer: -1 errno 38", b"status Seccomp:\t2",
              b"stack: " + SIGSYS_END],
    "inherit": [b"forked child: PR_GET_SECCOMP 2, getppid: -1 errno 21",
                b"after execve: PR_GET_SECCOMP 2, getppid: -1 errno 21"],
    "errors": [b"len 4097: -1 errno 22", b"scratch written on one way only: -1 errno 22",
               b"filter pointer 8: -1 errno 14", b"nobody, no_new_privs 0: -1 errno 13",
               b"GET_ACTION_AVAIL 0x12340000: -1 errno 95"],
    "tsync": [b"TSYNC: 0", b"other thread: PR_GET_SECCOMP 2, getppid: -1 errno 31",
              b"TSYNC over a thread with its own filter: the tid of that thread",
              b"TSYNC | TSYNC_ESRCH: -1 errno 3"],
}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, guest_bins, run_native, run_cloudos):
    native_then_cloudos(guest_bins.path("seccomp", "static"), [section], SECTIONS[section],
                        run_native, run_cloudos, timeout=60)


def _refusals(text: str) -> list[str]:
    """The lines of an strace log about what the filters refused: the refused calls
    (getppid, getuid, getgid), SIGSYS's info and the kills, without pids or padding (a
    getppid that ran returns a parent's pid: PPID; a killed one shows its number, 110).
    A call another process's line split (``getgid( <unfinished ...>`` ... ``<... getgid
    resumed>) = 0``, as strace -f prints it on a busy host) is joined back into one."""
    lines = []
    pending: dict[str, str] = {}
    for line in text.splitlines():
        prefix = re.match(r"^(\[pid +(\d+)\] |(\d+) +)?", line)
        pid = (prefix.group(2) or prefix.group(3) or "") if prefix else ""
        line = line[prefix.end():] if prefix else line
        if line.endswith(" <unfinished ...>"):
            pending[pid] = line[:-len(" <unfinished ...>")]
            continue
        resumed = re.match(r"<\.\.\. \w+ resumed>", line)
        if resumed:
            line = pending.pop(pid, "") + line[resumed.end():]
        if re.match(r"(getppid|getuid|getgid)\(\)|--- SIGSYS |\+\+\+ killed by SIGSYS", line):
            line = " ".join(line.split())
            lines.append(re.sub(r"^getppid\(\) = (?!110$)\d+$", "getppid() = PPID", line))
    return lines


# the section, and how many of its first refusal lines are compared (all: None)
STRACED = [("errno", None), ("kill", None), ("trap", None)]


@pytest.mark.parametrize("section,compared", STRACED)
def test_refused_calls_show_in_strace_as_on_linux(section, compared, guest_bins, run_cloudos,
                                                  tmp_path):
    """``--strace`` shows the calls seccomp's filters refused, with their results (an
    errno; a kill's or a TRAP's call returns its number) and SIGSYS's seccomp fields, as
    the host's strace shows them: Linux's syscall-enter stop comes before the filters."""
    prog = guest_bins.path("seccomp", "static")
    log = tmp_path / "strace.txt"
    status, _out, err = run_cloudos([prog, section], timeout=60,
                                    extra_args=["--strace=" + str(log)])
    assert status == 0, err
    ours = _refusals(log.read_text())
    assert ours and any("getppid()" in line for line in ours)
    if shutil.which("strace") is None:
        return
    native = subprocess.run(["strace", "-f", str(prog), section], capture_output=True,
                            text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    assert ours[:compared] == _refusals(native.stderr)[:compared]
