"""`make bench` smoke: the harness runs end to end on a tiny site, so that it never rots (figures not checked)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

SUMMARY = re.compile(
    r"^bench: e2e_vs_floor=(\S+) vs_peer=(\S+) nochange_s=(\S+) dedup_growth=(\S+) retag_per_s=(\S+) "
    r"peak_rss_mb=(\S+)$"
)


@pytest.mark.slow
def test_bench_quick_run_prints_the_summary_and_writes_the_table(tmp_path):
    out = tmp_path / "latest.md"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--pages", "50", "--quick", "--nochange-feeds", "20", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, last
    values = {name: float(value) for name, value in zip(
        ("e2e_vs_floor", "vs_peer", "nochange_s", "dedup_growth", "retag_per_s", "peak_rss_mb"), match.groups(),
        strict=True)}
    # Everything but the peer (an optional extra) is measured on any machine.
    assert all(value > 0 for key, value in values.items() if key != "vs_peer")
    table = out.read_text(encoding="utf-8")
    assert "| **e2e / floor** |" in table and "## Machine" in table
    assert "50 pages" in table.splitlines()[0].replace(",", "")
