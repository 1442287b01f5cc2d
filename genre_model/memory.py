"""Giving freed memory back to the system, for a server that runs for a whole school day."""

from __future__ import annotations


def release_memory(*, collect: bool = True) -> None:
    """Collect garbage (unless ``collect`` is False: a full collection holds the interpreter for
    ~0.1 s), then ask glibc to return freed heap memory to the system (Linux only): glibc keeps what
    a long file's analysis freed for reuse, and the server's resident memory stays at its peak."""
    import ctypes
    import gc
    if collect:
        gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to ask
        pass
