"""Near-duplicate evaluation: MinHash + LSH banding + Jaccard verification on labelled syndicated copies.

Run: .venv/bin/python bench/eval_dedup.py [--thresholds 0.3,0.4,0.5] [--speed-docs 2000]
Prints precision, recall and F1 per variant kind and overall for a few thresholds, the hard same-topic
negatives flagged, LSH bandings around the default threshold, a MinHash speed comparison against datasketch,
and a last line `dedup: threshold=... precision=... recall=... minhash_per_s=...` for DEFAULT_THRESHOLD and
the default banding.
Skips (and says so) when ../shared/corpus is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dedup_pairs import VARIANT_KINDS, Doc, ambiguous_pairs, build_pool, load_bases  # noqa: E402
from transforms.near_dupes import (  # noqa: E402
    DEFAULT_BANDS,
    DEFAULT_NUM_PERM,
    DEFAULT_ROWS,
    DEFAULT_SHINGLE_WORDS,
    DEFAULT_THRESHOLD,
    band_hashes_batch,
    choose_bands,
    compute_minhash,
    compute_minhashes,
    find_candidate_pairs,
    shingle_words,
    tokenise_for_shingles,
)
from transforms.near_dupes import _minhash_of_shingles as minhash_of_shingles  # noqa: E402

Pair = tuple[int, int]


def base_of(doc: Doc) -> str:
    """Base id a document was made from."""
    return doc.doc_id.split("#", 1)[0]


def label_pairs(pool: list[Doc]) -> tuple[set[Pair], set[Pair], dict[str, set[Pair]], set[Pair]]:
    """(positive pairs, ambiguous pairs, positive pairs per variant kind, same-topic hard-negative pairs)."""
    by_family: dict[str, list[int]] = defaultdict(list)
    for index, doc in enumerate(pool):
        by_family[doc.family].append(index)
    positives = {pair for members in by_family.values() for pair in combinations(members, 2)}

    ambiguous_bases = ambiguous_pairs()
    by_base: dict[str, list[int]] = defaultdict(list)
    for index, doc in enumerate(pool):
        by_base[base_of(doc)].append(index)
    ambiguous = set()
    for pair in ambiguous_bases:
        first, second = sorted(pair)
        ambiguous.update(tuple(sorted((i, j))) for i in by_base[first] for j in by_base[second])

    per_kind: dict[str, set[Pair]] = {kind: set() for kind in (*VARIANT_KINDS, "real")}
    originals = {base_of(doc): index for index, doc in enumerate(pool) if doc.kind == "original"}
    kind_originals = {doc.doc_id: index for index, doc in enumerate(pool) if doc.kind.endswith("-original")}
    for index, doc in enumerate(pool):
        if doc.kind in per_kind:
            partner = kind_originals.get(f"{base_of(doc)}#{doc.kind}-original", originals[base_of(doc)])
            per_kind[doc.kind].add(tuple(sorted((partner, index))))
    # Real copies: originals of two base texts labelled as one article (FA-KES wire copies, Taz, seed set).
    per_kind["real"] = {pair for pair in positives
                        if pool[pair[0]].kind == pool[pair[1]].kind == "original"}

    # Same-topic negatives: FA-KES originals about the same place (Aleppo, Idlib, ...) and seed-site pages,
    # from other families.
    by_topic: dict[str, list[int]] = defaultdict(list)
    for index, doc in enumerate(pool):
        if doc.kind == "original" and doc.origin in ("fakes", "seed") and doc.topic:
            by_topic[doc.topic].append(index)
    hard_negatives = {
        pair for members in by_topic.values() for pair in combinations(members, 2)
        if pool[pair[0]].family != pool[pair[1]].family and pair not in ambiguous
    }
    return positives, ambiguous, per_kind, hard_negatives


def jaccard_of_pairs(signatures: np.ndarray, pairs: list[Pair]) -> np.ndarray:
    """Estimated Jaccard of many row pairs at once."""
    if not pairs:
        return np.empty(0)
    index = np.asarray(pairs)
    return (signatures[index[:, 0]] == signatures[index[:, 1]]).mean(axis=1)


def evaluate(signatures: np.ndarray, threshold: float, bands: int, rows: int, labels: tuple) -> dict:
    """Candidates by LSH banding, verified by estimated Jaccard; scores against the labels."""
    positives, ambiguous, per_kind, hard_negatives = labels
    band_matrix = band_hashes_batch(signatures, bands, rows)
    empty = np.all(signatures == np.uint32(0xFFFFFFFF), axis=1)
    candidates = sorted(pair for pair in find_candidate_pairs(band_matrix)
                        if not empty[pair[0]] and not empty[pair[1]])
    similarity = jaccard_of_pairs(signatures, candidates)
    flagged = {pair for pair, value in zip(candidates, similarity, strict=True) if value >= threshold}
    true_positive = len(flagged & positives)
    false_positive = len(flagged - positives - ambiguous)
    precision = true_positive / (true_positive + false_positive) if flagged else 1.0
    recall = true_positive / len(positives) if positives else 1.0
    missed = sorted(positives - flagged)
    missed_similarity = jaccard_of_pairs(signatures, missed)
    return {
        "threshold": threshold, "bands": bands, "rows": rows, "candidates": len(candidates),
        "flagged": len(flagged), "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "false_positive": false_positive, "missed": len(missed),
        # Positives the verification would accept but LSH never proposed.
        "lsh_missed": int(np.count_nonzero(missed_similarity >= threshold)),
        "per_kind": {kind: len(flagged & pairs) / len(pairs) for kind, pairs in per_kind.items() if pairs},
        "hard_negatives_flagged": len(flagged & hard_negatives),
        "ambiguous_flagged": len(flagged & ambiguous),
        "false_positive_pairs": sorted(flagged - positives - ambiguous),
    }


def time_minhash(texts: list[str]) -> dict[str, float]:
    """Seconds to sign the texts: our batch, our one-by-one, datasketch (update_batch and bulk)."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    compute_minhashes(texts)
    timings["numpy batch (compute_minhashes)"] = time.perf_counter() - start
    start = time.perf_counter()
    for text in texts:
        compute_minhash(text)
    timings["numpy one-by-one (compute_minhash)"] = time.perf_counter() - start
    try:
        from datasketch import MinHash
    except ImportError:
        return timings

    def shingle_strings(text: str) -> list[bytes]:
        """The same word 5-shingles as byte strings, as datasketch takes them."""
        tokens = tokenise_for_shingles(text)
        width = min(DEFAULT_SHINGLE_WORDS, len(tokens))
        return [" ".join(tokens[i:i + width]).encode() for i in range(len(tokens) - width + 1)]

    start = time.perf_counter()
    for text in texts:
        sketch = MinHash(num_perm=DEFAULT_NUM_PERM, seed=1)
        sketch.update_batch(shingle_strings(text))
    timings["datasketch MinHash.update_batch"] = time.perf_counter() - start
    start = time.perf_counter()
    MinHash.bulk([shingle_strings(text) for text in texts], num_perm=DEFAULT_NUM_PERM, seed=1)
    timings["datasketch MinHash.bulk"] = time.perf_counter() - start

    # The signing step alone, shingles made beforehand (tokenising is shared by both and costs the same).
    shingle_hashes = [shingle_words(text) for text in texts]
    start = time.perf_counter()
    for hashes in shingle_hashes:
        minhash_of_shingles(hashes, DEFAULT_NUM_PERM, 1)
    timings["signing only, numpy"] = time.perf_counter() - start
    byte_shingles = [shingle_strings(text) for text in texts]
    start = time.perf_counter()
    MinHash.bulk(byte_shingles, num_perm=DEFAULT_NUM_PERM, seed=1)
    timings["signing only, datasketch MinHash.bulk"] = time.perf_counter() - start
    return timings


def print_result(result: dict) -> None:
    """One threshold's figures, as lines."""
    kinds = " ".join(f"{kind}={value:.3f}" for kind, value in result["per_kind"].items())
    print(
        f"  t={result['threshold']:.2f} b={result['bands']:>2} r={result['rows']:>2} "
        f"candidates={result['candidates']:>6} flagged={result['flagged']:>6} "
        f"P={result['precision']:.4f} R={result['recall']:.4f} F1={result['f1']:.4f} "
        f"FP={result['false_positive']} FN={result['missed']} (lsh-lost {result['lsh_missed']}) "
        f"hard-neg-flagged={result['hard_negatives_flagged']} ambiguous-flagged={result['ambiguous_flagged']}"
    )
    print(f"      recall per kind (original vs copy): {kinds}")


def main(argv: list[str] | None = None) -> int:
    """Build the labelled pool, evaluate thresholds, print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.25,0.3,0.35,0.4,0.5,0.6")
    parser.add_argument("--speed-docs", type=int, default=2000)
    args = parser.parse_args(argv)

    bases = load_bases()
    if not bases:
        print("dedup: skipped, ../shared/corpus is absent")
        return 0
    pool = build_pool(bases)
    texts = [doc.text for doc in pool]
    words = np.array([len(text.split()) for text in texts])
    labels = label_pairs(pool)
    positives, ambiguous, per_kind, hard_negatives = labels
    print(f"pool: {len(bases)} base texts, {len(pool)} documents, median {int(np.median(words))} words; "
          f"{len(positives)} duplicate pairs, {len(ambiguous)} ambiguous pairs, "
          f"{len(hard_negatives)} same-topic negative pairs")

    start = time.perf_counter()
    signatures = compute_minhashes(texts)
    pool_seconds = time.perf_counter() - start
    minhash_per_s = len(texts) / pool_seconds

    hard_index = sorted(hard_negatives)
    hard_similarity = jaccard_of_pairs(signatures, hard_index)
    print(f"same-topic negatives: estimated Jaccard max={hard_similarity.max():.3f} "
          f"p99.9={np.quantile(hard_similarity, 0.999):.3f} median={np.median(hard_similarity):.3f}")
    for kind, pairs in per_kind.items():
        values = jaccard_of_pairs(signatures, sorted(pairs))
        print(f"copies '{kind}': estimated Jaccard min={values.min():.3f} p1={np.quantile(values, 0.01):.3f} "
              f"median={np.median(values):.3f}")

    print("thresholds (bands/rows from choose_bands):")
    for threshold in (float(value) for value in args.thresholds.split(",")):
        bands, rows = choose_bands(threshold, DEFAULT_NUM_PERM)
        print_result(evaluate(signatures, threshold, bands, rows, labels))

    print(f"bandings at threshold {DEFAULT_THRESHOLD}:")
    for bands, rows in ((16, 2), (32, 2), (64, 2), (42, 3), (32, 4)):
        print_result(evaluate(signatures, DEFAULT_THRESHOLD, bands, rows, labels))

    print(f"defaults: threshold={DEFAULT_THRESHOLD} bands={DEFAULT_BANDS} rows={DEFAULT_ROWS}")
    default = evaluate(signatures, DEFAULT_THRESHOLD, DEFAULT_BANDS, DEFAULT_ROWS, labels)
    print_result(default)
    for first, second in default["false_positive_pairs"][:10]:
        print(f"      false positive: {pool[first].doc_id} ~ {pool[second].doc_id}")

    speed_texts = texts[: args.speed_docs]
    print(f"speed on {len(speed_texts)} documents (median {int(np.median(words[: args.speed_docs]))} words):")
    for name, seconds in time_minhash(speed_texts).items():
        print(f"  {name}: {seconds:.2f} s, {len(speed_texts) / seconds:,.0f} docs/s")

    print(f"dedup: threshold={DEFAULT_THRESHOLD} precision={default['precision']:.4f} "
          f"recall={default['recall']:.4f} minhash_per_s={minhash_per_s:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
