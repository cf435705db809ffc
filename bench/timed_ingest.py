"""The run-cost bench's child: one ingest as bench/e2e.py runs it, with the flow's warehouse calls timed.

Run by bench/run_cost.py as `python -m bench.timed_ingest --sources S --db D --out O`. Before the flow runs,
the functions flows/ingest.py calls on the warehouse outside the poll are wrapped with a clock: `open_run`,
`plan_batch` (the known-URL lookup; the page fetch comes after it), `load_plan` (each batch's load) and
`finish_ingest` (drift check and closing the run). Their seconds, summed over the run, go to the report as
`warehouse_s`. Nothing else changes: the flow, its tasks and its stages run as in `newsdesk ingest`.
With BENCH_CAPTURE_DIR set, what each `load_plan` call is given is also pickled there, before the call, for
bench/load_replay.py.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flows.ingest
from bench.e2e import parse_child_args, run_child

TIMED = ("open_run", "plan_batch", "load_plan", "finish_ingest")
LOCK = threading.Lock()
CAPTURE_ENV = "BENCH_CAPTURE_DIR"


def wrap_with_clock(name: str, function: Callable[..., Any], seconds: dict[str, float]) -> Callable[..., Any]:
    """`function`, adding its wall seconds to seconds[name] on each call (tasks call it from threads)."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            with LOCK:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    return timed


def wrap_with_capture(function: Callable[..., Any], folder: Path, label: str) -> Callable[..., Any]:
    """`function`, pickling its arguments to `folder` (one numbered file per call) before each call."""
    numbers = itertools.count()

    def captured(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            path = folder / f"{label}-{next(numbers):03d}.pickle"
        path.write_bytes(pickle.dumps((args, kwargs)))
        return function(*args, **kwargs)

    return captured


def install_capture(db: str) -> None:
    """Capture every load_plan call's input when BENCH_CAPTURE_DIR names a folder."""
    folder = os.environ.get(CAPTURE_ENV)
    if folder:
        label = f"{Path(db).stem}-{os.getpid()}"
        flows.ingest.load_plan = wrap_with_capture(flows.ingest.load_plan, Path(folder), label)


def install_clocks() -> dict[str, float]:
    """Wrap the ingest flow's warehouse calls; return the dict their seconds accumulate in."""
    seconds: dict[str, float] = {}
    for name in TIMED:
        setattr(flows.ingest, name, wrap_with_clock(name, getattr(flows.ingest, name), seconds))
    return seconds


def main() -> None:
    """Entry point of the child process."""
    args = parse_child_args()
    seconds = install_clocks()
    install_capture(args.db)  # outside the clock: pickling is not the load's time
    report = run_child(args.sources, args.db, args.nochange)
    report["warehouse_s"] = seconds
    Path(args.out).write_text(json.dumps(report, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
