"""Cluster decisions on plain members: linking, the canonical choice, verification and the marks to write."""

from __future__ import annotations

from datetime import timedelta

from tests.test_near_dupes_warehouse import DAY, edit_words, make_text
from transforms.clusters import (
    CONTENT_HASH,
    NEAR_DUPLICATE,
    Member,
    NearDupSettings,
    choose_marks,
    link_members,
    may_pair,
    plan_clusters,
    verify_pairs,
)
from transforms.hashing import hash_content
from transforms.near_dupes import compute_minhash, estimate_jaccard


def member(article_id: str, text: str, cluster_id: str | None = None, hours: int = 0) -> Member:
    """A signed article dated `hours` after DAY, in its own cluster unless told otherwise."""
    when = DAY + timedelta(hours=hours)
    return Member(
        article_id, cluster_id or article_id, when, when, len(text), hash_content(text), compute_minhash(text)
    )


def test_dissolved_cluster_splits_where_the_bridge_was():
    settings = NearDupSettings()
    left = make_text(4)
    members = {
        article_id: Member(article_id, "a1", DAY, DAY, len(text), hash_content(text), compute_minhash(text))
        for article_id, text in {
            "a1": make_text(30),  # the former bridge, now rewritten
            "b2": left,
            "c3": edit_words(left, 0.05, seed=8),
            "d4": edit_words(left, 0.45, seed=5),
        }.items()
    }
    plan = plan_clusters(members, [], {"a1"}, settings)
    assert plan["a1"] == ("a1", "a1")
    assert plan["b2"] == plan["c3"] and plan["b2"][0] == "b2"
    assert plan["d4"] == ("d4", "d4")


def test_members_link_within_the_window_but_not_beyond():
    text = make_text(3)
    near, far = member("b2", edit_words(text, 0.05, seed=1), hours=24), member("c3", text, hours=24 * 40)
    assert link_members([member("a1", text), near, far], NearDupSettings()) == [("a1", "b2")]


def test_a_late_earlier_copy_becomes_the_canonical_member():
    text = make_text(5)
    members = {"a1": member("a1", text, hours=5), "b2": member("b2", text, hours=1)}
    assert plan_clusters(members, [("a1", "b2")], set(), NearDupSettings()) == {
        "a1": ("a1", "b2"),
        "b2": ("a1", "b2"),
    }


def test_only_pairs_at_the_threshold_are_verified():
    text = make_text(6)
    signatures = {"a1": compute_minhash(text)}
    others = {
        "b2": ("b2", compute_minhash(edit_words(text, 0.05, seed=2))),
        "c3": ("c3", compute_minhash(make_text(7))),
    }
    pairs, clusters = verify_pairs([("a1", "b2"), ("a1", "c3"), ("a1", "gone")], signatures, others, 0.35)
    assert (pairs, clusters) == ([("a1", "b2")], {"b2"})


def test_a_stored_article_may_pair_through_any_text_it_had():
    text = make_text(6)
    signature, copy, other = (
        compute_minhash(t) for t in (text, edit_words(text, 0.05, seed=2), make_text(7))
    )
    assert may_pair(signature, [other, copy], 0.35)  # its old text is a copy: the lake's row decides
    assert not may_pair(signature, [other], 0.35)
    assert not may_pair(signature, [], 0.35)  # no signature held: nothing to read


def test_marks_name_the_method_and_skip_what_is_stored():
    text = make_text(8)
    edited = edit_words(text, 0.05, seed=3)
    members = {
        "a1": member("a1", text),
        "b2": member("b2", text, "a1", 1),
        "c3": member("c3", edited, "a1", 2),
    }
    plan = {article_id: ("a1", "a1") for article_id in members}
    wanted, canonicals = choose_marks(
        members, plan, {"a1": ("x9", NEAR_DUPLICATE), "b2": ("a1", CONTENT_HASH)}
    )
    similarity = estimate_jaccard(members["c3"].minhash, members["a1"].minhash)
    assert wanted == [
        {"article_id": "c3", "duplicate_of": "a1", "similarity": similarity, "method": NEAR_DUPLICATE}
    ]
    assert canonicals == []  # a1's stored mark points at an unsigned article: it stays
