"""The trusted kernel core: mm, sched, ipc, cap, task, trap."""
