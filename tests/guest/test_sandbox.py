"""CloudOS-only tests of the file sandbox: what a guest can see and change of the host.

The guest's root is the host's / read-only under a writable tmpfs, and
``--mount HOST:GUEST[:rw]`` shows a host directory (read-only unless ``:rw``).
Linux cannot reproduce this, so the expected results are written here. The
guest program ``sandbox.c`` runs the file operations given on its command line
(it refuses to run outside CloudOS). Every test also checks the host side:
what must not change is compared byte for byte before and after.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

LINK_MODES = ["static", "static-pie"]

by_mode = pytest.mark.parametrize("mode", LINK_MODES)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root (symlinks not followed): kind, mode and content or target."""
    result: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if path.is_symlink():
                result[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                result[rel] = ("dir", st.st_mode)
            else:
                result[rel] = ("file", st.st_mode, st.st_mtime_ns, path.read_bytes())
    return result


def populate(root: Path) -> None:
    (root / "hello.txt").write_bytes(b"hello from the host\n")
    (root / "sub").mkdir()
    (root / "sub" / "nested.txt").write_bytes(b"nested\n")
    (root / "gone.txt").write_bytes(b"to be removed\n")


def sandbox(guest_bins, run_cloudos, mode: str, *ops: str, mount: str | None = None):
    extra = ["--mount", mount] if mount else []
    status, out, err = run_cloudos([guest_bins.path("sandbox", mode), *ops], extra_args=extra)
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert status == 0, (status, out, err.decode(errors="replace"))
    return out.decode(errors="replace").splitlines()


@by_mode
def test_readonly_mount_reads(mode, guest_bins, run_cloudos, tmp_path):
    populate(tmp_path)
    lines = sandbox(guest_bins, run_cloudos, mode,
                    "read", "/mnt/hello.txt", "read", "/mnt/sub/nested.txt",
                    "stat", "/mnt/hello.txt", "stat", "/mnt/sub", "read", "/mnt/missing",
                    mount=f"{tmp_path}:/mnt")
    assert lines == [
        "read /mnt/hello.txt: [hello from the host",
        "]",
        "read /mnt/sub/nested.txt: [nested",
        "]",
        "stat /mnt/hello.txt: file size=20",
        "stat /mnt/sub: dir",
        "read /mnt/missing: -1 ENOENT",
    ]


@by_mode
def test_readonly_mount_rejects_writes(mode, guest_bins, run_cloudos, tmp_path):
    populate(tmp_path)
    before = snapshot(tmp_path)
    lines = sandbox(guest_bins, run_cloudos, mode,
                    "write", "/mnt/new.txt", "x",
                    "write", "/mnt/hello.txt", "overwritten",
                    "append", "/mnt/hello.txt", "more",
                    "mkdir", "/mnt/newdir",
                    "unlink", "/mnt/gone.txt",
                    "rename", "/mnt/hello.txt", "/mnt/renamed.txt",
                    "write", "/mnt/sub/new.txt", "x",
                    "read", "/mnt/hello.txt",
                    mount=f"{tmp_path}:/mnt")
    assert lines == [
        "write /mnt/new.txt: -1 EROFS",
        "write /mnt/hello.txt: -1 EROFS",
        "append /mnt/hello.txt: -1 EROFS",
        "mkdir /mnt/newdir: -1 EROFS",
        "unlink /mnt/gone.txt: -1 EROFS",
        "rename /mnt/hello.txt: -1 EROFS",
        "write /mnt/sub/new.txt: -1 EROFS",
        "read /mnt/hello.txt: [hello from the host",
        "]",
    ]
    assert snapshot(tmp_path) == before


@by_mode
def test_symlink_to_etc_resolves_in_the_guest(mode, guest_bins, run_cloudos, tmp_path):
    """A host symlink to /etc inside the mount names the guest's /etc, not the host's.

    The guest creates /etc/NAME (in its root's tmpfs); reading it back through
    /mnt/esc/NAME and through /mnt/../../../../etc/NAME proves both the link and
    `..` resolve in the guest's namespace. The host never gets /etc/NAME.
    """
    os.symlink("/etc", tmp_path / "esc")
    name = f"cloudos-test-{uuid.uuid4().hex}"
    hostname_file = Path("/etc/hostname")
    host_hostname = hostname_file.read_bytes().decode() if hostname_file.exists() else None
    ops = ["write", f"/etc/{name}", "guest-only",
           "read", f"/mnt/esc/{name}",
           "read", f"/mnt/../../../../etc/{name}",
           "read", "/mnt/esc/hostname"]
    lines = sandbox(guest_bins, run_cloudos, mode, *ops, mount=f"{tmp_path}:/mnt")
    assert not Path(f"/etc/{name}").exists()
    assert lines[:3] == [
        f"write /etc/{name}: 10",
        f"read /mnt/esc/{name}: [guest-only]",
        f"read /mnt/../../../../etc/{name}: [guest-only]",
    ]
    # The guest's /etc/hostname names the machine (``cloudos``), not the host's file
    assert "\n".join(lines[3:]) == "read /mnt/esc/hostname: [cloudos\n]", host_hostname


@by_mode
@pytest.mark.parametrize("writable", [False, True], ids=["ro", "rw"])
def test_relative_symlink_cannot_leave_the_mount(writable, mode, guest_bins, run_cloudos, tmp_path):
    """mnt/up -> ../SECRET names the guest's /SECRET (absent), never the host file beside the
    mount."""
    secret_name = f"outside-secret-{uuid.uuid4().hex}"
    secret = tmp_path.parent / secret_name
    secret.write_bytes(b"host secret\n")
    try:
        mount_dir = tmp_path / "m"
        mount_dir.mkdir()
        os.symlink(f"../{secret_name}", mount_dir / "up")
        before = secret.read_bytes(), secret.stat().st_mtime_ns
        lines = sandbox(guest_bins, run_cloudos, mode,
                        "read", "/mnt/up", "read", f"/mnt/../{secret_name}", "stat", "/mnt/up",
                        mount=f"{mount_dir}:/mnt" + (":rw" if writable else ""))
        assert lines == [
            "read /mnt/up: -1 ENOENT",
            f"read /mnt/../{secret_name}: -1 ENOENT",
            "stat /mnt/up: -1 ENOENT",
        ]
        if writable:
            # Writing through the link must not reach the host file either. (Linux would
            # create /SECRET in the guest's root tmpfs; the guest's result is not checked.)
            out = sandbox(guest_bins, run_cloudos, mode, "write", "/mnt/up", "overwritten",
                          "append", "/mnt/up", "more", mount=f"{mount_dir}:/mnt:rw")
            assert all("host secret" not in line for line in out), out
        assert (secret.read_bytes(), secret.stat().st_mtime_ns) == before
        assert os.readlink(mount_dir / "up") == f"../{secret_name}"
    finally:
        secret.unlink()


@by_mode
def test_writable_mount_changes_reach_the_host(mode, guest_bins, run_cloudos, tmp_path):
    populate(tmp_path)
    lines = sandbox(guest_bins, run_cloudos, mode,
                    "write", "/mnt/new.txt", "written by the guest",
                    "append", "/mnt/hello.txt", "appended",
                    "mkdir", "/mnt/newdir",
                    "write", "/mnt/newdir/inner.txt", "inner",
                    "rename", "/mnt/sub/nested.txt", "/mnt/moved.txt",
                    "unlink", "/mnt/gone.txt",
                    "read", "/mnt/hello.txt",
                    mount=f"{tmp_path}:/mnt:rw")
    assert lines == [
        "write /mnt/new.txt: 20",
        "append /mnt/hello.txt: 8",
        "mkdir /mnt/newdir: 0",
        "write /mnt/newdir/inner.txt: 5",
        "rename /mnt/sub/nested.txt: 0",
        "unlink /mnt/gone.txt: 0",
        "read /mnt/hello.txt: [hello from the host",
        "appended]",
    ]
    assert (tmp_path / "new.txt").read_bytes() == b"written by the guest"
    assert (tmp_path / "hello.txt").read_bytes() == b"hello from the host\nappended"
    assert (tmp_path / "newdir").is_dir()
    assert (tmp_path / "newdir" / "inner.txt").read_bytes() == b"inner"
    assert (tmp_path / "moved.txt").read_bytes() == b"nested\n"
    assert not (tmp_path / "sub" / "nested.txt").exists()
    assert not (tmp_path / "gone.txt").exists()


@by_mode
def test_root_overlay_writes_stay_in_the_guest(mode, guest_bins, run_cloudos, tmp_path):
    """Writing the host's /etc/passwd and /tmp succeeds in the guest (the root's tmpfs
    takes the write) and leaves the host untouched."""
    passwd = Path("/etc/passwd")
    before = passwd.read_bytes(), passwd.stat().st_mtime_ns
    tmp_name = f"/tmp/cloudos-sandbox-{uuid.uuid4().hex}"
    line = "cloudos-sandbox-test:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
    try:
        lines = sandbox(guest_bins, run_cloudos, mode,
                        "append", "/etc/passwd", line,
                        "read", "/etc/passwd",
                        "write", tmp_name, "guest tmp",
                        "read", tmp_name,
                        "mkdir", "/etc/cloudos-sandbox-dir",
                        "stat", "/etc/cloudos-sandbox-dir")
        out = "\n".join(lines) + "\n"
        assert lines[0] == f"append /etc/passwd: {len(line)}"
        assert out.startswith(f"append /etc/passwd: {len(line)}\n"
                              f"read /etc/passwd: [{before[0].decode()}{line}]\n"), out
        assert out.endswith(f"write {tmp_name}: 9\n"
                            f"read {tmp_name}: [guest tmp]\n"
                            "mkdir /etc/cloudos-sandbox-dir: 0\n"
                            "stat /etc/cloudos-sandbox-dir: dir\n"), out
        assert (passwd.read_bytes(), passwd.stat().st_mtime_ns) == before
        assert not Path(tmp_name).exists()
        assert not Path("/etc/cloudos-sandbox-dir").exists()
    finally:  # never leave the host damaged, even if the sandbox failed
        if passwd.read_bytes() != before[0]:
            passwd.write_bytes(before[0])
        if Path(tmp_name).exists():
            os.unlink(tmp_name)
        if Path("/etc/cloudos-sandbox-dir").is_dir():
            os.rmdir("/etc/cloudos-sandbox-dir")
