"""Prefect settings for the flow runs that the command line starts in this process."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager

# Prefect gives its temporary server 20 s to start; a loaded machine can take longer, and a scheduled run
# should wait for it rather than fail. Used unless the user set the variable.
STARTUP_TIMEOUT_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
STARTUP_TIMEOUT_S = 120
HEARTBEAT_VARIABLES = ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")
TEMPORARY_SERVER_HINT = (
    "newsdesk: no Prefect server configured: starting a temporary one for this run (~10 s); "
    "`newsdesk server start` keeps one running"
)


def allow_slow_server_start(environment: MutableMapping[str, str] = os.environ) -> None:
    """Give Prefect's temporary server STARTUP_TIMEOUT_S to start, unless the environment already says."""
    environment.setdefault(STARTUP_TIMEOUT_VARIABLE, str(STARTUP_TIMEOUT_S))


def wants_heartbeats() -> bool:
    """Whether flow runs should send heartbeats: to a standing Prefect server, or when the user set them."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url:
        return True
    if any(os.environ.get(name) for name in HEARTBEAT_VARIABLES):
        return True
    default = type(settings.flows).model_fields["heartbeat_frequency"].default
    return settings.flows.heartbeat_frequency != default


@contextmanager
def standing_server_settings() -> Iterator[str | None]:
    """Point Prefect at the `newsdesk server start` server when no API URL is set and it answers.

    Yields the API URL in use (None: Prefect will start its temporary server, and a one-line hint says so).
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from flows.settings.local_server import running_server_url

    configured = get_current_settings().api.url
    if configured:
        yield configured
        return
    url = running_server_url()
    if url is None:
        print(TEMPORARY_SERVER_HINT, file=sys.stderr)
        yield None
        return
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url


@contextmanager
def local_run_settings() -> Iterator[None]:
    """Run flows on the standing local server if there is one, else without heartbeats on the temporary one.

    Heartbeats let a standing server mark a run as crashed when its process dies; a temporary server dies
    with the process, so nobody could read them. Prefect also joins the heartbeat thread when a flow ends,
    and that thread sleeps in whole seconds: up to a second added to every short run.
    """
    with standing_server_settings():
        if wants_heartbeats():
            yield
            return
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield
