"""Outlets are sites: host names, with the port only when it is not the scheme's default."""

import pytest

from transforms.outlets import outlet_of


@pytest.mark.parametrize(
    ("url", "outlet"),
    [
        ("https://WWW.Example.com/a", "www.example.com"),
        ("https://www.example.com:443/a", "www.example.com"),
        ("http://www.example.com:80/a", "www.example.com"),
        ("http://127.0.0.1:8080/a", "127.0.0.1:8080"),
        ("https://example.com.:8443/", "example.com:8443"),
        ("not a url", ""),
        ("http://[::1", ""),
    ],
)
def test_outlet_of(url, outlet):
    assert outlet_of(url) == outlet
