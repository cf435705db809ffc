"""Taxonomy files and matchers as a process gets them: the file read, one matcher per version, pickled small."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from flows.stages.matchers import build_matcher, get_matcher, load_taxonomy
from tests.test_taxonomy import SMALL, write
from transforms.taxonomy import TaxonomyError
from transforms.topics import tag_article


@pytest.fixture(scope="module")
def matcher():
    return get_matcher()


def test_missing_file_is_a_taxonomy_error(tmp_path):
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "absent.yaml")


def test_get_matcher_is_cached_per_process(matcher):
    assert get_matcher() is matcher
    assert build_matcher(matcher.taxonomy) is matcher


def test_a_pickled_matcher_comes_back_as_the_process_s_own(matcher):
    assert len(pickle.dumps(matcher)) < 200_000  # the taxonomy travels, not the compiled automata
    assert pickle.loads(pickle.dumps(matcher)) is matcher


def test_matcher_pickles_and_works_in_process_pool(matcher):
    clone = pickle.loads(pickle.dumps(matcher))
    assert clone.version == matcher.version
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(_tag_in_worker, matcher, "Aleppo").result(timeout=120)
    assert "syria" in result


def _tag_in_worker(matcher, title):
    return [t.topic_id for t in tag_article(matcher, title, "Fighting continued.")]


def test_get_matcher_rebuilds_when_the_file_changes(tmp_path):
    path = write(tmp_path, SMALL)
    first = get_matcher(path)
    assert get_matcher(str(path)) is first
    path.write_text(
        SMALL + "  - {id: rain, label: Rain, kind: theme, aliases: [rainfall]}\n", encoding="utf-8"
    )
    second = get_matcher(path)
    assert second.version != first.version
    assert "rain" in {
        t.topic_id for t in tag_article(second, "Rainfall", "Rainfall was low, rainfall matters.")
    }
