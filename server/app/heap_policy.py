"""What a serving node's C heap keeps: glibc's mmap threshold fixed, two arenas, and trimming.

Why: glibc serves a request above its mmap threshold (128 KiB at start) with a mapping of its
own, which goes back to the kernel when freed. But its threshold is dynamic: each time such a
block is freed, the threshold rises to that block's size (up to 32 MiB). A server that reads one
large body (a 200 KiB text from a client) from then on takes every block of that size from the
main heap, where small, long-lived blocks settle between them once they are freed; the heap
keeps the freed space and never gives it back. ``bench/fuzz.py --allocators`` measured it:
over 18,000 fuzzed inputs glibc's "free and kept" grew by 7.4 MiB with the dynamic threshold,
by 2.5 MiB with it fixed, and the resident set by 13.1% against 6.4% (one pair of runs; over
100,000 inputs the growth stayed about the same, ARCHITECTURE "Not yet (issue 10)").

Setting the threshold with ``mallopt`` turns the dynamic adjustment off (and that of the trim
threshold, which stays at glibc's default).

At most two arenas (``ARENA_MAX``): glibc gives each thread that allocates at once with another
an arena of its own, up to eight per core, and what is freed in an arena stays in it. A node's
threads are its database connections (through aiosqlite each is a thread: ``POOL_SIZE``, 16) and
asyncio's thread pool, so its freed memory was spread over up to sixteen heaps, each keeping its
own. With two, the free space is shared and reused. Over 100,000 fuzzed inputs (with ``trim``
below) glibc's "free and kept" grew by 5.4 MiB with two arenas against 13.1 MiB without the cap,
and the resident set by 15.5% against 20.0% (one run each, ARCHITECTURE "Not yet (issue 10)").

Where there is no glibc (musl, macOS) nothing is set. An operator's own ``MALLOC_MMAP_THRESHOLD_``
or ``MALLOC_ARENA_MAX`` in the environment wins: that setting is left alone.

Trimming (``trim``): the freed space that stays in glibc's heaps is never given back by itself
when live blocks sit above it (the heap shrinks only from its top). ``malloc_trim(0)`` hands every
whole free page inside each heap back to the kernel (``madvise``), which the resident set then no
longer counts. ``gc_policy`` calls it after each full collection, the moment the most was freed.

Only ``evalroom serve`` and ``demo`` install it; the tests' in-process servers keep the defaults.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's default starting value, kept from rising
ARENA_MAX = 2
# name: (mallopt's option, its value, the environment variable with which an operator sets it)
SETTINGS = {
    "mmap_threshold": (M_MMAP_THRESHOLD, MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"),
    "arena_max": (M_ARENA_MAX, ARENA_MAX, "MALLOC_ARENA_MAX"),
}


@functools.cache  # loaded once: ``trim`` runs after every full collection
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc on Linux (mallopt's and malloc_trim's numbers are its own)."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if os.uname().sysname != "Linux" or not hasattr(libc, "mallinfo2"):
        return None
    return libc


def install() -> tuple[str, ...]:
    """Fix glibc's mmap threshold and cap its arenas; the names of the settings made here."""
    libc = _glibc()
    if libc is None:
        return ()
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    made = []
    for name, (option, value, variable) in SETTINGS.items():
        if variable in os.environ:
            continue  # the operator's own setting wins
        if mallopt(option, value) != 1:
            logger.warning("could not set malloc's %s; its heap may hold more", name)
            continue
        made.append(name)
    return tuple(made)


def trim() -> bool:
    """Give the whole free pages of glibc's heaps back to the kernel; whether any was."""
    libc = _glibc()
    if libc is None:
        return False
    malloc_trim = libc.malloc_trim
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return bool(malloc_trim(0))
