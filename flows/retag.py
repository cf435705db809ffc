"""The retag flow: re-tag stored articles whose topic tags come from an older taxonomy version, in batches."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.articles import count_workers, submit_job
from flows.config import DEFAULT_DB, load_config
from flows.cpu_load import OtherLoad, read_other_running
from flows.forked_tagging import TagHelper, can_fork, close_helpers, start_helpers, tag_shared
from flows.runlog import close_run, current_run_id, map_source_values, open_run, render_run_markdown
from transforms.article_topics import concat_columns, prepare_chunk, prepare_worker, tag_chunk, tag_columns
from transforms.topics import TopicMatcher, get_matcher
from warehouse.db import read_load_memory_limit, transaction, write_session
from warehouse.load import SCHEMAS, now_utc
from warehouse.sql import read_sql

RETAG_BATCH = 1000
# Stale articles from which worker processes tag beside this one, when the cores are otherwise idle. A worker
# gets the matcher from the disk cache (transforms.matcher_cache) in a pool of its own (start_workers): 0.15 s
# of CPU and ~0.18 s from spawn to ready, while this process tags. The pool costs more CPU in all (chunks
# pickled both ways, two processes sharing caches), so it pays only where the extra core is free. Measured on
# 2 cores with the bench's articles copied 2x and 4x (medians, pool and in-process alternated): at 1,990 it
# lost 25-40 % even with the other core mostly free (0.91-1.03 s against 0.72-0.75 s); at 7,960 it won
# 16-22 % when the other jobs left a core free (load 1.7 with this run: 1.58-1.79 s against 2.03-2.13 s) and
# lost 12-20 % at 3,980 and 7,960 when they kept it busy (load 2-4).
POOL_MIN_ARTICLES = 5_000
# Stale articles from which helper processes forked at the start of the retag (flows.forked_tagging) tag
# beside this one: a fork and the pages copied on write after it cost ~10-20 ms of CPU on each side, against
# ~15 ms of tagging per 100 articles.
FORK_MIN_ARTICLES = 300
HELPER_MIN_CORE = 0.5  # the share of a core other work must leave free for a helper to join
CHUNK_ARTICLES = 100  # articles per chunk (~15 ms of tagging): the unit handed to a worker or tagged here
# The unit shared with helpers: at a batch's end, one waits for at most ~2 of these.
HELPER_CHUNK_ARTICLES = 50
CHUNKS_PER_WORKER = 2  # chunks queued per ready worker, so that none waits for its next one
ID_SCHEMA = pa.schema([("article_id", pa.string())])


def select_stale_articles(
    db_path: Path, version: str, candidates: list[str] | None = None, force: bool = False
) -> list[str]:
    """Ids of articles (all, or among `candidates`) whose tags are not of taxonomy `version`."""
    with write_session(db_path) as connection:
        return find_stale_articles(connection, version, candidates, force)


def find_stale_articles(
    connection: duckdb.DuckDBPyConnection, version: str, candidates: list[str] | None, force: bool
) -> list[str]:
    """select_stale_articles on an open connection."""
    connection.register("candidate_articles", id_table(candidates or []))
    try:
        rows = connection.execute(
            read_sql("select_stale_tags"),
            {"version": version, "everything": candidates is None, "force": force},
        ).fetchall()
    finally:
        connection.unregister("candidate_articles")
    return [row[0] for row in rows]


def id_table(article_ids: list[str]) -> pa.Table:
    """A one-column Arrow table of article ids, to register as a view."""
    return pa.table([pa.array(article_ids, pa.string())], schema=ID_SCHEMA)


def stream_articles(
    connection: duckdb.DuckDBPyConnection,
    article_ids: list[str] | None,
    rows_per_chunk: int,
    rows_per_read: int = RETAG_BATCH,
) -> Iterator[pa.RecordBatch]:
    """Id, title, text and origin of these articles (None: of every stored one), read `rows_per_read` at a
    time in storage order and yielded as record batches of at most `rows_per_chunk` rows."""
    # One rowid range per read: the scan skips the other row groups, and the first batch does not wait for
    # the last row as it did behind one query over the whole table (100,000 synthetic articles: 24 ms against
    # 83, and 182 MiB against 247 at the same cap). Each record batch owns its buffers, so that one pickles
    # to a worker without the others.
    if article_ids is not None:
        (stored,) = connection.execute("SELECT count(*) FROM articles").fetchone()
        if len(article_ids) == stored:  # distinct stored ids: all of them, so no join (~2x faster)
            article_ids = None
    if article_ids is None:
        ranges_sql, range_sql = read_sql("select_article_ranges"), read_sql("select_article_range")
    else:
        connection.register("candidate_articles", id_table(article_ids))
        ranges_sql, range_sql = read_sql("select_candidate_ranges"), read_sql("select_articles_to_tag")
    ranges = connection.execute(ranges_sql, {"rows": rows_per_read}).fetchall()
    for first_row, last_row in ranges:
        # Executed, not a relation with parameters: a relation's scan filtered only after reading every row
        # group (1,990 articles: 109 ms against 44 ms over the two ranges).
        connection.execute(range_sql, {"first_row": first_row, "last_row": last_row})
        yield from connection.to_arrow_reader(rows_per_chunk)


def group_batches(chunks: Iterable[pa.RecordBatch], batch_size: int) -> Iterator[list[pa.RecordBatch]]:
    """Regroup a stream of record batches into lists of `batch_size` rows (the last one may hold fewer)."""
    group: list[pa.RecordBatch] = []
    rows = 0
    for chunk in chunks:
        while chunk.num_rows:
            take = min(chunk.num_rows, batch_size - rows)
            group.append(chunk if take == chunk.num_rows else chunk.slice(0, take))
            chunk = chunk.slice(take)
            rows += take
            if rows == batch_size:
                yield group
                group, rows = [], 0
    if group:
        yield group


def ids_of(chunks: list[pa.RecordBatch]) -> list[str]:
    """The article ids of a batch, in order."""
    return [article_id for chunk in chunks for article_id in chunk.column("article_id").to_pylist()]


def replace_tags(
    connection: duckdb.DuckDBPyConnection, article_ids: list[str], tags: dict[str, list], version: str
) -> dict[str, int]:
    """Replace the tags of these articles with `tags` (article_topics columns) in one transaction."""
    schema = SCHEMAS["article_topics"]
    new_tags = pa.table(
        [pa.array(tags[name], field.type) for name, field in zip(schema.names, schema, strict=True)],
        schema=schema,
    )
    with transaction(connection):
        connection.register("retagged_articles", id_table(article_ids))
        connection.register("new_tags", new_tags)
        try:
            (removed,) = connection.execute(read_sql("delete_retagged_tags")).fetchone()
            connection.execute(read_sql("insert_retagged_tags"), {"version": version, "tagged_at": now_utc()})
        finally:
            connection.unregister("retagged_articles")
            connection.unregister("new_tags")
    return {"articles_retagged": len(article_ids), "tags_removed": removed, "tags_added": new_tags.num_rows}


def replace_tags_after(
    previous: Future | None,
    connection: duckdb.DuckDBPyConnection,
    article_ids: list[str],
    tags: dict[str, list],
    version: str,
) -> dict[str, int] | None:
    """replace_tags and a checkpoint, unless an earlier batch's write failed (then None: a run stops at its
    first failure)."""
    # `previous` ran before on the same single warehouse thread: it is done.
    if previous is not None and (previous.exception() is not None or previous.result() is None):
        return None
    counts = replace_tags(connection, article_ids, tags, version)
    # Written to the file now, while the next batch is tagged, rather than all at the end when the connection
    # closes: 1,990 articles, 0.417 -> 0.393 s (medians of 6, alternated).
    connection.execute("CHECKPOINT")
    return counts


def tag_in_process(
    read: Callable[[], Future],
    matcher: TopicMatcher,
    countries: dict[str, str],
    helpers: HelperPlan | None = None,
) -> Iterator[tuple[list[str], dict[str, list]]]:
    """Tag each batch here, the next one being read meanwhile; yield (article ids, tag columns). With
    `helpers`, the helper processes it plans for a batch share the batch's chunks."""
    upcoming = read()
    while (chunks := upcoming.result()) is not None:
        upcoming = read()
        sharing = helpers.choose(sum(chunk.num_rows for chunk in chunks)) if helpers is not None else []
        if sharing:
            prepared = [prepare_chunk(chunk.to_pydict(), countries) for chunk in chunks]
            tags = tag_shared(matcher, prepared, sharing, helpers.results)
        else:
            tags = [tag_columns(matcher, chunk.to_pydict(), countries) for chunk in chunks]
        yield ids_of(chunks), concat_columns(tags)


def count_helpers(articles: int, cores: int, others: float | None) -> int:
    """Helper processes to fork for a batch of `articles` when other work keeps `others` cores busy (None:
    unknown, taken as none): one per core beyond this process's own that is at least HELPER_MIN_CORE free."""
    if articles < FORK_MIN_ARTICLES or cores < 2:
        return 0
    free = cores - 1 - (others or 0.0)
    return max(0, min(cores - 1, int(free + 1 - HELPER_MIN_CORE)))


class HelperPlan:
    """The helper processes of one retag, and which of them share each batch: as many as count_helpers
    allows with the load other work put on the cores since the last batch (all of them with `fixed`)."""

    def __init__(
        self, matcher: TopicMatcher, count: int, cores: int, load: OtherLoad | None, fixed: bool = False
    ) -> None:
        self.helpers, self.results = start_helpers(matcher, count)
        self.cores = cores
        self.load = load
        if load is not None:  # the helpers' work is this retag's own, not other work
            load.children = [helper.pid for helper in self.helpers]
        self.fixed = fixed
        self.batches_forked = 0  # batches shared with helpers
        self.last_load: float | None = None  # the other work's load read for the last batch

    def choose(self, articles: int) -> list[TagHelper]:
        """The helpers to share a batch of `articles` with."""
        live = [helper for helper in self.helpers if helper.alive]
        if not live:
            return []
        if not self.fixed:
            self.last_load = self.load.read() if self.load is not None else None
            live = live[: count_helpers(articles, self.cores, self.last_load)]
        self.batches_forked += bool(live)
        return live

    def close(self) -> None:
        """Let every helper leave."""
        close_helpers(self.helpers)


def plan_helpers(
    matcher: TopicMatcher, stale: int, cores: int, load: OtherLoad, use_fork: bool | None
) -> HelperPlan | None:
    """Fork the retag's helpers before it reads any article (the reads then copy fewer pages on write than a
    fork per batch did): one per core that other work leaves free at this instant (`use_fork`: one per
    extra core)."""
    if use_fork is False or not can_fork() or cores < 2:
        return None
    if use_fork:
        return HelperPlan(matcher, cores - 1, cores, None, fixed=True)
    count = count_helpers(stale, cores, read_other_running())
    return HelperPlan(matcher, count, cores, load) if count else None


class _Batch:
    """A batch on its way through the shared tagging: its ids and its chunks' tags as they come."""

    __slots__ = ("article_ids", "parts", "missing")

    def __init__(self, article_ids: list[str], chunks: int) -> None:
        self.article_ids = article_ids
        self.parts: list[dict[str, list] | None] = [None] * chunks
        self.missing = chunks

    def fill(self, index: int, tags: dict[str, list]) -> None:
        """Set the tags of chunk `index`."""
        self.parts[index] = tags
        self.missing -= 1


def read_load() -> float | None:
    """The system's load average over the last minute (None where the system has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def pool_pays(stale: int, cores: int, load: float | None) -> bool:
    """Whether worker processes should tag beside this one: many stale articles, and cores that no other
    work keeps busy (the last minute's load leaves a core free besides this process's own)."""
    if cores < 2 or stale < POOL_MIN_ARTICLES:
        return False
    return load is None or load <= cores - 1


def start_workers(matcher: TopicMatcher, workers: int) -> tuple[Executor, bytes, list[Future]]:
    """Start a pool of worker processes for one retag and have each load the matcher; return the pool, the
    pickled matcher and the warm-up futures (not awaited: the caller reads the first articles meanwhile).
    The caller shuts the pool down."""
    # A pool of its own, not the ingest's (flows.articles.get_pool): that one's initializer imports the whole
    # extraction stack in every worker. Measured from spawn to a loaded matcher: 0.15 s of a worker's CPU and
    # ~0.18 s of wall time here, against 0.38 s and 0.55-0.7 s in the ingest's pool.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    matcher_state = pickle.dumps(matcher)  # once, not once per call: a worker unpickles it once
    return pool, matcher_state, [submit_job(pool, prepare_worker, matcher_state) for _ in range(workers)]


def tag_in_pool(
    read: Callable[[], Future],
    matcher: TopicMatcher,
    countries: dict[str, str],
    workers: int,
    started: tuple[Executor, bytes, list[Future]] | None = None,
) -> Iterator[tuple[list[str], dict[str, list]]]:
    """Tag batches on the worker pool and here at once; yield (article ids, tag columns) in batch order.

    Chunks are handed out as they come: each ready worker gets up to CHUNKS_PER_WORKER, this process tags
    the next one itself meanwhile (all of them while the workers start), and at the end it takes back the
    chunks no worker has begun.
    """
    own_pool = started is None  # started here: shut down here
    pool, matcher_state, warming = started or start_workers(matcher, workers)
    ready = 0
    batches: deque[_Batch] = deque()
    todo: deque[tuple[_Batch, int, dict[str, list]]] = deque()
    running: dict[Future, tuple[_Batch, int, dict[str, list]]] = {}
    upcoming: Future | None = read()
    try:
        while True:
            if upcoming is not None and len(todo) <= workers * CHUNKS_PER_WORKER:
                chunks = upcoming.result()
                upcoming = read() if chunks is not None else None
                if chunks is not None:
                    batch = _Batch(ids_of(chunks), len(chunks))
                    batches.append(batch)
                    todo.extend(
                        (batch, i, prepare_chunk(c.to_pydict(), countries)) for i, c in enumerate(chunks)
                    )
            for future in [future for future in running if future.done()]:
                batch, index, _ = running.pop(future)
                batch.fill(index, future.result())
            if ready < workers:
                ready = sum(1 for future in warming if future.done() and future.result())
            while todo and len(running) < ready * CHUNKS_PER_WORKER:
                item = todo.popleft()
                running[submit_job(pool, tag_chunk, matcher_state, item[2])] = item
            while batches and not batches[0].missing:
                batch = batches.popleft()
                yield batch.article_ids, concat_columns(batch.parts)
            if todo:
                batch, index, columns = todo.popleft()
                batch.fill(index, tag_columns(matcher, columns))
            elif running:
                if not _take_back(running, matcher):
                    wait(list(running), return_when=FIRST_COMPLETED)
            elif upcoming is None and not batches:
                return
    finally:
        for future in running:
            future.cancel()
        if own_pool:
            pool.shutdown(wait=False, cancel_futures=True)


def _take_back(running: dict[Future, tuple[_Batch, int, dict[str, list]]], matcher: TopicMatcher) -> bool:
    """Tag here the last queued chunk that no worker has begun; False when there is none."""
    for future in reversed(list(running)):
        if future.cancel():
            batch, index, columns = running.pop(future)
            batch.fill(index, tag_columns(matcher, columns))
            return True
    return False


def retag_articles(
    db_path: Path,
    matcher: TopicMatcher,
    countries: dict[str, str],
    candidates: list[str] | None = None,
    force: bool = False,
    batch_size: int = RETAG_BATCH,
    workers: int = 0,
    use_pool: bool | None = None,
    use_fork: bool | None = None,
) -> Counter[str]:
    """Re-tag every stale article (all, or among `candidates`), one transaction per batch; return counts.

    Where processes fork (Linux), from FORK_MIN_ARTICLES stale articles, helpers forked at the start share
    each batch when other work leaves their cores free (count_helpers; `workers` taggers in all, 0: one per
    core); `use_fork` forces the choice (True: a helper per extra core for every batch). Elsewhere, or with
    `use_fork=False`, a spawned pool of worker processes joins from POOL_MIN_ARTICLES stale articles on
    otherwise idle cores (pool_pays); `use_pool` forces that choice. Every helper and worker has ended or
    been shut down when this returns (a helper that sent its tags may still be leaving).
    """
    counts: Counter[str] = Counter()
    other_load = OtherLoad()  # from here to the first batch: what other work keeps busy
    # The load cap: each article is read once, so DuckDB's cache of what it read only grows the process
    # (100,000 synthetic articles of 4.8 KB: 602 MiB at the writers' 512 MB cap, 182 at 64 MB, and faster).
    with write_session(db_path, memory_limit=read_load_memory_limit()) as connection:
        stale: list[str] | None = None  # None: every stored article
        if force and candidates is None:  # no need to ask which are stale
            (counts["articles_stale"],) = connection.execute("SELECT count(*) FROM articles").fetchone()
        else:
            stale = find_stale_articles(connection, matcher.version, candidates, force)
            counts["articles_stale"] = len(stale)
        if not counts["articles_stale"]:
            return counts
        workers = count_workers(workers)
        forking = not use_pool and use_fork is not False and can_fork()
        if use_pool is None:
            use_pool = not forking and pool_pays(counts["articles_stale"], workers, read_load())
        helpers = (
            None
            if use_pool
            else plan_helpers(matcher, counts["articles_stale"], workers, other_load, use_fork)
        )
        chunk_rows = HELPER_CHUNK_ARTICLES if helpers is not None else CHUNK_ARTICLES
        # This process is one of the taggers: a worker per core but one (and at least one).
        workers = max(1, workers - 1)
        started = start_workers(matcher, workers) if use_pool else None  # they start while we read
        reader = connection.cursor()  # streams the articles while `connection` writes their tags
        # One thread does all the warehouse work from here: it reads the next batch and writes the last one
        # while this thread (or the pool) tags; DuckDB lets go of the GIL while it works.
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="retag-warehouse") as warehouse:
                stream = stream_articles(reader, stale, min(chunk_rows, batch_size), batch_size)
                batches = group_batches(stream, batch_size)

                def read() -> Future:
                    return warehouse.submit(next, batches, None)

                if use_pool:
                    tagged = tag_in_pool(read, matcher, countries, workers, started)
                else:
                    tagged = tag_in_process(read, matcher, countries, helpers)
                counts.update(write_tags(warehouse, connection, tagged, matcher.version))
            if helpers is not None and helpers.batches_forked:
                counts["batches_forked"] = helpers.batches_forked  # batches tagged with helpers
        finally:
            reader.close()
            if helpers is not None:
                helpers.close()
            if started is not None:  # the workers exit on their own while the warehouse closes
                started[0].shutdown(wait=False, cancel_futures=True)
    return counts


def write_tags(
    warehouse: ThreadPoolExecutor,
    connection: duckdb.DuckDBPyConnection,
    tagged: Iterator[tuple[list[str], dict[str, list]]],
    version: str,
) -> Counter[str]:
    """Replace each tagged batch's tags on the warehouse thread, as the batches come; return the counts."""
    counts: Counter[str] = Counter()
    writes: deque[Future] = deque()
    previous = None
    for article_ids, tags in tagged:
        previous = warehouse.submit(replace_tags_after, previous, connection, article_ids, tags, version)
        writes.append(previous)
        while writes and writes[0].done():
            counts.update(writes.popleft().result())
    while writes:
        counts.update(writes.popleft().result())
    return counts


@task(name="article_topics", cache_policy=NO_CACHE)
def retag_stale(
    db_path: Path,
    taxonomy_path: str | None,
    countries: dict[str, str],
    force: bool,
    batch_size: int,
    workers: int = 0,
) -> dict[str, int]:
    """Re-tag the warehouse's stale articles."""
    counts = retag_articles(
        db_path, get_matcher(taxonomy_path), countries, force=force, batch_size=batch_size, workers=workers
    )
    get_run_logger().info("retagged %s", dict(counts))
    return dict(counts)


@flow(name="retag", log_prints=True)
def retag(
    taxonomy: str | None = None,
    db: str | None = None,
    sources: str | None = None,
    force: bool = False,
    batch_size: int = RETAG_BATCH,
) -> dict[str, Any]:
    """Re-tag stored articles whose tags are of an older taxonomy version (or all with force)."""
    started = time.monotonic()
    config = load_config(sources)
    db_path = Path(db) if db else DEFAULT_DB
    taxonomy_path = taxonomy or (str(config.taxonomy_path) if config.taxonomy_path else None)
    run_id = current_run_id()
    matcher = get_matcher(taxonomy_path)
    params = {"taxonomy": taxonomy_path, "db": str(db_path), "force": force, "version": matcher.version}
    open_run(db_path, run_id, "retag", params, taxonomy_path)
    counts: dict[str, Any] = {}
    status = "failed"
    try:
        counts = retag_stale(
            db_path,
            taxonomy_path,
            map_source_values(config, "country"),
            force,
            max(1, batch_size),
            config.workers,
        )
        status = "completed"
    finally:
        counts["seconds"] = round(time.monotonic() - started, 2)
        summary = close_run(db_path, run_id, "retag", status, counts, {})
    create_markdown_artifact(
        key="retag-summary", markdown=render_run_markdown(summary), description="retag run"
    )
    return summary
