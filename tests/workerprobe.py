"""A function sent to worker processes by tests, to see what a worker has imported."""

from __future__ import annotations

import sys


def list_heavy_modules() -> list[str]:
    """Which of the parent's heavy modules this process has imported."""
    return sorted(name for name in ("prefect", "pytest", "duckdb") if name in sys.modules)
