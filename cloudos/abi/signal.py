"""Linux x86_64 signal numbers (asm/signal.h) and the default action of each.

Owns the numbers and signal(7)'s table of default actions: a signal not in one of
the sets below terminates the process (``DEFAULT_CORE`` ones with a core file).
What a signal does to a process is the personality's (``cloudos.linux.signals``).
"""

from cloudos.abi.enums import IntEnum


class Signal(IntEnum):
    """Linux x86_64 signal numbers (the standard ones; 32..64 are real-time signals)."""

    SIGHUP = 1
    SIGINT = 2
    SIGQUIT = 3
    SIGILL = 4
    SIGTRAP = 5
    SIGABRT = 6
    SIGBUS = 7
    SIGFPE = 8
    SIGKILL = 9
    SIGUSR1 = 10
    SIGSEGV = 11
    SIGUSR2 = 12
    SIGPIPE = 13
    SIGALRM = 14
    SIGTERM = 15
    SIGSTKFLT = 16
    SIGCHLD = 17
    SIGCONT = 18
    SIGSTOP = 19
    SIGTSTP = 20
    SIGTTIN = 21
    SIGTTOU = 22
    SIGURG = 23
    SIGXCPU = 24
    SIGXFSZ = 25
    SIGVTALRM = 26
    SIGPROF = 27
    SIGWINCH = 28
    SIGIO = 29
    SIGPWR = 30
    SIGSYS = 31


# Each also by its C name, as Python's signal module has them (members, in number order).
(SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV,
 SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN,
 SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS) = Signal
SIGRTMIN = 32
# si_code (asm-generic/siginfo.h): who sent a signal, when not a fault's own code.
SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_MESGQ, SI_TKILL = 0, 0x80, -1, -2, -3, -6
SYS_SECCOMP = 1  # SIGSYS's si_code: a seccomp filter's TRAP refused the call
# SIGCHLD's si_code: what happened to the child.
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 4, 5, 6
# wait status words of a stopped child (| signal << 8) and of a continued one
STOPPED_STATUS, CONTINUED_STATUS = 0x7F, 0xFFFF
NSIG = 64  # the highest signal number: a sigset_t has 64 bits

# signal(7)'s default actions other than "terminate".
DEFAULT_IGNORE = frozenset({Signal.SIGCHLD, Signal.SIGCONT, Signal.SIGURG, Signal.SIGWINCH})
DEFAULT_STOP = frozenset({Signal.SIGSTOP, Signal.SIGTSTP, Signal.SIGTTIN, Signal.SIGTTOU})
DEFAULT_CORE = frozenset({Signal.SIGQUIT, Signal.SIGILL, Signal.SIGTRAP, Signal.SIGABRT,
                          Signal.SIGBUS, Signal.SIGFPE, Signal.SIGSEGV, Signal.SIGXCPU,
                          Signal.SIGXFSZ, Signal.SIGSYS})
UNCATCHABLE = frozenset({Signal.SIGKILL, Signal.SIGSTOP})  # no handler, never blocked
