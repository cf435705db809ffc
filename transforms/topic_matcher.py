"""The compiled topic matcher: a taxonomy and the gazetteer as one Aho-Corasick automaton and its tables."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick_rs

from transforms.gazetteer import Place, build_gazetteer, merge_gazetteer, strip_accents
from transforms.taxonomy import Alias, Taxonomy, Topic, default_case

SEPARATORS = "\n\r\t([{\"'“”‘’«»/-–—\u00a0"


class Candidate(NamedTuple):
    """One reading of a matched surface: which topic (None for an exclusion phrase) and how it may match."""

    topic_id: str | None
    form: str
    case: str
    weight: float = 1.0
    ambiguous: str | None = None
    requires_any: tuple[str, ...] = ()
    rank: int = 0  # lower first when an article gives no hint which same-named place it means


class TopicMatcher:
    """A compiled taxonomy plus gazetteer: the automata, merged topics, places and per-kind thresholds."""

    def __init__(
        self, taxonomy: Taxonomy, state: dict[str, Any], topics: dict[str, Topic] | None = None
    ) -> None:
        self.taxonomy = taxonomy
        self.version = taxonomy.version
        # Topics are read only to list them (list_topic_rows) or look one up: a matcher from the disk cache
        # unpickles them on first use, so that a worker that only tags never pays for them.
        self._topics = topics
        self._topics_blob: bytes | None = state.get("topics_blob")
        self.places: dict[str, Place] = state["places"]
        # Every form in the spellings its case rule allows, as the keys of one automaton; a match's key index
        # is also its index in `readings`, the readings of that key that name a topic (none: an exclusion).
        self.keys: list[str] = state["keys"]
        self.automaton = make_automaton(self.keys)
        self.readings: list[tuple[Candidate, ...]] = state["readings"]
        self.country_ids: dict[str, str] = state["country_ids"]
        self.thresholds = taxonomy.thresholds
        self.order: list[str] = state["order"]
        self.rank = {topic_id: i for i, topic_id in enumerate(self.order)}
        self.ancestors: dict[str, tuple[str, ...]] = state["ancestors"]
        self.topic_parents: dict[str, tuple[str, ...]] = state["topic_parents"]
        self.topic_thresholds: dict[str, float] = state["topic_thresholds"]
        self.topic_requires: dict[str, tuple[str, ...]] = state["topic_requires"]
        self.topic_conflicts: dict[str, tuple[str, ...]] = state["topic_conflicts"]
        self.cache_file: Path | None = state.get("cache_file")  # the disk cache file that holds it, if any
        self.from_cache = self.cache_file is not None  # loaded from that file rather than compiled here
        self._context_cache: dict[str, tuple] = {}
        self._kinds_cache: dict[int, tuple] = {}

    @property
    def topics(self) -> dict[str, Topic]:
        """Every topic the matcher can emit (taxonomy and gazetteer), by id."""
        if self._topics is None:
            self._topics = pickle.loads(self._topics_blob)
            self._topics_blob = None
        return self._topics

    def context_of(self, topic_id: str) -> tuple[frozenset, frozenset, frozenset, frozenset]:
        """A topic with its ancestors, and their countries, continents and neighbouring countries (cached)."""
        cached = self._context_cache.get(topic_id)
        if cached is None:
            ids = frozenset((topic_id, *self.ancestors[topic_id]))
            countries, continents, neighbours = set(), set(), set()
            for member in ids:
                place = self.places.get(member)
                if place is not None and place.kind in ("country", "city") and place.country_code:
                    countries.add(place.country_code)
                    if place.continent_code:
                        continents.add(place.continent_code)
                    country = self.places.get(self.country_ids.get(place.country_code, ""))
                    if country is not None:
                        neighbours.update(country.neighbours)
            cached = (ids, frozenset(countries), frozenset(continents), frozenset(neighbours))
            self._context_cache[topic_id] = cached
        return cached

    def kinds_of(
        self, readings: tuple[Candidate, ...]
    ) -> tuple[frozenset, tuple[Candidate, ...], tuple[Candidate, ...]]:
        """A key's readings grouped: their kinds of ambiguity, the plain ones, the places (cached per key)."""
        cached = self._kinds_cache.get(id(readings))  # the tuples live as long as the matcher
        if cached is None:
            cached = (
                frozenset(c.ambiguous for c in readings),
                tuple(c for c in readings if c.ambiguous is None),
                tuple(c for c in readings if c.ambiguous == "place"),
            )
            self._kinds_cache[id(readings)] = cached
        return cached

    def __reduce__(self):
        # A matcher travels as its taxonomy (~50 kB) and is compiled again where it lands;
        # flows.stages.matchers registers a faster way, through the disk cache, for processes that import it.
        return (compile_matcher, (self.taxonomy,))

    def __repr__(self) -> str:
        return f"TopicMatcher(version={self.version!r}, topics={len(self.order)})"


def list_topic_rows(matcher: TopicMatcher) -> list[dict]:
    """Rows for the `topics` table: every topic the matcher can emit, gazetteer places included."""
    return [
        {
            "topic_id": topic.topic_id,
            "label": topic.label,
            "kind": topic.kind,
            "parents": list(topic.parents),
            "taxonomy_version": matcher.version,
        }
        for topic in sorted(matcher.topics.values(), key=lambda t: t.topic_id)
    ]


def _form_variants(text: str) -> list[str]:
    """Spellings a form is also matched under: without accents, hyphens as spaces, typographic apostrophes."""
    variants = [text, strip_accents(text)]
    for base in list(variants):
        if "-" in base:
            variants.append(base.replace("-", " "))
        if "'" in base:
            variants.append(base.replace("'", "’"))
            variants.append(base.replace("'", ""))
    return [v for v in dict.fromkeys(variants) if len(v.lower()) == len(v) and v.strip()]


def normalise_separators(text: str) -> str:
    """Replace characters that can stand before a word (newlines, brackets, quotes, dashes, slashes) with
    spaces, one for one, so every word of the text starts after a space."""
    for separator in SEPARATORS:
        if separator in text:
            text = text.replace(separator, " ")
    return text


def _case_keys(form: str, case: str) -> list[str]:
    """The spellings of a form as it may appear in text: the case rule is compiled into the keys, so the
    automaton runs on the text as written and partial matches only start at capitals for most forms."""
    if case == "exact":
        return [form]
    base = form.lower() if case == "any" else form
    words_capitalised = re.sub(r"(^|[\s\-])(\w)", lambda m: m.group(1) + m.group(2).upper(), base)
    keys = [base, base[:1].upper() + base[1:], words_capitalised, base.upper()]
    return list(dict.fromkeys(k for k in keys if k.strip()))


def compile_matcher(taxonomy: Taxonomy) -> TopicMatcher:
    """Compile a taxonomy and the gazetteer into a matcher (seconds of CPU: callers keep the result)."""
    gazetteer = build_gazetteer(taxonomy.gazetteer)
    topics, places = merge_gazetteer(taxonomy, gazetteer)
    table: dict[str, list[Candidate]] = {}

    def add(form: str, candidate: Candidate) -> None:
        for key in _case_keys(form, candidate.case):
            bucket = table.setdefault(" " + normalise_separators(key), [])
            if all(c.topic_id != candidate.topic_id for c in bucket):
                bucket.append(candidate)

    for topic in topics.values():
        place = places.get(topic.topic_id)
        rank = 0 if topic.origin != "gazetteer" else 1
        population = place.population if place else 0
        for alias in topic.aliases:
            for form in _form_variants(alias.text):
                add(form, _candidate(topic.topic_id, form, alias, rank * 10**10 - population))
        for phrase in topic.exclude:
            for form in _form_variants(phrase):
                add(form, _candidate(None, form, Alias(text=form, case=default_case(form)), 0))
    for phrase in taxonomy.gazetteer.exclude:
        for form in _form_variants(phrase):
            add(form, _candidate(None, form, Alias(text=form, case=default_case(form)), 0))

    keys, readings = _index_readings(table)
    country_ids = dict(gazetteer.country_ids)
    for tid, place in places.items():
        if place.kind == "country" and place.country_code:
            country_ids[place.country_code] = tid
    state = {
        "version": taxonomy.version,
        "places": places,
        "keys": keys,
        "readings": readings,
        "country_ids": country_ids,
        "order": _children_first(topics),
        "ancestors": {topic_id: _ancestors(topics, topic_id) for topic_id in topics},
        "topic_parents": {topic_id: topic.parents for topic_id, topic in topics.items()},
        "topic_thresholds": {
            topic_id: taxonomy.thresholds.get(topic.kind, 1.0) for topic_id, topic in topics.items()
        },
        "topic_requires": {tid: topic.requires_any for tid, topic in topics.items() if topic.requires_any},
        "topic_conflicts": {tid: topic.conflicts for tid, topic in topics.items() if topic.conflicts},
    }
    return TopicMatcher(taxonomy, state, topics)


def matcher_state(matcher: TopicMatcher) -> dict[str, Any]:
    """What the disk cache keeps of a compiled matcher: everything but the taxonomy, topics pickled apart."""
    return {
        "version": matcher.version,
        "places": matcher.places,
        "keys": matcher.keys,
        "readings": matcher.readings,
        "country_ids": matcher.country_ids,
        "order": matcher.order,
        "ancestors": matcher.ancestors,
        "topic_parents": matcher.topic_parents,
        "topic_thresholds": matcher.topic_thresholds,
        "topic_requires": matcher.topic_requires,
        "topic_conflicts": matcher.topic_conflicts,
        "topics_blob": pickle.dumps(matcher.topics, protocol=pickle.HIGHEST_PROTOCOL),
    }


def _index_readings(table: dict[str, list[Candidate]]) -> tuple[list[str], list[tuple[Candidate, ...]]]:
    """The keys in sorted order and, at the same index, each key's readings that name a topic (best rank
    first; none left means an exclusion phrase)."""
    keys = sorted(table)
    readings = []
    for key in keys:
        bucket = sorted(table[key], key=lambda c: c.rank)
        readings.append(tuple(c for c in bucket if c.topic_id is not None))
    return keys, readings


def make_automaton(keys: list[str]) -> ahocorasick_rs.AhoCorasick:
    """An automaton of `keys` that reports the leftmost, then longest, match and resumes after it."""
    # Rust's aho-corasick (contiguous NFA, chosen for this size): 1.6x pyahocorasick's scan of the bench's
    # articles (0.08 s instead of 0.13), and it releases the GIL while it scans. It does not pickle, so the
    # matcher's state keeps the keys and each process builds the automaton from them (~0.05 s).
    return ahocorasick_rs.AhoCorasick(keys, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)


def _candidate(topic_id: str | None, form: str, alias: Alias, rank: int) -> Candidate:
    return Candidate(
        topic_id=topic_id,
        form=form,
        case=alias.case,
        weight=alias.weight,
        ambiguous=alias.ambiguous,
        requires_any=alias.requires_any,
        rank=rank,
    )


def _ancestors(topics: dict[str, Topic], topic_id: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    stack = list(topics[topic_id].parents)
    while stack:
        parent = stack.pop()
        if parent not in seen:
            seen[parent] = None
            stack.extend(topics[parent].parents)
    return tuple(seen)


def _children_first(topics: dict[str, Topic]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(topic_id: str) -> None:
        if topic_id in seen:
            return
        seen.add(topic_id)
        for parent in topics[topic_id].parents:
            visit(parent)
        order.append(topic_id)

    for topic_id in topics:
        visit(topic_id)
    order.reverse()
    return order
