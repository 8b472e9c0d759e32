"""The documentation stays true to the code: every command and every error code is in it."""

from __future__ import annotations

import re
from pathlib import Path

from facilitation.usecases import COMMANDS, SERIES_COMMANDS

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()
API = (ROOT / "docs" / "api.md").read_text()


def test_every_command_has_its_section_in_the_protocol() -> None:
    documented = set(re.findall(r"^### `([a-z_.]+)`", PROTOCOL, re.M))
    assert set(COMMANDS) <= documented
    assert documented - set(COMMANDS) == {"state", "me", "deleted", "state.get"}


def test_every_series_command_is_in_the_api() -> None:
    row = next(line for line in API.splitlines() if "/do/<command>" in line)
    documented = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", row))
    assert documented == set(SERIES_COMMANDS)


def test_every_error_code_is_documented() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "facilitation").rglob("*.py"))
    codes = set(re.findall(r'DomainError\(\s*"(\w+)"', source))
    codes |= set(re.findall(r'ConnectionRefusedError\("(\w+)"\)', source))
    assert len(codes) > 30
    missing = sorted(c for c in codes if f"`{c}`" not in PROTOCOL + API)
    assert not missing, f"document these error codes: {missing}"


def test_the_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    config = (ROOT / "facilitation" / "infrastructure" / "config.py").read_text()
    settings = set(re.findall(r'os\.environ\.get\("(\w+)"\)|_(?:int|float)\("(\w+)"', config))
    names = {a or b for a, b in settings}
    assert names and all(f"`{name}`" in readme for name in names), names


def test_every_test_security_md_names_exists() -> None:
    security = (ROOT / "docs" / "security.md").read_text()
    files = set(re.findall(r"`(tests/[\w/]+\.py)", security))
    assert len(files) > 8
    missing_files = sorted(f for f in files if not (ROOT / f).exists())
    assert not missing_files, f"docs/security.md names missing files: {missing_files}"
    defined = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE)
    }
    named = set(re.findall(r"::(test_\w+)", security))
    assert len(named) > 20
    assert not sorted(named - defined), f"docs/security.md names missing tests: {named - defined}"
