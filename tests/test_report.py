"""The HTML + PNG report on the seeded warehouse."""

from __future__ import annotations

import base64
import re

import pytest
from PIL import Image

from flows.cli import main
from flows.cli.report import OTHER_LABEL, ReportError, collect_report_data, write_report
from tests.seeded import copy_seeded_warehouse, make_small_warehouse
from warehouse.db import open_warehouse
from warehouse.search import UnknownTopic


@pytest.fixture(scope="module")
def seeded(prefect_harness, tmp_path_factory):
    """The seeded warehouse's live file; its snapshot sits beside it."""
    return copy_seeded_warehouse(tmp_path_factory, "report")


@pytest.fixture
def snapshot(seeded):
    """A read-only connection to the seeded snapshot."""
    with open_warehouse(seeded, read_only=True) as connection:
        yield connection


def test_report_writes_a_sane_png_and_a_self_contained_page(snapshot, tmp_path):
    html_path, png_path = write_report(snapshot, tmp_path / "report.html")
    assert png_path == tmp_path / "report.png"
    png = png_path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 20_000 < len(png) < 3_000_000
    with Image.open(png_path) as image:
        width, height = image.size
        assert 1000 <= width <= 2600 and 700 <= height <= 2000
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 10  # drawn charts, not a blank canvas
    page = html_path.read_text(encoding="utf-8")
    embedded = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert embedded and base64.b64decode(embedded.group(1)) == png
    # Nothing is fetched when the page is viewed: no scripts, stylesheets or remote images.
    assert not re.search(r"<script|<link|<iframe|src=\"http|url\(", page, re.IGNORECASE)


def test_daily_series_count_every_story_once(snapshot):
    data = collect_report_data(snapshot)
    stories = snapshot.execute("SELECT count(*) FROM canonical_articles").fetchone()[0]
    assert data.stories == stories
    assert len(data.days) == (data.days[-1] - data.days[0]).days + 1
    assert all(len(counts) == len(data.days) for counts in data.series.values())
    assert len([name for name in data.series if name != OTHER_LABEL]) <= 8


def test_topic_report_covers_only_that_topic(snapshot):
    data = collect_report_data(snapshot, topic="Aleppo")
    tagged = snapshot.execute(
        "SELECT count(DISTINCT article_id) FROM article_topics JOIN canonical_articles USING (article_id) "
        "WHERE topic_id = 'aleppo'"
    ).fetchone()[0]
    assert data.topic_label == "Aleppo"
    assert data.stories == tagged
    assert "Aleppo" not in data.series  # the filter topic is not itself a series


def test_outlets_and_clusters_match_the_warehouse(snapshot):
    data = collect_report_data(snapshot, max_outlets=10_000, max_clusters=10_000)
    outlets = dict((source, stories) for source, stories, _ in data.outlets)
    expected = dict(snapshot.execute("SELECT source, count(*) FROM canonical_articles GROUP BY source").fetchall())
    assert outlets == expected
    repeats = snapshot.execute("SELECT count(*) FROM duplicates").fetchone()[0]
    assert sum(c["pages"] - 1 for c in data.clusters) == repeats


def test_unknown_topic_is_refused(snapshot, tmp_path):
    with pytest.raises(UnknownTopic):
        write_report(snapshot, tmp_path / "r.html", topic="Atlantis")
    assert list(tmp_path.iterdir()) == []


def test_report_wants_an_html_name(snapshot, tmp_path):
    with pytest.raises(ReportError, match=".html"):
        write_report(snapshot, tmp_path / "report.png")


def test_empty_warehouse_is_a_clear_error(tmp_path):
    live = make_small_warehouse(tmp_path / "news.duckdb")
    with open_warehouse(live) as connection:
        connection.execute("DELETE FROM duplicates; DELETE FROM article_topics; DELETE FROM articles")
        with pytest.raises(ReportError, match="no stories"):
            write_report(connection, tmp_path / "report.html")


def test_report_command_writes_both_files(seeded, tmp_path, capsys):
    out = tmp_path / "aleppo.html"
    assert main(["report", "--db", str(seeded), "--topic", "aleppo", "--out", str(out)]) == 0
    assert out.exists() and out.with_suffix(".png").exists()
    assert "Aleppo" in out.read_text(encoding="utf-8")
    assert main(["report", "--db", str(seeded), "--topic", "Atlantis", "--out", str(out)]) == 2
    assert "unknown topic" in capsys.readouterr().err
