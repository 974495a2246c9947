"""A machine in-process: programs that fork, exec and run threads give back every frame."""

from __future__ import annotations

import os

import pytest

from cloudos.machine import Machine, Mount, Sandbox


def showing(directory) -> Sandbox:
    """The default sandbox, with the guest programs' directory shown at its own path."""
    return Sandbox(mounts=(Mount(str(directory), str(directory)),))


@pytest.mark.parametrize("name", ["hello", "malloc_stress", "sched_hogs", "files_mmap", "sysv_shm"])
def test_no_frame_is_leaked(guest_bins, capfd, name: str) -> None:
    machine = Machine(256 << 20, sandbox=showing(guest_bins.directory))
    frames = machine.kernel.frames
    before = frames.free_bytes
    program = str(guest_bins.path(name, "static"))
    machine.run(program, [program], dict(os.environ))
    assert frames.free_bytes == before, f"{(before - frames.free_bytes) // 4096} pages leaked"
    assert machine.kernel.frame_refs == {}, "copy-on-write owners left behind"
    assert [p.pid for p in machine.kernel.processes.values()] == [1]  # init, a zombie
    capfd.readouterr()


def test_init_exit_halts_the_machine(guest_bins, capfd) -> None:
    machine = Machine(256 << 20, sandbox=showing(guest_bins.directory))
    program = str(guest_bins.path("hello", "static"))
    assert machine.run(program, [program], {}) == 0
    assert not machine.kernel.threads()
    assert capfd.readouterr().out == "hello, world\n"


def test_shared_mapping_writes_reach_a_host_file(run_cloudos, tmp_path) -> None:
    """A MAP_SHARED mapping of a file in a writable host mount is written back to the host."""
    (tmp_path / "data").write_bytes(b"a" * 5000)
    script = ("import mmap, os\n"
              "fd = os.open('/mnt/data', os.O_RDWR)\n"
              "m = mmap.mmap(fd, 0)\n"
              "m[0:5] = b'HELLO'\n"
              "m[4096:4101] = b'WORLD'\n"
              "m.close()\n"
              "print(os.pread(fd, 5, 4096))\n")
    status, out, err = run_cloudos(["/usr/bin/python3", "-c", script],
                                   extra_args=["--mount", f"{tmp_path}:/mnt:rw"])
    assert (status, out) == (0, b"b'WORLD'\n"), err.decode()
    data = (tmp_path / "data").read_bytes()
    assert (len(data), data[:6], data[4096:4102]) == (5000, b"HELLOa", b"WORLDa")


def test_page_cache_gives_pages_back_under_pressure(guest_bins, run_native, run_cloudos) -> None:
    """96 MiB of file pages pass through private mappings on a 64 MiB machine, then 32 MiB
    of anonymous memory is touched: the cached pages nobody maps are reclaimed."""
    prog = guest_bins.path("cache_pressure", "static")
    native = run_native([prog])
    assert native[0] == 0 and b"files mapped and read: 24 of 24" in native[1], native
    status, out, err = run_cloudos([prog], extra_args=["--mem", "64M"])
    assert (status, out) == (native[0], native[1]), err.decode()


def test_out_of_memory_kills_the_process_not_the_kernel(guest_bins, run_cloudos) -> None:
    """A process touching more memory than there is gets SIGKILL, as from Linux's OOM
    killer; the machine and the shell that ran it go on."""
    prog = guest_bins.path("oom", "static")
    status, out, err = run_cloudos(["/bin/sh", "-c", f"{prog}; echo shell saw $?"],
                                   extra_args=["--mem", "64M"])
    assert status == 0, err.decode()
    assert b"touched 32 MiB" in out and b"all touched" not in out
    assert out.endswith(b"shell saw 137\n"), out
    assert b"out of memory: killed oom" in err and b"PANIC" not in err and b"Traceback" not in err


def test_an_armed_alarm_does_not_outlive_init(tmp_path, run_cloudos) -> None:
    """init's end halts the machine even with an alarm and a POSIX timer still armed
    (they used to keep it waiting until they fired)."""
    src = tmp_path / "armed.c"
    src.write_text("#include <signal.h>\n#include <time.h>\n#include <unistd.h>\n"
                   "int main(void) { timer_t t; struct sigevent ev = {0};\n"
                   "  ev.sigev_notify = SIGEV_NONE; timer_create(CLOCK_MONOTONIC, &ev, &t);\n"
                   "  struct itimerspec its = {{0, 0}, {300, 0}}; timer_settime(t, 0, &its, 0);\n"
                   "  alarm(300); return 0; }\n")
    import subprocess
    subprocess.run(["gcc", "-static", "-o", str(tmp_path / "armed"), str(src)], check=True)
    status, _, err = run_cloudos([str(tmp_path / "armed")], timeout=60)  # not 300 s
    assert status == 0, err.decode()


def test_the_vdso_clock_is_calibrated_at_the_first_map_not_at_boot(guest_bins, capfd) -> None:
    """Booting takes one sample of the TSC and the host clock and does not wait; the rate
    is measured when the first program maps the [vvar] page, from that sample (so over the
    rest of the boot)."""
    import time

    from cloudos.linux import vdso

    machine = Machine(256 << 20, sandbox=showing(guest_bins.directory))
    clock = vdso.of(machine.kernel).clock
    assert clock.rate == 0 and clock.mult == 0 and clock.first[1] > 0
    program = str(guest_bins.path("hello", "static"))
    assert machine.run(program, [program], {}) == 0
    assert 1e8 < 1e9 / clock.rate < 1e11, clock.rate  # a TSC of 0.1 to 100 GHz
    assert clock.mult > 0
    fresh = vdso.Timekeeper(clock.page, mode=clock.mode)
    fresh.start()
    fresh.calibrate()  # at once: it sleeps until CALIBRATION_NS have passed since start
    assert time.monotonic_ns() - fresh.first[1] >= vdso.CALIBRATION_NS
    assert 1e8 < 1e9 / fresh.rate < 1e11, fresh.rate
    capfd.readouterr()
