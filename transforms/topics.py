"""Topic and place tagging: one Aho-Corasick pass per article, disambiguation, scoring, hierarchy."""

from __future__ import annotations

import math
import pickle
import re
import threading
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick_rs

from transforms.gazetteer import Place, build_gazetteer, merge_gazetteer, strip_accents
from transforms.matcher_cache import cache_file_for, read_state, write_state
from transforms.records import TopicTag
from transforms.taxonomy import DEFAULT_TAXONOMY_PATH, Alias, Taxonomy, Topic, default_case, load_taxonomy

TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.5
BODY_WEIGHT = 1.0
LEAD_CHARS = 400  # the first characters of the body that count as the lead
PARENT_DECAY = 0.8  # a parent reached only through a child gets this share of the child's weight
SCORE_SCALE = 3.0  # score = 1 - exp(-weight / SCORE_SCALE): one body mention 0.28, one title mention 0.63

# fmt: off
# Words just before a place that mark it as a place ("in Jordan", "near Nice", "northern Georgia").
PLACE_CUES = frozenset(
    (
        "in", "near", "at", "from", "to", "into", "outside", "across", "around", "toward", "towards", "via",
        "through", "of", "visited", "visit", "entered", "reached", "north", "south", "east", "west",
        "northern", "southern", "eastern", "western", "central", "rural", "greater", "downtown", "province",
        "city", "capital", "border", "borders", "neighbouring", "neighboring",
    )
)
# Capitalised words after a place name that keep it a place (not "Jordan Henderson").
PLACE_FOLLOWERS = frozenset(
    (
        "River", "Valley", "Province", "Governorate", "City", "Region", "County", "Countryside", "Airport",
        "Citadel", "Old", "Gate", "Border", "Crossing", "Basin", "Sea", "Lake", "Mountains", "Square",
        "Street", "Road", "Highway", "Port", "Harbour", "Harbor", "Bay", "Strait", "Desert", "Plain",
        "Coast", "Camp", "District", "Municipality", "Council", "Government", "Army", "Police", "Kingdom",
        "Ministry", "Embassy", "State", "National", "Central", "Armed", "Forces", "Foreign", "Prime",
        "King", "Queen", "President", "Republic", "Governor", "Mayor", "Metropolitan", "Area", "Town",
        "Village", "Center", "Centre", "Hospital", "Stadium", "Station", "Parliament",
    )
)
# Capitalised words after a place name that make it part of an organisation's name ("Jordan Times",
# "Columbia University"): that mention is not the place, but the name is no person either.
ORG_FOLLOWERS = frozenset(
    (
        "Times", "News", "Post", "Herald", "Tribune", "University", "College", "Airlines", "Airways",
        "Bank", "Group", "Company", "Club", "Institute", "Foundation", "Records", "Pictures", "Street",
        "Journal",
    )
)
# Capitalised words before a place name that are not a first name ("In Jordan", "Northern Georgia").
NOT_FIRST_NAMES = frozenset(
    (
        "The", "A", "An", "In", "On", "At", "Of", "And", "But", "For", "From", "To", "With", "By", "As",
        "After", "Before", "When", "While", "If", "Since", "Both", "Only", "Even", "Like", "Unlike",
        "Across", "Near", "Inside", "Outside", "Under", "Over", "Into", "Neighbouring", "Neighboring",
        "North", "South", "East", "West", "Northern", "Southern", "Eastern", "Western", "Central",
        "Greater", "Old", "New", "Upper", "Lower", "Rural", "Downtown", "Metropolitan", "Hashemite",
        "Kingdom", "Republic", "Visit", "Visiting", "Visited", "Leaving", "Left", "Rebel", "Rebels",
        "Regime", "Government", "Sources", "Officials", "Residents", "Says", "Said", "Why", "How", "What",
        "Where", "Who", "Whether", "Then", "So", "Also", "Yet",
    )
)
# Words after a name that make it a person speaking, not a place ("Henderson said").
SPEECH_VERBS = frozenset(
    (
        "said", "says", "told", "added", "wrote", "argued", "insisted", "explained", "noted", "tweeted",
        "who", "whose", "scored", "claimed", "denied", "replied", "stated", "warned", "urged",
    )
)
# fmt: on
M_START, M_END, M_SURFACE, M_ZONE_WEIGHT, M_BODY_OFFSET, M_READINGS = range(6)
SEPARATORS = "\n\r\t([{\"'“”‘’«»/-–—\u00a0"
WORD_RE = re.compile(r"[^\W\d_][\w'’\-]*")
CAP_WORD_BEFORE_RE = re.compile(r"([^\W\d_][\w'’\-]*) $")


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
        # Workers (ProcessPoolExecutor) get the taxonomy (~50 kB) and rebuild from it: once per process, from
        # the disk cache when the parent left one there.
        return (build_matcher, (self.taxonomy,))

    def __repr__(self) -> str:
        return f"TopicMatcher(version={self.version!r}, topics={len(self.order)})"


_BUILD_LOCK = threading.Lock()
_MATCHERS_BY_VERSION: dict[str, TopicMatcher] = {}
_MATCHERS_BY_PATH: dict[tuple[str, int, int], TopicMatcher] = {}


def build_matcher(taxonomy: Taxonomy, use_cache: bool = True) -> TopicMatcher:
    """Compile a taxonomy and the gazetteer into a matcher, or load it from the disk cache; kept per process
    by taxonomy version. `use_cache=False` compiles afresh and leaves the disk cache alone."""
    if not use_cache:
        return _compile_matcher(taxonomy)
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
    matcher = _compile_matcher(taxonomy)
    if path is not None:
        state = _stored_state(matcher)
        if write_state(path, taxonomy.version, state):
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


def list_topic_rows(matcher_or_taxonomy: TopicMatcher | Taxonomy) -> list[dict]:
    """Rows for the `topics` table: every topic the matcher can emit, gazetteer places included."""
    matcher = (
        matcher_or_taxonomy
        if isinstance(matcher_or_taxonomy, TopicMatcher)
        else build_matcher(matcher_or_taxonomy)
    )
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


# ----------------------------------------------------------------------------------------------------
# Building


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


def _compile_matcher(taxonomy: Taxonomy) -> TopicMatcher:
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


def _stored_state(matcher: TopicMatcher) -> dict[str, Any]:
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


# ----------------------------------------------------------------------------------------------------
# Tagging


def tag_article(
    matcher: TopicMatcher, title: str | None, text: str, source_country: str | None = None
) -> list[TopicTag]:
    """Topics of one article with evidence, best first; `source_country` (ISO code) biases place names."""
    title = title or ""
    text = text or ""
    doc = f"{title}\n{text}" if title else text
    body_start = len(title) + 1 if title else 0
    mentions, person_words = _find_mentions(matcher, doc, body_start)
    if not mentions:
        return []
    context = _Context(matcher, source_country)
    totals: dict[str, list] = {}  # topic -> [weight, forms, count, first body offset, in title]
    pending = []
    # Most mentions have one plain reading ("Aleppo"): counted at once. The rest need the whole article's
    # context first (ambiguous names, same-named places, forms that require another topic).
    for mention in mentions:
        readings = mention[M_READINGS]
        first = readings[0]
        if len(readings) == 1 and first.ambiguous is None and not first.requires_any:
            if first.topic_id not in totals:
                context.add(first.topic_id)
            _add_mention(totals, mention, first)
        else:
            if len(readings) == 1 and first.ambiguous == "place" and not first.requires_any:
                context.add(first.topic_id)
            pending.append(mention)
    deferred = []
    if pending:
        title_case = _is_title_case(title)
        person_words |= _person_forms(matcher, doc, pending, body_start, title_case)
        for mention in pending:
            readings = mention[M_READINGS]
            chosen = readings[0]
            if len(readings) != 1 or chosen.ambiguous is not None:
                chosen = _choose_candidate(
                    matcher, doc, mention, context, body_start, title_case, person_words
                )
                if chosen is None:
                    continue
            if chosen.requires_any:
                deferred.append((mention, chosen))
            else:
                _add_mention(totals, mention, chosen)
    present = _roll_up(matcher, totals)
    if deferred:
        added = False
        for mention, chosen in deferred:
            if any(topic_id in present for topic_id in chosen.requires_any):
                _add_mention(totals, mention, chosen)
                added = True
        if added:
            present = _roll_up(matcher, totals)
    return _make_tags(matcher, totals, present)


def _add_mention(totals: dict[str, list], mention: tuple, chosen: Candidate) -> None:
    """Add one mention to its topic's running [weight, forms, count, first_offset, in_title]."""
    entry = totals.get(chosen.topic_id)
    if entry is None:
        entry = totals[chosen.topic_id] = [0.0, {}, 0, None, False]
    entry[0] += mention[M_ZONE_WEIGHT] * chosen.weight
    forms = entry[1]
    surface = mention[M_SURFACE]
    forms[surface] = forms.get(surface, 0) + 1
    entry[2] += 1
    offset = mention[M_BODY_OFFSET]
    if offset is None:
        entry[4] = True
    elif entry[3] is None or offset < entry[3]:
        entry[3] = offset


def _make_tags(matcher: TopicMatcher, totals: dict[str, list], present: dict) -> list[TopicTag]:
    """TopicTags with their evidence, best first; topics whose required context is absent are dropped."""
    tags = []
    requires_of = matcher.topic_requires
    thresholds = matcher.topic_thresholds
    version = matcher.version
    for topic_id, (weight, children) in present.items():
        requires = requires_of.get(topic_id)
        if requires and not any(r in present and r != topic_id for r in requires):
            continue
        own, forms, count, first_offset, in_title = totals.get(topic_id) or (0.0, {}, 0, None, False)
        own_ok = own >= thresholds[topic_id]
        if children:  # the strongest child first: it is the one named in `via`
            children = sorted(children, key=lambda child: (-present[child][0], child))
        evidence = {
            "forms": forms,
            "count": count,
            "first_offset": first_offset,
            "in_title": in_title,
            "via": "alias" if own_ok or not children else f"child:{children[0]}",
            "weight": round(weight, 3),
        }
        if children:
            evidence["children"] = children
        score = round(1.0 - math.exp(-weight / SCORE_SCALE), 4)
        tags.append(TopicTag(topic_id, score, evidence, version))
    tags.sort(key=lambda t: (-t.score, t.topic_id))
    return tags


def _find_mentions(matcher: TopicMatcher, doc: str, body_start: int) -> tuple[list[tuple], set[str]]:
    """Mentions as tuples (start, end, surface, zone weight, body offset, readings), leftmost-longest, and
    the surnames of the people named by exclusion phrases ("Henderson" from "Jordan Henderson")."""
    size = len(doc)
    # Every key starts with a space and the text gets one in front, so a key only matches from the start of
    # a word; offsets in `spaced` are those of `doc` shifted by that space: a match's start is the doc offset
    # of its first letter and its end, less one, the doc offset just past it. The automaton reports the
    # longest matches without overlaps, so "Syria" inside "Syrian" costs no Python work.
    spaced = " " + normalise_separators(doc)
    readings_of = matcher.readings
    mentions = []
    person_words: set[str] = set()
    for index, start, end in matcher.automaton.find_matches_as_indexes(spaced):
        end -= 1
        if end < size and doc[end].isalnum():
            continue
        readings = readings_of[index]
        if not readings:  # an exclusion phrase; a person's name gives away a surname
            words = doc[start:end].split()
            if len(words) > 1 and all(w[:1].isupper() for w in words):
                person_words.add(words[-1].lower())
            continue
        if start < body_start:
            mentions.append((start, end, doc[start:end], TITLE_WEIGHT, None, readings))
        else:
            body_offset = start - body_start
            zone_weight = LEAD_WEIGHT if body_offset < LEAD_CHARS else BODY_WEIGHT
            mentions.append((start, end, doc[start:end], zone_weight, body_offset, readings))
    return mentions, person_words


class _Context:
    """Places an article is confidently about: their countries, continents and neighbours."""

    def __init__(self, matcher: TopicMatcher, source_country: str | None) -> None:
        self.matcher = matcher
        self.topics: set[str] = set()
        self.countries: set[str] = set()
        self.continents: set[str] = set()
        self.neighbours: set[str] = set()
        self.source_country = source_country.upper() if source_country else None
        if self.source_country:
            self.countries.add(self.source_country)

    def add(self, topic_id: str) -> None:
        """Count a topic, its ancestors and where they lie as known context."""
        if topic_id in self.topics:
            return
        topics, countries, continents, neighbours = self.matcher.context_of(topic_id)
        self.topics |= topics
        self.countries |= countries
        self.continents |= continents
        self.neighbours |= neighbours

    def supports(self, topic_id: str) -> bool:
        """Another place of the article (or the source's country) makes this place likely."""
        place = self.matcher.places.get(topic_id)
        if place is None:
            return bool(self.topics - {topic_id})
        if place.kind == "city":
            return place.country_code in self.countries
        if place.kind == "country":
            others = self.countries - {place.country_code}
            if not others and self.source_country != place.country_code:
                return False
            if place.country_code == self.source_country:
                return True
            continents = {
                self.matcher.places[self.matcher.country_ids[c]].continent_code
                for c in others
                if c in self.matcher.country_ids
            }
            return place.continent_code in continents or place.country_code in self.neighbours
        return bool(self.topics - {topic_id})


def _previous_word(doc: str, start: int, floor: int) -> str | None:
    """The word before `start` and one space: what CAP_WORD_BEFORE_RE finds from 40 characters back."""
    end = start - 1
    if end < floor or doc[end] != " ":
        return None
    # What the regex search finds, without trying it at each of the 40 positions: the run of word characters
    # that ends at the space, from its first letter on.
    low = max(floor, start - 40)
    first = end
    # _is_word_char and _is_letter, written out: this runs for about one mention in two.
    while first > low and ((char := doc[first - 1]).isalnum() or char in "_'’-"):
        first -= 1
    while first < end and not ((char := doc[first]).isalnum() and not char.isdecimal()):
        first += 1
    return doc[first:end] if first < end else None


def _is_word_char(char: str) -> bool:
    """[\\w'’\\-] of a str pattern."""
    return char.isalnum() or char in "_'’-"


def _is_letter(char: str) -> bool:
    """[^\\W\\d_] of a str pattern: a word character that is neither a decimal digit nor an underscore."""
    return char.isalnum() and not char.isdecimal()


def _next_word(doc: str, end: int) -> str | None:
    if end >= len(doc) or doc[end] != " ":
        return None
    match = WORD_RE.match(doc, end + 1)
    return match.group(0) if match else None


def _sentence_initial(doc: str, start: int, body_start: int) -> bool:
    i = start - 1
    while i >= 0 and doc[i] in " \t\"'“‘(«":
        i -= 1
    return i < 0 or i == body_start - 1 or doc[i] in ".!?:\n;"


def _is_title_case(title: str) -> bool:
    words = [w for w in title.split() if len(w) >= 4 and w[0].isalpha()]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) >= 0.7


def _person_forms(
    matcher: TopicMatcher, doc: str, mentions: list[tuple], body_start: int, title_case: bool
) -> set[str]:
    """Place forms that this article uses as a person's name ("Jordan Henderson", "Henderson said"): that
    reading then holds for every mention of the form in the article."""
    forms = set()
    kinds_of = matcher.kinds_of
    for start, end, surface, _zone, body_offset, readings in mentions:
        kinds = kinds_of(readings)[0]
        if ("name" not in kinds and "place" not in kinds) or (body_offset is None and title_case):
            continue
        nxt = _next_word(doc, end)
        prev = _previous_word(doc, start, body_start if body_offset is not None else 0)
        if "name" in kinds:
            if nxt in ORG_FOLLOWERS:
                continue
            if _looks_like_surname(nxt):
                forms.add(surface.lower())
                forms.add(nxt.lower())
            elif _looks_like_first_name(prev):
                forms.add(surface.lower())
            continue
        # A gazetteer city named like a person: "Henderson said", "Coach Jackson"; capitals and big cities
        # speak for their governments ("Moscow said"), and a place cue keeps a place ("in Lincoln said").
        speaks = nxt is not None and nxt in SPEECH_VERBS
        if speaks and (prev is None or prev.lower() not in PLACE_CUES):
            places = [matcher.places.get(c.topic_id) for c in readings if c.ambiguous == "place"]
            if not any(p is not None and (p.capital or p.population >= 1_000_000) for p in places):
                forms.add(surface.lower())
        elif (
            body_offset is not None
            and _looks_like_first_name(prev)
            and not _sentence_initial(doc, start, body_start)
        ):
            forms.add(surface.lower())
    return forms


def _looks_like_surname(word: str | None) -> bool:
    return bool(
        word
        and word[0].isupper()
        and not word.isupper()
        and word not in PLACE_FOLLOWERS
        and word not in NOT_FIRST_NAMES
    )


def _looks_like_first_name(word: str | None) -> bool:
    return bool(word and word[0].isupper() and not word.isupper() and word not in NOT_FIRST_NAMES)


def _choose_candidate(
    matcher: TopicMatcher,
    doc: str,
    mention: tuple,
    context: _Context,
    body_start: int,
    title_case: bool,
    person_words: set[str],
) -> Candidate | None:
    """Pick the reading of a mention, or None when an ambiguous name has no support."""
    start, end, surface, _zone, body_offset, readings = mention
    in_title = body_offset is None
    key = surface.lower()
    _kinds, plain, places = matcher.kinds_of(readings)
    strong = plain + places if places and key not in person_words else plain  # see _person_forms
    if strong:
        if len(strong) == 1:
            return strong[0]
        for candidate in strong:
            if candidate.topic_id in context.topics:
                return candidate
        for candidate in strong:
            if context.supports(candidate.topic_id):
                return candidate
        return strong[0]
    # The words around the mention matter only from here (about half of the calls).
    prev = _previous_word(doc, start, body_start if not in_title else 0)
    cue = prev is not None and prev.lower() in PLACE_CUES
    nxt = _next_word(doc, end)
    supported = []
    for candidate in readings:
        if candidate.ambiguous == "place":
            continue
        if candidate.ambiguous == "name" and key in person_words:
            return None
        if nxt in ORG_FOLLOWERS:
            continue
        if candidate.ambiguous == "word":
            if not cue and (in_title or _sentence_initial(doc, start, body_start)):
                continue
            if nxt and nxt[0].isupper() and nxt not in PLACE_FOLLOWERS and not (in_title and title_case):
                continue
        conflicts = matcher.topic_conflicts.get(candidate.topic_id, ())
        conflicted = any(c in context.topics for c in conflicts)
        if context.supports(candidate.topic_id):
            supported.insert(0, candidate)
        elif cue and not conflicted and candidate.ambiguous != "support":
            # An alternate name ("Rest" for Rasht) needs its country in the article: a cue is not enough.
            supported.append(candidate)
    return supported[0] if supported else None


def _roll_up(matcher: TopicMatcher, totals: dict[str, list]) -> dict[str, tuple[float, list[str]]]:
    """Topics above their kind's threshold, plus every ancestor with weight inherited from its best child."""
    inherited: dict[str, float] = {}
    children: dict[str, list[str]] = {}
    present: dict[str, tuple[float, list[str]]] = {}
    relevant = set(totals)
    ancestors = matcher.ancestors
    for topic_id in totals:
        relevant.update(ancestors[topic_id])
    thresholds = matcher.topic_thresholds
    parents_of = matcher.topic_parents
    for topic_id in sorted(relevant, key=matcher.rank.__getitem__):
        entry = totals.get(topic_id)
        own = entry[0] if entry is not None else 0.0
        if own < thresholds[topic_id] and topic_id not in inherited:
            continue
        total = own + inherited.get(topic_id, 0.0)
        present[topic_id] = (total, children.get(topic_id, []))
        share = total * PARENT_DECAY
        for parent in parents_of[topic_id]:
            if share > inherited.get(parent, 0.0):
                inherited[parent] = share
            children.setdefault(parent, []).append(topic_id)
    return present
