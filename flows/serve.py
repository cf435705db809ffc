"""Single-process scheduling: serve the deployments of prefect.yaml (same schedules) with `prefect.serve`."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow
from prefect.schedules import Cron

from flows.settings.config import REPO_ROOT, ConfigError

PREFECT_FILE = REPO_ROOT / "prefect.yaml"
PATH_PARAMETERS = ("sources", "db", "taxonomy", "archive")


def read_deployment_specs(path: Path = PREFECT_FILE) -> list[dict[str, Any]]:
    """The `deployments:` entries of a prefect.yaml file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such file") from error
    specs = document.get("deployments") if isinstance(document, dict) else None
    if not isinstance(specs, list) or not specs:
        raise ConfigError(f"{path}: deployments: must be a non-empty list")
    return specs


def load_entrypoint(entrypoint: str) -> Flow:
    """Import the flow an entrypoint (flows/ingest.py:ingest) names, as a module of this package."""
    file_part, _, name = entrypoint.partition(":")
    module = importlib.import_module(file_part.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def resolve_parameters(parameters: dict[str, Any] | None, base: Path) -> dict[str, Any]:
    """Deployment parameters with relative paths made absolute against the project folder."""
    resolved = dict(parameters or {})
    for key in PATH_PARAMETERS:
        value = resolved.get(key)
        if isinstance(value, str) and "://" not in value and not Path(value).is_absolute():
            resolved[key] = str(base / value)
    return resolved


def build_runner_deployments(path: Path = PREFECT_FILE) -> list[Any]:
    """RunnerDeployments with the names, cron schedules, concurrency limits and parameters of prefect.yaml."""
    deployments = []
    for spec in read_deployment_specs(path):
        flow = load_entrypoint(spec["entrypoint"])
        schedules = [
            Cron(item["cron"], timezone=item.get("timezone", "UTC"))
            for item in spec.get("schedules") or []
            if "cron" in item
        ]
        deployments.append(
            flow.to_deployment(
                name=spec["name"],
                schedules=schedules or None,
                concurrency_limit=spec.get("concurrency_limit"),
                parameters=resolve_parameters(spec.get("parameters"), path.resolve().parent),
                description=spec.get("description"),
            )
        )
    return deployments


def find_pool_deployments(deployments: list[Any]) -> list[str]:
    """Names of deployments the server already runs on a work pool that serving these would overwrite."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    clashes = []
    with get_client(sync_client=True) as client:
        for deployment in deployments:
            name = f"{deployment.flow_name}/{deployment.name}"
            try:
                existing = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            if existing.work_pool_name:
                clashes.append(f"{name} (pool {existing.work_pool_name})")
    return clashes


def describe_clash(clashes: list[str]) -> str:
    """One line: which pool deployments serving would overwrite, and the ways forward."""
    names = ", ".join(clashes)
    return (
        f"this Prefect server already has {names} on a work pool; serving would overwrite them and break "
        "their runs on the worker. Run them with `prefect worker start --pool newsdesk` instead, or delete "
        "them first (`prefect deployment delete NAME`), or serve against another server (PREFECT_API_URL)"
    )

