"""Named SQL statements kept as .sql files under warehouse/queries/."""

from __future__ import annotations

from functools import cache
from pathlib import Path

QUERIES_DIR = Path(__file__).parent / "queries"


@cache
def read_sql(name: str) -> str:
    """Return the text of warehouse/queries/<name>.sql."""
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")
