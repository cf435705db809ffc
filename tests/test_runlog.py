"""Run bookkeeping: the topics a run stores, with or without keeping the matcher in this process."""

import json
import os
import subprocess
import sys

from flows.runlog import list_topic_rows_once
from tests.conftest import REPO
from transforms.topics import get_matcher, list_topic_rows

PROBE = """
import json
import transforms.topics as topics
from flows.runlog import list_topic_rows_once
rows = list_topic_rows_once(None)
print(json.dumps({"rows": len(rows), "kept": len(topics._MATCHERS_BY_PATH) + len(topics._MATCHERS_BY_VERSION)}))
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
