"""Sources files are validated key by key; every key can be set from NEWSDESK_*; every problem is one line
naming the file (or variable) and the key; defaults < file < environment < flags."""

import os
from pathlib import Path

import pytest

from flows.cli import main
from flows.settings.config import (
    DEFAULT_SOURCES,
    TOP_LEVEL_FETCH_KEYS,
    Config,
    ConfigError,
    FetchSettings,
    LakeSection,
    load_config,
)
from transforms.polling import PollSettings

FEED = "feeds:\n  - url: https://a.example/f\n"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No NEWSDESK_* variable of the shell running the tests leaks into them."""
    for name in list(os.environ):
        if name.upper().startswith("NEWSDESK_"):
            monkeypatch.delenv(name)


def write(tmp_path, text):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problem(path, **overrides) -> str:
    """The one-line message of the ConfigError that loading `path` raises."""
    with pytest.raises(ConfigError) as caught:
        load_config(path, overrides or None)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_minimal_file_takes_every_default(tmp_path):
    config = load_config(write(tmp_path, "feeds:\n  - url: https://a.example/feed.xml\n    name: A\n"))
    assert [(f.url, f.name, f.tags) for f in config.feeds] == [("https://a.example/feed.xml", "A", ())]
    assert (config.allow_private_networks, config.mirror_root, config.taxonomy_path) == (False, None, None)
    assert (config.workers, config.batch_size, config.snapshot_retention_days) == (0, 500, 7)
    assert config.fetch == FetchSettings()
    assert config.polling == PollSettings()
    assert config.path == tmp_path / "sources.yaml"


def test_bundled_sources_load():
    config = load_config(DEFAULT_SOURCES)
    assert len(config.feeds) >= 3
    assert config.mirror_root is not None and config.mirror_root.is_dir()
    assert config.fetch.mirror_root == config.mirror_root


def test_every_section_is_read(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "taxonomy.yaml").write_text("topics: []\n", encoding="utf-8")
    text = (
        "mirror: site\ntaxonomy: taxonomy.yaml\nallow_private_networks: true\nworkers: 3\nbatch_size: 50\n"
        "user_agent: deskbot/2\ncontact_url: https://example.org/crawler\n"
        "feeds:\n  - https://b.example/rss\n"
        "  - url: https://a.example/f\n    language: fr\n    poll_every_s: 1800\n    country: FR\n"
        "    tags: [desk, ' paris ', desk]\n"
        "  - url: https://c.example/f\n    tags: single\n"
        "fetch:\n  per_host_delay_s: 2.5\n  respect_robots: false\n  max_retries: 0\n"
        "polling:\n  unconditional_every: 6\n  max_backoff_s: 3600\n"
        "lake:\n  snapshot_retention_days: 30\n"
    )
    config = load_config(write(tmp_path, text))
    bare, french, single = config.feeds
    assert (bare.url, bare.language, bare.poll_every_s) == ("https://b.example/rss", None, None)
    assert (french.language, french.poll_every_s, french.country) == ("fr", 1800, "FR")
    assert french.tags == ("desk", "paris") and single.tags == ("single",)
    assert config.mirror_root == (tmp_path / "site").resolve()
    assert config.taxonomy_path == (tmp_path / "taxonomy.yaml").resolve()
    assert (config.workers, config.batch_size, config.snapshot_retention_days) == (3, 50, 30)
    assert (config.polling.unconditional_every, config.polling.max_backoff_s) == (6, 3600)
    fetch = config.fetch
    assert (fetch.per_host_delay_s, fetch.respect_robots, fetch.max_retries) == (2.5, False, 0)
    # The top-level switches are carried into the one fetch-settings object the fetcher takes.
    assert (fetch.allow_private_networks, fetch.mirror_root) == (True, config.mirror_root)
    assert fetch.header_user_agent() == "deskbot/2 contact: https://example.org/crawler"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("feeds: []\n", "feeds"),
        ("feeds: 5\n", "feeds"),
        ("fedds:\n  - url: https://a.example/f\n", "feeds"),  # missing
        ("fedds:\n  - url: https://a.example/f\nfeeds:\n  - https://a.example/f\n", "fedds"),
        ("feeds:\n  - url: ftp://a.example/f\n", "feeds[0].url"),
        ("feeds:\n  - name: no url\n", "feeds[0].url"),
        ("feeds:\n  - url: https://a.example/f\n    colour: red\n", "feeds[0].colour"),
        ("feeds:\n  - url: https://a.example/f\n    poll_every_s: -60\n", "feeds[0].poll_every_s"),
        ("feeds:\n  - url: https://a.example/f\n    poll_every_s: soon\n", "feeds[0].poll_every_s"),
        ("feeds:\n  - url: https://a.example/f\n    name: [A, B]\n", "feeds[0].name"),
        ("feeds:\n  - url: https://a.example/f\n    tags: [desk, '']\n", "feeds[0].tags[1]"),
        ("feeds:\n  - url: https://a.example/f\n    tags: {a: 1}\n", "feeds[0].tags"),
        ("feeds:\n  - url: https://a.example/f\n  - url: https://a.example/f\n", "feeds"),
        (FEED + "allow_private_networks: maybe\n", "allow_private_networks"),
        (FEED + "workers: 2.5\n", "workers"),
        (FEED + "workers: -1\n", "workers"),
        (FEED + "batch_size: 0\n", "batch_size"),
        (FEED + "user_agent: ''\n", "user_agent"),
        (FEED + "contact_url: [https://a.example/, https://b.example/]\n", "contact_url"),
        (FEED + "contact_url: call us\n", "contact_url"),
        (FEED + "mirror: nowhere\n", "mirror"),
        (FEED + "mirror: ''\n", "mirror"),
        (FEED + "taxonomy: absent.yaml\n", "taxonomy"),
        (FEED + "fetch:\n  per_host_delay_s: -1\n", "fetch.per_host_delay_s"),
        (FEED + "fetch:\n  speed: 3\n", "fetch.speed"),
        (FEED + "fetch:\n  respect_robots: sometimes\n", "fetch.respect_robots"),
        (FEED + "fetch:\n  max_redirects: 1.5\n", "fetch.max_redirects"),
        (FEED + "fetch:\n  connect_timeout_s: 0\n", "fetch.connect_timeout_s"),
        (FEED + "fetch:\n  user_agent: bot\n", "fetch"),  # a top-level key, not a fetch one
        (FEED + "fetch: fast\n", "fetch"),
        (FEED + "polling:\n  nope: 1\n", "polling.nope"),
        (FEED + "polling:\n  min_poll_every_s: -1\n", "polling.min_poll_every_s"),
        (FEED + "polling:\n  min_poll_every_s: 90000\n", "polling"),
        (FEED + "lake:\n  snapshot_retention_days: soon\n", "lake.snapshot_retention_days"),
        (FEED + "lake:\n  snapshot_retention_days: 0\n", "lake.snapshot_retention_days"),
        (FEED + "lake:\n  retention: 60\n", "lake.retention"),
        (FEED + "lake: 60\n", "lake"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path, text, named):
    path = write(tmp_path, text)
    assert problem(path).startswith(f"{path}: {named}: ")


def test_the_readme_example_reads_as_documented(tmp_path, capsys):
    path = tmp_path / "my-sources.yaml"
    path.write_text("feeds:\n  - https://a.example/f\n  - url: ftp://x\n", encoding="utf-8")
    assert main(["ingest", "--sources", str(path), "--db", str(tmp_path / "news.duckdb")]) == 2
    error = capsys.readouterr().err
    assert error == f"newsdesk: error: {path}: feeds[1].url: must be an http(s) URL, not 'ftp://x'\n"


def test_unknown_keys_list_the_allowed_ones(tmp_path):
    message = problem(write(tmp_path, FEED + "fetch:\n  speed: 3\n"))
    assert "unknown key (allowed: " in message and "per_host_delay_s" in message


def test_a_list_valued_contact_url_is_refused_at_load_time(tmp_path):
    path = write(tmp_path, FEED + "contact_url:\n  - https://a.example/about\n")
    assert problem(path) == (
        f"{path}: contact_url: must be an http(s) URL or a mailto: address, not ['https://a.example/about']"
    )


def test_a_mailto_contact_is_accepted(tmp_path):
    config = load_config(write(tmp_path, FEED + "contact_url: mailto:desk@example.org\n"))
    assert config.fetch.contact_url == "mailto:desk@example.org"


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid YAML at line 3"):
        load_config(write(tmp_path, "feeds:\n  - url: x\n   bad: [indent\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such sources file"):
        load_config(tmp_path / "absent.yaml")


def test_a_file_that_is_not_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(write(tmp_path, "- https://a.example/f\n"))


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("NEWSDESK_ALLOW_PRIVATE_NETWORKS", "true", lambda c: c.fetch.allow_private_networks is True),
        ("NEWSDESK_ALLOW_PRIVATE_NETWORKS", "0", lambda c: c.allow_private_networks is False),
        ("NEWSDESK_WORKERS", "4", lambda c: c.workers == 4),
        ("NEWSDESK_BATCH_SIZE", "40", lambda c: c.batch_size == 40),
        ("NEWSDESK_CONTACT_URL", "https://x.example/", lambda c: c.fetch.contact_url == "https://x.example/"),
        ("NEWSDESK_USER_AGENT", "deskbot/3", lambda c: c.fetch.user_agent == "deskbot/3"),
        ("NEWSDESK_FETCH__PER_HOST_DELAY_S", "2.5", lambda c: c.fetch.per_host_delay_s == 2.5),
        ("NEWSDESK_FETCH__RESPECT_ROBOTS", "false", lambda c: c.fetch.respect_robots is False),
        ("NEWSDESK_FETCH", '{"max_retries": 0}', lambda c: c.fetch.max_retries == 0),
        ("NEWSDESK_POLLING__MAX_BACKOFF_S", "600", lambda c: c.polling.max_backoff_s == 600),
        ("NEWSDESK_LAKE__SNAPSHOT_RETENTION_DAYS", "2", lambda c: c.snapshot_retention_days == 2),
        ("NEWSDESK_FEEDS", '["https://z.example/rss"]', lambda c: c.feeds[0].url == "https://z.example/rss"),
        ("NEWSDESK_WORKERS", "", lambda c: c.workers == 1),  # empty: not set
    ],
)
def test_every_kind_of_key_is_set_from_the_environment(tmp_path, monkeypatch, variable, value, read):
    monkeypatch.setenv(variable, value)
    assert read(load_config(write(tmp_path, FEED + "workers: 1\nallow_private_networks: true\n")))


def test_environment_paths_are_read_from_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "pages").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSDESK_MIRROR", "pages")
    assert load_config(write(tmp_path, FEED)).fetch.mirror_root == (tmp_path / "pages").resolve()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "NEWSDESK_ALLOW_PRIVATE_NETWORKS",
            "ture",
            "NEWSDESK_ALLOW_PRIVATE_NETWORKS: must be true or false, not 'ture'",
        ),
        ("NEWSDESK_WORKERS", "many", "NEWSDESK_WORKERS: must be a whole number, not 'many'"),
        (
            "NEWSDESK_FETCH__PER_HOST_DELAY_S",
            "-1",
            "NEWSDESK_FETCH__PER_HOST_DELAY_S: must be a non-negative",
        ),
        ("NEWSDESK_FETCH__SPEED", "3", "NEWSDESK_FETCH__SPEED: unknown key (allowed: "),
        ("NEWSDESK_FETCH", '{"max_retries": -2}', "NEWSDESK_FETCH: max_retries: must be a non-negative"),
        ("NEWSDESK_FEEDS", "[{oops", "NEWSDESK_FEEDS: must be JSON"),
        ("NEWSDESK_FEEDS", '[{"url": "ftp://x"}]', "NEWSDESK_FEEDS: [0].url: must be an http(s) URL"),
        ("NEWSDESK_CONTACT_URL", "someone", "NEWSDESK_CONTACT_URL: must be an http(s) URL or a mailto:"),
        (
            "NEWSDESK_POLLING__UNCONDITIONAL_EVERY",
            "2.5",
            "NEWSDESK_POLLING__UNCONDITIONAL_EVERY: must be a whole",
        ),
    ],
)
def test_a_bad_environment_value_names_the_variable(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    assert problem(write(tmp_path, FEED)).startswith(message)


def test_defaults_then_file_then_environment_then_flags(tmp_path, monkeypatch):
    path = write(tmp_path, FEED + "fetch:\n  per_host_delay_s: 2\n")
    assert load_config(path).workers == 0  # default
    path = write(tmp_path, FEED + "workers: 1\nfetch:\n  per_host_delay_s: 2\n")
    assert load_config(path).workers == 1  # file over default
    monkeypatch.setenv("NEWSDESK_WORKERS", "2")
    monkeypatch.setenv("NEWSDESK_FETCH__MAX_RETRIES", "5")
    config = load_config(path)
    assert config.workers == 2  # environment over file
    assert (config.fetch.per_host_delay_s, config.fetch.max_retries) == (
        2.0,
        5,
    )  # a section merges key by key
    assert load_config(path, {"workers": 3}).workers == 3  # flag over environment


def test_a_bad_flag_is_named_as_such(tmp_path):
    path = write(tmp_path, FEED)
    assert problem(path, workers="all") == "command line: workers: must be a whole number, not 'all'"


def test_a_file_value_overridden_by_a_good_variable_is_not_blamed(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSDESK_WORKERS", "2")
    assert load_config(write(tmp_path, FEED + "workers: 2\n")).workers == 2
    monkeypatch.setenv("NEWSDESK_WORKERS", "two")
    assert problem(write(tmp_path, FEED + "workers: 2\n")).startswith("NEWSDESK_WORKERS: ")


def test_the_dask_key_is_accepted_with_one_warning_and_ignored(tmp_path, capsys):
    path = write(tmp_path, FEED + "dask_scheduler: tcp://10.0.0.5:8786\n")
    config = load_config(path)
    load_config(path)  # a command loads its file twice: still one warning
    assert config.dask_scheduler is None
    assert capsys.readouterr().err == (
        f"newsdesk: warning: {path}: dask_scheduler is no longer used: the articles stage runs on this "
        "machine's cores; see docs/operations.md\n"
    )


def test_the_dask_variable_is_accepted_with_one_warning_and_ignored(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_DASK_SCHEDULER", "tcp://10.0.0.9:8786")
    assert load_config(write(tmp_path, FEED)).dask_scheduler is None
    assert capsys.readouterr().err.startswith(
        "newsdesk: warning: NEWSDESK_DASK_SCHEDULER: dask_scheduler is no longer used"
    )


def test_other_newsdesk_variables_are_left_to_their_readers(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSDESK_DUCKDB_MEMORY_LIMIT", "2GB")
    monkeypatch.setenv("NEWSDESK_MATCHER_CACHE", "off")
    assert load_config(write(tmp_path, FEED)).feeds[0].url == "https://a.example/f"


def test_every_key_and_its_variable_is_documented():
    docs = Path(__file__).resolve().parent.parent / "docs"
    operations = (docs / "operations.md").read_text(encoding="utf-8")
    fetching = (docs / "fetching.md").read_text(encoding="utf-8")
    sections = {"fetch", "polling", "lake"}
    missing = [
        key
        for key in Config.model_fields
        if key not in sections
        and (f"`{key}`" not in operations or f"`NEWSDESK_{key.upper()}`" not in operations)
    ]
    missing += [key for key in sections if f"`NEWSDESK_{key.upper()}__" not in operations]
    missing += [
        f"fetch.{key}"
        for key in FetchSettings.model_fields
        if key not in TOP_LEVEL_FETCH_KEYS and f"`{key}`" not in operations
    ]
    missing += [f"polling.{key}" for key in PollSettings.model_fields if f"`{key}`" not in fetching]
    missing += [f"lake.{key}" for key in LakeSection.model_fields if f"`lake.{key}`" not in operations]
    assert not missing, f"configuration keys missing from docs/operations.md or docs/fetching.md: {missing}"


def test_the_old_snapshot_section_is_ignored_with_a_note(tmp_path, capsys):
    config = load_config(write(tmp_path, FEED + "snapshot:\n  max_age_s: 0\n"))
    assert config.snapshot_retention_days == 7
    assert "snapshot: is no longer used" in capsys.readouterr().err
