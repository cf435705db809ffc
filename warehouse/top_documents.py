"""A query's best-scored documents: every posting of its terms scored, or, when a score bound shows that the
rest rank lower, only the postings of a few candidates (the documents holding its rarest term, or, for one
word, those holding it in their title)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from warehouse.postings import expand_list
from warehouse.sql import read_sql

# Up to this many postings a query's terms are all scored: reading candidates first would save little.
EXHAUSTIVE_POSTINGS = 100_000
TIE_ROWS = 16  # a tie at the cut is read whole up to this many times the depth


@dataclass(frozen=True)
class TopDocuments:
    """The best-scored documents read, best first, and what is known of those not read."""

    rows: list[tuple[int, float, bool]]  # doc_id, score, has_all_words
    floor: tuple[bool, float] | None  # unread documents may rank level with this (has_all_words, score)
    complete: bool  # no document matching the query was left unread
    bounded: bool  # a score bound, not the depth, stopped the reading


def read_ranking_sql(name: str) -> str:
    """A search_select_top*.sql statement with the ranking they share (search_rank_tail.sql) spliced in."""
    return read_sql(name).replace("{rank_tail}", read_sql("search_rank_tail"))


def select_top_exhaustive(
    connection: duckdb.DuckDBPyConnection,
    terms: list[str],
    topic_id: str | None,
    since: date | datetime | None,
    title_weight: float,
    depth: int,
) -> TopDocuments:
    """The best `depth` live documents, every posting of the query's terms scored."""
    filtered = topic_id is not None or since is not None
    name = "search_select_top_filtered" if filtered else "search_select_top"
    sql, parameters = expand_list(read_ranking_sql(name), "terms", "t", terms)
    parameters.update({"term_list": terms, "term_count": len(terms), "title_weight": title_weight})
    parameters.update({"depth": depth, "cap": TIE_ROWS * depth})
    if filtered:
        parameters.update({"topic": topic_id, "since": since})
    rows = connection.execute(sql, parameters).fetchall()
    return TopDocuments(rows, floor_of(rows, depth), len(rows) < depth, False)


def floor_of(rows: list[tuple[int, float, bool]], depth: int) -> tuple[bool, float] | None:
    """What unread documents may rank level with: the last row's rank when the tie at the cut was not read
    whole (the rows hit the cap), else nothing (every unread one ranks strictly lower)."""
    return (rows[-1][2], rows[-1][1]) if len(rows) == TIE_ROWS * depth else None


def select_top_bounded(
    connection: duckdb.DuckDBPyConnection, terms: list[str], title_weight: float, depth: int
) -> TopDocuments:
    """The best `depth` candidates, and which of them surely rank above every document not a candidate (all
    documents when the terms have few postings).

    With several terms the candidates hold the rarest one: the others lack a word, and score less than the
    other terms' largest possible scores summed. With one term the candidates hold it in their title: the
    others score less than its largest possible score in the text.
    """
    sql, parameters = expand_list(read_ranking_sql("search_select_top_within"), "terms", "t", terms)
    parameters |= {"term_list": terms, "term_count": len(terms), "title_weight": title_weight}
    parameters |= {"exhaustive_postings": EXHAUSTIVE_POSTINGS, "depth": depth, "cap": TIE_ROWS * depth}
    found = connection.execute(sql, parameters).fetchall()
    rows = [(doc_id, score, has_all) for doc_id, score, has_all, _, _ in found]
    if not found:  # no candidate: perhaps no posting at all, perhaps no title holding the one word
        return TopDocuments([], None, False, True)
    if found[0][3]:  # every document was a candidate
        return TopDocuments(rows, floor_of(rows, depth), len(rows) < depth, False)
    others = (len(terms) == 1, found[0][4])
    above = [row for row in rows if (row[2], row[1]) > others]
    if len(above) == len(rows) >= depth:
        return TopDocuments(rows, floor_of(rows, depth), False, False)
    return TopDocuments(above, None, False, True)
