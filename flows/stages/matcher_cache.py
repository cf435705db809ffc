"""A compiled topic matcher kept on disk, so that a process gets it in milliseconds instead of compiling it.

One file per cache key: the taxonomy version (which already hashes the taxonomy file and the gazetteer data)
plus a fingerprint of the code that compiles and reads it (these modules' source, ahocorasick-rs's version,
the Python version). A file that is missing, of another key, truncated or corrupt reads as None: the caller
compiles the matcher again and writes a new file.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import logging
import os
import pickle
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

CACHE_ENV = "NEWSDESK_MATCHER_CACHE"  # a directory; empty, "0" or "off" turns the cache off
CACHE_FORMAT = "1"
MAGIC = b"newsdesk-matcher\n"
CHECKSUM_CHARS = 8  # CRC-32 of the payload, in hex: a flipped byte anywhere reads as damage (~10 ms)
# The modules whose code decides what a compiled matcher holds: a change to any of them is a new key.
SOURCE_MODULES = (
    "transforms.topic_matcher",
    "transforms.gazetteer",
    "transforms.countries",
    "transforms.taxonomy",
    "flows.stages.matcher_cache",
)
KEEP_FILES = 8  # files a folder keeps (most recently written); each is ~12 MB
_logger = logging.getLogger(__name__)


def find_cache_dir() -> Path | None:
    """Where compiled matchers are kept: $NEWSDESK_MATCHER_CACHE, else the user's cache folder; None: off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        if configured.strip().lower() in ("", "0", "off", "false", "no"):
            return None
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsdesk" / "matchers"


def compute_cache_key(version: str) -> str:
    """The cache key of a taxonomy version with this code: hex sha256."""
    digest = hashlib.sha256(f"format={CACHE_FORMAT}|version={version}|".encode())
    digest.update(_code_fingerprint())
    return digest.hexdigest()


def cache_file_for(version: str) -> Path | None:
    """The file that holds (or will hold) the matcher of `version`; None when the cache is off."""
    folder = find_cache_dir()
    if folder is None:
        return None
    return folder / f"matcher-{compute_cache_key(version)[:24]}.bin"


def read_state(path: Path, version: str) -> Any | None:
    """The state stored for `version` in `path`, or None when the file is missing, stale or corrupt."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    key = MAGIC + compute_cache_key(version).encode() + b" "
    header_end = len(key) + CHECKSUM_CHARS + 1
    payload = memoryview(data)[header_end:]
    if not data.startswith(key) or data[len(key) : header_end] != _checksum_line(payload):
        _logger.info("matcher cache %s is of another key or damaged: rebuilding it", path)
        return None
    try:
        with _collector_paused():
            return pickle.loads(payload)
    except Exception as error:  # any damage the checksum missed: the caller compiles the matcher again
        _logger.warning("matcher cache %s is unreadable (%s): rebuilding it", path, type(error).__name__)
        return None


def write_state(path: Path, version: str, state: Any) -> bool:
    """Store `state` for `version` in `path` atomically (no reader sees half a file); False on failure."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as handle:
            handle.write(MAGIC + compute_cache_key(version).encode() + b" " + _checksum_line(payload))
            handle.write(payload)
        os.replace(temporary, path)
    except (OSError, pickle.PicklingError) as error:
        _logger.warning("cannot write matcher cache %s: %s", path, error)
        with suppress(OSError):  # nothing was written there
            temporary.unlink(missing_ok=True)
        return False
    prune_cache(path.parent)
    return True


def prune_cache(folder: Path, keep: int = KEEP_FILES) -> list[Path]:
    """Delete all but the `keep` most recently written matcher files of a folder; return the deleted ones."""
    try:
        files = sorted(folder.glob("matcher-*.bin"), key=lambda file: file.stat().st_mtime_ns, reverse=True)
    except OSError:
        return []
    deleted = []
    for file in files[keep:]:
        try:
            file.unlink()
            deleted.append(file)
        except OSError:
            pass  # another process's file, or gone already
    return deleted


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Unpickling makes ~100k objects; in a process that already holds many (Prefect, a loaded matcher) the
    # cyclic collector would walk them all several times over, which costs more than the load itself.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _checksum_line(payload: bytes | memoryview) -> bytes:
    return b"%08x\n" % zlib.crc32(payload)


@cache
def _code_fingerprint() -> bytes:
    digest = hashlib.sha256()
    for name in SOURCE_MODULES:
        spec = importlib.util.find_spec(name)
        try:
            digest.update(Path(spec.origin).read_bytes())
        except (AttributeError, OSError, TypeError):
            digest.update(f"missing:{name}".encode())
    digest.update(f"|{sys.implementation.cache_tag}|{sys.version_info[:3]}|".encode())
    digest.update(f"ahocorasick-rs={_package_version('ahocorasick-rs')}".encode())
    return digest.digest()


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"
