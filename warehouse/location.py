"""Where a warehouse lives: a `--db` value read as the DuckLake it names.

`--db` keeps meaning "this warehouse" across the move to a lake:
- `data/news.lake.sqlite` (a `.sqlite` path) is the lake's SQLite catalog itself;
- any other path, such as the old `data/news.duckdb`, names the lake beside it: `data/news.lake.sqlite`,
  with its Parquet data in `data/news.lake.files/` and raw page bodies in `data/news.lake.pages/`;
- `postgresql://…` (or `postgres:…`) is a PostgreSQL catalog; its data folder, which every writer must reach,
  comes from `NEWSDESK_LAKE_DATA_PATH`.
"""

from __future__ import annotations

import os
from pathlib import Path

from warehouse.lake import LakeSettingError, LakeSettings, resolve_data_path

LAKE_SUFFIX = ".lake.sqlite"
POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgres:")
DATA_PATH_VARIABLE = "NEWSDESK_LAKE_DATA_PATH"
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of a DuckDB database file


class SingleFileWarehouse(RuntimeError):
    """A `--db` path is a single-file warehouse from before the lake, not yet moved into it."""


def is_postgres(db: str | Path) -> bool:
    """Tell whether a `--db` value is a PostgreSQL catalog's connection string."""
    return restore_uri(str(db)).startswith(POSTGRES_PREFIXES)


def restore_uri(text: str) -> str:
    """A `postgresql://…` URI as typed, after a `Path` made its `//` one slash (`--db` options are paths)."""
    for scheme in ("postgresql:", "postgres:"):
        if text.startswith(scheme + "/") and not text.startswith(scheme + "//"):
            return scheme + "//" + text[len(scheme) + 1 :]
    return text


def catalog_path_for(db: str | Path) -> Path:
    """The SQLite catalog a local `--db` path names: itself if it ends in .sqlite, else <stem>.lake.sqlite."""
    path = Path(db)
    if path.suffix == ".sqlite":
        return path
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(stem + LAKE_SUFFIX)


def lake_settings_for(db: str | Path) -> LakeSettings:
    """The lake settings a `--db` value stands for."""
    text = restore_uri(str(db))
    if is_postgres(text):
        data_path = os.environ.get(DATA_PATH_VARIABLE, "").strip()
        if not data_path:
            raise LakeSettingError(
                f"a PostgreSQL warehouse needs {DATA_PATH_VARIABLE}: a folder every writer reaches"
            )
        dsn = text.removeprefix("postgres:") if text.startswith("postgres:") and "//" not in text else text
        return LakeSettings(catalog="postgres", catalog_path=dsn, data_path=data_path)
    return LakeSettings(catalog="sqlite", catalog_path=str(catalog_path_for(text)))


def pages_dir_for(db: str | Path) -> Path:
    """The folder of raw page files that belongs to a warehouse: `<lake>.pages` beside its data folder."""
    return pages_dir_beside(resolve_data_path(lake_settings_for(db)))


def pages_dir_beside(data_path: str) -> Path:
    """The raw page files' folder beside a lake's data folder: news.lake.files/ → news.lake.pages/."""
    data = Path(data_path.rstrip("/"))
    return data.with_name(data.name.removesuffix(".files") + ".pages")


def warehouse_exists(db: str | Path) -> bool:
    """Tell whether the lake a `--db` value names is there (a PostgreSQL one is taken to be)."""
    return is_postgres(db) or catalog_path_for(db).is_file()


def is_single_file_warehouse(path: str | Path) -> bool:
    """Tell whether a file is a DuckDB database (the warehouse's form before the lake)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(12)[8:12] == DUCKDB_MAGIC
    except OSError:
        return False


def describe_warehouse(db: str | Path) -> str:
    """A short name for messages: the catalog a `--db` value stands for (a PostgreSQL password left out)."""
    if is_postgres(db):
        return "the PostgreSQL lake catalog"
    return str(catalog_path_for(db))


def check_not_single_file(db: str | Path) -> None:
    """Fail in one line when `--db` is an old single-file warehouse whose lake has not been made yet."""
    if is_postgres(db):
        return
    path = Path(db)
    if path.suffix != ".sqlite" and is_single_file_warehouse(path) and not catalog_path_for(path).exists():
        raise SingleFileWarehouse(
            f"{path} is a single-file warehouse from an older newsdesk: move it into the lake with "
            f"`newsdesk migrate --from {path} --db {path}`"
        )


def require_warehouse(db: str | Path) -> None:
    """Fail in one line when there is no lake at `db` (for commands that never create one)."""
    check_not_single_file(db)
    if not warehouse_exists(db):
        raise FileNotFoundError(f"no warehouse at {describe_warehouse(db)} (run `newsdesk ingest` first)")
