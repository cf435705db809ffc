"""Near-duplicate clusters in a real DuckDB file: band join, window, canonical choice, merges, determinism."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest

from transforms.clusters import NearDupSettings
from transforms.hashing import hash_content
from transforms.near_dupes import compute_minhash, encode_minhash, estimate_jaccard
from warehouse.band_index import close_indexes, find_signatures, is_built, ready_index
from warehouse.db import open_warehouse, transaction
from warehouse.load import LoadBatch, load_batch
from warehouse.migrate import apply_migrations
from warehouse.near_dupe_pairs import load_members, read_indexed_signatures, select_members
from warehouse.near_dupes import link_near_duplicates, sign_stored_articles

VOCABULARY = [f"{a}{b}{c}" for a in "bcdfgklmnprst" for b in "aeiou" for c in ("n", "r", "s", "l", "th", "m")]
DAY = datetime(2016, 5, 3, 9, 0)


def make_text(seed: int, words: int = 300) -> str:
    """A deterministic pseudo-article: sentences of words drawn from a small vocabulary."""
    rng = random.Random(seed)
    tokens = [rng.choice(VOCABULARY) for _ in range(words)]
    sentences = [" ".join(tokens[i : i + 12]).capitalize() + "." for i in range(0, words, 12)]
    return "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


def edit_words(text: str, share: float, seed: int) -> str:
    """Replace a share of the words of a text, deterministically."""
    rng = random.Random(seed)
    words = text.split(" ")
    for index in rng.sample(range(len(words)), int(len(words) * share)):
        words[index] = rng.choice(VOCABULARY)
    return " ".join(words)


def article(article_id: str, text: str, published: datetime | None, source: str = "a.example", rank: int = 0):
    """An `articles` row carrying its signature, as flows/stages/batches.py builds it."""
    url = f"https://{source}/{article_id}"
    return {
        "article_id": article_id,
        "canonical_url": url,
        "url": url,
        "final_url": url,
        "feed_url": None,
        "source": source,
        "title": article_id,
        "byline": None,
        "published_at": published,
        "language": "en",
        "text": text,
        "word_count": len(text.split()),
        "content_hash": hash_content(text),
        "categories": [],
        "first_seen_at": datetime(2016, 6, 1),
        "updated_at": datetime(2016, 6, 1),
        "extractor_version": "x",
        "cleaner_version": "1",
        "run_id": "r",
        "batch_rank": rank,
        "minhash": encode_minhash(compute_minhash(text)),
        "wire_credit": None,
    }


def load(connection, *rows):
    """Load one batch of article rows."""
    ranked = [{**row, "batch_rank": rank} for rank, row in enumerate(rows)]
    return load_batch(connection, LoadBatch("r", articles=ranked))


def clusters(connection) -> dict[str, str]:
    return dict(connection.execute("SELECT article_id, cluster_id FROM article_signatures").fetchall())


def duplicate_rows(connection) -> list[tuple]:
    return connection.execute(
        "SELECT article_id, duplicate_of, method FROM duplicates ORDER BY article_id"
    ).fetchall()


def canonical_ids(connection) -> set[str]:
    return {r[0] for r in connection.execute("SELECT article_id FROM canonical_articles").fetchall()}


ORIGINAL = make_text(1)
CUT_COPY = ORIGINAL.rsplit("\n\n", 1)[0]
EDITED_COPY = edit_words(ORIGINAL, 0.05, seed=7)


def test_copy_a_week_later_joins_the_stored_cluster(connection):
    load(connection, article("a1", ORIGINAL, DAY, "wire.example"))
    counts = load(connection, article("b2", EDITED_COPY, DAY + timedelta(days=7), "copy.example"))
    assert counts["near_duplicate_pairs"] == 1
    assert clusters(connection) == {"a1": "a1", "b2": "a1"}
    similarity = connection.execute("SELECT similarity FROM duplicates WHERE article_id = 'b2'").fetchone()[0]
    assert similarity >= NearDupSettings().threshold
    assert duplicate_rows(connection) == [("b2", "a1", "near_duplicate")]
    assert canonical_ids(connection) == {"a1"}


def test_late_arriving_original_takes_over_as_canonical(connection):
    load(connection, article("a1", CUT_COPY, DAY + timedelta(hours=5), "late.example"))
    load(connection, article("z9", EDITED_COPY, DAY + timedelta(hours=9), "later.example"))
    assert duplicate_rows(connection) == [("z9", "a1", "near_duplicate")]
    load(connection, article("m5", ORIGINAL, DAY, "wire.example"))
    # The earliest published member is canonical, whatever order the copies arrived in.
    assert duplicate_rows(connection) == [("a1", "m5", "near_duplicate"), ("z9", "m5", "near_duplicate")]
    assert canonical_ids(connection) == {"m5"}
    assert set(clusters(connection).values()) == {"a1"}  # the cluster id stays the smallest member id


def test_equal_dates_prefer_the_longest_text(connection):
    load(connection, article("a1", CUT_COPY, DAY), article("b2", ORIGINAL, DAY, "b.example"))
    assert duplicate_rows(connection) == [("a1", "b2", "near_duplicate")]


def test_copy_outside_the_window_starts_its_own_cluster(connection):
    load(connection, article("a1", ORIGINAL, DAY))
    load(connection, article("b2", EDITED_COPY, DAY + timedelta(days=31), "b.example"))
    assert clusters(connection) == {"a1": "a1", "b2": "b2"}
    assert duplicate_rows(connection) == []


def test_same_topic_report_sharing_a_background_block_stays_separate(connection):
    background = make_text(99, words=60)
    first = make_text(2, words=240) + "\n\n" + background
    second = make_text(3, words=240) + "\n\n" + background
    assert 0.0 < estimate_jaccard(compute_minhash(first), compute_minhash(second)) < 0.35
    load(connection, article("a1", first, DAY), article("b2", second, DAY, "b.example"))
    assert clusters(connection) == {"a1": "a1", "b2": "b2"}
    assert duplicate_rows(connection) == []


def test_a_bridging_copy_merges_two_clusters(connection):
    parts = [make_text(seed, words=120) for seed in (41, 42, 43, 44)]
    left, bridge, right = "\n\n".join(parts[:2]), "\n\n".join(parts[:3]), "\n\n".join(parts[1:])
    signature = {name: compute_minhash(text) for name, text in {"l": left, "b": bridge, "r": right}.items()}
    assert estimate_jaccard(signature["l"], signature["r"]) < 0.35
    assert min(estimate_jaccard(signature["b"], signature[s]) for s in "lr") >= 0.35
    load(connection, article("c3", left, DAY), article("b2", right, DAY + timedelta(hours=1), "b.example"))
    assert clusters(connection) == {"c3": "c3", "b2": "b2"}
    load(connection, article("a1", bridge, DAY + timedelta(hours=2), "c.example"))
    assert set(clusters(connection).values()) == {"a1"}
    assert duplicate_rows(connection) == [("a1", "c3", "near_duplicate"), ("b2", "c3", "near_duplicate")]
    assert canonical_ids(connection) == {"c3"}


def test_exact_copy_published_earlier_becomes_canonical(connection):
    load(connection, article("a1", ORIGINAL, DAY))
    load(connection, article("b2", ORIGINAL, DAY - timedelta(days=1), "b.example"))
    assert duplicate_rows(connection) == [("a1", "b2", "content_hash")]
    assert canonical_ids(connection) == {"b2"}


def test_reloading_a_batch_changes_nothing(connection):
    rows = [article("a1", ORIGINAL, DAY), article("b2", EDITED_COPY, DAY, "b.example")]
    load(connection, *rows)
    tables = ["article_signatures", "article_bands", "duplicates"]
    before = {t: connection.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    counts = load(connection, *rows)
    assert counts["signed"] == 0
    assert {t: connection.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables} == before


def family_rows():
    """Two syndicated families, a bridge-free singleton and an undated copy, over several days."""
    other = make_text(11)
    return [
        article("f1", ORIGINAL, DAY + timedelta(hours=3), "one.example"),
        article("e2", CUT_COPY, DAY, "two.example"),
        article("d3", EDITED_COPY, DAY + timedelta(days=2), "three.example"),
        article("c4", other, DAY + timedelta(days=1), "one.example"),
        article("b5", edit_words(other, 0.05, seed=12), None, "two.example"),
        article("a6", make_text(13), DAY, "three.example"),
    ]


def stored_state(connection):
    return (
        sorted(clusters(connection).items()),
        connection.execute(
            "SELECT article_id, duplicate_of, method, round(similarity, 6) FROM duplicates ORDER BY ALL"
        ).fetchall(),
    )


def test_same_input_gives_same_clusters_whatever_the_batches(tmp_path):
    states = []
    for name, batches in {
        "one batch": [family_rows()],
        "reversed, one by one": [[row] for row in reversed(family_rows())],
        "two batches": [family_rows()[::2], family_rows()[1::2]],
    }.items():
        with open_warehouse(tmp_path / f"{name}.duckdb") as con:
            apply_migrations(con)
            for batch in batches:
                load(con, *batch)
            states.append(stored_state(con))
    assert states[0] == states[1] == states[2]
    cluster_of = dict(states[0][0])
    assert cluster_of["f1"] == cluster_of["e2"] == cluster_of["d3"] == "d3"
    assert cluster_of["c4"] == cluster_of["b5"] == "b5"
    assert cluster_of["a6"] == "a6"
    # e2 is the earliest published of its family; the undated b5 yields to the dated c4.
    assert [(a, d) for a, d, _, _ in states[0][1]] == [("b5", "c4"), ("d3", "e2"), ("f1", "e2")]


def test_changed_text_leaves_the_cluster(connection):
    load(
        connection, article("a1", ORIGINAL, DAY), article("b2", EDITED_COPY, DAY + timedelta(hours=1), "b.x")
    )
    assert duplicate_rows(connection) == [("b2", "a1", "near_duplicate")]
    rewritten = article("b2", make_text(21), DAY + timedelta(hours=1), "b.x")
    link_near_duplicates(connection, [rewritten], "r2", datetime(2016, 6, 2), resigned=["b2"])
    assert clusters(connection) == {"a1": "a1", "b2": "b2"}
    assert duplicate_rows(connection) == []


def test_rows_without_a_signature_are_left_alone(connection):
    row = article("a1", ORIGINAL, DAY)
    del row["minhash"]
    counts = load(connection, row)
    assert counts["signed"] == 0
    assert clusters(connection) == {}


def test_a_truncated_signature_is_refused(connection):
    row = article("a1", ORIGINAL, DAY)
    row["minhash"] = row["minhash"][:100]
    with pytest.raises(ValueError, match="512"):
        load(connection, row)
    assert connection.execute("SELECT count(*) FROM articles").fetchone()[0] == 0


def unsigned(row):
    """The same row as an older loader stored it: no signature."""
    return {key: value for key, value in row.items() if key not in {"minhash", "wire_credit"}}


def test_copy_of_an_unsigned_article_keeps_its_exact_mark(connection):
    load(connection, unsigned(article("a1", ORIGINAL, DAY)))
    load(connection, article("b2", ORIGINAL, DAY + timedelta(days=1), "b.example"))
    assert duplicate_rows(connection) == [("b2", "a1", "content_hash")]
    assert canonical_ids(connection) == {"a1"}


def test_stored_articles_are_signed_and_clustered_afterwards(connection):
    load(
        connection,
        unsigned(article("c3", EDITED_COPY, DAY + timedelta(hours=2), "c.example")),
        unsigned(article("a1", ORIGINAL, DAY)),
        unsigned(article("d4", make_text(50), DAY)),
    )
    load(connection, article("b2", ORIGINAL, DAY + timedelta(days=1), "b.example"))
    assert sign_stored_articles(connection, "r2", datetime(2016, 6, 2), batch_size=2) == 3
    assert clusters(connection) == {"a1": "a1", "b2": "a1", "c3": "a1", "d4": "d4"}
    assert duplicate_rows(connection) == [("b2", "a1", "content_hash"), ("c3", "a1", "near_duplicate")]
    assert sign_stored_articles(connection, "r3", datetime(2016, 6, 3)) == 0


def test_an_article_twice_in_one_batch_is_signed_once(connection):
    row = article("a1", ORIGINAL, DAY)
    counts = link_near_duplicates(connection, [row, {**row, "text": EDITED_COPY}], "r", DAY)
    assert counts["signed"] == 1
    assert connection.execute("SELECT article_id, text_chars FROM article_signatures").fetchall() == [
        ("a1", len(ORIGINAL))  # the batch's first row
    ]
    bands = connection.execute("SELECT count(*), count(DISTINCT band) FROM article_bands").fetchone()
    assert bands == (32, 32)


def test_moved_marks_stay_one_per_article(connection):
    for batch in family_rows():
        load(connection, batch)
    load(connection, article("g0", ORIGINAL, DAY - timedelta(days=1), "first.example"))
    marks = connection.execute("SELECT article_id, duplicate_of FROM duplicates ORDER BY ALL").fetchall()
    assert len(marks) == len({article_id for article_id, _ in marks})
    assert {a: d for a, d in marks if a in {"f1", "e2", "d3"}} == {"f1": "g0", "e2": "g0", "d3": "g0"}


def member_view(members) -> dict[str, tuple]:
    return {article_id: (m.cluster_id, m.dated_at) for article_id, m in members.items()}


def test_cluster_members_come_from_the_index_as_the_lake_holds_them(connection):
    for batch in [family_rows()[::2], family_rows()[1::2]]:
        load(connection, *batch)
    rewritten = article("c4", make_text(22), DAY + timedelta(days=1), "one.example")  # leaves its cluster
    link_near_duplicates(connection, [rewritten], "r2", datetime(2016, 6, 2), resigned=["c4"])
    stored = clusters(connection)
    index = ready_index(connection)
    # The index kept the rows the lake replaced: each article's first one-member cluster, c4's old cluster.
    assert index.execute("SELECT count(*) FROM cluster_index").fetchone()[0] > len(stored)
    every = set(stored.values()) | set(stored)
    members, urls = indexed_members(connection, index, every)
    assert member_view(members) == member_view(load_members(connection, every))
    assert {article_id: m.cluster_id for article_id, m in members.items()} == stored
    assert urls == {row["article_id"]: row["url"] for row in family_rows()}
    left = {article_id for article_id, cluster_id in stored.items() if cluster_id != article_id}
    assert left and indexed_members(connection, index, left)[0] == {}  # clusters their members left are empty
    close_indexes()


def indexed_members(connection, index, cluster_ids):
    """The members of the given clusters as the index path reads them, and the URLs the index knows."""
    stored, urls = read_indexed_signatures(connection, index, cluster_ids)
    return select_members(stored, cluster_ids), urls


def test_rows_a_failed_load_left_in_the_index_join_no_cluster(connection):
    load(connection, article("a1", ORIGINAL, DAY))
    with pytest.raises(RuntimeError), transaction(connection):
        copy = article("b2", EDITED_COPY, DAY + timedelta(hours=1), "b.example")
        link_near_duplicates(connection, [copy], "r", datetime(2016, 6, 1))
        raise RuntimeError("the batch failed after the index took its rows")
    index = ready_index(connection)
    assert index.execute(
        "SELECT article_id FROM cluster_index WHERE cluster_id = 'a1' ORDER BY 1"
    ).fetchall() == [
        ("a1",),
        ("b2",),
    ]
    load(connection, article("c3", edit_words(ORIGINAL, 0.05, seed=8), DAY + timedelta(hours=2), "c.example"))
    assert clusters(connection) == {"a1": "a1", "c3": "a1"}
    assert duplicate_rows(connection) == [("c3", "a1", "near_duplicate")]
    close_indexes()


def test_an_index_without_its_cluster_part_gets_it_from_the_lake(connection):
    for batch in [family_rows()[::2], family_rows()[1::2]]:
        load(connection, *batch)
    index = ready_index(connection)
    bands = index.execute("SELECT count(*) FROM band_index").fetchone()[0]
    with index:  # a file made before the index held clusters: bands built, no cluster rows
        index.execute("DELETE FROM cluster_index")
        index.execute("DELETE FROM band_index_state WHERE name = 'clusters'")
    assert is_built(index, "built") and not is_built(index)
    index = ready_index(connection)
    assert is_built(index) and index.execute("SELECT count(*) FROM band_index").fetchone()[0] == bands
    stored = clusters(connection)
    members, urls = indexed_members(connection, index, set(stored.values()))
    assert {article_id: m.cluster_id for article_id, m in members.items()} == stored
    assert set(urls) == set(stored)
    close_indexes()


def random_workload(seed: int) -> tuple[list[list[dict]], list[dict]]:
    """Batches of copies of a few texts (exact, near and far edits, some undated, over 40 days) and texts
    that replace some of them later."""
    rng = random.Random(seed)
    bases = [make_text(100 + number, words=200) for number in range(6)]

    def text() -> str:
        share = rng.choice([0.0, 0.03, 0.08, 0.3])
        return edit_words(bases[rng.randrange(len(bases))], share, rng.randrange(10**6))

    rows = []
    for number in range(36):
        published = DAY + timedelta(days=rng.randrange(40), hours=rng.randrange(24))
        source = f"s{rng.randrange(5)}.example"
        rows.append(article(f"x{number:02d}", text(), published if rng.random() > 0.15 else None, source))
    rng.shuffle(rows)
    batches = []
    while rows:
        size = rng.randrange(1, 9)
        batches.append(rows[:size])
        rows = rows[size:]
    replaced = rng.sample([row for batch in batches for row in batch], 5)
    return batches, [{**row, **article(row["article_id"], text(), row["published_at"])} for row in replaced]


@pytest.mark.parametrize("seed", [3, 17])
def test_the_band_index_path_clusters_as_the_lake_path_does(tmp_path, monkeypatch, seed):
    batches, replaced = random_workload(seed)
    states = []
    for name in ("index", "lake"):
        if (
            name == "lake"
        ):  # a lake without an index file (a PostgreSQL catalog) reads everything from the lake
            monkeypatch.setattr("warehouse.near_dupes.ready_index", lambda connection: None)
        with open_warehouse(tmp_path / f"{name}.duckdb") as con:
            apply_migrations(con)
            for batch in batches:
                load(con, *batch)
            for row in replaced:
                link_near_duplicates(con, [row], "r2", datetime(2016, 7, 1), resigned=[row["article_id"]])
            states.append(stored_state(con))
        close_indexes()
    assert (tmp_path / "index.lake.bands.sqlite").exists() and not (
        tmp_path / "lake.lake.bands.sqlite"
    ).exists()
    assert states[0] == states[1]
    sizes = sorted(Counter(cluster for _, cluster in states[0][0]).values())
    assert sizes[-1] >= 3 and sizes[0] == 1  # families formed, and some articles stayed alone
    assert "near_duplicate" in {method for _, _, method, _ in states[0][1]}


@pytest.mark.parametrize("path", ["index", "lake"])
def test_a_copy_reaching_a_cluster_through_one_member_in_its_window_joins_it(connection, monkeypatch, path):
    if path == "lake":
        monkeypatch.setattr("warehouse.near_dupes.ready_index", lambda connection: None)
    load(connection, article("a1", ORIGINAL, DAY, "wire.example"))
    load(connection, article("b2", EDITED_COPY, DAY + timedelta(days=25), "b.example"))
    # c3's window holds b2 only: cluster a1 is reached through b2, whose cluster is named after a1.
    load(connection, article("c3", ORIGINAL, DAY + timedelta(days=50), "c.example"))
    assert clusters(connection) == {"a1": "a1", "b2": "a1", "c3": "a1"}
    assert duplicate_rows(connection) == [("b2", "a1", "near_duplicate"), ("c3", "a1", "content_hash")]
    close_indexes()


def test_the_index_holds_each_text_an_article_was_signed_with(connection):
    load(connection, article("a1", ORIGINAL, DAY), article("b2", make_text(30), DAY, "b.example"))
    rewritten = article("b2", EDITED_COPY, DAY, "b.example")
    link_near_duplicates(connection, [rewritten], "r2", datetime(2016, 6, 2), resigned=["b2"])
    assert clusters(connection) == {"a1": "a1", "b2": "a1"}  # its new text pairs with a1
    index = ready_index(connection)
    held = find_signatures(index, ["a1", "b2", "nobody"])
    lake = dict(connection.execute("SELECT article_id, minhash FROM article_signatures").fetchall())
    assert held["a1"] == [lake["a1"]]
    assert len(held["b2"]) == 2 and lake["b2"] in held["b2"]  # the old text's too
    assert "nobody" not in held
    close_indexes()


def test_an_index_without_its_signature_part_gets_it_from_the_lake(connection):
    for batch in [family_rows()[::2], family_rows()[1::2]]:
        load(connection, *batch)
    index = ready_index(connection)
    with index:  # a file made before the index held signatures
        index.execute("DELETE FROM signature_index")
        index.execute("DELETE FROM band_index_state WHERE name = 'signatures'")
    assert is_built(index, "clusters") and not is_built(index)
    index = ready_index(connection)
    lake = dict(connection.execute("SELECT article_id, minhash FROM article_signatures").fetchall())
    assert find_signatures(index, sorted(lake)) == {article_id: [blob] for article_id, blob in lake.items()}
    load(connection, article("z9", edit_words(ORIGINAL, 0.05, seed=9), DAY, "z.example"))
    assert clusters(connection)["z9"] == clusters(connection)["f1"]  # verified through the rebuilt part
    close_indexes()
