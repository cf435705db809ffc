"""Drift alarms: the pure rule, and a site whose template change empties extraction, flagged by the run that
first sees it and not before (real loopback site, real ingest runs, real DuckDB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import flows.cli.feeds  # noqa: F401 - registers `newsdesk feeds` on the app
from flows.cli import app
from flows.ingest import ingest
from flows.stages.summary import render_markdown
from tests.sites import serve_one_feed_site
from transforms.drift import SourceCounts, check_source, flag_drifting_sources
from warehouse.db import open_warehouse

WORDS = ("harbour cranes stood idle while dockworkers argued over the new contract and the ministry promised "
         "talks before the end of the month, leaving ships waiting offshore for days")


def test_a_jump_above_the_baseline_is_flagged():
    alarm = check_source(SourceCounts("a.example", pages=4, failed=4, baseline_pages=8, baseline_failed=0))
    assert alarm is not None and (alarm.failed_share, alarm.baseline_share) == (1.0, 0.0)


def test_a_source_that_always_fails_this_much_is_not_flagged():
    assert check_source(SourceCounts("a.example", pages=4, failed=3, baseline_pages=20, baseline_failed=14)) is None


def test_too_few_pages_or_no_baseline_say_nothing():
    assert check_source(SourceCounts("a.example", pages=2, failed=2, baseline_pages=20, baseline_failed=0)) is None
    assert check_source(SourceCounts("a.example", pages=6, failed=6, baseline_pages=0, baseline_failed=0)) is None


def test_alarms_come_sorted_by_source():
    rows = [SourceCounts(name, 4, 4, 10, 0) for name in ("b.example", "a.example")]
    rows.append(SourceCounts("c.example", 4, 0, 10, 0))
    assert [alarm.source for alarm in flag_drifting_sources(rows)] == ["a.example", "b.example"]


def article_page(number: int, template: str) -> str:
    """An article page in the site's old template, or in the new one whose body the extractor cannot find."""
    body = " ".join(f"{WORDS} (report {number}, paragraph {p})." for p in range(3))
    if template == "old":
        main = f"<article><h1>Port report {number}</h1><p>{body}</p></article>"
    else:  # the new template: the text arrives by script, the page holds only navigation
        main = f"<nav><a href='/'>Home</a> <a href='/port'>Port</a></nav><script>render({number})</script>"
    return f"<html lang='en'><head><title>Port report {number}</title></head><body>{main}</body></html>"


def publish(root: Path, numbers: range, template: str) -> None:
    """Write the pages `numbers` and a feed listing every page written so far."""
    for number in numbers:
        (root / f"report-{number}.html").write_text(article_page(number, template), encoding="utf-8")
    items = "".join(
        f"<item><title>Port report {n}</title><link>{{origin}}/report-{n}.html</link><guid>report-{n}</guid></item>"
        for n in sorted(int(p.stem.split("-")[1]) for p in root.glob("report-*.html"))
    )
    feed = f"<?xml version='1.0'?><rss version='2.0'><channel><title>Port</title>{items}</channel></rss>"
    (root / "feed.xml").write_text(feed, encoding="utf-8")


@pytest.fixture
def port_site(tmp_path):
    """A one-feed site on loopback: (folder, origin, sources file)."""
    with serve_one_feed_site(tmp_path, "Port") as site:
        yield site


def run_ingest(root: Path, origin: str, sources: Path, db: Path) -> dict:
    feed = root / "feed.xml"
    feed.write_text(feed.read_text(encoding="utf-8").replace("{origin}", origin), encoding="utf-8")
    return ingest(sources=str(sources), db=str(db), force_poll=True)


def test_a_template_change_is_flagged_on_the_next_run_and_not_before(prefect_harness, port_site, tmp_path):
    root, origin, sources = port_site
    db = tmp_path / "news.duckdb"
    publish(root, range(0, 4), "old")
    first = run_ingest(root, origin, sources, db)
    publish(root, range(4, 8), "old")
    second = run_ingest(root, origin, sources, db)
    assert first["counts"]["loaded_articles"] == 4 and second["counts"]["loaded_articles"] == 4
    assert first["extraction_alarms"] == [] and second["extraction_alarms"] == []

    publish(root, range(8, 12), "new")  # the site changes its template
    third = run_ingest(root, origin, sources, db)
    host = origin.removeprefix("http://")
    assert [(a["source"], a["pages"], a["failed_share"], a["baseline_share"]) for a in third["extraction_alarms"]] == [
        (host, 4, 1.0, 0.0)
    ]
    assert third["counts"]["extraction_alarms"] == 1
    assert f"{host}: 100% of 4 pages empty or too short" in render_markdown(third)
    with open_warehouse(db, read_only=True) as connection:
        assert connection.execute("SELECT source, pages FROM extraction_alarms").fetchall() == [(host, 4)]
        health = connection.execute(
            "SELECT pages_fetched, extracted, empty + too_short, empty_or_short_share FROM extraction_health "
            "WHERE source = ?", [host]
        ).fetchall()
    assert health == [(12, 8, 4, 0.333)]
    listed = CliRunner().invoke(app, ["feeds", "--db", str(db), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    [feed] = [json.loads(line) for line in listed.output.splitlines()]
    assert feed["extraction"].endswith(": 100% empty or short (baseline 0%)")
