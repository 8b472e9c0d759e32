"""A workshop's time zone: set on creation and by the facilitator, checked against the IANA
names the system knows, and carried by the export record (its times stay in UTC)."""

from __future__ import annotations

from typing import Any

from conftest import SEED, Room
from flask import Flask


def record_of(room: Room) -> dict[str, Any]:
    return room.app.extensions["samsyn"].services.workshops.record(room.code)  # type: ignore[no-any-return]


def test_stockholm_unless_said_for_either_language(make_room: Any) -> None:
    for language in ("sv", "en"):
        room = make_room(language=language)
        assert record_of(room)["workshop"]["time_zone"] == "Europe/Stockholm"


def test_set_on_creation(make_room: Any) -> None:
    room = make_room(time_zone="America/New_York")
    workshop = record_of(room)["workshop"]
    assert workshop["time_zone"] == "America/New_York"
    assert workshop["created_at"].endswith("Z")  # the record keeps UTC


def test_an_unknown_zone_is_refused_on_creation(app: Flask) -> None:
    for bad in ("Europe/Gotham", "../../etc/passwd", "", "europe/stockholm"):
        response = app.test_client().post("/api/workshops", json={**SEED, "time_zone": bad})
        assert response.status_code == 400, bad
        assert response.json is not None
        assert response.json["error"]["code"] == "bad_time_zone"
        assert response.json["error"]["field"] == "time_zone"
    response = app.test_client().post("/api/workshops", json={**SEED, "time_zone": 1})
    assert response.status_code == 400


def test_the_facilitator_changes_it_and_it_is_logged(room: Room) -> None:
    data = room.ok(room.console, "workshop.configure", time_zone="UTC")
    assert data == {"time_zone": "UTC"}
    record = record_of(room)
    assert record["workshop"]["time_zone"] == "UTC"
    assert record["log"][-1]["details"] == {"time_zone": "UTC"}
    answer = room.send(room.console, "workshop.configure", time_zone="Mars/Olympus")
    assert not answer["ok"] and answer["error"]["code"] == "bad_time_zone"
    assert record_of(room)["workshop"]["time_zone"] == "UTC"


def test_a_participant_cannot_change_it(room: Room) -> None:
    _, phone = room.phone()
    answer = room.send(phone, "workshop.configure", time_zone="UTC")
    assert not answer["ok"]
    assert record_of(room)["workshop"]["time_zone"] == "Europe/Stockholm"
