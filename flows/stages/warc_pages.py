"""WARC records through the ingest path: pseudo feed entries, fetch results standing for the records, and
ledger rows for the records that cannot be read.

Records become entries (feed "warc:<file>", guid the WARC-Record-ID) → `plan_batch` → FetchResults built from
the records → `collect_pages` → `build_articles`. A record already recorded as an entry is skipped, so loading
a day twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flows.http.fetch import FetchResult
from flows.stages.articles import PageOutcome, build_articles
from flows.stages.batches import BatchPlan, collect_pages, plan_batch
from flows.stages.day_context import DayContext, complete_job
from flows.stages.poll import failure_row
from flows.stages.warc import WarcDamage, WarcResponse, open_archive, read_warc
from transforms.warc_records import (
    archive_file_name,
    is_html_response,
    is_wanted_host,
    make_warc_entry,
    warc_feed_url,
)
from warehouse.db import write_session
from warehouse.feeds import select_unseen_entries
from warehouse.load import now_utc


def response_result(response: WarcResponse) -> FetchResult:
    """A FetchResult standing for a WARC response record, as if the page had just been fetched."""
    return FetchResult(
        url=response.target_uri,
        kind="warc",
        final_url=response.target_uri,
        status=response.status,
        headers=response.headers,
        body=response.body,
        elapsed_ms=0.0,
        fetched_at=response.warc_date or now_utc(),
        error_class=None,
        error=None,
    )


def damage_row(run_id: str, damage: WarcDamage, location: str) -> dict[str, Any]:
    """A failure ledger row for a record that could not be read, with what re-reading it needs."""
    return failure_row(
        run_id,
        "warc",
        damage.reason,
        damage.detail,
        damage.target_uri,
        warc_feed_url(damage.file_name),
        {"archive": location, "offset": damage.offset},
    )


def select_fresh(db_path: Path, responses: list[WarcResponse]) -> list[WarcResponse]:
    """The records not yet recorded as entries by an earlier backfill."""
    keys = [(warc_feed_url(r.file_name), r.record_id) for r in responses]
    with write_session(db_path) as connection:
        unseen = select_unseen_entries(connection, keys)
    return [r for r, key in zip(responses, keys, strict=True) if key in unseen]


def process_records(
    context: DayContext, responses: list[WarcResponse], damages: list[dict[str, Any]]
) -> tuple[BatchPlan, list[PageOutcome]]:
    """Plan the records as pseudo entries, build articles from their bodies; return the plan and outcomes."""
    entries = [make_warc_entry(r.file_name, r.record_id, r.target_uri, r.warc_date) for r in responses]
    plan = plan_batch(entries, context.db_path, context.run_id)
    plan.load.failures.extend(damages)
    by_url: dict[str, WarcResponse] = {}
    for response in responses:
        by_url.setdefault(response.target_uri, response)
    results = [response_result(by_url[request.url]) for request in plan.requests]
    jobs = [complete_job(job, context) for job in collect_pages(plan, results, context.config)]
    return plan, build_articles(jobs, context.taxonomy_path, workers=context.config.workers)


def read_archive_batches(
    location: str, sites: frozenset[str] | None, run_id: str, batch_size: int, counts: Counter[str]
) -> Iterator[tuple[list[WarcResponse], list[dict[str, Any]]]]:
    """Yield (responses, damage rows) batches of one archive file, counting what is skipped and why."""
    responses: list[WarcResponse] = []
    damages: list[dict[str, Any]] = []
    with open_archive(location) as path:
        for item in read_warc(path, archive_file_name(location)):
            if isinstance(item, WarcDamage):
                counts["records_damaged"] += 1
                damages.append(damage_row(run_id, item, location))
                continue
            counts["records_read"] += 1
            if not is_wanted_host(item.target_uri, sites):
                counts["records_other_host"] += 1
            elif not is_html_response(item.status, item.headers.get("content-type")):
                counts["records_not_html_200"] += 1
            else:
                responses.append(item)
            if len(responses) >= batch_size:
                yield responses, damages
                responses, damages = [], []
    if responses or damages:
        yield responses, damages
