"""Prefect settings for the flow runs that the command line starts in this process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

HEARTBEAT_VARIABLES = ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")


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
def local_run_settings() -> Iterator[None]:
    """Run flows without heartbeats when their server is the temporary one that ends with this process.

    Heartbeats let a standing server mark a run as crashed when its process dies; a temporary server dies
    with the process, so nobody could read them. Prefect also joins the heartbeat thread when a flow ends,
    and that thread sleeps in whole seconds: up to a second added to every short run.
    """
    if wants_heartbeats():
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
