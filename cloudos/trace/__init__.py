"""Observability of a running machine: strace's lines and a Perfetto timeline.

``observe`` attaches to a booted machine and turns what it does into events;
``strace`` writes them as strace does (``cloudos run --strace``), ``timeline`` as
Chrome/Perfetto trace-event JSON (``cloudos run --trace``); ``render`` prints a system
call's arguments as strace does, from the decoding table beside the syscall table
(``cloudos.linux.syscalls.decode``). Nothing here runs unless a run asks for it.
"""
