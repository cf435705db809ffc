"""What every stage of one backfill day's sub-run needs, and the outlet defaults it gives a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flows.settings.config import Config
from flows.stages.articles import PageJob
from transforms.urls import registered_site_of


@dataclass
class DayContext:
    """What every stage of one day's sub-run needs."""

    db_path: Path
    run_id: str
    config: Config
    taxonomy_path: str | None
    countries: dict[str, str] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)


def complete_job(job: PageJob, context: DayContext) -> PageJob:
    """Give a page without a configured feed the language and country of its outlet's configured source."""
    site = registered_site_of(job.final_url)
    job.country = job.country or context.countries.get(site)
    job.language = job.language or context.languages.get(site)
    return job
