"""Heartbeats: off for flows run on the temporary server of a command-line process, kept everywhere else."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PREFECT_STARTUP_TIMEOUT_S, REPO

PROBE = """
import json
from prefect import flow
from prefect.context import FlowRunContext
from prefect.settings import get_current_settings
from flows.settings.prefect_runs import local_run_settings

@flow
def probe():
    return get_current_settings().flows.heartbeat_frequency

with local_run_settings():
    inside = probe()
outside = get_current_settings().flows.heartbeat_frequency
print(json.dumps({"inside": inside, "outside": outside}))
"""


def run_probe(tmp_path: Path, **extra: str) -> dict:
    """Run a real flow under local_run_settings in a fresh process with its own Prefect home."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    # This test is about the temporary server, so it starts one: allow it the session server's startup time.
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="ERROR", PYTHONPATH=str(REPO),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=str(PREFECT_STARTUP_TIMEOUT_S), **extra)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_temporary_server_run_sends_no_heartbeats(tmp_path):
    seen = run_probe(tmp_path)
    assert seen == {"inside": None, "outside": 180}


def test_heartbeats_kept_for_a_standing_server_or_when_asked(prefect_harness):
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    from flows.settings.prefect_runs import local_run_settings, wants_heartbeats

    assert get_current_settings().api.url  # the harness is a standing server
    assert wants_heartbeats()
    with local_run_settings():
        assert get_current_settings().flows.heartbeat_frequency == 180
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60}), local_run_settings():
        assert get_current_settings().flows.heartbeat_frequency == 60


def test_an_explicit_heartbeat_setting_is_respected_without_a_server(monkeypatch):
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from flows.settings.prefect_runs import local_run_settings, wants_heartbeats

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert not get_current_settings().api.url
        assert not wants_heartbeats()
        monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "45")
        assert wants_heartbeats()
        before = get_current_settings().flows.heartbeat_frequency
        with local_run_settings():
            assert get_current_settings().flows.heartbeat_frequency == before is not None


STARTUP_PROBE = """
import flows.cli.app
from prefect.settings import get_current_settings
print(get_current_settings().server.ephemeral.startup_timeout_seconds)
"""


def read_cli_startup_timeout(**extra: str) -> float:
    """The temporary server's startup timeout Prefect uses in a process that loaded the command line."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(REPO), **extra)
    done = subprocess.run([sys.executable, "-c", STARTUP_PROBE], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return float(done.stdout.strip().splitlines()[-1])


def test_the_command_line_waits_longer_for_a_temporary_server_unless_told():
    """Prefect's 20 s is too short on a loaded machine: the command line allows STARTUP_TIMEOUT_S; a value the
    user set wins."""
    from flows.settings.prefect_runs import STARTUP_TIMEOUT_S

    assert read_cli_startup_timeout() == STARTUP_TIMEOUT_S
    assert read_cli_startup_timeout(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="45") == 45
