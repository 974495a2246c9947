"""The console terminal: its line discipline (``ldisc``), run by the VFS for the console's fds."""
