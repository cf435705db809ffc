"""Sources files are validated; every problem is one line naming the file and the key."""

import pytest

from flows.config import DEFAULT_SOURCES, ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_file(tmp_path):
    config = load_config(write(tmp_path, "feeds:\n  - url: https://a.example/feed.xml\n    name: A\n"))
    assert [f.url for f in config.feeds] == ["https://a.example/feed.xml"]
    assert config.allow_private_networks is False
    assert config.mirror_root is None
    assert config.fetch.per_host_delay_s == 1.0


def test_bundled_sources_load():
    config = load_config(DEFAULT_SOURCES)
    assert len(config.feeds) >= 3
    assert config.mirror_root is not None and config.mirror_root.is_dir()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("feeds: []\n", "feeds"),
        ("feeds:\n  - url: ftp://a.example/f\n", "feeds[0].url"),
        ("feeds:\n  - name: no url\n", "feeds[0].url"),
        ("feeds:\n  - url: https://a.example/f\n    colour: red\n", "feeds[0].colour"),
        ("feeds:\n  - url: https://a.example/f\nallow_private_networks: maybe\n", "allow_private_networks"),
        ("feeds:\n  - url: https://a.example/f\nfetch:\n  per_host_delay_s: -1\n", "fetch.per_host_delay_s"),
        ("feeds:\n  - url: https://a.example/f\nfetch:\n  speed: 3\n", "fetch.speed"),
        ("feeds:\n  - url: https://a.example/f\nmirror: nowhere\n", "mirror"),
        ("feeds:\n  - url: https://a.example/f\n  - url: https://a.example/f\n", "feeds"),
        ("fedds:\n  - url: https://a.example/f\n", "fedds"),
        ("feeds:\n  - url: https://a.example/f\nsnapshot:\n  max_age_s: soon\n", "snapshot.max_age_s"),
        ("feeds:\n  - url: https://a.example/f\nsnapshot:\n  max_age: 60\n", "snapshot.max_age"),
        ("feeds:\n  - url: https://a.example/f\nsnapshot: 60\n", "snapshot"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, named):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {named}:")


def test_snapshot_max_age_defaults_to_an_hour_and_is_read_from_the_file(tmp_path):
    assert load_config(write(tmp_path, "feeds:\n  - url: https://a.example/f\n")).snapshot_max_age_s == 3600
    text = "feeds:\n  - url: https://a.example/f\nsnapshot:\n  max_age_s: 900\n"
    assert load_config(write(tmp_path, text)).snapshot_max_age_s == 900.0


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid YAML at line 3"):
        load_config(write(tmp_path, "feeds:\n  - url: x\n   bad: [indent\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such sources file"):
        load_config(tmp_path / "absent.yaml")


def test_mirror_is_relative_to_the_file(tmp_path):
    (tmp_path / "site").mkdir()
    config = load_config(write(tmp_path, "mirror: site\nfeeds:\n  - https://a.example/f\n"))
    assert config.mirror_root == (tmp_path / "site").resolve()


def test_environment_overrides_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_NETWORKS", "true")
    config = load_config(write(tmp_path, "allow_private_networks: false\nfeeds:\n  - https://a.example/f\n"))
    assert config.allow_private_networks is True
