"""A query's best-scored documents: every posting of its terms scored, or, when a score bound shows that the
rest rank lower, only the postings of a few candidates (the documents holding its rarest term, or, for one
word, those holding it in their title)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from warehouse.postings import expand_list
from warehouse.sql import read_sql

K1_PLUS_1 = 2.2  # BM25's k1 + 1: one term adds less than this times its idf to a score, whatever its count
# Up to this many postings a query's terms are all scored: reading candidates first would save little.
EXHAUSTIVE_POSTINGS = 100_000
TIE_ROWS = 4  # a tie at the cut is read whole up to this many times the depth


@dataclass(frozen=True)
class TopDocuments:
    """The best-scored documents read, best first, and what is known of those not read."""

    rows: list[tuple[int, float, bool]]  # doc_id, score, has_all_words
    floor: tuple[bool, float] | None  # unread documents may rank level with this (has_all_words, score)
    complete: bool  # no document matching the query was left unread
    bounded: bool  # a score bound, not the depth, stopped the reading


@dataclass(frozen=True)
class TermStats:
    """How many live documents hold a term, and hold it in their title."""

    df: int
    title_df: int


def idf(documents: float, df: int) -> float:
    """BM25's idf as DuckDB's fts computes it."""
    return math.log(1 + (documents - df + 0.5) / (df + 0.5))


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
    sql, parameters = expand_list(read_sql(name), "terms", "t", terms)
    parameters.update({"term_count": len(terms), "title_weight": title_weight})
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
    stats, corpus = select_term_stats(connection, terms)
    if not stats:
        return TopDocuments([], None, True, False)
    if sum(s.df for s in stats.values()) <= EXHAUSTIVE_POSTINGS:
        return select_top_exhaustive(connection, terms, None, None, title_weight, depth)
    documents, body_avg, title_avg = corpus
    weights = {term: (idf(documents, s.df), idf(documents, s.title_df)) for term, s in stats.items()}
    if len(terms) == 1:
        candidates, parameters = "title_tf > 0", {}
        others = (True, K1_PLUS_1 * max(weights[terms[0]][0], 0))
    else:
        rare = min(stats, key=lambda term: stats[term].df)
        candidates, parameters = "term = $rare", {"rare": rare}
        others = (
            False,
            sum(
                K1_PLUS_1 * (max(body, 0) + (title_weight * max(title, 0) if stats[term].title_df else 0))
                for term, (body, title) in weights.items()
                if term != rare
            ),
        )
    sql, listed = expand_list(read_sql("search_select_top_within"), "terms", "t", list(stats))
    sql = sql.replace("{candidates}", candidates)
    sql, weighted = expand_weights(sql, weights)
    parameters |= listed | weighted
    parameters |= {"term_count": len(terms), "title_weight": title_weight}
    parameters |= {"depth": depth, "cap": TIE_ROWS * depth}
    parameters |= {"body_avg": body_avg, "title_avg": title_avg}
    rows = connection.execute(sql, parameters).fetchall()
    above = [row for row in rows if (row[2], row[1]) > others]
    if len(above) == len(rows) >= depth:
        return TopDocuments(rows, floor_of(rows, depth), False, False)
    return TopDocuments(above, None, False, True)


def expand_weights(sql: str, weights: dict[str, tuple[float, float]]) -> tuple[str, dict[str, object]]:
    """The statement with `{weights}` made into `($w0, $b0, $h0), …` rows, and their values."""
    parameters: dict[str, object] = {}
    rows = []
    for i, (term, (body, title)) in enumerate(weights.items()):
        rows.append(f"($w{i}, $b{i}, $h{i})")
        parameters.update({f"w{i}": term, f"b{i}": body, f"h{i}": title})
    return sql.replace("{weights}", ", ".join(rows)), parameters


def select_term_stats(
    connection: duckdb.DuckDBPyConnection, terms: list[str]
) -> tuple[dict[str, TermStats], tuple[float, float, float]]:
    """Each present term's live df and title df; the corpus' document count and average lengths."""
    sql, parameters = expand_list(read_sql("search_select_term_stats"), "terms", "t", terms)
    rows = connection.execute(sql, parameters).fetchall()
    stats = {row[0]: TermStats(row[1], row[2]) for row in rows}
    corpus = (float(rows[0][3]), float(rows[0][4]), float(rows[0][5])) if rows else (1.0, 1.0, 1.0)
    return stats, corpus
