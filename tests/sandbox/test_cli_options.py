"""``cloudos run``'s options and exit statuses (cloudos/cli.py): environment, identity,
working directory, limits, usage errors (125), programs not found (127) or not
runnable (126), and host signals that halt the machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _usage_error(done: subprocess.CompletedProcess[bytes], option: str) -> bool:
    """A usage error: status 125, the usage line, and one message that names ``option``."""
    err = done.stderr.decode()
    message = [line for line in err.splitlines() if line.startswith("Error: ")]
    return done.returncode == 125 and err.startswith("Usage: ") and "Traceback" not in err \
        and len(message) == 1 and option in message[0]


def test_an_unknown_option_is_a_usage_error(cloudos) -> None:
    done = cloudos("--frobnicate", "--", "/bin/true")
    assert _usage_error(done, "--frobnicate"), done.stderr


def test_bad_values_are_usage_errors_naming_the_option(cloudos) -> None:
    for args, option in ((("--mem", "lots"), "--mem"), (("--mem",), "--mem"),
                         (("--cpus", "x"), "--cpus"), (("--cpus", "0"), "--cpus"),
                         (("--cpus", "17"), "--cpus"), (("--timeout", "0"), "--timeout"),
                         (("--max-open-files", "2"), "--max-open-files"),
                         (("--backend", "qemu"), "--backend"),
                         (("--root", "/no/such/dir"), "--root")):
        done = cloudos(*args, "--", "/bin/true")
        assert _usage_error(done, option), (args, done.stderr)
    assert _usage_error(cloudos(), "PROGRAM")


def test_run_stops_at_the_first_positional(cloudos) -> None:
    """What follows PROGRAM is PROGRAM's, options and "--" too; a "--" before PROGRAM
    ends CloudOS's options and is not part of the command."""
    done = cloudos("--mem", "64M", "/bin/echo", "--mem", "x", "-v", "--")
    assert (done.returncode, done.stdout) == (0, b"--mem x -v --\n"), done.stderr
    done = cloudos("--", "/bin/echo", "-x", "--help")
    assert (done.returncode, done.stdout) == (0, b"-x --help\n"), done.stderr
    done = cloudos("-0", "-sh", "--", "/bin/sh", "-c", "echo $0")  # (a login shell's name)
    assert done.stdout == b"-sh\n", done.stderr


def test_strace_with_and_without_a_file(tmp_path: Path, cloudos) -> None:
    done = cloudos("--strace", "--", "/bin/true")
    assert done.returncode == 0 and b"exit_group(0)" in done.stderr, done.stderr
    log = tmp_path / "strace.log"
    done = cloudos(f"--strace={log}", "--", "/bin/true")
    assert done.returncode == 0 and b"exit_group" not in done.stderr, done.stderr
    assert "exit_group(0)" in log.read_text()


def test_cpus_from_the_environment(cloudos) -> None:
    done = cloudos("--", "/bin/nproc", env={"CLOUDOS_CPUS": "3"})
    assert done.stdout == b"3\n", done.stderr
    done = cloudos("--cpus", "2", "--", "/bin/nproc", env={"CLOUDOS_CPUS": "3"})
    assert done.stdout == b"2\n", done.stderr  # the command line wins
    assert _usage_error(cloudos("--", "/bin/true", env={"CLOUDOS_CPUS": "99"}), "--cpus")


def test_version_and_an_accurate_help(cloudos) -> None:
    version = subprocess.run([sys.executable, "-m", "cloudos", "--version"], cwd=REPO_ROOT,
                             capture_output=True)
    assert version.returncode == 0 and version.stdout.startswith(b"cloudos, version ")
    done = cloudos("--help")
    assert done.returncode == 0 and done.stdout.startswith(b"Usage: "), done.stderr
    help_text = done.stdout
    assert b"static x86_64 ELF" not in help_text
    for word in (b"#!", b"--timeout", b"124", b"125", b"126", b"127", b"--root",
                 b"-w, --workdir DIR", b"--strace [=FILE]", b"[default: 1G]"):
        assert word in help_text, word
    # RUN_HELP's table as written, not rewrapped
    table_row = b"\n  CWD          the directory you run from, read-only, where PROGRAM starts"
    assert table_row + b" (not /,\n" in help_text and b"\x08" not in help_text
    top = subprocess.run([sys.executable, "-m", "cloudos", "--help"], cwd=REPO_ROOT,
                         capture_output=True)
    assert top.returncode == 0
    for command in (b"run", b"boot", b"syscalls"):
        assert b"\n  " + command + b" " in top.stdout, command


def test_environment_options(tmp_path: Path, cloudos) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=1\nPASSED\n")
    done = cloudos("--env-file", str(env_file), "-e", "SET=a=b", "-e", "PASSED",
                   "-e", "UNSET_ON_HOST", "--", "/usr/bin/env",
                   env={"PASSED": "yes", "NOT_PASSED": "no"})
    lines = done.stdout.decode().splitlines()
    assert {"FROM_FILE=1", "SET=a=b", "PASSED=yes"} <= set(lines), lines
    assert not [line for line in lines if line.startswith(("NOT_PASSED", "UNSET_ON_HOST"))]
    done = cloudos("--inherit-env", "--", "/usr/bin/env", env={"NOT_PASSED": "now"})
    assert b"NOT_PASSED=now\n" in done.stdout


def test_workdir_user_and_argv0(cloudos) -> None:
    done = cloudos("-w", "/usr/share", "-u", "1234:99", "-0", "echo", "--", "/usr/bin/busybox",
                   "sh", "-c", "ignored")
    assert done.stdout == b"sh -c ignored\n", done.stderr.decode()  # busybox ran as "echo"
    done = cloudos("-w", "/usr/share", "-u", "1234:99", "--", "/bin/sh", "-c",
                   "pwd; id -u; id -g")
    assert done.stdout == b"/usr/share\n1234\n99\n", done.stderr.decode()
    assert cloudos("-w", "/no/such/dir", "--", "/bin/true").returncode == 125
    # the auxiliary vector tells the program the same ids (ld.so prints it)
    done = cloudos("-u", "1234:99", "-e", "LD_SHOW_AUXV=1", "--", "/bin/true")
    ids = {line.split(":")[0]: line.split()[-1] for line in done.stdout.decode().splitlines()
           if line.startswith(("AT_UID", "AT_EUID", "AT_GID", "AT_EGID"))}
    assert ids == {"AT_UID": "1234", "AT_EUID": "1234", "AT_GID": "99", "AT_EGID": "99"}, ids


def test_hostname(cloudos) -> None:
    done = cloudos("--hostname", "box", "--", "/bin/sh", "-c",
                   "uname -n; hostname other && uname -n; (uname -n)")
    assert done.stdout == b"box\nother\nother\n", done.stderr.decode()
    assert cloudos("--", "/bin/uname", "-n").stdout == b"cloudos\n"
    done = cloudos("-u", "5", "--", "/bin/sh", "-c", "hostname x; uname -n")
    assert done.stdout == b"cloudos\n" and b"root" in done.stderr  # EPERM
    assert cloudos("--hostname", "x" * 65, "--", "/bin/true").returncode == 125


def test_limits_reach_the_program(cloudos) -> None:
    done = cloudos("--max-procs", "7", "--max-open-files", "20", "--", "/bin/sh", "-c",
                   "ulimit -p; ulimit -n")  # dash: -p is RLIMIT_NPROC
    assert done.stdout == b"7\n20\n", done.stderr.decode()


def test_timeout_halts_the_machine_with_124(cloudos) -> None:
    # Without the timeout the guest would run 30 s: any bound below that tells the two
    # apart, and the widest leaves the most room for a loaded host.
    begin = time.monotonic()
    done = cloudos("--timeout", "1", "--", "/bin/sleep", "30")
    assert done.returncode == 124 and time.monotonic() - begin < 28
    reader = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE)
    try:  # a read of the console waiting on the host is cut short too
        begin = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "cloudos", "run", "--timeout", "1", "--",
                               "/bin/cat"], cwd=REPO_ROOT, stdin=reader.stdout,
                              capture_output=True, timeout=60)
        assert done.returncode == 124 and time.monotonic() - begin < 28
    finally:
        reader.kill()
        reader.wait()


def test_cpu_time_kills_a_spinning_program(cloudos) -> None:
    done = cloudos("--cpu-time", "1", "--", "/bin/sh", "-c", "while :; do :; done")
    assert done.returncode == 128 + signal.SIGKILL, done.stderr.decode()


def test_sigint_from_a_script_stops_the_guest_with_130() -> None:
    guest = subprocess.Popen([sys.executable, "-m", "cloudos", "run", "--", "/bin/sh", "-c",
                              "trap '' INT; echo ready; sleep 60"], cwd=REPO_ROOT,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert guest.stdout is not None and guest.stdout.readline() == b"ready\n"
    guest.send_signal(signal.SIGINT)
    _, err = guest.communicate(timeout=30)
    assert guest.returncode == 130 and b"Traceback" not in err, err.decode()


def test_programs_are_found_in_the_guest(tmp_path: Path, cloudos) -> None:
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho script \"$0\" \"$@\"\n")
    script.chmod(0o755)
    windows = tmp_path / "tool.exe"
    windows.write_bytes(b"MZ\x90\x00" + bytes(60))
    windows.chmod(0o755)
    shown = ("--no-cwd", "--mount", f"{tmp_path}:/opt/tools")
    done = cloudos(*shown, "--", "/opt/tools/hello.sh", "a")
    assert (done.returncode, done.stdout) == (0, b"script /opt/tools/hello.sh a\n")
    done = cloudos(*shown, "-e", "PATH=/opt/tools:/bin", "--", "hello.sh")
    assert done.stdout == b"script /opt/tools/hello.sh\n", done.stderr.decode()
    done = cloudos(*shown, "--", "/opt/tools/tool.exe")
    assert done.returncode == 126 and b"a Windows program" in done.stderr
    done = cloudos("--no-cwd", "--", str(script))  # on the host, not in the guest
    assert done.returncode == 127 and b"--mount" in done.stderr
    assert cloudos("--", "no-such-program-anywhere").returncode == 127
    assert cloudos("--", "/etc/passwd").returncode == 126


def test_mem_beyond_the_host_says_the_limit(cloudos) -> None:
    done = cloudos("--mem", "1T", "--", "/bin/true")
    assert done.returncode == 125 and b"this host's" in done.stderr


def _with_fds(fds: tuple[int, ...], *args: str) -> subprocess.CompletedProcess[bytes]:
    """``cloudos run ARGS`` with descriptors ``fds`` of this process left open in it."""
    return subprocess.run([sys.executable, "-m", "cloudos", "run", *args], cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                          pass_fds=fds)


def test_a_kvm_fd_that_is_not_kvm_is_refused_with_125(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a device\n")
    with open(tmp_path / "file", "rb") as plain, open("/dev/null", "rb") as null:
        for backend, fd, why in (("kvm", plain.fileno(), b"not a character device"),
                                 ("kvm", null.fileno(), b"Inappropriate ioctl"),
                                 ("auto", null.fileno(), b"Inappropriate ioctl"),
                                 ("kvm", 987, b"Bad file descriptor")):
            done = _with_fds((plain.fileno(), null.fileno()), "--backend", backend,
                             "--kvm-fd", str(fd), "--", "/bin/true")
            assert done.returncode == 125, (backend, fd, done.stderr)
            assert b"KVM cannot be used" in done.stderr and why in done.stderr, done.stderr


def test_kvm_through_a_descriptor_the_parent_opened() -> None:
    try:
        kvm = os.open("/dev/kvm", os.O_RDWR)
    except OSError as err:
        pytest.skip(f"no KVM here: /dev/kvm: {err.strerror}")
    try:
        done = _with_fds((kvm,), "-v", "--backend", "kvm", "--kvm-fd", str(kvm), "--",
                         "/bin/echo", "hi")
    finally:
        os.close(kvm)
    assert (done.returncode, done.stdout) == (0, b"hi\n"), done.stderr
    assert f"KVM CPU (kvm: /dev/kvm from descriptor {kvm})".encode() in done.stderr
