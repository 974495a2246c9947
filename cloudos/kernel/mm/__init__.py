"""Memory management: physical frames, page tables, address spaces."""
