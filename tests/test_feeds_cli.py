"""`newsdesk feeds` and its sub-commands, through flows.cli.main on real DuckDB files and loopback sites."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from flows.cli import main
from tests.test_feed_discovery import serve_sites
from tests.test_opml import READER_EXPORT
from warehouse.db import open_warehouse

REPO = Path(__file__).resolve().parent.parent
LEVANT = "https://www.levantdispatch.example/feeds/world.xml"
CRESCENT = "https://www.crescentpost.example/feeds/rss.xml"
HARBOUR = "https://news.harbourtimes.example/feeds/news.xml"
MERIDIAN = "https://www.meridianwire.example/feeds/latest.xml"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    with serve_sites(tmp_path_factory.mktemp("sites")) as origins:
        yield origins


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """A sources file that lets loopback sites be fetched (no environment override)."""
    monkeypatch.delenv("NEWSDESK_ALLOW_PRIVATE_NETWORKS", raising=False)
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"allow_private_networks: true\nfetch: {{per_host_delay_s: 0}}\nfeeds:\n  - url: {LEVANT}\n",
        encoding="utf-8",
    )
    return path


def rows(db: Path, query: str) -> list[tuple]:
    with open_warehouse(db, read_only=True) as connection:
        return connection.execute(query).fetchall()


def listed(db: Path) -> list[tuple]:
    """(url, name, language, tags, html_url, kept attributes) of every feed in the list, by URL."""
    found = rows(
        db,
        "SELECT f.feed_url, f.name, f.language, list(t.tag ORDER BY t.tag) FILTER (WHERE t.tag IS NOT NULL),"
        " f.html_url, CAST(f.outline_attributes AS VARCHAR) FROM feeds f LEFT JOIN feed_tags t USING (feed_url)"
        " WHERE f.subscription <> 'removed' GROUP BY ALL ORDER BY f.feed_url",
    )
    return [(*row[:5], json.loads(row[5]) if row[5] else None) for row in found]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith("newsdesk: error: "), err
    return err


# feeds add


def test_add_a_home_page_adds_its_feed(sites, sources, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    home = sites["declared"] + "/"
    code = main(["feeds", "add", home, "--tag", "syria-desk", "--sources", str(sources), "--db", str(db)])
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"{sites['declared']}/feeds/news.xml  Declared News (2 items)" in out
    assert f"added: {sites['declared']}/feeds/news.xml" in out
    assert listed(db) == [
        (f"{sites['declared']}/feeds/news.xml", "Declared News", None, ["syria-desk"], home, None)
    ]
    assert rows(db, "SELECT origin, subscription FROM feeds") == [("added", "subscribed")]


def test_add_all_adds_every_feed_of_a_page_with_two(sites, sources, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    page = sites["declared"] + "/sections/world.html"
    assert (
        main(["feeds", "add", page, "--all", "--language", "ar", "--sources", str(sources), "--db", str(db)])
        == 0
    )
    assert [(url, language) for url, _, language, *_ in listed(db)] == [
        (sites["declared"] + "/feeds/news.xml", "ar"),
        (sites["declared"] + "/feeds/world.atom", "ar"),
    ]


def test_add_without_all_takes_the_first_feed_of_the_page(sites, sources, tmp_path):
    db = tmp_path / "w.duckdb"
    page = sites["declared"] + "/sections/world.html"
    assert (
        main(["feeds", "add", page, "--name", "World desk", "--sources", str(sources), "--db", str(db)]) == 0
    )
    assert [(url, name) for url, name, *_ in listed(db)] == [
        (sites["declared"] + "/feeds/news.xml", "World desk")
    ]


def test_add_a_page_with_no_feed_is_one_line(sites, sources, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    page = sites["featureless"] + "/about.html"
    assert main(["feeds", "add", page, "--sources", str(sources), "--db", str(db)]) == 2
    assert one_error_line(capsys) == (
        f"newsdesk: error: no feed found at {page} (nor linked from its home page, nor at the usual paths)"
    )
    assert not db.exists()


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "not a url", "javascript:alert(1)"])
def test_add_a_bad_url_is_one_line(url, tmp_path, capsys):
    assert main(["feeds", "add", url, "--db", str(tmp_path / "w.duckdb")]) == 2
    assert one_error_line(capsys) == f"newsdesk: error: not an http(s) URL: {url!r}"


def test_add_refuses_loopback_unless_private_networks_are_allowed(sites, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NEWSDESK_ALLOW_PRIVATE_NETWORKS", raising=False)
    closed = tmp_path / "closed.yaml"
    closed.write_text(f"allow_private_networks: false\nfeeds:\n  - url: {LEVANT}\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    url = sites["declared"] + "/"
    assert main(["feeds", "add", url, "--sources", str(closed), "--db", str(db)]) == 2
    error = one_error_line(capsys)
    assert "private_address" in error and "NEWSDESK_ALLOW_PRIVATE_NETWORKS=true" in error
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_NETWORKS", "true")
    assert main(["feeds", "add", url, "--sources", str(closed), "--db", str(db)]) == 0
    assert len(listed(db)) == 1


# feeds import / export


def test_import_a_reader_export_reports_problems_and_keeps_going(tmp_path, capsys):
    opml = tmp_path / "subs.opml"
    opml.write_bytes(READER_EXPORT)
    db = tmp_path / "w.duckdb"
    assert main(["feeds", "import", str(opml), "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"imported 4 feed(s) from {opml} (4 new, 3 problem(s) reported)"
    warnings = captured.err.strip().splitlines()
    assert len(warnings) == 3 and all(line.startswith(f"newsdesk: warning: {opml}: ") for line in warnings)
    feeds = {row[0]: row for row in listed(db)}
    assert feeds[LEVANT][1:5] == (
        "Levant Dispatch",
        "en",
        ["Middle East", "Syria desk", "UK"],
        "https://www.levantdispatch.example/",
    )
    assert feeds[LEVANT][5] == {
        "type": "rss",
        "description": "World news from Beirut",
        "{https://freshrss.org/opml}priority": "important",
    }
    assert feeds[HARBOUR][3] == ["UK"] and feeds[MERIDIAN][1] is None


def test_import_twice_changes_nothing(tmp_path, capsys):
    opml = tmp_path / "subs.opml"
    opml.write_bytes(READER_EXPORT)
    db = tmp_path / "w.duckdb"
    assert main(["feeds", "import", str(opml), "--db", str(db)]) == 0
    first = listed(db)
    assert main(["feeds", "import", str(opml), "--db", str(db)]) == 0
    assert "(0 new, 3 problem(s) reported)" in capsys.readouterr().out
    assert listed(db) == first


def test_opml_export_then_import_into_an_empty_warehouse_gives_the_same_feeds(tmp_path, capsys):
    opml = tmp_path / "subs.opml"
    opml.write_bytes(READER_EXPORT)
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    assert main(["feeds", "import", str(opml), "--db", str(first)]) == 0
    assert main(["feeds", "set", MERIDIAN, "--name", "Meridian", "--tag", "wires", "--db", str(first)]) == 0
    exported = tmp_path / "out.opml"
    assert main(["feeds", "export", "--format", "opml", "--out", str(exported), "--db", str(first)]) == 0
    capsys.readouterr()
    assert main(["feeds", "import", str(exported), "--db", str(second)]) == 0
    assert "problem" not in capsys.readouterr().out
    assert listed(second) == listed(first)
    assert main(["feeds", "export", "--db", str(second)]) == 0  # OPML to standard output by default
    assert capsys.readouterr().out == exported.read_text(encoding="utf-8")


def test_yaml_export_is_a_sources_file_that_imports_to_the_same_feeds(tmp_path, capsys):
    from flows.settings.config import load_config

    opml = tmp_path / "subs.opml"
    opml.write_bytes(READER_EXPORT)
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    assert main(["feeds", "import", str(opml), "--db", str(first)]) == 0
    capsys.readouterr()
    assert main(["feeds", "export", "--format", "yaml", "--db", str(first)]) == 0
    exported = tmp_path / "feeds.yaml"
    exported.write_text(capsys.readouterr().out, encoding="utf-8")
    config = load_config(exported)
    assert {f.url: f.tags for f in config.feeds}[LEVANT] == ("Middle East", "Syria desk", "UK")
    assert main(["feeds", "import", str(exported), "--db", str(second)]) == 0
    assert [row[:4] for row in listed(second)] == [row[:4] for row in listed(first)]


def test_csv_export_has_one_line_per_feed(tmp_path, capsys):
    opml = tmp_path / "subs.opml"
    opml.write_bytes(READER_EXPORT)
    db = tmp_path / "w.duckdb"
    assert main(["feeds", "import", str(opml), "--db", str(db)]) == 0
    assert main(["feeds", "pause", HARBOUR, "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["feeds", "export", "--format", "csv", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("feed_url,name,language,tags,") and len(lines) == 5
    assert next(line for line in lines if line.startswith(HARBOUR)).split(",")[6] == "paused"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body>not a list</body></html>", "not an OPML file: its root element is <html>, not <opml>"),
        (b"\x00\x01garbage", "not readable as OPML: "),
    ],
)
def test_import_an_unreadable_file_is_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.opml"
    path.write_bytes(content)
    assert main(["feeds", "import", str(path), "--db", str(tmp_path / "w.duckdb")]) == 2
    assert one_error_line(capsys).startswith(f"newsdesk: error: {path}: {message}")


def test_import_a_missing_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "absent.opml"
    assert main(["feeds", "import", str(path), "--db", str(tmp_path / "w.duckdb")]) == 2
    assert one_error_line(capsys) == f"newsdesk: error: {path}: no such file"


# pause, resume, remove, set


@pytest.fixture
def imported(tmp_path, capsys) -> Path:
    opml = tmp_path / "subs.opml"
    opml.write_bytes(READER_EXPORT)
    db = tmp_path / "w.duckdb"
    assert main(["feeds", "import", str(opml), "--db", str(db)]) == 0
    capsys.readouterr()
    return db


def health_of(db: Path, capsys) -> dict[str, str]:
    assert main(["feeds", "--db", str(db), "--format", "json"]) == 0
    return {row["feed_url"]: row["health"] for row in map(json.loads, capsys.readouterr().out.splitlines())}


def test_pause_resume_and_remove_show_in_the_listing(imported, capsys):
    assert main(["feeds", "pause", HARBOUR, "--db", str(imported)]) == 0
    assert main(["feeds", "remove", MERIDIAN, "--db", str(imported)]) == 0
    capsys.readouterr()
    health = health_of(imported, capsys)
    assert health[HARBOUR] == "paused" and health[LEVANT] == "new" and MERIDIAN not in health
    assert main(["feeds", "resume", HARBOUR, "--db", str(imported)]) == 0
    capsys.readouterr()
    assert health_of(imported, capsys)[HARBOUR] == "new"


def test_add_brings_a_removed_feed_back(imported, sites, sources, capsys):
    url = sites["declared"] + "/feeds/news.xml"
    assert main(["feeds", "add", url, "--sources", str(sources), "--db", str(imported)]) == 0
    assert main(["feeds", "remove", url, "--db", str(imported)]) == 0
    assert main(["feeds", "add", url, "--sources", str(sources), "--db", str(imported)]) == 0
    capsys.readouterr()
    assert health_of(imported, capsys)[url] == "new"


@pytest.mark.parametrize("command", ["pause", "resume", "remove"])
def test_an_unknown_feed_is_one_line(imported, capsys, command):
    url = "https://nowhere.example/rss"
    assert main(["feeds", command, url, "--db", str(imported)]) == 2
    assert one_error_line(capsys) == f"newsdesk: error: no feed {url!r} in {imported} (see `newsdesk feeds`)"


def test_a_removed_feed_cannot_be_paused(imported, capsys):
    assert main(["feeds", "remove", HARBOUR, "--db", str(imported)]) == 0
    assert main(["feeds", "pause", HARBOUR, "--db", str(imported)]) == 2
    assert "no feed" in one_error_line(capsys)


def test_set_edits_name_language_interval_and_tags(imported, capsys):
    code = main(
        [
            "feeds",
            "set",
            HARBOUR,
            "--name",
            "Harbour",
            "--language",
            "en-GB",
            "--poll-every-s",
            "3600",
            "--tag",
            "uk-desk",
            "--untag",
            "UK",
            "--db",
            str(imported),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert rows(imported, f"SELECT name, language, poll_every_s FROM feeds WHERE feed_url = '{HARBOUR}'") == [
        ("Harbour", "en-GB", 3600)
    ]
    assert rows(imported, f"SELECT tag FROM feed_tags WHERE feed_url = '{HARBOUR}'") == [("uk-desk",)]


def test_set_with_nothing_to_change_or_an_unknown_feed_is_one_line(imported, capsys):
    assert main(["feeds", "set", HARBOUR, "--db", str(imported)]) == 2
    assert "nothing to change" in one_error_line(capsys)
    assert main(["feeds", "set", "https://nowhere.example/rss", "--name", "x", "--db", str(imported)]) == 2
    assert "no feed 'https://nowhere.example/rss'" in one_error_line(capsys)


def test_bare_feeds_keeps_its_options_and_its_error_without_a_warehouse(tmp_path, capsys):
    assert main(["feeds", "--db", str(tmp_path / "absent.duckdb"), "--format", "csv"]) == 2
    assert "no warehouse at" in one_error_line(capsys)


def test_every_feeds_subcommand_is_in_the_readme():
    from flows.cli.feeds import feeds_app

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    names = [command.name for command in feeds_app.registered_commands]
    assert len(names) == 7
    missing = [name for name in names if not re.search(rf"newsdesk feeds {name}\b", readme)]
    assert not missing, f"feeds sub-commands missing from README.md: {missing}"


# The list meets ingest: imported feeds are polled, paused and removed ones are not, tags reach the views.


@pytest.fixture(scope="module")
def desk(prefect_harness, tmp_path_factory):
    """Import the seed feeds as OPML (Crescent Post and Levant in a "syria-desk" folder), pause Harbour Times,
    remove Meridian Wire, then ingest a sources file that lists Levant, Harbour Times and Meridian Wire."""
    from flows.ingest import ingest
    from tests.sites import serve_seed_site
    from transforms.opml import OutlineFeed, render_opml

    root = tmp_path_factory.mktemp("desk")
    db = root / "news.duckdb"
    with serve_seed_site(root / "site") as site:
        urls = {
            name: site.url(url)
            for name, url in [
                ("levant", LEVANT),
                ("crescent", CRESCENT),
                ("harbour", HARBOUR),
                ("meridian", MERIDIAN),
            ]
        }
        feeds = [
            OutlineFeed(urls["crescent"], "Crescent (desk list)", tags=("syria-desk",)),
            OutlineFeed(urls["levant"], "Levant (desk list)", tags=("syria-desk",)),
            OutlineFeed(urls["harbour"], "Harbour (desk list)"),
            OutlineFeed(urls["meridian"], "Meridian (desk list)"),
        ]
        opml = root / "desk.opml"
        opml.write_bytes(render_opml(feeds, "desk"))
        assert main(["feeds", "import", str(opml), "--db", str(db)]) == 0
        assert main(["feeds", "pause", urls["harbour"], "--db", str(db)]) == 0
        assert main(["feeds", "remove", urls["meridian"], "--db", str(db)]) == 0
        document = yaml.safe_load(site.sources_path.read_text(encoding="utf-8"))
        document["feeds"] = [f for f in document["feeds"] if f["url"] != urls["crescent"]]
        sources = root / "desk-sources.yaml"
        sources.write_text(yaml.safe_dump(document), encoding="utf-8")
        summary = ingest(sources=str(sources), db=str(db))
    assert summary["status"] == "completed", summary
    return {"db": db, "urls": urls, "summary": summary}


def test_ingest_polls_imported_feeds_and_skips_paused_and_removed_ones(desk):
    polled = {row[0] for row in rows(desk["db"], "SELECT url FROM fetches WHERE kind = 'feed'")}
    assert polled == {desk["urls"]["levant"], desk["urls"]["crescent"]}


def test_pause_and_remove_survive_an_ingest_that_lists_the_feeds(desk):
    states = dict(rows(desk["db"], "SELECT feed_url, subscription FROM feeds"))
    assert states[desk["urls"]["harbour"]] == "paused"
    assert states[desk["urls"]["meridian"]] == "removed"


def test_the_sources_file_does_not_rename_feeds_the_command_line_owns(desk):
    names = dict(rows(desk["db"], "SELECT feed_url, name FROM feeds"))
    assert names[desk["urls"]["levant"]] == "Levant (desk list)"


def test_source_daily_by_tag_counts_the_tagged_feeds_articles(desk):
    db = desk["db"]
    by_tag = rows(
        db,
        "SELECT source, sum(articles), sum(stories) FROM source_daily_by_tag WHERE tag = 'syria-desk' GROUP BY source ORDER BY source",
    )
    overall = rows(
        db, "SELECT source, sum(articles), sum(stories) FROM source_daily GROUP BY source ORDER BY source"
    )
    assert by_tag and by_tag == overall  # only the two tagged feeds were polled
    assert rows(db, "SELECT count(*) FROM source_daily_by_tag WHERE tag = 'no-such-tag'") == [(0,)]
    keys = rows(db, "SELECT tag, day, source FROM source_daily_by_tag")
    assert len(keys) == len(set(keys))


def test_topic_daily_by_tag_counts_distinct_stories(desk):
    db = desk["db"]
    by_tag = rows(
        db,
        "SELECT topic_id, sum(stories) FROM topic_daily_by_tag WHERE tag = 'syria-desk' GROUP BY ALL ORDER BY 1",
    )
    overall = rows(db, "SELECT topic_id, sum(stories) FROM topic_daily GROUP BY ALL ORDER BY 1")
    assert by_tag and by_tag == overall
    aleppo = dict(by_tag).get("aleppo", 0)
    assert aleppo > 0


def test_a_paused_sources_file_feed_stays_paused_when_the_file_is_registered_again(tmp_path):
    from warehouse.db import write_session
    from warehouse.feeds import register_feeds
    from warehouse.migrate import apply_migrations

    db = tmp_path / "w.duckdb"
    configured = [
        {"feed_url": LEVANT, "name": "Levant", "language": "en", "source": "levant", "tags": ("syria-desk",)},
        {"feed_url": HARBOUR, "name": "Harbour", "language": "en", "source": "harbour", "tags": ()},
    ]
    with write_session(db) as connection:
        apply_migrations(connection)
        assert [row["feed_url"] for row in register_feeds(connection, configured)] == [HARBOUR, LEVANT]
    assert main(["feeds", "pause", LEVANT, "--db", str(db)]) == 0
    with write_session(db) as connection:  # what the next `ingest --sources` does first
        assert [row["feed_url"] for row in register_feeds(connection, configured)] == [HARBOUR]
    assert rows(db, "SELECT feed_url, subscription, origin FROM feeds ORDER BY 1") == [
        (HARBOUR, "subscribed", "sources"),
        (LEVANT, "paused", "sources"),
    ]
    assert rows(db, "SELECT feed_url, tag FROM feed_tags") == [(LEVANT, "syria-desk")]


def test_the_seed_sources_file_tags_reach_the_desk_query(prefect_harness, tmp_path_factory):
    from tests.seeded import copy_seeded_warehouse
    from tests.test_queries import QUERIES

    db = copy_seeded_warehouse(tmp_path_factory, "desk-query")
    assert {tag for (tag,) in rows(db, "SELECT DISTINCT tag FROM feed_tags")} == {"syria-desk"}
    outlets = {row[0]: row[1] for row in rows(db, QUERIES["desk_outlets_by_feed_tag"])}
    expected = rows(
        db,
        "SELECT a.source, count(DISTINCT a.article_id) FROM articles a WHERE a.article_id IN ("
        " SELECT article_id FROM articles JOIN feed_tags USING (feed_url)"
        " UNION SELECT article_id FROM article_refs JOIN feed_tags USING (feed_url)) GROUP BY 1",
    )
    all_outlets = rows(db, "SELECT count(DISTINCT source) FROM articles")[0][0]
    assert outlets == dict(expected) and 0 < len(outlets) < all_outlets
