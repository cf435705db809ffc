"""The language_health view counts, per source, the articles whose markup the text detector overruled."""

from __future__ import annotations

from tests.seeded import copy_seeded_warehouse
from warehouse.db import open_warehouse


def test_markup_overruled_by_the_text_is_counted_per_source(prefect_harness, tmp_path_factory):
    live = copy_seeded_warehouse(tmp_path_factory, "language_health")
    with open_warehouse(live) as connection:
        source, first, second = connection.execute(
            "SELECT source, min(article_id), max(article_id) FROM articles GROUP BY source "
            "HAVING count(*) >= 2 ORDER BY source LIMIT 1"
        ).fetchone()
        connection.execute(
            "UPDATE articles SET declared_language = 'en', language = 'ar', language_source = 'text' "
            "WHERE article_id = ?", [first],
        )
        connection.execute(
            "UPDATE articles SET declared_language = 'en', language = 'en', language_source = 'text' "
            "WHERE article_id = ?", [second],
        )
        declared, disagrees, usual = connection.execute(
            "SELECT declared, markup_disagrees, usual_disagreement FROM language_health WHERE source = ?",
            [source],
        ).fetchone()
        others = connection.execute(
            "SELECT sum(markup_disagrees) FROM language_health WHERE source <> ?", [source]
        ).fetchone()[0]
    assert declared >= 2
    assert disagrees == 1
    assert usual == "en -> ar"
    assert others == 0
