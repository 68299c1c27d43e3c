"""heap_policy: glibc's mmap threshold stays fixed after a large block is freed."""

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
set_here = heap_policy.install() if sys.argv[1] == "fixed" else False
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = _MallInfo2
big = bytearray(4 * 1024 * 1024)
del big
before = libc.mallinfo2().hblks
held = [bytearray(256 * 1024) for _ in range(20)]
print(json.dumps({"set": set_here, "mapped": libc.mallinfo2().hblks - before}))
"""


def probe(mode: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc only: elsewhere heap_policy sets nothing",
)
def test_large_blocks_stay_mapped_apart_after_a_large_free() -> None:
    assert probe("dynamic") == {"set": False, "mapped": 0}  # glibc's default: the heap takes them
    assert probe("fixed") == {"set": True, "mapped": 20}


def test_an_operators_own_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.app import heap_policy

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert heap_policy.install() is False
