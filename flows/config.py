"""Configuration: the sources file, validated, with defaults < file < environment < flags."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from flows.dask_cluster import is_scheduler_address
from transforms.polling import PollSettings, read_poll_settings
from transforms.urls import is_http_url
from warehouse.snapshot import DEFAULT_MAX_AGE_S

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = REPO_ROOT / "seeds" / "sources.yaml"
DEFAULT_DB = Path("data") / "news.duckdb"

TOP_LEVEL_KEYS = {
    "feeds",
    "mirror",
    "allow_private_networks",
    "fetch",
    "polling",
    "taxonomy",
    "batch_size",
    "workers",
    "dask_scheduler",
    "user_agent",
    "contact_url",
    "snapshot",
}
SNAPSHOT_KEYS = {"max_age_s"}
# libyaml's safe loader reads a 500-feed file ten times faster than the pure-Python one, when it is built in.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FEED_KEYS = {"url", "name", "language", "poll_every_s", "country", "tags"}


class ConfigError(ValueError):
    """A configuration problem, described in one line that names the file and key."""


@dataclass(frozen=True)
class FeedSource:
    """One configured feed."""

    url: str
    name: str | None = None
    language: str | None = None
    poll_every_s: int | None = None
    country: str | None = None  # ISO code biasing place names towards this country
    tags: tuple[str, ...] = ()  # feed tags ("syria-desk"): the *_by_tag views count their articles


@dataclass(frozen=True)
class FetchOptions:
    """Tunable fetch limits and politeness, as read from the `fetch:` section."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    total_timeout_s: float = 60.0
    max_body_bytes: int = 10_000_000
    max_redirects: int = 5
    per_host_connections: int = 2
    per_host_delay_s: float = 1.0
    max_connections: int = 32
    respect_robots: bool = True


@dataclass(frozen=True)
class Config:
    """Everything an ingest run needs to know, validated."""

    path: Path
    feeds: tuple[FeedSource, ...]
    allow_private_networks: bool = False
    mirror_root: Path | None = None
    taxonomy_path: Path | None = None
    batch_size: int = 500
    workers: int = 0  # 0: one worker process per core
    dask_scheduler: str | None = None  # build articles on this Dask cluster instead (flows/dask_cluster.py)
    user_agent: str | None = None
    contact_url: str | None = None
    fetch: FetchOptions = field(default_factory=FetchOptions)
    polling: PollSettings = field(default_factory=PollSettings)  # see docs/fetching.md
    snapshot_max_age_s: float = DEFAULT_MAX_AGE_S  # a run that changed nothing republishes only past this age


def fail(path: Path, key: str, problem: str) -> ConfigError:
    """Build a one-line configuration error naming the file and key."""
    return ConfigError(f"{path}: {key}: {problem}")


def read_bool(path: Path, key: str, value: Any) -> bool:
    """Accept only a real YAML boolean."""
    if not isinstance(value, bool):
        raise fail(path, key, f"must be true or false, not {value!r}")
    return value


def read_positive_number(path: Path, key: str, value: Any, kind: type) -> Any:
    """Accept a non-negative int or float."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise fail(path, key, f"must be a non-negative number, not {value!r}")
    if kind is int and not float(value).is_integer():
        raise fail(path, key, f"must be a whole number, not {value!r}")
    return kind(value)


def read_scheduler_address(where: str, key: str | None, value: Any) -> str | None:
    """A Dask scheduler address (tcp://host:port), or None when not set."""
    if value is None:
        return None
    if not isinstance(value, str) or not is_scheduler_address(value):
        name = f"{where}: {key}" if key else where
        raise ConfigError(f"{name}: must be a Dask scheduler address like tcp://10.0.0.5:8786, not {value!r}")
    return value.strip()


def read_feed(path: Path, index: int, item: Any) -> FeedSource:
    """Validate one entry of `feeds:`."""
    key = f"feeds[{index}]"
    if isinstance(item, str):
        item = {"url": item}
    if not isinstance(item, dict):
        raise fail(path, key, "must be a mapping with at least `url`")
    unknown = set(item) - FEED_KEYS
    if unknown:
        raise fail(
            path, f"{key}.{sorted(unknown)[0]}", f"unknown key (allowed: {', '.join(sorted(FEED_KEYS))})"
        )
    url = item.get("url")
    if not is_http_url(url):
        raise fail(path, f"{key}.url", f"must be an http(s) URL, not {url!r}")
    for text_key in ("name", "language", "country"):
        if item.get(text_key) is not None and not isinstance(item[text_key], str):
            raise fail(path, f"{key}.{text_key}", "must be text")
    tags = item.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(tag, str) and tag.strip() for tag in tags):
        raise fail(path, f"{key}.tags", "must be a list of words")
    poll_every_s = item.get("poll_every_s")
    if poll_every_s is not None:
        poll_every_s = read_positive_number(path, f"{key}.poll_every_s", poll_every_s, int)
    return FeedSource(
        url=url.strip(),
        name=item.get("name"),
        language=item.get("language"),
        poll_every_s=poll_every_s,
        country=item.get("country"),
        tags=tuple(dict.fromkeys(tag.strip() for tag in tags)),
    )


def read_fetch_options(path: Path, section: Any) -> FetchOptions:
    """Validate the `fetch:` section against FetchOptions' fields."""
    if section is None:
        return FetchOptions()
    if not isinstance(section, dict):
        raise fail(path, "fetch", "must be a mapping")
    known = {f.name: f for f in fields(FetchOptions)}
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in known:
            raise fail(path, f"fetch.{key}", f"unknown key (allowed: {', '.join(sorted(known))})")
        default = getattr(FetchOptions(), key)
        if isinstance(default, bool):
            values[key] = read_bool(path, f"fetch.{key}", value)
        else:
            values[key] = read_positive_number(path, f"fetch.{key}", value, type(default))
    return FetchOptions(**values)


def read_polling(path: Path, section: Any) -> PollSettings:
    """Validate the `polling:` section (interval bounds, unconditional cadence, backoff)."""
    try:
        return read_poll_settings(section)
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from error


def read_snapshot_max_age_s(path: Path, section: Any) -> float:
    """Validate the `snapshot:` section (`max_age_s`: seconds; 0 republishes after every run)."""
    if section is None:
        return DEFAULT_MAX_AGE_S
    if not isinstance(section, dict):
        raise fail(path, "snapshot", "must be a mapping")
    unknown = set(section) - SNAPSHOT_KEYS
    if unknown:
        allowed = ", ".join(sorted(SNAPSHOT_KEYS))
        raise fail(path, f"snapshot.{sorted(unknown)[0]}", f"unknown key (allowed: {allowed})")
    max_age_s = section.get("max_age_s", DEFAULT_MAX_AGE_S)
    return read_positive_number(path, "snapshot.max_age_s", max_age_s, float)


def resolve_path(base: Path, value: Any, path: Path, key: str) -> Path:
    """Resolve a path given in the file relative to the file's folder."""
    if not isinstance(value, str) or not value.strip():
        raise fail(path, key, f"must be a path, not {value!r}")
    resolved = (base / value).resolve() if not os.path.isabs(value) else Path(value)
    return resolved


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a sources file; every problem is a ConfigError naming the key."""
    path = Path(path) if path else DEFAULT_SOURCES
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such sources file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from error
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"{path}: not valid YAML{line}: {getattr(error, 'problem', error)}") from error
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: must be a YAML mapping with a `feeds:` list")
    unknown = set(document) - TOP_LEVEL_KEYS
    if unknown:
        raise fail(path, sorted(unknown)[0], f"unknown key (allowed: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    raw_feeds = document.get("feeds")
    if not isinstance(raw_feeds, list) or not raw_feeds:
        raise fail(path, "feeds", "must be a non-empty list of feeds")
    feeds = tuple(read_feed(path, index, item) for index, item in enumerate(raw_feeds))
    urls = [feed.url for feed in feeds]
    repeated = sorted(url for url, times in Counter(urls).items() if times > 1)
    if repeated:
        raise fail(path, "feeds", f"feed listed twice: {repeated[0]}")
    base = path.resolve().parent
    mirror_root = None
    if document.get("mirror") is not None:
        mirror_root = resolve_path(base, document["mirror"], path, "mirror")
        if not mirror_root.is_dir():
            raise fail(path, "mirror", f"no such folder: {mirror_root}")
    taxonomy_path = None
    if document.get("taxonomy") is not None:
        taxonomy_path = resolve_path(base, document["taxonomy"], path, "taxonomy")
        if not taxonomy_path.is_file():
            raise fail(path, "taxonomy", f"no such file: {taxonomy_path}")
    config = Config(
        path=path,
        feeds=feeds,
        allow_private_networks=read_bool(
            path, "allow_private_networks", document.get("allow_private_networks", False)
        ),
        mirror_root=mirror_root,
        taxonomy_path=taxonomy_path,
        batch_size=read_positive_number(path, "batch_size", document.get("batch_size", 500), int) or 500,
        workers=read_positive_number(path, "workers", document.get("workers", 0), int),
        dask_scheduler=read_scheduler_address(str(path), "dask_scheduler", document.get("dask_scheduler")),
        user_agent=document.get("user_agent"),
        contact_url=document.get("contact_url"),
        fetch=read_fetch_options(path, document.get("fetch")),
        polling=read_polling(path, document.get("polling")),
        snapshot_max_age_s=read_snapshot_max_age_s(path, document.get("snapshot")),
    )
    return apply_environment(config)


def apply_environment(config: Config) -> Config:
    """Let NEWSDESK_* environment variables override the file."""
    changes: dict[str, Any] = {}
    if os.environ.get("NEWSDESK_ALLOW_PRIVATE_NETWORKS"):
        changes["allow_private_networks"] = os.environ["NEWSDESK_ALLOW_PRIVATE_NETWORKS"].lower() in {
            "1",
            "true",
            "yes",
        }
    if os.environ.get("NEWSDESK_WORKERS"):
        try:
            changes["workers"] = int(os.environ["NEWSDESK_WORKERS"])
        except ValueError as error:
            raise ConfigError(
                f"NEWSDESK_WORKERS: must be a whole number, not {os.environ['NEWSDESK_WORKERS']!r}"
            ) from error
    if os.environ.get("NEWSDESK_DASK_SCHEDULER"):
        changes["dask_scheduler"] = read_scheduler_address(
            "NEWSDESK_DASK_SCHEDULER", None, os.environ["NEWSDESK_DASK_SCHEDULER"]
        )
    if os.environ.get("NEWSDESK_CONTACT_URL"):
        changes["contact_url"] = os.environ["NEWSDESK_CONTACT_URL"]
    return replace(config, **changes) if changes else config
