"""A process that dies while a server holds its call parked (a read of an empty pipe):
the server finds its caller no longer waits, and drops the call, as Linux's killed reader
takes nothing (the guest side: tests/guest/test_pipefast.py's "killed" section, through
the VFS's port with the fast path off)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from cloudos.linux.personality import _stop_waiting


def test_a_dead_process_no_longer_waits_for_its_replies() -> None:
    asleep = SimpleNamespace(channel=("reply", 5))
    other = SimpleNamespace(channel=("futex", 1, 2))
    channels: dict[Any, list[Any]] = {("reply", 5): [asleep], ("futex", 1, 2): [other]}
    kernel = SimpleNamespace(scheduler=SimpleNamespace(channels=channels))
    _stop_waiting(kernel, SimpleNamespace(threads=[asleep, other]))  # type: ignore[arg-type]
    assert asleep.channel is None and other.channel == ("futex", 1, 2)
    assert channels == {("futex", 1, 2): [other]}
