"""heap_policy: glibc's mmap threshold stays fixed after a large block is freed, and threads that
allocate at once share two arenas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Free one 4 MiB block (mapped apart, as everything above the threshold at start), then take
# twenty blocks of 256 KiB and count how many glibc mapped apart: with the dynamic threshold
# (raised to 4 MiB by the free) none is, they come from the heap; with the threshold fixed all are.
PROBE = """
import ctypes, json, sys
sys.path.insert(0, sys.argv[2])
from bench.memtrace import _MallInfo2
from server.app import heap_policy
set_here = "mmap_threshold" in heap_policy.install() if sys.argv[1] == "fixed" else False
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = _MallInfo2
big = bytearray(4 * 1024 * 1024)
del big
before = libc.mallinfo2().hblks
held = [bytearray(256 * 1024) for _ in range(20)]
print(json.dumps({"set": set_here, "mapped": libc.mallinfo2().hblks - before}))
"""


# Eight threads allocate at the same moment, then glibc's malloc_stats() lists its arenas on
# stderr ("Arena 0:", "Arena 1:", …): one per thread by default (up to eight per core), two at most
# once heap_policy capped them.
ARENAS = """
import ctypes, sys, threading
sys.path.insert(0, sys.argv[2])
from server.app import heap_policy
if sys.argv[1] == "capped":
    assert "arena_max" in heap_policy.install()
together = threading.Barrier(8)
held = []
def allocate():
    together.wait()
    held.append([bytearray(1024) for _ in range(200)])  # above pymalloc's 512 B: glibc's
    together.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def probe(mode: str, code: str = PROBE) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    return subprocess.run(
        [sys.executable, "-c", code, mode, str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


# 64 MiB of 4 KiB blocks from glibc's main heap, then all freed but one block in 64 (which keeps
# the heap from shrinking at its top): the resident set before and after trim().
TRIM = """
import ctypes, json, sys
sys.path.insert(0, sys.argv[2])
from server.app import heap_policy
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
blocks = [bytearray(4096) for _ in range(16384)]
kept = blocks[::64]
del blocks
before = rss_kb()
trimmed = heap_policy.trim()
print(json.dumps({"trimmed": trimmed, "given_back_kb": before - rss_kb()}))
"""


def thresholds(mode: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(probe(mode).stdout)
    return result


def arenas(mode: str) -> int:
    return sum(line.startswith("Arena ") for line in probe(mode, ARENAS).stderr.splitlines())


glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc only: elsewhere heap_policy sets nothing",
)


@glibc_only
def test_large_blocks_stay_mapped_apart_after_a_large_free() -> None:
    assert thresholds("dynamic") == {"set": False, "mapped": 0}  # glibc's default: heap takes them
    assert thresholds("fixed") == {"set": True, "mapped": 20}


@glibc_only
def test_threads_allocating_at_once_share_two_arenas() -> None:
    assert arenas("default") > 2  # the main arena and one per thread that met it busy
    assert arenas("capped") == 2


@glibc_only
def test_trim_gives_free_pages_inside_the_heap_back() -> None:
    result = json.loads(probe("default", TRIM).stdout)
    assert result["trimmed"] is True
    assert result["given_back_kb"] > 32 * 1024  # most of the 63 MiB freed between kept blocks


def test_an_operators_own_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.app import heap_policy

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert heap_policy.install() == ()
