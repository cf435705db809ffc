"""The compiled matcher's tables: topic rows for every topic it can emit, and how it travels on its own."""

from __future__ import annotations

import pickle

import pytest

from flows.stages.matchers import get_matcher
from transforms.topic_matcher import TopicMatcher, compile_matcher, list_topic_rows


@pytest.fixture(scope="module")
def matcher():
    return get_matcher()


def test_topic_rows_cover_gazetteer_and_core_topics(matcher):
    rows = list_topic_rows(matcher)
    by_id = {row["topic_id"]: row for row in rows}
    assert len(by_id) == len(rows)
    aleppo = by_id["aleppo"]
    assert (aleppo["label"], aleppo["kind"], aleppo["taxonomy_version"]) == (
        "Aleppo",
        "city",
        matcher.version,
    )
    assert "syria" in aleppo["parents"]
    assert "middle-east" in by_id["syria"]["parents"]
    for core, label in [
        ("syria", "Syria"),
        ("damascus", "Damascus"),
        ("idlib", "Idlib"),
        ("al-nusra-front", "Al-Nusra Front"),
        ("isis", "ISIS"),
        ("free-syrian-army", "Free Syrian Army"),
        ("russia", "Russia"),
        ("united-states", "United States"),
        ("ceasefire", "Ceasefire"),
    ]:
        assert by_id[core]["label"] == label
    assert by_id["ceasefire"]["kind"] == "theme"
    assert any(row["topic_id"].startswith("geo:") for row in rows)
    # Aleppo's gazetteer entry was absorbed: no second Aleppo city.
    assert [r["topic_id"] for r in rows if r["label"] == "Aleppo"] == ["aleppo"]
    parents = {p for row in rows for p in row["parents"]}
    assert parents <= set(by_id)


def test_without_the_disk_cache_a_matcher_pickles_as_its_taxonomy_and_compiles_again(matcher):
    rebuild, arguments = TopicMatcher.__reduce__(matcher)
    assert rebuild is compile_matcher and arguments == (matcher.taxonomy,)
    assert len(pickle.dumps(arguments)) < 200_000
