"""Native IPC between guest processes (include/cloudos.h): CloudOS-only behaviour.

Linux has no such calls, so the expected output is written here, not taken from
a native run; the native run only confirms the program is well-formed (ENOSYS).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INCLUDE = HERE.parents[1] / "include"

EXPECTED = """\
server got 5 bytes tag 1: ping (reply cap: yes)
server reply: ok
server second reply on the same cap: EPERM
client got 5 bytes tag 2: pong
server got 1 capabilities, grant: yes
server grant read: ok
server sees lent memory: secret
server grant write: ok
server grant read past its end: EFAULT
server send on transferred cap: ok
client got on port2: via transferred cap; its memory now says: GRANTED
server served 'first this' before answering 'answer me later'
client got the deferred reply: late answer
send without SEND: EPERM
widen RECV to RECV|SEND: EPERM
derived: type 1 rights 0x10 valid 1
revoke without REVOKE: EPERM
revoked: 2
inspect revoked: EPERM, grandchild: EPERM
forged checksum: EPERM
forged rights: EPERM
poll empty: EAGAIN
receive with 5 ms timeout: ETIMEDOUT
queued 64, then: EAGAIN
send with 10 ms timeout: ETIMEDOUT
oversized message: EMSGSIZE
bad message pointer: EFAULT
waiting receive into a bad buffer: EFAULT
then poll: ok once, then poll: EAGAIN
waiting receive into a bad buffer, a call: EFAULT
then poll: ok question tag 5 (reply cap: yes)
caller got: ok answer tag 6
reply: ok
quitter's first call: ETIMEDOUT
quitter's second call: ok on time tag 10
late reply to a caller that gave up: ESRCH
reply to the second call (second): ok
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path_factory.mktemp("ipc") / "ipc_pingpong"
    subprocess.run(["gcc", "-static", "-O1", "-I", str(INCLUDE), "-o", str(out),
                    str(HERE / "ipc_pingpong.c")], check=True)
    return out


def test_native_linux_has_no_such_calls(program, run_native) -> None:
    status, out, _ = run_native([program])
    assert (status, out) == (1, b"port_create: ENOSYS\n")


def by_process(text: str) -> tuple[list[str], list[str]]:
    """The server's lines and everyone else's, each in the order printed.

    The two processes run concurrently, so only each one's own order is fixed.
    """
    lines = text.splitlines()
    return ([line for line in lines if line.startswith("server")],
            [line for line in lines if not line.startswith("server")])


def test_two_processes_talk_over_a_port(program, run_cloudos) -> None:
    status, out, err = run_cloudos([program])
    assert by_process(out.decode()) == by_process(EXPECTED), err.decode()
    assert status == 0


def test_a_server_keeps_no_spent_reply_capability(tmp_path, capfd) -> None:
    """bench/ipc_pingpong.c, 300 call/reply round trips: the server's capability space
    holds the port and at most the reply capability of the call it serves, not one spent
    reply capability per call answered (before: 300 of them when it exited)."""
    import os

    from cloudos.machine import Machine, Mount, Sandbox

    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path / "ipc_pingpong"
    subprocess.run(["gcc", "-static", "-O1", "-I", str(INCLUDE), "-o", str(out),
                    str(HERE.parents[1] / "bench" / "ipc_pingpong.c")], check=True)
    machine = Machine(256 << 20, sandbox=Sandbox(mounts=(Mount(str(tmp_path), str(tmp_path)),)))
    caps = machine.kernel.ipc.caps
    held: dict[int, int] = {}
    drop = caps.drop

    def counting(pid: int) -> None:  # the size of each process's space when it ends
        held[pid] = len(caps.spaces.get(pid, {}))
        drop(pid)

    caps.drop = counting  # type: ignore[method-assign]
    assert machine.run(str(out), [str(out), "300"], dict(os.environ)) == 0
    assert capfd.readouterr().out == "ipc_pingpong n=300 ok=300\n"
    assert len(held) >= 2 and max(held.values()) <= 2, held
