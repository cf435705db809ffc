"""Topic and place tagging: one Aho-Corasick pass per article, disambiguation, scoring, hierarchy."""

from __future__ import annotations

import math

from transforms.records import TopicTag
from transforms.topic_matcher import Candidate, TopicMatcher, normalise_separators
from transforms.topic_readings import PlaceContext, choose_candidate, find_person_forms, is_title_case

TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.5
BODY_WEIGHT = 1.0
LEAD_CHARS = 400  # the first characters of the body that count as the lead
PARENT_DECAY = 0.8  # a parent reached only through a child gets this share of the child's weight
SCORE_SCALE = 3.0  # score = 1 - exp(-weight / SCORE_SCALE): one body mention 0.28, one title mention 0.63
M_START, M_END, M_SURFACE, M_ZONE_WEIGHT, M_BODY_OFFSET, M_READINGS = range(6)


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
    context = PlaceContext(matcher, source_country)
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
        title_case = is_title_case(title)
        person_words |= find_person_forms(matcher, doc, pending, body_start, title_case)
        for mention in pending:
            readings = mention[M_READINGS]
            chosen = readings[0]
            if len(readings) != 1 or chosen.ambiguous is not None:
                chosen = choose_candidate(
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
