"""Taxonomy loading: the seed file, versions, validation errors, and custom taxonomies with the gazetteer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.stages.matchers import DEFAULT_TAXONOMY_PATH, build_matcher, load_taxonomy
from transforms.taxonomy import TaxonomyError, parse_taxonomy
from transforms.topic_matcher import list_topic_rows
from transforms.topics import tag_article

CORE = {
    "syria": ("Syria", "country"),
    "aleppo": ("Aleppo", "city"),
    "damascus": ("Damascus", "city"),
    "idlib": ("Idlib", "city"),
    "al-nusra-front": ("Al-Nusra Front", "org"),
    "isis": ("ISIS", "org"),
    "free-syrian-army": ("Free Syrian Army", "org"),
    "russia": ("Russia", "country"),
    "united-states": ("United States", "country"),
    "ceasefire": ("Ceasefire", "theme"),
}

SMALL = """
version: "7"
topics:
  - id: levant
    label: Levant
    kind: region
    aliases: [Levant]
  - id: my-aleppo
    label: Aleppo city
    kind: city
    parents: [syria, levant]
    aliases: [Aleppo, Halab]
  - id: water
    label: Water
    kind: theme
    aliases: [drought, water shortage]
"""


def write(tmp_path: Path, text: str, name: str = "taxonomy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_taxonomy_has_core_topics_with_labels_and_kinds():
    taxonomy = load_taxonomy()
    for topic_id, (label, kind) in CORE.items():
        topic = taxonomy.topics[topic_id]
        assert (topic.label, topic.kind) == (label, kind)
    assert "syria" in taxonomy.topics["aleppo"].parents
    assert taxonomy.topics["syria"].parents == ("middle-east",)
    assert taxonomy.path == str(DEFAULT_TAXONOMY_PATH)


def test_version_combines_declared_version_and_content_hash(tmp_path):
    first = load_taxonomy(write(tmp_path, SMALL))
    assert re.fullmatch(r"7\+[0-9a-f]{8}", first.version)
    same = load_taxonomy(write(tmp_path, SMALL, "copy.yaml"))
    assert same.version == first.version
    changed = load_taxonomy(write(tmp_path, SMALL.replace("water shortage", "water cuts"), "changed.yaml"))
    assert changed.version.startswith("7+") and changed.version != first.version


def test_string_and_mapping_aliases_get_case_rules():
    taxonomy = parse_taxonomy(
        """
version: "1"
topics:
  - id: isis
    label: ISIS
    kind: org
    aliases: [Islamic State, daesh, {text: IS, case: exact, requires_any: [syria]}, {text: Isis, weight: 0.5}]
"""
    )
    aliases = {a.text: a for a in taxonomy.topics["isis"].aliases}
    assert aliases["Islamic State"].case == "cap"
    assert aliases["daesh"].case == "any"
    assert (aliases["IS"].case, aliases["IS"].requires_any) == ("exact", ("syria",))
    assert aliases["Isis"].weight == 0.5


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: '1'\ntopics:\n  - {id: a, label: A, kind: city, parents: [nowhere]}\n", "topic 'a'"),
        (
            "version: '1'\ntopics:\n  - {id: a, label: A, kind: city}\n  - {id: a, label: B, kind: city}\n",
            "duplicate id",
        ),
        ("version: '1'\ntopics:\n  - {id: a, label: A, kind: planet}\n", "'kind'"),
        (
            "version: '1'\ntopics:\n  - {id: a, label: A, kind: city, aliases: [{text: A, case: loud}]}\n",
            "case must be",
        ),
        ("version: '1'\ntopics:\n  - {id: a, label: A, kind: city, colour: red}\n", "unknown key 'colour'"),
        ("version: '1'\ntopics:\n  - {id: Bad Id, label: A, kind: city}\n", "'id' must be"),
        ("topics:\n  - {id: a, label: A, kind: city}\n", "'version'"),
        ("version: '1'\ntopics: []\n", "'topics'"),
        (
            "version: '1'\ntopics:\n  - {id: a, label: A, kind: city, parents: [b]}\n"
            "  - {id: b, label: B, kind: region, parents: [a]}\n",
            "parent cycle",
        ),
        (
            "version: '1'\nthresholds: {city: -1}\ntopics:\n  - {id: a, label: A, kind: city}\n",
            "thresholds.city",
        ),
        ("version: '1'\ntopics: [\n", "invalid YAML at line"),
        (
            "version: '1'\ngazetteer: {min_population: lots}\ntopics:\n  - {id: a, label: A, kind: city}\n",
            "gazetteer.min_population",
        ),
    ],
)
def test_invalid_taxonomy_names_file_and_offending_key(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert fragment in message
    assert "\n" not in message


def test_custom_taxonomy_absorbs_gazetteer_city_by_name(tmp_path):
    matcher = build_matcher(load_taxonomy(write(tmp_path, SMALL)))
    rows = {row["topic_id"]: row for row in list_topic_rows(matcher)}
    assert "geo:170063" not in rows  # GeoNames' Aleppo became my-aleppo
    assert set(rows["my-aleppo"]["parents"]) == {"syria", "levant"}
    tags = {
        t.topic_id: t for t in tag_article(matcher, "Drought in Halab", "A drought hit Aleppo this year.")
    }
    assert {"my-aleppo", "syria", "levant", "water"} <= set(tags)
    assert tags["my-aleppo"].evidence["forms"] == {"Halab": 1, "Aleppo": 1}
    assert "ceasefire" not in rows  # topics come from this file, places from the gazetteer
    assert "damascus" not in rows and any(row["label"] == "Damascus" for row in rows.values())
