"""Near-duplicate clusters in the warehouse: signatures and LSH bands stored (in the band index file too,
warehouse/band_index.py), a batch's pairs and the members of the clusters it touches found
(warehouse/near_dupe_pairs.py), clusters and marks written as transforms.clusters decides them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from transforms.clusters import Member, NearDupSettings, choose_marks, plan_clusters, signature_rows
from transforms.near_dupes import band_hashes_batch, decode_minhash, is_empty_signature, sign_texts
from warehouse.band_index import add_bands, add_members, add_signatures, ready_index
from warehouse.batch_queries import date_spans, id_table, run_in_spans, run_with
from warehouse.near_dupe_pairs import pair_batch
from warehouse.sql import read_sql

TS = pa.timestamp("us")
SIGNATURE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("dated_at", TS),
        ("published_at", TS),
        ("text_chars", pa.int32()),
        ("content_hash", pa.string()),
        ("source", pa.string()),
        ("wire_credit", pa.string()),
        ("minhash", pa.binary()),
        ("minhash_version", pa.string()),
        ("signed_at", TS),
    ]
)
SIGNATURE_INDEX_COLUMNS = ("article_id", "content_hash", "minhash_version", "minhash")  # band_index's
BAND_SCHEMA = pa.schema(
    [("band_hash", pa.int64()), ("band", pa.int16()), ("article_id", pa.string()), ("dated_at", TS)]
)
DUPLICATE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("duplicate_of", pa.string()),
        ("similarity", pa.float64()),
        ("method", pa.string()),
        ("url", pa.string()),
    ]
)


def band_rows(signatures: list[dict[str, Any]], settings: NearDupSettings) -> pa.Table:
    """Band rows (band_hash, band, article_id, dated_at) of signed articles; none for empty signatures."""
    kept = [row for row in signatures if not is_empty_signature(decode_minhash(row["minhash"]))]
    if not kept:
        return BAND_SCHEMA.empty_table()
    matrix = band_hashes_batch(
        np.stack([decode_minhash(row["minhash"]) for row in kept]), settings.bands, settings.rows
    )
    count = settings.bands
    return pa.table(
        {
            "band_hash": pa.array(matrix.reshape(-1), pa.int64()),
            "band": pa.array(np.tile(np.arange(count, dtype=np.int16), len(kept)), pa.int16()),
            "article_id": pa.array([row["article_id"] for row in kept for _ in range(count)], pa.string()),
            "dated_at": pa.array([row["dated_at"] for row in kept for _ in range(count)], TS),
        },
        schema=BAND_SCHEMA,
    )


def forget_signatures(connection: duckdb.DuckDBPyConnection, article_ids: list[str]) -> set[str]:
    """Drop the signatures and bands of articles to sign again; return the clusters they were in."""
    if not article_ids:
        return set()
    resigned = {"resigned_articles": id_table(article_ids)}
    rows = run_with(connection, resigned, read_sql("select_resigned_clusters"))
    if not rows:
        return set()
    dates = [dated_at for _, _, dated_at in rows]
    run_with(
        connection,
        resigned,
        read_sql("delete_article_bands"),
        {"dated_from": min(dates), "dated_to": max(dates)},
    )
    run_with(connection, resigned, read_sql("delete_near_duplicate_signatures"))
    return {cluster_id for _, cluster_id, _ in rows}


def store_signatures(
    connection: duckdb.DuckDBPyConnection,
    rows: list[dict[str, Any]],
    settings: NearDupSettings,
    new_ids: set[str] | frozenset[str] = frozenset(),
    index: sqlite3.Connection | None = None,
    urls: dict[str, str] | None = None,
) -> pa.Table:
    """Store the signatures not stored yet and their bands (in the band index too, given one, with each new
    signature's one-member cluster and its URL from `urls`); return the band rows of those newly stored.

    `new_ids` are articles this transaction inserted: they have no signature yet (a signature is only written
    for a stored article or with it), so only the others' stored ids are read.
    """
    unsigned = {row["article_id"] for row in rows if row["article_id"] in new_ids}
    others = [row for row in rows if row["article_id"] not in new_ids]
    if others:
        # One scan of the stored ids (in this transaction) finds the unsigned; the insert takes their rows.
        views = {"batch_signatures": pa.Table.from_pylist(others, schema=SIGNATURE_SCHEMA)}
        unsigned |= {r[0] for r in run_with(connection, views, read_sql("select_unsigned_batch_ids"))}
    new_rows = [row for row in rows if row["article_id"] in unsigned]
    if new_rows:
        new_table = pa.Table.from_pylist(new_rows, schema=SIGNATURE_SCHEMA)
        run_with(connection, {"unsigned_signatures": new_table}, read_sql("insert_near_duplicate_signatures"))
        if index is not None:  # a new signature's cluster is its own id
            add_members(
                index,
                [member_row(row["article_id"], row["article_id"], row["dated_at"], urls) for row in new_rows],
            )
            add_signatures(index, new_table.select(list(SIGNATURE_INDEX_COLUMNS)))
    bands = band_rows([row for row in rows if row["article_id"] in unsigned], settings)
    if bands.num_rows:
        run_with(connection, {"batch_bands": bands}, read_sql("insert_article_bands"))
        if index is not None:
            add_bands(index, bands)
    return bands


def member_row(cluster_id: str, article_id: str, dated_at: datetime, urls: dict[str, str] | None) -> tuple:
    """A band index cluster row: the article in the cluster from its date, with its URL when known."""
    return (cluster_id, article_id, dated_at, (urls or {}).get(article_id))


def add_urls(
    connection: duckdb.DuckDBPyConnection, marks: list[dict[str, Any]], urls: dict[str, str]
) -> None:
    """Give each duplicate mark its article's URL: from `urls`, else read from the lake."""
    for row in marks:
        row["url"] = urls.get(row["article_id"])
    missing = [row["article_id"] for row in marks if not row["url"]]
    if missing:
        found = dict(
            run_with(connection, {"cluster_members": id_table(missing)}, read_sql("select_cluster_urls"))
        )
        for row in marks:
            row["url"] = row["url"] or found.get(row["article_id"])


def write_clusters(
    connection: duckdb.DuckDBPyConnection,
    members: dict[str, Member],
    plan: dict[str, tuple[str, str]],
    urls: dict[str, str],
    run_id: str,
    detected_at: datetime,
    index: sqlite3.Connection | None = None,
) -> dict[str, int]:
    """Write cluster ids (to the band index too, given one) and duplicate marks where the plan differs from
    what is stored."""
    if not plan:
        return {"cluster_moves": 0, "near_duplicate_marks": 0, "canonical_restored": 0}
    changes = [
        {"article_id": article_id, "cluster_id": cluster_id}
        for article_id, (cluster_id, _) in sorted(plan.items())
        if members[article_id].cluster_id != cluster_id
    ]
    if changes:
        if index is not None:
            dated = {row["article_id"]: members[row["article_id"]].dated_at for row in changes}
            add_members(
                index,
                [member_row(r["cluster_id"], r["article_id"], dated[r["article_id"]], urls) for r in changes],
            )
        run_in_spans(
            connection,
            {"cluster_changes": pa.Table.from_pylist(changes)},
            read_sql("update_cluster_ids"),
            date_spans((members[row["article_id"]].dated_at for row in changes), timedelta(0)),
        )
    stored_marks = {
        row[0]: row[1:]
        for row in run_with(
            connection, {"cluster_members": id_table(plan)}, read_sql("select_cluster_duplicates")
        )
    }
    wanted, canonicals = choose_marks(members, plan, stored_marks)
    add_urls(connection, wanted, urls)
    if canonicals:
        run_with(
            connection, {"cluster_canonicals": id_table(canonicals)}, read_sql("delete_cluster_duplicates")
        )
    if wanted:
        # An upsert in two statements (duplicates has no key since migration 0004): re-point, then add.
        marks = {"cluster_duplicates": pa.Table.from_pylist(wanted, schema=DUPLICATE_SCHEMA)}
        params = {"detected_at": detected_at, "run_id": run_id}
        run_with(connection, marks, read_sql("update_cluster_duplicates"), params)
        run_with(connection, marks, read_sql("insert_cluster_duplicates"), params)
    return {
        "cluster_moves": len(changes),
        "near_duplicate_marks": len(wanted),
        "canonical_restored": len(canonicals),
    }


def link_near_duplicates(
    connection: duckdb.DuckDBPyConnection,
    articles: list[dict[str, Any]],
    run_id: str,
    detected_at: datetime,
    resigned: Iterable[str] = (),
    settings: NearDupSettings | None = None,
    new_ids: set[str] | frozenset[str] = frozenset(),
) -> dict[str, int]:
    """Sign the batch's articles, find their near-duplicates within the window and update the clusters.

    Runs inside the caller's transaction. `articles` are `articles` rows carrying `minhash` (512 bytes) and
    optionally `wire_credit`; rows without a signature are left out. `resigned` names stored articles whose
    text changed: their old signature is dropped and their old cluster is linked again from scratch.
    `new_ids` names articles this transaction inserted (no signature to look for).
    """
    settings = settings or NearDupSettings()
    rows = signature_rows(articles, detected_at)
    resigned_ids = sorted(set(resigned) & {row["article_id"] for row in rows})
    dissolved = forget_signatures(connection, resigned_ids)
    if not rows:
        return {"signed": 0, "near_duplicate_pairs": 0}
    index = ready_index(connection)
    urls = {row["article_id"]: row["url"] for row in articles if row.get("url")}
    bands = store_signatures(connection, rows, settings, new_ids, index, urls)
    signed_ids = set(bands.column("article_id").to_pylist()) if bands.num_rows else set()
    signatures = {
        row["article_id"]: decode_minhash(row["minhash"]) for row in rows if row["article_id"] in signed_ids
    }
    touched = dissolved | set(resigned_ids)
    pairs, members, member_urls = pair_batch(connection, index, bands, signatures, settings, touched)
    plan = plan_clusters(
        members, [p for p in pairs if p[0] in members and p[1] in members], dissolved, settings
    )
    counts = write_clusters(connection, members, plan, {**member_urls, **urls}, run_id, detected_at, index)
    return {"signed": len(signed_ids), "near_duplicate_pairs": len(pairs), **counts}


def sign_stored_articles(
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    detected_at: datetime,
    batch_size: int = 500,
    settings: NearDupSettings | None = None,
) -> int:
    """Sign and cluster stored articles without a signature (stored before clustering), oldest first."""
    signed = 0
    while True:
        cursor = connection.execute(read_sql("select_unsigned_near_duplicates"), {"limit": batch_size})
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        if not rows:
            return signed
        for row, blob in zip(rows, sign_texts([row["text"] for row in rows]), strict=True):
            row["minhash"] = blob
        # Every row gets a signature row (empty texts too), so the next round selects the following ones.
        link_near_duplicates(connection, rows, run_id, detected_at, settings=settings)
        signed += len(rows)
