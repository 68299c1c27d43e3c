"""Where a serving node's large allocations come from: a fixed mmap threshold for glibc's malloc.

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
threshold, which stays at glibc's default). Where there is no glibc (musl, macOS) nothing is set.
An operator's own ``MALLOC_MMAP_THRESHOLD_`` in the environment wins: it is left alone.

Only ``evalroom serve`` and ``demo`` install it; the tests' in-process servers keep the defaults.
"""

from __future__ import annotations

import ctypes
import logging
import os

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's default starting value, kept from rising


def install() -> bool:
    """Fix glibc's mmap threshold; whether it was set here."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if os.uname().sysname != "Linux" or not hasattr(libc, "mallinfo2"):
        return False  # mallopt's numbers are glibc's; another C library may mean other things
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        logger.warning("could not fix malloc's mmap threshold; large blocks may fragment the heap")
        return False
    return True
