"""`cloudos boot`: the boot log, a shell on the console with job control, ^C, a clean halt.

The interactive test drives a real terminal with tmux (skipped where tmux is missing).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAGES = ["firmware", "boot loader", "kernel entry", "architecture setup", "memory init",
          "kernel data structures", "device discovery", "scheduler", "system services",
          "init", "user space"]


def test_boot_logs_the_stages_and_halts_with_the_shells_status() -> None:
    proc = subprocess.run([sys.executable, "-m", "cloudos", "boot"], input=b"echo hi\nexit 3\n",
                          capture_output=True, cwd=REPO, timeout=120)
    assert proc.returncode == 3
    assert b"hi\n" in proc.stdout
    log = proc.stderr.decode()
    for stage in STAGES:
        assert stage in log, stage
    assert "Traceback" not in log


def test_boot_parameters() -> None:
    proc = subprocess.run([sys.executable, "-m", "cloudos", "boot", "--cmdline",
                           "quiet init=/bin/busybox mem=256M"], input=b"", capture_output=True,
                          cwd=REPO, timeout=120)
    assert b"boot: firmware" not in proc.stderr  # quiet
    bad = subprocess.run([sys.executable, "-m", "cloudos", "boot", "--cmdline", "nosuch=1"],
                         capture_output=True, cwd=REPO, timeout=120)
    assert bad.returncode != 0 and b"unknown boot parameter" in bad.stderr
    smp = subprocess.run([sys.executable, "-m", "cloudos", "boot", "--cpus", "3", "--cmdline",
                          "maxcpus=2"], input=b"nproc\nexit\n", capture_output=True, cwd=REPO,
                         timeout=120)
    assert smp.returncode == 0 and smp.stdout.endswith(b"2\n"), smp
    assert b"boost every 1 s, 2 CPUs" in smp.stderr
    for bad_cpus in (["--cpus", "0"], ["--cpus", "17"], ["--cmdline", "maxcpus=x"]):
        bad = subprocess.run([sys.executable, "-m", "cloudos", "boot", *bad_cpus],
                             capture_output=True, cwd=REPO, timeout=120)
        assert bad.returncode == 125 and b"Traceback" not in bad.stderr, bad  # usage: 125


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_interactive_shell_with_job_control() -> None:
    session = f"cloudos-{uuid.uuid4().hex[:8]}"
    marker = Path(f"/tmp/{session}.status")

    def keys(*k: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", session, *k], check=True)

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"],
                              capture_output=True, text=True).stdout

    def wait_for(text: str, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in (shown := screen()):
                return shown
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared:\n{screen()}")

    command = (f"cd {REPO} && {sys.executable} -m cloudos boot --cmdline quiet; "
               f"echo $? > {marker}; sleep 60")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30",
                    command], check=True)
    try:
        wait_for("#")  # the prompt (tmux drops its trailing space)
        assert "job control turned off" not in screen()  # /dev/tty and TIOCSPGRP work
        keys("echo hi", "Enter")
        wait_for("\nhi\n")
        keys("tty; tty </dev/tty", "Enter")  # ttyname(3): fstat matches the device node
        wait_for("\n/dev/console\n/dev/tty\n")
        keys("sleep 100", "Enter")
        time.sleep(1.5)
        started = time.monotonic()
        keys("C-c")
        wait_for("^C\n#")  # the shell is back at its prompt
        keys("echo back", "Enter")
        wait_for("\nback\n")
        # (sleep 100 not stopped would take 100 s; 60 leaves a loaded host room)
        assert time.monotonic() - started < 60, "^C did not stop sleep 100"
        keys("sleep 0.2 & wait", "Enter")
        wait_for("Done")  # job control: the shell reports its background job
        keys("sleep 100", "Enter")
        time.sleep(1.5)
        keys("C-z")  # SIGTSTP to the foreground job: it stops, the shell takes over
        wait_for("Stopped")
        keys("jobs", "Enter")
        wait_for("# jobs\n[1] + Stopped")
        keys("fg", "Enter")  # SIGCONT: it runs again in the foreground
        wait_for("# fg\nsleep 100\n")
        time.sleep(0.5)
        keys("C-c")
        wait_for("# fg\nsleep 100\n^C\n#")
        keys("echo again", "Enter")
        wait_for("\nagain\n")
        # CloudOS's line discipline: editing, and the machine runs while the shell waits
        keys("echo hellp", "BSpace", "BSpace", "lo", "Enter")
        wait_for("\nhello\n")
        keys("(sleep 0.3; echo ran-while-the-shell-waited) &", "Enter")
        wait_for("ran-while-the-shell-waited\n", timeout=10)  # nothing typed meanwhile
        # a background job reading the terminal stops (SIGTTIN); the shell keeps the input
        keys("cat &", "Enter")
        time.sleep(0.5)
        keys("echo the-shell-read-this", "Enter")
        wait_for("\nthe-shell-read-this\n")
        wait_for("Stopped (tty input)")
        keys("fg", "Enter")
        wait_for("# fg\ncat\n")
        keys("now to cat", "Enter")
        wait_for("now to cat\nnow to cat\n")  # the echo, then cat's copy
        keys("C-d")  # end of file: cat ends, the shell prompts again
        time.sleep(0.5)
        # with TOSTOP a background job writing to the terminal stops too (SIGTTOU)
        keys("stty tostop; (sleep 0.2; echo from-the-background) &", "Enter")
        time.sleep(1)
        keys("jobs", "Enter")  # dash reports a job's stop when it next prompts
        wait_for("Stopped (tty output)", timeout=10)
        keys("fg", "Enter")
        wait_for("\nfrom-the-background\n")
        keys("stty -tostop", "Enter")
        keys("exit", "Enter")
        end = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < end:
            time.sleep(0.2)
        assert marker.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        marker.unlink(missing_ok=True)
