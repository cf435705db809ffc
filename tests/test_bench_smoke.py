"""`make bench` smoke: the harness runs end to end on a tiny site, so that it never rots (figures not checked)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
import pytest

from bench.memory import (
    Resident,
    TreeSampler,
    read_command,
    read_pss_bytes,
    read_resident,
    read_shared_pss_bytes,
)
from tests.conftest import REPO

SUMMARY = re.compile(
    r"^bench: e2e_vs_floor=(\S+) vs_peer=(\S+) nochange_s=(\S+) dedup_growth=(\S+) retag_per_s=(\S+) "
    r"peak_rss_mb=(\S+) peak_pss_mb=(\S+) run_cost_growth=(?:\S+) reader_lag_s=(?:\S+) search_ms=(?:\S+)$"
)


def count_ingest_runs(api_url: str) -> int:
    """How many flow runs of `ingest` the Prefect server at `api_url` holds."""
    reply = httpx.post(f"{api_url}/flow_runs/count", json={"flows": {"name": {"any_": ["ingest"]}}}, timeout=30)
    reply.raise_for_status()
    return int(reply.json())


@pytest.mark.slow
def test_bench_quick_run_prints_the_summary_and_writes_the_table(prefect_harness, tmp_path):
    out = tmp_path / "latest.md"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "BENCH_PREFECT_API_URL": prefect_harness}
    env.pop("PREFECT_API_URL", None)
    runs_before = count_ingest_runs(prefect_harness)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--pages", "50", "--quick", "--nochange-feeds", "20", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, last
    values = {name: float(value) for name, value in zip(
        ("e2e_vs_floor", "vs_peer", "nochange_s", "dedup_growth", "retag_per_s", "peak_rss_mb", "peak_pss_mb"),
        match.groups(),
        strict=True)}
    # Everything but the peer (an optional extra) is measured on any machine.
    assert all(value > 0 for key, value in values.items() if key != "vs_peer")
    table = out.read_text(encoding="utf-8")
    assert "| **e2e / floor** |" in table and "## Machine" in table
    assert "50 pages" in table.splitlines()[0].replace(",", "")
    # The bench's children ran on the session's server, not on temporary servers of their own.
    assert count_ingest_runs(prefect_harness) > runs_before


CHILD_HOLDING_64_MIB = (
    "import sys, time\n"
    "block = bytearray(64 * 2**20)\n"
    "for i in range(0, len(block), 4096): block[i] = 1\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
)


def test_tree_sampler_sums_pss_below_rss_and_counts_a_childs_heap():
    parent = subprocess.Popen([sys.executable, "-c", CHILD_HOLDING_64_MIB], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        sampler = TreeSampler(parent.pid)
        sampler.sample()
        sampler.sample()
        exact_pss_mb = read_pss_bytes(parent.pid) / 2**20
        command = read_command(parent.pid)
    finally:
        parent.communicate("\n", timeout=30)
    assert sampler.samples == 2
    assert sampler.peak_pss_mb >= 64 and exact_pss_mb >= 64  # the touched block is anonymous, private memory
    # The Python binary and its libraries are shared with this process: PSS counts only a share of them.
    assert sampler.peak_pss_mb < sampler.peak_mb
    assert [label for label, _ in sampler.peak_pss_processes] == [command]


def test_a_gone_process_reads_as_zero_and_unknown():
    beyond_pid_max = 2**22 + 1  # Linux never hands out a process id above 2**22
    assert read_resident(beyond_pid_max) == Resident()
    assert read_shared_pss_bytes(beyond_pid_max) is None
