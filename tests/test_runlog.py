"""Run bookkeeping: the topics a run stores, with or without keeping the matcher in this process."""

import json
import os
import subprocess
import sys

from flows.stages.matchers import get_matcher
from flows.stages.runlog import list_topic_rows_once
from tests.conftest import REPO
from transforms.topic_matcher import list_topic_rows
from warehouse.db import open_warehouse

PROBE = """
import json
import flows.stages.matchers as matchers
from flows.stages.runlog import list_topic_rows_once
rows = list_topic_rows_once(None)
print(json.dumps({"rows": len(rows), "kept": len(matchers._MATCHERS_BY_PATH) + len(matchers._MATCHERS_BY_VERSION)}))
"""


def test_topic_rows_once_are_the_kept_matchers_rows():
    assert list_topic_rows_once(None) == list_topic_rows(get_matcher(None))


def test_topic_rows_once_leave_no_matcher_in_the_process():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["rows"] > 1000  # taxonomy topics and gazetteer places
    assert seen["kept"] == 0


def test_a_run_with_the_stored_taxonomy_builds_no_matcher(tmp_path, monkeypatch):

    import flows.stages.runlog as runlog

    db = tmp_path / "news.duckdb"
    runlog.open_run(db, "r1", "ingest", {}, keep_matcher=False)
    with open_warehouse(db, read_only=True) as connection:
        stored = connection.execute("SELECT count(*), min(taxonomy_version) FROM topics").fetchone()
    assert stored[0] > 1000

    def refuse(_path):
        raise AssertionError("the topics of this taxonomy version are stored: no matcher needed")

    monkeypatch.setattr(runlog, "list_topic_rows_once", refuse)
    runlog.open_run(db, "r2", "ingest", {}, keep_matcher=False)
    with open_warehouse(db, read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
        assert connection.execute("SELECT count(*), min(taxonomy_version) FROM topics").fetchone() == stored

    edited = tmp_path / "taxonomy.yaml"
    edited.write_text((REPO / "seeds" / "taxonomy.yaml").read_text(encoding="utf-8") + "\n# edited\n")
    monkeypatch.undo()
    runlog.open_run(db, "r3", "ingest", {}, taxonomy_path=str(edited), keep_matcher=False)
    with open_warehouse(db, read_only=True) as connection:
        versions = connection.execute("SELECT DISTINCT taxonomy_version FROM topics").fetchall()
    assert versions != [(stored[1],)]  # an edited taxonomy is a new version: its topics are stored
