"""The net server: internet (AF_INET, AF_INET6) and rtnetlink sockets, in a server of its own.

``server`` is the server (restarted by rs; the VFS forwards it every call on a socket
and keeps the fds); ``sockets`` the socket calls and the TCP/UDP data path; ``inet``
addresses, the port namespace, routing and options; ``host`` the host sockets of
``--net host`` and ``--publish``; ``netlink`` rtnetlink's answers; ``procnet``
/proc/net's tables.
"""
