"""Guest-physical memory: one host mmap buffer, mapped at guest-physical address 0.

Owns the bytes of the machine's RAM and nothing about what they mean. The host
reserves pages lazily (MAP_NORESERVE), so a 1 GiB machine costs only what the
guest touches. Every vCPU maps the same buffer (``host_address``), so SMP vCPUs
share memory without copies. Callers pass physical addresses; translating user
virtual addresses is the kernel's business (``kernel.mm``).
"""

import ctypes
import mmap

MIB = 1 << 20
GIB = 1 << 30
DEFAULT_SIZE = GIB
_ZERO_PAGE = bytes(4096)


class PhysicalMemory:
    """``size`` bytes of zeroed guest RAM with byte and 64-bit word access."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 16 * MIB or size % mmap.PAGESIZE:
            raise ValueError(f"RAM size {size} must be a page multiple of at least 16 MiB")
        self.size = size
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0)
        self._map = mmap.mmap(-1, size, flags=flags)
        self.bytes = memoryview(self._map)
        # A view of 64-bit words, indexed by physical address >> 3: page-table access.
        self.words = self.bytes.cast("Q")
        self.host_address = ctypes.addressof(ctypes.c_char.from_buffer(self._map))

    def read(self, paddr: int, length: int) -> bytes:
        return bytes(self.bytes[paddr:paddr + length])

    def write(self, paddr: int, data: bytes | bytearray | memoryview) -> None:
        self.bytes[paddr:paddr + len(data)] = data

    def find(self, byte: int, start: int, end: int) -> int:
        """The physical address of the first ``byte`` in [start, end), or -1."""
        return self._map.find(bytes((byte,)), start, end)

    def zero(self, paddr: int, length: int) -> None:
        # a page (the common case: page tables, demand-zero pages) from one shared zero
        # page: making 4 KiB of zeros each time cost ~1 us of ~1.5
        self.bytes[paddr:paddr + length] = _ZERO_PAGE if length == len(_ZERO_PAGE) \
            else bytes(length)

    def copy(self, dst: int, src: int, length: int) -> None:
        self.bytes[dst:dst + length] = self.bytes[src:src + length]
