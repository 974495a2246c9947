"""The kernel log as Linux's syslog(2) (klogctl) shows it: what dmesg reads.

Owns: ``sys_syslog``, over the kernel's own ring buffer (``hal.console.KernelLog``:
its last 1,000 lines), each line a record as Linux formats them, ``<level>[seconds]
text``; the reader's position and the clear mark of SYSLOG_ACTION_READ and CLEAR
(``Syslog``, one per machine); the console level (what reaches the host's standard
error) that root may change, as ``dmesg -n`` does.
Never: waits for a message: SYSLOG_ACTION_READ with nothing unread is EAGAIN, where
Linux sleeps until one is logged (nothing wakes a reader when the kernel logs).
Called by: the system call table.
"""

from __future__ import annotations

import weakref
from typing import Any

from cloudos.abi import sysctl
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Thread
from cloudos.linux.creds import CAP_SYS_ADMIN, CAP_SYSLOG
from cloudos.linux.process import linux
from cloudos.linux.syscalls.args import s32

# The actions (include/linux/syslog.h)
CLOSE, OPEN, READ, READ_ALL, READ_CLEAR, CLEAR = 0, 1, 2, 3, 4, 5
CONSOLE_OFF, CONSOLE_ON, CONSOLE_LEVEL, SIZE_UNREAD, SIZE_BUFFER = 6, 7, 8, 9, 10
LOG_BUF_LEN = 1 << 17  # CONFIG_LOG_BUF_SHIFT 17: what SIZE_BUFFER says, READ_ALL's bound
MINIMUM_CONSOLE_LOGLEVEL = 1


class Syslog:
    """A machine's syslog(2) state: line numbers (``KernelLog.count``'s) of the next line
    READ returns and of the first line after the last CLEAR; the console level saved by
    CONSOLE_OFF (None: none saved)."""

    def __init__(self) -> None:
        self.read = self.cleared = 0
        self.saved_level: int | None = None


_STATE: weakref.WeakKeyDictionary[Any, Syslog] = weakref.WeakKeyDictionary()


def _record(line: tuple[float, int, str]) -> bytes:
    stamp, level, message = line
    seconds = int(stamp)
    micros = int((stamp - seconds) * 1_000_000)
    return f"<{level}>[{seconds:5d}.{micros:06d}] {message}\n".encode()


def _records(log: Any, since: int) -> list[bytes]:
    """The records of the lines numbered ``since`` on that the buffer still holds."""
    first = log.count - len(log.lines)
    return [_record(line) for line in log.lines[max(0, since - first):]]


def sys_syslog(t: Thread, action: int, buf: int, length: int, *_: int) -> int:
    """Implements Linux syslog(2) over CloudOS's kernel log (see the module)."""
    action, length = s32(action), s32(length)
    kernel = t.process.kernel
    creds = linux(t.process).creds
    restricted = sysctl.of(kernel).number("kernel/dmesg_restrict") \
        or action not in (READ_ALL, SIZE_BUFFER)
    if restricted and not (creds.capable(CAP_SYSLOG) or creds.capable(CAP_SYS_ADMIN)):
        raise KernelError(Errno.EPERM, "syslog needs CAP_SYSLOG")
    log, state = kernel.log, _STATE.setdefault(kernel, Syslog())
    if action in (CLOSE, OPEN):
        return 0
    if action in (READ, READ_ALL, READ_CLEAR):
        if not buf or length < 0:
            raise KernelError(Errno.EINVAL, "syslog buffer")
        if not length:
            return 0
        if action == READ:
            return _read(t, log, state, buf, length)
        records = _records(log, state.cleared)
        while records and sum(map(len, records)) > min(length, LOG_BUF_LEN):
            records.pop(0)  # (the oldest go first: the newest that fit are read; none: 0)
        data = b"".join(records)
        t.process.aspace.copy_out(buf, data)
        if action == READ_CLEAR:
            state.cleared = log.count
        return len(data)
    if action == CLEAR:
        state.cleared = log.count
        return 0
    if action == CONSOLE_OFF:
        if state.saved_level is None:
            state.saved_level = log.console_level + 1
        log.console_level = MINIMUM_CONSOLE_LOGLEVEL - 1
        return 0
    if action == CONSOLE_ON:
        if state.saved_level is not None:
            log.console_level, state.saved_level = state.saved_level - 1, None
        return 0
    if action == CONSOLE_LEVEL:
        if not 1 <= length <= 8:
            raise KernelError(Errno.EINVAL, f"console level {length}")
        # (Linux prints levels below its console level; the console prints at or below)
        log.console_level, state.saved_level = max(length, MINIMUM_CONSOLE_LOGLEVEL) - 1, None
        return 0
    if action == SIZE_UNREAD:
        return sum(map(len, _records(log, state.read)))
    if action == SIZE_BUFFER:
        return LOG_BUF_LEN
    raise KernelError(Errno.EINVAL, f"syslog action {action}")


def _read(t: Thread, log: Any, state: Syslog, buf: int, length: int) -> int:
    """SYSLOG_ACTION_READ: the unread records that fit (the first cut to fit, if it alone
    does not), consumed."""
    state.read = max(state.read, log.count - len(log.lines))
    records = _records(log, state.read)
    if not records:
        raise KernelError(Errno.EAGAIN, "no unread kernel log line (READ does not wait)")
    data, taken = b"", 0
    for record in records:
        if len(data) + len(record) > length:
            break
        data += record
        taken += 1
    if not taken:
        data, taken = records[0][:length], 1
    t.process.aspace.copy_out(buf, data)
    state.read += taken
    return len(data)
