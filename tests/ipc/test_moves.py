"""The C transfer of a call's request and a reply's answer (``sys_call`` and
``sys_reply``'s ``_ipcmsg.move``) and each case it leaves to the Python path: the same
answers with it, without the direct switch (no inline call or reply: no C transfer), and
without the fast path. tests/ipc/ipc_moves.c: a request from .rodata, cut by the
server's capacity, an answer cut by the caller's, bad pointers, an oversized request, a
header across pages, an answer from another page, a reply buffer the caller cannot
write, an empty request. CloudOS-only calls: the expected output is written here (Linux
has no such calls).
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
server request 0: 13 bytes tag 1 'on the stack' sender parent
server reply 0: ok
client first: 25 bytes tag 101 'answer 0 to on the stack' sender set
server request 1: 13 bytes tag 2 'on the stack' sender parent
server reply 1: ok
client stack: 25 bytes tag 102 'answer 1 to on the stack' sender set
server request 2: 13 bytes tag 3 'from .rodata' sender parent
server reply 2: ok
client rodata: 25 bytes tag 103 'answer 2 to from .rodata' sender set
server request 3: 3 bytes tag 4 'hel' sender parent
server reply 3: ok
client cut request: 16 bytes tag 104 'answer 3 to hel' sender set
server request 4: 13 bytes tag 5 'on the stack' sender parent
server reply 4: ok
client cut answer: 4 bytes tag 105 'answ' sender set
client bad payload: EFAULT
client bad request: EFAULT
client bad reply buffer: EFAULT
client oversized: EMSGSIZE
server request 5: 13 bytes tag 9 'on the stack' sender parent
server reply 5: ok
client header across pages: 25 bytes tag 109 'answer 5 to on the stack' sender set
server request 6: 13 bytes tag 10 'on the stack' sender parent
server reply 6: ok
client far answer: 23 bytes tag 110 'an answer from .rodata' sender set
server request 7: 13 bytes tag 11 'on the stack' sender parent
server reply 7: ok
client read-only reply: EFAULT
server request 8: 0 bytes tag 12 '' sender parent
server reply 8: ok
client empty: 13 bytes tag 112 'answer 8 to ' sender set
server request 9: 13 bytes tag 13 'on the stack' sender parent
server reply 9: ok
client fresh page: 25 bytes tag 113 'answer 9 to on the stack' sender set
client: server exited 0
"""


def by_process(text: str) -> tuple[list[str], list[str]]:
    """The server's lines and the client's, each in its own order (the two run
    concurrently)."""
    lines = text.splitlines()
    return ([line for line in lines if line.startswith("server")],
            [line for line in lines if not line.startswith("server")])


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path_factory.mktemp("moves") / "ipc_moves"
    subprocess.run(["gcc", "-static", "-O1", "-I", str(INCLUDE), "-o", str(out),
                    str(HERE / "ipc_moves.c")], check=True)
    return out


@pytest.mark.parametrize("env", [{}, {"CLOUDOS_DIRECT_SWITCH": "0"}, {"CLOUDOS_FASTPATH": "0"}],
                         ids=["default", "no-direct-switch", "no-fastpath"])
def test_the_same_answers_with_and_without_the_c_transfer(program, run_cloudos, env) -> None:
    status, out, err = run_cloudos([program], env={**os.environ, **env})
    assert by_process(out.decode()) == by_process(EXPECTED), err.decode()
    assert status == 0


def test_the_c_transfer_takes_the_common_case_and_refuses_the_rest(program, capfd,
                                                                   guest_backend) -> None:
    """In-process, each ``_ipcmsg.move`` counted: the answers and requests in one page
    go through it; those it refuses (-1: from .rodata, across pages, a read-only reply
    buffer, oversized, a bad pointer) take the Python path with the answers above.
    With the direct switch off, none is made. On KVM no call is handed to the server
    in the hook (``may_hand_to``: the CPU cannot switch there), so only replies use it."""
    from cloudos.linux import switch
    from cloudos.linux.syscalls import sys_cloudos
    from cloudos.machine import Machine, Mount, Sandbox

    shared = str(program.parent)
    machine = Machine(256 << 20, sandbox=Sandbox(mounts=(Mount(shared, shared),)))
    real = sys_cloudos._ipcmsg
    moves: list[tuple[str, int]] = []

    class Counting:
        peek = real.peek

        @staticmethod
        def move(*args: int) -> int:
            result = real.move(*args)
            moves.append(("reply" if args[8] == 0 else "call", result))
            return result

    sys_cloudos._ipcmsg = Counting  # type: ignore[assignment]
    try:
        assert machine.run(str(program), [str(program)], dict(os.environ)) == 0
    finally:
        sys_cloudos._ipcmsg = real
    assert by_process(capfd.readouterr().out) == by_process(EXPECTED)
    if not switch.ENABLED:  # (CLOUDOS_DIRECT_SWITCH=0: no inline call or reply at all)
        assert moves == []
        return
    replies = [result for kind, result in moves if kind == "reply"]
    calls = [result for kind, result in moves if kind == "call"]
    # 10 answers: the one from .rodata and the one to a read-only buffer refused; the
    # caller's stack page may be copy-on-write at first (refused: the Python path copies)
    assert len(replies) == 10 and replies.count(-1) in (2, 3), moves
    assert sum(size >= 0 for size in replies) >= 7, moves
    if guest_backend == "kvm":
        assert calls == [], moves
    else:  # (request 0 may come before the server waits: no move; 5 refused)
        assert calls.count(-1) == 5 and sum(size >= 0 for size in calls) >= 6, moves
