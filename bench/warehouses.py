"""The bench's warehouses on disk: a `--db` path names a lake (catalog, data folder, pages folder) to copy or
remove as one."""

from __future__ import annotations

import shutil
from pathlib import Path

from warehouse.band_index import close_indexes, index_path_for_catalog
from warehouse.db import close_shared
from warehouse.lake import resolve_data_path
from warehouse.location import catalog_path_for, lake_settings_for, pages_dir_for

CATALOG_SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's files beside the catalog


def list_lake_paths(db: str | Path) -> list[Path]:
    """Every file and folder the lake a local `--db` path names is made of (present or not)."""
    catalog = catalog_path_for(db)
    index = index_path_for_catalog(catalog)
    side_files = [file.with_name(file.name + suffix) for file in (catalog, index) for suffix in CATALOG_SIDE_FILES]
    data = Path(resolve_data_path(lake_settings_for(db)))
    return [catalog, index, *side_files, data, pages_dir_for(db)]


def remove_warehouse(db: str | Path) -> None:
    """Delete a lake's catalog, band index, data and page files, after closing this thread's connections."""
    close_shared()
    close_indexes()
    for path in list_lake_paths(db):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def copy_warehouse(source: str | Path, target: str | Path) -> None:
    """Copy a lake under another `--db` name (its data folder sits beside its catalog, so the copy reads its
    own files); nothing may write to the source meanwhile."""
    close_shared()
    remove_warehouse(target)
    for origin, copy in zip(list_lake_paths(source), list_lake_paths(target), strict=True):
        if origin.is_dir():
            shutil.copytree(origin, copy)
        elif origin.is_file():
            shutil.copyfile(origin, copy)


def measure_lake_bytes(db: str | Path) -> int:
    """The bytes a lake takes on disk: catalog and every data and page file."""
    total = 0
    for path in list_lake_paths(db):
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(child.stat().st_size for child in path.rglob("*") if child.is_file())
    return total
