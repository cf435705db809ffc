"""A self-contained HTML report (and its PNG): topics over time, top outlets, biggest story clusters."""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from warehouse.db import Connection
from warehouse.reports import select_biggest_clusters, select_main_topic_days, select_top_outlets
from warehouse.search import resolve_topic

StepCallback = Callable[[str], None]

# Colour-blind-safe qualitative palette (Okabe–Ito), grey kept for "other".
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
OTHER_COLOUR = "#BBBBBB"
OTHER_LABEL = "other"
BAR_HEIGHT = 0.7
MIN_BAR_SLOTS = 6
MAX_BAR_DAYS = 120  # beyond this, daily bars become a stacked area


class ReportError(RuntimeError):
    """The report cannot be made from this warehouse."""


@dataclass
class ReportData:
    """Everything the report shows, read from the warehouse in one go."""

    topic_label: str | None
    days: list[date] = field(default_factory=list)
    series: dict[str, list[int]] = field(default_factory=dict)  # main topic → distinct stories per day
    outlets: list[tuple[str, int, int]] = field(default_factory=list)  # source, stories, repeats
    clusters: list[dict[str, Any]] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    @property
    def stories(self) -> int:
        """Distinct stories in the report's scope."""
        return sum(sum(counts) for counts in self.series.values())


def fill_days(first: date, last: date) -> list[date]:
    """Every day from first to last, so that quiet days show as gaps rather than vanish."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def collect_report_data(connection: Connection, topic: str | None = None, max_topics: int = 8,
                        max_outlets: int = 12, max_clusters: int = 10) -> ReportData:
    """Read the report's numbers: stories per day by main topic, top outlets and biggest clusters."""
    topic_id, label = resolve_topic(connection, topic) if topic else (None, None)
    data = ReportData(topic_label=label)
    rows = select_main_topic_days(connection, topic_id, max_topics)
    if not rows:
        return data
    data.days = fill_days(min(r[0] for r in rows), max(r[0] for r in rows))
    index = {day: n for n, day in enumerate(data.days)}
    totals: dict[str, int] = {}
    for _day, name, stories in rows:
        totals[name] = totals.get(name, 0) + stories
    # Biggest series at the bottom of the stack; "other" always on top.
    order = sorted(totals, key=lambda name: (name == OTHER_LABEL, -totals[name], name))
    data.series = {name: [0] * len(data.days) for name in order}
    for day, name, stories in rows:
        data.series[name][index[day]] = stories
    data.outlets = select_top_outlets(connection, topic_id, max_outlets)
    data.clusters = select_biggest_clusters(connection, topic_id, max_clusters)
    return data


def shorten(text: str | None, width: int) -> str:
    """Cut a label to `width` characters with an ellipsis."""
    text = " ".join((text or "(untitled)").split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def draw_topics(axes: Any, data: ReportData) -> None:
    """Stacked daily bars of distinct stories by main topic."""
    colours = [OTHER_COLOUR if name == OTHER_LABEL else PALETTE[n % len(PALETTE)]
               for n, name in enumerate(data.series)]
    if len(data.days) > MAX_BAR_DAYS:
        # Thousands of bar patches draw slowly and read badly: a stepped stacked area shows the same counts.
        axes.stackplot(data.days, *data.series.values(), labels=list(data.series), colors=colours, step="mid")
    else:
        bottoms = [0] * len(data.days)
        for (name, counts), colour in zip(data.series.items(), colours, strict=True):
            axes.bar(data.days, counts, bottom=bottoms, width=0.8, label=name, color=colour,
                     edgecolor="white", linewidth=0.4)
            bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    scope = f"tagged {data.topic_label}" if data.topic_label else "all topics"
    axes.set_title(f"Distinct stories per day by main topic ({scope})", loc="left", fontsize=12)
    axes.set_ylabel("stories")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    axes.grid(axis="y", alpha=0.3)
    locator = AutoDateLocator(minticks=3, maxticks=12)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def style_bar_axes(axes: Any, bars: int) -> None:
    """Integer ticks, a light grid, and room for a few bars so that one bar is not a slab."""
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="x", alpha=0.3)
    axes.set_ylim(bars - 0.4 - max(bars, MIN_BAR_SLOTS), bars - 0.4)  # bars from the top, blank below


def draw_outlets(axes: Any, data: ReportData) -> None:
    """Horizontal bars: distinct stories per outlet, repeats stacked after them."""
    outlets = list(reversed(data.outlets))
    names = [shorten(source, 28) for source, _, _ in outlets]
    stories = [row[1] for row in outlets]
    repeats = [row[2] for row in outlets]
    axes.barh(names, stories, height=BAR_HEIGHT, color=PALETTE[0], label="distinct stories")
    axes.barh(names, repeats, left=stories, height=BAR_HEIGHT, color=PALETTE[5], label="repeats")
    axes.set_title("Top outlets", loc="left", fontsize=12)
    axes.set_xlabel("pages")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False, fontsize=9)
    style_bar_axes(axes, len(names))


def draw_clusters(axes: Any, data: ReportData) -> None:
    """Horizontal bars: pages per story for the biggest clusters."""
    clusters = list(reversed(data.clusters))
    if not clusters:
        axes.text(0.5, 0.5, "no repeated stories yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
    else:
        names = [shorten(c["title"], 40) for c in clusters]
        axes.barh(names, [c["pages"] for c in clusters], height=BAR_HEIGHT, color=PALETTE[1])
        for n, cluster in enumerate(clusters):
            outlets = cluster["outlets"]
            axes.text(cluster["pages"], n, f"  {outlets} outlet{'s' if outlets != 1 else ''}", va="center",
                      fontsize=8)
        axes.set_xlabel("pages carrying the story")
        axes.set_xlim(0, max(c["pages"] for c in clusters) * 1.2)
        style_bar_axes(axes, len(names))
    axes.set_title("Biggest story clusters", loc="left", fontsize=12)


def render_png(data: ReportData, dpi: int = 100) -> bytes:
    """Draw the three charts into one PNG."""
    figure = Figure(figsize=(13, 10), dpi=dpi, layout="constrained")
    grid = figure.add_gridspec(2, 2, height_ratios=[1.1, 1])
    draw_topics(figure.add_subplot(grid[0, :]), data)
    draw_outlets(figure.add_subplot(grid[1, 0]), data)
    draw_clusters(figure.add_subplot(grid[1, 1]), data)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def render_html(data: ReportData, png: bytes) -> str:
    """A self-contained page: the charts as an embedded PNG and the tables behind them."""
    title = f"newsdesk report — {data.topic_label}" if data.topic_label else "newsdesk report"
    span = f"{data.days[0]} to {data.days[-1]}" if data.days else "no stories"
    outlet_rows = "".join(
        f"<tr><td>{html.escape(source)}</td><td class=n>{stories}</td><td class=n>{repeats}</td></tr>"
        for source, stories, repeats in data.outlets
    )
    cluster_rows = "".join(
        f"<tr><td><a href=\"{html.escape(c['canonical_url'], quote=True)}\">"
        f"{html.escape(shorten(c['title'], 120))}</a></td><td>{html.escape(c['source'])}</td>"
        f"<td>{c['day']}</td><td class=n>{c['pages']}</td><td class=n>{c['outlets']}</td></tr>"
        for c in data.clusters
    ) or "<tr><td colspan=5>no repeated stories yet</td></tr>"
    image = base64.b64encode(png).decode("ascii")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1320px; padding: 0 1rem; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }} .meta {{ color: #666; margin-top: 0; }}
img {{ max-width: 100%; height: auto; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: .5rem 0 1.5rem; width: 100%; }}
th, td {{ border-bottom: 1px solid #e5e5e5; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
th {{ background: #f6f6f6; }} .n {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="meta">{data.stories} distinct stories, {span} (published dates, UTC). Generated
{data.generated_at:%Y-%m-%d %H:%M} UTC.</p>
<img alt="Stories per day by topic, top outlets and biggest clusters" src="data:image/png;base64,{image}">
<h2>Top outlets</h2>
<table><tr><th>outlet</th><th class=n>distinct stories</th><th class=n>repeats</th></tr>{outlet_rows}</table>
<h2>Biggest story clusters</h2>
<table><tr><th>story</th><th>outlet</th><th>published</th><th class=n>pages</th><th class=n>outlets</th></tr>
{cluster_rows}</table>
</body></html>
"""


def write_atomically(path: Path, payload: bytes) -> None:
    """Write a file so that a reader never sees half of it."""
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_bytes(payload)
    os.replace(staging, path)


def write_report(connection: Connection, out: str | Path, topic: str | None = None,
                 on_step: StepCallback | None = None) -> tuple[Path, Path]:
    """Render the report to `out` (HTML) and the same charts beside it as PNG; return both paths."""
    out = Path(out)
    if out.suffix.lower() not in {".html", ".htm"}:
        raise ReportError(f"the report is an HTML file: give --out a .html name, not {out.name!r}")
    step = on_step or (lambda _name: None)
    step("query")
    data = collect_report_data(connection, topic)
    if not data.days:
        scope = f" tagged {data.topic_label}" if data.topic_label else ""
        raise ReportError(f"no stories{scope} in the warehouse yet (run `newsdesk ingest` first)")
    step("draw")
    png = render_png(data)
    step("write")
    out.parent.mkdir(parents=True, exist_ok=True)
    png_path = out.with_suffix(".png")
    write_atomically(png_path, png)
    write_atomically(out, render_html(data, png).encode("utf-8"))
    return out, png_path
