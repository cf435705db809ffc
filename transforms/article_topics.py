"""`article_topics` rows for a batch of articles, as columns: the work the retag hands to worker processes."""

from __future__ import annotations

import json
import pickle
from typing import Any

from transforms.topics import TopicMatcher, tag_article
from transforms.urls import registered_site_of

# The columns a batch of articles comes in (an Arrow result's `to_pydict()`), and the ones its tags leave in.
ARTICLE_COLUMNS = ("article_id", "title", "text", "feed_url", "canonical_url")
TAG_COLUMNS = ("article_id", "topic_id", "score", "evidence", "taxonomy_version")

# The same spelling warehouse.load.to_arrow gives a dict column, so that retagged rows equal ingested ones.
_EVIDENCE_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_MATCHERS_BY_STATE: dict[bytes, TopicMatcher] = {}  # per worker process, by pickled matcher


def find_source_country(countries: dict[str, str], feed_url: str | None, canonical_url: str) -> str | None:
    """The configured country of an article's feed, else of its site; None when neither has one."""
    if not countries:
        return None
    return countries.get(feed_url or "") or countries.get(registered_site_of(canonical_url))


def tag_columns(
    matcher: TopicMatcher, articles: dict[str, list], countries: dict[str, str]
) -> dict[str, list]:
    """Tag articles given as columns (ARTICLE_COLUMNS); return their `article_topics` rows as TAG_COLUMNS."""
    article_ids: list[str] = []
    topic_ids: list[str] = []
    scores: list[float] = []
    evidence: list[str] = []
    encode = _EVIDENCE_ENCODER.encode
    for article_id, title, text, feed_url, canonical_url in zip(
        *(articles[column] for column in ARTICLE_COLUMNS), strict=True
    ):
        country = find_source_country(countries, feed_url, canonical_url)
        for tag in tag_article(matcher, title, text, source_country=country):
            article_ids.append(article_id)
            topic_ids.append(tag.topic_id)
            scores.append(tag.score)
            evidence.append(encode(tag.evidence))
    return {
        "article_id": article_ids,
        "topic_id": topic_ids,
        "score": scores,
        "evidence": evidence,
        "taxonomy_version": [matcher.version] * len(article_ids),
    }


def tag_chunk(matcher_state: bytes, articles: Any, countries: dict[str, str]) -> dict[str, list]:
    """Worker entry: tag_columns on an Arrow record batch (or column dict), with the pickled matcher."""
    matcher = _MATCHERS_BY_STATE.get(matcher_state)
    if matcher is None:  # a TopicMatcher pickles as its taxonomy: compiled here once per version
        matcher = _MATCHERS_BY_STATE[matcher_state] = pickle.loads(matcher_state)
    columns = articles if isinstance(articles, dict) else articles.to_pydict()
    return tag_columns(matcher, columns, countries)


def concat_columns(parts: list[dict[str, list]], columns: tuple[str, ...] = TAG_COLUMNS) -> dict[str, list]:
    """Join column dicts end to end, in order."""
    if len(parts) == 1:
        return parts[0]
    return {column: [value for part in parts for value in part[column]] for column in columns}
