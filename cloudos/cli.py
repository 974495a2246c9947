"""The ``cloudos`` command: boot a machine and run a program, print the syscall table.

Owns: argument parsing, turning a guest's end into the command's exit status
(its exit code, or 128 + signal as a shell reports it), and making sure no
user ever sees a Python traceback: bad input is a one-line message.
Called by: the user.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any, Callable, NoReturn

import click

from cloudos import __version__

TRACE_SLICES = 1_000_000  # --sched-trace keeps at most this many slices (~150 MB)
MAX_CPUS = 16  # hal.cpu.MAX_CPUS, not imported here: the CLI starts without Unicorn
CPUS_HELP = (f"Virtual CPUs (1-{MAX_CPUS}), each a host thread running guest code in parallel "
             "(or from CLOUDOS_CPUS).")

EXIT_NOT_FOUND, EXIT_CANNOT_EXECUTE, EXIT_KERNEL_PANIC = 127, 126, 125


def parse_size(text: str) -> int:
    """'512M', '1G', '1048576' -> bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        return int(number) * scale
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size like 512M or 1G") from None


def parse_crashes(specs: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """('vfs:3', ) -> {'vfs': (3, 1)}; 'vfs:5:100' -> {'vfs': (5, 100)}"""
    out = {}
    for spec in specs:
        name, *numbers = spec.split(":")
        if name != "vfs" or not 1 <= len(numbers) <= 2 or not all(n.isdigit() and int(n) >= 1
                                                               for n in numbers):
            raise click.BadParameter(f"{spec!r} is not vfs:N[:COUNT] with N, COUNT >= 1",
                                     param_hint="--inject-crash")
        out[name] = (int(numbers[0]), int(numbers[1]) if len(numbers) == 2 else 1)
    return out


def resolve(program: str) -> str | None:
    """The path execvp would run for ``program``."""
    if "/" in program:
        return program if os.path.exists(program) else None
    return shutil.which(program) or None


@click.group()
@click.version_option(__version__, prog_name="cloudos")
def main() -> None:
    """CloudOS: a capability-based microkernel that runs Linux x86_64 programs."""


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--mem", default="1G", show_default=True, help="Guest RAM size (e.g. 256M, 2G).")
@click.option("-v", "--verbose", is_flag=True, help="Show the boot log on stderr.")
@click.option("--syscall-stats", is_flag=True, help="Print per-syscall counts and times at exit.")
@click.option("--sched-trace", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the scheduler's decisions as Chrome/Perfetto trace JSON to this file.")
@click.option("--mount", "mounts", multiple=True, metavar="HOSTDIR:GUESTDIR[:rw]",
              help="Show a host directory to the guest (read-only unless :rw). Repeatable.")
@click.option("--no-aslr", is_flag=True, help="Load programs at fixed addresses "
                                              "(reproducible runs).")
@click.option("--no-files", is_flag=True,
              help="Sandbox: give the program no FILE capability (every file call: EACCES).")
@click.option("--inject-crash", "crashes", multiple=True, metavar="SERVER:N[:COUNT]",
              help="Fault injection: SERVER (vfs) crashes on its Nth call (COUNT calls in a row).")
@click.option("--cpus", default=1, show_default=True, envvar="CLOUDOS_CPUS",
              callback=lambda _c, _p, n: _check_cpus(n),
              type=int, help=CPUS_HELP)
@click.option("--preempt-stress", type=int, default=None, metavar="SEED",
              envvar="CLOUDOS_PREEMPT_STRESS",
              help="Testing: preempt guest code after a random 1-8 blocks (seeded), "
                   "to make races show at once.")
@click.argument("program")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(mem: str, verbose: bool, syscall_stats: bool, sched_trace: str | None,
        mounts: tuple[str, ...], no_aslr: bool, no_files: bool, crashes: tuple[str, ...],
        cpus: int, preempt_stress: int | None, program: str,
        args: tuple[str, ...]) -> None:
    """Boot a machine and run PROGRAM (a static x86_64 ELF) as its init process."""
    from cloudos.kernel.boot import KernelLog
    from cloudos.machine import Machine, Mount

    size = parse_size(mem)
    try:
        mount_list = tuple(Mount.parse(m) for m in mounts)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--mount") from None
    for mount in mount_list:
        if not os.path.isdir(mount.host):
            raise click.BadParameter(f"{mount.host} is not a directory", param_hint="--mount")
    crash = parse_crashes(crashes)
    path = resolve(program)
    if path is None:
        click.echo(f"cloudos: {program}: no such file or directory", err=True)
        sys.exit(EXIT_NOT_FOUND)
    log = KernelLog(console_level=7 if verbose else 4)
    _run_machine(lambda: Machine(size, log, mount_list, crash, files=not no_files,
                                 aslr=not no_aslr, cpus=cpus,
                                 preempt_stress=preempt_stress), log, path,
                 [program, *args], syscall_stats, sched_trace)


def _run_machine(build: Callable[[], Any], log: Any, path: str, argv: list[str],
                 syscall_stats: bool = False, sched_trace: str | None = None,
                 interactive: bool = False) -> NoReturn:
    """Boot, run ``path`` as init, report; exit with init's status, never a traceback."""
    from cloudos.linux.elf import ExecError

    machine = None
    terminal = _save_terminal()
    try:
        machine = build()
        machine.kernel.dispatcher.profiling = syscall_stats
        machine.kernel.scheduler.trace_limit = TRACE_SLICES if sched_trace else 0
        if terminal is not None:  # the console is a terminal: CloudOS's line discipline
            machine.attach_terminal()
        elif interactive:
            machine.forward_interrupts()
        status = machine.run(path, argv, dict(os.environ))
    except ExecError as err:
        click.echo(f"cloudos: {err}", err=True)
        sys.exit(EXIT_NOT_FOUND if err.errno == 2 else EXIT_CANNOT_EXECUTE)
    except ValueError as err:  # the machine cannot be built as asked (e.g. --mem)
        raise click.BadParameter(str(err), param_hint="--mem") from None
    except Exception as err:  # a kernel bug: a panic report, never a traceback
        if machine is not None:
            from cloudos.panic import report
            report(machine.kernel, err, sys.stderr)
        else:
            click.echo(f"cloudos: kernel panic: {type(err).__name__}: {err}", err=True)
        sys.exit(EXIT_KERNEL_PANIC)
    finally:
        if terminal is not None:  # a guest may have left the terminal raw
            import termios
            termios.tcsetattr(0, termios.TCSADRAIN, terminal)
        if syscall_stats and machine is not None:
            machine.print_stats(sys.stderr)
        if sched_trace and machine is not None:
            machine.write_sched_trace(sched_trace)
    sys.exit(status)


@main.command()
@click.option("--mem", default=None, help="Guest RAM size (default 1G; or mem= on the cmdline).")
@click.option("--init", "init", default=None, help="The first program (default /bin/sh).")
@click.option("--cmdline", default="", help="Boot parameters: init=, mem=, loglevel=, quiet, "
                                          "nokaslr, maxcpus=, nosmp.")
@click.option("--cpus", default=1, show_default=True, envvar="CLOUDOS_CPUS",
              callback=lambda _c, _p, n: _check_cpus(n),
              type=int, help=CPUS_HELP)
def boot(mem: str | None, init: str | None, cmdline: str, cpus: int) -> None:
    """Boot a machine with the boot log on the console and a shell as init."""
    from cloudos.kernel.boot import KernelLog
    from cloudos.machine import Machine

    params = parse_cmdline(cmdline)
    size = parse_size(mem or params.get("mem", "1G"))
    level = 4 if "quiet" in params else int(params.get("loglevel", "6"))
    program = init or params.get("init", "/bin/sh")
    path = resolve(program)
    if path is None:
        click.echo(f"cloudos: init {program}: no such file or directory", err=True)
        sys.exit(EXIT_NOT_FOUND)
    if "nosmp" in params:  # Linux's parameters: nosmp, or at most maxcpus= CPUs
        cpus = 1
    elif "maxcpus" in params:
        cpus = max(1, min(cpus, int(params["maxcpus"])))
    log = KernelLog(console_level=level)
    log.info(f"command line: {cmdline or '(none)'}")
    _run_machine(lambda: Machine(size, log, aslr="nokaslr" not in params, cpus=cpus), log, path,
                 [program], interactive=True)


def _check_cpus(cpus: int) -> int:
    if not 1 <= cpus <= MAX_CPUS:
        raise click.BadParameter(f"{cpus} CPUs asked for: CloudOS runs 1 to {MAX_CPUS}",
                                 param_hint="--cpus")
    return cpus


def _save_terminal() -> list[Any] | None:
    if not os.isatty(0):
        return None
    import termios
    return termios.tcgetattr(0)


def parse_cmdline(cmdline: str) -> dict[str, str]:
    """'init=/bin/sh quiet loglevel=3' -> {'init': '/bin/sh', 'quiet': '', 'loglevel': '3'}"""
    known = {"init", "mem", "loglevel", "quiet", "nokaslr", "maxcpus", "nosmp"}
    params = {}
    for word in cmdline.split():
        key, _, value = word.partition("=")
        if key not in known:
            raise click.BadParameter(f"unknown boot parameter {key!r} (known: "
                                     f"{', '.join(sorted(known))})", param_hint="--cmdline")
        params[key] = value
    if not params.get("loglevel", "0").isdigit():
        raise click.BadParameter("loglevel= takes a number 0-7", param_hint="--cmdline")
    if not params.get("maxcpus", "0").isdigit():
        raise click.BadParameter("maxcpus= takes a number", param_hint="--cmdline")
    return params


@main.command()
@click.option("--missing", is_flag=True, help="List only the system calls that return ENOSYS.")
def syscalls(missing: bool) -> None:
    """Print the Linux system call table and how much of it CloudOS implements."""
    from rich.console import Console
    from rich.table import Table

    from cloudos.linux.syscalls.table import TABLE, Support

    table = Table("nr", "name", "support", "note", box=None, pad_edge=False)
    style = {Support.FULL: "green", Support.PARTIAL: "yellow", Support.NONE: "red"}
    for row in TABLE:
        if missing and row.support is not Support.NONE:
            continue
        table.add_row(str(row.number), row.name,
                      f"[{style[row.support]}]{row.support.value}[/]", row.note)
    from cloudos.linux.syscalls.sys_cloudos import NATIVE

    if not missing:
        for number, (name, handler) in NATIVE.items():
            table.add_row(str(number), name, "[cyan]native[/]",
                          (handler.__doc__ or "").strip().split("\n")[0])
    console = Console()
    console.print(table)
    counts = {level: sum(1 for row in TABLE if row.support is level) for level in Support}
    console.print(f"{len(TABLE)} system calls: {counts[Support.FULL]} full, "
                  f"{counts[Support.PARTIAL]} partial, {counts[Support.NONE]} ENOSYS "
                  f"({100 * (len(TABLE) - counts[Support.NONE]) / len(TABLE):.1f}% covered)")
