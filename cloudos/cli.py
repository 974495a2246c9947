"""The ``cloudos`` command: boot a machine and run a program, print the syscall table.

Owns: argument parsing, what the guest is given (its files through
``cloudos.sandbox``, its environment, identity and limits), turning a guest's
end into the command's exit status (its exit code, or 128 + signal as a shell
reports it; 124 when --timeout ran out; 125 for CloudOS's own errors, 126 for
a file that cannot run, 127 for one not found, as Docker reports them), and
making sure no user ever sees a Python traceback: bad input is a one-line message.
Called by: the user.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any, Callable, Mapping, NoReturn

import click

from cloudos import __version__

MAX_CPUS = 16  # hal.cpu.MAX_CPUS, not imported here: the CLI starts without Unicorn
CPUS_HELP = (f"Virtual CPUs (1-{MAX_CPUS}), each a host thread running guest code in parallel "
             "(or from CLOUDOS_CPUS).")
TRACE_SLICES = 1_000_000  # --sched-trace keeps at most this many slices (~150 MB)

EXIT_CLOUDOS, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND = 125, 126, 127
EXIT_KERNEL_PANIC = EXIT_CLOUDOS
RLIMIT_NPROC, RLIMIT_NOFILE = 6, 7
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MIN_MEM = 16 << 20


def parse_size(text: str) -> int:
    """'512M', '1G', '1048576' -> bytes; refuses more RAM than the host has."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        size = int(number) * scale
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size like 512M or 1G") from None
    host = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if not MIN_MEM <= size <= host:
        raise click.BadParameter(f"{text}: guest RAM is host memory: between 16M and this "
                                 f"host's {host >> 20}M")
    return size


def _backend(name: str | None) -> None:
    """--backend: the machine's boot (hal.backend) reads it from CLOUDOS_BACKEND."""
    if name is not None:
        os.environ["CLOUDOS_BACKEND"] = name


def _kvm_fd(fd: int | None) -> None:
    """--kvm-fd: hal.kvm takes the descriptor from CLOUDOS_KVM_FD (and checks it)."""
    if fd is not None:
        os.environ["CLOUDOS_KVM_FD"] = str(fd)


CRASHABLE = ("vfs", "net")  # the servers --inject-crash can crash


def parse_crashes(specs: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """('vfs:3', ) -> {'vfs': (3, 1)}; 'vfs:5:100' -> {'vfs': (5, 100)}; 'net:2' too"""
    out = {}
    for spec in specs:
        name, *numbers = spec.split(":")
        if name not in CRASHABLE or not 1 <= len(numbers) <= 2 \
                or not all(n.isdigit() and int(n) >= 1 for n in numbers):
            raise click.BadParameter(f"{spec!r} is not vfs:N[:COUNT] or net:N[:COUNT] with "
                                     "N, COUNT >= 1", param_hint="--inject-crash")
        out[name] = (int(numbers[0]), int(numbers[1]) if len(numbers) == 2 else 1)
    return out


def parse_publish(specs: tuple[str, ...]) -> list[tuple[str, int, int, bool]]:
    """('8080:80', '0.0.0.0:53:53/udp') -> [('127.0.0.1', 8080, 80, False), ('0.0.0.0', 53,
    53, True)]: [ADDRESS:]HOSTPORT:GUESTPORT[/tcp|/udp], the host's 127.0.0.1 unless an
    address is given; True for UDP."""
    out = []
    for spec in specs:
        text, _, proto = spec.partition("/")
        parts = text.rsplit(":", 2)
        address = parts[0] if len(parts) == 3 else ""
        ok = proto in ("", "tcp", "udp") and len(parts) >= 2 \
            and all(p.isdigit() and 0 < int(p) < 65536 for p in parts[-2:])
        host_port, ports = parts[-2:] if len(parts) >= 2 else ("", "")
        if not ok:
            raise click.BadParameter(
                f"{spec!r} is not [ADDRESS:]HOSTPORT:GUESTPORT[/tcp|/udp]",
                param_hint="--publish")
        out.append((address.strip("[]") or "127.0.0.1", int(host_port), int(ports),
                    proto == "udp"))
    return out


class CloudosGroup(click.Group):
    """Click's group, with CloudOS's exit statuses: 125 for a usage error (click says 2),
    130 for ^C while CloudOS itself runs (click says 1)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            status = super().main(*args, **kwargs)
        except click.ClickException as err:
            err.show()
            sys.exit(EXIT_CLOUDOS)
        except click.Abort:  # ^C before the machine took the signal over
            sys.exit(128 + 2)
        sys.exit(status if isinstance(status, int) else 0)


@click.group(cls=CloudosGroup)
@click.version_option(__version__, prog_name="cloudos")
def main() -> None:
    """CloudOS: a capability-based microkernel that runs Linux x86_64 programs."""


RUN_HELP = """Boot a machine and run PROGRAM (a Linux x86_64 program, static or dynamic, or a
#! script) as its init process; exit with its status.

\b
What the guest sees (cloudos run --show-mounts prints it):
  /            the host's /usr, /bin, /sbin, /lib*, /etc read-only, less their secrets
               (/etc/shadow, sudoers, SSH and TLS private keys, files other users
               cannot read), under a tmpfs that takes writes; empty /tmp, /home, /root
  CWD          the directory you run from, read-only, where PROGRAM starts (not /,
               your home or its parents: use --mount to share those deliberately)
  --root DIR   an image's root file system (debootstrap, docker export) instead
PROGRAM is found in the guest (a name in the guest's PATH, a path from -w).
The environment is PATH, HOME, USER, TERM, LANG, LC_*, TZ: nothing else from
the host unless -e, --env-file or --inherit-env passes it.

\b
Exit status: the program's, 128+N if signal N ended it, 124 when --timeout ran
out, 125 CloudOS's own error (bad option, bad mount, kernel panic), 126 the
program cannot run, 127 it was not found."""


@main.command(context_settings={"allow_interspersed_args": False}, help=RUN_HELP)
@click.option("--mem", default="1G", show_default=True, help="Guest RAM size (e.g. 256M, 2G).")
@click.option("--cpus", default=1, show_default=True, envvar="CLOUDOS_CPUS",
              callback=lambda _c, _p, n: _check_cpus(n),
              type=int, help=CPUS_HELP)
@click.option("--backend", type=click.Choice(["unicorn", "kvm", "auto"]), default=None,
              envvar="CLOUDOS_BACKEND", expose_value=False, callback=lambda _c, _p, v: _backend(v),
              help="The virtual CPU: unicorn (an emulator, the default), kvm (/dev/kvm: guest "
                   "code at native speed) or auto (kvm where /dev/kvm opens). Or from "
                   "CLOUDOS_BACKEND.")
@click.option("--kvm-fd", type=click.IntRange(min=0), default=None, metavar="FD",
              expose_value=False, callback=lambda _c, _p, v: _kvm_fd(v),
              help="KVM through this descriptor, an open /dev/kvm the parent passed "
                   "(a jailer: root opens it, then starts CloudOS as another user); for the "
                   "kvm and auto backends. Or from CLOUDOS_KVM_FD.")
@click.option("--root", "root", type=click.Path(exists=True, file_okay=False), default=None,
              help="Run on this root file system (read-only under a tmpfs).")
@click.option("--root-rw", is_flag=True, help="With --root: writes reach the directory.")
@click.option("--mount", "mounts", multiple=True, metavar="HOSTDIR[:GUESTDIR][:rw]",
              help="Show a host directory to the guest (read-only unless :rw; at the same "
                   "path without GUESTDIR). Repeatable.")
@click.option("-w", "--workdir", default=None, metavar="DIR",
              help="Start in DIR (a guest path; default: the current directory).")
@click.option("--no-cwd", is_flag=True, help="Do not show the current directory to the guest.")
@click.option("--show-mounts", is_flag=True,
              help="Print what the guest would see (and what is hidden) and exit.")
@click.option("-e", "--env", "env_specs", multiple=True, metavar="NAME[=VALUE]",
              help="Set NAME, or pass the host's NAME. Repeatable.")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False),
              help="NAME=VALUE (or NAME) lines to set, # comments. Repeatable.")
@click.option("--inherit-env", is_flag=True, help="Start from the host's whole environment.")
@click.option("-0", "--argv0", default=None, metavar="NAME", help="The program's argv[0].")
@click.option("-u", "--user", default=None, metavar="UID[:GID]",
              help="The program's user and group ids (default: CloudOS's own).")
@click.option("--hostname", default="cloudos", show_default=True, metavar="NAME",
              help="The machine's host name (uname -n).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Halt the machine after SECONDS of wall time (status 124).")
@click.option("--cpu-time", type=click.IntRange(min=1), default=None, metavar="SECONDS",
              help="RLIMIT_CPU of every process: killed after SECONDS of CPU time.")
@click.option("--max-procs", type=click.IntRange(min=1), default=None, metavar="N",
              help="RLIMIT_NPROC: at most N tasks per user (fork: EAGAIN; not for uid 0).")
@click.option("--max-open-files", type=click.IntRange(min=3), default=None, metavar="N",
              help="RLIMIT_NOFILE for the program (recorded: getrlimit reports it).")
@click.option("-v", "--verbose", is_flag=True, help="Show the boot log on stderr.")
@click.option("--syscall-stats", is_flag=True, help="Print per-syscall counts and times at exit.")
@click.option("--sched-trace", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the scheduler's decisions as Chrome/Perfetto trace JSON to this file.")
@click.option("--strace", "strace", is_flag=False, flag_value="-", default=None,
              metavar="[=FILE]", help="Write every system call in strace's format to FILE "
                                      "(--strace alone: to stderr).")
@click.option("--strace-filter", default=None, metavar="CALL,...",
              help="Show only these calls (as strace -e trace=open,read).")
@click.option("--strace-size", type=click.IntRange(min=0), default=32, show_default=True,
              metavar="N", help="Cut strings after N bytes (strace -s).")
@click.option("--strace-timestamps", is_flag=True, help="Start each line with the time of "
                                                       "day in microseconds (strace -tt).")
@click.option("--strace-durations", is_flag=True,
              help="End each call with the time spent in it (strace -T).")
@click.option("--trace", "timeline", type=click.Path(dir_okay=False, writable=True),
              default=None, metavar="FILE.json",
              help="Write a Chrome/Perfetto timeline of the whole machine (system calls, "
                   "IPC flows, faults, signals, scheduling) to FILE.json.")
@click.option("--aslr", type=click.Choice(["boot", "exec", "off"]), default="boot",
              show_default=True, envvar="CLOUDOS_ASLR",
              help="Address space layout randomization: boot (random once per boot for "
                   "each program, the same at each exec: its translated code is reused), "
                   "exec (fresh at every exec, as Linux), off (fixed addresses, as setarch "
                   "-R). Or from CLOUDOS_ASLR.")
@click.option("--no-aslr", is_flag=True, help="Load programs at fixed addresses "
                                              "(reproducible runs): --aslr off.")
@click.option("--no-files", is_flag=True,
              help="Sandbox: give the program no FILE capability (every file call: EACCES).")
@click.option("--net", "network", type=click.Choice(["none", "host"]), default="none",
              show_default=True,
              help="none: the guest's own loopback only (elsewhere: ENETUNREACH); host: the "
                   "program holds the NETWORK capability, and its TCP and UDP sockets reach "
                   "the host's network through host sockets.")
@click.option("-p", "--publish", "published", multiple=True,
              metavar="[ADDRESS:]HOSTPORT:GUESTPORT[/udp]",
              help="Forward TCP connections (or with /udp, datagrams) to the host's ADDRESS "
                   "(127.0.0.1 by default):HOSTPORT to the guest's loopback port GUESTPORT. "
                   "Repeatable.")
@click.option("--inject-crash", "crashes", multiple=True, metavar="SERVER:N[:COUNT]",
              help="Fault injection: SERVER (vfs or net) crashes on its Nth call (COUNT calls "
                   "in a row).")
@click.option("--preempt-stress", type=int, default=None, metavar="SEED",
              envvar="CLOUDOS_PREEMPT_STRESS",
              help="Testing: preempt guest code after a random 1-8 blocks (seeded), "
                   "to make races show at once.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[--] PROGRAM [ARGS]...")
def run(mem: str, cpus: int, root: str | None, root_rw: bool, mounts: tuple[str, ...],
        workdir: str | None, no_cwd: bool, show_mounts: bool, env_specs: tuple[str, ...],
        env_files: tuple[str, ...], inherit_env: bool, argv0: str | None, user: str | None,
        hostname: str, timeout: float | None, cpu_time: int | None, max_procs: int | None,
        max_open_files: int | None, verbose: bool, syscall_stats: bool,
        sched_trace: str | None, strace: str | None, strace_filter: str | None,
        strace_size: int, strace_timestamps: bool, strace_durations: bool,
        timeline: str | None, aslr: str, no_aslr: bool, no_files: bool, network: str,
        published: tuple[str, ...], crashes: tuple[str, ...], preempt_stress: int | None,
        command: tuple[str, ...]) -> None:
    _import_machine()
    from cloudos.hal.console import KernelLog
    from cloudos.machine import Machine, Sandbox, Start

    if root_rw and root is None:
        raise click.UsageError("--root-rw needs --root DIR")
    sandbox, start_dir = _sandbox(root, root_rw, _parse_mounts(mounts), workdir, no_cwd)
    if show_mounts:
        _print_mounts(sandbox, start_dir)
        return
    if not command:
        raise click.UsageError("no PROGRAM to run (cloudos run [OPTIONS] -- PROGRAM [ARGS]...)")
    size = parse_size(mem)
    crash = parse_crashes(crashes)
    publish = parse_publish(published)
    uid, gid = parse_user(user)
    env = guest_environment(os.environ, env_specs, env_files, inherit_env, uid)
    limits = tuple((resource, value) for resource, value in
                   ((RLIMIT_NPROC, max_procs), (RLIMIT_NOFILE, max_open_files))
                   if value is not None)
    if not 0 < len(os.fsencode(hostname)) <= 64 or "\0" in hostname:
        raise click.BadParameter(f"{hostname!r} is not a host name (1-64 bytes)",
                                 param_hint="--hostname")
    start = Start(start_dir, uid, gid, limits, timeout, cpu_time, hostname)
    program, *args = command
    tracing = _trace_options(strace, strace_filter, strace_size, strace_timestamps,
                             strace_durations, timeline)
    log = KernelLog(console_level=7 if verbose else 4)
    assert isinstance(sandbox, Sandbox)
    _run_machine(lambda: Machine(size, log, sandbox, crash, files=not no_files,
                                 aslr="off" if no_aslr else aslr, cpus=cpus,
                                 preempt_stress=preempt_stress, network=network,
                                 publish=publish), log, program,
                 [argv0 if argv0 is not None else program, *args], env, start,
                 syscall_stats, sched_trace, tracing=tracing)


def _trace_options(strace: str | None, only: str | None, size: int, timestamps: bool,
                   durations: bool, timeline: str | None) -> Any:
    """The tracing a run asks for, or None when it asks for none (the tracers' modules,
    about 7 ms of imports, then stay unloaded)."""
    if only is not None and strace is None:
        raise click.UsageError("--strace-filter needs --strace")
    if strace is None and timeline is None:
        return None
    from cloudos.trace.session import Options
    from cloudos.trace.strace import unknown_names

    if strace is not None and strace.startswith("="):  # (--strace =FILE, as typed)
        strace = strace[1:]
    names = None
    if only is not None:
        names = frozenset(n.strip() for n in only.split(",") if n.strip())
        unknown = unknown_names(set(names))
        if unknown:
            raise click.BadParameter(f"no such system call: {', '.join(sorted(unknown))}",
                                     param_hint="--strace-filter")
    return Options(strace, names, size, timestamps, durations, timeline)


def _parse_mounts(specs: tuple[str, ...]) -> tuple[Any, ...]:
    from cloudos.sandbox import Mount

    try:
        parsed = tuple(Mount.parse(m) for m in specs)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--mount") from None
    for mount in parsed:
        if not os.path.isdir(mount.host):
            raise click.BadParameter(f"{mount.host} is not a directory", param_hint="--mount")
    return parsed


def _sandbox(root: str | None, root_rw: bool, mounts: tuple[Any, ...], workdir: str | None,
             no_cwd: bool) -> tuple[Any, str]:
    """The guest's file system and where the program starts: the caller's directory,
    shown read-only at its own path unless that would share too much."""
    from cloudos.sandbox import Mount, Sandbox, cwd_refusal, visible_in_default_root, within

    if workdir is not None and not workdir.startswith("/"):
        raise click.BadParameter(f"{workdir!r} is not an absolute guest path",
                                 param_hint="--workdir")
    root = os.path.abspath(root) if root is not None else None
    cwd = os.getcwd()
    shared = mounts
    if no_cwd or root_rw:
        start = workdir or "/"
    elif any(within(cwd, m.guest) for m in mounts) or \
            root is None and visible_in_default_root(cwd):
        start = workdir or cwd  # already in the guest's view
    else:
        why = cwd_refusal(cwd, os.path.realpath(os.path.expanduser("~")), root)
        if why is None:
            shared = (Mount(cwd, cwd), *mounts)
            start = workdir or cwd
        elif workdir is not None or no_cwd:
            start = workdir or "/"
        else:
            raise click.UsageError(
                f"the current directory {cwd} is not shown to the guest: {why}. Run from a "
                f"project directory, share it deliberately with --mount {cwd}, or start "
                "elsewhere with -w DIR")
    return Sandbox(root, root_rw, shared), start


def _print_mounts(sandbox: Any, start: str) -> None:
    from cloudos.sandbox import HIDDEN

    rows = sandbox.table()
    width = max(len(row[0]) for row in rows)
    for guest, what, access in rows:
        click.echo(f"{guest:<{width}}  {what}  ({access})")
    click.echo(f"the program starts in {start}")
    if sandbox.root is None:
        click.echo("hidden from the host's system directories: every file other users "
                   "cannot read, every directory they cannot list, and")
        for pattern, why in HIDDEN:
            click.echo(f"  {pattern:<40} {why}")


def parse_user(spec: str | None) -> tuple[int, int]:
    """'1000' -> (1000, its group in the host's passwd, else 1000); '1000:50' -> (1000, 50)."""
    if spec is None:
        return os.getuid(), os.getgid()
    uid_text, _, gid_text = spec.partition(":")
    if not uid_text.isdigit() or gid_text and not gid_text.isdigit() \
            or int(uid_text) >= 1 << 32 or gid_text and int(gid_text) >= 1 << 32:
        raise click.BadParameter(f"{spec!r} is not UID[:GID] (numbers)", param_hint="--user")
    uid = int(uid_text)
    if gid_text:
        return uid, int(gid_text)
    import pwd
    try:
        return uid, pwd.getpwuid(uid).pw_gid
    except KeyError:
        return uid, uid


def guest_environment(host: Mapping[str, str], specs: tuple[str, ...] = (),
                      files: tuple[str, ...] = (), inherit: bool = False,
                      uid: int = 0) -> dict[str, str]:
    """The program's environment: the minimal one (or the host's with ``inherit``), then
    each --env-file's lines, then each -e, in order."""
    env = dict(host) if inherit else default_environment(host, uid)
    lines: list[tuple[str, str]] = []
    for name in files:
        try:
            with open(name, encoding="utf-8", errors="surrogateescape") as f:
                lines += [(line.strip(), f"--env-file {name}") for line in f]
        except OSError as err:
            raise click.BadParameter(f"{name}: {err.strerror}", param_hint="--env-file") from None
    lines += [(spec, "--env") for spec in specs]
    for spec, where in lines:
        if not spec or spec.startswith("#"):
            continue
        name, equals, value = spec.partition("=")
        if not name or "\0" in spec:
            raise click.BadParameter(f"{spec!r} is not NAME[=VALUE]", param_hint=where)
        if equals:
            env[name] = value
        elif name in host:
            env[name] = host[name]
    return env


def default_environment(host: Mapping[str, str], uid: int) -> dict[str, str]:
    """PATH, HOME, USER, TERM and the host's locale and time zone: nothing private."""
    import pwd
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    env = {"PATH": DEFAULT_PATH, "HOME": "/root" if uid == 0 else "/tmp", "USER": user,
           "LOGNAME": user, "TERM": host.get("TERM", "dumb"), "LANG": "C.UTF-8"}
    env.update({k: v for k, v in host.items()
                if k in ("LANG", "LANGUAGE", "TZ") or k.startswith("LC_")})
    return env


def _import_machine() -> None:
    """Import the machine's modules (most of CloudOS) with Python's cyclic garbage
    collector off, then freeze what they made: the ~150 modules make ~37,000 tracked
    objects that live as long as the process and nothing cyclic to free, yet set off
    ~50 collections that scan them again and again (~5% of the import; turned back on
    without the freeze, the collector scans them all in its next collections)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        import cloudos.machine  # noqa: F401  (the names are bound by the caller)
    finally:
        gc.freeze()  # (into the permanent generation: never scanned, never freed)
        if enabled:
            gc.enable()


def _exit_now(status: int) -> NoReturn:
    """End the process with ``status`` once what CloudOS printed is out, without tearing
    the machine down: freeing its Unicorn CPUs and their translation caches, the guest's
    RAM and some 30,000 objects one by one took about 30 ms of every run, and the host
    frees them at once when the process ends. Nothing is lost: guest writes to host files
    are already the host's (unbuffered), the reports and traces were written above, and
    every thread CloudOS starts is a daemon. Under a profiler (``python -m cProfile``) it
    exits normally, so that the profile is written."""
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.getprofile() is not None:
        sys.exit(status)
    os._exit(status)


def _run_machine(build: Callable[[], Any], log: Any, program: str, argv: list[str],
                 env: dict[str, str], start: Any, syscall_stats: bool = False,
                 sched_trace: str | None = None, interactive: bool = False,
                 tracing: Any = None) -> NoReturn:
    """Boot, run ``program`` as init, report; exit with init's status, never a traceback."""
    from cloudos.linux.elf import ExecError
    from cloudos.machine import SetupError

    machine = session = None
    terminal = _save_terminal()
    try:
        machine = build()
        machine.kernel.dispatcher.profiling = syscall_stats
        machine.kernel.scheduler.trace_limit = TRACE_SLICES if sched_trace else 0
        if tracing is not None and tracing.wanted:
            from cloudos.trace.session import Session
            session = Session(machine, tracing, len(env))
        if terminal is not None:  # the console is a terminal: CloudOS's line discipline
            machine.attach_terminal()
        if interactive and terminal is None:
            machine.forward_interrupts()
        elif not interactive:  # a signal from elsewhere (kill, a script) halts it
            machine.halt_on_host_signals()
        status = machine.run(program, argv, env, start)
    except ExecError as err:
        hint = ""
        if err.errno == 2 and program.startswith("/") and os.path.exists(program):
            hint = " in the guest (it is on the host: share its directory with --mount)"
        click.echo(f"cloudos: {err}{hint}", err=True)
        sys.exit(EXIT_NOT_FOUND if err.errno == 2 else EXIT_CANNOT_EXECUTE)
    except (SetupError, ValueError) as err:  # the machine cannot be built or start as asked
        click.echo(f"cloudos: {err}", err=True)
        sys.exit(EXIT_CLOUDOS)
    except KeyboardInterrupt:  # ^C while the machine was still being built
        sys.exit(128 + 2)
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
        if session is not None:
            session.close()
    _exit_now(status)


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
    _import_machine()
    from cloudos.hal.console import KernelLog
    from cloudos.machine import Machine, Start

    params = parse_cmdline(cmdline)
    size = parse_size(mem or params.get("mem", "1G"))
    level = 4 if "quiet" in params else int(params.get("loglevel", "6"))
    program = init or params.get("init", "/bin/sh")
    if "nosmp" in params:  # Linux's parameters: nosmp, or at most maxcpus= CPUs
        cpus = 1
    elif "maxcpus" in params:
        cpus = max(1, min(cpus, int(params["maxcpus"])))
    log = KernelLog(console_level=level)
    log.info(f"command line: {cmdline or '(none)'}")
    _run_machine(lambda: Machine(size, log, aslr="off" if "nokaslr" in params else "boot",
                                 cpus=cpus), log,
                 program, [program], default_environment(os.environ, os.getuid()), Start(),
                 interactive=True)


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

    from cloudos.linux.syscalls.table import Support, calls

    table = Table("nr", "name", "support", "note", box=None, pad_edge=False)
    style = {Support.FULL: "green", Support.PARTIAL: "yellow", Support.NONE: "red"}
    rows = calls()
    for row in rows:
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
    counts = {level: sum(1 for row in rows if row.support is level) for level in Support}
    console.print(f"{len(rows)} system calls: {counts[Support.FULL]} full, "
                  f"{counts[Support.PARTIAL]} partial, {counts[Support.NONE]} ENOSYS "
                  f"({100 * (len(rows) - counts[Support.NONE]) / len(rows):.1f}% covered)")
