"""The extraction cascade: trafilatura's full mode where its fast text and readability disagree on length; when
the text is suspect, readability's second opinion trims short paragraphs it does not confirm; on real pages of
../shared/corpus it keeps precision up and recall held."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter

import pytest
from lxml.html import fromstring

from transforms.extract import extract_page
from transforms.extraction_cascade import (
    choose_text,
    filter_by_opinion,
    is_suspect,
    needs_full_mode,
    read_link_texts,
    read_readability,
    run_cascade,
)

BODY = "The council voted late on Tuesday to reopen the harbour road after weeks of repairs and protests. " * 3
TEASER = "Read more: Ten things to do this weekend"
INDEPENDENT = "html/fundus/uk/TheIndependent_2024_11_22.html.gz"  # trafilatura keeps teaser lines
TOKYO = "html/fundus/jp/TokyoShimbun_2025_01_13.html.gz"  # Japanese: no spaces between words
ANADOLU = "html/fundus/tr/AnadoluAjansi_2026_04_20.html.gz"  # trafilatura's fast mode keeps 27 words
POLITICO = "html/fundus/be/PoliticoEu_2025_10_23.html.gz"  # fast mode: the first 118 words; readability: 33
LINK_LIST = "html/aeb/f6ac15a4d98511396da23e4428deb5605422b1c8bbc8284e771f6896bdccf57f.html.gz"  # 83 words as 1,202
BBC = "html/fundus/uk/BBC_2026_04_25.html.gz"  # fast mode: the whole body; readability: 25 words
TOKEN = re.compile(r"\w+")


def test_long_paragraphs_alone_are_not_suspect():
    assert not is_suspect(f"{BODY}\n{BODY}", None)


def test_short_paragraphs_a_longer_jsonld_body_or_too_little_text_are_suspect():
    assert is_suspect(f"{BODY}\n{TEASER}\n{TEASER}\n{TEASER}", None)
    assert is_suspect(BODY, BODY + BODY)
    assert is_suspect("Just a line.", None)


def test_a_text_rich_in_link_text_is_suspect():
    related = "Related: " + "Harbour road works cost the town more than planned, council papers show " * 2
    page = fromstring(f"<html><body><p>{BODY}</p><p>{BODY}</p><a href='/x'>{related}</a></body></html>")
    text = f"{BODY}\n{BODY}\n{related}"
    assert not is_suspect(text, None)  # long paragraphs only: the other rules see nothing
    assert is_suspect(text, None, read_link_texts(page))
    assert not is_suspect(f"{BODY}\n{BODY}", None, read_link_texts(page))


def test_unconfirmed_short_paragraphs_are_dropped_confirmed_ones_kept():
    heading = "Harbour road reopens"
    text = f"{heading}\n{BODY}\n{TEASER}"
    assert filter_by_opinion(text, f"{heading}. {BODY}") == f"{heading}\n{BODY.strip()}"


def test_an_opinion_that_misses_most_of_the_text_is_ignored():
    text = "\n".join(f"Short line number {n} of the real story." for n in range(10)) + "\n" + BODY
    result = choose_text(text, "Short line number 1 of the real story.", None)
    assert (result.text, result.extractor) == (text, "trafilatura")


def test_too_short_text_is_replaced_by_a_longer_opinion():
    result = choose_text("Home", BODY, None)
    assert (result.text, result.extractor) == (BODY, "readability")


def test_readability_confirms_the_body_of_a_plain_page():
    page = f"<html><body><nav><a href='/'>{TEASER}</a></nav><article><p>{BODY}</p><p>{TEASER}</p></article></body></html>"
    result = run_cascade(f"{BODY}\n{TEASER}", read_readability(fromstring(page)), None)
    assert BODY.strip() in result.text


def test_full_mode_reruns_only_when_readability_or_jsonld_disagree_on_length():
    assert not needs_full_mode(f"{BODY}\n{TEASER}", BODY, None)  # about the same length
    assert needs_full_mode(TEASER, f"{BODY}\n{BODY}", None)  # readability found far more
    assert needs_full_mode(BODY, BODY, BODY + BODY)  # the page's own articleBody is longer
    assert not needs_full_mode(BODY, BODY, BODY)


def test_readability_finding_far_less_reruns_only_when_the_fast_text_is_in_doubt():
    long_text = f"{BODY}\n{BODY}\n{BODY}\n{BODY}"  # 204 words, readability finds 8
    assert not needs_full_mode(long_text, TEASER, None)  # readability's miss: the fast text stands
    assert needs_full_mode(f"{BODY}\n{BODY}", TEASER, None)  # 102 words: a teaser may be all it found
    linked = read_link_texts(fromstring(f"<html><body><a href='/a'>{BODY}</a></body></html>"))
    assert needs_full_mode(long_text, TEASER, None, linked)  # a list of links: another block


def test_the_mode_that_made_the_text_is_named_in_the_extractor():
    text = f"{BODY}\n{TEASER}\n{TEASER}"
    assert run_cascade(f"{BODY}\n{BODY}", BODY, None, base="trafilatura-full").extractor == "trafilatura-full"
    assert run_cascade(text, BODY, None, base="trafilatura-full").extractor == "trafilatura-full+readability"


def score(text: str, truth: str) -> tuple[float, float]:
    found, wanted = Counter(TOKEN.findall(text.lower())), Counter(TOKEN.findall(truth.lower()))
    shared = sum((found & wanted).values())
    return shared / sum(found.values()), shared / sum(wanted.values())


def extract_corpus_page(corpus, page_path: str):
    row = next(json.loads(line) for line in (corpus / "pages.jsonl").open() if json.loads(line)["page"] == page_path)
    truth = json.loads((corpus / row["ground_truth"]).read_text())["articleBody"]
    return extract_page(gzip.decompress((corpus / page_path).read_bytes()), row["url"]), truth


def test_teaser_lines_are_trimmed_on_a_real_page(corpus):
    page, truth = extract_corpus_page(corpus, INDEPENDENT)
    assert page.extractor == "trafilatura+readability"
    precision, recall = score(page.text, truth)
    assert precision > 0.9 and recall > 0.98  # trafilatura alone: precision 0.74


def test_full_mode_recovers_a_body_the_fast_mode_cuts_short(corpus):
    page, truth = extract_corpus_page(corpus, ANADOLU)
    assert page.extractor.startswith("trafilatura-full")
    precision, recall = score(page.text, truth)
    assert precision > 0.9 and recall > 0.9  # the fast mode alone: 27 of 657 words


@pytest.mark.parametrize("page_path", [POLITICO, LINK_LIST])
def test_full_mode_replaces_a_short_or_link_heavy_fast_text_that_readability_doubts(corpus, page_path):
    page, truth = extract_corpus_page(corpus, page_path)
    assert page.extractor.startswith("trafilatura-full")
    precision, recall = score(page.text, truth)
    assert precision > 0.9 and recall > 0.85  # the fast text: F1 0.24 and 0.13


def test_a_long_fast_text_stands_when_readability_misses_the_body(corpus):
    page, truth = extract_corpus_page(corpus, BBC)
    assert not page.extractor.startswith("trafilatura-full")
    assert min(score(page.text, truth)) > 0.98


def test_japanese_text_is_not_taken_for_too_short(corpus):
    page, truth = extract_corpus_page(corpus, TOKYO)
    assert page.extractor == "trafilatura"
    assert score(page.text, truth)[0] > 0.95
