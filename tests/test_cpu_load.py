"""CPU load of other work: the system's busy time less this process's own, per second of wall time."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flows.cpu_load import CLOCK_TICKS, OtherLoad, read_busy_seconds, read_other_running, read_own_seconds

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


def test_running_threads_of_other_processes_exclude_this_process_running_ones(tmp_path) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.52 0.41 0.30 3/120 9999\n")
    tasks = tmp_path / "task"
    for task, stat in {"10": "10 (py (worker) R) R 1 10", "11": "11 (prefect) S 1 10"}.items():
        (tasks / task).mkdir(parents=True)
        (tasks / task / "stat").write_text(stat)
    assert read_other_running(str(loadavg), str(tasks)) == 2  # 3 running, one of them this process's
    (tasks / "11" / "stat").write_text("11 (prefect) R 1 10")
    assert read_other_running(str(loadavg), str(tasks)) == 1
    assert read_other_running(str(tmp_path / "missing"), str(tasks)) is None
    assert read_other_running() is None or read_other_running() >= 0


def test_running_children_named_count_as_this_process_own_work() -> None:
    child = os.fork()
    if child == 0:
        burn_cpu(0.6)
        os._exit(0)
    try:
        time.sleep(0.5)
        alone = read_own_seconds()
        assert read_own_seconds([child]) - alone > 0.1  # on a busy machine the child gets less than it asks
    finally:
        os.waitpid(child, 0)
    assert read_own_seconds([child]) - read_own_seconds() < 0.05  # collected: counted once, with the children
