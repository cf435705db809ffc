"""The install is quiet and `make run` installs only what running needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_builds_without_warnings_and_ships_the_sql(tmp_path):
    """Building the wheel warns about no missing package, and every SQL folder is inside it."""
    leftover = not (REPO / "build").exists()  # setuptools builds in the tree: leave it as it was
    try:
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(REPO)],
            capture_output=True, text=True, check=True,
        )
    finally:
        if leftover:
            shutil.rmtree(REPO / "build", ignore_errors=True)
    assert "absent from the `packages` configuration" not in built.stdout + built.stderr
    (wheel,) = tmp_path.glob("newsdesk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("migrations", "migrations/single_file", "queries", "views"):
        assert any(name.startswith(f"warehouse/{folder}/") and name.endswith(".sql") for name in names), folder
    sources = {str(path.relative_to(REPO)) for layer in ("flows", "transforms", "warehouse")
               for path in (REPO / layer).rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))


def make_dry_run(target: str, tmp_path) -> str:
    """The commands `make TARGET` would run for a new virtual environment, without running them."""
    return subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def test_make_run_installs_no_test_extras(tmp_path):
    """`make run` installs newsdesk alone; the test tools come only with `make test`."""
    installs = [line for line in make_dry_run("run", tmp_path).splitlines() if "pip install" in line]
    assert any(line.rstrip().endswith("-e .") for line in installs)
    assert not any("[test]" in line or "[bench]" in line for line in installs)
    assert any("[test]" in line for line in make_dry_run("test", tmp_path).splitlines())
