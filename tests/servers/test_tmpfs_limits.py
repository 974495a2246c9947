"""tmpfs limits: inodes run out with ENOSPC, a machine's tmpfs mounts share one pool of half
its RAM (sized by ``size_to_ram``), and statfs reports size and use."""

from __future__ import annotations

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.hostfs import HostFs
from cloudos.servers.vfs.overlay import OverlayFs
from cloudos.servers.vfs.tmpfs import PAGE, TmpFs, size_to_ram


def test_inodes_run_out_with_enospc() -> None:
    fs = TmpFs(max_bytes=1 << 20, max_inodes=4)  # the root is one
    root = fs.root()
    fs.create(root, b"a", 0o644, 0, 0)
    fs.mkdir(root, b"d", 0o755, 0, 0)
    fs.symlink(root, b"l", b"a", 0, 0)
    for make in (lambda: fs.create(root, b"b", 0o644, 0, 0),
                 lambda: fs.mkdir(root, b"e", 0o755, 0, 0),
                 lambda: fs.mknod(root, b"p", 0o10644, 0, 0, 0)):
        with pytest.raises(KernelError) as err:
            make()
        assert err.value.errno == Errno.ENOSPC
    assert fs.statfs()[5:] == (4, 0)
    fs.unlink(root, b"l")
    fs.create(root, b"b", 0o644, 0, 0)


def test_machine_tmpfs_share_half_the_ram(tmp_path) -> None:
    root, shm, sized = OverlayFs(HostFs(str(tmp_path)), TmpFs()), TmpFs(), TmpFs(max_bytes=PAGE)
    size_to_ram([root, shm, sized], 64 << 20)
    upper = root.upper
    assert (upper.max_bytes, shm.max_bytes, sized.max_bytes) == (32 << 20, 32 << 20, PAGE)
    assert upper.max_inodes == (32 << 20) // PAGE
    big = upper.create(upper.root(), b"big", 0o644, 0, 0)
    assert upper.write(big, 0, bytes(24 << 20)) == 24 << 20
    small = shm.create(shm.root(), b"f", 0o644, 0, 0)
    assert shm.write(small, 0, bytes(16 << 20)) == 8 << 20  # what the pool has left
    blocks, free = shm.statfs()[2:4]
    assert (blocks, free) == ((32 << 20) // PAGE, 0)
    assert root.statfs()[2:4] == ((32 << 20) // PAGE, 0)
    upper.truncate(big, 0)
    assert shm.statfs()[3] == (24 << 20) // PAGE


def test_file_data_chunks_behave_as_one_bytearray() -> None:
    """tmpfs keeps a file in 64 KiB chunks: writes, holes, cuts and reads across chunk
    edges give what one bytearray would."""
    import random

    from cloudos.servers.vfs.tmpfs import CHUNK, FileData
    rnd = random.Random(14)
    sizes = [0, 1, 100, 4096, CHUNK - 1, CHUNK, CHUNK + 7, 3 * CHUNK]
    for _ in range(60):
        data, model = FileData(), bytearray()
        for _ in range(25):
            kind = rnd.random()
            if kind < 0.5:
                at, n = rnd.randrange(4 * CHUNK), rnd.choice(sizes)
                piece = bytes([rnd.randrange(1, 256)]) * n
                data.write(at, memoryview(piece))
                model.extend(bytes(max(0, at + n - len(model))))
                model[at:at + n] = piece
            elif kind < 0.75:
                size = rnd.randrange(5 * CHUNK)
                data.resize(size)
                del model[size:]
                model.extend(bytes(size - len(model)))
            else:
                at, n = rnd.randrange(5 * CHUNK), rnd.randrange(3 * CHUNK)
                assert data.read(at, n) == bytes(model[at:at + n])
            assert data.size == len(model)
            assert all(len(c) == CHUNK for c in data.chunks[:-1])
            assert sum(map(len, data.chunks)) == data.size  # no bytes held past the end
