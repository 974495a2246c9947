"""``_ipcmsg.move``, the C transfer of a native IPC message's common case (a call handed
to a waiting server, a reply): what it writes when it may, and every case it refuses
(-1) with nothing written, for the Python path to decide. Over a stand-in RAM: one leaf
page table whose entries map a few pages.
"""

from __future__ import annotations

import ctypes
import struct

import pytest

from cloudos.linux import _ipcmsg  # type: ignore[attr-defined]
from cloudos.linux.syscalls.sys_cloudos import MSG

PAGE = 4096
USER, WRITABLE, PRESENT = 4, 2, 1
BASE = 0x400000  # leaf table key 2: va BASE + i * PAGE is its entry i
LEAF = 1  # the leaf table's frame
SRC, DST, RO, SRC2 = 2, 3, 4, 5  # frames: the sender's page, the receiver's, ...


class Ram:
    """RAM of 8 pages; page LEAF is the leaf table mapping BASE's pages."""

    def __init__(self) -> None:
        self.buf = ctypes.create_string_buffer(8 * PAGE)
        self.address = ctypes.addressof(self.buf)
        self.size = 8 * PAGE
        self.leaves = {BASE >> 21: LEAF * PAGE // 8}
        self.map(0, SRC, USER | WRITABLE)
        self.map(1, DST, USER | WRITABLE)
        self.map(2, RO, USER)  # read-only (copy-on-write, say)
        self.map(3, SRC2, USER | WRITABLE)  # the page after DST's... see va()
        self.map(4, 6, WRITABLE)  # the kernel's, not the user's
        self.map(5, 6, USER | WRITABLE, present=0)  # user bits on an absent page

    def map(self, index: int, frame: int, bits: int, present: int = PRESENT) -> None:
        struct.pack_into("<Q", self.buf, LEAF * PAGE + index * 8, frame * PAGE | bits | present)

    def write(self, frame: int, offset: int, data: bytes) -> None:
        ctypes.memmove(self.address + frame * PAGE + offset, data, len(data))

    def read(self, frame: int, offset: int, length: int) -> bytes:
        return bytes(self.buf.raw[frame * PAGE + offset:frame * PAGE + offset + length])

    def move(self, src: int, dst: int, dst_data: int, capacity: int, reply: int = 0,
             sender: int = 7, src_leaves: dict[int, int] | None = None,
             dst_leaves: dict[int, int] | None = None, size: int | None = None) -> int:
        return _ipcmsg.move(self.address, self.size if size is None else size,
                            self.leaves if src_leaves is None else src_leaves, src,
                            self.leaves if dst_leaves is None else dst_leaves, dst, dst_data,
                            capacity, reply, sender)


def va(index: int, offset: int = 0) -> int:
    return BASE + index * PAGE + offset


def header(tag: int, data: int, length: int, ncaps: int = 0, grant: int = 0) -> bytes:
    return MSG.pack(tag, data, length, ncaps, 0, 0, 0, 0, 0, 0, grant, 0, 0, 0)


@pytest.fixture
def ram() -> Ram:
    ram = Ram()
    ram.write(SRC, 0x100, header(0x1234, va(0, 0x300), 5))
    ram.write(SRC, 0x300, b"hello")
    return ram


def test_the_common_case_moves_payload_and_header(ram: Ram) -> None:
    ram.write(DST, 0x200, header(0, va(1, 0x800), 64))  # (what the receiver gave: ignored)
    assert ram.move(va(0, 0x100), va(1, 0x200), va(1, 0x800), 64, reply=0xABCD) == 5
    assert ram.read(DST, 0x800, 5) == b"hello"
    assert MSG.unpack(ram.read(DST, 0x200, MSG.size)) == \
        (0x1234, va(1, 0x800), 5, 0, 0, 0, 0, 0, 0xABCD, 7, 0, 0, 0, 0)


def test_the_payload_is_cut_to_the_capacity(ram: Ram) -> None:
    assert ram.move(va(0, 0x100), va(1, 0x200), va(1, 0x800), 3) == 3
    assert ram.read(DST, 0x800, 5) == b"hel\0\0"
    assert MSG.unpack(ram.read(DST, 0x200, MSG.size))[2] == 3


def test_an_empty_message_needs_no_buffer_in_the_page(ram: Ram) -> None:
    """Length 0 (or capacity 0): no payload, so no page for it is looked at."""
    ram.write(SRC, 0x100, header(9, 0xDEAD_0000_0000, 0))
    assert ram.move(va(0, 0x100), va(1, 0x200), 0xBAD0_0000, 64, sender=(-2) & (2**64 - 1)) == 0
    fields = MSG.unpack(ram.read(DST, 0x200, MSG.size))
    assert fields[:3] == (9, 0xBAD0_0000, 0) and fields[9] == 2**64 - 2


def test_sender_and_receiver_in_one_page(ram: Ram) -> None:
    """(a process replying to itself): the payload is read before the header is written."""
    ram.write(SRC, 0x900, header(0, va(0, 0x100), 64))
    assert ram.move(va(0, 0x100), va(0, 0x100), va(0, 0x100), 64) == 5
    assert MSG.unpack(ram.read(SRC, 0x100, MSG.size))[:3] == (0x1234, va(0, 0x100), 5)


CASES = {
    "header across pages": dict(src=va(0, PAGE - 50)),
    "receiver header across pages": dict(dst=va(1, PAGE - 50)),
    "payload in another page": dict(header_=header(1, va(3, 0x10), 5)),
    "payload across pages": dict(header_=header(1, va(0, PAGE - 2), 5)),
    "capabilities": dict(header_=header(1, va(0, 0x300), 5, ncaps=1)),
    "a grant": dict(header_=header(1, va(0, 0x300), 5, grant=va(0))),
    "over MSG_MAX": dict(header_=header(1, va(0, 0x300), 4097)),
    "receiver buffer in another page": dict(dst_data=va(3, 0x10)),
    "receiver buffer across pages": dict(dst_data=va(1, PAGE - 2)),
    "receiver page read-only": dict(dst=va(2, 0x100), dst_data=va(2, 0x400)),
    "receiver page the kernel's": dict(dst=va(4, 0x100), dst_data=va(4, 0x400)),
    "sender page the kernel's": dict(src=va(4, 0x100)),
    "sender page not mapped": dict(src=va(7, 0x100)),
    "sender page not present": dict(src=va(5, 0x100)),
    "receiver page not present": dict(dst=va(5, 0x100), dst_data=va(5, 0x400)),
    "receiver page not mapped": dict(dst=va(7, 0x100), dst_data=va(7, 0x400)),
    "no leaf table": dict(src=0x7000_0000),
    "past the user's end": dict(dst=2**64 - PAGE, dst_data=2**64 - PAGE + 0x200),
    "a leaf table outside RAM": dict(src_leaves={BASE >> 21: 8 * PAGE // 8 - 100}),
    "a frame outside RAM": dict(size=3 * PAGE),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_with_nothing_written(ram: Ram, name: str) -> None:
    case = dict(CASES[name])
    if "header_" in case:
        ram.write(SRC, 0x100, case.pop("header_"))
    ram.write(SRC, PAGE - 50, header(1, va(0, PAGE - 50 + MSG.size), 4))
    ram.write(SRC, 0x100 + MSG.size, b"x" * 8)
    before = ram.buf.raw
    args = dict(src=va(0, 0x100), dst=va(1, 0x200), dst_data=va(1, 0x800), capacity=64)
    args.update(case)
    assert ram.move(**args) == -1
    assert ram.buf.raw == before


def test_bad_arguments_raise() -> None:
    with pytest.raises(TypeError):
        _ipcmsg.move(0, 0, {}, 0)
    with pytest.raises(TypeError):
        _ipcmsg.move(1, PAGE, [], 0, {}, 0, 0, 0, 0, 0)
    with pytest.raises(ValueError):
        _ipcmsg.move(0, PAGE, {}, 0, {}, 0, 0, 0, 0, 0)
    with pytest.raises(OverflowError):
        _ipcmsg.move(1, -1, {}, 0, {}, 0, 0, 0, 0, 0)


def test_peek_reads_a_receivers_buffer_and_capacity(ram: Ram) -> None:
    ram.write(RO, 0x100, header(5, va(2, 0x800), 77))
    peek = _ipcmsg.peek
    assert peek(ram.address, ram.size, ram.leaves, va(0, 0x100)) == (va(0, 0x300), 5)
    assert peek(ram.address, ram.size, ram.leaves, va(2, 0x100)) == (va(2, 0x800), 77)  # (read)
    for where in (va(0, PAGE - 50), va(4, 0x100), va(7, 0x100), 0x7000_0000, 2**64 - PAGE):
        assert peek(ram.address, ram.size, ram.leaves, where) is None, hex(where)
    assert peek(ram.address, 3 * PAGE, ram.leaves, va(2, 0x100)) is None  # (frame 4: outside)
    with pytest.raises(TypeError):
        peek(ram.address, ram.size, [], 0)
