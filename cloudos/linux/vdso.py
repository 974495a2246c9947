"""The vDSO: linux-vdso.so.1 and its [vvar] page, so reading the clock costs no system call.

Owns: the image (``vdso.c`` built at install into ``cloudos/linux/_vdso*.so``, its one
loadable segment read once), mapping it with the [vvar] page below it into a new
program (its address is AT_SYSINFO_EHDR), and the guest's timekeeping: the figures on
the [vvar] page that turn the CPU's time-stamp counter into each clock's time.
Never: serves a clock the page does not carry (the CPU-time clocks, MONOTONIC_RAW: the
vDSO makes the system call and ``sys_time`` answers).
Called by: ``process.load_program`` (``map_into``), the personality on every return to
user mode (``Timekeeper.tick``), ``sys_mm`` (the [vvar] page stays read-only).

The time. Guest code reads the host's TSC (``rdtsc`` is not trapped on either backend:
the guest's counter is the host's, as ``tests/guest/vdso.c`` checks), and the system
calls answer from the host's clocks, so the kernel keeps the two one clock, as Linux's
timekeeping does with NTP: at most every ``REFRESH_NS`` it reads the TSC and the host's
clocks together and writes a new anchor (``tsc_base`` and each clock's time there). The
rate (``mult``/2^``SHIFT`` ns per tick) is the host's measured over the whole run, nudged
by at most ``MAX_SLEW`` so the vDSO's monotonic clock converges on the host's without
ever stepping back: an anchor never puts a clock earlier than the vDSO already showed,
and after any call the vDSO's time is at least the host's, so a sleep the kernel ends
at T is seen to end at T or later. CLOCK_REALTIME keeps its offset from MONOTONIC
unless the host's realtime clock was set (a step of more than ``STEP_NS``), which the
guest then sees, as on Linux.

Where the host's clock is not the TSC (another clocksource), the page says mode 0 and
every vDSO call makes the system call, as Linux's vDSO does in clock mode "none".
"""

from __future__ import annotations

import importlib.util
import struct
import time
import weakref
from typing import Any

from cloudos.abi.dataclass import dataclass
from cloudos.hal import _preempt  # type: ignore[attr-defined]
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.vm import AddressSpace, Prot, page_align
from cloudos.linux import elf
from cloudos.linux.layout import find_free
from cloudos.linux.memobject import MemoryObject

VVAR, VDSO = "[vvar]", "[vdso]"  # the mappings' names in /proc/<pid>/maps
CLOCKS = 12  # clock ids 0..11 the page has a slot for (vdso.c's CLOCKS)
REALTIME, MONOTONIC, BOOTTIME, TAI = 0, 1, 7, 11
REALTIME_COARSE, MONOTONIC_COARSE = 5, 6  # read exactly here (finer than Linux's ticks)
# vdso.c's struct vvar: seq, mode, tsc_base, mult, shift, unused, base_ns[CLOCKS]
HEAD = struct.Struct("<IIQQII")
BASES = struct.Struct(f"<{CLOCKS}q")
SHIFT = 32
REFRESH_NS = 10_000_000  # a new anchor at most every 10 ms (on a return to user mode)
CALIBRATION_NS = 2_000_000  # the first rate is measured over at least 2 ms
CALIBRATED_NS = 20_000_000  # from 20 ms on, the rate is measured since the start
MAX_SLEW = 500e-6  # the rate is nudged by at most 500 ppm, as NTP's limit
STEP_NS = 1_000_000  # the host's realtime moved against monotonic: it was set


def _host_clocksource() -> str:
    try:
        with open("/sys/devices/system/clocksource/clocksource0/current_clocksource") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def _sample() -> tuple[int, int]:
    """The TSC and the host's monotonic clock at one instant: of three tries, the one
    whose two TSC reads around the clock's are closest (a preempted try is dropped)."""
    best = (1 << 64, 0, 0)
    for _ in range(3):
        before, host, after = _preempt.rdtsc(), time.monotonic_ns(), _preempt.rdtsc()
        best = min(best, (after - before, (before + after) // 2, host))
    return best[1], best[2]


def _offset(clock: int) -> int:
    """The host's ``clock`` minus its monotonic clock, read between two monotonic reads
    (of three tries, the closest pair)."""
    best = (1 << 64, 0)
    for _ in range(3):
        before = time.monotonic_ns()
        value = time.clock_gettime_ns(clock)
        after = time.monotonic_ns()
        best = min(best, (after - before, value - (before + after) // 2))
    return best[1]


@dataclass
class Timekeeper:
    """The figures of the [vvar] page and the anchor they were computed at."""

    page: MemoryObject
    mode: int
    rate: float = 0.0  # ns per tick, over the whole run (0: not calibrated yet)
    mult: int = 0
    tsc_base: int = 0
    mono_base: int = 0  # CLOCK_MONOTONIC at tsc_base (as the vDSO shows it)
    wall: int = 0  # CLOCK_REALTIME - CLOCK_MONOTONIC
    boot: int = 0  # CLOCK_BOOTTIME - CLOCK_MONOTONIC
    first: tuple[int, int] = (0, 0)  # (tsc, host monotonic) when the machine started
    seq: int = 0

    def start(self) -> None:
        """The first sample: the rate is measured from here when a program first maps the
        page (``calibrate``), over the rest of the boot rather than a sleep at every boot."""
        self.first = _sample()

    def calibrate(self) -> None:
        """The rate (ns per TSC tick, refined while the machine runs) and the first anchor,
        once: over at least CALIBRATION_NS since ``start``, sleeping what the boot was short."""
        if self.rate:
            return
        waited = time.monotonic_ns() - self.first[1]
        if waited < CALIBRATION_NS:
            time.sleep((CALIBRATION_NS - waited) / 1e9)
        tsc, mono = _sample()
        self.rate = (mono - self.first[1]) / max(1, tsc - self.first[0])
        self.wall = _offset(time.CLOCK_REALTIME)
        self.boot = _offset(time.CLOCK_BOOTTIME)
        self._anchor(tsc, mono, self.rate)

    def shown(self, tsc: int) -> int:
        """CLOCK_MONOTONIC as the vDSO computes it at ``tsc``."""
        return self.mono_base + ((tsc - self.tsc_base) * self.mult >> SHIFT)

    def tick(self) -> None:
        """A return to user mode: a new anchor when the last is REFRESH_NS old."""
        tsc = _preempt.rdtsc()
        if (tsc - self.tsc_base) * self.rate >= REFRESH_NS:
            self.refresh()

    def refresh(self) -> None:
        tsc, host = _sample()
        tsc0, host0 = self.first
        if host - host0 > CALIBRATED_NS:  # the rate over the whole run: the host's own
            self.rate = (host - host0) / max(1, tsc - tsc0)
        shown = self.shown(tsc)
        mono = max(shown, host)  # never back; ahead of the host: slowed until it meets it
        slew = min(MAX_SLEW, (mono - host) / 1e9)
        wall = _offset(time.CLOCK_REALTIME)
        if abs(wall - self.wall) > STEP_NS:
            self.wall = wall
        boot = _offset(time.CLOCK_BOOTTIME)
        if abs(boot - self.boot) > STEP_NS:  # the host slept
            self.boot = boot
        self._anchor(tsc, mono, self.rate * (1 - slew))

    def _anchor(self, tsc: int, mono: int, rate: float) -> None:
        self.tsc_base, self.mono_base, self.mult = tsc, mono, round(rate * (1 << SHIFT))
        bases = [-1] * CLOCKS
        for clock in (MONOTONIC, MONOTONIC_COARSE, BOOTTIME):
            bases[clock] = mono + (self.boot if clock == BOOTTIME else 0)
        for clock in (REALTIME, REALTIME_COARSE, TAI):  # TAI: the syscall's (realtime) too
            bases[clock] = mono + self.wall
        self._write(HEAD.pack(0, self.mode, tsc, self.mult, SHIFT, 0) + BASES.pack(*bases))

    def _write(self, figures: bytes) -> None:
        """The page's figures under its sequence count (odd while they change)."""
        ram, at = self.page.shadow.ram, self.page.frame(0)
        self.seq += 1
        ram.write(at, struct.pack("<I", self.seq & 0xFFFF_FFFF))
        ram.write(at + 4, figures[4:])
        self.seq += 1
        ram.write(at, struct.pack("<I", self.seq & 0xFFFF_FFFF))


@dataclass
class Vdso:
    """A machine's vDSO: the image's pages and the [vvar] page every process maps."""

    image: MemoryObject | None  # None: no image was built (said in the boot log)
    clock: Timekeeper
    pages: int = 0


def _load_image() -> bytes:
    """The image as it lies in memory: its PT_LOAD segments at their addresses."""
    spec = importlib.util.find_spec("cloudos.linux._vdso")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("cloudos/linux/_vdso*.so was not built (pip install -e .)")
    with open(spec.origin, "rb") as f:
        data = f.read()
    loads = elf.parse(data, spec.origin).loads
    image = bytearray(page_align(max(seg.vaddr + seg.memsz for seg in loads)))
    for seg in loads:
        image[seg.vaddr:seg.vaddr + seg.filesz] = data[seg.offset:seg.offset + seg.filesz]
    return bytes(image)


_machines: weakref.WeakKeyDictionary[Any, Vdso] = weakref.WeakKeyDictionary()


def of(kernel: Any) -> Vdso:
    """The vDSO of ``kernel``'s machine, made at its first use."""
    vdso = _machines.get(kernel)
    if vdso is None:
        page = MemoryObject(kernel)
        page.grow(1)
        source = _host_clocksource()
        clock = Timekeeper(page, mode=int(source == "tsc"))
        clock.start()
        try:
            data = _load_image()
        except (OSError, elf.ExecError) as err:
            vdso = Vdso(None, clock)
            kernel.log.warn(f"no vDSO: {err}: every clock read is a system call")
        else:
            image = MemoryObject(kernel)
            image.grow(len(data) // PAGE_SIZE, data)
            vdso = Vdso(image, clock, len(data) // PAGE_SIZE)
            kernel.log.info(f"vDSO: {len(data)} bytes; clocks "
                            + ("by the TSC" if clock.mode else
                               f"by system calls (the host's clocksource is {source})"))
        _machines[kernel] = vdso
    return vdso


_IMAGE_PROT = Prot.READ | Prot.EXEC


def map_into(kernel: Any, aspace: AddressSpace) -> int:
    """Map [vvar] and the image above it into a new program; AT_SYSINFO_EHDR (0: none)."""
    vdso = of(kernel)
    if vdso.image is None:
        return 0
    vdso.clock.calibrate()  # (the page's figures, before the first program can read them)
    start = find_free(aspace, (1 + vdso.pages) * PAGE_SIZE)
    aspace.add(start, PAGE_SIZE, Prot.READ, VVAR)
    aspace.share(start, vdso.clock.page.frame(0), cow=False)
    ehdr = start + PAGE_SIZE
    aspace.add(ehdr, vdso.pages * PAGE_SIZE, _IMAGE_PROT, VDSO)
    for index in range(vdso.pages):  # a write (after mprotect) copies the page, as Linux
        aspace.share(ehdr + index * PAGE_SIZE, vdso.image.frame(index), cow=True)
    return ehdr


def tick(kernel: Any) -> None:
    """A thread returns to user mode: the clock's anchor, if it is due."""
    vdso = _machines.get(kernel)
    if vdso is not None:
        vdso.clock.tick()
