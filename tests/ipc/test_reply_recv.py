"""cloudos_reply_recv (seL4's ReplyRecv): a server answers a call and waits for the next
in one system call. tests/ipc/ipc_reply_recv.c: a loop of 300 round trips, then each
refusal and each partial outcome (see the program). The same answers with the direct
switch off and the fast path off; in-process, the loop's answers take the fast path
(the caller handed the CPU at once) and the rest fall back to reply then receive.
CloudOS-only calls: the expected output is written here (Linux has no such calls: its
run only shows ENOSYS).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INCLUDE = HERE.parents[1] / "include"

EXPECTED = """\
client loop: 300 calls, 0 bad
server loop: 300 answered, 0 bad, then got 8 bytes tag 1
server port without RECV: EPERM
server bad buffer: EFAULT
server plain reply after both: ok
client A: ok, 8 bytes tag 2001 value 77
client B sent: ok
server spent reply: EPERM, tag left 0
server then received: 8 bytes tag 2 value 5 reply no
server got: 8 bytes tag 3
client D sent: ok
server queued: 8 bytes tag 4 value 6
client C: ok, 8 bytes tag 2003 value 88
server got: 8 bytes tag 5
server empty port, no wait: EAGAIN
client E: ok, 8 bytes tag 2005 value 99
server got: 8 bytes tag 6
client F: ok, 8 bytes tag 2006 value 111
client: server killed by signal 9
"""


def by_process(text: str) -> tuple[list[str], list[str]]:
    """The server's lines and the clients', each in its own order."""
    lines = text.splitlines()
    return ([line for line in lines if line.startswith("server")],
            [line for line in lines if not line.startswith("server")])


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path_factory.mktemp("reply_recv") / "ipc_reply_recv"
    subprocess.run(["gcc", "-static", "-O1", "-I", str(INCLUDE), "-o", str(out),
                    str(HERE / "ipc_reply_recv.c")], check=True)
    return out


def test_native_linux_has_no_such_call(program, run_native) -> None:
    status, _, err = run_native([program])
    assert (status, err) == (1, b"setup: Function not implemented\n")


@pytest.mark.parametrize("extra", [(), ("--cpus", "2")], ids=["1cpu", "2cpus"])
@pytest.mark.parametrize("env", [{}, {"CLOUDOS_DIRECT_SWITCH": "0"}, {"CLOUDOS_FASTPATH": "0"}],
                         ids=["default", "no-direct-switch", "no-fastpath"])
def test_the_same_answers_on_every_path(program, run_cloudos, env, extra) -> None:
    status, out, err = run_cloudos([program], env={**os.environ, **env}, extra_args=extra)
    assert by_process(out.decode()) == by_process(EXPECTED), err.decode()
    assert status == 0


def test_the_loop_s_answers_hand_the_cpu_to_the_caller(program, capfd, guest_backend) -> None:
    """In-process: each fallback (reply then receive) counted. The loop's answers take the
    fast path but for the first few (the caller's reply buffer may be a copy-on-write
    page at first: the C move refuses it); the spent reply, the queued message and the
    timeout of 0 fall back. On KVM (the CPU cannot switch in the hook) and with the
    direct switch off, every answer falls back."""
    from cloudos.linux import switch
    from cloudos.linux.syscalls import sys_cloudos
    from cloudos.machine import Machine, Mount, Sandbox

    shared = str(program.parent)
    machine = Machine(256 << 20, sandbox=Sandbox(mounts=(Mount(shared, shared),)))
    real = sys_cloudos.sys_reply
    fallbacks: list[int] = []

    def counting(t, token, msg, *rest):  # type: ignore[no-untyped-def]
        fallbacks.append(token)
        return real(t, token, msg, *rest)

    sys_cloudos.sys_reply = counting  # type: ignore[assignment]
    try:
        assert machine.run(str(program), [str(program)], dict(os.environ)) == 0
    finally:
        sys_cloudos.sys_reply = real
    assert by_process(capfd.readouterr().out) == by_process(EXPECTED)
    answers = 300 + 4  # the loop's, the spent one, C, E and F (A's: a plain reply)
    if guest_backend == "kvm" or not switch.ENABLED:
        assert len(fallbacks) == answers
    else:
        assert 3 <= len(fallbacks) <= 6, len(fallbacks)
