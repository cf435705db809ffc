"""The articles stage on a Dask cluster: the same articles as this machine's processes, and nothing lost when
the cluster is away or a chunk fails there."""

from __future__ import annotations

import logging
import socket

import duckdb
import pytest

from bench.site import SiteServer, build_site, run_server, write_sources
from flows import dask_cluster
from flows.articles import PageJob, build_articles, close_pool
from flows.config import ConfigError, load_config
from tests.conftest import REPO

distributed = pytest.importorskip("distributed")  # in the test extra: skipped only where someone removed it

NO_CORPUS = REPO / "no-such-corpus"  # the bench site from the seed pages, whatever ../shared holds


@pytest.fixture(scope="module")
def cluster():
    """A real Dask cluster on 127.0.0.1: a scheduler and two single-threaded worker processes."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local
    dask_cluster.close_cluster_clients()


@pytest.fixture(scope="module")
def page_jobs() -> list[PageJob]:
    site = build_site(24, "http://127.0.0.1:9", corpus=NO_CORPUS)
    return [
        PageJob(url=f"http://127.0.0.1:9{site.page_path(i)}", final_url=f"http://127.0.0.1:9{site.page_path(i)}",
                body=site.page_body(i), feed_url="http://127.0.0.1:9/feeds/0.xml", entry_title=f"Story {i}")
        for i in range(site.page_count)
    ]


def count_chunks_built() -> int:
    """Run on a worker: how many chunks that process has built (flows.articles keeps the count)."""
    from flows import articles

    return articles._chunks_built


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_cluster_builds_the_articles_this_machine_would(cluster, page_jobs):
    here = build_articles(page_jobs, workers=1, use_pool=False)
    client = dask_cluster.get_cluster_client(cluster.scheduler_address)
    before = sum(client.run(count_chunks_built).values())
    there = build_articles(page_jobs, workers=1, scheduler=cluster.scheduler_address)
    built = sum(client.run(count_chunks_built).values())
    assert built > before  # the chunks were built in the cluster's worker processes
    assert there == here
    assert [outcome.url for outcome in there] == [job.url for job in page_jobs]
    assert sum(outcome.article is not None for outcome in there) > len(page_jobs) // 2
    assert any(outcome.article.topics for outcome in there if outcome.article)


def test_a_taxonomy_of_the_run_travels_to_the_workers(cluster, page_jobs, tmp_path):
    taxonomy = (REPO / "seeds" / "taxonomy.yaml").read_text(encoding="utf-8")
    custom = tmp_path / "taxonomy.yaml"
    custom.write_text(taxonomy.replace("version:", "version: cluster-test-", 1), encoding="utf-8")
    outcomes = build_articles(page_jobs[:6], str(custom), workers=1, scheduler=cluster.scheduler_address)
    versions = {tag.taxonomy_version for o in outcomes if o.article for tag in o.article.topics}
    assert versions and all(version.startswith("cluster-test-") for version in versions)


def test_an_unreachable_scheduler_leaves_the_work_to_this_machine(page_jobs, monkeypatch, caplog):
    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT_S", 1.0)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    with caplog.at_level(logging.WARNING):
        outcomes = build_articles(page_jobs[:4], workers=1, scheduler=address)
    close_pool()
    assert outcomes == build_articles(page_jobs[:4], workers=1, use_pool=False)
    assert any(address in record.getMessage() for record in caplog.records)


def fail_on_odd(chunk: int) -> int:
    if chunk % 2:
        raise ValueError(f"chunk {chunk} failed")
    return chunk * 10


def test_a_failed_chunk_comes_back_as_its_error_in_order(cluster):
    results = dask_cluster.run_on_cluster(cluster.scheduler_address, fail_on_odd, [0, 1, 2, 3])
    assert [result for result, _ in results] == [0, None, 20, None]
    assert [str(error) if error else None for _, error in results] == [None, "chunk 1 failed", None, "chunk 3 failed"]


def test_the_scheduler_address_is_checked_when_the_config_is_read(tmp_path, monkeypatch):
    sources = tmp_path / "sources.yaml"
    sources.write_text("feeds: [{url: 'http://127.0.0.1:9/feed.xml'}]\ndask_scheduler: 'not an address'\n")
    with pytest.raises(ConfigError, match=r"dask_scheduler: must be a Dask scheduler address"):
        load_config(sources)
    sources.write_text("feeds: [{url: 'http://127.0.0.1:9/feed.xml'}]\ndask_scheduler: tcp://10.0.0.5:8786\n")
    assert load_config(sources).dask_scheduler == "tcp://10.0.0.5:8786"
    monkeypatch.setenv("NEWSDESK_DASK_SCHEDULER", "127.0.0.1:9999")
    assert load_config(sources).dask_scheduler == "127.0.0.1:9999"
    monkeypatch.setenv("NEWSDESK_DASK_SCHEDULER", "tcp://")
    with pytest.raises(ConfigError, match="NEWSDESK_DASK_SCHEDULER"):
        load_config(sources)


@pytest.mark.slow
def test_an_ingest_run_builds_its_articles_on_the_cluster(prefect_harness, cluster, tmp_path):
    from flows.ingest import ingest

    client = dask_cluster.get_cluster_client(cluster.scheduler_address)
    before = sum(client.run(count_chunks_built).values())
    server = SiteServer()
    site = build_site(40, server.origin, items_per_feed=20, corpus=NO_CORPUS)
    server.publish(site)
    with run_server(server):
        sources = write_sources(tmp_path / "sources.yaml", server.origin, site.feed_paths, batch_size=20)
        text = sources.read_text(encoding="utf-8")
        sources.write_text(text + f"dask_scheduler: {cluster.scheduler_address}\n", encoding="utf-8")
        summary = ingest(sources=str(sources), db=str(tmp_path / "news.duckdb"))
    assert summary["status"] == "completed"
    client = dask_cluster.get_cluster_client(cluster.scheduler_address)  # the run let go of its own
    assert sum(client.run(count_chunks_built).values()) > before
    with duckdb.connect(str(tmp_path / "news.duckdb"), read_only=True) as connection:
        articles, tagged = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE article_id IN (SELECT article_id FROM article_topics)) "
            "FROM articles"
        ).fetchone()
    assert articles == summary["counts"]["loaded_articles"] > 30
    assert tagged > 0
