"""A batch's near-duplicate pairs and the cluster members they touch: band candidates (from the band index
file, else the lake's band rows), verified against the lake's signature rows, read by date span."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import chain

import duckdb
import numpy as np
import pyarrow as pa

from transforms.clusters import Member, NearDupSettings, may_pair, verify_pairs
from transforms.near_dupes import decode_minhash
from warehouse.band_index import find_matches, find_members, find_signatures
from warehouse.batch_queries import date_spans, id_table, run_in_spans, run_with
from warehouse.sql import read_sql


def find_band_candidates(
    connection: duckdb.DuckDBPyConnection,
    bands: pa.Table,
    window: timedelta,
    index: sqlite3.Connection | None = None,
) -> list[tuple]:
    """(batch article, stored article, its date) sharing a band within the window: looked up in the band index
    given one, else joined to the lake's band rows span by span."""
    dates = bands.column("dated_at").to_pylist()
    if index is None:
        spans = date_spans(dates, window)
        sql = read_sql("select_near_duplicate_candidates")
        return run_in_spans(connection, {"batch_bands": bands}, sql, spans, {"window": window})
    hashes = sorted(set(bands.column("band_hash").to_pylist()))
    matches = find_matches(index, hashes, min(dates) - window, max(dates) + window)
    views = {"batch_bands": bands, "band_matches": matches}
    return run_with(connection, views, read_sql("select_near_duplicate_matches"), {"window": window})


def verify_found(
    found: list[tuple],
    bands: pa.Table,
    signatures: dict[str, np.ndarray],
    stored: dict[str, tuple],
    settings: NearDupSettings,
) -> tuple[list[tuple[str, str]], set[str]]:
    """The band candidates' verified pairs (Jaccard in Python, against the lake's signature rows `stored`, as
    select_cluster_members reads them) and the clusters they reach."""
    window = timedelta(days=settings.window_days)
    ids, dates = bands.column("article_id").to_pylist(), bands.column("dated_at").to_pylist()
    batch_dates = dict(zip(ids, dates, strict=True))
    # A stored date is the signature's: a band row left by an earlier text may carry another.
    candidates = sorted(
        {
            (article_id, other_id)
            for article_id, other_id, _ in found
            if other_id in stored and abs(stored[other_id][2] - batch_dates[article_id]) <= window
        }
    )
    others = {other: (stored[other][1], decode_minhash(stored[other][6])) for _, other in candidates}
    return verify_pairs(candidates, signatures, others, settings.threshold)


def read_signatures(
    connection: duckdb.DuckDBPyConnection, dated: Iterable[tuple[str, datetime]]
) -> dict[str, tuple]:
    """The lake's signature rows (select_cluster_members) of the given (article, date)s, read by date span:
    a join reading the MinHash blobs of every stored signature would grow with the warehouse."""
    dated = set(dated)
    if not dated:
        return {}
    rows = run_in_spans(
        connection,
        {"cluster_members": id_table(article_id for article_id, _ in dated)},
        read_sql("select_cluster_members"),
        date_spans((dated_at for _, dated_at in dated), timedelta(0)),
    )
    return {row[0]: row for row in sorted(rows, key=lambda row: row[0])}


def select_members(stored: dict[str, tuple], cluster_ids: set[str]) -> dict[str, Member]:
    """The stored rows in the given clusters, as clustering's members (the lake's row says which cluster)."""
    return {
        article_id: Member(row[0], row[1], row[2], row[3], row[4], row[5], decode_minhash(row[6]))
        for article_id, row in stored.items()
        if row[1] in cluster_ids
    }


def load_members(connection: duckdb.DuckDBPyConnection, cluster_ids: set[str]) -> dict[str, Member]:
    """Every member of the given clusters, read from the lake (ids and dates first, from narrow columns)."""
    if not cluster_ids:
        return {}
    dated = run_with(
        connection,
        {"touched_clusters": id_table(cluster_ids, "cluster_id")},
        read_sql("select_cluster_member_dates"),
    )
    return select_members(read_signatures(connection, dated), cluster_ids)


def read_indexed_signatures(
    connection: duckdb.DuckDBPyConnection, index: sqlite3.Connection, cluster_ids: set[str]
) -> tuple[dict[str, tuple], dict[str, str]]:
    """The lake's signature rows of each member the band index holds for the given clusters, and the URLs the
    index knows. The index holds every cluster a member has had: a superset, which the lake's rows settle."""
    found = find_members(index, sorted(cluster_ids))
    stored = read_signatures(connection, ((article_id, dated_at) for _, article_id, dated_at, _ in found))
    return stored, {article_id: url for _, article_id, _, url in found if url}


def pair_batch(
    connection: duckdb.DuckDBPyConnection,
    index: sqlite3.Connection | None,
    bands: pa.Table,
    signatures: dict[str, np.ndarray],
    settings: NearDupSettings,
    touched: set[str],
) -> tuple[list[tuple[str, str]], dict[str, Member], dict[str, str]]:
    """The batch's verified pairs, every member of the clusters they and `touched` reach, and the URLs the
    band index knows. With the index, candidates are verified against its signatures and their clusters
    looked up there first, so one lake read holds them and those members; without, the lake is read for
    each."""
    window = timedelta(days=settings.window_days)
    found = find_band_candidates(connection, bands, window, index) if bands.num_rows else []
    if index is None:
        stored = read_signatures(connection, ((other_id, dated_at) for _, other_id, dated_at in found))
        pairs, clusters = verify_found(found, bands, signatures, stored, settings)
        return pairs, load_members(connection, touched | clusters | set(chain(*pairs))), {}
    # Verified first against every signature the index holds for each candidate, so that the lake read below
    # holds the articles that can pair, not every one sharing a band by chance; the lake's rows verify again.
    held_signatures = find_signatures(index, sorted({other_id for _, other_id, _ in found}))
    versions = {other_id: [decode_minhash(b) for b in blobs] for other_id, blobs in held_signatures.items()}
    threshold = settings.threshold
    found = [row for row in found if may_pair(signatures[row[0]], versions.get(row[1], []), threshold)]
    others = {other_id for _, other_id, _ in found}
    # Each cluster a candidate has had holds it (with its date): reading their members reads the candidates.
    held = {cluster_id for cluster_id, *_ in find_members(index, sorted(others), by="article")}
    paired = {article_id for article_id, _, _ in found} | others  # who can be in a pair
    stored, urls = read_indexed_signatures(connection, index, touched | held | paired)
    pairs, clusters = verify_found(found, bands, signatures, stored, settings)
    return pairs, select_members(stored, touched | clusters | set(chain(*pairs))), urls
