"""The article's language on real pages of ../shared/corpus: the text wins over wrong markup, markup and feed
fill in when the text cannot decide."""

from __future__ import annotations

import gzip
import json

from flows.stages.articles import PageJob, build_article
from transforms.language import choose_language, detect_language, normalise_code

ISOLEZWE = "html/fundus/za/Isolezwe_2025_11_09.html.gz"  # Zulu text, <html lang="en">
GUARDIAN_AEB = "html/aeb/05844573ca7e1fba714d715bb11ca08c26e25328999c74a1cb3bc8a0e4399f0f.html.gz"  # English, no lang


def corpus_job(corpus, page: str, feed_language: str | None = None) -> PageJob:
    row = next(json.loads(line) for line in (corpus / "pages.jsonl").open() if json.loads(line)["page"] == page)
    return PageJob(url=row["url"], final_url=row["url"], body=gzip.decompress((corpus / page).read_bytes()),
                   language=feed_language)


def test_a_page_declaring_english_but_written_in_zulu_is_zulu(corpus):
    article = build_article(corpus_job(corpus, ISOLEZWE, feed_language="en")).article
    assert article.declared_language == "en"
    assert (article.language, article.language_source) == ("zu", "text")
    assert article.language_confidence >= 0.9


def test_text_language_without_markup(corpus):
    article = build_article(corpus_job(corpus, GUARDIAN_AEB)).article
    assert article.declared_language is None
    assert (article.language, article.language_source) == ("en", "text")


def test_markup_decides_when_the_text_is_too_short():
    choice = choose_language("Kurze Meldung.", "de-AT", "en")
    assert (choice.language, choice.source, choice.markup_disagrees) == ("de", "html", False)


def test_feed_decides_when_neither_text_nor_markup_can():
    assert choose_language("Short note.", None, "fr").source == "feed"
    assert choose_language("", None, None).language is None


def test_disagreement_is_reported(corpus):
    body = json.loads((corpus / "ground_truth/fundus/za/Isolezwe_2025_11_09.json").read_text())["articleBody"]
    assert choose_language(body, "en", None).markup_disagrees
    assert not choose_language(body, "zu", None).markup_disagrees


def test_codes_are_folded_to_one_name_per_language():
    assert normalise_code("nb-NO") == normalise_code("no") == "no"
    assert normalise_code("EN_gb") == "en"
    assert detect_language("two words") == (None, 0.0)
