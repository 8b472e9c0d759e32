"""The library of trends as data: the file shipped with the app loads and says every trend in
both languages; a file that is not as it should be is refused with a message that names what
is wrong."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from facilitation.core import factor_library
from facilitation.core.factor_library import LIBRARY_FILE, LibraryDataError, load_library


@pytest.fixture
def shipped() -> dict[str, Any]:
    """The shipped file's contents, to spoil one thing at a time."""
    return json.loads(LIBRARY_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def refusal(tmp_path: Path, data: Any) -> str:
    """The message a file holding `data` is refused with."""
    path = tmp_path / "library.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    with pytest.raises(LibraryDataError) as refused:
        load_library(path)
    return str(refused.value)


def test_the_shipped_file_loads_with_every_trend_in_both_languages(
    shipped: dict[str, Any],
) -> None:
    library = load_library(LIBRARY_FILE)
    assert len(library.municipal_trends) == 5
    for force in shipped["municipal_trends"]:
        assert force["sv"] and force["en"]
        for trend in force["trends"]:
            assert trend["sv"]["title"] and trend["en"]["title"], trend["id"]
            assert trend["sv"]["description"] and trend["en"]["description"], trend["id"]
            assert ("link" in trend) == ("source" in trend["sv"]) == ("source" in trend["en"])


def test_the_template_offers_the_file_in_each_language(shipped: dict[str, Any]) -> None:
    forces = shipped["municipal_trends"]
    for language in ("sv", "en"):
        categories, seeds = factor_library.template("municipal_trends", language)
        assert categories == [f[language] for f in forces]
        expected = [(f[language], t[language]["title"]) for f in forces for t in f["trends"]]
        assert [(s.category, s.title) for s in seeds] == expected
    _, seeds = factor_library.template("municipal_trends", "en")
    sourced = [s for s in seeds if s.evidence]
    assert sourced and all(s.evidence[0]["url"].startswith("https://") for s in sourced)
    assert seeds[0].evidence == (
        {
            "text": "National Board of Trade Sweden on trade",
            "url": "https://www.kommerskollegium.se",
        },
    )


def test_an_unknown_field_is_refused_by_name(tmp_path: Path, shipped: dict[str, Any]) -> None:
    shipped["municipal_trends"][1]["trends"][2]["colour"] = "red"
    message = refusal(tmp_path, shipped)
    assert "library.json" in message
    assert "municipal_trends.1.trends.2.colour" in message
    assert "Extra inputs are not permitted" in message


@pytest.mark.parametrize("language", ["sv", "en"])
def test_a_trend_missing_a_language_is_refused(
    tmp_path: Path, shipped: dict[str, Any], language: str
) -> None:
    del shipped["municipal_trends"][0]["trends"][3][language]
    message = refusal(tmp_path, shipped)
    assert f"municipal_trends.0.trends.3.{language}: Field required" in message


def test_a_missing_title_or_force_name_is_refused(tmp_path: Path, shipped: dict[str, Any]) -> None:
    spoilt = copy.deepcopy(shipped)
    del spoilt["municipal_trends"][2]["trends"][0]["en"]["title"]
    assert "municipal_trends.2.trends.0.en.title: Field required" in refusal(tmp_path, spoilt)
    del shipped["municipal_trends"][4]["sv"]
    assert "municipal_trends.4.sv: Field required" in refusal(tmp_path, shipped)


def test_a_title_of_the_wrong_type_is_refused(tmp_path: Path, shipped: dict[str, Any]) -> None:
    shipped["municipal_trends"][0]["trends"][0]["sv"]["title"] = 7
    assert "municipal_trends.0.trends.0.sv.title" in refusal(tmp_path, shipped)


def test_ids_are_used_once(tmp_path: Path, shipped: dict[str, Any]) -> None:
    trends = shipped["municipal_trends"][3]["trends"]
    trends[1]["id"] = trends[0]["id"]
    message = refusal(tmp_path, shipped)
    assert f"each id must be used once: {trends[0]['id']}" in message


def test_titles_are_used_once_in_each_language(tmp_path: Path, shipped: dict[str, Any]) -> None:
    first, second = shipped["municipal_trends"][0]["trends"][:2]
    second["sv"]["title"] = first["sv"]["title"]
    assert f"each sv title must be used once: {first['sv']['title']}" in refusal(tmp_path, shipped)


def test_a_link_needs_its_source_in_both_languages(tmp_path: Path, shipped: dict[str, Any]) -> None:
    sourced = shipped["municipal_trends"][0]["trends"][0]
    assert "link" in sourced
    del sourced["en"]["source"]
    assert "municipal_trends.0.trends.0" in refusal(tmp_path, shipped)
    assert "a link needs its source named in both languages" in refusal(tmp_path, shipped)


def test_a_link_must_be_a_web_address(tmp_path: Path, shipped: dict[str, Any]) -> None:
    shipped["municipal_trends"][0]["trends"][0]["link"] = "javascript:alert(1)"
    assert "municipal_trends.0.trends.0.link" in refusal(tmp_path, shipped)


def test_a_field_given_twice_is_refused(tmp_path: Path) -> None:
    text = LIBRARY_FILE.read_text(encoding="utf-8").replace(
        '"id": "globalisation",', '"id": "globalisation", "id": "globalism",', 1
    )
    assert "a field is given twice: id" in refusal(tmp_path, text)


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    assert "library.json: not JSON" in refusal(tmp_path, '{"municipal_trends": [')
