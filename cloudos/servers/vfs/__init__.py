"""The VFS server: mounts, paths, fd tables, pipes, and the file systems it serves."""
