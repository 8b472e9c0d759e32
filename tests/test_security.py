"""Who gets in where: every command against the wrong role and the wrong workshop, the rate
limits, code guessing, replacing a leaked facilitator link, and the session cookie."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from conftest import SEED, Room, _path, metric, socketio
from flask import Flask

from facilitation.core.domain import Role
from facilitation.edges import limits
from facilitation.edges.limits import TokenBucket
from facilitation.infrastructure import models
from facilitation.infrastructure.config import Config
from facilitation.usecases import COMMANDS, Actor


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- The token bucket ---------------------------------------------------------------------


def test_a_bucket_allows_a_burst_then_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.allow("a") for _ in range(4)] == [True, True, True, False]
    assert bucket.allow("b")  # every key has a bucket of its own
    clock.now += 0.5  # one token back at 2 per second
    assert bucket.has_tokens("a") and bucket.has_tokens("a")  # looking spends nothing
    assert bucket.allow("a") and not bucket.allow("a")
    clock.now += 60
    assert sum(bucket.allow("a") for _ in range(10)) == 3  # refilled to the burst, no more


def test_a_bucket_forgets_keys_that_filled_up_again() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock)
    for key in range(10_000):
        bucket.allow(key)
    clock.now += 10
    calls = 0
    while len(bucket._buckets) > 1:
        before = len(bucket._buckets)
        bucket.allow("late")
        calls += 1
        assert before - len(bucket._buckets) <= limits.FORGET_PER_CALL  # a little each time
    assert list(bucket._buckets) == ["late"] and calls <= 10_000 // limits.FORGET_PER_CALL + 1
    assert bucket.allow(0) and bucket.allow(0) and not bucket.allow(0)  # starts afresh


# --- Every command, from the wrong role and from another workshop ------------------------


def valid_payloads(room: Room, round_id: int) -> dict[str, dict[str, Any]]:
    """A payload each command would accept from its own role."""
    factor, other = room.factor("Urbanisering"), room.factor("Åldrande befolkning")
    category = room.category("Sociala")
    return {
        "factor.propose": {"title": "Ny", "category_id": category},
        "ballot.submit": {"round_id": round_id, "entries": {str(factor): 1}},
        "participant.rename": {"nickname": "Anna"},
        "factor.add": {"title": "Ny", "category_id": category},
        "factor.edit": {"factor_id": factor, "title": "Annan"},
        "factor.approve": {"factor_id": factor},
        "factor.hide": {"factor_id": factor},
        "factor.remove": {"factor_id": factor, "reason": "Dubblett"},
        "factor.restore": {"factor_id": factor},
        "factor.merge": {"factor_id": factor, "into_id": other},
        "factor.unmerge": {"factor_id": factor},
        "factor.remove_many": {"removals": [{"factor_id": factor, "reason": "Bortröstad"}]},
        "category.add": {"name": "Ny"},
        "category.rename": {"category_id": category, "name": "Annan"},
        "workshop.configure": {"title": "Annan"},
        "step.set": {"step": "complete"},
        "timer.set": {"seconds": 60},
        "doors.set": {"closed": True},
        "round.open": {"method": "keep_remove"},
        "round.configure": {"round_id": round_id, "live": True},
        "round.close": {"round_id": round_id},
        "round.reveal": {"round_id": round_id},
        "proxy.add": {"label": "Bertil"},
        "groups.set": {"groups": [{"name": "Företag"}], "required": True},
        "group.choose": {"group_id": None},
        # Well formed; the role is checked before whether there is anything to give a
        # reason on or to moderate.
        "reason.submit": {"round_id": round_id, "factor_id": factor, "text": "Därför"},
        "reason.approve": {"reason_id": 1},
        "reason.hide": {"reason_id": 1},
        "moderation.policy_set": {"policy": "Vi döljer reklam."},
    }


def content(room: Room) -> dict[str, Any]:
    """The console's state without what changes by itself (the clock)."""
    state = room.state(room.console)["state"]
    return {k: v for k, v in state.items() if k != "server_time"}


def open_dots_round(room: Room) -> int:
    room.ok(room.console, "step.set", step="prioritise")
    data = room.ok(room.console, "round.open", method="dots", budget=3, cap=3)
    return int(data["round_id"])


def test_the_payload_table_covers_every_command(room: Room) -> None:
    assert set(valid_payloads(room, 1)) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_refuses_the_other_role(room: Room, name: str) -> None:
    round_id = open_dots_round(room)
    payload = valid_payloads(room, round_id)[name]
    _, phone = room.phone()
    before = room.state(room.console)["state"]["version"]
    sender = phone if COMMANDS[name].role is Role.FACILITATOR else room.console
    answer = room.send(sender, name, **payload)
    assert answer["ok"] is False and answer["error"]["code"] == "forbidden"
    assert room.state(room.console)["state"]["version"] == before


@pytest.mark.parametrize(
    "name", sorted(n for n, c in COMMANDS.items() if c.role is Role.FACILITATOR)
)
def test_each_facilitator_command_refuses_another_workshops_facilitator(
    make_room: Any, name: str
) -> None:
    ours, theirs = make_room(), make_room(title="Någon annans")
    round_id = open_dots_round(ours)
    payload = valid_payloads(ours, round_id)[name]
    # Their facilitator cannot connect to our workshop ...
    intruder = ours.connect(theirs.facilitator_http, "console")
    assert not intruder.is_connected()
    # ... and our ids sent in their own workshop reach nothing of ours.
    before = content(ours)
    answer = theirs.send(theirs.console, name, **payload)
    assert content(ours) == before, answer


def test_strangers_get_no_connection_and_no_answers(app: Flask, room: Room) -> None:
    stranger = app.test_client()
    for view in ("console", "board", "phone"):
        client = socketio.test_client(
            app, auth={"code": room.code, "view": view}, flask_test_client=stranger
        )
        assert not client.is_connected(), view
    for path in (f"/console/{room.code}", f"/board/{room.code}", f"/preview/{room.code}"):
        assert stranger.get(path).status_code == 403, path
    assert stranger.get(f"/api/workshops/{room.code}/export.json").status_code == 403
    assert stranger.delete(f"/api/workshops/{room.code}").status_code == 403
    assert stranger.post(f"/console/{room.code}/link").status_code == 403


# --- Rate limits ---------------------------------------------------------------------------


def test_a_participant_sending_too_fast_is_told_and_nothing_is_stored(
    make_app: Any, make_room: Any
) -> None:
    room: Room = make_room()
    clock = Clock()
    room.app.extensions["samsyn"].command_limit = TokenBucket(rate=1, burst=3, clock=clock)
    _, anna = room.phone()
    _, bertil = room.phone()
    renames = [room.send(anna, "participant.rename", nickname=f"Anna {i}") for i in range(3)]
    assert all(a["ok"] for a in renames)
    refused = anna.emit(
        "participant.rename", {"nickname": "Anna 4", "command_id": "fast"}, callback=True
    )
    assert refused["ok"] is False and refused["error"]["code"] == "rate_limited"
    assert refused["error"]["message"].startswith("Du skickar")  # in the workshop's language
    assert room.ok(bertil, "participant.rename", nickname="Bertil")  # others are not slowed
    # Nothing was recorded under the refused id: sent again at a normal pace, it runs.
    clock.now += 1
    again = anna.emit(
        "participant.rename", {"nickname": "Anna 4", "command_id": "fast"}, callback=True
    )
    assert again["ok"] and again["data"] == {"nickname": "Anna 4"}


def test_tabs_of_one_participant_share_their_pace(room: Room) -> None:
    room.app.extensions["samsyn"].command_limit = TokenBucket(rate=0.001, burst=2)
    http, first = room.phone()
    second = room.connect(http, "phone")
    assert room.send(first, "participant.rename", nickname="A")["ok"]
    assert room.send(second, "participant.rename", nickname="B")["ok"]
    assert room.send(second, "participant.rename", nickname="C")["error"]["code"] == (
        "rate_limited"
    )


def test_a_participant_proposes_no_more_than_the_quota(room: Room) -> None:
    room.ok(room.console, "step.set", step="complete")
    _, phone = room.phone()
    category = room.category("Sociala")
    answers = [
        room.send(phone, "factor.propose", title=f"Förslag {i}", category_id=category)
        for i in range(11)
    ]
    assert [a["ok"] for a in answers] == [True] * 10 + [False]
    assert answers[-1]["error"]["code"] == "proposal_quota"


# --- Guessing codes and secrets --------------------------------------------------------------


def test_guessing_codes_is_slowed_down_but_joined_phones_are_not(make_app: Any) -> None:
    app = make_app(JOIN_MISS_BURST=3)
    code = app.test_client().post("/api/workshops", json=SEED).json["code"]
    joined = app.test_client()
    assert joined.get(f"/j/{code}").status_code == 200
    guesser = app.test_client()
    assert [guesser.get(f"/j/WRONG{i}").status_code for i in range(3)] == [404] * 3
    # Now even the right code is refused to browsers that never joined it ...
    refused = guesser.get(f"/j/{code}")
    assert refused.status_code == 429
    assert "Vänta en minut" in refused.get_data(as_text=True)
    assert guesser.post("/join", data={"code": code}).status_code == 429
    api = guesser.get(f"/api/workshops/{code}/export.json")
    assert api.status_code == 429 and api.json["error"]["code"] == "too_many_tries"
    socket = socketio.test_client(
        app, auth={"code": code, "view": "phone"}, flask_test_client=guesser
    )
    assert not socket.is_connected()
    # ... while a phone that joined before keeps its page and its connection.
    assert joined.get(f"/j/{code}").status_code == 200
    phone = socketio.test_client(
        app, auth={"code": code, "view": "phone"}, flask_test_client=joined
    )
    assert phone.is_connected()


def test_the_workshops_allowance_lets_a_room_of_ten_thousand_join_at_once(
    make_app: Any,
) -> None:
    """With the default guard, 10,000 phones from as many addresses join one workshop at
    once (a scanned QR code in the biggest room Samsyn serves); a script making
    participants past that is refused."""
    defaults = Config()
    app = make_app(
        JOIN_BURST_PER_WORKSHOP=defaults.JOIN_BURST_PER_WORKSHOP,
        JOIN_RATE_PER_WORKSHOP=defaults.JOIN_RATE_PER_WORKSHOP,
    )
    allowance = app.extensions["samsyn"].joins_per_workshop
    assert all(allowance.allow("BIGROOM") for _ in range(10_000))
    assert not all(allowance.allow("BIGROOM") for _ in range(10_000))


def test_new_participants_are_counted_per_address_and_per_workshop(make_app: Any) -> None:
    """The guard on joins counts only someone new: past the address's allowance a newcomer is
    refused and nothing is made, while phones that joined come back and other addresses
    still join, until the workshop's own allowance is spent. Refused joins are counted."""
    app = make_app(
        JOIN_BURST_PER_ADDRESS=2,
        JOIN_RATE_PER_ADDRESS=0,
        JOIN_BURST_PER_WORKSHOP=3,
        JOIN_RATE_PER_WORKSHOP=0,
    )
    code = app.test_client().post("/api/workshops", json=SEED).json["code"]
    other = app.test_client().post("/api/workshops", json=SEED).json["code"]

    def phone(address: str, workshop: str = code) -> tuple[Any, Any]:
        http = app.test_client()
        http.environ_base["REMOTE_ADDR"] = address
        assert http.get(f"/j/{workshop}").status_code == 200
        return http, socketio.test_client(
            app, auth={"code": workshop, "view": "phone"}, flask_test_client=http
        )

    def joined(workshop: str) -> int:
        database = app.extensions["samsyn"].db
        with database.engine.connect() as connection:
            rows = connection.execute(
                models.Participant.__table__.select()
                .join(models.Workshop.__table__)
                .where(models.Workshop.__table__.c.code == workshop)
            )
            return len(rows.all())

    venue = "198.51.100.1"
    (anna_http, anna), (_, bertil) = phone(venue), phone(venue)
    _, third = phone(venue)
    assert anna.is_connected() and bertil.is_connected() and not third.is_connected()
    anna.disconnect()
    again = socketio.test_client(
        app, auth={"code": code, "view": "phone"}, flask_test_client=anna_http
    )
    assert again.is_connected()  # coming back is never counted
    _, elsewhere = phone("203.0.113.5")
    _, late = phone("203.0.113.6")
    assert elsewhere.is_connected() and not late.is_connected()  # the workshop's allowance
    _, next_door = phone("203.0.113.6", other)
    assert next_door.is_connected()  # another workshop has its own
    assert (joined(code), joined(other)) == (3, 1)
    assert metric(app.test_client().get("/metrics").text, "samsyn_joins_refused_total") == 2


def test_wrong_facilitator_secrets_count_as_guesses(make_app: Any) -> None:
    app = make_app(JOIN_MISS_BURST=2)
    created = app.test_client().post("/api/workshops", json=SEED).json
    guesser = app.test_client()
    for attempt in range(2):
        assert guesser.get(f"/f/{created['code']}/guess-{attempt}").status_code == 403
    assert guesser.get(_path(created["facilitator_url"])).status_code == 429


def test_the_guessing_limit_refills(make_app: Any) -> None:
    app = make_app()
    clock = Clock()
    app.extensions["samsyn"].join_limit = TokenBucket(rate=1 / 15, burst=1, clock=clock)
    client = app.test_client()
    assert client.get("/j/WRONG1").status_code == 404
    assert client.get("/j/WRONG2").status_code == 429
    clock.now += 15
    assert client.get("/j/WRONG2").status_code == 404


# --- Replacing the facilitator link ----------------------------------------------------------


def csrf_token(client: Any, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_replacing_the_link_locks_out_the_old_one(make_app: Any, caplog: Any) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    created = app.test_client().post("/api/workshops", json=SEED).json
    room = Room(app, created)
    old_secret = created["facilitator_url"].rsplit("/", 1)[1]
    elsewhere = app.test_client()  # the projector's computer, opened with the old link
    elsewhere.get(_path(created["facilitator_url"]))
    projector = room.connect(elsewhere, "board")
    http, phone = room.phone()
    assert projector.is_connected() and phone.is_connected()

    path = f"/console/{room.code}"
    assert room.facilitator_http.post(f"{path}/link").status_code == 400  # no CSRF token
    caplog.set_level("DEBUG")
    response = room.facilitator_http.post(
        f"{path}/link", data={"csrf_token": csrf_token(room.facilitator_http, path)}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{path}?link=new"

    # Every screen of the facilitator's was let go; phones were not.
    assert not projector.is_connected() and not room.console.is_connected()
    assert phone.is_connected()
    # The old link opens nothing any more, on any device.
    assert elsewhere.get(path).status_code == 403
    assert app.test_client().get(f"/f/{room.code}/{old_secret}").status_code == 403
    assert not room.connect(elsewhere, "board").is_connected()
    # The browser that replaced it holds the new one and shows it once.
    page = room.facilitator_http.get(f"{path}?link=new").get_data(as_text=True)
    new_link = re.search(r'class="secret-link" readonly value="([^"]+)"', page)
    assert new_link and old_secret not in new_link.group(1)
    assert "Det här är din nya processledarlänk" in page
    console = room.connect(room.facilitator_http, "console")
    assert console.is_connected()
    log = room.state(console)["state"]["log"]
    assert log[0]["action"] == "facilitator_link.replaced"  # newest first
    new_secret = new_link.group(1).rsplit("/", 1)[1]
    assert new_secret not in caplog.text and old_secret not in caplog.text
    assert new_secret not in http.get(f"/j/{room.code}").get_data(as_text=True)


def test_a_command_with_the_old_secret_is_refused(room: Room) -> None:
    old = room.connect(room.facilitator_http, "console")
    samsyn = room.app.extensions["samsyn"]
    secret = room.created["facilitator_url"].rsplit("/", 1)[1]
    samsyn.services.workshops.replace_secret(room.code, secret)
    assert not old.is_connected()  # its screen is let go at once
    # A command that was on its way with the old secret is refused too.
    actor = Actor(Role.FACILITATOR, room.code, secret=secret)
    answer = samsyn.services.workshops.execute(
        actor, "step.set", {"command_id": "s1", "step": "complete"}
    )
    assert answer["error"]["code"] == "forbidden"


# --- The session cookie ------------------------------------------------------------------------


def session_cookie(response: Any) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("samsyn=")]
    assert cookies, "no session cookie set"
    return str(cookies[0])


def test_the_cookie_is_httponly_lax_bounded_and_secure_over_https(make_app: Any) -> None:
    app = make_app(PROXY_HOPS=1)
    code = app.test_client().post("/api/workshops", json=SEED).json["code"]
    plain = session_cookie(app.test_client().get(f"/j/{code}"))
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    # Behind a reverse proxy (PROXY_HOPS=1), https is told by X-Forwarded-Proto ...
    proxied = app.test_client().get(f"/j/{code}", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in session_cookie(proxied)
    # ... and served directly over https, by the scheme itself.
    direct = app.test_client().get(f"/j/{code}", base_url="https://samsyn.test")
    assert "Secure" in session_cookie(direct)


def test_the_cookie_lives_at_most_fourteen_days(app: Flask) -> None:
    code = app.test_client().post("/api/workshops", json=SEED).json["code"]
    cookie = session_cookie(app.test_client().get(f"/j/{code}"))
    expires = re.search(r"Expires=([^;]+)", cookie)
    assert expires, cookie
    lifetime = parsedate_to_datetime(expires.group(1)) - datetime.now(UTC)
    assert timedelta(days=13) < lifetime <= timedelta(days=14)


# --- Privacy ---------------------------------------------------------------------------------


def test_no_address_or_user_agent_is_stored_or_logged(room: Room, caplog: Any) -> None:
    caplog.set_level("DEBUG")
    address, agent = "203.0.113.77", "SamsynTestPhone/9.9"
    http = room.app.test_client()
    http.environ_base.update(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    assert http.get(f"/j/{room.code}").status_code == 200
    phone = room.connect(http, "phone")
    room.ok(room.console, "step.set", step="complete")
    room.ok(phone, "factor.propose", title="Hamnen", category_id=room.category("Sociala"))
    room.ok(phone, "participant.rename", nickname="Anna")
    assert http.get("/j/NOSUCH").status_code == 404  # counted by address, in memory only
    database = room.app.extensions["samsyn"].db
    with database.engine.connect() as connection:
        stored = [
            repr(row)
            for table in models.Base.metadata.sorted_tables
            for row in connection.execute(table.select())
        ]
    assert stored and not [row for row in stored if address in row or agent in row]
    assert address not in caplog.text and agent not in caplog.text
