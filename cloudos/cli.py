"""The ``cloudos`` command: boot a machine and run a program, print the syscall table.

Owns: argument parsing (argparse, not click: click's imports cost ~13 ms of
every start), what the guest is given (its files through ``cloudos.sandbox``, its
environment, identity and limits), turning a guest's end into the command's exit
status (its exit code, or 128 + signal as a shell reports it; 124 when --timeout ran
out; 125 for CloudOS's own errors, 126 for a file that cannot run, 127 for one not
found, as Docker reports them), and making sure no user ever sees a Python
traceback: bad input is a one-line message.
Called by: the user.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Any, Callable, Mapping, NoReturn, Sequence

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


class UsageError(Exception):
    """Bad input on the command line (an option, its value, a missing PROGRAM): main
    prints it in one line after the command's usage and exits 125. ``option`` names the
    option whose value is wrong, when one is."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.message, self.option = message, option
        self.usage: str | None = None  # (the usage line of the parser that refused it)

    def __str__(self) -> str:
        return f"Invalid value for {self.option}: {self.message}" if self.option \
            else self.message


def parse_size(text: str, option: str = "--mem") -> int:
    """'512M', '1G', '1048576' -> bytes; refuses more RAM than the host has. ``option``
    is where the text came from, for the message."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        size = int(number) * scale
    except ValueError:
        raise UsageError(f"{text!r} is not a size like 512M or 1G", option) from None
    host = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if not MIN_MEM <= size <= host:
        raise UsageError(f"{text}: guest RAM is host memory: between 16M and this "
                         f"host's {host >> 20}M", option)
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


def parse_crashes(specs: Sequence[str]) -> dict[str, tuple[int, int]]:
    """('vfs:3', ) -> {'vfs': (3, 1)}; 'vfs:5:100' -> {'vfs': (5, 100)}; 'net:2' too"""
    out = {}
    for spec in specs:
        name, *numbers = spec.split(":")
        if name not in CRASHABLE or not 1 <= len(numbers) <= 2 \
                or not all(n.isdigit() and int(n) >= 1 for n in numbers):
            raise UsageError(f"{spec!r} is not vfs:N[:COUNT] or net:N[:COUNT] with "
                             "N, COUNT >= 1", "--inject-crash")
        out[name] = (int(numbers[0]), int(numbers[1]) if len(numbers) == 2 else 1)
    return out


def parse_publish(specs: Sequence[str]) -> list[tuple[str, int, int, bool]]:
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
            raise UsageError(
                f"{spec!r} is not [ADDRESS:]HOSTPORT:GUESTPORT[/tcp|/udp]", "--publish")
        out.append((address.strip("[]") or "127.0.0.1", int(host_port), int(ports),
                    proto == "udp"))
    return out


RUN_HELP = """Boot a machine and run PROGRAM (a Linux x86_64 program, static or dynamic, or a
#! script) as its init process; exit with its status.

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

Exit status: the program's, 128+N if signal N ended it, 124 when --timeout ran
out, 125 CloudOS's own error (bad option, bad mount, kernel panic), 126 the
program cannot run, 127 it was not found."""
BOOT_HELP = "Boot a machine with the boot log on the console and a shell as init."
SYSCALLS_HELP = "Print the Linux system call table and how much of it CloudOS implements."
MAIN_HELP = "CloudOS: a capability-based microkernel that runs Linux x86_64 programs."
COMMANDS_HELP = f"""Commands:
  run       Boot a machine and run PROGRAM (a Linux x86_64 program) as init.
  boot      {BOOT_HELP}
  syscalls  {SYSCALLS_HELP}"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help as written (RUN_HELP's layout), click's capitalised "Usage: ", and an
    option's value named once ("-w, --workdir DIR", not "-w DIR, --workdir DIR").

    The width is the terminal's, found as ``shutil.get_terminal_size`` finds it
    (COLUMNS, else standard output's terminal, else 80) without importing shutil, which
    argparse does for each of the ~40 formatters that building a parser makes, and
    which brings bz2, lzma and fnmatch: ~2.5 ms of every start."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _terminal_columns() - 2 if width is None else width)

    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "Usage: " if prefix is None else prefix)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        value = self._format_args(action, action.dest.upper())
        return f"{', '.join(action.option_strings)} {value}"


def _terminal_columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns or 80


# argparse's messages through gettext: CloudOS's own are English only, and gettext looks
# for a catalogue on disk at each of the ~10 messages a parser is built with (~1.6 ms a
# start); argparse's words stay as written.
argparse._ = lambda message: message  # type: ignore[attr-defined]
argparse.ngettext = lambda one, many, n: one if n == 1 else many  # type: ignore[attr-defined]


class _Parser(argparse.ArgumentParser):
    """argparse's parser, raising UsageError where argparse prints and exits 2."""

    def __init__(self, prog: str, usage: str, description: str, epilog: str = "") -> None:
        super().__init__(prog=prog, usage=usage, description=description, epilog=epilog,
                         formatter_class=_Formatter, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        err = UsageError(message)
        err.usage = self.usage_and_hint()
        raise err

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # argparse drops a "--" given as an option's value (--mem=--, -e--) and passes
        # the option an empty list: a missing value
        if action.option_strings and "--" in arg_strings:
            self.error(f"argument {action.option_strings[-1]}: expected one argument")
        return super()._get_values(action, arg_strings)

    def usage_and_hint(self) -> str:
        return f"{self.format_usage()}Try '{self.prog} --help' for help.\n"


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``cloudos`` command: exits with the command's status, 125 for a usage error,
    130 for ^C before the machine takes the signal over; never a traceback."""
    words = sys.argv[1:] if argv is None else list(argv)
    name = os.path.basename(sys.argv[0]) if argv is None else "cloudos"
    prog = "python -m cloudos" if name == "__main__.py" else name
    parser: _Parser | None = None
    try:
        parser, command, args = _parse(prog, words)
        sys.exit(command(**vars(args)) or 0)
    except UsageError as err:  # (from the parser, or from the command: its usage then)
        usage = err.usage or (parser.usage_and_hint() if parser is not None else "")
        sys.stderr.write(f"{usage}\nError: {err}\n")
        sys.exit(EXIT_CLOUDOS)
    except KeyboardInterrupt:  # ^C before the machine took the signal over
        sys.stderr.write("\n")
        sys.exit(128 + 2)
    except BrokenPipeError:  # (cloudos syscalls | head): the reader is gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _parse(prog: str, words: list[str]) -> tuple[_Parser, Callable[..., Any], Any]:
    """The command's parser, its function and its arguments; only that command's parser
    is built."""
    top = _Parser(prog, "%(prog)s [OPTIONS] COMMAND [ARGS]...", MAIN_HELP, COMMANDS_HELP)
    top.add_argument("--version", action="version", version=f"cloudos, version {__version__}")
    top.add_argument("command", choices=COMMANDS, metavar="COMMAND", help=argparse.SUPPRESS)
    top.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    if not words:
        top.print_help(sys.stderr)
        sys.exit(EXIT_CLOUDOS)
    chosen = top.parse_args(words)
    make, command = COMMANDS[chosen.command]
    parser, takes_value, variables = make(f"{top.prog} {chosen.command}")
    # An option's variable (CLOUDOS_CPUS) counts as the option given first: checked as
    # the option is, and the command line's own, later, wins.
    environment = [f"{option}={os.environ[name]}" for option, name in variables.items()
                   if os.environ.get(name)]
    return parser, command, parser.parse_args(
        environment + _values_attached(chosen.args, takes_value))


def _values_attached(words: list[str], options: set[str]) -> list[str]:
    """``words`` with each of ``options`` joined to its value ('-0 -sh' -> '-0=-sh') up
    to PROGRAM: a value may start with '-' (as click took it), which argparse would
    take for an option. PROGRAM and what follows are the program's, untouched."""
    out: list[str] = []
    rest = iter(words)
    for word in rest:
        if word in ("-", "--") or not word.startswith("-"):
            return [*out, word, *rest]
        value = next(rest, None) if word in options else None
        if value == "--":  # (the option has no value: argparse says so)
            return [*out, word, value, *rest]
        out.append(word if value is None else f"{word}={value}")
    return out


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid integer.") from None


def _at_least(low: int) -> Callable[[str], int]:
    """An option's type: a whole number >= low (click's IntRange(min=low))."""
    def convert(text: str) -> int:
        number = _integer(text)
        if number < low:
            raise argparse.ArgumentTypeError(f"{number} is not in the range x>={low}.")
        return number
    return convert


def _seconds(text: str) -> float:
    """--timeout's type: a number of seconds > 0 (click's FloatRange(min=0, min_open))."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid float.") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{seconds} is not in the range x>0.")
    return seconds


def _cpu_count(text: str) -> int:
    """--cpus's type: 1 to MAX_CPUS."""
    cpus = _integer(text)
    if not 1 <= cpus <= MAX_CPUS:
        raise argparse.ArgumentTypeError(f"{cpus} CPUs asked for: CloudOS runs 1 to {MAX_CPUS}")
    return cpus


def _directory(text: str) -> str:
    """--root's type: a directory that exists."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"Directory {text!r} does not exist.")
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"Directory {text!r} is a file.")
    return text


def _file(text: str) -> str:
    """A file's type: not a directory; writable if it exists (--env-file only reads its
    files, and says so when it cannot)."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"File {text!r} is a directory.")
    return text


def _output_file(text: str) -> str:
    """A file CloudOS writes: not a directory, and writable if it exists."""
    if os.path.exists(_file(text)) and not os.access(text, os.W_OK):
        raise argparse.ArgumentTypeError(f"File {text!r} is not writable.")
    return text


Made = tuple[_Parser, set[str], dict[str, str]]


def _run_parser(prog: str) -> Made:
    """``cloudos run``'s parser, the options that take a value, and the environment
    variables that stand for options (CLOUDOS_CPUS for --cpus). (Long, but one table:
    an option a call, in --help's order.)"""
    parser = _Parser(prog, "%(prog)s [OPTIONS] [--] PROGRAM [ARGS]...", RUN_HELP)
    add = parser.add_argument
    actions = [
        add("--mem", default="1G", metavar="TEXT",
            help="Guest RAM size (e.g. 256M, 2G).  [default: 1G]"),
        add("--cpus", default=1, type=_cpu_count, metavar="INTEGER",
            help=CPUS_HELP + "  [default: 1]"),
        add("--backend", choices=["unicorn", "kvm", "auto"], metavar="[unicorn|kvm|auto]",
            help="The virtual CPU: unicorn (an emulator, the default), kvm (/dev/kvm: guest "
                 "code at native speed) or auto (kvm where /dev/kvm opens). Or from "
                 "CLOUDOS_BACKEND."),
        add("--kvm-fd", type=_at_least(0), metavar="FD",
            help="KVM through this descriptor, an open /dev/kvm the parent passed "
                 "(a jailer: root opens it, then starts CloudOS as another user); for the "
                 "kvm and auto backends. Or from CLOUDOS_KVM_FD.  [x>=0]"),
        add("--root", type=_directory, metavar="DIRECTORY",
            help="Run on this root file system (read-only under a tmpfs)."),
        add("--root-rw", action="store_true", help="With --root: writes reach the directory."),
        add("--mount", dest="mounts", action="append", default=[],
            metavar="HOSTDIR[:GUESTDIR][:rw]",
            help="Show a host directory to the guest (read-only unless :rw; at the same "
                 "path without GUESTDIR). Repeatable."),
        add("-w", "--workdir", metavar="DIR",
            help="Start in DIR (a guest path; default: the current directory)."),
        add("--no-cwd", action="store_true",
            help="Do not show the current directory to the guest."),
        add("--show-mounts", action="store_true",
            help="Print what the guest would see (and what is hidden) and exit."),
        add("-e", "--env", dest="env_specs", action="append", default=[],
            metavar="NAME[=VALUE]", help="Set NAME, or pass the host's NAME. Repeatable."),
        add("--env-file", dest="env_files", action="append", default=[], type=_file,
            metavar="FILE", help="NAME=VALUE (or NAME) lines to set, # comments. Repeatable."),
        add("--inherit-env", action="store_true",
            help="Start from the host's whole environment."),
        add("-0", "--argv0", metavar="NAME", help="The program's argv[0]."),
        add("-u", "--user", metavar="UID[:GID]",
            help="The program's user and group ids (default: CloudOS's own)."),
        add("--hostname", default="cloudos", metavar="NAME",
            help="The machine's host name (uname -n).  [default: cloudos]"),
        add("--timeout", type=_seconds, metavar="SECONDS",
            help="Halt the machine after SECONDS of wall time (status 124).  [x>0]"),
        add("--cpu-time", type=_at_least(1), metavar="SECONDS",
            help="RLIMIT_CPU of every process: killed after SECONDS of CPU time.  [x>=1]"),
        add("--max-procs", type=_at_least(1), metavar="N",
            help="RLIMIT_NPROC: at most N tasks per user (fork: EAGAIN; not for uid 0).  "
                 "[x>=1]"),
        add("--max-open-files", type=_at_least(3), metavar="N",
            help="RLIMIT_NOFILE for the program (recorded: getrlimit reports it).  [x>=3]"),
        add("-v", "--verbose", action="store_true", help="Show the boot log on stderr."),
        add("--syscall-stats", action="store_true",
            help="Print per-syscall counts and times at exit."),
        add("--sched-trace", type=_output_file, metavar="FILE",
            help="Write the scheduler's decisions as Chrome/Perfetto trace JSON to this file."),
        add("--strace", nargs="?", const="-", metavar="=FILE",
            help="Write every system call in strace's format to FILE (--strace alone: to "
                 "stderr)."),
        add("--strace-filter", metavar="CALL,...",
            help="Show only these calls (as strace -e trace=open,read)."),
        add("--strace-size", type=_at_least(0), default=32, metavar="N",
            help="Cut strings after N bytes (strace -s).  [default: 32; x>=0]"),
        add("--strace-timestamps", action="store_true",
            help="Start each line with the time of day in microseconds (strace -tt)."),
        add("--strace-durations", action="store_true",
            help="End each call with the time spent in it (strace -T)."),
        add("--trace", dest="timeline", type=_output_file, metavar="FILE.json",
            help="Write a Chrome/Perfetto timeline of the whole machine (system calls, "
                 "IPC flows, faults, signals, scheduling) to FILE.json."),
        add("--aslr", choices=["boot", "exec", "off"], default="boot",
            metavar="[boot|exec|off]",
            help="Address space layout randomization: boot (random once per boot for "
                 "each program, the same at each exec: its translated code is reused), "
                 "exec (fresh at every exec, as Linux), off (fixed addresses, as setarch "
                 "-R). Or from CLOUDOS_ASLR.  [default: boot]"),
        add("--no-aslr", action="store_true",
            help="Load programs at fixed addresses (reproducible runs): --aslr off."),
        add("--no-files", action="store_true",
            help="Sandbox: give the program no FILE capability (every file call: EACCES)."),
        add("--net", dest="network", choices=["none", "host"], default="none",
            metavar="[none|host]",
            help="none: the guest's own loopback only (elsewhere: ENETUNREACH); host: the "
                 "program holds the NETWORK capability, and its TCP and UDP sockets reach "
                 "the host's network through host sockets.  [default: none]"),
        add("-p", "--publish", dest="published", action="append", default=[],
            metavar="[ADDRESS:]HOSTPORT:GUESTPORT[/udp]",
            help="Forward TCP connections (or with /udp, datagrams) to the host's ADDRESS "
                 "(127.0.0.1 by default):HOSTPORT to the guest's loopback port GUESTPORT. "
                 "Repeatable."),
        add("--inject-crash", dest="crashes", action="append", default=[],
            metavar="SERVER:N[:COUNT]",
            help="Fault injection: SERVER (vfs or net) crashes on its Nth call (COUNT calls "
                 "in a row)."),
        add("--preempt-stress", type=_integer, metavar="SEED",
            help="Testing: preempt guest code after a random 1-8 blocks (seeded), to make "
                 "races show at once."),
    ]
    add("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser, _taking_values(actions), {
        "--cpus": "CLOUDOS_CPUS", "--backend": "CLOUDOS_BACKEND", "--aslr": "CLOUDOS_ASLR",
        "--preempt-stress": "CLOUDOS_PREEMPT_STRESS"}


def _taking_values(actions: list[argparse.Action]) -> set[str]:
    """The option strings that take exactly one value (not a flag, not --strace's
    optional one)."""
    return {option for action in actions if action.nargs is None
            for option in action.option_strings}


def _boot_parser(prog: str) -> Made:
    """``cloudos boot``'s parser (as _run_parser)."""
    parser = _Parser(prog, "%(prog)s [OPTIONS]", BOOT_HELP)
    add = parser.add_argument
    actions = [
        add("--mem", metavar="TEXT",
            help="Guest RAM size (default 1G; or mem= on the cmdline)."),
        add("--init", metavar="TEXT", help="The first program (default /bin/sh)."),
        add("--cmdline", default="", metavar="TEXT",
            help="Boot parameters: init=, mem=, loglevel=, quiet, nokaslr, maxcpus=, nosmp."),
        add("--cpus", default=1, type=_cpu_count, metavar="INTEGER",
            help=CPUS_HELP + "  [default: 1]"),
    ]
    return parser, _taking_values(actions), {"--cpus": "CLOUDOS_CPUS"}


def _syscalls_parser(prog: str) -> Made:
    """``cloudos syscalls``'s parser (as _run_parser)."""
    parser = _Parser(prog, "%(prog)s [OPTIONS]", SYSCALLS_HELP)
    parser.add_argument("--missing", action="store_true",
                        help="List only the system calls that return ENOSYS.")
    return parser, set(), {}


def run(mem: str, cpus: int, backend: str | None, kvm_fd: int | None, root: str | None,
        root_rw: bool, mounts: list[str], workdir: str | None, no_cwd: bool,
        show_mounts: bool, env_specs: list[str], env_files: list[str], inherit_env: bool,
        argv0: str | None, user: str | None, hostname: str, timeout: float | None,
        cpu_time: int | None, max_procs: int | None, max_open_files: int | None,
        verbose: bool, syscall_stats: bool, sched_trace: str | None, strace: str | None,
        strace_filter: str | None, strace_size: int, strace_timestamps: bool,
        strace_durations: bool, timeline: str | None, aslr: str, no_aslr: bool,
        no_files: bool, network: str, published: list[str], crashes: list[str],
        preempt_stress: int | None, command: list[str]) -> None:
    """``cloudos run``: its options are _run_parser's."""
    _backend(backend)
    _kvm_fd(kvm_fd)
    _import_machine()
    from cloudos.hal.console import KernelLog
    from cloudos.machine import Machine, Sandbox, Start

    if root_rw and root is None:
        raise UsageError("--root-rw needs --root DIR")
    sandbox, start_dir = _sandbox(root, root_rw, _parse_mounts(mounts), workdir, no_cwd)
    if show_mounts:
        _print_mounts(sandbox, start_dir)
        return
    if command[:1] == ["--"]:  # (argparse leaves the "--" before PROGRAM in)
        command = command[1:]
    if not command:
        raise UsageError("no PROGRAM to run (cloudos run [OPTIONS] -- PROGRAM [ARGS]...)")
    size = parse_size(mem)
    crash = parse_crashes(crashes)
    publish = parse_publish(published)
    uid, gid = parse_user(user)
    env = guest_environment(os.environ, env_specs, env_files, inherit_env, uid)
    limits = tuple((resource, value) for resource, value in
                   ((RLIMIT_NPROC, max_procs), (RLIMIT_NOFILE, max_open_files))
                   if value is not None)
    if not 0 < len(os.fsencode(hostname)) <= 64 or "\0" in hostname:
        raise UsageError(f"{hostname!r} is not a host name (1-64 bytes)", "--hostname")
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
        raise UsageError("--strace-filter needs --strace")
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
            raise UsageError(f"no such system call: {', '.join(sorted(unknown))}",
                             "--strace-filter")
    return Options(strace, names, size, timestamps, durations, timeline)


def _parse_mounts(specs: Sequence[str]) -> tuple[Any, ...]:
    from cloudos.sandbox import Mount

    try:
        parsed = tuple(Mount.parse(m) for m in specs)
    except ValueError as err:
        raise UsageError(str(err), "--mount") from None
    for mount in parsed:
        if not os.path.isdir(mount.host):
            raise UsageError(f"{mount.host} is not a directory", "--mount")
    return parsed


def _sandbox(root: str | None, root_rw: bool, mounts: tuple[Any, ...], workdir: str | None,
             no_cwd: bool) -> tuple[Any, str]:
    """The guest's file system and where the program starts: the caller's directory,
    shown read-only at its own path unless that would share too much."""
    from cloudos.sandbox import Mount, Sandbox, cwd_refusal, visible_in_default_root, within

    if workdir is not None and not workdir.startswith("/"):
        raise UsageError(f"{workdir!r} is not an absolute guest path", "--workdir")
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
            raise UsageError(
                f"the current directory {cwd} is not shown to the guest: {why}. Run from a "
                f"project directory, share it deliberately with --mount {cwd}, or start "
                "elsewhere with -w DIR")
    return Sandbox(root, root_rw, shared), start


def _print_mounts(sandbox: Any, start: str) -> None:
    from cloudos.sandbox import HIDDEN

    rows = sandbox.table()
    width = max(len(row[0]) for row in rows)
    for guest, what, access in rows:
        print(f"{guest:<{width}}  {what}  ({access})")
    print(f"the program starts in {start}")
    if sandbox.root is None:
        print("hidden from the host's system directories: every file other users "
                   "cannot read, every directory they cannot list, and")
        for pattern, why in HIDDEN:
            print(f"  {pattern:<40} {why}")


def parse_user(spec: str | None) -> tuple[int, int]:
    """'1000' -> (1000, its group in the host's passwd, else 1000); '1000:50' -> (1000, 50)."""
    if spec is None:
        return os.getuid(), os.getgid()
    uid_text, _, gid_text = spec.partition(":")
    if not uid_text.isdigit() or gid_text and not gid_text.isdigit() \
            or int(uid_text) >= 1 << 32 or gid_text and int(gid_text) >= 1 << 32:
        raise UsageError(f"{spec!r} is not UID[:GID] (numbers)", "--user")
    uid = int(uid_text)
    if gid_text:
        return uid, int(gid_text)
    import pwd
    try:
        return uid, pwd.getpwuid(uid).pw_gid
    except KeyError:
        return uid, uid


def guest_environment(host: Mapping[str, str], specs: Sequence[str] = (),
                      files: Sequence[str] = (), inherit: bool = False,
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
            raise UsageError(f"{name}: {err.strerror}", "--env-file") from None
    lines += [(spec, "--env") for spec in specs]
    for spec, where in lines:
        if not spec or spec.startswith("#"):
            continue
        name, equals, value = spec.partition("=")
        if not name or "\0" in spec:
            raise UsageError(f"{spec!r} is not NAME[=VALUE]", where)
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
        print(f"cloudos: {err}{hint}", file=sys.stderr)
        sys.exit(EXIT_NOT_FOUND if err.errno == 2 else EXIT_CANNOT_EXECUTE)
    except (SetupError, ValueError) as err:  # the machine cannot be built or start as asked
        print(f"cloudos: {err}", file=sys.stderr)
        sys.exit(EXIT_CLOUDOS)
    except KeyboardInterrupt:  # ^C while the machine was still being built
        sys.exit(128 + 2)
    except Exception as err:  # a kernel bug: a panic report, never a traceback
        if machine is not None:
            from cloudos.panic import report
            report(machine.kernel, err, sys.stderr)
        else:
            print(f"cloudos: kernel panic: {type(err).__name__}: {err}", file=sys.stderr)
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


def boot(mem: str | None, init: str | None, cmdline: str, cpus: int) -> None:
    """Boot a machine with the boot log on the console and a shell as init."""
    _import_machine()
    from cloudos.hal.console import KernelLog
    from cloudos.machine import Machine, Start

    params = parse_cmdline(cmdline)
    size = parse_size(mem, "--mem") if mem is not None else \
        parse_size(params.get("mem", "1G"), "--cmdline")
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
            raise UsageError(f"unknown boot parameter {key!r} (known: "
                             f"{', '.join(sorted(known))})", "--cmdline")
        params[key] = value
    if not params.get("loglevel", "0").isdigit():
        raise UsageError("loglevel= takes a number 0-7", "--cmdline")
    if not params.get("maxcpus", "0").isdigit():
        raise UsageError("maxcpus= takes a number", "--cmdline")
    return params


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


# Each command's parser (built only for the command run) and function.
COMMANDS: dict[str, tuple[Callable[[str], Made], Callable[..., Any]]] = {
    "run": (_run_parser, run), "boot": (_boot_parser, boot),
    "syscalls": (_syscalls_parser, syscalls)}
