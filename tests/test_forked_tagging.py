"""Forked tagging helpers: the same tags as this process alone, nothing lost when a helper fails, none left."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from flows.forked_tagging import can_fork, tag_chunks_forked
from tests.test_retag import load_corpus_articles
from transforms.article_topics import prepare_chunk, tag_columns
from transforms.topics import get_matcher

pytestmark = pytest.mark.skipif(not can_fork(), reason="helpers are forked only on Linux")
CHUNK_ROWS = 40
PARENT = os.getpid()
FIRST_CHUNK: list[dict | None] = [None]


@pytest.fixture(scope="module")
def matcher():
    return get_matcher()


@pytest.fixture(scope="module")
def chunks() -> list[dict[str, list]]:
    """Real articles (FA-KES Syria-war reports and others) as prepared chunks of CHUNK_ROWS."""
    from tests.conftest import CORPUS

    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    articles = load_corpus_articles(CORPUS)[:400]
    columns = {
        "article_id": [f"article-{n}" for n in range(len(articles))],
        "title": [title for _, title, _ in articles],
        "text": [text for _, _, text in articles],
        "feed_url": [None] * len(articles),
        "canonical_url": [f"https://{source}.example/{n}" for n, (source, _, _) in enumerate(articles)],
    }
    countries = {"sana.example": "SY"}
    prepared = [
        prepare_chunk(
            {name: values[start : start + CHUNK_ROWS] for name, values in columns.items()}, countries
        )
        for start in range(0, len(articles), CHUNK_ROWS)
    ]
    FIRST_CHUNK[0] = prepared[0]
    return prepared


def tag_marking_process(matcher, chunk: dict[str, list]) -> dict[str, list]:
    """tag_columns, with the id of the process that tagged the chunk; slow on this process's first chunk, so
    that the helpers, however slowly they start on a busy machine, find chunks left."""
    if os.getpid() == PARENT and chunk is FIRST_CHUNK[0]:
        time.sleep(0.3)
    return {**tag_columns(matcher, chunk), "pid": os.getpid()}


def without_pids(results: list[dict[str, list]]) -> list[dict[str, list]]:
    return [{name: values for name, values in columns.items() if name != "pid"} for columns in results]


def is_gone(pid: int, wait_s: float = 10.0) -> bool:
    """Whether process `pid` ends and is collected within `wait_s`."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("helpers", [1, 2])
def test_helpers_share_the_chunks_and_tag_like_this_process_alone(matcher, chunks, helpers) -> None:
    alone = [tag_columns(matcher, chunk) for chunk in chunks]
    shared = tag_chunks_forked(matcher, chunks, helpers, tag=tag_marking_process)
    assert without_pids(shared) == alone
    assert sum(len(columns["topic_id"]) for columns in alone) > len(chunks)
    pids = {columns["pid"] for columns in shared}
    assert os.getpid() in pids and len(pids) >= 2  # this process and at least one helper tagged
    assert all(is_gone(pid) for pid in pids - {os.getpid()})


def test_a_helper_that_raises_loses_no_chunk(matcher, chunks) -> None:
    parent = os.getpid()

    def fail_in_helper(matcher, chunk):
        if os.getpid() != parent:
            raise RuntimeError("helper broke")
        return tag_columns(matcher, chunk)

    assert tag_chunks_forked(matcher, chunks, 1, tag=fail_in_helper) == [
        tag_columns(matcher, chunk) for chunk in chunks
    ]


def test_a_helper_that_dies_after_its_first_chunk_loses_no_chunk(matcher, chunks) -> None:
    parent = os.getpid()
    taken: list[int] = []

    def die_in_helper(matcher, chunk):
        if os.getpid() != parent:
            taken.append(1)
            if len(taken) > 1:
                os._exit(3)  # as a crash would: no message, chunks taken and never given back
        return tag_columns(matcher, chunk)

    assert tag_chunks_forked(matcher, chunks, 1, tag=die_in_helper) == [
        tag_columns(matcher, chunk) for chunk in chunks
    ]


def test_a_helper_that_hangs_is_given_up_and_killed(matcher, chunks, tmp_path: Path) -> None:
    parent = os.getpid()
    pid_file = tmp_path / "helper.pid"

    def hang_in_helper(matcher, chunk):
        if os.getpid() != parent:
            pid_file.write_text(str(os.getpid()))
            time.sleep(120)
        elif chunk is chunks[0]:
            time.sleep(0.3)  # the helper has time to take a chunk
        return tag_columns(matcher, chunk)

    started = time.monotonic()
    results = tag_chunks_forked(matcher, chunks, 1, tag=hang_in_helper, grace_s=0.5)
    assert time.monotonic() - started < 60
    assert results == [tag_columns(matcher, chunk) for chunk in chunks]
    assert is_gone(int(pid_file.read_text()))


def test_too_few_chunks_are_tagged_here_without_a_helper(matcher, chunks) -> None:
    one = tag_chunks_forked(matcher, chunks[:1], 2, tag=tag_marking_process)
    assert [columns["pid"] for columns in one] == [os.getpid()]
    assert tag_chunks_forked(matcher, [], 1) == []
