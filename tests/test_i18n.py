"""Every user-facing string goes through the catalogue, and the Swedish one is complete."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

from facilitation.core.domain import N_
from facilitation.infrastructure import catalogues

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


def catalogues_without_compiled_forms(tmp_path: Path) -> Path:
    """A copy of translations/ as git holds it: the text of each catalogue, none compiled."""
    source = tmp_path / "translations"
    for po in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        target = source / po.relative_to(ROOT / "translations")
        target.parent.mkdir(parents=True)
        target.write_bytes(po.read_bytes())
    return source


def test_a_plain_start_speaks_swedish_without_compiled_catalogues(
    tmp_path: Path, make_app: Any, monkeypatch: Any
) -> None:
    """`pip install -r requirements.txt && python app.py` has no compiled catalogue (git keeps
    only their text, and only `make` compiled them): the app compiles them as it starts,
    instead of silently speaking English (issue #18, item 9)."""
    source = catalogues_without_compiled_forms(tmp_path)
    monkeypatch.setattr(catalogues, "SOURCE", source)
    app = make_app()
    page = app.test_client().get("/", headers={"Accept-Language": "sv"})
    assert page.status_code == 200
    assert 'lang="sv"' in page.text
    assert "Skapa en workshop" in page.text
    assert (source / "sv" / "LC_MESSAGES" / "messages.mo").is_file()


def test_a_catalogue_older_than_its_text_is_compiled_again(tmp_path: Path) -> None:
    source = catalogues_without_compiled_forms(tmp_path)
    assert catalogues.ready(source, tmp_path / "spare") == source
    po = source / "sv" / "LC_MESSAGES" / "messages.po"
    po.write_text(
        po.read_text(encoding="utf-8").replace('msgstr "Skapa en workshop"', 'msgstr "Starta"'),
        encoding="utf-8",
    )
    mo = po.with_suffix(".mo")
    os.utime(mo, (po.stat().st_mtime - 10, po.stat().st_mtime - 10))
    catalogues.ready(source, tmp_path / "spare")
    assert Translations.load(str(source), ["sv"]).gettext("Create a workshop") == "Starta"


def test_a_read_only_installation_compiles_its_catalogues_under_the_instance_folder(
    tmp_path: Path, monkeypatch: Any
) -> None:
    source = catalogues_without_compiled_forms(tmp_path)
    compile_into = catalogues._compile

    def read_only(origin: Path, target: Path, language: str) -> None:
        if target == origin:
            raise PermissionError(f"read-only: {target}")
        compile_into(origin, target, language)

    monkeypatch.setattr(catalogues, "_compile", read_only)
    spare = tmp_path / "instance" / "translations"
    assert catalogues.ready(source, spare) == spare
    assert not (source / "sv" / "LC_MESSAGES" / "messages.mo").exists()
    swedish = Translations.load(str(spare), ["sv"])
    assert swedish.gettext("Create a workshop") == "Skapa en workshop"


def test_a_broken_catalogue_stops_the_start_with_its_name(tmp_path: Path) -> None:
    source = catalogues_without_compiled_forms(tmp_path)
    po = source / "sv" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8") + '\nmsgid "unterminated\n', encoding="utf-8")
    with pytest.raises(catalogues.CatalogueError, match="'sv'"):
        catalogues.ready(source, tmp_path / "spare")
