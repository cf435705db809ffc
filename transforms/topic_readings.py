"""Which reading of an ambiguous mention an article means: a place, a person's name, a common word."""

from __future__ import annotations

import re

from transforms.topic_matcher import Candidate, TopicMatcher

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
WORD_RE = re.compile(r"[^\W\d_][\w'’\-]*")


class PlaceContext:
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
    """The word that ends one space before `start`: its word characters within 40, from its first letter."""
    end = start - 1
    if end < floor or doc[end] != " ":
        return None
    low = max(floor, start - 40)
    first = end
    # Word characters are [\w'’-], letters [^\W\d_]; tested inline: this runs for about one mention in two.
    while first > low and ((char := doc[first - 1]).isalnum() or char in "_'’-"):
        first -= 1
    while first < end and not ((char := doc[first]).isalnum() and not char.isdecimal()):
        first += 1
    return doc[first:end] if first < end else None


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


def is_title_case(title: str) -> bool:
    """A title in headline case: most of its longer words capitalised."""
    words = [w for w in title.split() if len(w) >= 4 and w[0].isalpha()]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) >= 0.7


def find_person_forms(
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


def choose_candidate(
    matcher: TopicMatcher,
    doc: str,
    mention: tuple,
    context: PlaceContext,
    body_start: int,
    title_case: bool,
    person_words: set[str],
) -> Candidate | None:
    """Pick the reading of a mention, or None when an ambiguous name has no support."""
    start, end, surface, _zone, body_offset, readings = mention
    in_title = body_offset is None
    key = surface.lower()
    _kinds, plain, places = matcher.kinds_of(readings)
    strong = plain + places if places and key not in person_words else plain  # see find_person_forms
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
