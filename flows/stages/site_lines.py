"""With a batch's pages (its pages stage): the boilerplate lines of its pages' sites, as the warehouse knows
them (rule in transforms/site_lines.py). Apart from flows/stages/articles.py, whose workers never import
DuckDB."""

from __future__ import annotations

from pathlib import Path

from flows.stages.articles import PageJob
from transforms.outlets import outlet_of
from transforms.site_lines import choose_site_boilerplate
from warehouse.clock import now_utc
from warehouse.db import write_session
from warehouse.site_lines import select_site_line_counts


def read_site_lines(db_path: str | Path, jobs: list[PageJob]) -> dict[str, frozenset[int]]:
    """Each of the batch's sites' boilerplate line fingerprints (sites without any are left out)."""
    sites = sorted({outlet_of(job.final_url) for job in jobs} - {""})
    if not sites:
        return {}
    with write_session(db_path) as connection:  # the process's writing instance, as plan_batch reads
        counts = select_site_line_counts(connection, sites, now_utc())
    return choose_site_boilerplate(counts)
