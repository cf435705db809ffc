"""The lake's embedded catalog: SQLite vs a DuckDB file, measured on the same rows in one run.

Run: .venv/bin/python bench/lake_catalogs.py [--stored 10000] [--batch 500] [--commits 15] [--lag-commits 10]
For each catalog: fill a lake to --stored article-sized rows, then time --commits appends of --batch rows from
Arrow (median); time a new process loading the extensions, attaching and counting (median of 3, inside the
child, so Python's own start is left out); and the reader lag: a writer commits a batch, a separate reader
process polling the table notes when it sees it (median and worst). A DuckDB-file catalog admits one process,
so its reader is expected to be refused while the writer holds the lake; the line says so.
Prints a last line `lake_catalogs: key=value ...`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from warehouse.lake import LakeSettings, open_lake  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CATALOG_FILES = {"sqlite": "news.lake.sqlite", "duckdb": "news.lake.duckdb"}
POLL_S = 0.002
LAG_PAUSE_S = 0.3


def article_rows(first_id: int, count: int) -> pa.Table:
    """`count` article-shaped rows (id, url, title, ~1.5 KB of text) from `first_id` on."""
    ids = list(range(first_id, first_id + count))
    return pa.table(
        {
            "article_id": pa.array(ids, pa.int64()),
            "url": [f"https://example.org/news/{i}.html" for i in ids],
            "title": [f"Headline number {i}" for i in ids],
            "text": [f"Paragraph of article {i} about the council budget. " * 30 for i in ids],
        }
    )


def append_rows(connection, rows: pa.Table) -> float:
    """Append one Arrow batch in its own commit; return the seconds it took."""
    started = time.perf_counter()
    connection.register("batch_rows", rows)
    connection.execute("INSERT INTO articles SELECT * FROM batch_rows")
    connection.unregister("batch_rows")
    return time.perf_counter() - started


def measure_commits(settings: LakeSettings, stored: int, batch: int, commits: int) -> float:
    """Fill the lake to `stored` rows, then the median seconds of `commits` further appends."""
    with open_lake(settings) as connection:
        connection.execute(
            "CREATE TABLE articles (article_id BIGINT, url VARCHAR, title VARCHAR, text VARCHAR)"
        )
        for first in range(0, stored, batch):
            append_rows(connection, article_rows(first, min(batch, stored - first)))
        timings = [append_rows(connection, article_rows(stored + n * batch, batch)) for n in range(commits)]
    return statistics.median(timings)


def run_child(settings: LakeSettings, *args: str, wait: bool = True) -> subprocess.Popen | dict:
    """Start this file as a child process for one measurement; wait for its JSON line unless told not to."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(settings.__dict__), *args]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return process
    return read_child(process)


def read_child(process: subprocess.Popen) -> dict:
    """The JSON line a child printed, or its error."""
    stdout, stderr = process.communicate(timeout=600)
    if process.returncode != 0:
        return {"error": stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {process.returncode}"}
    return json.loads(stdout.strip().splitlines()[-1])


def child_attach(settings: LakeSettings) -> dict:
    """Load the extensions, attach the lake read-only and count its rows; report the seconds."""
    started = time.perf_counter()
    with open_lake(settings, read_only=True) as connection:
        count = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    return {"attach_s": time.perf_counter() - started, "rows": count}


def child_read(settings: LakeSettings, last_id: int) -> dict:
    """Poll the newest article id until `last_id` shows; report when each new id was first seen."""
    seen: dict[int, float] = {}
    with open_lake(settings, read_only=True) as connection:
        print(json.dumps({"ready": True}), flush=True)
        newest = -1
        while newest < last_id:
            newest = connection.execute("SELECT coalesce(max(article_id), -1) FROM articles").fetchone()[0]
            seen.setdefault(newest, time.time())
            time.sleep(POLL_S)
    return {"seen": {str(key): value for key, value in seen.items()}}


def measure_reader_lag(settings: LakeSettings, batch: int, commits: int) -> tuple[float, float] | str:
    """Median and worst seconds from a commit to a separate reader seeing it; the reader's error if refused."""
    with open_lake(settings) as writer:
        first = writer.execute("SELECT max(article_id) + 1 FROM articles").fetchone()[0]
        last_id = first + commits * batch - 1
        reader = run_child(settings, "read", str(last_id), wait=False)
        ready = reader.stdout.readline()
        if not ready:
            return read_child(reader).get("error", "reader ended early")
        committed = {}
        for n in range(commits):
            append_rows(writer, article_rows(first + n * batch, batch))
            committed[first + (n + 1) * batch - 1] = time.time()
            time.sleep(LAG_PAUSE_S)
    seen = {int(key): value for key, value in read_child(reader)["seen"].items()}
    lags = [seen[newest] - at for newest, at in committed.items() if newest in seen]
    return statistics.median(lags), max(lags)


def measure_catalog(catalog: str, work: Path, options: argparse.Namespace) -> dict[str, str]:
    """The figures of one catalog, as key=value strings."""
    folder = work / catalog
    folder.mkdir()
    settings = LakeSettings(catalog=catalog, catalog_path=str(folder / CATALOG_FILES[catalog]))
    commit_s = measure_commits(settings, options.stored, options.batch, options.commits)
    attach = [run_child(settings, "attach") for _ in range(3)]
    attach_s = statistics.median(child["attach_s"] for child in attach)
    lag = measure_reader_lag(settings, options.batch, options.lag_commits)
    figures = {f"{catalog}_commit_ms": f"{commit_s * 1000:.1f}", f"{catalog}_attach_s": f"{attach_s:.2f}"}
    if isinstance(lag, tuple):
        figures[f"{catalog}_reader_lag_s"] = f"{lag[0]:.3f}"
        figures[f"{catalog}_reader_lag_max_s"] = f"{lag[1]:.3f}"
    else:
        print(f"{catalog}: a reader process beside the writer failed: {lag}")
        figures[f"{catalog}_reader_lag_s"] = "refused"
    return figures


def main() -> None:
    """Measure both catalogs and print the key=value line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--commits", type=int, default=15)
    parser.add_argument("--lag-commits", type=int, default=10)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        settings = LakeSettings(**json.loads(options.child[0]))
        report = (
            child_attach(settings)
            if options.child[1] == "attach"
            else child_read(settings, int(options.child[2]))
        )
        print(json.dumps(report))
        return
    figures = {"rows": str(options.stored), "batch": str(options.batch)}
    with tempfile.TemporaryDirectory(prefix="lake-catalogs-") as work:
        for catalog in ("sqlite", "duckdb"):
            figures.update(measure_catalog(catalog, Path(work), options))
    print("lake_catalogs: " + " ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
