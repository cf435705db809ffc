"""`article_topics` rows for a batch of articles, as columns: what the retag writes."""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring

from transforms.topics import TopicMatcher, tag_article

# The columns a batch of articles comes in (an Arrow result's `to_pydict()`), and the ones its tags leave in.
ARTICLE_COLUMNS = ("article_id", "title", "text", "feed_url", "canonical_url")
# What tagging reads: the source country in place of the URLs.
CHUNK_COLUMNS = ("article_id", "title", "text", "source_country")
TAG_COLUMNS = ("article_id", "topic_id", "score", "evidence", "taxonomy_version")

# The same spelling warehouse.load.to_arrow gives a dict column, so that retagged rows equal ingested ones.
_EVIDENCE_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
# JSONEncoder.encode builds a C encoder on every call (a third of its time on evidence dicts): one built once,
# with the same settings, writes the same text. Without the C module, encode itself.
_EVIDENCE_CHUNKS = (
    c_make_encoder(None, _EVIDENCE_ENCODER.default, encode_basestring, None, ": ", ", ", True, False, True)
    if c_make_encoder is not None
    else None
)


def find_source_country(countries: dict[str, str], feed_url: str | None, canonical_url: str) -> str | None:
    """The configured country of an article's feed, else of its site; None when neither has one."""
    if not countries:
        return None
    from transforms.urls import registered_site_of  # here: the URL library takes ~0.4 s to import

    return countries.get(feed_url or "") or countries.get(registered_site_of(canonical_url))


def prepare_chunk(articles: dict[str, list], countries: dict[str, str]) -> dict[str, list]:
    """Articles as ARTICLE_COLUMNS -> CHUNK_COLUMNS: each article's source country in place of its URLs."""
    if countries:
        source_countries = [
            find_source_country(countries, feed_url, canonical_url)
            for feed_url, canonical_url in zip(articles["feed_url"], articles["canonical_url"], strict=True)
        ]
    else:
        source_countries = [None] * len(articles["article_id"])
    return {
        "article_id": articles["article_id"],
        "title": articles["title"],
        "text": articles["text"],
        "source_country": source_countries,
    }


def tag_columns(
    matcher: TopicMatcher, articles: dict[str, list], countries: dict[str, str] | None = None
) -> dict[str, list]:
    """Tag articles given as columns (ARTICLE_COLUMNS, or CHUNK_COLUMNS with their source countries); return
    their `article_topics` rows as TAG_COLUMNS."""
    if "source_country" not in articles:
        articles = prepare_chunk(articles, countries or {})
    article_ids: list[str] = []
    topic_ids: list[str] = []
    scores: list[float] = []
    evidence: list[str] = []
    encode = encode_evidence
    for article_id, title, text, country in zip(*(articles[column] for column in CHUNK_COLUMNS), strict=True):
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


def encode_evidence(evidence: dict) -> str:
    """A tag's evidence as JSON text: keys sorted, non-ASCII kept as is."""
    if _EVIDENCE_CHUNKS is None:
        return _EVIDENCE_ENCODER.encode(evidence)
    return "".join(_EVIDENCE_CHUNKS(evidence, 0))


def concat_columns(parts: list[dict[str, list]], columns: tuple[str, ...] = TAG_COLUMNS) -> dict[str, list]:
    """Join column dicts end to end, in order."""
    if len(parts) == 1:
        return parts[0]
    return {column: [value for part in parts for value in part[column]] for column in columns}
