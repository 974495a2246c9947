"""Linux's terminal ABI for pseudo-terminals: ioctl numbers (asm-generic/ioctls.h),
device numbers (Documentation/admin-guide/devices.txt) and the settings a new
pseudo-terminal starts with (drivers/tty/pty.c, tty_std_termios).

Owns numbers only; what they do is the VFS's (``servers.vfs.pty``) and the line
discipline's (``servers.tty.ldisc``).
"""

from cloudos.abi.enums import IntEnum


class TtyIoctl(IntEnum):
    """The terminal ioctls a pseudo-terminal serves."""

    TCGETS = 0x5401
    TCSETS = 0x5402
    TCSETSW = 0x5403
    TCSETSF = 0x5404
    TCSBRK = 0x5409
    TCXONC = 0x540A
    TCFLSH = 0x540B
    TIOCSCTTY = 0x540E
    TIOCGPGRP = 0x540F
    TIOCSPGRP = 0x5410
    TIOCOUTQ = 0x5411
    TIOCGWINSZ = 0x5413
    TIOCSWINSZ = 0x5414
    FIONREAD = 0x541B
    TIOCNOTTY = 0x5422
    TCSBRKP = 0x5425  # tcsendbreak(3)'s: a duration in tenths of a second
    TIOCGSID = 0x5429
    TIOCGPTN = 0x80045430   # _IOR('T', 0x30, unsigned int)
    TIOCSPTLCK = 0x40045431  # _IOW('T', 0x31, int)
    TIOCGPTLCK = 0x80045439  # _IOR('T', 0x39, int)
    TIOCGPTPEER = 0x5441     # _IO('T', 0x41): the argument is open(2)'s flags


PTY_MASTER_MAJOR = 5   # /dev/ptmx is 5:2
PTMX_MINOR = 2
PTY_SLAVE_MAJOR = 136  # /dev/pts/N is 136:N (UNIX98_PTY_SLAVE_MAJOR)
PTY_MAX = 4096         # /proc/sys/kernel/pty/max's default
DEVPTS_SUPER_MAGIC = 0x1CD1


def tty_nr(major: int, minor: int) -> int:
    """A device number as /proc/<pid>/stat's tty_nr shows it (Linux's new_encode_dev)."""
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


# struct winsize: rows, columns, x pixels, y pixels
WINSIZE_FORMAT = "<HHHH"

# A new slave's termios (tty_std_termios with the pty driver's c_cflag): c_iflag ICRNL |
# IXON, c_oflag OPOST | ONLCR, c_cflag B38400 | CS8 | CREAD, c_lflag ISIG | ICANON | ECHO
# | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN, and INIT_C_CC's control characters.
PTY_IFLAG, PTY_OFLAG, PTY_CFLAG, PTY_LFLAG = 0o2400, 0o5, 0o277, 0o105073
PTY_CC = b"\x03\x1c\x7f\x15\x04\x00\x01\x00\x11\x13\x1a\x00\x12\x0f\x17\x16\x00\x00\x00"
