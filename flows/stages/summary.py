"""Run summaries as Markdown (for Prefect artifacts) and as rich tables (for the terminal)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

SUMMARY_ROWS = [
    ("feeds polled", "feeds_due"),
    ("feeds changed", "feeds_ok"),
    ("feeds unchanged (304)", "feeds_unchanged"),
    ("feeds failed", "feeds_failed"),
    ("entries seen", "entries_seen"),
    ("entries new", "entries_new"),
    ("entries left by an earlier run", "entries_resumed"),  # shown only when there were some
    ("pages fetched", "pages_fetched"),
    ("pages left pending (host asked to wait)", "pages_deferred"),  # shown only when there were some
    ("articles added", "loaded_articles"),
    ("duplicates (url)", "loaded_url_duplicates"),
    ("topic tags added", "loaded_article_topics"),
    ("sources flagged: extraction drift", "extraction_alarms"),  # shown only when there were some
    ("seconds", "seconds"),
]
ROWS_SHOWN_WHEN_SET = frozenset({"entries_resumed", "pages_deferred", "extraction_alarms"})


def summary_pairs(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The run summary as (label, value) pairs in display order, failures last."""
    counts = summary.get("counts", {})
    pairs = [
        (label, str(counts.get(key, 0)))
        for label, key in SUMMARY_ROWS
        if counts.get(key) or key not in ROWS_SHOWN_WHEN_SET
    ]
    pairs.extend((f"failed: {reason}", str(number)) for reason, number in summary.get("failures", {}).items())
    return pairs


def render_markdown(summary: dict[str, Any]) -> str:
    """Render a run summary as a Markdown table."""
    lines = [
        f"## ingest run `{summary.get('run_id')}`: {summary.get('status')}",
        "",
        "| what | count |",
        "|---|---|",
    ]
    lines.extend(f"| {label} | {value} |" for label, value in summary_pairs(summary))
    lines.extend(render_alarms(summary.get("extraction_alarms") or []))
    return "\n".join(lines) + "\n"


def describe_alarm(alarm: dict[str, Any]) -> str:
    """One flagged source in words: its empty-or-short share this run against its baseline."""
    return (
        f"{alarm['source']}: {alarm['failed_share']:.0%} of {alarm['pages']} pages empty or too short "
        f"(baseline {alarm['baseline_share']:.0%} of {alarm['baseline_pages']})"
    )


def render_alarms(alarms: list[dict[str, Any]]) -> list[str]:
    """Markdown lines naming the sources the extraction check flagged (none: no lines)."""
    if not alarms:
        return []
    return ["", "### extraction drift: sources flagged", "", *(f"- {describe_alarm(a)}" for a in alarms)]


def render_table(summary: dict[str, Any]) -> Table:
    """Render a run summary as a rich table."""
    table = Table(title=f"ingest {summary.get('status')}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in summary_pairs(summary):
        table.add_row(label, value)
    for alarm in summary.get("extraction_alarms") or []:
        table.add_row("flagged", describe_alarm(alarm))
    return table
