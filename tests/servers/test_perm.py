"""The walk's search check (perm.check_search) against the general one (perm.allowed with
MAY_EXEC): the same answer for every directory mode and every kind of caller."""

from __future__ import annotations

import stat

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import perm
from cloudos.servers.vfs.fs import Attr
from cloudos.servers.vfs.perm import CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, Who

OWNER, GROUP = 1000, 100
CALLERS = {
    "owner": Who(OWNER, GROUP, OWNER, GROUP, (), 0),
    "group member": Who(2000, 200, 2000, 200, (GROUP,), 0),
    "other": Who(3000, 300, 3000, 300, (), 0),
    "root": Who(),
    "dac override": Who(3000, 300, 3000, 300, (), 1 << CAP_DAC_OVERRIDE),
    "read search": Who(3000, 300, 3000, 300, (), 1 << CAP_DAC_READ_SEARCH),
}


def _directory(mode: int) -> Attr:
    return Attr(ino=2, mode=stat.S_IFDIR | mode, nlink=2, uid=OWNER, gid=GROUP, size=0,
                rdev=0, blksize=4096, blocks=0, atime_ns=0, mtime_ns=0, ctime_ns=0, dev=1)


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_check_search_answers_as_the_general_check(caller: str) -> None:
    who = CALLERS[caller]
    denied = 0
    for mode in range(0o10000):
        attr = _directory(mode)
        expected = perm.allowed(who, attr, perm.MAY_EXEC)
        try:
            perm.check_search(who, attr)
            got = True
        except KernelError as err:
            assert err.errno == Errno.EACCES
            got = False
        assert got == expected, f"{caller}, mode {mode:#o}"
        denied += not got
    # (the unprivileged are refused somewhere: the owner by 0o011, though others may search)
    assert (denied > 0) == (caller in ("owner", "group member", "other"))


def test_an_owner_without_search_is_refused_though_others_may() -> None:
    with pytest.raises(KernelError):
        perm.check_search(CALLERS["owner"], _directory(0o611))
    perm.check_search(CALLERS["other"], _directory(0o611))
    perm.check_search(CALLERS["owner"], _directory(0o111))
