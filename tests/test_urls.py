"""URL canonicalisation, host extraction and the http(s) check."""

from __future__ import annotations

import pytest

from transforms.urls import canonicalise_url, host_of, is_http_url, is_tracking_param, registered_site_of


@pytest.mark.parametrize(
    "param",
    ["utm_source", "utm_medium", "UTM_Campaign", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid",
     "yclid", "_ga", "igshid", "ref_src", "pk_campaign", "xtor"],
)
def test_tracking_params_are_removed(param):
    url = f"https://news.example.com/world/aleppo-talks?{param}=abc123&id=42"
    assert canonicalise_url(url) == "https://news.example.com/world/aleppo-talks?id=42"


def test_content_params_are_kept():
    url = "https://news.example.com/story.php?gallery=3&page=2&id=77&global=1"
    assert canonicalise_url(url) == "https://news.example.com/story.php?gallery=3&global=1&id=77&page=2"
    assert not is_tracking_param("id") and not is_tracking_param("page") and not is_tracking_param("gallery")


def test_scheme_and_host_are_lower_cased_but_path_is_not():
    assert canonicalise_url("HTTPS://News.Example.COM/World/Aleppo") == "https://news.example.com/World/Aleppo"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://news.example.com:80/a", "http://news.example.com/a"),
        ("https://news.example.com:443/a", "https://news.example.com/a"),
        ("https://news.example.com:8443/a", "https://news.example.com:8443/a"),
        ("http://news.example.com:443/a", "http://news.example.com:443/a"),
    ],
)
def test_only_the_scheme_default_port_is_dropped(url, expected):
    assert canonicalise_url(url) == expected


def test_fragment_is_dropped():
    assert canonicalise_url("https://news.example.com/a?b=1#comments") == "https://news.example.com/a?b=1"


def test_remaining_query_params_are_sorted():
    first = canonicalise_url("https://news.example.com/a?z=1&b=2&m=3")
    second = canonicalise_url("https://news.example.com/a?m=3&z=1&b=2&utm_term=x")
    assert first == second == "https://news.example.com/a?b=2&m=3&z=1"


def test_html_escaped_ampersands_and_empty_query_are_normalised():
    assert canonicalise_url("https://news.example.com/a?x=1&amp;y=2") == "https://news.example.com/a?x=1&y=2"
    assert canonicalise_url("https://news.example.com/a?") == "https://news.example.com/a"
    assert canonicalise_url("https://news.example.com") == "https://news.example.com/"


def test_dot_segments_and_percent_escape_case_are_normalised():
    url = "https://news.example.com/world/./syria/../aleppo/%c3%a9t%C3%A9"
    assert canonicalise_url(url) == "https://news.example.com/world/aleppo/%C3%A9t%C3%A9"


def test_credentials_are_dropped():
    assert canonicalise_url("https://user:secret@news.example.com/a") == "https://news.example.com/a"


def test_same_site_canonical_link_wins():
    url = "https://www.example.com/story?id=1&utm_medium=rss"
    assert canonicalise_url(url, "https://www.example.com/world/story-1?fbclid=x") == (
        "https://www.example.com/world/story-1"
    )


def test_canonical_on_another_subdomain_of_the_same_registered_site_wins():
    assert canonicalise_url("https://news.bbc.co.uk/a", "https://www.bbc.co.uk/news/a") == (
        "https://www.bbc.co.uk/news/a"
    )


@pytest.mark.parametrize(
    "page_canonical",
    [
        "https://aggregator.example.org/copied-story",
        "https://other.co.uk/a",
        "javascript:void(0)",
        "   ",
        None,
    ],
)
def test_other_site_or_unusable_canonical_is_ignored(page_canonical):
    url = "https://www.example.com/story?id=1"
    assert canonicalise_url(url, page_canonical) == "https://www.example.com/story?id=1"


def test_public_suffix_siblings_are_not_the_same_site():
    assert registered_site_of("https://a.co.uk/x") != registered_site_of("https://b.co.uk/y")


@pytest.mark.parametrize(
    ("page_canonical", "expected"),
    [
        ("/world/story-1", "https://www.example.com/world/story-1"),
        ("story-1", "https://www.example.com/news/story-1"),
        ("//www.example.com/world/story-1#top", "https://www.example.com/world/story-1"),
    ],
)
def test_relative_canonical_is_resolved_against_the_url(page_canonical, expected):
    assert canonicalise_url("https://www.example.com/news/item?id=1", page_canonical) == expected


def test_loopback_canonical_keeps_its_port():
    assert canonicalise_url("http://127.0.0.1:8081/a?utm_source=x", "/b") == "http://127.0.0.1:8081/b"


@pytest.mark.parametrize(
    "junk",
    ["not a url", "  mailto:desk@example.com ", "ftp://files.example.com/a", "http://", "http://host:99999/a",
     "http://[::1/a", "", "   "],
)
def test_junk_is_returned_stripped_without_raising(junk):
    assert canonicalise_url(junk) == junk.strip()


def test_canonicalising_is_idempotent():
    once = canonicalise_url("HTTP://News.Example.com:80/a/../b?z=1&a=2&utm_source=x#f")
    assert canonicalise_url(once) == once


def test_host_of():
    assert host_of("HTTPS://News.Example.COM:8443/a?b") == "news.example.com"
    assert host_of("http://[::1]:8080/x") == "::1"
    assert host_of("not a url") == ""
    assert host_of("http://[::1/a") == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example.com/a", True),
        ("HTTP://news.example.com", True),
        ("ftp://news.example.com/a", False),
        ("https:///a", False),
        ("mailto:desk@example.com", False),
        ("", False),
        (None, False),
        ("http://[::1/a", False),
    ],
)
def test_is_http_url(url, expected):
    assert is_http_url(url) is expected
