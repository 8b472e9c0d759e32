"""Every user-facing string goes through the catalogue, and the Swedish one is complete."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from facilitation.core.domain import N_

ROOT = Path(__file__).resolve().parent.parent
SWEDISH = ROOT / "translations" / "sv" / "LC_MESSAGES" / "messages.po"


def extracted(tmp_path: Path) -> set[str]:
    """The msgids in the code and templates now, as `make translations` would extract them."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_the_swedish_catalogue_translates_every_string(tmp_path: Path) -> None:
    with SWEDISH.open("rb") as f:
        catalogue = read_po(f)
    translated = {m.id: m.string for m in catalogue if m.id}
    missing = extracted(tmp_path) - set(translated)
    assert not missing, f"run `make translations` and translate: {sorted(missing)}"
    empty = [k for k, v in translated.items() if not v or "fuzzy" in catalogue[k].flags]
    assert not empty, f"untranslated or fuzzy: {empty}"


def test_placeholders_survive_translation() -> None:
    with SWEDISH.open("rb") as f:
        for message in read_po(f):
            if message.id:
                names = set(re.findall(r"%\((\w+)\)s", message.id))
                assert names == set(re.findall(r"%\((\w+)\)s", message.string)), message.id


def test_the_marker_for_later_translation_changes_nothing() -> None:
    assert N_("The round is closed.") == "The round is closed."


def test_browser_strings_come_in_the_pages_language(room: Any) -> None:
    def messages(language: str) -> dict[str, Any]:
        http, _ = room.phone()
        http.get(f"/language/{language}")
        html = http.get(f"/j/{room.code}").get_data(as_text=True)
        data = re.search(r'id="page-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
        return json.loads(data)["messages"]  # type: ignore[no-any-return]

    swedish, english = messages("sv"), messages("en")
    assert swedish["keep"] == "Behåll" and english["keep"] == "Keep"
    assert swedish["steps"]["prioritise"] == "Prioritera"
    assert swedish.keys() == english.keys()
