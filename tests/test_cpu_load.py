"""CPU load of other work: the system's busy time less this process's own, per second of wall time."""

from __future__ import annotations

import time
from pathlib import Path

from flows.cpu_load import CLOCK_TICKS, OtherLoad, read_busy_seconds, read_own_seconds

STAT_LINE = "cpu  {user} 0 {system} {idle} 5 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"


def write_stat(path: Path, user: int, system: int, idle: int) -> None:
    path.write_text(STAT_LINE.format(user=user, system=system, idle=idle))


def burn_cpu(seconds: float) -> None:
    """Keep this thread busy for `seconds` of wall time."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def test_busy_seconds_count_all_but_idle_and_iowait(tmp_path) -> None:
    stat = tmp_path / "stat"
    write_stat(stat, user=300, system=100, idle=1000)
    assert read_busy_seconds(str(stat)) == 400 / CLOCK_TICKS
    assert read_busy_seconds(str(tmp_path / "missing")) is None
    stat.write_text("intr 1 2 3\n")
    assert read_busy_seconds(str(stat)) is None


def test_this_process_own_work_is_not_other_load(tmp_path) -> None:
    stat = tmp_path / "stat"
    write_stat(stat, user=10_000, system=0, idle=0)
    load = OtherLoad(str(stat))
    own_before = read_own_seconds()
    started = time.monotonic()
    burn_cpu(0.3)
    own_ticks = round((read_own_seconds() - own_before) * CLOCK_TICKS)
    other_ticks = round(0.5 * (time.monotonic() - started) * CLOCK_TICKS)  # half a core of other work
    write_stat(stat, user=10_000 + own_ticks + other_ticks, system=0, idle=0)
    assert own_ticks >= 0.2 * CLOCK_TICKS
    assert abs(load.read() - 0.5) < 0.15
    assert load.read() == 0.0  # nothing new since the last reading (and never below zero)


def test_other_load_is_unknown_without_the_system_counters(tmp_path) -> None:
    assert OtherLoad(str(tmp_path / "missing")).read() is None
