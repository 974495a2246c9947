"""User-space servers, reached by IPC over ports, holding only the capabilities they are given.

``runtime`` runs a server as a kernel-scheduled thread and catches its crashes;
``rs`` (the reincarnation server) restarts crashed servers; ``vfs`` owns files.
Servers import only ``cloudos.kernel``; the Linux personality reaches them by IPC.
"""
