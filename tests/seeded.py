"""Warehouses for the analyst tests: the seeds ingested once per session, and a small hand-made one."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from warehouse.db import open_warehouse
from warehouse.location import catalog_path_for
from warehouse.migrate import apply_migrations
from warehouse.postings import index_articles

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_TITLE = "Syria Al Qaeda Affiliate, Al-Nusra, Readies Major Aleppo Offensive"
_built: dict[str, Path] = {}


def seed_article_path() -> str:
    """The URL path of the seed article (hosts change when the seeds are served on loopback)."""
    cases = json.loads((SEEDS / "cases.json").read_text(encoding="utf-8"))
    return urlparse(cases["seed_article"]).path


def ingest_seeds(root: Path) -> Path:
    """Serve the seed site on 127.0.0.1 and ingest it into root/news.duckdb (needs the Prefect harness)."""
    from flows.ingest import ingest
    from tests.sites import serve_seed_site

    db_path = root / "news.duckdb"
    with serve_seed_site(root / "site") as site:
        summary = ingest(sources=str(site.sources_path), db=str(db_path))
    assert summary["status"] == "completed", summary
    return db_path


def copy_seeded_warehouse(tmp_path_factory, name: str) -> Path:
    """A private copy of the session's seeded warehouse (its lake, data and page files); ingests on first use."""
    if "live" not in _built:
        _built["live"] = ingest_seeds(tmp_path_factory.mktemp("seeded"))
    return copy_warehouse(_built["live"], tmp_path_factory.mktemp(name))


def copy_warehouse(db: Path, folder: Path) -> Path:
    """Copy the lake a `--db` path names (catalog with its WAL, data and page folders) into `folder`."""
    catalog = catalog_path_for(db)
    stem = catalog.name.removesuffix(".sqlite")
    for item in catalog.parent.iterdir():
        if item.name.startswith(stem):
            copy = shutil.copytree if item.is_dir() else shutil.copyfile
            copy(item, folder / item.name)
    return folder / db.name


ARTICLES = [
    # article_id, source, title, published_at, text
    (
        "a1",
        "one.example",
        "Aleppo offensive begins",
        datetime(2016, 5, 1, 9),
        "Fighters began an offensive on Aleppo.",
    ),
    (
        "a2",
        "two.example",
        "Aleppo offensive begins",
        datetime(2016, 5, 1, 11),
        "Fighters began an offensive on Aleppo.",
    ),
    (
        "a3",
        "one.example",
        "Truce talks in Geneva",
        datetime(2016, 5, 2, 8),
        "Diplomats met in Geneva about a truce.",
    ),
    (
        "a4",
        "two.example",
        "Raqqa front quiet",
        datetime(2016, 5, 3, 7),
        "The front north of Raqqa was quiet today.",
    ),
]


def make_small_warehouse(path: Path) -> Path:
    """Four articles on three days (a2 repeats a1), two topics."""
    connection = open_warehouse(path)
    try:
        apply_migrations(connection)
        for article_id, source, title, published_at, text in ARTICLES:
            url = f"https://{source}/{article_id}"
            connection.execute(
                "INSERT INTO articles (article_id, canonical_url, url, final_url, source, title, "
                "published_at, text, word_count, content_hash, first_seen_at, updated_at, "
                "extractor_version, cleaner_version, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', 'test', 'run-1')",
                [
                    article_id,
                    url,
                    url,
                    url,
                    source,
                    title,
                    published_at,
                    text,
                    len(text.split()),
                    f"hash-{text}",
                    published_at,
                    published_at,
                ],
            )
        connection.execute(
            "INSERT INTO topics (topic_id, label, kind, parents, taxonomy_version) "
            "VALUES ('syria', 'Syria', 'country', [], 't1'), ('aleppo', 'Aleppo', 'city', ['syria'], 't1')"
        )
        connection.execute(
            "INSERT INTO article_topics (article_id, topic_id, score, evidence, taxonomy_version) "
            "VALUES ('a1', 'aleppo', 3, '{}', 't1'), ('a1', 'syria', 2, '{}', 't1'), "
            "('a2', 'aleppo', 3, '{}', 't1'), ('a3', 'syria', 1, '{}', 't1')"
        )
        index_articles(connection, connection.execute("SELECT * FROM articles").to_arrow_table())
        connection.execute(
            "INSERT INTO duplicates (article_id, duplicate_of, similarity, method, url, detected_at, run_id) "
            "VALUES ('a2', 'a1', 1.0, 'content_hash', 'https://two.example/a2', "
            "TIMESTAMP '2016-05-01 12:00', 'run-1')"
        )
    finally:
        connection.close()
    return path
