"""Moderation in the open (issue #18, item 18): the moderation log as its own export (CSV,
JSON, a sheet of the workbook), and the facilitator's moderation policy, which phones read."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import openpyxl
import pytest
from conftest import Room

FACTORS = [
    {"title": "Urbanisering", "category": "Sociala"},
    {"title": "Urbanisation", "category": "Sociala"},
    {"title": "Kompetensförsörjning", "category": "Ekonomiska"},
    {"title": "Reklam för min firma", "category": "Ekonomiska"},
]
POLICY = "Vi döljer reklam och personangrepp.\nDubbletter slås ihop, och vi säger varför."


@pytest.fixture
def moderated(make_room: Any) -> Room:
    """A workshop whose facilitator wrote a policy, edited, hid, merged and removed factors,
    and hid a reason."""
    room = make_room(language="sv", factors=FACTORS)
    room.phones = [room.phone()[1] for _ in range(4)]
    ids = {f["title"]: room.factor(f["title"]) for f in FACTORS}
    room.ok(room.console, "moderation.policy_set", policy=POLICY)
    room.ok(room.console, "factor.edit", factor_id=ids["Urbanisering"], title="Urbanisering ökar")
    room.ok(room.console, "factor.hide", factor_id=ids["Reklam för min firma"])
    room.ok(
        room.console, "factor.merge", factor_id=ids["Urbanisation"], into_id=ids["Urbanisering"]
    )
    room.ok(room.console, "step.set", step="prioritise")
    u, k = ids["Urbanisering"], ids["Kompetensförsörjning"]
    round_id = room.run_round("rating", [{u: 1, k: 3}, {u: 3, k: 3}, {u: 3, k: 3}, {u: 5, k: 3}])
    room.ok(room.phones[3], "reason.submit", round_id=round_id, factor_id=u, text="Namnet Eva")
    reason = room.state(room.console)["state"]["reasons"][0]
    room.ok(room.console, "reason.hide", reason_id=reason["id"])
    room.ok(room.console, "factor.remove", factor_id=k, reason="Hör inte hit enligt gruppen")
    return room


def get(room: Room, path: str) -> Any:
    response = room.facilitator_http.get(f"/api/workshops/{room.code}/{path}")
    assert response.status_code == 200, response.data[:300]
    return response


def test_the_moderation_log_exports_as_csv_in_words(moderated: Room) -> None:
    response = get(moderated, "moderation.csv")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="samsyn-{moderated.code}-moderation.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.data.decode()[1:]), delimiter=";"))
    said = [(r["Vad som hände"], r["Faktor"], r["Detaljer"]) for r in rows]
    assert said == [
        (
            "Modereringspolicyn ändrad",
            "",
            "policy: " + POLICY,
        ),
        (
            "Faktor redigerad",
            "Urbanisering ökar",
            "titel: Urbanisering → Urbanisering ökar",
        ),
        ("Faktor dold", "Reklam för min firma", ""),
        (
            "Faktor sammanslagen med en annan",
            "Urbanisation",
            "till: Urbanisering ökar; flyttade röster: 0",
        ),
        ("Skäl dolt", "Urbanisering ökar", ""),
        ("Faktor borttagen", "Kompetensförsörjning", "skäl: Hör inte hit enligt gruppen"),
    ]
    assert all(r["Roll"] == "processledare" for r in rows)
    assert all(r["Preliminärt"].startswith("Preliminärt") for r in rows)
    assert "Namnet Eva" not in response.data.decode()  # a reason's text is not in the log


def test_the_moderation_log_exports_as_json_and_in_the_workbook(moderated: Room) -> None:
    document = json.loads(get(moderated, "moderation.json").data)
    assert document["schema"] == "samsyn.moderation" and document["preliminary"] is True
    assert document["moderation_policy"] == POLICY
    assert [e["action"] for e in document["entries"]] == [
        "moderation.policy_set",
        "factor.edited",
        "factor.hidden",
        "factor.merged",
        "reason.hidden",
        "factor.removed",
    ]
    removed = document["entries"][-1]
    assert removed["factor"] == "Kompetensförsörjning"
    assert removed["details"] == {"reason": "Hör inte hit enligt gruppen"}
    record = json.loads(get(moderated, "export.json").data)
    assert record["workshop"]["moderation_policy"] == POLICY
    book = openpyxl.load_workbook(io.BytesIO(get(moderated, "export.xlsx").data))
    sheet = list(book["Moderering"].iter_rows(values_only=True))
    assert sheet[0][1:] == ("Roll", "Vad som hände", "Faktor", "Detaljer")
    assert len(sheet) == 7
    summary = {row[0]: row[1] for row in book["Sammanfattning"].iter_rows(values_only=True)}
    assert summary["Modereringspolicy"] == POLICY


def test_the_moderation_export_is_the_facilitators_only(moderated: Room) -> None:
    participant, _ = moderated.phone()
    for fmt in ("csv", "json"):
        assert (
            participant.get(f"/api/workshops/{moderated.code}/moderation.{fmt}").status_code == 403
        )
    wrong = moderated.facilitator_http.get(f"/api/workshops/{moderated.code}/moderation.pdf")
    assert wrong.status_code == 404 and wrong.json["error"]["code"] == "unknown_format"


def test_the_policy_is_checked_logged_and_read_by_phones(make_room: Any) -> None:
    room = make_room(language="sv", factors=FACTORS[:1])
    http, phone = room.phone()
    assert room.state(phone)["state"]["workshop"]["moderation_policy"] is None
    too_long = room.send(room.console, "moderation.policy_set", policy="x" * 2001)
    assert not too_long["ok"] and too_long["error"]["code"] == "too_long"
    not_theirs = room.send(phone, "moderation.policy_set", policy="Allt är tillåtet")
    assert not not_theirs["ok"] and not_theirs["error"]["code"] == "forbidden"
    assert room.ok(room.console, "moderation.policy_set", policy="  " + POLICY + "\u200b ") == {
        "policy": POLICY
    }
    room.flush()
    assert room.latest(phone)["workshop"]["moderation_policy"] == POLICY
    # The phone page offers it to read, in the facilitator's words.
    assert "Så modereras bidragen" in http.get(f"/j/{room.code}").data.decode()
    assert room.ok(room.console, "moderation.policy_set", policy=" ") == {"policy": None}
    assert room.state(phone)["state"]["workshop"]["moderation_policy"] is None
    log = json.loads(room.facilitator_http.get(f"/api/workshops/{room.code}/export.json").data)
    policies = [
        e["details"]["policy"] for e in log["log"] if e["action"] == "moderation.policy_set"
    ]
    assert policies == [POLICY, None]
