"""A module loaded at the first use of one of its names.

Owns: ``later``, a stand-in for a module that a caller names but most runs never use (an
eventfd's, a message queue's, an epoll instance's code): ``mod.name`` loads the module
the first time, and is then a plain attribute read. Each module CloudOS does not load
spares ~0.2-0.6 ms of every start, and start-up is most of a short program's run.
(``importlib.util.LazyLoader`` does not serve: on Python 3.11 a lazy module loads as
soon as an ``import`` statement names it.)
Never: changes what a module does; it is loaded whole, once, by ``importlib``. A module
that rebinds its own globals once loaded must not be used through it (the stand-in keeps
what it first read).
Called by: the modules that use a rarer one (``servers.vfs.server``, for file kinds).
"""

from __future__ import annotations

import importlib
from typing import Any


class Later:
    """Module ``name``, loaded the first time one of its names is read."""

    def __init__(self, name: str) -> None:
        self.__dict__["_later_name"] = name

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__dict__["_later_name"])
        self.__dict__.update(vars(module))  # from now on, plain attribute reads
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<module {self.__dict__['_later_name']} (loaded at its first use)>"


def later(*names: str) -> tuple[Any, ...]:
    """A stand-in for each module of ``names`` (absolute names)."""
    return tuple(Later(name) for name in names)
