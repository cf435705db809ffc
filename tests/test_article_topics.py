"""article_topics columns: rows per tag as tag_article gives them, evidence as the warehouse spells JSON."""

from __future__ import annotations

import json

import pytest

from flows.stages.matchers import get_matcher
from transforms.article_topics import TAG_COLUMNS, concat_columns, encode_evidence, tag_columns
from transforms.topics import tag_article

ARTICLES = {
    "article_id": ["a1", "a2", "a3"],
    "title": ["Shelling in Ḥalab", None, "Markets"],
    "text": [
        "Shelling hit Ḥalab and Homs on Monday; Damascus was quiet, residents said.",
        "Jordan Henderson scored twice. Fighters of Jabhat al-Nusra were seen near Idlib, activists said.",
        "Shares rose in a quiet session.",
    ],
    "feed_url": [None, None, None],
    "canonical_url": ["https://a.example/1", "https://b.example/2", "https://c.example/3"],
}


@pytest.fixture(scope="module")
def matcher():
    return get_matcher()


def test_tag_columns_holds_one_row_per_tag_of_each_article(matcher):
    columns = tag_columns(matcher, ARTICLES)
    expected = [
        (article_id, tag.topic_id, tag.score, tag.evidence, tag.taxonomy_version)
        for article_id, title, text in zip(
            ARTICLES["article_id"], ARTICLES["title"], ARTICLES["text"], strict=True
        )
        for tag in tag_article(matcher, title, text)
    ]
    rows = list(zip(*(columns[name] for name in TAG_COLUMNS), strict=True))
    assert [(a, t, s, json.loads(e), v) for a, t, s, e, v in rows] == expected
    assert {"aleppo", "homs", "damascus"} <= {topic for article, topic, *_ in rows if article == "a1"}
    assert "a3" not in columns["article_id"]


def test_evidence_text_is_sorted_json_with_letters_kept(matcher):
    evidence = [
        tag.evidence
        for tag in tag_article(matcher, "Shelling in Ḥalab", "Ḥalab, Aleppo and Homs were hit, Syria said.")
    ]
    evidence.append({"forms": {"Ḥimṣ": 2, '"quoted"\n': 1}, "first_offset": None, "weight": 0.1, "b": [1.5]})
    for item in evidence:
        assert encode_evidence(item) == json.dumps(item, ensure_ascii=False, sort_keys=True)
    assert any("\"Ḥalab\": 2" in encode_evidence(item) for item in evidence)


def test_concat_columns_joins_parts_in_order():
    first = {name: [f"{name}-1"] for name in TAG_COLUMNS}
    second = {name: [f"{name}-2", f"{name}-3"] for name in TAG_COLUMNS}
    joined = concat_columns([first, second])
    assert joined["topic_id"] == ["topic_id-1", "topic_id-2", "topic_id-3"]
    assert concat_columns([first]) is first
