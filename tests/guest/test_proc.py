"""/proc and /proc/sys as programs read them: guest programs (tests/guest/proc_*.c) that
read and parse each file, run natively and under CloudOS with the same output where the
values are comparable (file types and modes, shapes, field counts, error codes, a value
written back reads back), and under CloudOS only where the values differ by nature or
the program must change them (the native run would change the host's)."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)


def _assert_same(native, guest) -> None:
    detail = f"cloudos stderr:\n{guest[2].decode(errors='replace')}"
    assert b"Traceback" not in guest[2], detail
    assert guest[1] == native[1], detail
    assert guest[0] == native[0], detail


def _check_native(native, expected) -> None:
    status, out, err = native
    assert status == 0, (status, out, err)
    missing = [line for line in expected if line not in out.splitlines()]
    assert not missing, f"native run lacks {missing!r}:\n{out.decode(errors='replace')}"


# Lines each section's native run must print (a broken program cannot compare vacuously)
SECTIONS = {
    ("proc_sys", "read"): [b"kernel/pid_max: a number", b"kernel/ostype: file 0444 uid 0",
                           b"kernel/hostname: file 0644 uid 0", b"ostype: Linux",
                           b"osrelease is uname's release: 1", b"tainted: 0",
                           b"uuid: uuid 1, a new one each read 1, version 4 1",
                           b"read of a directory: -1 EISDIR", b"missing: ENOENT"],
    ("proc_sys", "dirs"): [b"/proc lists sys: 1, a directory 1",
                           b"kernel lists pid_max: 1, a file 1",
                           b"fs lists nr_open: 1, a file 1",
                           b"random lists boot_id: 1, uuid: 1"],
    ("proc_sys", "write"): [b"write back kernel/pid_max: 0, reads the same 1",
                            b"pid_max \"abc\": EINVAL", b"pid_max 100 (below 301): EINVAL",
                            b"ostype as root: EACCES", b"pid_max as nobody: EACCES",
                            b"create in /proc/sys/kernel: ENOENT", b"child: 0"],
    ("proc_sys", "nofile"): [b"RLIMIT_NOFILE nr_open + 1: -1 EPERM"],
    ("proc_files", "loadavg"): [b"loadavg: 7 fields, a newline 1",
                                b"running >= 1 (we are): 1, total >= running: 1, "
                                b"last pid >= ours: 1",
                                b"last pid after a fork is at least the child's: 1"],
    ("proc_files", "vmstat"): [b"vmstat has pgpgin: 1", b"vmstat has pswpout: 1",
                               b"every line \"name number\": 1", b"meminfo has Cached: 1",
                               b"stat has procs_running: 1", b"procs_running >= 1: 1"],
    ("proc_files", "start"): [b"stat: 52 fields", b"starttime (field 22) within the uptime: 1",
                              b"the child started after us: 1, by at least 0.1 s: 1"],
    ("proc_files", "environ"): [b"environ is our initial environment: 1 (lengths equal 1, "
                                b"NUL-ended 1)", b"setenv does not change it: 1",
                                b"environ: mode 0400, owner is us 1", b"as nobody: EACCES"],
    # (gdb could not put a breakpoint in a PIE program: no /proc/<pid>/auxv, no AT_ENTRY)
    ("proc_files", "auxv"): [b"auxv: pairs of longs 1, ends with AT_NULL 0 1, getauxval's "
                             b"values 1", b"auxv: mode 0400", b"task/TID/maps is maps: 1",
                             b"the exec'd child's: pairs 1, another AT_ENTRY 1"],
    ("proc_files", "task"): [b"task/: 3 threads, the main thread's tid is the pid 1, "
                             b"directories 3",
                             b"task/TID/stat names the tid, status its Pid and Tgid: 3 of 3",
                             b"stat's num_threads (field 20): 3"],
    ("proc_files", "ns"): [b"ns/uts: a link 1, \"uts:[N]\" 1, stat's inode is N 1",
                           b"ns/pid_for_children: a link 1, \"pid:[N]\" 1, stat's inode is N 1",
                           b"a child sees its parent's uts namespace: 1"],
    ("proc_files", "fdinfo"): [b"fdinfo: 4 fields, pos 3, flags 02102002",
                               b"ino is fstat's: 1, mnt_id in mountinfo: 1",
                               b"pipe end 1: pos 0, flags 01", b"a closed fd: ENOENT"],
    ("proc_files", "status"): [b"Groups:\t5 6 ",
                               b"SIGUSR1 raised while blocked: pending 1, blocked 1",
                               b"SIGUSR2 ignored 1, SIGTERM caught 1, no other caught 1",
                               b"NoNewPrivs:\t1", b"status has 19 of 19 keys",
                               b"Uid:\t1000\t2000\t3000\t2000", b"Gid:\t100\t200\t300\t200",
                               b"after nice(5): priority 25, nice 5",
                               b"the named thread's comm: worker-7", b"its stat names it: 1",
                               b"Name:\tworker-7", b"cwd link is getcwd: 1", b"root link: /"],
    # (task/TID/status showed the first thread's SigPnd and SigBlk, and stat's signal
    # field the process's pending too, where Linux shows the thread's own)
    ("proc_files", "pending"): [b"ShdPnd:\t0000000000014200", b"SigBlk:\t0000000000014a00",
                                b"stat: signal 2048 blocked 84480", b"State:\tT (stopped)",
                                b"SigPnd:\t0000000000000001", b"ShdPnd:\t0000000000004200",
                                b"then SIGCONT: killed by signal 1",
                                b"SigPnd:\t0000000000400200", b"SigBlk:\t0000000000400a00",
                                b"stat: signal 4194816 blocked 4196864"],
    ("proc_files", "cmdline"): [b"cmdline: 1 bytes, our arguments 1",
                                b"after writing argv[1]: Cmdline",
                                b"the end NUL overwritten (setproctitle): reads argv[0] and "
                                b"its NUL", b"a zombie's cmdline: 0 bytes"],
    ("proc_files", "stat"): [b"52 fields; startcode <= main < endcode: 1",
                             b"start_data <= a static variable < end_data: 1",
                             b"arg_start is argv[0]: 1, arg_end is env_start: 1, env_start is "
                             b"environ[0]: 1, env_end above: 1",
                             b"exit_signal 17, rt_priority 0, policy 0, exit_code 0",
                             b"blocked 512, ignored 2048", b"a zombie: state Z, exit_code 768",
                             b"as nobody, the parent's startcode 1, env_start 0"],
    ("proc_files", "names"): [b"stat /proc/01: ENOENT", b"stat /proc/self/fd/01: ENOENT",
                              b"mkdir /proc/new: ENOENT", b"unlink /proc/self/comm: EPERM",
                              b"open O_CREAT /proc/self/new: ENOENT",
                              b"readlink /proc/self/stat: EINVAL"],
    ("proc_files", "mounts"): [b"mounts: every line 6 fields 1, ending 0 0 1, / listed 1, "
                               b"proc on /proc 1", b"/proc/mounts -> self/mounts",
                               b"mountinfo: every line shaped 1, ids unique 1, a parent "
                               b"outside the table: yes"],
}


@pytest.mark.parametrize("program,section", list(SECTIONS),
                         ids=[f"{p}-{s}" for p, s in SECTIONS])
def test_proc_like_linux(program, section, guest_bins, run_native, run_cloudos) -> None:
    prog = guest_bins.path(program, "static")
    native = run_native([prog, section])
    _check_native(native, [f"== {section}".encode(), *SECTIONS[(program, section)]])
    _assert_same(native, run_cloudos([prog, section]))


MAPS_LINES = [b"the code of main: r-xp, names the program 1, at main's offset in the file 1",
              b"private file map at offset 0x1000: r--p offset 0x1000, names the file 1",
              b"second: rw-p offset 0x2000, names the file 1",
              b"after mremap (grown or moved): r--p offset 0x3000, names the file 1",
              b"file over anonymous memory (MAP_FIXED): r--p offset 0x7000, names the file 1",
              b"anonymous memory over it again: r--p offset 0, names the file 1"]


@pytest.mark.parametrize("mode", ["static", "static-pie"])
def test_maps_like_linux(mode, guest_bins, run_native, run_cloudos) -> None:
    """/proc/self/maps names each file mapping by its path and file offset, through
    mprotect, munmap, mremap and MAP_FIXED, as Linux (addresses aside)."""
    prog = guest_bins.path("proc_maps", mode)
    native = run_native([prog])
    _check_native(native, MAPS_LINES)
    _assert_same(native, run_cloudos([prog]))


def test_proc_sys_values_are_honoured(guest_bins, run_cloudos) -> None:
    """CloudOS only (it changes values): what is written is what the kernel then does.
    (--aslr exec: randomize_va_space 2 as Linux has it, a new layout at every exec; the
    default, boot, keeps one layout per program, tests/linux/test_aslr.py.)"""
    status, out, err = run_cloudos([guest_bins.path("proc_sys", "static"), "honour"],
                                   extra_args=["--aslr", "exec"])
    assert status == 0, err.decode()
    assert out.decode().splitlines() == [
        "== honour",
        "pipe-max-size 5000: 0", "pipe-max-size reads 8192",  # round_pipe_size
        "nobody: F_SETPIPE_SZ 8192: 8192, 16384: -1 EPERM",
        "lease-break-time 1: 0", "F_SETLEASE F_RDLCK: 0",
        "open for writing: ok, after the break time: 1",
        "hostname written: uname says renamed", "sethostname: /proc says byname",
        "domainname written: example.org",
        "nr_open 2048: 0", "RLIMIT_NOFILE 4096 past nr_open 2048: -1 EPERM",
        "RLIMIT_NOFILE 2048: 0",
        "pid_max 310: 0", "10 forks: 10 made, all below pid_max 1, numbering wrapped to 300: 1",
        "threads-max 20: 0", "forks under threads-max 20: stopped at 20 tasks with EAGAIN",
        "core_pattern: 0", "core dumped 1, at /tmp/core-<comm>.<pid>: 1, an ELF core: 1",
        "overcommit_memory 0: twice the RAM: ENOMEM", "overcommit_memory 1: twice the RAM: 0",
        "max_map_count 100: 0", "mmap until failure: ENOMEM, then max_map_count + 1 mappings: 1",
        "randomize_va_space 2: two execs' stacks differ 1",
        "randomize_va_space 0: two execs' stacks differ 0"]


@pytest.mark.skipif(shutil.which("ps") is None or shutil.which("vmstat") is None,
                    reason="procps not installed")
def test_procps_reads_times_and_load(run_cloudos) -> None:
    """Debian's ps, vmstat and uptime inside the guest: the start times and elapsed times
    of processes are the guest's (field 22 of stat), the load average is the scheduler's
    (a CPU hog for more than one 5 s sample makes it rise, as on Linux)."""
    # the hog (a loop of the shell: no system call) runs through the first sample (5 s
    # after boot) and no longer: the rest then runs at full speed, and the average holds
    # until the next sample decays it
    script = ("sleep 30 & S=$!; (while :; do :; done) & Y=$!; sleep 5.5; kill $Y; "
              "echo '== ps'; "
              "ps -o pid,lstart,etime,cmd; echo '== vmstat'; vmstat; echo '== uptime'; uptime; "
              "echo '== loadavg'; cat /proc/loadavg; echo '== maps'; cat /proc/self/maps; "
              "kill $S; wait; true")
    before = time.time()
    status, out, err = run_cloudos(["/bin/sh", "-c", script], extra_args=["--mem", "256M"])
    after = time.time()
    assert status == 0, err.decode()
    parts = dict(re.findall(r"== ([^\n]+)\n(.*?)(?=\n== |\Z)", out.decode(), re.S))
    ps = parts["ps"].splitlines()
    assert ps[0].split() == ["PID", "STARTED", "ELAPSED", "CMD"]
    rows = {line.split(None, 7)[7]: line.split(None, 7) for line in ps[1:]}
    for cmd, row in rows.items():
        started = time.mktime(time.strptime(" ".join(row[1:6]), "%a %b %d %H:%M:%S %Y"))
        assert before - 2 <= started <= after + 1, (cmd, row)
    elapsed = {cmd: sum(int(x) * 60 ** i for i, x in enumerate(reversed(row[6].split(":"))))
               for cmd, row in rows.items()}
    assert elapsed["sleep 30"] >= 5, ps
    assert elapsed["ps -o pid,lstart,etime,cmd"] <= elapsed["sleep 30"] - 4, ps
    vmstat = parts["vmstat"].splitlines()
    assert vmstat[1].split()[:3] == ["r", "b", "swpd"] and len(vmstat[2].split()) == 17
    assert int(vmstat[2].split()[0]) >= 1  # vmstat itself runs
    load = re.search(r"load average: (\d+\.\d\d), (\d+\.\d\d), (\d+\.\d\d)", parts["uptime"])
    assert load is not None, parts["uptime"]
    one, five, fifteen = map(float, load.groups())
    # one runnable hog for one sample: 1 - 1884/2048 = 0.08 (0.07 if a second one, without
    # it, came before uptime read it); the 5 and 15-minute averages rise slower
    assert 0.07 <= one <= 0.09 and one > five >= fifteen > 0, parts["uptime"]
    fields = parts["loadavg"].split()
    assert float(fields[0]) <= one and re.fullmatch(r"\d+/\d+", fields[3]), fields
    # cat's own maps: its program by its real path (symbolic links resolved, as
    # Linux's d_path), at the file offsets of its segments; the loader; heap and stack
    maps = [line.split(None, 5) for line in parts["maps"].splitlines()]
    cat = os.path.realpath("/bin/cat")
    assert [m[2] for m in maps if m[5:] == [cat]][0] == "00000000", parts["maps"]
    assert any(m[1] == "r-xp" and m[5:] == [cat] and int(m[2], 16) > 0 for m in maps)
    assert any(m[5:] and m[5].endswith(".so.2") and "ld-linux" in m[5] for m in maps)
    assert sorted(m[5] for m in maps if m[5:] and m[5].startswith("[")) == \
        ["[heap]", "[stack]", "[vdso]", "[vvar]"]
