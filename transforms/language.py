"""The article's language with evidence: detected from the text (py3langid), else the page's markup, else
the feed's setting; a disagreement between markup and text is reported (docs/extraction.md)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# Below this confidence (normalised probability) or this many words the text does not decide.
MIN_CONFIDENCE = 0.9
MIN_WORDS = 15
DETECT_CHARS = 3000  # the text's start: enough for a confident guess, and detection cost stays flat
# Codes that name the same written language for our purposes (macrolanguage and its members).
SAME_LANGUAGE = {"nb": "no", "nn": "no", "iw": "he", "in": "id", "ji": "yi"}


@dataclass(slots=True, frozen=True)
class LanguageChoice:
    """The language kept, where it came from (text | html | feed), the detector's confidence, and whether the
    page's markup declared another language."""

    language: str | None
    source: str | None
    confidence: float | None
    markup_disagrees: bool = False


@cache
def get_identifier() -> LanguageIdentifier:
    """py3langid's model with normalised probabilities, loaded once per process."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def normalise_code(code: str | None) -> str | None:
    """A lower-case primary language subtag, with aliases folded (nb → no)."""
    if not code:
        return None
    primary = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return SAME_LANGUAGE.get(primary, primary) or None


def detect_language(text: str) -> tuple[str | None, float]:
    """The text's language and the detector's confidence (0-1); (None, 0.0) for too little text."""
    if len(text.split(None, MIN_WORDS)) < MIN_WORDS:
        return None, 0.0
    code, confidence = get_identifier().classify(text[:DETECT_CHARS])
    return normalise_code(code), float(confidence)


def choose_language(text: str, html_language: str | None, feed_language: str | None) -> LanguageChoice:
    """The text's language when detected with confidence, else the markup's, else the feed's."""
    detected, confidence = detect_language(text)
    declared = normalise_code(html_language)
    if detected is not None and confidence >= MIN_CONFIDENCE:
        disagrees = declared is not None and declared != detected
        return LanguageChoice(detected, "text", round(confidence, 4), disagrees)
    if declared is not None:
        return LanguageChoice(declared, "html", round(confidence, 4) if detected else None)
    feed = normalise_code(feed_language)
    if feed is not None:
        return LanguageChoice(feed, "feed", round(confidence, 4) if detected else None)
    if detected is not None:
        return LanguageChoice(detected, "text", round(confidence, 4))
    return LanguageChoice(None, None, None)
