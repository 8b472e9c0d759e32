"""Single sign-on for organizers, short of the provider (tests/e2e/test_single_sign_on.py
logs in through a real one): the allow-list, accounts keyed by issuer and subject and made
once, a log-in that replaces the browser's earlier login, the password log-in switched off,
and a provider that cannot be reached."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from conftest import error_code
from flask import Flask
from flask.testing import FlaskClient
from organizing import PASSWORD, Organizer

from bench.process import free_port
from facilitation.edges.http import sso
from facilitation.infrastructure import config, models
from facilitation.usecases import accounts

ISSUER = "https://login.kommun.example"


def english(app: Flask) -> FlaskClient:
    """A browser that asks for English pages (without Accept-Language a page is Swedish)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def rows(app: Flask, model: Any) -> list[Any]:
    with app.extensions["samsyn"].db.read() as s:
        return list(s.query(model))


def desk(app: Flask) -> Any:
    return app.extensions["samsyn"].services.organizers


@pytest.mark.parametrize(
    ("email", "verified", "code"),
    [
        ("anna@kommun.example", True, None),
        ("Anna@KOMMUN.example", None, None),  # not said: the address is taken as it is
        ("anna@kommun.example", False, "sso_unverified"),
        ("anna@elsewhere.example", True, "sso_domain"),
        ("anna@sub.kommun.example", True, "sso_domain"),  # only the domains listed
        ("anna@kommun.example.evil", True, "sso_domain"),
        (None, None, "sso_no_email"),
        ("anna", None, "sso_no_email"),
    ],
)
def test_the_allow_list_is_held_on_the_e_mail_domain(
    email: str | None, verified: bool | None, code: str | None
) -> None:
    allowed = config.domains("@Kommun.example, bolag.example")
    assert allowed == ("kommun.example", "bolag.example")
    if code is None:
        accounts.check_domain(email, verified, allowed)
    else:
        assert error_code(accounts.check_domain, email, verified, allowed) == code


def test_without_an_allow_list_anyone_the_provider_vouches_for_is_let_in() -> None:
    accounts.check_domain(None, False, ())
    accounts.check_domain("eve@anywhere.example", False, ())


def test_an_account_is_made_on_the_first_log_in_and_found_by_issuer_and_subject(
    make_app: Any, database_url: str
) -> None:
    app = make_app(database_url)
    organizers = desk(app)
    first = organizers.log_in_sso(ISSUER, "s-1", "anna@kommun.example")
    again = organizers.log_in_sso(ISSUER, "s-1", "anna.berg@kommun.example")
    other_issuer = organizers.log_in_sso("https://other.example", "s-1", "anna@kommun.example")
    made = {(row.oidc_issuer, row.oidc_subject): row for row in rows(app, models.Organizer)}
    assert set(made) == {(ISSUER, "s-1"), ("https://other.example", "s-1")}
    # The name shown follows the provider; no password is stored, and none logs in.
    assert made[ISSUER, "s-1"].username == "anna.berg@kommun.example"
    assert made[ISSUER, "s-1"].password_hash == accounts.NO_PASSWORD
    assert organizers.login(first) is not None and organizers.login(again) is not None
    assert organizers.login(first).organizer_id == organizers.login(again).organizer_id
    assert organizers.login(other_issuer).organizer_id != organizers.login(first).organizer_id
    for typed in ("anna@kommun.example", "anna.berg@kommun.example", made[ISSUER, "s-1"].login):
        assert error_code(organizers.log_in, typed, accounts.NO_PASSWORD) == "wrong_login"


def test_nobody_can_take_the_name_of_a_single_sign_on_account(app: Flask) -> None:
    organizers = desk(app)
    organizers.log_in_sso(ISSUER, "s-1", "anna@kommun.example")
    (row,) = rows(app, models.Organizer)
    assert error_code(organizers.create, row.login.upper(), PASSWORD) == "username_taken"


def test_a_refused_person_gets_no_account(app: Flask) -> None:
    organizers = desk(app)
    refused = error_code(
        organizers.log_in_sso,
        ISSUER,
        "s-2",
        "eve@elsewhere.example",
        allowed_domains=("kommun.example",),
    )
    assert refused == "sso_domain"
    assert rows(app, models.Organizer) == []
    assert error_code(organizers.log_in_sso, ISSUER, "", "a@kommun.example") == "sso_no_subject"
    assert error_code(organizers.log_in_sso, ISSUER, "x" * 256, None) == "sso_no_subject"


def test_a_log_in_ends_the_login_the_browser_had(app: Flask) -> None:
    organizers = desk(app)
    organizers.create("kommun@example.se", PASSWORD)
    earlier = organizers.log_in("kommun@example.se", PASSWORD)
    token = organizers.log_in_sso(ISSUER, "s-1", "anna@kommun.example", replacing=earlier)
    assert token != earlier
    assert organizers.login(earlier) is None and organizers.login(token) is not None


def test_the_password_log_in_can_be_switched_off(make_app: Any) -> None:
    app = make_app(
        PASSWORD_LOGIN=False,
        OIDC_DISCOVERY_URL="http://127.0.0.1:9/.well-known/openid-configuration",
        OIDC_CLIENT_ID="samsyn",
    )
    client = english(app)
    assert client.get("/setup").status_code == 404
    page = client.get("/login").get_data(as_text=True)
    assert 'id="sso-login"' in page and 'name="password"' not in page
    desk(app).create("kommun@example.se", PASSWORD)
    refused = client.post("/login", data={"username": "kommun@example.se", "password": PASSWORD})
    assert refused.status_code == 403
    assert client.get("/organizer").status_code == 303  # not logged in


def test_the_switch_reads_on_and_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in (("off", False), ("No", False), ("0", False), ("on", True), ("", True)):
        monkeypatch.setenv("PASSWORD_LOGIN", value)
        assert config.Config().PASSWORD_LOGIN is expected
    monkeypatch.setenv("PASSWORD_LOGIN", "maybe")
    with pytest.raises(ValueError, match="PASSWORD_LOGIN"):
        config.Config()


def test_without_settings_there_is_no_single_sign_on(app: Flask) -> None:
    client = english(app)
    assert client.get("/login/sso").status_code == 404
    assert client.get("/login/sso/callback?code=x&state=y").status_code == 404
    assert 'id="sso-login"' not in client.get("/login").get_data(as_text=True)


def test_a_provider_that_cannot_be_reached_gets_a_clear_page_and_passwords_still_work(
    make_app: Any,
) -> None:
    # A closed port on loopback: the connection is refused, as by a provider that is down.
    closed = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    app = make_app(OIDC_DISCOVERY_URL=closed, OIDC_CLIENT_ID="samsyn", OIDC_TIMEOUT=2.0)
    client = english(app)
    page = client.get("/login")
    assert 'id="sso-login"' in page.get_data(as_text=True)
    unreachable = client.get("/login/sso")
    assert unreachable.status_code == 503
    assert "cannot be reached" in unreachable.get_data(as_text=True)
    desk(app).create("kommun@example.se", PASSWORD)
    logged_in = client.post("/login", data={"username": "kommun@example.se", "password": PASSWORD})
    assert logged_in.status_code == 303
    assert client.get("/organizer").status_code == 200
    # Logging out of a password login never asks the provider.
    out = client.post("/logout")
    assert out.status_code == 303 and "/login" in out.headers["Location"]


def test_an_answer_the_browser_did_not_ask_for_is_refused(make_app: Any) -> None:
    """A callback without the state this browser was given (a forged or replayed answer)
    logs nobody in, and says so plainly."""
    closed = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    app = make_app(OIDC_DISCOVERY_URL=closed, OIDC_CLIENT_ID="samsyn")
    client = english(app)
    answer = client.get("/login/sso/callback?code=stolen&state=made-up")
    assert answer.status_code == 400
    assert "did not complete" in answer.get_data(as_text=True)
    assert rows(app, models.Organizer) == []
    denied = client.get("/login/sso/callback?error=access_denied&state=made-up")
    assert denied.status_code == 400


def logged_in(app: Flask, email: str = "anna@kommun.example") -> Any:
    """A browser logged into a single sign-on account (as the callback leaves it)."""
    token = desk(app).log_in_sso(ISSUER, "s-" + email, email)
    client = english(app)
    with client.session_transaction() as cookie:
        cookie["o"] = token
    return client


def test_an_account_without_a_password_has_no_password_page(app: Flask) -> None:
    client = logged_in(app)
    home = client.get("/organizer").get_data(as_text=True)
    assert "anna@kommun.example" in home and "/organizer/password" not in home
    assert client.get("/organizer/password").status_code == 404
    assert "/organizer/password" in Organizer(app).http.get("/organizer").get_data(as_text=True)


def test_an_account_without_a_password_is_deleted_after_a_fresh_log_in(app: Flask) -> None:
    client = logged_in(app)
    db = app.extensions["samsyn"].db
    with db.write() as s:
        for row in s.query(models.OrganizerSession):
            row.created_at -= accounts.FRESH + timedelta(minutes=1)
            row.last_seen_at = models.utcnow()
    page = client.get("/organizer/delete").get_data(as_text=True)
    assert "/login/sso?next=/organizer/delete" in page and 'name="password"' not in page
    stale = client.post("/organizer/delete", data={"password": ""})
    assert stale.status_code == 400 and "Log in again" in stale.get_data(as_text=True)
    assert len(rows(app, models.Organizer)) == 1
    fresh = logged_in(app)  # the same person, logged in again just now
    assert fresh.post("/organizer/delete", data={}).status_code == 200
    assert rows(app, models.Organizer) == [] and rows(app, models.OrganizerSession) == []


def test_the_command_line_finds_a_single_sign_on_account_by_its_e_mail(app: Flask) -> None:
    logged_in(app, "Anna@Kommun.example")
    (row,) = rows(app, models.Organizer)
    assert desk(app).find("anna@kommun.example") == row.id


def test_with_passwords_off_an_invitation_makes_no_password_account(make_app: Any) -> None:
    app = make_app(PASSWORD_LOGIN=False)
    owner = logged_in(app)
    series = owner.post("/series", data={"title": "Strategi", "language": "sv", "template": "none"})
    found = re.search(r"/series/(\d+)", series.headers["Location"])
    assert found, series.headers["Location"]
    series_id = int(found.group(1))
    page = owner.post(
        f"/series/{series_id}/do/series.invite", data={"command_id": "invite-1"}
    ).get_data(as_text=True)
    link = page.split('class="secret-link" readonly value="')[1].split('"')[0]
    path = "/invite/" + link.rsplit("/invite/", 1)[1]
    guest = english(app)
    offer = guest.get(path).get_data(as_text=True)
    assert "Strategi" in offer and 'name="password"' not in offer
    made = guest.post(path, data={"username": "gäst", "password": PASSWORD, "password2": PASSWORD})
    assert made.status_code == 400 and "through your organisation" in made.get_data(as_text=True)
    assert len(rows(app, models.Organizer)) == 1
    # Logged in through the provider, the same link is taken up.
    accepted = logged_in(app, "bo@kommun.example").post(path)
    assert accepted.status_code == 303 and accepted.headers["Location"].endswith(
        f"/series/{series_id}"
    )


def test_a_password_log_in_drops_the_mark_that_logging_out_goes_to_the_provider(
    make_app: Any,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    app = make_app(OIDC_DISCOVERY_URL=closed, OIDC_CLIENT_ID="samsyn")
    client = logged_in(app)
    with client.session_transaction() as cookie:
        cookie["os"] = True  # as the callback leaves it
    desk(app).create("kommun@example.se", PASSWORD)
    client.post("/login", data={"username": "kommun@example.se", "password": PASSWORD})
    with client.session_transaction() as cookie:
        assert "o" in cookie and "os" not in cookie


@pytest.mark.parametrize(
    ("claim", "read"),
    [(True, True), (False, False), ("true", True), ("False", False), ("yes", None), (None, None)],
)
def test_email_verified_is_read_as_providers_send_it(claim: Any, read: bool | None) -> None:
    assert sso._boolean(claim) is read
