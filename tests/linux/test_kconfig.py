"""/proc/config.gz's options (linux/kconfig.py) follow the syscall table."""

from __future__ import annotations

from cloudos.linux import kconfig
from cloudos.linux.syscalls.table import Support, table


def test_an_option_is_set_only_when_its_calls_are_implemented():
    options = kconfig.options()
    for name, calls in kconfig.BY_SYSCALLS.items():
        implemented = all(table()[c].support is not Support.NONE for c in calls)
        assert options[name] is implemented, name
    assert options["EPOLL"] and not options["AIO"]  # (epoll is served; io_setup is ENOSYS)


def test_text_is_linux_config_form():
    lines = kconfig.text().decode().splitlines()
    assert lines[1] == "# Automatically generated file; DO NOT EDIT."
    options = [line for line in lines if not line.startswith("#") or "is not set" in line]
    assert len(options) == len(kconfig.options())
    assert "CONFIG_FUTEX=y" in lines and "# CONFIG_IO_URING is not set" in lines
