"""Which release runs: one version, pyproject.toml's, shown where the people who run Samsyn
and the organizers look (/healthz, the organizers' pages), and named in the changelog."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
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


# --- The changelog --------------------------------------------------------------------------


def test_the_changelog_keeps_a_changelog() -> None:
    """Keep a Changelog 1.1.0: the title, the intro naming the two conventions, Unreleased
    first, then releases newest first as `## [x.y.z] - YYYY-MM-DD`, only the standard
    sections, and a link reference for every heading."""
    text = CHANGELOG.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# Changelog"
    intro = text.split("\n## ", 1)[0]
    assert "https://keepachangelog.com/en/1.1.0/" in intro
    assert "https://semver.org/spec/v2.0.0.html" in intro

    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings[0] == "[Unreleased]"
    releases = headings[1:]
    for heading in releases:
        assert re.fullmatch(r"\[\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\] - \d{4}-\d{2}-\d{2}", heading)
    numbers = [Version(h[1 : h.index("]")]) for h in releases]
    assert numbers == sorted(numbers, reverse=True)

    sections = {line[4:] for line in lines if line.startswith("### ")}
    standard = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    assert sections <= standard, sections - standard

    references = dict(re.findall(r"^\[([^\]]+)\]: (\S+)$", text, re.M))
    for heading in headings:
        name = heading[1 : heading.index("]")]
        assert name in references, f"no link reference for [{name}]"


def test_a_released_version_is_in_the_changelog() -> None:
    """A release (no .dev, no pre-release) has its section; a development version is
    released next, so its changes are under Unreleased."""
    parsed = Version(declared())
    text = CHANGELOG.read_text(encoding="utf-8")
    if parsed.is_devrelease or parsed.is_prerelease:
        assert f"## [{parsed.base_version}]" not in text, "released already: bump the version"
    else:
        assert re.search(rf"^## \[{re.escape(declared())}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M)


def test_the_upgrade_guide_shows_what_healthz_answers(client: Any) -> None:
    """docs/deployment.md's "Upgrading" shows /healthz's answer to check the version by: the
    same fields as the real one, in the same order."""
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    section = guide.split("\n## Upgrading\n", 1)[1].split("\n## ", 1)[0]
    shown = re.search(r'^\s*(\{"status".*\})$', section, re.M)
    assert shown, "no /healthz answer in the Upgrading section"
    example = json.loads(shown.group(1))
    answer = client.get("/healthz").get_data(as_text=True)
    assert list(example) == list(json.loads(answer))
    assert Version(example["version"]) > Version("1.0.0.dev0")  # a release, not this one


def test_the_container_image_carries_the_version() -> None:
    """The version is read from pyproject.toml at start, so an image must hold that file."""
    containerfile = ROOT / "Containerfile"
    if not containerfile.exists():
        pytest.skip("no Containerfile in this checkout")
    copies = re.findall(r"^COPY\s+(?!--from)(.+)$", containerfile.read_text(), re.M)
    assert any("pyproject.toml" in line.split()[:-1] for line in copies), copies
    ignored = (
        (ROOT / ".containerignore").read_text() if (ROOT / ".containerignore").exists() else ""
    )
    assert "pyproject.toml" not in ignored.split()
