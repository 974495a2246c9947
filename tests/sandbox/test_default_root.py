"""The default sandbox (cloudos/sandbox.py): what a guest sees of the host, and --root.

A default run shows the host's system directories without their secrets and the
caller's directory read-only; it hides /etc/shadow, /root, /home, the rest of the
host and the host's environment, and still runs the host's programs.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.sandbox import hidden, hidden_path
from cloudos.servers.vfs.filterfs import FilterFs
from cloudos.servers.vfs.fs import Attr
from cloudos.servers.vfs.hostfs import HostFs

def attr(mode: int) -> Attr:
    return Attr(1, mode, 1, 0, 0, 0, 0, 4096, 0, 0, 0, 0, 0)


def test_the_rule_hides_what_others_cannot_read_and_the_listed_secrets() -> None:
    assert hidden(b"/etc/x", attr(stat.S_IFREG | 0o640))
    assert not hidden(b"/etc/passwd", attr(stat.S_IFREG | 0o644))
    assert hidden(b"/etc/ssl/private", attr(stat.S_IFDIR | 0o710))
    assert not hidden(b"/usr/bin", attr(stat.S_IFDIR | 0o755))
    assert not hidden(b"/bin", attr(stat.S_IFLNK | 0o777))
    for path in (b"/root", b"/home", b"/var", b"/run", b"/srv", b"/mnt", b"/media", b"/proc",
                 b"/sys", b"/tmp", b"/etc/shadow", b"/etc/gshadow-", b"/etc/sudoers.d",
                 b"/etc/ssh/ssh_host_ed25519_key", b"/etc/machine-id"):
        assert hidden_path(path), path
    for path in (b"/usr", b"/etc", b"/lib64", b"/etc/ssh/ssh_host_ed25519_key.pub",
                 b"/etc/passwd"):
        assert not hidden_path(path), path


def test_a_filter_hides_entries_from_lookup_and_listing(tmp_path: Path) -> None:
    (tmp_path / "pub").write_text("seen")
    (tmp_path / "priv").write_text("secret")
    (tmp_path / "priv").chmod(0o600)
    (tmp_path / "named").mkdir()
    (tmp_path / "named" / "inside").write_text("under a hidden directory")
    fs = FilterFs(HostFs(str(tmp_path)), lambda path: path == b"/named", hidden)
    root = fs.root()
    assert sorted(entry[0] for entry in fs.readdir(root)) == [b"pub"]
    assert fs.read(fs.lookup(root, b"pub"), 0, 10) == b"seen"
    for name in (b"priv", b"named"):
        with pytest.raises(KernelError) as err:
            fs.lookup(root, name)
        assert err.value.errno == Errno.ENOENT
    with pytest.raises(KernelError) as err:
        fs.mkdir(root, b"new", 0o755, 0, 0)
    assert err.value.errno == Errno.EROFS


def test_a_default_run_hides_the_hosts_secrets_and_environment(cloudos) -> None:
    script = ("cat /etc/shadow /etc/gshadow; ls -A /root /home /tmp /var; "
              "ls -d /srv /mnt /media /run /opt; env")
    done = cloudos("--no-cwd", "--", "/bin/sh", "-c", script,
                   env={"CLOUDOS_TEST_TOKEN": "s3cret"})
    out, err = done.stdout.decode(), done.stderr.decode()
    assert "s3cret" not in out and "CLOUDOS_TEST_TOKEN" not in out
    assert "/etc/shadow: No such file" in err and "/etc/gshadow: No such file" in err
    for path in ("/srv", "/mnt", "/media", "/run", "/opt"):
        assert f"'{path}': No such file" in err, err
    assert "/root:\n\n/tmp:\n\n/var:\ntmp\n" in out, out  # empty, but for /var/tmp
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert set(env) == {"PATH", "HOME", "USER", "LOGNAME", "TERM", "LANG", "PWD"} | \
        {k for k in os.environ if k.startswith("LC_") or k in ("LANGUAGE", "TZ")}


def test_a_default_run_runs_the_hosts_programs(cloudos) -> None:
    done = cloudos("--", "/bin/sh", "-c", "cat /etc/os-release; ls /usr/bin | grep -cx sh")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == Path("/etc/os-release").read_bytes() + b"1\n"


def test_the_callers_directory_is_shown_read_only_and_the_program_starts_there(
        tmp_path: Path, cloudos) -> None:
    (tmp_path / "notes.txt").write_text("my notes\n")
    done = cloudos("--", "/bin/cat", "notes.txt", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, b"my notes\n"), done.stderr.decode()
    done = cloudos("--", "/bin/sh", "-c", "pwd; echo x > new.txt", cwd=tmp_path)
    assert done.stdout == f"{tmp_path}\n".encode() and done.returncode != 0
    assert b"Read-only file system" in done.stderr and not (tmp_path / "new.txt").exists()


def test_the_hosts_root_or_home_is_not_shared_by_default(tmp_path: Path, cloudos) -> None:
    done = cloudos("--", "/bin/true", cwd="/")
    assert done.returncode == 125 and b"host's whole file system" in done.stderr
    done = cloudos("--", "/bin/true", cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert done.returncode == 125 and b"home directory" in done.stderr
    done = cloudos("-w", "/tmp", "--", "/bin/pwd", cwd="/")
    assert (done.returncode, done.stdout) == (0, b"/tmp\n")


@pytest.fixture
def busybox_root(tmp_path: Path) -> Path:
    busybox = shutil.which("busybox")
    if busybox is None or b"statically linked" not in subprocess.run(
            ["file", busybox], capture_output=True).stdout:
        pytest.skip("busybox-static is not installed")
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy(busybox, root / "bin" / "busybox")
    for applet in ("sh", "ls", "cat", "echo"):
        (root / "bin" / applet).symlink_to("busybox")
    (root / "etc").mkdir()
    (root / "etc" / "hello").write_text("from the image\n")
    return root


def test_a_busybox_root_runs_sh_and_keeps_writes_in_the_guest(busybox_root: Path,
                                                              cloudos) -> None:
    done = cloudos("--root", str(busybox_root), "--no-cwd", "--", "/bin/sh", "-c",
                   "cat /etc/hello; ls /bin | wc -l; echo $((6 * 7)) > /etc/hello; "
                   "cat /etc/hello; test -e /usr/bin || echo no-host-usr")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"from the image\n5\n42\nno-host-usr\n"
    assert (busybox_root / "etc" / "hello").read_text() == "from the image\n"


def test_root_rw_keeps_writes(busybox_root: Path, cloudos) -> None:
    done = cloudos("--root", str(busybox_root), "--root-rw", "--", "sh", "-c",
                   "pwd; echo kept > /etc/new")
    assert (done.returncode, done.stdout) == (0, b"/\n"), done.stderr.decode()
    assert (busybox_root / "etc" / "new").read_text() == "kept\n"
