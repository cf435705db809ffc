"""Shingling, MinHash signatures, LSH bands and the near-duplicate threshold."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO
from transforms.near_dupes import (
    DEFAULT_BANDS,
    DEFAULT_NUM_PERM,
    DEFAULT_ROWS,
    DEFAULT_THRESHOLD,
    assign_clusters,
    band_hashes,
    band_hashes_batch,
    candidate_probability,
    choose_bands,
    compute_minhash,
    compute_minhashes,
    decode_minhash,
    encode_minhash,
    estimate_jaccard,
    find_candidate_pairs,
    is_empty_signature,
    shingle_words,
    sign_texts,
)

# Two reports on the same subject (written for these tests): shared names and phrases, different stories.
REPORT = (
    "Government forces and their allies pushed deeper into the rebel-held eastern districts of "
    "Aleppo on Tuesday, seizing the Sheikh Saeed neighbourhood after a night of heavy shelling, a "
    "monitoring group said. The Syrian Observatory for Human Rights said at least 21 civilians were "
    "killed in the bombardment, including six children, and that hundreds of families had fled "
    "toward the western side of the city. Residents reached by telephone described streets littered "
    "with rubble and said bakeries had closed because flour had run out two weeks ago. A field "
    "hospital in the Sakhour district stopped admitting patients after its generator was hit, "
    "according to a doctor who works there. The United Nations envoy called for an immediate pause "
    "in the fighting so that aid convoys waiting at the Turkish border could reach an estimated "
    "250,000 people trapped inside. Rebel commanders said they had repelled an assault on the "
    "Ramouseh road and would not withdraw from the besieged districts. The army said its units were "
    "clearing mines and tunnels left behind by the fighters and urged civilians to use humanitarian "
    "corridors it had opened near the Castello road. Diplomats in Geneva said talks on a ceasefire "
    "would resume next week, though officials on both sides played down hopes of a breakthrough "
    "before the winter."
)
OTHER_REPORT = (
    "Rebel fighters in Idlib province launched a counter-offensive on Thursday aimed at relieving "
    "pressure on eastern Aleppo, striking army positions along the Ramouseh road, a monitoring group"
    " said. The Syrian Observatory for Human Rights said at least 35 combatants were killed on both "
    "sides as the fighting spread to the villages south of the city. Warplanes carried out dozens of"
    " raids on the towns of Khan Touman and Maaret al-Numan, where a market was hit, residents said."
    " A spokesman for one of the rebel factions said the operation would continue until the siege "
    "was broken, while state media said the army had destroyed several vehicles packed with "
    "explosives. Aid agencies warned that the renewed clashes would delay deliveries of food and "
    "medicine to the western side of Aleppo, where prices have tripled since the summer. The United "
    "Nations envoy said he was deeply concerned about the safety of civilians and repeated his call "
    "for talks in Geneva. Turkish officials said they had reinforced the border crossings in case of"
    " a new wave of people fleeing the fighting in the north of the country."
)
FILLER = ("reportedly", "officials", "said", "local", "again", "new", "later", "still", "city", "forces")


def edit_words(text: str, share: float, seed: int) -> str:
    """A copy with about `share` of its words replaced, deleted or followed by an inserted word."""
    rng = random.Random(seed)
    out: list[str] = []
    for word in text.split():
        roll = rng.random()
        if roll >= share:
            out.append(word)
        elif roll < share * 0.6:
            out.append(rng.choice(FILLER))
        elif roll >= share * 0.8:
            out.extend((word, rng.choice(FILLER)))
    return " ".join(out)


def exact_jaccard(first: str, second: str) -> float:
    """Exact Jaccard similarity of two texts' shingle sets."""
    a, b = set(shingle_words(first).tolist()), set(shingle_words(second).tolist())
    return len(a & b) / len(a | b)


def test_shingles_are_sorted_unique_uint64():
    shingles = shingle_words(REPORT + " " + REPORT)
    assert shingles.dtype == np.uint64
    assert np.array_equal(shingles, np.unique(shingles))
    assert shingles.size == np.unique(shingle_words(REPORT)).size + 4  # the seam adds k-1 new windows


def test_shingles_ignore_case_punctuation_and_spacing():
    assert np.array_equal(shingle_words("Troops entered ALEPPO, residents said!"),
                          shingle_words("troops   entered aleppo residents said"))


def test_shingles_depend_on_word_order():
    assert not np.array_equal(shingle_words("a b c d e"), shingle_words("e d c b a"))


def test_short_text_is_one_shingle_and_empty_text_none():
    assert shingle_words("Aleppo ceasefire").size == 1
    assert shingle_words("  ...  ").size == 0
    with pytest.raises(ValueError):
        shingle_words(REPORT, k=0)


def test_ideographic_text_is_shingled_per_character():
    assert shingle_words("東京で会議が開かれた").size == 10 - 5 + 1


def test_minhash_is_uint32_of_num_perm():
    signature = compute_minhash(REPORT)
    assert signature.dtype == np.uint32 and signature.shape == (DEFAULT_NUM_PERM,)
    assert compute_minhash(REPORT, num_perm=64).shape == (64,)


def test_minhash_is_the_same_in_another_process():
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from transforms.near_dupes import compute_minhash;"
        "print(compute_minhash(sys.argv[2]).tobytes().hex())"
    )
    env = {"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script, str(REPO), REPORT], capture_output=True, text=True,
                            env=env, check=True, timeout=120)
    assert result.stdout.strip() == compute_minhash(REPORT).tobytes().hex()


def test_seed_changes_the_signature():
    assert not np.array_equal(compute_minhash(REPORT, seed=1), compute_minhash(REPORT, seed=2))


def test_batch_rows_equal_single_signatures():
    texts = [REPORT, "", OTHER_REPORT, "short text", edit_words(REPORT, 0.05, seed=3)]
    batch = compute_minhashes(texts)
    assert batch.shape == (len(texts), DEFAULT_NUM_PERM)
    for row, text in enumerate(texts):
        assert np.array_equal(batch[row], compute_minhash(text))
    assert is_empty_signature(batch[1]) and not is_empty_signature(batch[0])


def test_estimate_tracks_exact_jaccard():
    for share, seed in ((0.02, 1), (0.05, 2), (0.1, 3), (0.2, 4)):
        copy = edit_words(REPORT, share, seed)
        signatures = compute_minhashes([REPORT, copy], num_perm=256)
        estimate = estimate_jaccard(signatures[0], signatures[1])
        assert abs(estimate - exact_jaccard(REPORT, copy)) < 0.1


def test_estimate_of_identical_unrelated_and_empty_texts():
    signature = compute_minhash(REPORT)
    assert estimate_jaccard(signature, compute_minhash(REPORT.upper())) == 1.0
    unrelated = compute_minhash("The central bank left interest rates unchanged.")
    assert estimate_jaccard(signature, unrelated) == 0.0
    assert estimate_jaccard(compute_minhash(""), compute_minhash("")) == 0.0
    with pytest.raises(ValueError):
        estimate_jaccard(signature, signature[:64])


def test_five_percent_edited_copy_is_a_near_duplicate():
    original = compute_minhash(REPORT)
    for seed in range(5):
        copy = compute_minhash(edit_words(REPORT, 0.05, seed))
        assert estimate_jaccard(original, copy) >= DEFAULT_THRESHOLD
        assert set(band_hashes(original)) & set(band_hashes(copy)), "LSH must propose the pair"


def test_same_topic_different_report_is_not_a_near_duplicate():
    assert estimate_jaccard(compute_minhash(REPORT), compute_minhash(OTHER_REPORT)) < DEFAULT_THRESHOLD


def test_band_hashes_are_signed_64_bit_and_deterministic():
    hashes = band_hashes(compute_minhash(REPORT))
    assert len(hashes) == DEFAULT_BANDS
    assert all(isinstance(value, int) and -(2**63) <= value < 2**63 for value in hashes)
    assert hashes == band_hashes(compute_minhash(REPORT))
    assert hashes != band_hashes(compute_minhash(OTHER_REPORT))


def test_band_hash_encodes_the_band_index():
    constant = np.full(DEFAULT_NUM_PERM, 7, dtype=np.uint32)
    assert len(set(band_hashes(constant))) == DEFAULT_BANDS


def test_band_hashes_of_empty_text_are_none_and_bad_banding_raises():
    assert band_hashes(compute_minhash("")) == []
    with pytest.raises(ValueError):
        band_hashes(compute_minhash(REPORT), bands=65, rows=2)


def test_batch_band_hashes_equal_single_ones():
    signatures = compute_minhashes([REPORT, OTHER_REPORT])
    batch = band_hashes_batch(signatures, DEFAULT_BANDS, DEFAULT_ROWS)
    assert batch.dtype == np.int64 and batch.shape == (2, DEFAULT_BANDS)
    assert batch[1].tolist() == band_hashes(signatures[1])


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
def test_choose_bands_puts_the_s_curve_near_the_threshold(threshold):
    bands, rows = choose_bands(threshold, 128)
    assert bands * rows <= 128
    assert candidate_probability(threshold + 0.15, bands, rows) > 0.9
    assert candidate_probability(max(threshold - 0.25, 0.02), bands, rows) < 0.5


def test_choose_bands_rejects_a_threshold_outside_0_1():
    with pytest.raises(ValueError):
        choose_bands(1.0, 128)


def test_default_banding_proposes_pairs_at_the_threshold():
    assert candidate_probability(DEFAULT_THRESHOLD, DEFAULT_BANDS, DEFAULT_ROWS) > 0.95
    assert DEFAULT_BANDS * DEFAULT_ROWS <= DEFAULT_NUM_PERM


def test_candidate_pairs_and_clusters():
    texts = [REPORT, OTHER_REPORT, edit_words(REPORT, 0.05, 9), "Markets closed higher on Friday."]
    bands = band_hashes_batch(compute_minhashes(texts), DEFAULT_BANDS, DEFAULT_ROWS)
    assert find_candidate_pairs(bands) == {(0, 2)}
    ids = ["d", "c", "b", "a"]
    pairs = [("d", "b"), ("b", "c")]
    clusters = assign_clusters(ids, pairs)
    assert clusters == assign_clusters(reversed(ids), list(reversed(pairs)))
    assert clusters == {"a": "a", "b": "b", "c": "b", "d": "b"}


def test_fakes_copies_and_same_place_reports_on_either_side_of_the_threshold(corpus):
    with (corpus / "articles" / "fa-kes" / "fakes.csv").open(encoding="latin-1", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if len(row["article_content"].split()) >= 200][:40]
    texts = [row["article_content"] for row in rows]
    signatures = compute_minhashes(texts)
    copies = compute_minhashes([edit_words(text, 0.05, seed) for seed, text in enumerate(texts)])
    assert all(estimate_jaccard(a, b) >= DEFAULT_THRESHOLD for a, b in zip(signatures, copies, strict=True))
    same_place = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))
                  if rows[i]["location"] == rows[j]["location"] and texts[i] != texts[j]]
    assert same_place
    assert all(estimate_jaccard(signatures[i], signatures[j]) < DEFAULT_THRESHOLD for i, j in same_place)


def test_seed_syndicated_set_is_one_cluster_and_other_seed_pages_stay_apart():
    from tests.conftest import SEEDS
    from transforms.extract import extract_page

    cases = json.loads((SEEDS / "cases.json").read_text(encoding="utf-8"))
    site = SEEDS / "site"
    urls, texts = [], []
    for path in sorted(site.glob("**/*.html")):
        page = extract_page(path.read_bytes(), "https://" + path.relative_to(site).as_posix())
        if page is not None and page.text:
            urls.append("https://" + path.relative_to(site).as_posix())
            texts.append(page.text)
    signatures = compute_minhashes(texts)
    bands = band_hashes_batch(signatures, DEFAULT_BANDS, DEFAULT_ROWS)
    duplicate_pairs = [
        (urls[i], urls[j]) for i, j in find_candidate_pairs(bands)
        if estimate_jaccard(signatures[i], signatures[j]) >= DEFAULT_THRESHOLD
    ]
    clusters = assign_clusters(urls, duplicate_pairs)
    groups: dict[str, set[str]] = {}
    for url, cluster in clusters.items():
        groups.setdefault(cluster, set()).add(url)
    expected = {frozenset(cases["syndicated"]), frozenset(cases["exact_copy"])}
    assert {frozenset(group) for group in groups.values() if len(group) > 1} == expected


def test_signature_round_trips_through_the_blob():
    signature = compute_minhash("Troops entered the northern town on Tuesday after a week of shelling.")
    blob = encode_minhash(signature)
    assert len(blob) == DEFAULT_NUM_PERM * 4
    assert (decode_minhash(blob) == signature).all()


def test_signed_texts_are_the_blobs_of_their_signatures():
    texts = ["Rebels held the road to the airport.", "", "Talks resumed in Geneva on Monday."]
    assert sign_texts(texts) == [encode_minhash(compute_minhash(text)) for text in texts]
