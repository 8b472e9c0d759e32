"""The compiled message catalogues: Swedish from a plain `pip install -r requirements.txt &&
python app.py`, not only after `make`.

Layer: infrastructure. The catalogues are kept in git as text (translations/*/LC_MESSAGES/
messages.po); what gettext reads is their compiled form (.mo), which git does not keep. At
start, a catalogue whose compiled form is missing or older than its text is compiled next to
it, or, where the installation is read-only, under the instance folder. A catalogue that
cannot be read stops the start with its name: never a silent fall back to English.
"""

from __future__ import annotations

import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

from facilitation.infrastructure.config import INSTANCE, ROOT

SOURCE = ROOT / "translations"
SPARE = INSTANCE / "translations"
CATALOGUE = Path("LC_MESSAGES") / "messages"

log = logging.getLogger("samsyn.catalogues")


class CatalogueError(RuntimeError):
    """A catalogue could not be read or compiled anywhere."""


def ready(source: Path | None = None, spare: Path | None = None) -> Path:
    """The folder of up-to-date compiled catalogues for gettext: `source` (translations/)
    when its own are or can be made so, else `spare` (under instance/), compiled there."""
    source, spare = source or SOURCE, spare or SPARE
    languages = sorted(
        p.name for p in source.iterdir() if (p / CATALOGUE).with_suffix(".po").is_file()
    )
    if all(_fresh(source, source, language) for language in languages):
        return source
    try:
        for language in languages:
            _compile(source, source, language)
        return source
    except OSError as error:
        log.info("Cannot write compiled catalogues next to their text (%s): using %s", error, spare)
    for language in languages:
        try:
            _compile(source, spare, language)
        except OSError as error:
            raise CatalogueError(
                f"Cannot compile the {language!r} catalogue into {spare}: {error}"
            ) from error
    return spare


def _fresh(source: Path, target: Path, language: str) -> bool:
    po = (source / language / CATALOGUE).with_suffix(".po")
    mo = (target / language / CATALOGUE).with_suffix(".mo")
    return mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime


def _compile(source: Path, target: Path, language: str) -> None:
    """Compile one language's catalogue into target, unless it is already up to date there;
    fuzzy entries are kept, as `pybabel compile --use-fuzzy` does."""
    if _fresh(source, target, language):
        return
    po = (source / language / CATALOGUE).with_suffix(".po")
    try:
        with po.open("rb") as text:
            catalogue = read_po(text, locale=language, abort_invalid=True)
    except (OSError, ValueError, PoFileError) as error:
        raise CatalogueError(f"Cannot read the {language!r} catalogue {po}: {error}") from error
    mo = (target / language / CATALOGUE).with_suffix(".mo")
    mo.parent.mkdir(parents=True, exist_ok=True)
    partial = mo.with_suffix(".mo.partial")
    with partial.open("wb") as compiled:
        write_mo(compiled, catalogue, use_fuzzy=True)
    partial.replace(mo)
    log.info("Compiled the %r catalogue into %s", language, mo)
