"""servers/vfs/sysfs.py: the tree a machine's CPUs make, the formats of CPU lists and
masks (Linux's bitmap printing), and that nothing in it can be changed."""

from __future__ import annotations

import stat

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.sysfs import SYSFS_MAGIC, SysFs, cpu_list, cpu_mask


def walk(fs: SysFs, path: str):
    node = fs.root()
    for name in path.split("/"):
        node = fs.lookup(node, name.encode())
    return node


def test_cpu_lists_and_masks_print_as_linux_prints_them():
    assert cpu_list(range(0)) == b"\n"
    assert cpu_list(range(1)) == b"0\n"
    assert cpu_list(range(4)) == b"0-3\n"
    assert cpu_list(range(2, 3)) == b"2\n"
    assert cpu_mask(range(2), 2) == b"3\n"
    assert cpu_mask(range(1, 2), 4) == b"2\n"
    assert cpu_mask(range(1), 16) == b"0001\n"  # (as wide as the possible CPUs)
    assert cpu_mask(range(40), 40) == b"ff,ffffffff\n"
    assert cpu_mask(range(8), 40) == b"00,000000ff\n"


@pytest.mark.parametrize("cpus", [1, 2, 5])
def test_the_tree_has_a_directory_per_cpu_and_linuxs_attributes(cpus):
    fs = SysFs(cpus)
    names = [name for name, _, _ in fs.readdir(walk(fs, "devices/system/cpu"))]
    assert [n for n in names if n.startswith(b"cpu")] == sorted(b"cpu%d" % i
                                                               for i in range(cpus))
    assert fs.read(walk(fs, "devices/system/cpu/online"), 0, 100) == cpu_list(range(cpus))
    assert fs.read(walk(fs, "devices/system/cpu/possible"), 2, 100) == \
        cpu_list(range(cpus))[2:]
    assert fs.read(walk(fs, "devices/system/cpu/cpu0/topology/package_cpus"), 0, 100) == \
        cpu_mask(range(cpus), cpus)
    with pytest.raises(KernelError) as err:  # (the boot CPU cannot go off line)
        walk(fs, "devices/system/cpu/cpu0/online")
    assert err.value.errno == Errno.ENOENT
    if cpus > 1:
        assert fs.read(walk(fs, f"devices/system/cpu/cpu{cpus - 1}/online"), 0, 9) == b"1\n"


def test_stat_says_what_kernfs_says():
    fs = SysFs(2)
    attr = fs.getattr(walk(fs, "devices/system/cpu/online"))
    assert stat.S_ISREG(attr.mode) and stat.S_IMODE(attr.mode) == 0o444
    assert (attr.size, attr.nlink, attr.uid, attr.gid) == (4096, 1, 0, 0)
    cpu = fs.getattr(walk(fs, "devices/system/cpu"))
    assert stat.S_ISDIR(cpu.mode) and cpu.nlink == 2 + 2  # cpu0, cpu1
    assert fs.getattr(fs.root()).nlink == 2 + 10
    assert fs.statfs()[0] == SYSFS_MAGIC
    assert walk(fs, "devices/system/cpu/online") is walk(fs, "devices/system/cpu/online")


def test_errors():
    fs = SysFs(1)
    online = walk(fs, "devices/system/cpu/online")
    for call, errno in ((lambda: fs.lookup(online, b"x"), Errno.ENOTDIR),
                        (lambda: fs.readdir(online), Errno.ENOTDIR),
                        (lambda: fs.read(fs.root(), 0, 1), Errno.EISDIR),
                        (lambda: fs.readlink(online), Errno.EINVAL),
                        (lambda: fs.lookup(fs.root(), b"nothing"), Errno.ENOENT),
                        (lambda: fs.write(online, 0, b"0"), Errno.EROFS),
                        (lambda: fs.mkdir(fs.root(), b"x", 0o755, 0, 0), Errno.EROFS),
                        (lambda: fs.unlink(fs.root(), b"kernel"), Errno.EROFS),
                        (lambda: fs.setattr(online, mode=0o644), Errno.EROFS)):
        with pytest.raises(KernelError) as err:
            call()
        assert err.value.errno == errno
