"""Taxonomy files and topic matchers as a process gets them: read from disk, compiled once, cached on disk."""

from __future__ import annotations

import copyreg
import threading
from pathlib import Path

from flows.stages.matcher_cache import cache_file_for, read_state, write_state
from transforms.taxonomy import Taxonomy, TaxonomyError, parse_taxonomy
from transforms.topic_matcher import TopicMatcher, compile_matcher, matcher_state

DEFAULT_TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "seeds" / "taxonomy.yaml"

_BUILD_LOCK = threading.Lock()
_MATCHERS_BY_VERSION: dict[str, TopicMatcher] = {}
_MATCHERS_BY_PATH: dict[tuple[str, int, int], TopicMatcher] = {}


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy YAML file (None: the repository's seeds/taxonomy.yaml)."""
    file_path = Path(path) if path is not None else DEFAULT_TAXONOMY_PATH
    try:
        raw_bytes = file_path.read_bytes()
    except OSError as exc:
        raise TaxonomyError(f"{file_path}: cannot read taxonomy ({exc.strerror or exc})") from exc
    return parse_taxonomy(raw_bytes, source=str(file_path))


def build_matcher(taxonomy: Taxonomy, use_cache: bool = True) -> TopicMatcher:
    """Compile a taxonomy and the gazetteer into a matcher, or load it from the disk cache; kept per process
    by taxonomy version. `use_cache=False` compiles afresh and leaves the disk cache alone."""
    if not use_cache:
        return compile_matcher(taxonomy)
    cached = _MATCHERS_BY_VERSION.get(taxonomy.version)
    if cached is not None:
        return cached
    with _BUILD_LOCK:
        cached = _MATCHERS_BY_VERSION.get(taxonomy.version)
        if cached is None:
            cached = load_or_compile_matcher(taxonomy)
            _MATCHERS_BY_VERSION[taxonomy.version] = cached
    return cached


def load_or_compile_matcher(taxonomy: Taxonomy) -> TopicMatcher:
    """The matcher of a taxonomy from its disk cache file; compiled (and the file written) when that file is
    missing, stale or corrupt. Not kept in memory: build_matcher does that."""
    path = cache_file_for(taxonomy.version)
    if path is not None:
        state = read_state(path, taxonomy.version)
        if isinstance(state, dict) and state.get("version") == taxonomy.version:
            state["cache_file"] = path
            return TopicMatcher(taxonomy, state)
    matcher = compile_matcher(taxonomy)
    if path is not None and write_state(path, taxonomy.version, matcher_state(matcher)):
        matcher.cache_file = path
    return matcher


def get_matcher(taxonomy_path: str | Path | None = None) -> TopicMatcher:
    """The matcher for a taxonomy file (None: seeds/taxonomy.yaml), rebuilt only when the file changes."""
    path = Path(taxonomy_path) if taxonomy_path is not None else DEFAULT_TAXONOMY_PATH
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None and key in _MATCHERS_BY_PATH:
        return _MATCHERS_BY_PATH[key]
    matcher = build_matcher(load_taxonomy(path))
    if key is not None:
        _MATCHERS_BY_PATH[key] = matcher
    return matcher


def reduce_matcher(matcher: TopicMatcher) -> tuple:
    """How a matcher pickles here: as its taxonomy, rebuilt by build_matcher (from the disk cache) where it
    lands, once per process."""
    return build_matcher, (matcher.taxonomy,)


copyreg.pickle(TopicMatcher, reduce_matcher)
