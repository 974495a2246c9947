"""The network stack: internet (AF_INET, AF_INET6) sockets' protocol state.

``inet`` owns addresses, the port namespace (bind, ephemeral ports, who listens
where), routing (the guest's own loopback, the host's network through host sockets
with the NETWORK right, else ENETUNREACH), socket options and UDP's datagram queues.
It is run by the VFS for now (the socket is a VFS open file, ``vfs.inet``): it keeps
its state in a ``NetState`` the VFS holds, so it can move into a server of its own.
"""
