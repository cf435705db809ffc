"""Where a batch load's time goes: captured batch loads replayed into copies of kept lakes, statement by statement.

Run: .venv/bin/python -m bench.load_replay --keep DIR --capture DIR [--sizes 10000,1000000] [--rounds 3] [--chain]
`bench.run_cost --keep DIR --capture DIR` keeps the filled lakes and pickles what each batch load (`load_plan`)
was given. Here each captured round (one child's batches into the smallest lake) is loaded, batch after batch,
into a fresh copy of every kept lake (with --chain, the rounds one after another into one copy, as the run-cost
runs load them: later rounds then meet the earlier rounds' copies), sizes alternated, with every statement the
load runs on its connection timed and named (its warehouse/queries file, else its first words). Printed: per size the median over rounds of
the loads' seconds and of each statement's summed seconds, largest growth first. Last line:
`load_replay: sizes=A,B load_s=X,Y ratio=R statements_per_load=M,N`.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flows.stages.batches
from bench.run_cost import kept_lake
from bench.warehouses import copy_warehouse, remove_warehouse
from warehouse.sql import QUERIES_DIR, read_sql

FIRST_WORDS = re.compile(
    r"^\s*(INSERT INTO \w+|DELETE FROM \w+|UPDATE \w+|MERGE INTO \w+|\w+)", re.IGNORECASE
)


def name_queries() -> dict[str, str]:
    """The text of every warehouse/queries file, mapped to its name."""
    return {read_sql(path.stem): path.stem for path in QUERIES_DIR.glob("*.sql")}


def name_statement(sql: str, names: dict[str, str]) -> str:
    """A short name for a statement: its query file (a template's text up to its first `{`), else its first words
    (and whether it anti-joins)."""
    if sql in names:
        return names[sql]
    for text, name in names.items():
        head = text.split("{", 1)[0]
        if len(head) < len(text) and sql.startswith(head):
            return name
    match = FIRST_WORDS.match(sql)
    words = match.group(1) if match else sql[:30]
    return f"{words} (anti-join)" if "ANTI JOIN" in sql else words


class TimedConnection:
    """A DuckDB connection whose execute() adds its seconds to a dict, by statement name."""

    def __init__(self, inner: Any, seconds: dict[str, float], names: dict[str, str]) -> None:
        self.inner, self.seconds, self.names = inner, seconds, names

    def execute(self, sql: str, parameters: Any = None) -> Any:
        """Run the statement on the inner connection, timed."""
        started = time.perf_counter()
        try:
            if parameters is None:
                return self.inner.execute(sql)
            return self.inner.execute(sql, parameters)
        finally:
            self.seconds[name_statement(sql, self.names)] += time.perf_counter() - started
            self.seconds["(statements)"] += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install_timing(seconds: dict[str, float]) -> None:
    """Make load_plan's write sessions hand out timed connections."""
    names = name_queries()
    original = flows.stages.batches.write_session

    @contextlib.contextmanager
    def timed_session(*args: Any, **kwargs: Any) -> Iterator[TimedConnection]:
        with original(*args, **kwargs) as connection:
            yield TimedConnection(connection, seconds, names)

    flows.stages.batches.write_session = timed_session


def list_rounds(capture: Path, smallest: int) -> list[list[Path]]:
    """The captured batch loads of each child run into the smallest lake, in load order."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(capture.glob(f"cost-{smallest}-*.pickle")):
        groups[path.stem.rsplit("-", 1)[0]].append(path)
    return [
        sorted(paths) for _, paths in sorted(groups.items(), key=lambda item: min(item[1]).stat().st_mtime)
    ]


def replay_round(batches: list[Path], db: Path, seconds: dict[str, float]) -> float:
    """Load the captured batches into `db` in order; return the loads' wall seconds."""
    total = 0.0
    for path in batches:
        args, kwargs = pickle.loads(path.read_bytes())
        args = (*args[:2], db)
        started = time.perf_counter()
        flows.stages.batches.load_plan(*args, **kwargs)
        total += time.perf_counter() - started
    seconds["(load wall)"] += total
    seconds["(loads)"] += len(batches)
    return total


def replay(
    keep: Path, capture: Path, sizes: tuple[int, ...], rounds: int, work: Path, chain: bool = False
) -> dict[int, list[dict]]:
    """Per size, one dict of statement seconds per replayed round: each round into a fresh copy of the kept
    lake, or with `chain` all rounds into one copy, in order, as bench.run_cost's runs load them."""
    captured = list_rounds(capture, sizes[0])[:rounds]
    if not captured:
        raise SystemExit(f"no captured loads into cost-{sizes[0]} in {capture}")
    figures: dict[int, list[dict]] = defaultdict(list)
    lakes = {stored: work / f"replay-{stored}.duckdb" for stored in sizes}
    try:
        for number, batches in enumerate(captured):
            for stored, db in lakes.items():
                if number == 0 or not chain:
                    remove_warehouse(db)
                    copy_warehouse(kept_lake(keep, stored), db)
                seconds: dict[str, float] = defaultdict(float)
                install_timing(seconds)
                wall = replay_round(batches, db, seconds)
                figures[stored].append(dict(seconds))
                print(
                    f"  replay round {number} into {stored:,}: {len(batches)} loads, {wall:.2f} s", flush=True
                )
    finally:
        for db in lakes.values():
            remove_warehouse(db)
    return figures


def describe(figures: dict[int, list[dict]]) -> str:
    """Statement medians per size, largest growth first."""
    sizes = sorted(figures)
    names = {name for rounds in figures.values() for seconds in rounds for name in seconds}
    medians = {
        name: [statistics.median(seconds.get(name, 0.0) for seconds in figures[size]) for size in sizes]
        for name in names
    }
    lines = [f"{'statement':48s} " + " ".join(f"{size:>10,}" for size in sizes) + "     growth"]
    for name, values in sorted(medians.items(), key=lambda item: item[1][0] - item[1][-1]):
        lines.append(
            f"{name[:48]:48s} " + " ".join(f"{v:10.3f}" for v in values) + f" {values[-1] - values[0]:+10.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    """Replay, print the breakdown and the load_replay line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="folder of the kept filled lakes")
    parser.add_argument("--capture", type=Path, required=True, help="folder of the captured batch loads")
    parser.add_argument("--sizes", default="10000,1000000", help="stored-article counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="captured rounds to replay")
    parser.add_argument("--work", type=Path, default=None, help="folder for the lakes' copies")
    parser.add_argument(
        "--chain", action="store_true", help="replay the rounds one after another into one copy"
    )
    args = parser.parse_args()
    sizes = tuple(sorted(int(size) for size in args.sizes.split(",")))
    with tempfile.TemporaryDirectory(prefix="load-replay-", dir=args.work) as work:
        figures = replay(args.keep, args.capture, sizes, args.rounds, Path(work), args.chain)
    print(describe(figures))
    loads = [statistics.median(seconds["(load wall)"] for seconds in figures[size]) for size in sizes]
    statements = [
        statistics.median(seconds["(statements)"] / seconds["(loads)"] for seconds in figures[size])
        for size in sizes
    ]
    print(
        f"load_replay: sizes={','.join(map(str, sizes))} "
        f"load_s={','.join(f'{value:.2f}' for value in loads)} ratio={loads[-1] / loads[0]:.2f} "
        f"statements_per_load={','.join(f'{value:.0f}' for value in statements)}"
    )


if __name__ == "__main__":
    main()
