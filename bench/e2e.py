"""newsdesk end to end, in a child process: warm Prefect up, then time real ingest flow runs.

Run by bench/__main__.py as `python -m bench.e2e --sources S --db D --out O [--nochange K]`. The child first
runs an empty flow, so that Prefect's start (its temporary server) is measured apart from the ingest itself;
with --nochange it then primes the feeds once and times K re-runs in which every feed should answer 304.
The parent samples the whole process tree's memory (see bench/memory.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.memory import TreeSampler
from flows.settings.prefect_runs import allow_slow_server_start


def warm_up() -> None:
    """An empty flow body: running it as a flow starts Prefect (and its temporary server) before anything is
    timed."""


def time_ingest(sources: str, db: str, force_poll: bool) -> dict[str, Any]:
    """Run the ingest flow once and return its summary with the wall seconds of the flow call."""
    from flows.ingest import ingest

    started = time.perf_counter()
    summary = ingest(sources=sources, db=db, force_poll=force_poll)
    summary["flow_wall_s"] = time.perf_counter() - started
    return summary


def run_child(sources: str, db: str, nochange: int) -> dict[str, Any]:
    """The child's work: warm-up, then one ingest or a primed series of no-change re-runs."""
    # Prefect is imported here, not at the top: the articles pool's fork server imports this module (the
    # child's __main__), and the `newsdesk` command's own module does not import Prefect either.
    from prefect import flow

    from flows.settings.prefect_runs import local_run_settings

    started = time.perf_counter()
    with local_run_settings():  # as `newsdesk ingest` runs its flow
        flow(name="bench-warm-up")(warm_up)()
        report: dict[str, Any] = {"prefect_start_s": time.perf_counter() - started}
        if nochange:
            report["prime"] = time_ingest(sources, db, force_poll=True)
            report["runs"] = [time_ingest(sources, db, force_poll=True) for _ in range(nochange)]
        else:
            report["runs"] = [time_ingest(sources, db, force_poll=False)]
    report["process_s"] = time.perf_counter() - started
    return report


@dataclass
class ChildResult:
    """What one child run reported, plus its wall time and its process tree's peak memory (summed RSS and PSS)."""

    report: dict[str, Any]
    wall_s: float
    peak_rss_mb: float
    log_path: Path
    peak_pss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def child_environment(prefect_home: Path) -> dict[str, str]:
    """The child's environment: its own Prefect home (a temporary server on its own SQLite), quiet logs.

    BENCH_PREFECT_API_URL points the children at a running server instead (the test suite's shared one).
    """
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    if env.get("BENCH_PREFECT_API_URL"):
        env["PREFECT_API_URL"] = env["BENCH_PREFECT_API_URL"]
    env["PREFECT_HOME"] = str(prefect_home)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    allow_slow_server_start(env)
    env["PREFECT_LOGGING_LEVEL"] = env.get("PREFECT_LOGGING_LEVEL", "WARNING")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")])
    )
    return env


def run_ingest_child(
    sources: Path,
    db: Path,
    work: Path,
    prefect_home: Path,
    nochange: int = 0,
    label: str = "e2e",
    module: str = "bench.e2e",
) -> ChildResult:
    """Start a child process (`module`'s, which takes this one's options) for one measured ingest (or no-change
    series) and sample its memory."""
    out = work / f"{label}.json"
    log_path = work / f"{label}.log"
    command = [
        sys.executable,
        "-m",
        module,
        "--sources",
        str(sources),
        "--db",
        str(db),
        "--out",
        str(out),
        "--nochange",
        str(nochange),
    ]
    started = time.perf_counter()
    with log_path.open("wb") as log:
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=child_environment(prefect_home)
        )
        with TreeSampler(child.pid) as sampler:
            code = child.wait()
    wall_s = time.perf_counter() - started
    if code != 0 or not out.exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"bench child {label} failed with exit code {code}; log tail:\n{tail}")
    return ChildResult(
        json.loads(out.read_text(encoding="utf-8")),
        wall_s,
        sampler.peak_mb,
        log_path,
        sampler.peak_pss_mb,
        {
            "peak_processes": sampler.peak_processes,
            "peak_pss_processes": sampler.peak_pss_processes,
            "peak_pss_at_s": sampler.peak_pss_at_s,
        },
    )


def parse_child_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The child's options, as run_ingest_child passes them."""
    parser = argparse.ArgumentParser(description="one measured newsdesk ingest (bench child)")
    parser.add_argument("--sources", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--nochange", type=int, default=0)
    return parser.parse_args(argv)


def main() -> None:
    """Entry point of the child process."""
    args = parse_child_args()
    report = run_child(args.sources, args.db, args.nochange)
    Path(args.out).write_text(json.dumps(report, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
