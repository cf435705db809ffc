"""The compiled topic matcher on disk: same tags as a fresh compile, a new file per taxonomy, damage rebuilt."""

from __future__ import annotations

import csv
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from flows.stages.matcher_cache import CACHE_ENV, cache_file_for, prune_cache, read_state
from flows.stages.matchers import DEFAULT_TAXONOMY_PATH, build_matcher, load_or_compile_matcher, load_taxonomy
from transforms.taxonomy import parse_taxonomy
from transforms.topic_matcher import list_topic_rows
from transforms.topics import tag_article

# Sentences that take each branch of the tagger: plain aliases, spelling variants, a place read as a person,
# a common word that is a place name, same-named places, accented and Arabic-script forms.
SENTENCES = [
    ("Russian strikes pound Aleppo", "Jabhat al-Nusra and the Free Syrian Army held eastern Aleppo."),
    (None, "Jordan Henderson scored twice. In Jordan, officials in Amman said the border stayed shut."),
    ("Nice is nice", "Residents of Nice, France, said the mayor visited Paris and Marseille."),
    (None, "Fighting near Ḩamāh and Idlib; شهداء في حلب اليوم. Troops entered Deir ez-Zor."),
    (None, "Georgia's governor met officials in Atlanta, while Tbilisi and Moscow traded accusations."),
    (None, "Henderson said the Tours festival was cancelled. The ISIS cell in Raqqa was dismantled."),
]
SMALL_TAXONOMY = """
version: "test-1"
gazetteer: {{min_population: 5000000}}
topics:
  - {{id: syria, label: Syria, kind: country, iso: SY}}
  - {{id: aleppo, label: Aleppo, kind: city, parents: [syria], aliases: [Aleppo, Halab]}}
  - {{id: nusra, label: Nusra Front, kind: org, aliases: [{alias}]}}
"""


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A private matcher cache folder for this test."""
    folder = tmp_path / "matchers"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def tags_of(matcher, articles) -> list[list[tuple]]:
    """Every tag of every article, with score and evidence, under a few source countries."""
    return [
        [(tag.topic_id, tag.score, tag.evidence) for tag in tag_article(matcher, title, text, country)]
        for title, text in articles
        for country in (None, "SY", "US", "FR")
    ]


def corpus_articles() -> list[tuple[str | None, str]]:
    """The sentences above, plus the FA-KES Syria-war reports when ../shared is present."""
    from tests.conftest import CORPUS

    articles = list(SENTENCES)
    fakes = CORPUS / "articles" / "fa-kes" / "fakes.csv"
    if fakes.is_file():
        with fakes.open(encoding="latin-1", newline="") as handle:
            articles += [(row["article_title"], row["article_content"]) for row in csv.DictReader(handle)]
    return articles


def test_cached_matcher_tags_like_a_freshly_compiled_one(cache_dir) -> None:
    taxonomy = load_taxonomy(None)
    compiled = load_or_compile_matcher(taxonomy)
    assert not compiled.from_cache
    assert compiled.cache_file == cache_file_for(taxonomy.version) and compiled.cache_file.is_file()
    loaded = load_or_compile_matcher(taxonomy)
    assert loaded.from_cache and loaded is not compiled
    fresh = build_matcher(taxonomy, use_cache=False)
    articles = corpus_articles()
    assert tags_of(loaded, articles) == tags_of(fresh, articles)
    assert sum(map(len, tags_of(loaded, articles))) > len(articles)  # the comparison is not of empty lists
    assert list_topic_rows(loaded) == list_topic_rows(fresh)
    assert loaded.ancestors == fresh.ancestors and loaded.places == fresh.places


def test_a_changed_taxonomy_gets_its_own_file_and_its_own_tags(cache_dir) -> None:
    before = parse_taxonomy(SMALL_TAXONOMY.format(alias="Nusra Front"))
    after = parse_taxonomy(SMALL_TAXONOMY.format(alias="Jabhat al-Nusra"))
    assert before.version != after.version
    load_or_compile_matcher(before)
    changed = load_or_compile_matcher(after)
    assert not changed.from_cache  # compiled: the old file is not taken for the new taxonomy
    assert cache_file_for(before.version) != cache_file_for(after.version)
    assert sorted(path.name for path in cache_dir.iterdir()) == sorted(
        path.name for path in (cache_file_for(before.version), cache_file_for(after.version))
    )
    text = "Jabhat al-Nusra fighters left Aleppo; the Nusra Front denied it."
    old_forms = [t.evidence["forms"] for t in tag_article(load_or_compile_matcher(before), None, text)]
    new = load_or_compile_matcher(after)
    assert new.from_cache
    new_forms = [t.evidence["forms"] for t in tag_article(new, None, text) if t.topic_id == "nusra"]
    assert {"Nusra Front": 1} in old_forms
    assert new_forms == [{"Jabhat al-Nusra": 1}]


def test_a_file_of_another_key_under_the_expected_name_is_not_used(cache_dir) -> None:
    before = parse_taxonomy(SMALL_TAXONOMY.format(alias="Nusra Front"))
    after = parse_taxonomy(SMALL_TAXONOMY.format(alias="Jabhat al-Nusra"))
    load_or_compile_matcher(before)
    os.replace(cache_file_for(before.version), cache_file_for(after.version))
    assert read_state(cache_file_for(after.version), after.version) is None
    matcher = load_or_compile_matcher(after)
    assert not matcher.from_cache
    assert [t.topic_id for t in tag_article(matcher, None, "Jabhat al-Nusra said so.")] == ["nusra"]
    assert read_state(cache_file_for(after.version), after.version) is not None  # written anew


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:40] + b"\x00" * 64 + data[104:],  # the header's key overwritten
        lambda data: data[:-5000] + os.urandom(5000),  # the payload's end overwritten
        lambda data: data[:-3000] + bytes([data[-3000] ^ 0x55]) + data[-2999:],  # one byte of a string
        lambda data: b"",
    ],
    ids=["truncated", "bad-key", "bad-payload", "flipped-byte", "empty"],
)
def test_a_damaged_cache_file_is_rebuilt_not_a_crash(cache_dir, damage) -> None:
    taxonomy = parse_taxonomy(SMALL_TAXONOMY.format(alias="Nusra Front"))
    path = load_or_compile_matcher(taxonomy).cache_file
    path.write_bytes(damage(path.read_bytes()))
    rebuilt = load_or_compile_matcher(taxonomy)
    assert not rebuilt.from_cache
    assert [t.topic_id for t in tag_article(rebuilt, "Aleppo", "The Nusra Front left.")][:1] == ["aleppo"]
    again = load_or_compile_matcher(taxonomy)
    assert again.from_cache
    assert tags_of(again, SENTENCES) == tags_of(rebuilt, SENTENCES)


def test_cache_off_writes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    matcher = load_or_compile_matcher(parse_taxonomy(SMALL_TAXONOMY.format(alias="Nusra Front")))
    assert matcher.cache_file is None and not matcher.from_cache
    assert cache_file_for(matcher.version) is None


def test_an_unwritable_cache_folder_still_gives_a_matcher(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "matchers"))
    matcher = load_or_compile_matcher(parse_taxonomy(SMALL_TAXONOMY.format(alias="Nusra Front")))
    assert matcher.cache_file is None
    assert [t.topic_id for t in tag_article(matcher, None, "The Nusra Front said so.")] == ["nusra"]


def test_prune_keeps_the_newest_files(tmp_path) -> None:
    for number in range(5):
        path = tmp_path / f"matcher-{number}.bin"
        path.write_bytes(b"x")
        os.utime(path, ns=(number * 10**9, number * 10**9))
    (tmp_path / "other.txt").write_text("not a matcher")
    deleted = prune_cache(tmp_path, keep=2)
    assert sorted(path.name for path in deleted) == ["matcher-0.bin", "matcher-1.bin", "matcher-2.bin"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["matcher-3.bin", "matcher-4.bin", "other.txt"]


def test_a_spawned_worker_loads_the_parent_s_cached_matcher(cache_dir) -> None:
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY_PATH)
    matcher = load_or_compile_matcher(taxonomy)
    state = pickle.dumps(matcher)
    assert len(state) < 200_000  # the taxonomy travels, not the compiled automata
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        from_cache, tags = pool.submit(_tag_in_worker, state, SENTENCES).result(timeout=120)
    assert from_cache
    assert tags == tags_of(matcher, SENTENCES)


def _tag_in_worker(state: bytes, articles: list) -> tuple[bool, list]:
    matcher = pickle.loads(state)
    return matcher.from_cache, tags_of(matcher, articles)
