"""Text cleaning: unicode and whitespace normalisation, and removal of caption, credit and share residue."""

from __future__ import annotations

import re
import unicodedata

CLEANER_VERSION = "1"

# Characters that render as nothing or as a plain space but break matching and hashing.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")

SCREENSHOT = re.compile(r"^(screen ?shot|screenshot)[\s_-]+\d{4}-\d{2}-\d{2}\b.*$", re.IGNORECASE)
IMAGE_FILE = re.compile(r"^\S+\.(jpe?g|png|gif|webp)$", re.IGNORECASE)
CREDIT_TAIL = re.compile(
    r"\((?:AP|AFP|Reuters|Getty|EPA|SANA|Anadolu)[^()]{0,60}?(?:Photo|Video|Images?|Pool)[^()]{0,60}\)\s*\.?$",
    re.IGNORECASE,
)
CAPTION_HEAD = re.compile(
    r"^(?:AP video|video|watch|photo|image|image copyright|photograph|file photo)\s*[:|]\s",
    re.IGNORECASE,
)
SHARE_LINE = re.compile(
    r"^(?:share(?: (?:on|via) \w+| this(?: article| story)?)?|tweet|email|e-mail|print|pin it|whatsapp|"
    r"click to share.*|follow us on .*|advertisement|sponsored|read more|related(?: articles| stories)?|"
    r"comments?|sign up for .*newsletter.*)\s*[:.!]?$",
    re.IGNORECASE,
)


def normalise_unicode(text: str) -> str:
    """NFC-normalise text and drop invisible characters."""
    return unicodedata.normalize("NFC", text).translate(INVISIBLE)


def is_residue_line(line: str) -> bool:
    """Tell whether a line is a caption, a credit, a screenshot label or share-button text."""
    if SCREENSHOT.match(line) or IMAGE_FILE.match(line) or SHARE_LINE.match(line):
        return True
    if CAPTION_HEAD.match(line):
        return True
    return bool(CREDIT_TAIL.search(line))


def clean_text(text: str, title: str | None = None) -> str:
    """Return the article body as clean paragraphs separated by one blank line."""
    paragraphs: list[str] = []
    for raw_line in normalise_unicode(text).splitlines():
        line = SPACES.sub(" ", raw_line).strip()
        if not line or is_residue_line(line):
            continue
        paragraphs.append(line)
    # The headline often comes back as the first line of the body.
    if title and paragraphs and paragraphs[0].casefold() == SPACES.sub(" ", title).strip().casefold():
        paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs)


def count_words(text: str) -> int:
    """Count whitespace-separated words."""
    return len(text.split())
