"""How much CPU other work is using right now, from the system's counters and this process's own."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from collections.abc import Iterable

PROC_STAT = "/proc/stat"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def read_busy_seconds(path: str = PROC_STAT) -> float | None:
    """CPU seconds all cores have spent on anything but idling since boot (None without /proc/stat)."""
    try:
        with open(path, "rb") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if len(fields) < 5 or fields[0] != b"cpu":
        return None
    ticks = [int(field) for field in fields[1:9]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks) - idle) / CLOCK_TICKS


def read_own_seconds(running_children: Iterable[int] = ()) -> float:
    """CPU seconds of this process (all its threads), of its children that have ended and of the running
    children `running_children`."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    running = sum(read_process_seconds(pid) for pid in running_children)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + running


def read_process_seconds(pid: int) -> float:
    """CPU seconds of a running process, from /proc (0 when it is gone or there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3 of the line, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class OtherLoad:
    """Cores kept busy by work other than this process and its children, measured between one reading and
    the next. Running children to count as this process's own go in `children`."""

    def __init__(self, path: str = PROC_STAT) -> None:
        self.path = path
        self.children: list[int] = []
        self._last = self._read()

    def _read(self) -> tuple[float, float | None, float]:
        return time.monotonic(), read_busy_seconds(self.path), read_own_seconds(self.children)

    def read(self) -> float | None:
        """Cores the rest of the machine kept busy since the last reading (None: unknown here)."""
        then, then_busy, then_own = self._last
        now, busy, own = self._last = self._read()
        if busy is None or then_busy is None or now <= then:
            return None
        return max(0.0, (busy - then_busy) - (own - then_own)) / (now - then)


def read_other_running(
    loadavg_path: str = "/proc/loadavg", tasks_path: str = "/proc/self/task"
) -> int | None:
    """Threads of other processes running or ready to run at this instant (None without /proc)."""
    try:
        with open(loadavg_path, "rb") as handle:
            running = int(handle.read().split()[3].split(b"/")[0])
        own = 0
        for task in os.listdir(tasks_path):
            with contextlib.suppress(OSError), open(f"{tasks_path}/{task}/stat", "rb") as handle:
                # The state follows the command name, which is in parentheses and may hold spaces.
                own += handle.read().rpartition(b")")[2].split()[0] == b"R"
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - own)
