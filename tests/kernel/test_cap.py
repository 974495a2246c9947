"""Capabilities (``kernel.cap``): tokens, lookup, derivation, recursive revoke, forgery.

Plain objects, no machine: each test takes a millisecond or so.
"""

from __future__ import annotations

import random

import pytest

from cloudos.kernel.cap import ALL_RIGHTS, Cap, CapTable, ObjType, Right
from cloudos.kernel.errno import Errno, KernelError

OWNER, OTHER = 10, 20


def refused(table: CapTable, pid: int, token: int, type_: ObjType = ObjType.PORT,
            need: int = 0) -> str:
    """The reason ``lookup`` gives for refusing (EPERM); fails the test if it accepts."""
    with pytest.raises(KernelError) as info:
        table.lookup(pid, token, type_, need)
    assert info.value.errno == Errno.EPERM
    return str(info.value)


def test_token_layout_is_type_object_rights_valid_checksum() -> None:
    table = CapTable()
    token = table.token(Cap(ObjType.PORT, 0x12345678, Right.SEND | Right.RECV))
    assert token >> 56 == ObjType.PORT
    assert token >> 24 & 0xFFFFFFFF == 0x12345678
    assert token >> 8 & 0xFFFF == Right.SEND | Right.RECV
    assert token >> 7 & 1 == 1


def test_lookup_checks_holder_type_and_rights() -> None:
    table = CapTable()
    cap = Cap(ObjType.PORT, 1, Right.SEND | Right.GRANT)
    token = table.install(OWNER, cap)
    assert table.lookup(OWNER, token, ObjType.PORT, Right.SEND) is cap
    assert "not held" in refused(table, OTHER, token)  # a valid token someone else holds
    assert "names a PORT" in refused(table, OWNER, token, ObjType.FILE)
    assert "missing rights" in refused(table, OWNER, token, need=Right.RECV)


def test_derive_narrows_and_never_widens() -> None:
    table = CapTable()
    root = Cap(ObjType.PORT, 1, Right.SEND | Right.RECV | Right.GRANT)
    child = table.derive(root, Right.SEND)
    assert (child.type, child.obj, child.rights, child.parent) == (ObjType.PORT, 1,
                                                                   Right.SEND, root)
    assert root.children == [child]
    with pytest.raises(KernelError) as info:
        table.derive(child, Right.SEND | Right.RECV)
    assert info.value.errno == Errno.EPERM
    assert child.children == []


def test_revoke_invalidates_the_whole_subtree_but_not_the_root() -> None:
    table = CapTable()
    root = Cap(ObjType.PORT, 1, ALL_RIGHTS)
    root_token = table.install(OWNER, root)
    child = table.derive(root, Right.SEND | Right.GRANT)
    sibling = table.derive(root, Right.RECV)
    grandchild = table.derive(child, Right.SEND)
    tokens = {pid: table.install(pid, cap)
              for pid, cap in ((OTHER, child), (OTHER + 1, sibling), (OTHER + 2, grandchild))}
    assert table.revoke(root) == 3
    assert not (child.valid or sibling.valid or grandchild.valid) and root.valid
    for pid, token in tokens.items():
        assert pid not in table.spaces or token not in table.spaces[pid]
        refused(table, pid, token)
    assert table.lookup(OWNER, root_token, ObjType.PORT, Right.SEND) is root
    assert table.revoke(root) == 0


def test_revoking_a_middle_capability_spares_its_parent_and_siblings() -> None:
    table = CapTable()
    root = Cap(ObjType.PORT, 1, ALL_RIGHTS)
    left, right = table.derive(root, Right.SEND | Right.GRANT), table.derive(root, Right.SEND)
    below = table.derive(left, Right.SEND)
    assert table.revoke(left) == 1
    assert left.valid and right.valid and not below.valid


def test_fork_copies_the_space_and_drop_empties_it() -> None:
    table = CapTable()
    token = table.install(OWNER, Cap(ObjType.PORT, 1, Right.SEND))
    table.fork(OWNER, OTHER)
    assert table.lookup(OTHER, token, ObjType.PORT, Right.SEND)
    table.drop(OTHER)
    refused(table, OTHER, token)
    assert table.lookup(OWNER, token, ObjType.PORT, Right.SEND)


def test_no_random_token_is_accepted() -> None:
    """10,000 random 64-bit tokens against a space that holds real capabilities: none
    passes, and those that are not in the space are refused whatever their checksum."""
    table = CapTable()
    held = {table.install(OWNER, Cap(ObjType.PORT, n, ALL_RIGHTS)) for n in range(64)}
    rng = random.Random(17)
    accepted = forged = 0
    for _ in range(10_000):
        token = rng.getrandbits(64)
        if token in held:
            continue
        try:
            table.lookup(OWNER, token, ObjType.PORT, 0)
            accepted += 1
        except KernelError as err:
            assert err.errno == Errno.EPERM
            forged += "forged" in str(err)
    assert accepted == 0
    # The 7-bit MAC alone catches ~127 in 128 (the rest are refused as not held).
    assert forged > 9_000


def test_a_token_with_edited_rights_or_object_is_refused() -> None:
    table = CapTable()
    token = table.install(OWNER, Cap(ObjType.PORT, 5, Right.RECV))
    widened = token | Right.SEND << 8
    other_port = token ^ (1 << 24)
    for forged in (widened, other_port, token & ~0x80):
        refused(table, OWNER, forged)
    # Even with the right checksum (minted honestly for someone else), a token works
    # only in the space that holds it.
    minted = table.install(OTHER, Cap(ObjType.PORT, 5, Right.RECV | Right.SEND))
    assert "not held" in refused(table, OWNER, minted)


def test_tokens_from_another_boot_do_not_check() -> None:
    first, second = CapTable(), CapTable()
    caps = [Cap(ObjType.PORT, n, Right.SEND) for n in range(1000)]
    same = sum(first.token(cap) == second.token(cap) for cap in caps)
    assert same < 100  # independent 7-bit MACs agree about 8 times in 1000
