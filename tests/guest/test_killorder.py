"""A signal whose default action ends a process ends it the way Linux does: the signal is
made pending and the target woken, from whatever it sleeps in, and the target ends itself
on its way back to user mode; the sender's kill() returns first. CloudOS ended the target
inside the sender's kill(), so the sender took SIGCHLD on kill()'s way out and a wait with
WNOHANG right after found the zombie: dash's ``kill $p; wait $p`` reaped the job before
its ``wait`` and never said "Terminated" (the compatibility sweep found it).

Each section of tests/guest/killorder.c runs natively and under ``cloudos run``, on one
and two vCPUs, and with host CPU hogs beside; then dash's job messages are compared with
the host's dash."""

from __future__ import annotations

import shutil

import pytest

from tests.guest.sections import native_then_cloudos
from tests.guest.test_direct_switch import hogs  # noqa: F401 (a fixture)

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

AT_ONCE = ", at once"
SECTIONS = {
    "order": [b"SIGCHLD not yet taken when kill() returned, in one try at least: yes",
              b"child not yet ended when kill() returned, in one try at least: yes",
              b"every child killed by SIGTERM: yes"],
    "stopped": [b"child: stopped by Stopped (signal)",
                b"after SIGTERM, stopped: waitpid WNOHANG: 0",
                b"then SIGKILL: killed by Killed" + AT_ONCE.encode(),
                b"SIGTERM while stopped, then SIGCONT: killed by Terminated" + AT_ONCE.encode()],
    "sleepers": [f"{sig} in {kind}: killed by {sig}{AT_ONCE}".encode()
                 for sig in ("Terminated", "Killed")
                 for kind in ("pause", "nanosleep", "pipe read", "futex wait", "sigsuspend",
                              "wait4", "vfork")],
    "threads": [b"kill SIGTERM, three threads asleep: killed by Terminated" + AT_ONCE.encode(),
                b"tgkill SIGTERM to a side thread: killed by Terminated" + AT_ONCE.encode(),
                b"the side thread was not the main one: yes"],
    "self": [b"kill(getpid(), SIGTERM): it said [before;]",
             b"a second thread's kill(getpid(), SIGTERM): it said [before;]",
             b"write to a pipe nobody reads: killed by Broken pipe" + AT_ONCE.encode(),
             b"write to a pipe nobody reads: it said [before;]"],
    "traced": [b"tracee: stopped by Stopped (signal)",
               b"SIGKILL in its ptrace-stop: killed by Killed" + AT_ONCE.encode(),
               b"kill(zombie, SIGKILL): 0", b"the zombie: exited with 3" + AT_ONCE.encode()],
    # (on two CPUs a signal sent while the child, out of guest code with its call, waited
    # for the big lock was lost: the child slept on; robust's loaded "killed", 1 in 20)
    "racing": [b"SIGKILL as it pauses: ended as it should, at once: 30 of 30",
               b"SIGTERM as it reads a pipe: ended as it should, at once: 30 of 30",
               b"SIGTERM as it starts a nanosleep: ended as it should, at once: 30 of 30"],
}


@pytest.mark.parametrize("cpus", [1, 2])
@pytest.mark.parametrize("section", list(SECTIONS))
def test_section(section, cpus, guest_bins, run_native, run_cloudos):
    native_then_cloudos(guest_bins.path("killorder", "static"), [section], SECTIONS[section],
                        run_native, run_cloudos, extra_args=["--cpus", str(cpus)])


@pytest.mark.parametrize("cpus", [1, 2])
@pytest.mark.parametrize("section", ["order", "sleepers", "threads", "racing"])
def test_section_loaded(section, cpus, hogs, guest_bins, run_native,  # noqa: F811
                        run_cloudos):
    native_then_cloudos(guest_bins.path("killorder", "static"), [section], SECTIONS[section],
                        run_native, run_cloudos, extra_args=["--cpus", str(cpus)])


# dash says how a job it waits for ended, on stderr, if the job ends while it waits (if it
# ended before, dash reaped it without a word): natively, kill's return then the wait come
# first almost always; CloudOS's system calls are slower, so a quantum ends between them
# more often. Five tries each: what is said must be what Linux says, and said at least once.
TRIES = 5
JOBS = [("", b"Terminated", b"143"), ("-USR1", b"User defined signal 1", b"138"),
        ("-KILL", b"Killed", b"137")]


@pytest.mark.parametrize("cpus", [1, 2])
@pytest.mark.parametrize("flag,message,status", JOBS, ids=["TERM", "USR1", "KILL"])
def test_dash_says_how_a_killed_job_ended(flag, message, status, cpus, run_native,
                                          run_cloudos):
    dash = shutil.which("dash")
    if dash is None:
        pytest.skip("no dash on the host")
    script = (f"for i in {' '.join(map(str, range(TRIES)))}; do "
              f"sleep 10 & p=$!; kill {flag} $p; wait $p; echo $?; done")
    n_status, n_out, n_err = run_native([dash, "-c", script])
    assert (n_status, n_out) == (0, b"\n".join([status] * TRIES) + b"\n"), (n_out, n_err)
    assert set(n_err.splitlines()) == {message}, n_err
    g_status, g_out, g_err = run_cloudos(["/usr/bin/dash", "-c", script],
                                         extra_args=["--cpus", str(cpus)])
    assert (g_status, g_out) == (n_status, n_out), g_err.decode(errors="replace")
    assert set(g_err.splitlines()) == {message}, g_err.decode(errors="replace")
