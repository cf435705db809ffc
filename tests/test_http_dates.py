"""Retry-After is read one way for the fetcher and the poll planner."""

from datetime import UTC, datetime

import pytest

from transforms.http_dates import parse_retry_after_s

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 30 ", 30.0),
        ("Sat, 01 Jun 2024 13:00:00 GMT", 3600.0),
        ("Sat, 01 Jun 2024 13:00:00 -0000", 3600.0),  # no zone of its own: UTC
        ("Sat, 01 Jun 2024 14:00:00 +0100", 3600.0),
        ("Sat, 01 Jun 2024 11:00:00 GMT", 0.0),  # a time already past asks for no wait
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header, seconds):
    assert parse_retry_after_s(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "1.5"])
def test_unreadable_retry_after_is_none(header):
    assert parse_retry_after_s(header, NOW) is None
