"""The text rules of the core (domain.clean_text and clean_title): what a title, a description,
a nickname or a library factor holds once stored, whatever was typed or pasted. Property
tests for the invariants; examples for the decisions (what emoji keep)."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from conftest import SEED, Room, error_code
from flask import Flask
from hypothesis import example, given
from hypothesis import strategies as st
from organizing import PASSWORD, Organizer

from facilitation.core import domain, factor_library
from facilitation.core.domain import DomainError
from facilitation.usecases.accounts import clean_username, login_name

# Characters that draw nothing, or that reorder what is drawn (issue #15, finding 13).
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f\u180e\u2061\u2062\u2063\u2064"
FILLERS = "\u115f\u1160\u3164\uffa0\u17b4\u17b5"
SELECTORS = "\ufe00\ufe0e\ufe0f\U000e0100\U000e0041\U000e007f\U000e0001"
INVISIBLE = BIDI + ZERO_WIDTH + FILLERS + SELECTORS + "\x00\x1b\x7f\ud800\ufdd0\uffff"
# What a Swedish or English title is made of (no symbols, digits: those may take a
# presentation selector, as 1️⃣ and ❤️ do).
WORDS = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzåäöéüABCÅÄÖ .,:;!?()–-'\"/&%"),
    min_size=0,
    max_size=40,
)
ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec=None), st.sampled_from(INVISIBLE + "\u2800\x85\n\r\t 👩💻🏳❤1")
    ),
    max_size=60,
)


def sprinkled(draw: st.DrawFn, text: str) -> str:
    """`text` with invisible characters put in anywhere."""
    out = []
    for ch in text:
        out.append(draw(st.text(alphabet=st.sampled_from(INVISIBLE), max_size=3)))
        out.append(ch)
    out.append(draw(st.text(alphabet=st.sampled_from(INVISIBLE), max_size=3)))
    return "".join(out)


@st.composite
def words_with_invisible_characters(draw: st.DrawFn) -> tuple[str, str]:
    words = draw(WORDS)
    return words, sprinkled(draw, words)


@given(ANY_TEXT)
@example("\u202eAnnual growth")
@example("\u200b\u200b\u200b")
@example("👩\u200d💻 a\u200db")
def test_stored_text_is_nfc_tidy_and_holds_nothing_invisible(typed: str) -> None:
    stored = domain.plain_text(typed)
    assert unicodedata.is_normalized("NFC", stored)
    assert stored == stored.strip() and "  " not in stored and "\n\n\n" not in stored
    assert not any(ch in BIDI for ch in stored)
    for i, ch in enumerate(stored):
        category = unicodedata.category(ch)
        assert category not in ("Cc", "Cs") or ch == "\n", repr(stored)
        if category == "Cf":
            # Only what an emoji is made of: a joiner between pictures, or a tag after 🏴.
            assert ch == "\u200d" or 0xE0020 <= ord(ch) < 0xE0080, repr(stored)
            if ch == "\u200d":
                assert 0 < i < len(stored) - 1, repr(stored)
        assert ch not in "\u200b\u200c\u2060\ufeff\u00ad\u3164\u2800"
    if stored:
        # Something draws: a letter, number, punctuation or symbol, or a character this
        # Python does not know yet (a newer emoji) or one for private use.
        drawn = ("L", "N", "P", "S", "Co", "Cn")
        assert any(unicodedata.category(ch).startswith(drawn) for ch in stored)


@given(ANY_TEXT)
def test_cleaning_twice_changes_nothing(typed: str) -> None:
    once = domain.plain_text(typed)
    assert domain.plain_text(once) == once
    title = domain.clean_title(typed, required=False, max_length=10_000)
    assert domain.clean_title(title, required=False, max_length=10_000) == title
    assert "\n" not in title


@given(words_with_invisible_characters())
def test_invisible_characters_change_nothing_in_a_title(pair: tuple[str, str]) -> None:
    """However many invisible characters are in it, a title is stored as the same words,
    and a title of nothing but invisible characters is refused as empty."""
    words, typed = pair
    expected = " ".join(words.split())
    if expected:
        assert domain.clean_title(typed) == expected
    else:
        assert error_code(domain.clean_title, typed) == "required"


@given(ANY_TEXT)
def test_a_required_text_is_refused_exactly_when_nothing_visible_is_left(typed: str) -> None:
    stored = domain.clean_text(typed, field="description", max_length=10_000, required=False)
    if stored:
        assert domain.clean_text(typed, field="description", max_length=10_000) == stored
    else:
        failed = error_code(domain.clean_text, typed, field="description", max_length=10_000)
        assert failed == "required"


@pytest.mark.parametrize(
    "typed",
    [
        "\u200b",
        "\u200b\u200c\u200d\u2060\ufeff",
        "\u202e\u202c",
        "\u2066\u2069 \u200e\u200f",
        "\u3164\u3164",  # the Hangul filler, a "letter" that draws nothing
        "\u2800\u2800",  # Braille's blank cell
        "\ufe0f\ufe0f",
        "\u0301",  # an accent over nothing
        " \t\u00a0\u2003 ",
    ],
)
def test_titles_that_draw_nothing_are_refused(typed: str) -> None:
    assert error_code(domain.clean_title, typed) == "required"
    assert error_code(domain.clean_title, typed, field="category") == "required"
    assert domain.clean_title(typed, field="nickname", required=False) == ""


def test_a_right_to_left_override_cannot_make_one_title_read_like_another() -> None:
    # "Tillväxt" typed backwards after an override reads "Tillväxt" on screen.
    assert domain.clean_title("\u202etxävlliT") == "txävlliT"
    assert domain.clean_title("Till\u2067växt\u2069") == "Tillväxt"
    assert domain.clean_title("Kli\u200bmat") == "Klimat"
    assert domain.clean_title("Kli\u00admat") == "Klimat"


def test_emoji_keep_what_makes_them_a_picture() -> None:
    kept = [
        "👩\u200d💻",  # woman technologist: a joiner between two pictures
        "🧑🏽\u200d🌾",  # with a skin tone
        "🏳\ufe0f\u200d🌈",  # rainbow flag: emoji style, then a joiner
        "❤\ufe0f\u200d🔥",
        "1\ufe0f\u20e3",  # keycap one
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland
    ]
    for emoji in kept:
        assert domain.clean_title(f"Vi {emoji} data") == f"Vi {emoji} data"
    # Where they join or style nothing, they go.
    assert domain.clean_title("Kli\u200dmat\ufe0f") == "Klimat"
    assert domain.clean_title("\u200d👩 \ufe0f") == "👩"
    assert domain.clean_title("x\U000e0067") == "x"


def test_whitespace_of_any_kind_is_one_space_and_lines_stay_in_descriptions() -> None:
    assert domain.clean_title("a\tb\u00a0\u2003c\x0bd") == "a b c d"
    assert domain.clean_text("a\r\n\u200b\r\n\r\n\u2029b", field="d", max_length=99) == "a\n\nb"
    # A letter and its accent kept apart by a zero-width space come together.
    assert domain.clean_title("a\u200b\u030a") == "å"


def test_pasted_seed_lines_of_nothing_visible_are_blank_lines() -> None:
    seeds = domain.parse_seed_lines("Urbanisering\n\u200b\u200b\n\u202e\n- Klimat", [])
    assert [s.title for s in seeds] == ["Urbanisering", "Klimat"]


def test_the_library_cleans_factors_evidence_and_links() -> None:
    seed = factor_library.library_seed(
        "Teknik\u200b", "\u202eAI", "Mer\u200b data", "SCB\u2066 https://www.scb.se/\u202e"
    )
    assert (seed.category, seed.title, seed.description) == ("Teknik", "AI", "Mer data")
    assert seed.evidence == ({"text": "SCB", "url": "https://www.scb.se/"},)
    rows = "kategori;titel\nTeknik;AI\n\u200b;\u200b\n".encode()
    assert [s.title for s in factor_library.parse_csv(rows)] == ["AI"]
    failed = error_code(factor_library.parse_csv, "kategori;titel\nTeknik;\u200b\u202e\n".encode())
    assert failed == "bad_row"
    assert factor_library.clean_stakeholder("\u200b\u2800") is None


def test_usernames_are_cleaned_and_found_as_typed_with_invisible_characters() -> None:
    assert clean_username("Anna\u200b@Kommun.se") == ("Anna@Kommun.se", "anna@kommun.se")
    assert login_name("\u202eanna@kommun.se\u200b ") == "anna@kommun.se"
    assert error_code(clean_username, "\u200b\u200b\u200b\u200b") == "required"


# --- Every way text enters ---------------------------------------------------------------

NOTHING = "\u200b\u202e\u2066\u2069\u3164"  # draws nothing at all
OVERRIDE = "\u202e"


def test_every_way_text_enters_a_workshop_goes_through_the_rules(make_room: Any) -> None:
    """Titles, descriptions, categories, reasons, nicknames and proxy labels: a text of
    invisible characters is refused as empty (optional ones are left empty), and an
    override is dropped from what is kept."""
    room: Room = make_room()
    refused = room.app.test_client().post("/api/workshops", json={**SEED, "title": NOTHING})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "required"  # type: ignore[index]
    category = room.category("Sociala")

    def refusal(client: Any, command: str, /, **payload: Any) -> str:
        answer = room.send(client, command, **payload)
        assert not answer["ok"], (command, answer)
        return str(answer["error"]["code"])

    assert refusal(room.console, "factor.add", title=NOTHING, category_id=category) == "required"
    added = room.ok(
        room.console,
        "factor.add",
        title=f"{OVERRIDE}AI i vården\u200b",
        description=f"Mer{OVERRIDE} data\u2067",
        category_id=category,
    )
    factor_id = added["factor_id"]
    for command, payload in [
        ("factor.edit", {"factor_id": factor_id, "title": NOTHING}),
        ("category.add", {"name": NOTHING}),
        ("category.rename", {"category_id": category, "name": NOTHING}),
        ("workshop.configure", {"title": NOTHING}),
        ("factor.remove", {"factor_id": factor_id, "reason": NOTHING}),
    ]:
        assert refusal(room.console, command, **payload) == "required", command
    room.ok(room.console, "proxy.add", label=NOTHING)
    room.ok(room.console, "step.set", step="complete")
    _, phone = room.phone()
    assert refusal(phone, "factor.propose", title=NOTHING, category_id=category) == "required"
    assert room.ok(phone, "participant.rename", nickname=f"{OVERRIDE}Bo")["nickname"] == "Bo"
    assert room.ok(phone, "participant.rename", nickname=NOTHING)["nickname"] is None

    state = room.state(room.console)["state"]
    factor = next(f for f in state["factors"] if f["id"] == factor_id)
    assert (factor["title"], factor["description"]) == ("AI i vården", "Mer data")
    assert [c["name"] for c in state["categories"]][:2] == ["Politiska", "Ekonomiska"]
    assert state["workshop"]["title"] == SEED["title"]
    stored = json.dumps(state, ensure_ascii=False)
    assert not any(ch in stored for ch in NOTHING)


def test_every_way_text_enters_a_series_goes_through_the_rules(app: Flask) -> None:
    """Series titles and descriptions, stakeholder groups, workshop titles, the library's
    categories, factors and evidence, and usernames."""
    services = app.extensions["samsyn"].services
    with pytest.raises(DomainError) as caught:
        services.organizers.create(NOTHING, PASSWORD)
    assert caught.value.code == "required"
    organizer = Organizer(app, f"Anna{OVERRIDE}\u200b@kommun.se")
    assert services.organizers.login(organizer.token()).username == "Anna@kommun.se"
    # The same account, however the name is typed: with the invisible characters or not.
    again = Organizer(app, "anna@kommun.se", create=False)
    assert again.http.get("/organizer").status_code == 200

    refused = organizer.http.post("/series", data={"title": NOTHING, "template": "none"})
    assert refused.status_code == 400
    series = organizer.series(f"Strategi{OVERRIDE} 2030", description=f"{NOTHING}Om{OVERRIDE} oss")
    organizer.do(series, "series.configure", title=NOTHING, status=400)
    organizer.do(series, "library.category_add", name=NOTHING, back="library", status=400)
    organizer.do(series, "library.category_add", name=f"Teknik{OVERRIDE}", back="library")
    category = organizer.library(series)["categories"]["Teknik"]
    organizer.do(series, "library.add", category_id=category, title=NOTHING, status=400)
    organizer.do(
        series,
        "library.add",
        category_id=category,
        title=f"AI{OVERRIDE}",
        description="\u200b",
        evidence=f"{NOTHING}\nSCB{OVERRIDE} https://www.scb.se/\u200b",
    )
    factor = organizer.library(series)["factors"]["AI"]
    organizer.do(series, "library.edit", factor_id=factor, title=NOTHING, status=400)
    room = organizer.workshop(series, NOTHING, title=NOTHING)

    record = organizer.record(series)
    assert record["series"]["title"] == "Strategi 2030"
    assert record["series"]["description"] == "Om oss"
    assert record["categories"] == ["Teknik"]
    (entry,) = record["factors"]
    assert (entry["title"], entry["description"]) == ("AI", "")
    assert entry["evidence"] == [{"text": "SCB", "url": "https://www.scb.se/"}]
    (workshop,) = record["workshops"]
    assert (workshop["title"], workshop["stakeholder"]) == ("Strategi 2030", None)
    assert room.ids() == {"AI": room.ids()["AI"]}
    assert not any(ch in json.dumps(record, ensure_ascii=False) for ch in NOTHING)
