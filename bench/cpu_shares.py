"""Who used the cores over a stretch of a benchmark: each process's CPU share and the machine's."""

from __future__ import annotations

import time

import psutil


def cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process has used so far; 0 once it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


class CpuShares:
    """Each named group of processes' CPU seconds over the wall seconds since it was made, and
    the machine's (``machine`` busy, out of ``machine_of``: 2.0 is two cores full)."""

    def __init__(self, processes: dict[str, list[int]]) -> None:
        self.processes = processes
        self.wall = time.monotonic()
        self.used = {name: sum(cpu_s(pid) for pid in pids) for name, pids in processes.items()}
        self.machine = psutil.cpu_times()

    def shares(self) -> dict[str, float]:
        wall = time.monotonic() - self.wall
        found = {
            name: round((sum(cpu_s(pid) for pid in pids) - self.used[name]) / wall, 2)
            for name, pids in self.processes.items()
        }
        now = psutil.cpu_times()
        idle = (now.idle - self.machine.idle) + (now.iowait - self.machine.iowait)
        total = sum(now) - sum(self.machine)
        found["machine"] = round((total - idle) / wall, 2)
        found["machine_of"] = round(total / wall, 2)
        return found
