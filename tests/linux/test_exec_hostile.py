"""Hostile programs and arguments for exec (issue 11): malformed ELF files built here from
valid ``gcc`` programs, devices and FIFOs as the program or as its PT_INTERP, execve's
argument limits, clone's CLONE_PARENT_SETTID with a bad pointer, a signal handler on a
read-only alternate stack, and signals to init from inside.

``cloudos run FILE`` must answer each file with a one-line error and status 126 (127 when
not found), or run it as Linux does; never a traceback, a panic (125) or a hang. The same
files execve'd inside a guest (tests/guest/exec_hostile.c) must end as they end natively:
the same errno, or the same signal when Linux finds the fault past its point of no return.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Callable

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
HEADER_FIELDS = ("ident type machine version entry phoff shoff flags ehsize phentsize phnum "
                 "shentsize shnum shstrndx").split()
PHDR_FIELDS = "type flags offset vaddr paddr filesz memsz align".split()
PT_LOAD, PT_INTERP, PT_NOTE, PT_PHDR = 1, 3, 4, 6
U64 = 1 << 64


# -- building malformed files -------------------------------------------------------
def set_header(data: bytes, **fields: int) -> bytes:
    values = list(ELF_HEADER.unpack_from(data))
    for name, value in fields.items():
        values[HEADER_FIELDS.index(name)] = value
    out = bytearray(data)
    ELF_HEADER.pack_into(out, 0, *values)
    return bytes(out)


def phdrs(data: bytes) -> list[list[int]]:
    header = ELF_HEADER.unpack_from(data)
    phoff, phnum = header[5], header[10]
    return [list(PROGRAM_HEADER.unpack_from(data, phoff + i * 56)) for i in range(phnum)]


def set_phdr(data: bytes, index: int, **fields: int) -> bytes:
    values = phdrs(data)[index]
    for name, value in fields.items():
        values[PHDR_FIELDS.index(name)] = value
    out = bytearray(data)
    PROGRAM_HEADER.pack_into(out, ELF_HEADER.unpack_from(data)[5] + index * 56, *values)
    return bytes(out)


def nth(data: bytes, kind: int, n: int = 0) -> int:
    """The index of the n-th program header of type ``kind``."""
    return [i for i, p in enumerate(phdrs(data)) if p[0] == kind][n]


def with_interp(data: bytes, path: bytes | str) -> bytes:
    """``data`` with its PT_INTERP pointing to ``path``, appended at the end of the file."""
    name = os.fsencode(path)
    return set_phdr(data + name + b"\0", nth(data, PT_INTERP), offset=len(data),
                    filesz=len(name) + 1)


def every_load(data: bytes, **shift: int) -> bytes:
    for k in range(len([p for p in phdrs(data) if p[0] == PT_LOAD])):
        index = nth(data, PT_LOAD, k)
        value = phdrs(data)[index][PHDR_FIELDS.index("vaddr")]
        data = set_phdr(data, index, vaddr=(value + shift["vaddr"]) % U64)
    return data


Bases = dict[str, bytes]  # "static", "pie", "dynamic": hello.c built three ways
Builder = Callable[[Bases, Path], bytes]

# name -> how to build it from the valid programs (and the directory of the others)
CASES: dict[str, Builder] = {
    "static": lambda b, d: b["static"],
    "dynamic": lambda b, d: b["dynamic"],
    # the ELF header
    "bad_magic": lambda b, d: b"\x7fELG" + b["static"][4:],
    "class32": lambda b, d: b["static"][:4] + b"\x01" + b["static"][5:],
    "big_endian": lambda b, d: b["static"][:5] + b"\x02" + b["static"][6:],
    "machine_386": lambda b, d: set_header(b["static"], machine=3),
    "type_rel": lambda b, d: set_header(b["static"], type=1),
    "type_core": lambda b, d: set_header(b["static"], type=4),
    "e_phoff_2_63": lambda b, d: set_header(b["static"], phoff=1 << 63),
    "e_phoff_2_63_pie": lambda b, d: set_header(b["pie"], phoff=1 << 63),
    "e_phoff_past_end": lambda b, d: set_header(b["static"], phoff=len(b["static"]) - 20),
    "e_phnum_0": lambda b, d: set_header(b["static"], phnum=0),
    "e_phnum_ffff": lambda b, d: set_header(b["static"], phnum=0xFFFF),
    "e_phentsize_32": lambda b, d: set_header(b["static"], phentsize=32),
    "e_entry_max": lambda b, d: set_header(b["static"], entry=U64 - 1),
    "e_entry_kernel": lambda b, d: set_header(b["static"], entry=0xFFFF_8000_0000_0000),
    "e_entry_unmapped": lambda b, d: set_header(b["static"], entry=0x10000),
    # relocation of a PIE past 2^64
    "pie_entry_overflow": lambda b, d: set_header(b["pie"], entry=U64 - 0x100),
    "pie_phdr_overflow": lambda b, d: set_phdr(b["pie"], nth(b["pie"], PT_NOTE), type=PT_PHDR,
                                               vaddr=U64 - 0x1000, offset=64),
    "pie_vaddr_overflow": lambda b, d: set_phdr(b["pie"], nth(b["pie"], PT_LOAD, 3),
                                                vaddr=U64 - 0x1000 + 0x518),
    "pie_all_vaddr_high": lambda b, d: every_load(b["pie"], vaddr=U64 - 0x100000),
    # PT_LOAD segments
    "load_vaddr_kernel": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 1),
                                               vaddr=0xFFFF_8000_0000_1000),
    "load_vaddr_zero": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 0), vaddr=0),
    "load_offset_huge": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 1),
                                              offset=(1 << 63) + 0x1000),
    "load_filesz_huge": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 1),
                                              filesz=1 << 62, memsz=1 << 62),
    "load_memsz_huge": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 3),
                                             memsz=1 << 62),
    "load_memsz_1t": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 3),
                                           memsz=1 << 40),
    "load_memsz_wrap": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 3),
                                             memsz=U64 - 0x1000),
    "load_filesz_gt_memsz": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 3),
                                                  filesz=0x20000),
    "load_misaligned": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 1),
                                             offset=0x1001),
    "load_overlap": lambda b, d: set_phdr(b["static"], nth(b["static"], PT_LOAD, 2),
                                          vaddr=phdrs(b["static"])[nth(b["static"], PT_LOAD,
                                                                       1)][3]),
    "no_load": lambda b, d: _no_load(b["static"]),
    # short files
    "empty": lambda b, d: b"",
    "text": lambda b, d: b"echo not an ELF\n",
    "truncated_16": lambda b, d: b["static"][:16],
    "truncated_63": lambda b, d: b["static"][:63],
    "truncated_64": lambda b, d: b["static"][:64],
    "truncated_200": lambda b, d: b["static"][:200],
    "truncated_half": lambda b, d: b["static"][:len(b["static"]) // 2],
    # #! scripts
    "shebang_empty": lambda b, d: b"#!\n",
    "shebang_dev_zero": lambda b, d: b"#!/dev/zero\n",
    "shebang_fifo": lambda b, d: b"#!" + bytes(d / "fifo") + b"\n",
    # PT_INTERP: what it names, and the segment itself
    "interp_dev_zero": lambda b, d: with_interp(b["dynamic"], "/dev/zero"),
    "interp_urandom": lambda b, d: with_interp(b["dynamic"], "/dev/urandom"),
    "interp_fifo": lambda b, d: with_interp(b["dynamic"], d / "fifo"),
    "interp_dir": lambda b, d: with_interp(b["dynamic"], "/usr"),
    "interp_missing": lambda b, d: with_interp(b["dynamic"], "/nonexistent/ld.so"),
    "interp_text": lambda b, d: with_interp(b["dynamic"], d / "text"),
    "interp_truncated_16": lambda b, d: with_interp(b["dynamic"], d / "truncated_16"),
    "interp_truncated_200": lambda b, d: with_interp(b["dynamic"], d / "truncated_200"),
    "interp_phoff_2_63": lambda b, d: with_interp(b["dynamic"], d / "e_phoff_2_63_pie"),
    "interp_entry_overflow": lambda b, d: with_interp(b["dynamic"], d / "pie_entry_overflow"),
    "interp_vaddr_overflow": lambda b, d: with_interp(b["dynamic"], d / "pie_vaddr_overflow"),
    "interp_empty_name": lambda b, d: set_phdr(b["dynamic"] + b"\0\0",
                                               nth(b["dynamic"], PT_INTERP),
                                               offset=len(b["dynamic"]), filesz=2),
    "interp_no_nul": lambda b, d: set_phdr(b["dynamic"] + b"/lib64/ld-linux-x86-64.so.2X",
                                           nth(b["dynamic"], PT_INTERP),
                                           offset=len(b["dynamic"]), filesz=28),
    "interp_filesz_1": lambda b, d: set_phdr(b["dynamic"], nth(b["dynamic"], PT_INTERP),
                                             filesz=1),
    "interp_filesz_5000": lambda b, d: set_phdr(b["dynamic"] + bytes(5000),
                                                nth(b["dynamic"], PT_INTERP),
                                                offset=len(b["dynamic"]), filesz=5000),
    "interp_offset_huge": lambda b, d: set_phdr(b["dynamic"], nth(b["dynamic"], PT_INTERP),
                                                offset=1 << 63),
    "interp_offset_past_end": lambda b, d: set_phdr(b["dynamic"], nth(b["dynamic"], PT_INTERP),
                                                    offset=len(b["dynamic"]) - 5, filesz=28),
}
# Files that are no regular file: as the program (a FIFO must not hang the read)
SPECIAL = {"fifo": None, "dev_zero": "/dev/zero", "dev_urandom": "/dev/urandom", "dir": "/usr"}


def _no_load(data: bytes) -> bytes:
    """Every PT_LOAD turned into a PT_NOTE."""
    for index in [i for i, p in enumerate(phdrs(data)) if p[0] == PT_LOAD]:
        data = set_phdr(data, index, type=PT_NOTE)
    return data


@pytest.fixture(scope="module")
def hostile(guest_bins, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every case of CASES and SPECIAL as a path (files made executable)."""
    directory = tmp_path_factory.mktemp("hostile")
    dynamic = directory / "hello.dynamic"
    hello_c = Path(__file__).resolve().parents[1] / "guest" / "hello.c"
    subprocess.run(["gcc", "-O1", "-o", dynamic, hello_c], check=True)
    bases = {"static": guest_bins.path("hello", "static").read_bytes(),
             "pie": guest_bins.path("hello", "static-pie").read_bytes(),
             "dynamic": dynamic.read_bytes()}
    os.mkfifo(directory / "fifo")
    paths = {name: str(path or directory / name) for name, path in SPECIAL.items()}
    # Files named by others (PT_INTERP, #!) come first: build in that order.
    for name, build in sorted(CASES.items(),
                              key=lambda item: item[0].startswith(("interp", "shebang"))):
        path = directory / name
        path.write_bytes(build(bases, directory))
        path.chmod(0o755)
        paths[name] = str(path)
    return paths


# -- cloudos run FILE ---------------------------------------------------------------
def _native(path: str) -> tuple[int | None, int]:
    """How Linux runs ``path``: (execve's errno or None, shell status)."""
    try:
        proc = subprocess.run([path], capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except OSError as err:
        return err.errno, 126
    return None, 128 - proc.returncode if proc.returncode < 0 else proc.returncode


@pytest.mark.parametrize("name", sorted([*CASES, *SPECIAL]))
def test_cloudos_run_hostile_file(name, hostile, run_cloudos):
    path = hostile[name]
    status, out, err = run_cloudos([path], timeout=60)
    detail = f"status {status}\nstdout {out!r}\nstderr:\n{err.decode(errors='replace')}"
    assert b"Traceback" not in err and status != 125, detail
    errno, native_status = _native(path)
    if errno is not None:  # Linux refuses it at execve: a clear word, 126 or 127
        lines = err.decode().splitlines()
        assert status == (127 if errno == 2 else 126), detail
        assert len(lines) == 1 and lines[0].startswith("cloudos: "), detail
    elif native_status == 139:  # Linux kills it past its point of no return
        assert status in (126, 139), detail
    else:
        assert (status, out) == (native_status, b"hello, world\n"), detail


# -- execve inside the guest --------------------------------------------------------
def _assert_same(native, guest) -> None:
    detail = f"cloudos stderr:\n{guest[2].decode(errors='replace')}"
    assert b"Traceback" not in guest[2], detail
    assert guest[1].decode() == native[1].decode(), detail
    assert guest[0] == native[0], detail


def test_execve_hostile_files(hostile, guest_bins, run_native, run_cloudos):
    argv = [guest_bins.path("exec_hostile", "static"), "files",
            *(hostile[name] for name in sorted([*CASES, *SPECIAL]))]
    native = run_native(argv)
    assert native[0] == 0, native
    text = native[1].decode()
    for expected in ("e_phoff_2_63\n  execve -1 ENOEXEC\n", "interp_fifo\n  execve -1 EACCES\n",
                     "interp_dev_zero\n  execve -1 EACCES\n", "fifo\n  execve -1 EACCES\n",
                     "interp_truncated_200\n  execve -1 ELIBBAD\n",
                     "interp_offset_past_end\n  execve -1 EIO\n",
                     "pie_entry_overflow\n  ended: killed by signal 11\n",
                     "dynamic\nhello, world\n  ended: exited 0\n"):
        assert expected in text, text
    _assert_same(native, run_cloudos(argv, timeout=180))


SECTIONS = {
    "args": ["execve with 2097152 empty strings: -1 E2BIG",
             "execve with a 131072-byte string: -1 E2BIG",
             "execve with an unmapped argv: -1 EFAULT",
             "execve of a missing file with an unmapped argv: -1 ENOENT",
             "big-args child: exited 0"],
    "clone": ["clone with an unmapped parent_tid: returned a pid", "  child: exited 7",
              "clone with a read-only parent_tid: returned a pid", "  child: exited 8"],
    "altstack": ["read-only altstack child: killed by signal 11"],
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_exec_hostile_sections(section, hostile, guest_bins, run_native, run_cloudos):
    argv = [guest_bins.path("exec_hostile", "static"), section, hostile["text"]]
    native = run_native(argv)
    assert native[0] == 0, native
    lines = native[1].decode().splitlines()
    for line in SECTIONS[section]:
        assert line in lines, native[1].decode()
    _assert_same(native, run_cloudos(argv))


INIT_LINES = ("== init\nkill(1, SIGKILL): 0\nkill(1, SIGSTOP): 0\nkill(1, SIGTERM): 0\n"
              "kill(1, SIGUSR2), blocked: 0\nsigqueue(1, SIGINT): 0\n"
              "signalling child: exited 0\ninit still runs, took the blocked signal 12\n")


def test_signals_to_init(guest_bins, run_native, run_cloudos):
    """Another process's kill(1, SIGKILL) is ignored: init gets only what it handles or
    blocks. Natively the program is pid 1 of a new PID namespace (when unshare works)."""
    prog = guest_bins.path("exec_hostile", "static")
    if shutil.which("unshare") and subprocess.run(["unshare", "-Upfr", "true"]).returncode == 0:
        native = run_native(["unshare", "-Upfr", "--mount-proc", prog, "init"])
        assert native[1].decode() == INIT_LINES, native
    status, out, err = run_cloudos([prog, "init"])
    assert (status, out.decode()) == (0, INIT_LINES), err.decode(errors="replace")


BIG_CORE_C = r"""
#include <stdlib.h>
#include <sys/mman.h>
int main(void)
{
    char *p = mmap(NULL, 1UL << 40, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    p[12345] = 1;
    abort();
}
"""


def test_core_of_a_huge_mapping_is_bounded(run_cloudos, tmp_path):
    """A core file is built in host memory: a 1 TiB mapping must not make it 1 TiB (a
    host MemoryError, or the host's memory exhausted); it stops at the guest's RAM."""
    (tmp_path / "big.c").write_text(BIG_CORE_C)
    subprocess.run(["gcc", "-O1", "-static", "-o", tmp_path / "big", tmp_path / "big.c"],
                   check=True)
    status, _, err = run_cloudos(["/bin/sh", "-c", "cd /mnt/t && ulimit -c unlimited && ./big"],
                                 extra_args=["--mem", "64M", "--mount", f"{tmp_path}:/mnt/t:rw"])
    assert status == 128 + 6, err.decode()
    core = tmp_path / "core"
    assert core.read_bytes()[:4] == b"\x7fELF", err.decode()
    assert 0 < core.stat().st_size <= 64 << 20, core.stat().st_size
