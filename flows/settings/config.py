"""Configuration: the sources file, validated, with defaults < file < NEWSDESK_* environment < flags.

Every key of the file can be set from the environment: `NEWSDESK_WORKERS=4` for a top-level key,
`NEWSDESK_FETCH__PER_HOST_DELAY_S=2` for a key of a section (docs/operations.md lists them).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    DirectoryPath,
    Field,
    FilePath,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from flows.settings.errors import ENV_NESTED_DELIMITER, ENV_PREFIX, ConfigError, describe_error
from transforms.polling import PollSettings
from transforms.urls import is_http_url

__all__ = ["Config", "ConfigError", "FeedSource", "FetchSettings", "LakeSection", "load_config"]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCES = REPO_ROOT / "seeds" / "sources.yaml"
DEFAULT_DB = Path("data") / "news.lake.sqlite"
DEFAULT_USER_AGENT = "newsdesk/0.1 (+https://github.com/newsdesk/newsdesk)"
# libyaml's safe loader reads a 500-feed file ten times faster than the pure-Python one, when it is built in.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOP_LEVEL_FETCH_KEYS = ("user_agent", "contact_url", "allow_private_networks", "mirror_root")
SNAPSHOT_NOTICE = (
    "snapshot: is no longer used: readers see every committed run of the lake at once; see docs/lake.md"
)
DASK_NOTICE = (
    "dask_scheduler is no longer used: the articles stage runs on this machine's cores;"
    " see docs/operations.md"
)


def require_http_url(value: Any) -> str:
    """An http(s) URL naming a host, stripped."""
    if not is_http_url(value):
        raise ValueError(f"must be an http(s) URL, not {value!r}")
    return value.strip()


def require_contact(value: Any) -> str:
    """A contact for the User-Agent header: an http(s) URL or a mailto: address."""
    if isinstance(value, str) and re.fullmatch(r"mailto:[^@\s]+@[^@\s]+", value.strip()):
        return value.strip()
    if not is_http_url(value):
        raise ValueError(f"must be an http(s) URL or a mailto: address, not {value!r}")
    return value.strip()


def require_path_text(value: Any) -> Any:
    """Refuse an empty path, which would mean the current folder."""
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"must be a path, not {value!r}")
    return value


HttpUrl = Annotated[str, BeforeValidator(require_http_url)]
ContactUrl = Annotated[str, BeforeValidator(require_contact)]
Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ExistingFolder = Annotated[DirectoryPath, BeforeValidator(require_path_text), AfterValidator(Path.resolve)]
ExistingFile = Annotated[FilePath, BeforeValidator(require_path_text), AfterValidator(Path.resolve)]


class FetchSettings(BaseModel):
    """Bounds, politeness and identity of the fetcher (docs/fetching.md): the `fetch:` section, with the
    file's top-level user_agent, contact_url, allow_private_networks and mirror carried in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_s: PositiveFloat = 10.0
    read_timeout_s: PositiveFloat = 20.0
    total_timeout_s: PositiveFloat = 60.0
    max_body_bytes: PositiveInt = 10_000_000
    max_redirects: NonNegativeInt = 5
    per_host_connections: PositiveInt = 2
    per_host_delay_s: NonNegativeFloat = 1.0
    max_connections: PositiveInt = 32
    respect_robots: bool = True
    max_retries: NonNegativeInt = 2  # extra attempts after a 5xx, 429, timeout or connection error
    retry_backoff_s: NonNegativeFloat = 0.5  # first retry delay; doubles each attempt
    max_retry_after_s: NonNegativeFloat = (
        10.0  # a longer Retry-After is not waited out: the host is left for later
    )
    user_agent: Word = DEFAULT_USER_AGENT
    contact_url: ContactUrl | None = None
    allow_private_networks: bool = False
    mirror_root: Path | None = None  # hosts with a folder here are answered from files (flows/http/mirror.py)

    def header_user_agent(self) -> str:
        """User-Agent header value, with the contact URL appended when set."""
        if self.contact_url and self.contact_url not in self.user_agent:
            return f"{self.user_agent} contact: {self.contact_url}"
        return self.user_agent


class FeedSource(BaseModel):
    """One configured feed: a URL alone, or a mapping with the URL and what the file says of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    name: str | None = None
    language: str | None = None
    poll_every_s: NonNegativeInt | None = None
    country: str | None = None  # ISO code biasing place names towards this country
    tags: tuple[Word, ...] = ()  # feed tags ("syria-desk"): the *_by_tag views count their articles

    @model_validator(mode="before")
    @classmethod
    def read_bare_url(cls, value: Any) -> Any:
        """`- https://host/feed.xml` is a feed with only its URL."""
        return {"url": value} if isinstance(value, str) else value

    @field_validator("tags", mode="before")
    @classmethod
    def read_tags(cls, value: Any) -> Any:
        """One tag may be given without a list; no tags at all is an empty list."""
        if value is None:
            return ()
        return [value] if isinstance(value, str) else value

    @field_validator("tags")
    @classmethod
    def drop_repeated_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        """Each tag once, in the file's order."""
        return tuple(dict.fromkeys(tags))


class LakeSection(BaseModel):
    """The `lake:` section: how long the warehouse keeps old snapshots (its time-travel window)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snapshot_retention_days: PositiveFloat = 7.0  # `newsdesk maintain` expires snapshots older than this


class Config(BaseSettings):
    """Everything a run needs to know, validated; `fetch` holds all the fetcher's settings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        env_ignore_empty=True,
        extra="forbid",
    )

    feeds: tuple[FeedSource, ...] = Field(min_length=1)
    allow_private_networks: bool = False
    user_agent: Word | None = None
    contact_url: ContactUrl | None = None
    mirror: ExistingFolder | None = None
    taxonomy: ExistingFile | None = None
    batch_size: PositiveInt = 500
    workers: NonNegativeInt = 0  # 0: one worker process per core
    fetch: FetchSettings = FetchSettings()
    polling: PollSettings = PollSettings()  # see docs/fetching.md
    lake: LakeSection = LakeSection()
    # Deprecated and ignored: load_config warns and drops it; None until the readers in flows/ are gone.
    dask_scheduler: None = None
    _path: Path = PrivateAttr(default=DEFAULT_SOURCES)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: load_config layers file, environment and flags itself, so that an error
        can name where its value came from."""
        return (init_settings,)

    @field_validator("feeds")
    @classmethod
    def refuse_repeated_feeds(cls, feeds: tuple[FeedSource, ...]) -> tuple[FeedSource, ...]:
        """A feed listed twice is a mistake in the file, not two feeds."""
        seen: set[str] = set()
        for feed in feeds:
            if feed.url in seen:
                raise ValueError(f"feed listed twice: {feed.url}")
            seen.add(feed.url)
        return feeds

    @field_validator("fetch", mode="before")
    @classmethod
    def refuse_top_level_keys(cls, section: Any) -> Any:
        """user_agent, contact_url, allow_private_networks and mirror are set at the top of the file."""
        if isinstance(section, Mapping):
            for key in TOP_LEVEL_FETCH_KEYS:
                if key in section:
                    raise ValueError(f"{key} is set at the top level of the file, not under fetch:")
        return section

    @model_validator(mode="after")
    def carry_identity_into_fetch(self, info: ValidationInfo) -> Config:
        """Give the fetcher the file's top-level switches, and remember which file this is."""
        identity: dict[str, Any] = {
            "allow_private_networks": self.allow_private_networks,
            "mirror_root": self.mirror,
            "contact_url": self.contact_url,
        }
        if self.user_agent:
            identity["user_agent"] = self.user_agent
        self.fetch = self.fetch.model_copy(update=identity)
        if info.context and info.context.get("path"):
            self._path = Path(info.context["path"])
        return self

    @property
    def path(self) -> Path:
        """The sources file this was read from."""
        return self._path

    @property
    def mirror_root(self) -> Path | None:
        """The folder of mirrored hosts, or None."""
        return self.mirror

    @property
    def taxonomy_path(self) -> Path | None:
        """The file's own taxonomy, or None for the bundled one."""
        return self.taxonomy

    @property
    def snapshot_retention_days(self) -> float:
        """Days of lake snapshots that maintenance keeps (how far `sql --as-of` reaches back)."""
        return self.lake.snapshot_retention_days


def read_sources_file(path: Path) -> dict[str, Any]:
    """The file's mapping, with relative `mirror` and `taxonomy` made relative to the file's folder."""
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
    folder = path.resolve().parent
    for key in ("mirror", "taxonomy"):
        value = document.get(key)
        if isinstance(value, str) and value.strip() and not os.path.isabs(value):
            document[key] = str(folder / value)
    return document


def read_environment() -> dict[str, Any]:
    """The NEWSDESK_* variables that name a key, nested by section (values still text)."""
    try:
        return EnvSettingsSource(Config)()
    except SettingsError as error:
        field = re.search(r'field "(\w+)"', str(error))
        name = f"{ENV_PREFIX}{field.group(1).upper()}" if field else f"{ENV_PREFIX}*"
        raise ConfigError(f"{name}: must be JSON (a list or a mapping): {error.__cause__ or error}") from None


@functools.cache
def warn_once(line: str) -> None:
    """Print a warning line on stderr once per process (a command loads its file more than once)."""
    print(f"newsdesk: warning: {line}", file=sys.stderr)


def merge_layers(lower: Mapping[str, Any], upper: Mapping[str, Any]) -> dict[str, Any]:
    """`lower` with `upper`'s values over it, section by section."""
    merged = dict(lower)
    for key, value in upper.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_layers(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read and validate a sources file under the NEWSDESK_* environment and `overrides` (flags, flow
    parameters); every problem is a ConfigError of one line naming the file or variable and the key."""
    path = Path(path) if path else DEFAULT_SOURCES
    layers = {
        str(path): read_sources_file(path),
        "environment": read_environment(),
        "command line": dict(overrides or {}),
    }
    for where, layer in layers.items():
        if layer.pop("snapshot", None) is not None:
            warn_once(f"{where}: {SNAPSHOT_NOTICE}")
        if layer.pop("dask_scheduler", None) is not None:
            warn_once(
                f"{ENV_PREFIX}DASK_SCHEDULER: {DASK_NOTICE}"
                if where == "environment"
                else f"{where}: {DASK_NOTICE}"
            )
    values = functools.reduce(merge_layers, layers.values(), {})
    try:
        return Config.model_validate(values, context={"path": path})
    except ValidationError as error:
        raise ConfigError(describe_error(error, Config, str(path), layers)) from None
