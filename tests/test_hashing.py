"""Content hashes equal under formatting changes, different otherwise; article ids."""

from __future__ import annotations

import re

import pytest

from transforms.hashing import hash_content, make_article_id, normalise_for_hash

TEXT = "Government forces shelled eastern Aleppo on Tuesday, residents said. At least 12 people were killed."


@pytest.mark.parametrize(
    "variant",
    [
        "  Government   forces shelled eastern Aleppo on Tuesday, residents said.\n\n"
        "At least 12 people were killed.",
        TEXT.upper(),
        TEXT.replace(",", "").replace(".", ""),
        TEXT.replace("said.", "said —").replace("Tuesday,", "Tuesday;"),
        "\ufeff" + TEXT.replace("Aleppo", "Alep\u00adpo"),
        TEXT.replace("12", "\uff11\uff12"),  # full-width digits fold to ASCII under NFKC
    ],
)
def test_formatting_changes_hash_equal(variant):
    assert hash_content(variant) == hash_content(TEXT)


@pytest.mark.parametrize(
    "different",
    [
        TEXT.replace("12", "13"),
        TEXT.replace("eastern", "western"),
        TEXT.replace(" At least 12 people were killed.", ""),
        TEXT.replace("Government forces shelled", "Rebels shelled"),
    ],
)
def test_content_changes_hash_differently(different):
    assert hash_content(different) != hash_content(TEXT)


def test_normalised_text_is_casefolded_without_punctuation_and_single_spaced():
    normalised = normalise_for_hash("  “Straße” —  it’s\tfine!  ")
    assert normalised == "strasse it s fine"


def test_word_boundaries_survive_punctuation():
    assert normalise_for_hash("end.Start") == normalise_for_hash("end. Start") == "end start"


def test_hash_is_hex_sha256():
    assert re.fullmatch(r"[0-9a-f]{64}", hash_content(TEXT))
    assert hash_content("") == hash_content("  ...  ")


def test_article_id_is_16_hex_and_deterministic():
    article_id = make_article_id("https://news.example.com/world/aleppo")
    assert re.fullmatch(r"[0-9a-f]{16}", article_id)
    assert article_id == make_article_id("https://news.example.com/world/aleppo")
    assert article_id != make_article_id("https://news.example.com/world/idlib")
