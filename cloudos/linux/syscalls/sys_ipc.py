"""System V semaphores' and message queues' system calls: semget(2), semop(2),
semtimedop(2), semctl(2), msgget(2), msgsnd(2), msgrcv(2), msgctl(2).

Owns: only their entries. Each hands its call to the subsystem that implements it
(``linux.sysvsem``, ``linux.sysvmsg``), imported at the first such call of the run:
most programs make none, and declaring those subsystems' state classes cost about
4 ms of every start of CloudOS. Shared memory (``linux.sysvshm``) stays in the table
itself: exec, fork and exit reach its segments.
Never: decodes or checks an argument (the subsystem does, as its handler always has).
Called by: the system call table, and the personality at each exit (``exit_sem``).
"""

from __future__ import annotations

from cloudos.kernel.task import Process, Thread
from cloudos.linux import sysvipc


def sys_semget(t: Thread, key: int, nsems: int, flags: int, *_: int) -> int:
    """Implements Linux semget(2)."""
    from cloudos.linux import sysvsem
    return sysvsem.sys_semget(t, key, nsems, flags)


def sys_semop(t: Thread, ident: int, sops: int, nsops: int, *_: int) -> int:
    """Implements Linux semop(2)."""
    from cloudos.linux import sysvsem
    return sysvsem.sys_semop(t, ident, sops, nsops)


def sys_semtimedop(t: Thread, ident: int, sops: int, nsops: int, timeout: int, *_: int) -> int:
    """Implements Linux semtimedop(2)."""
    from cloudos.linux import sysvsem
    return sysvsem.sys_semtimedop(t, ident, sops, nsops, timeout)


def sys_semctl(t: Thread, ident: int, num: int, cmd: int, arg: int, *_: int) -> int:
    """Implements Linux semctl(2)."""
    from cloudos.linux import sysvsem
    return sysvsem.sys_semctl(t, ident, num, cmd, arg)


def sys_msgget(t: Thread, key: int, flags: int, *_: int) -> int:
    """Implements Linux msgget(2)."""
    from cloudos.linux import sysvmsg
    return sysvmsg.sys_msgget(t, key, flags)


def sys_msgsnd(t: Thread, ident: int, msgp: int, msgsz: int, flags: int, *_: int) -> int:
    """Implements Linux msgsnd(2)."""
    from cloudos.linux import sysvmsg
    return sysvmsg.sys_msgsnd(t, ident, msgp, msgsz, flags)


def sys_msgrcv(t: Thread, ident: int, msgp: int, msgsz: int, msgtyp: int, flags: int,
               *_: int) -> int:
    """Implements Linux msgrcv(2)."""
    from cloudos.linux import sysvmsg
    return sysvmsg.sys_msgrcv(t, ident, msgp, msgsz, msgtyp, flags)


def sys_msgctl(t: Thread, ident: int, cmd: int, buf: int, *_: int) -> int:
    """Implements Linux msgctl(2)."""
    from cloudos.linux import sysvmsg
    return sysvmsg.sys_msgctl(t, ident, cmd, buf)


def exit_sem(process: Process) -> None:
    """A process ended: its SEM_UNDO adjustments are added back (``sysvsem.exit_sem``).
    On a machine whose semaphore state was never made, no process has any."""
    if sysvipc.has_state(process.kernel, "sem"):
        from cloudos.linux import sysvsem
        sysvsem.exit_sem(process)
