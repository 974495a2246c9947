"""ETXTBSY: a program being run is not written, and a file open for writing is not run.

Owns: which files are open for writing (by file identity, st_dev and st_ino) and which are
the program or dynamic loader of some process (set when its execve succeeds, inherited on
fork, dropped on its next execve and at exit), as Linux's deny_write_access and
get_write_access keep them.
Never: decides how a file is opened or run (server.py does, and asks here first).
Called by: the VFS server (open, truncate, execve's read, fork, exec, exit, release).
"""

from __future__ import annotations

from collections import Counter

from cloudos.abi.dataclass import dataclass, field
from cloudos.errno import Errno, KernelError

Key = tuple[int, int]  # (st_dev, st_ino)


@dataclass
class TextBusy:
    """The files open for writing and the programs running, by file identity."""

    writers: Counter[Key] = field(default_factory=Counter)    # open file descriptions
    running: Counter[Key] = field(default_factory=Counter)    # processes' images
    images: dict[int, tuple[Key, ...]] = field(default_factory=dict)   # by pid
    pending: dict[int, tuple[Key, ...]] = field(default_factory=dict)  # read, not yet run

    def may_write(self, key: Key) -> None:
        if self.running[key]:
            raise KernelError(Errno.ETXTBSY, "a program being run")

    def may_run(self, key: Key) -> None:
        if self.writers[key]:
            raise KernelError(Errno.ETXTBSY, "open for writing")

    def opened_for_writing(self, key: Key) -> None:
        self.writers[key] += 1

    def closed_for_writing(self, key: Key) -> None:
        self.writers[key] -= 1
        if self.writers[key] <= 0:
            del self.writers[key]

    def read_for_exec(self, pid: int, keys: tuple[Key, ...]) -> None:
        self.pending[pid] = keys

    def execed(self, pid: int, new_pid: int | None = None) -> None:
        """``pid``'s execve succeeded (``new_pid``: init, read as pid 0): the image it
        read is now the one it runs."""
        keys = self.pending.pop(pid, ())
        self.exited(new_pid if new_pid is not None else pid)
        self.images[new_pid if new_pid is not None else pid] = keys
        self.running.update(keys)

    def forked(self, parent: int, child: int) -> None:
        keys = self.images.get(parent, ())
        self.images[child] = keys
        self.running.update(keys)

    def exited(self, pid: int) -> None:
        self.pending.pop(pid, None)
        for key in self.images.pop(pid, ()):
            self.running[key] -= 1
            if self.running[key] <= 0:
                del self.running[key]
