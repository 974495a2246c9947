"""tmpfs limits: inodes run out with ENOSPC, a machine's tmpfs mounts share one pool of half
its RAM (sized by ``size_to_ram``), statfs reports size and use, and files are sparse: only
what is written or fallocated is held, charged and counted."""

from __future__ import annotations

import gc

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.hostfs import HostFs
from cloudos.servers.vfs.overlay import OverlayFs
from cloudos.servers.vfs.tmpfs import CHUNK, PAGE, FileData, TmpFs, size_to_ram


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
    """tmpfs keeps a file in 64 KiB chunks, holes missing or short: writes, holes made by
    growing, allocating and punching, cuts and reads across chunk edges give what one
    bytearray would, and the file holds only what was written or allocated."""
    import random

    rnd = random.Random(14)
    sizes = [0, 1, 100, 4096, CHUNK - 1, CHUNK, CHUNK + 7, 3 * CHUNK]
    for _ in range(60):
        data, model = FileData(), bytearray()
        for _ in range(25):
            kind = rnd.random()
            at, n = rnd.randrange(5 * CHUNK), rnd.choice(sizes)
            if kind < 0.4 and n:
                piece = bytes([rnd.randrange(1, 256)]) * n
                cost = data.cost(at, at + n)
                assert data.write(at, memoryview(piece)) == cost
                model.extend(bytes(max(0, at + n - len(model))))
                model[at:at + n] = piece
            elif kind < 0.55:
                data.resize(at)
                del model[at:]
                model.extend(bytes(at - len(model)))
            elif kind < 0.65 and n:
                cost = data.cost(at, at + n)
                assert data.allocate(at, at + n) == cost and data.cost(at, at + n) == 0
            elif kind < 0.75 and n:
                data.free(at, at + n)
                model[at:at + n] = bytes(len(model[at:at + n]))
            else:
                assert data.read(at, n) == bytes(model[at:at + n])
            assert data.size == len(model)
            assert data.allocated == sum(map(len, data.chunks.values()))
            assert all(0 < len(c) <= CHUNK for c in data.chunks.values())
            assert not any(any(c[max(0, data.size - i * CHUNK):])  # zeros past the end
                           for i, c in data.chunks.items())
        assert data.read(0, len(model)) == bytes(model)


def test_growing_allocates_nothing_and_writes_only_what_they_touch() -> None:
    """A size-limited tmpfs takes an 8 GiB ftruncate and charges what is written (from
    the start of each chunk a write touches), not the size: writes past the limit are
    cut where the room ends, then refused; st_blocks and statfs count what is held."""
    fs = TmpFs(max_bytes=CHUNK)
    f = fs.create(fs.root(), b"f", 0o644, 0, 0)
    fs.truncate(f, 8 << 30)
    assert (fs.getattr(f).size, fs.getattr(f).blocks, fs.used_bytes) == (8 << 30, 0, 0)
    assert fs.write(f, (4 << 30) + 100, b"x") == 1
    assert (fs.used_bytes, fs.getattr(f).blocks) == (101, 8)  # the chunk from its start
    assert fs.read(f, 2 << 30, 1 << 20) == bytes(1 << 20)
    assert fs.read(f, (4 << 30) + 99, 3) == b"\0x\0"
    assert fs.statfs()[3] == CHUNK // PAGE - 1
    assert fs.write(f, 1 << 30, bytes(2 * CHUNK)) == CHUNK - 101  # a short write
    with pytest.raises(KernelError) as err:
        fs.write(f, 3 << 30, b"y")
    assert err.value.errno == Errno.ENOSPC
    assert fs.write(f, (4 << 30) + 5, b"in a chunk held") == 15  # allocates nothing
    fs.truncate(f, 4 << 30)  # frees the chunk past the cut
    assert fs.used_bytes == CHUNK - 101
    assert fs.getattr(f).size == 4 << 30
    del f, err  # (the traceback holds the node too)
    assert fs.used_bytes == CHUNK - 101  # still linked: still charged
    fs.unlink(fs.root(), b"f")
    gc.collect()
    assert (fs.used_bytes, fs.pool.used) == (0, 0)


def test_fallocate_allocates_and_punching_frees() -> None:
    """allocate_range fills a range's holes (past the end too, with KEEP_SIZE), so that writes
    there cannot fail for room, or fails with ENOSPC changing nothing; punch_hole frees the
    whole chunks and chunk tails inside its range and zeros the rest."""
    fs = TmpFs(max_bytes=4 * CHUNK)
    f = fs.create(fs.root(), b"f", 0o644, 0, 0)
    fs.write(f, 0, b"a" * 100)
    with pytest.raises(KernelError) as err:
        fs.allocate_range(f, 0, 4 * CHUNK + 1, keep_size=False)
    assert err.value.errno == Errno.ENOSPC
    assert (fs.getattr(f).size, fs.used_bytes) == (100, 100)
    fs.allocate_range(f, 50, 2 * CHUNK, keep_size=True)
    assert (fs.getattr(f).size, fs.used_bytes) == (100, 2 * CHUNK + 50)
    assert fs.write(f, CHUNK, b"b" * CHUNK) == CHUNK  # allocated ahead: no more charged
    assert (fs.getattr(f).size, fs.used_bytes) == (2 * CHUNK, 2 * CHUNK + 50)
    fs.allocate_range(f, 3 * CHUNK, CHUNK - 50, keep_size=False)
    assert (fs.getattr(f).size, fs.used_bytes) == (4 * CHUNK - 50, 3 * CHUNK)
    assert fs.getattr(f).blocks == 3 * CHUNK // 512
    assert fs.read(f, 0, 101) == b"a" * 100 + b"\0"
    fs.punch_hole(f, 10, 3 * CHUNK)  # chunk 0's tail and chunks 1 and 2 freed, 3 zeroed
    assert fs.used_bytes == 10 + CHUNK - 50
    assert fs.read(f, 0, 20) == b"a" * 10 + bytes(10)
    assert fs.read(f, CHUNK, 2 * CHUNK + 20) == bytes(2 * CHUNK + 20)
    fs.punch_hole(f, 3 * CHUNK + PAGE, 1 << 40)  # a chunk's tail
    assert fs.used_bytes == 10 + PAGE
    assert (fs.seek_data(f, CHUNK, True), fs.seek_data(f, 0, False)) == (3 * CHUNK, PAGE)
    assert fs.seek_data(f, 3 * CHUNK, False) == 3 * CHUNK + PAGE
    with pytest.raises(KernelError) as err:
        fs.seek_data(f, 3 * CHUNK + PAGE, True)
    assert err.value.errno == Errno.ENXIO


def test_the_overlay_keeps_holes_in_its_upper_layer(tmp_path) -> None:
    """The root's overlay: a file copied up or made there is sparse in the upper tmpfs."""
    (tmp_path / "lower").write_bytes(b"lower")
    root = OverlayFs(HostFs(str(tmp_path)), TmpFs(max_bytes=CHUNK))
    f = root.lookup(root.root(), b"lower")
    root.truncate(f, 8 << 30)
    assert root.getattr(f).size == 8 << 30 and root.upper.used_bytes == 5
    root.allocate_range(f, 1 << 30, PAGE, keep_size=True)
    assert root.upper.used_bytes == PAGE + 5
    assert root.write(f, 1 << 30, b"z") == 1 and root.upper.used_bytes == PAGE + 5
    assert root.seek_data(f, 1, True) == 1 and root.seek_data(f, 0, False) == PAGE
    assert root.seek_data(f, PAGE, True) == 1 << 30
    root.punch_hole(f, 1 << 30, PAGE)
    assert root.upper.used_bytes == 5
    with pytest.raises(KernelError) as err:
        root.allocate_range(f, 0, 2 * CHUNK, keep_size=True)
    assert err.value.errno == Errno.ENOSPC


def test_a_sparse_lower_file_is_copied_up_sparse(tmp_path) -> None:
    """Copy-up copies a lower file's data, not its holes."""
    with open(tmp_path / "sparse", "wb") as host:
        host.truncate(1 << 30)
        host.seek(512 << 20)
        host.write(b"middle")
    root = OverlayFs(HostFs(str(tmp_path)), TmpFs(max_bytes=CHUNK))
    f = root.lookup(root.root(), b"sparse")
    assert root.write(f, 0, b"head") == 4
    assert root.getattr(f).size == 1 << 30
    assert root.upper.used_bytes <= CHUNK
    assert root.read(f, (512 << 20) - 2, 10) == b"\0\0middle\0\0"
    assert root.read(f, 0, 6) == b"head\0\0"
