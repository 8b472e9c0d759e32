"""Which release runs: one version, pyproject.toml's, shown where the people who run Samsyn
and the organizers look (/healthz, the organizers' pages), and named in the changelog."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Flask
from organizing import Organizer
from packaging.version import Version

from facilitation.infrastructure import version
from facilitation.infrastructure.version import VERSION, read_version

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = ROOT / "CHANGELOG.md"


def declared() -> str:
    """The version pyproject.toml declares, read here independently of the app."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def test_the_version_is_pyprojects_and_semantic() -> None:
    assert declared() == VERSION
    parsed = Version(VERSION)  # a valid Python package version (PEP 440)...
    # ...that is a semantic version: major.minor.patch, then at most a pre-release or a
    # development mark (1.0.0rc1, 1.0.0.dev0), nothing SemVer cannot say.
    assert len(parsed.release) == 3, VERSION
    assert parsed.post is None and parsed.local is None and parsed.epoch == 0


def test_without_pyproject_the_installed_package_says_or_unknown(
    tmp_path: Path, monkeypatch: Any
) -> None:
    missing = tmp_path / "pyproject.toml"
    monkeypatch.setattr(version.metadata, "version", lambda name: "2.3.4")
    assert read_version(missing) == "2.3.4"

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(version.metadata, "version", not_installed)
    assert read_version(missing) == "unknown"


def test_healthz_names_the_version(client: Any) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "database": True, "version": declared()}


def footer(page: str) -> str:
    match = re.search(r'<footer class="site-footer">(.*?)</footer>', page, re.S)
    assert match, page[:2000]
    return match.group(1)


def test_the_organizers_pages_show_the_version_in_their_footer(app: Flask) -> None:
    shown = f'<span class="version">Version {declared()}</span>'
    anonymous = app.test_client()
    assert shown in footer(anonymous.get("/login").get_data(as_text=True))

    organizer = Organizer(app)
    series_id = organizer.series("Omvärldsanalys 2026")
    for path in (
        "/organizer",
        "/organizer/password",
        f"/series/{series_id}",
        f"/series/{series_id}/library",
        f"/series/{series_id}/combined",
    ):
        answer = organizer.http.get(path)
        assert answer.status_code == 200, path
        assert shown in footer(answer.get_data(as_text=True)), path

    # Pages for participants and the public keep to what they need.
    for path in ("/", "/privacy", "/accessibility", "/help/combined"):
        answer = anonymous.get(path)
        assert answer.status_code == 200, path
        assert "Version" not in footer(answer.get_data(as_text=True)), path
