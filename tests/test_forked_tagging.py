"""Forked tagging helpers: the same tags as this process alone, nothing lost when a helper fails, none left."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from flows.forked_tagging import can_fork, close_helpers, start_helpers, tag_shared
from tests.test_retag import load_corpus_articles
from transforms.article_topics import prepare_chunk, tag_columns
from transforms.topics import get_matcher

pytestmark = pytest.mark.skipif(not can_fork(), reason="helpers are forked only on Linux")
CHUNK_ROWS = 40
PARENT = os.getpid()


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
    return [
        prepare_chunk(
            {name: values[start : start + CHUNK_ROWS] for name, values in columns.items()}, countries
        )
        for start in range(0, len(articles), CHUNK_ROWS)
    ]


def tag_marking_process(matcher, chunk: dict[str, list]) -> dict[str, list]:
    """tag_columns, with the id of the process that tagged the chunk; slow here, so that the helpers,
    however slowly they start on a busy machine, get chunks."""
    if os.getpid() == PARENT:
        time.sleep(0.05)
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


@pytest.mark.parametrize("count", [1, 2])
def test_helpers_share_every_batch_and_tag_like_this_process_alone(matcher, chunks, count) -> None:
    alone = [tag_columns(matcher, chunk) for chunk in chunks]
    helpers, results = start_helpers(matcher, count, tag=tag_marking_process)
    try:
        assert len(helpers) == count
        batches = [
            tag_shared(matcher, chunks[:6], helpers, results, tag=tag_marking_process) for _ in range(2)
        ]
        batches.append(tag_shared(matcher, chunks[6:], helpers, results, tag=tag_marking_process))
    finally:
        close_helpers(helpers)
    assert [without_pids(batch) for batch in batches] == [alone[:6], alone[:6], alone[6:]]
    assert sum(len(columns["topic_id"]) for columns in alone) > len(chunks)
    for batch in batches:  # this process and at least one helper tagged each batch
        pids = {columns["pid"] for columns in batch}
        assert PARENT in pids and len(pids) >= 2
    assert all(is_gone(helper.pid) for helper in helpers)


def test_a_helper_that_raises_loses_no_chunk(matcher, chunks) -> None:
    def fail_in_helper(matcher, chunk):
        if os.getpid() != PARENT:
            raise RuntimeError("helper broke")
        return tag_columns(matcher, chunk)

    helpers, results = start_helpers(matcher, 1, tag=fail_in_helper)
    try:
        assert tag_shared(matcher, chunks, helpers, results, tag=fail_in_helper) == [
            tag_columns(matcher, chunk) for chunk in chunks
        ]
        assert not helpers[0].alive
        assert tag_shared(matcher, chunks[:3], helpers, results) == [
            tag_columns(matcher, chunk) for chunk in chunks[:3]
        ]  # the next batch goes on without it
    finally:
        close_helpers(helpers)
    assert is_gone(helpers[0].pid)


def test_a_helper_that_dies_after_its_first_chunk_loses_no_chunk(matcher, chunks) -> None:
    taken: list[int] = []

    def die_in_helper(matcher, chunk):
        if os.getpid() != PARENT:
            taken.append(1)
            if len(taken) > 1:
                os._exit(3)  # as a crash would: no message, chunks taken and never given back
        else:
            time.sleep(0.02)
        return tag_columns(matcher, chunk)

    helpers, results = start_helpers(matcher, 1, tag=die_in_helper)
    try:
        assert tag_shared(matcher, chunks, helpers, results, tag=die_in_helper) == [
            tag_columns(matcher, chunk) for chunk in chunks
        ]
    finally:
        close_helpers(helpers)
    assert is_gone(helpers[0].pid)


def test_a_helper_that_hangs_is_given_up_and_killed(matcher, chunks, tmp_path: Path) -> None:
    pid_file = tmp_path / "helper.pid"

    def hang_in_helper(matcher, chunk):
        if os.getpid() != PARENT:
            pid_file.write_text(str(os.getpid()))
            time.sleep(120)
        return tag_columns(matcher, chunk)

    helpers, results = start_helpers(matcher, 1, tag=hang_in_helper)
    started = time.monotonic()
    try:
        tagged = tag_shared(matcher, chunks, helpers, results, tag=hang_in_helper, grace_s=0.5)
    finally:
        close_helpers(helpers)
    assert time.monotonic() - started < 60
    assert tagged == [tag_columns(matcher, chunk) for chunk in chunks]
    assert not helpers[0].alive
    assert is_gone(int(pid_file.read_text()))


def test_closed_helpers_leave_and_without_helpers_this_process_tags_all(matcher, chunks) -> None:
    helpers, results = start_helpers(matcher, 2)
    close_helpers(helpers)
    assert all(is_gone(helper.pid) for helper in helpers)
    marked = tag_shared(matcher, chunks[:3], helpers, results, tag=tag_marking_process)
    assert [columns["pid"] for columns in marked] == [PARENT] * 3
    assert tag_shared(matcher, [], helpers, results) == []
