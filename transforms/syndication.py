"""Wire-service credits and datelines: which agency a story came from, and its text without the dateline."""

from __future__ import annotations

import re

# Canonical agency name -> the spellings that credit it (inside a dateline's parentheses or a credit line).
AGENCY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "AP": ("AP", "The Associated Press", "Associated Press"),
    "Reuters": ("Reuters", "Thomson Reuters"),
    "AFP": ("AFP", "Agence France-Presse", "Agence France Presse"),
    "dpa": ("dpa", "DPA", "Deutsche Presse-Agentur"),
    "UPI": ("UPI", "United Press International"),
    "Xinhua": ("Xinhua",),
    "TASS": ("TASS", "ITAR-TASS"),
    "RIA Novosti": ("RIA Novosti", "RIA"),
    "Sputnik": ("Sputnik",),
    "Interfax": ("Interfax",),
    "Anadolu": ("AA", "Anadolu", "Anadolu Agency"),
    "SANA": ("SANA", "Syrian Arab News Agency"),
    "IRNA": ("IRNA",),
    "WAFA": ("WAFA",),
    "KUNA": ("KUNA",),
    "QNA": ("QNA",),
    "EFE": ("EFE",),
    "ANSA": ("ANSA",),
    "Kyodo": ("Kyodo", "Kyodo News"),
    "Yonhap": ("Yonhap",),
    "PTI": ("PTI",),
    "IANS": ("IANS",),
    "ANI": ("ANI",),
    "Bloomberg": ("Bloomberg",),
    "CNA": ("CNA",),
}
_SPELLING_TO_AGENCY = {spelling.lower(): agency for agency, spellings in AGENCY_SPELLINGS.items()
                       for spelling in spellings}
# Spellings match case-sensitively: "(ap)" or "(aa)" in running text would be too loose. Longest first, so
# "The Associated Press" wins over "AP".
_ALL_SPELLINGS = [spelling for spellings in AGENCY_SPELLINGS.values() for spelling in spellings]
_SPELLINGS_RE = "|".join(re.escape(spelling) for spelling in sorted(_ALL_SPELLINGS, key=len, reverse=True))
_AGENCY_IN_PARENS_RE = re.compile(r"\(\s*(?P<agency>" + _SPELLINGS_RE + r")\s*\)")

_DASH = r"(?:[—–]|--?)"
# "BEIRUT (AP) —", "ALEPPO, Syria, Dec 13 (Reuters) -", "Beirut (AFP) –": place, optional date, agency.
_PLACE = r"[A-Z][\w.'’ -]{1,40}?(?:,\s*[A-Z][\w.'’ -]{1,30}?){0,2}"
_DATE = r"(?:,\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2,8}\.?)(?:,?\s+\d{4})?)?"
AGENCY_DATELINE_RE = re.compile(
    r"^\s*(?:" + _PLACE + r")" + _DATE + r"\s*\(\s*(?P<agency>[^()\n]{2,40}?)\s*\)\s*" + _DASH + r"\s*"
)
# "MOSCOW, December 5. /TASS/." — TASS puts its name between slashes after the date.
SLASH_DATELINE_RE = re.compile(
    r"^\s*(?:" + _PLACE + r")" + _DATE + r"\.?\s*/(?P<agency>TASS|ITAR-TASS)/\.?\s*"
)
# "Damascus, SANA –": SANA's own style, the agency after the place and before a dash.
COMMA_DATELINE_RE = re.compile(
    r"^\s*(?:" + _PLACE + r"),\s*(?P<agency>SANA|IRNA|WAFA|KUNA|QNA|Xinhua)\s*" + _DASH + r"\s*"
)
# "BEIRUT — " or "ALEPPO, Syria — ": a staff dateline in capitals, no agency.
PLAIN_DATELINE_RE = re.compile(r"^\s*[A-Z][A-Z.'’ -]{2,30}(?:,\s*[A-Z][\w.'’ -]{2,30}?)?\s+(?:[—–]|--)\s+")

# Credit lines anywhere in the text.
CREDIT_LINE_RES = (
    re.compile(r"(?:\bCopyright|©)\s*(?:\d{4}\s*)?(?:by\s+)?(?P<agency>" + _SPELLINGS_RE + r")\b"),
    re.compile(r"\b(?P<agency>The Associated Press|Associated Press|Reuters|AFP|Agence France-Presse)"
               r"\s+(?:contributed|writers?\b|reporters?\b|correspondents?\b)"),
    re.compile(r"(?:^|\n)\s*(?:Source|Via|Credit)\s*:\s*(?P<agency>" + _SPELLINGS_RE + r")\s*\.?\s*$",
               re.MULTILINE),
    re.compile(r"(?:^|\n)\s*[—–-]\s*(?P<agency>" + _SPELLINGS_RE + r")\s*\.?\s*$", re.MULTILINE),
    re.compile(r"\bwith\s+(?P<agency>AFP|Reuters|AP|dpa)\s*\)"),
)
# Reuters' sign-off: "(Reporting by ...; Editing by ...)".
REUTERS_SIGNOFF_RE = re.compile(r"\(\s*(?:Additional\s+)?Reporting by [^()]{3,300}?(?:Editing|Writing) by ")
# Title suffixes: "Troops advance on Aleppo - Reuters", "... | AP News".
TITLE_CREDIT_RE = re.compile(r"\s[-–—|]\s*(?P<agency>" + _SPELLINGS_RE + r")(?:\s+News)?\s*$", re.IGNORECASE)

# A credit line before the date, as some outlets print it under the headline: "AFP, Monday 3 Oct 2016".
BYLINE_CREDIT_RE = re.compile(
    r"\b(?P<agency>AFP|AP|Reuters|dpa|Xinhua|Anadolu Agency)\s*,?\s+"
    r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b"
)
HEAD_CHARS = 400  # a dateline credit sits at the top ...
TAIL_CHARS = 600  # ... a credit line at the bottom


def _agency_name(spelling: str) -> str | None:
    """Canonical agency for one spelling, None when it names no known agency."""
    return _SPELLING_TO_AGENCY.get(spelling.strip().lower())


def _match_agency_dateline(text: str) -> tuple[str, int] | None:
    """Agency named by a leading dateline and where the dateline ends, None without one."""
    for pattern in (AGENCY_DATELINE_RE, SLASH_DATELINE_RE, COMMA_DATELINE_RE):
        match = pattern.match(text)
        if match:
            # "(AP)", "(Reuters/AFP)": the first known agency among the credited ones.
            for part in re.split(r"[/,;&]| and ", match.group("agency")):
                agency = _agency_name(part)
                if agency:
                    return agency, match.end()
    return None


def detect_wire_credit(text: str, title: str | None = None) -> str | None:
    """Wire agency credited for a story ("AP", "Reuters", "AFP", ...) by its dateline, credits or title."""
    text = text or ""
    dateline = _match_agency_dateline(text)
    if dateline:
        return dateline[0]
    head, tail = text[:HEAD_CHARS], text[-TAIL_CHARS:]
    for part in (head, tail):
        match = _AGENCY_IN_PARENS_RE.search(part)
        if match:
            return _agency_name(match.group("agency"))
    match = BYLINE_CREDIT_RE.search(head)
    if match:
        return _agency_name(match.group("agency"))
    for pattern in CREDIT_LINE_RES:
        match = pattern.search(text)
        if match:
            return _agency_name(match.group("agency"))
    if REUTERS_SIGNOFF_RE.search(tail):
        return "Reuters"
    if title:
        match = TITLE_CREDIT_RE.search(title.strip())
        if match:
            return _agency_name(match.group("agency"))
    return None


def strip_dateline(text: str) -> str:
    """Text without a leading "CITY (AGENCY) — " or "CITY — " dateline, so wire copies compare equal."""
    if not text:
        return text or ""
    dateline = _match_agency_dateline(text)
    end = dateline[1] if dateline else None
    if end is None:
        match = PLAIN_DATELINE_RE.match(text)
        end = match.end() if match else None
    # A "dateline" that is the whole text is a one-line text, not a dateline.
    return text[end:] if end is not None and end < len(text.rstrip()) else text
