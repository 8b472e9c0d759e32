"""The board as the server renders it: an open workshop invites people in (QR code and join
code); a closed one does not, and says it is closed (issue #18)."""

from __future__ import annotations

import re

from conftest import Room


def shown(html: str, element_id: str) -> bool:
    """Whether the element with this id is rendered without the hidden attribute."""
    tag = re.search(rf"<[a-z]+[^>]*\bid=\"{element_id}\"[^>]*>", html)
    assert tag, f"no #{element_id} on the board"
    return not re.search(r"\shidden(\s|>|=)", tag.group(0))


def board(room: Room) -> str:
    response = room.facilitator_http.get(f"/board/{room.code}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_an_open_board_invites_people_in(room: Room) -> None:
    html = board(room)
    assert shown(html, "join-details")
    assert not shown(html, "workshop-closed")


def test_a_closed_board_shows_no_qr_code_nor_join_code_and_says_closed(room: Room) -> None:
    room.ok(room.console, "step.set", step="closed")
    html = board(room)
    assert not shown(html, "join-details")  # the QR code and the join code are inside it
    assert shown(html, "workshop-closed")
    assert not shown(html, "doors-closed")
    closed = html.split('id="workshop-closed"', 1)[1].split("</div>", 1)[0]
    assert "Avslutad" in closed or "Closed" in closed


def test_a_closed_board_with_closed_doors_says_closed_only(room: Room) -> None:
    room.ok(room.console, "doors.set", closed=True)
    room.ok(room.console, "step.set", step="closed")
    html = board(room)
    assert not shown(html, "join-details")
    assert not shown(html, "doors-closed")
    assert shown(html, "workshop-closed")
