"""Extraction drift per site: flag a source whose share of empty or too-short pages in this run jumps above
its trailing baseline (docs/extraction.md)."""

from __future__ import annotations

from dataclasses import dataclass

BASELINE_DAYS = 14  # the trailing window the baseline is taken over
MIN_PAGES = 3  # pages of the source this run: fewer say nothing
MIN_BASELINE_PAGES = 5  # pages of the source in the window: a new source has no baseline yet
MIN_RISE = 0.3  # the share must rise by this much over the baseline (0.05 -> 0.35) ...
MIN_SHARE = 0.5  # ... and reach at least half of the run's pages


@dataclass(slots=True, frozen=True)
class SourceCounts:
    """Pages of one source in this run and in the baseline window, and how many were empty or short."""

    source: str
    pages: int
    failed: int
    baseline_pages: int
    baseline_failed: int


@dataclass(slots=True, frozen=True)
class DriftAlarm:
    """A source whose extraction got worse this run than over its baseline window."""

    source: str
    pages: int
    failed_share: float
    baseline_pages: int
    baseline_share: float


def check_source(counts: SourceCounts) -> DriftAlarm | None:
    """An alarm when this run's empty-or-short share jumps above the baseline's, else None."""
    if counts.pages < MIN_PAGES or counts.baseline_pages < MIN_BASELINE_PAGES:
        return None
    share = counts.failed / counts.pages
    baseline = counts.baseline_failed / counts.baseline_pages
    if share < MIN_SHARE or share - baseline < MIN_RISE:
        return None
    return DriftAlarm(counts.source, counts.pages, round(share, 3), counts.baseline_pages, round(baseline, 3))


def flag_drifting_sources(rows: list[SourceCounts]) -> list[DriftAlarm]:
    """The alarms of every source whose extraction drifted, by source."""
    alarms = [check_source(row) for row in rows]
    return sorted((alarm for alarm in alarms if alarm is not None), key=lambda alarm: alarm.source)
