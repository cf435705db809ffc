"""Topic tagging quality and speed: a labelled set, the FA-KES Syria-war articles and off-topic news bodies.

Run: .venv/bin/python bench/eval_topics.py [--repeat 5] [--verbose]
Material:
- bench/data/topics_labelled.jsonl: short articles written for this benchmark (Syrian cities and groups under
  their spelling variants, place names used as people's names or common words, places that need support,
  off-topic news). `topics` lists what a careful reader would tag; the topics' ancestors are added here, so a
  city's country and region count as expected too.
- ../shared/corpus/articles/fa-kes/fakes.csv (Latin-1): every row is a Syria-war report; its `location` names
  the area of the event, usually a governorate named after its main city (Manbij stories are "aleppo"), so a
  row counts as found when the city or its governorate is tagged. The strict figure (city only) is printed too.
- ../shared/corpus/ground_truth/aeb/*.json `articleBody`: off-topic negatives for the Syria false-positive rate;
  one page (a fact-check about al-Tanf and Rukban in Syria) is about Syria and is set aside, by hand, below.
Both corpus parts are skipped when ../shared is absent. Prints precision/recall/F1 per kind, recalls, the Syria
false-positive rate, articles/s on one core, and a last line
`topics: city_recall=… syria_recall=… syria_fp_offtopic=… articles_per_s=…`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.stages.matchers import get_matcher  # noqa: E402
from transforms.taxonomy import KINDS  # noqa: E402
from transforms.topics import TopicMatcher, tag_article  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "bench" / "data" / "topics_labelled.jsonl"
CORPUS = ROOT.parent / "shared" / "corpus"
FAKES = CORPUS / "articles" / "fa-kes" / "fakes.csv"
AEB = CORPUS / "ground_truth" / "aeb"
# FA-KES location -> (city topic, governorate topics that also locate the event there).
FAKES_LOCATIONS = {
    "aleppo": ("aleppo", ("aleppo-governorate",)),
    "damascus": ("damascus", ("rif-dimashq",)),
    "idlib": ("idlib", ("idlib-governorate",)),
    "deir ezzor": ("deir-ez-zor", ("deir-ez-zor-governorate",)),
    "homs": ("homs", ("homs-governorate",)),
    "raqqa": ("raqqa", ("raqqa-governorate",)),
    "hasakeh": ("hasakah", ("hasakah-governorate",)),
    "hama": ("hama", ("hama-governorate",)),
    "daraa": ("daraa", ("daraa-governorate",)),
    "lattakia": ("latakia", ("latakia-governorate",)),
    "quneitra": ("quneitra", ("quneitra-governorate",)),
    "tartous": ("tartus", ("tartus-governorate",)),
}
# aeb pages that are about Syria, read by hand: not off-topic, so not counted as false positives.
AEB_ABOUT_SYRIA = {"1ee91d1fce65e09be8b8d2d29eab771546d98ca2ba5c862941e660e9fec12432"}


def load_labelled() -> list[dict]:
    """The labelled articles of bench/data/topics_labelled.jsonl."""
    with LABELLED.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_fakes() -> list[dict]:
    """FA-KES rows (title, text, location), or [] when the shared corpus is absent."""
    if not FAKES.exists():
        return []
    with FAKES.open(encoding="latin-1", newline="") as handle:
        return [
            {
                "title": row["article_title"],
                "text": row["article_content"],
                "location": (row.get("location") or "").strip().lower(),
            }
            for row in csv.DictReader(handle)
        ]


def load_aeb() -> list[dict]:
    """aeb ground-truth bodies with their ids, or [] when the shared corpus is absent."""
    pages = []
    for path in sorted(AEB.glob("*.json")) if AEB.exists() else []:
        body = json.loads(path.read_text(encoding="utf-8")).get("articleBody")
        if body:
            pages.append({"id": path.stem, "title": None, "text": body})
    return pages


def expand(matcher: TopicMatcher, topic_ids: list[str]) -> set[str]:
    """Topic ids plus all their ancestors."""
    expanded = set(topic_ids)
    for topic_id in topic_ids:
        expanded.update(matcher.ancestors[topic_id])
    return expanded


def ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def evaluate_labelled(matcher: TopicMatcher, records: list[dict], verbose: bool) -> dict:
    """Per-kind counts, labelled-city recall and Syria recall on the labelled set."""
    counts = {kind: [0, 0, 0] for kind in KINDS}  # tp, fp, fn
    late = [0, 0, 0]  # the same, over articles written after the tagger was tuned (ids "late-...")
    city_hits = city_total = syria_hits = syria_total = 0
    for record in records:
        predicted = {t.topic_id for t in tag_article(matcher, record["title"], record["text"])}
        gold = expand(matcher, record["topics"])
        for topic_id in predicted | gold:
            kind = matcher.topics[topic_id].kind
            slot = 0 if topic_id in predicted and topic_id in gold else 1 if topic_id in predicted else 2
            counts[kind][slot] += 1
            if record["id"].startswith("late-"):
                late[slot] += 1
        if record.get("city"):
            city_total += 1
            city_hits += record["city"] in predicted
        if "syria" in gold:
            syria_total += 1
            syria_hits += "syria" in predicted
        if verbose and predicted != gold:
            print(f"  {record['id']}: missing {sorted(gold - predicted)} extra {sorted(predicted - gold)}")
    return {
        "counts": counts,
        "late": late,
        "city": (city_hits, city_total),
        "syria": (syria_hits, syria_total),
    }


def evaluate_fakes(matcher: TopicMatcher, rows: list[dict], verbose: bool) -> dict:
    """City (or governorate) recall and Syria recall on FA-KES."""
    loose = strict = located = syria = 0
    for row in rows:
        predicted = {t.topic_id for t in tag_article(matcher, row["title"], row["text"])}
        syria += "syria" in predicted
        target = FAKES_LOCATIONS.get(row["location"])
        if target is None:
            continue
        located += 1
        city, areas = target
        strict += city in predicted
        found = city in predicted or any(area in predicted for area in areas)
        loose += found
        if verbose and not found:
            print(f"  fa-kes {row['location']}: {row['title'][:90]}")
    return {"loose": (loose, located), "strict": (strict, located), "syria": (syria, len(rows))}


def evaluate_offtopic(matcher: TopicMatcher, pages: list[dict], verbose: bool) -> tuple[int, int]:
    """Syria tags on off-topic pages: (false positives, pages)."""
    false_positives = total = 0
    for page in pages:
        if page["id"] in AEB_ABOUT_SYRIA:
            continue
        total += 1
        tags = {t.topic_id: t for t in tag_article(matcher, page["title"], page["text"])}
        if "syria" in tags:
            false_positives += 1
            if verbose:
                print(f"  aeb {page['id'][:12]}: syria {tags['syria'].evidence}")
    return false_positives, total


def measure_speed(
    matcher: TopicMatcher, docs: list[tuple[str | None, str]], repeat: int
) -> tuple[float, float]:
    """Articles and MB of text per CPU second, best of `repeat` passes (one process, one core; CPU time so
    that other work on a shared machine does not count)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for title, text in docs:
            tag_article(matcher, title, text)
        best = min(best, time.process_time() - started)
    chars = sum(len(text) + len(title or "") for title, text in docs)
    return len(docs) / best, chars / best / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the material (best is kept)")
    parser.add_argument("--verbose", action="store_true", help="print every disagreement")
    args = parser.parse_args()

    started = time.perf_counter()
    matcher = get_matcher()
    build_s = time.perf_counter() - started
    print(f"matcher: {matcher.version}, {len(matcher.topics)} topics, built in {build_s:.2f} s")

    labelled = load_labelled()
    fakes = load_fakes()
    aeb = load_aeb()
    if not fakes or not aeb:
        print("shared corpus not found: FA-KES and aeb parts skipped")

    lab = evaluate_labelled(matcher, labelled, args.verbose)
    print(f"\nlabelled set: {len(labelled)} articles (gold topics plus their ancestors)")
    print(f"{'kind':<8} {'tp':>5} {'fp':>5} {'fn':>5} {'precision':>10} {'recall':>8} {'f1':>6}")
    totals = [0, 0, 0]
    for kind in KINDS:
        tp, fp, fn = lab["counts"][kind]
        totals = [a + b for a, b in zip(totals, (tp, fp, fn), strict=True)]
        precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
        f1 = ratio(2 * tp, 2 * tp + fp + fn)
        print(f"{kind:<8} {tp:>5} {fp:>5} {fn:>5} {precision:>10.3f} {recall:>8.3f} {f1:>6.3f}")
    tp, fp, fn = totals
    print(
        f"{'all':<8} {tp:>5} {fp:>5} {fn:>5} {ratio(tp, tp + fp):>10.3f} {ratio(tp, tp + fn):>8.3f} "
        f"{ratio(2 * tp, 2 * tp + fp + fn):>6.3f}"
    )
    tp, fp, fn = lab["late"]
    late_count = sum(r["id"].startswith("late-") for r in labelled)
    print(
        f"{'late':<8} {tp:>5} {fp:>5} {fn:>5} {ratio(tp, tp + fp):>10.3f} {ratio(tp, tp + fn):>8.3f} "
        f"{ratio(2 * tp, 2 * tp + fp + fn):>6.3f}   ({late_count} articles written after tuning, all kinds)"
    )
    city_hits, city_total = lab["city"]
    syria_hits, syria_total = lab["syria"]
    print(
        f"labelled city recall {city_hits}/{city_total} = {ratio(city_hits, city_total):.3f}; "
        f"Syria recall {syria_hits}/{syria_total} = {ratio(syria_hits, syria_total):.3f}"
    )

    if fakes:
        fk = evaluate_fakes(matcher, fakes, args.verbose)
        (loose, located), (strict, _), (fk_syria, fk_total) = fk["loose"], fk["strict"], fk["syria"]
        print(f"\nFA-KES: {fk_total} Syria-war articles, {located} with a location")
        print(
            f"location recall (city or its governorate) {loose}/{located} = {ratio(loose, located):.3f}; "
            f"city only {strict}/{located} = {ratio(strict, located):.3f}"
        )
        print(f"Syria recall {fk_syria}/{fk_total} = {ratio(fk_syria, fk_total):.3f}")
        city_hits, city_total = city_hits + loose, city_total + located
        syria_hits, syria_total = syria_hits + fk_syria, syria_total + fk_total
    fp_count, offtopic_total = evaluate_offtopic(matcher, aeb, args.verbose) if aeb else (0, 0)
    if aeb:
        print(
            f"\noff-topic aeb bodies: {offtopic_total} ({len(AEB_ABOUT_SYRIA)} page about Syria set aside); "
            f"Syria tagged on {fp_count} = {ratio(fp_count, offtopic_total):.3%}"
        )
    offtopic_labelled = [r for r in labelled if "syria" not in expand(matcher, r["topics"])]
    lab_fp = sum(
        "syria" in {t.topic_id for t in tag_article(matcher, r["title"], r["text"])}
        for r in offtopic_labelled
    )
    print(f"labelled articles not about Syria: {len(offtopic_labelled)}; Syria tagged on {lab_fp}")

    docs = [(r["title"], r["text"]) for r in labelled + fakes + aeb]
    typical = [(t, x) for t, x in docs if 3000 <= len(x) <= 5000]
    per_s, mb_s = measure_speed(matcher, docs, args.repeat)
    mean_chars = sum(len(x) for _, x in docs) / len(docs)
    print(
        f"\nspeed (CPU time of one core, best of {args.repeat}): {per_s:,.0f} articles/s over {len(docs)} articles "
        f"averaging {mean_chars:,.0f} chars ({mb_s:.1f} MB/s)"
    )
    if typical:
        typical_per_s, _ = measure_speed(matcher, typical, args.repeat)
        print(f"articles of 3-5 KB only: {typical_per_s:,.0f} articles/s over {len(typical)} articles")

    print(
        f"topics: city_recall={ratio(city_hits, city_total):.3f} syria_recall={ratio(syria_hits, syria_total):.3f} "
        f"syria_fp_offtopic={ratio(fp_count, offtopic_total):.4f} articles_per_s={per_s:.0f}"
    )


if __name__ == "__main__":
    main()
