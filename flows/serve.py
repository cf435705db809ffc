"""Single-process scheduling: serve the deployments of prefect.yaml (same schedules) with `prefect.serve`."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow
from prefect.schedules import Cron

from flows.config import REPO_ROOT, ConfigError

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


def serve_deployments(path: Path = PREFECT_FILE) -> None:
    """Serve every deployment of prefect.yaml from this process until interrupted."""
    from prefect import serve

    serve(*build_runner_deployments(path))
