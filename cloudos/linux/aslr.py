"""Address space layout randomization: where exec puts a program's pieces.

Owns: the random draw behind a new program's layout (its base when it is position
independent, the top of its mmap area, its stack, its heap), in one of three modes:

- ``boot`` (the default): random once per boot for each program, by its file's
  identity (device, inode): a keyed hash with a key drawn at boot. Every exec of
  the same program in one boot gets the same layout, as on a prelinked system, so
  the CPU's translations of its code and its libraries' (kept by virtual address and
  frame) stay valid from one exec to the next; another boot gives other layouts.
- ``exec``: a fresh draw at every exec (Linux's randomize_va_space=2).
- ``off``: fixed addresses (setarch -R; the personality flag ADDR_NO_RANDOMIZE and
  kernel/randomize_va_space=0 turn any mode off for an exec).
Never: decides where a mapping goes (``layout``, ``elf`` do, from these bits).
Called by: ``elf.load`` through ``linux.process.load_program``.
"""

from __future__ import annotations

from _blake2 import blake2b  # (hashlib.blake2b itself, without loading OpenSSL)
import os
import weakref
from typing import Any

MODES = ("boot", "exec", "off")
DEFAULT = "boot"

_keys: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()


def boot_key(kernel: Any) -> bytes:
    """The machine's key for ``boot`` layouts (drawn at its first use)."""
    key = _keys.get(kernel)
    if key is None:
        key = _keys[kernel] = os.urandom(32)
    return key


def bits(kernel: Any, mode: str, file: tuple[int, ...] | None) -> int:
    """64 random bits for the layout of a program whose file is ``file`` (its FileId:
    device and inode first; None when it has none): 0 when ``off``; in ``boot`` mode
    the same for the same file all through a boot (a file without an identity gets
    fresh ones, as in ``exec``)."""
    if mode == "off":
        return 0
    if mode == "boot" and file is not None:
        digest = blake2b(f"{file[0]}:{file[1]}".encode(), digest_size=8,
                          key=boot_key(kernel)).digest()
        return int.from_bytes(digest)
    return int.from_bytes(os.urandom(8))
