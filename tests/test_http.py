"""Pages and the JSON API through Flask's test client: creating, joining, facilitator links,
QR codes, exports, languages, and the headers every response carries."""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from conftest import SEED, Room, _path, unavailable
from flask import template_rendered
from flask_compress import flask_compress
from PIL import Image
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from facilitation.core.domain import Role
from facilitation.edges.http import links
from facilitation.usecases import Actor


def create(client: Any, **body: Any) -> Any:
    return client.post("/api/workshops", json={**SEED, **body})


# --- JSON API -------------------------------------------------------------------------------


def test_api_creates_a_workshop_with_absolute_urls(client: Any) -> None:
    response = create(client)
    assert response.status_code == 201
    body = response.json
    assert re.fullmatch(r"[A-Z2-9]{6}", body["code"])
    for key in ("join_url", "board_url", "facilitator_url", "qr_svg_url", "qr_png_url"):
        assert body[key].startswith("http://samsyn.test/"), key
    assert body["join_url"] == f"http://samsyn.test/j/{body['code']}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": 5}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Ok", "language": "de"}, "language"),
        ({"title": "Ok", "categories": "Sociala"}, "categories"),
        ({"title": "Ok", "categories": ["A", "a"]}, None),
        ({"title": "Ok", "factors": [{"title": ""}]}, "factors.0.title"),
        (
            {"title": "Ok", "factors": [{"title": "a"}, {"title": "b", "description": "x" * 1001}]},
            "factors.1.description",
        ),
        ({"title": "Ok", "categories": ["x" * 61]}, "categories"),
        ({"title": "Ok", "factors": [{"name": "x"}]}, "factors.0.title"),
        ({"title": "Ok", "surprise": 1}, "surprise"),
        ({"language": "sv"}, "title"),
        ({"title": "Ok", "factors": [{"title": f"f{i}"} for i in range(501)]}, "factors"),
    ],
)
def test_api_refuses_bad_input_naming_the_field(client: Any, body: Any, field: str | None) -> None:
    response = client.post("/api/workshops", json=body)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] and error["message"]
    if field:
        assert error.get("field") == field


def test_api_answers_in_the_documented_order(client: Any) -> None:
    response = create(client)
    assert list(response.json)[:2] == ["code", "join_url"]


def test_api_errors_are_json_even_for_unknown_paths(client: Any) -> None:
    for response in (client.get("/api/workshops"), client.get("/api/nowhere")):
        assert response.status_code in (404, 405)
        assert response.is_json and response.json["error"]["code"].startswith("http_")


def test_api_needs_json(client: Any) -> None:
    response = client.post("/api/workshops", data={"title": "Form"})
    assert response.status_code == 415
    assert response.json["error"]["code"] == "json_required"
    response = client.post("/api/workshops", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    response = client.post("/api/workshops", data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_a_creation_password_guards_the_api_and_the_form(make_app: Any) -> None:
    client = make_app(CREATE_PASSWORD="hemligt").test_client()
    assert create(client).status_code == 401
    wrong = client.post("/api/workshops", json=SEED, headers={"Authorization": "Bearer fel"})
    assert wrong.status_code == 401
    right = client.post("/api/workshops", json=SEED, headers={"Authorization": "Bearer hemligt"})
    assert right.status_code == 201
    page = client.post("/workshops", data={"title": "Via formulär", "password": "fel"})
    assert page.status_code == 400
    assert "lösenord" in page.get_data(as_text=True).lower()


# --- Start page and creating by form --------------------------------------------------------


def test_the_start_page_offers_joining_and_creating(client: Any) -> None:
    response = client.get("/", headers={"Accept-Language": "sv"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="sv">' in html
    assert "Delta i en workshop" in html and "Skapa en workshop" in html
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_creating_by_form_lands_on_the_console(client: Any) -> None:
    response = client.post(
        "/workshops",
        data={
            "title": "Omvärldsanalys",
            "language": "sv",
            "category_set": "pestel",
            "factors": "Sociala: Urbanisering\nSocial: Åldrande befolkning\nKlimat",
        },
    )
    assert response.status_code == 303
    console = response.headers["Location"]
    assert re.fullmatch(r"/console/[A-Z2-9]{6}", console)
    page = client.get(console)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Omvärldsanalys" in html and "/f/" in html  # the facilitator link, to keep
    code = console.rsplit("/", 1)[1]
    record = client.get(f"/api/workshops/{code}/export.json").json
    placed = {f["title"]: f["category"] for f in record["factors"]}
    assert placed == {
        "Urbanisering": "Sociala",
        "Åldrande befolkning": "Sociala",
        "Klimat": "Övrigt",
    }


def test_creating_by_form_with_own_categories_and_errors(client: Any) -> None:
    response = client.post(
        "/workshops",
        data={
            "title": "SWOT",
            "language": "en",
            "category_set": "custom",
            "categories": "Strengths\nRisks",
            "factors": "Risks: Staff turnover",
        },
    )
    assert response.status_code == 303
    empty = client.post("/workshops", data={"title": " ", "language": "sv"})
    assert empty.status_code == 400
    assert "får inte vara tomt" in empty.get_data(as_text=True)
    assert client.post("/workshops", data={"title": "x", "language": "xx"}).status_code == 400
    odd = client.post("/workshops", data={"title": "x", "category_set": "odd"})
    assert odd.status_code == 400


def test_forms_need_a_csrf_token(make_app: Any) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert client.post("/workshops", data={"title": "Utan token"}).status_code == 400
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    response = client.post("/workshops", data={"title": "Med token", "csrf_token": token})
    assert response.status_code == 303
    # The JSON API needs no token: browsers cannot send JSON across sites without CORS.
    assert create(client).status_code == 201


# --- Joining --------------------------------------------------------------------------------


def test_joining_by_code_forgives_case_and_spaces(client: Any) -> None:
    code = create(client).json["code"]
    typed = f" {code[:3].lower()} {code[3:].lower()} "
    response = client.post("/join", data={"code": typed})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/j/{code}"
    assert client.get(f"/j/{code.lower()}").status_code == 301
    missing = client.post("/join", data={"code": "ZZZZZZ"})
    assert missing.status_code == 404
    assert "Det finns ingen workshop med den koden" in missing.get_data(as_text=True)


def test_the_join_page_sets_a_participant_cookie_without_an_account(app: Any) -> None:
    code = create(app.test_client()).json["code"]
    phone = app.test_client()
    response = phone.get(f"/j/{code}")
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = response.get_data(as_text=True)
    assert '<html lang="sv">' in html
    assert 'id="connection" role="status"' in html
    assert phone.get("/j/NOSUCH").status_code == 404


def test_a_crowd_joining_at_once_shares_one_rendering_of_the_phone_page(app: Any) -> None:
    """Hundreds of phones a second open the same join link: the page is looked up and
    rendered once a moment (phone_pages.py), each phone still gets a cookie of its own, a
    language chosen in the cookie gets its own page, and a change of the workshop made
    here shows on the next page at once (people joining are no change to it)."""
    made = create(app.test_client()).json
    code, secret = made["code"], made["facilitator_url"].rsplit("/", 1)[1]
    workshops = app.extensions["samsyn"].services.workshops
    rendered: list[str] = []

    def count(_app: Any, template: Any, context: Any, **_: Any) -> None:
        rendered.append(template.name)

    phones = [app.test_client() for _ in range(5)]
    with template_rendered.connected_to(count, app):
        answers = [phone.get(f"/j/{code}") for phone in phones]
        assert rendered.count("phone.html") == 1
        assert len({a.headers["Set-Cookie"] for a in answers}) == 5
        assert len({a.get_data() for a in answers}) == 1
        english = app.test_client()
        english.get("/language/en")
        page = english.get(f"/j/{code}").get_data(as_text=True)
        assert rendered.count("phone.html") == 2 and '<html lang="en">' in page
        workshops.join(code, "someone")
        phones[0].get(f"/j/{code}")
        assert rendered.count("phone.html") == 2
        facilitator = Actor(Role.FACILITATOR, code, secret=secret)
        command = {"command_id": "rename", "title": "Nytt namn"}
        assert workshops.execute(facilitator, "workshop.configure", command)["ok"]
        assert "Nytt namn" in phones[0].get(f"/j/{code}").get_data(as_text=True)
        assert rendered.count("phone.html") == 3


def test_a_kept_phone_page_is_compressed_once_for_each_encoding(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compressing the page for every phone of a crowd cost more than anything else left in
    serving it: a kept page keeps its compressed bodies (phone_pages.CompressedPages); any
    other response is compressed each time, and a page made afresh after a change is
    compressed afresh."""
    compressed: list[str] = []
    compress = flask_compress._compress_data

    def counted(app: Any, data: bytes, algorithm: str) -> bytes:
        compressed.append(algorithm)
        return compress(app, data, algorithm)  # type: ignore[no-any-return]

    monkeypatch.setattr(flask_compress, "_compress_data", counted)
    made = create(app.test_client()).json
    code, secret = made["code"], made["facilitator_url"].rsplit("/", 1)[1]

    def page(encoding: str) -> str:
        response = app.test_client().get(f"/j/{code}", headers={"Accept-Encoding": encoding})
        assert response.headers["Content-Encoding"] == encoding
        body = response.get_data()
        return (gzip.decompress(body) if encoding == "gzip" else zlib.decompress(body)).decode()

    first = page("gzip")
    assert [page("gzip") for _ in range(3)] == [first] * 3 and compressed == ["gzip"]
    assert page("deflate") == first and compressed == ["gzip", "deflate"]
    compressed.clear()
    for _ in range(2):
        home = app.test_client().get("/", headers={"Accept-Encoding": "gzip"})
        assert "<html" in gzip.decompress(home.get_data()).decode()
    assert compressed == ["gzip", "gzip"]
    facilitator = Actor(Role.FACILITATOR, code, secret=secret)
    command = {"command_id": "rename", "title": "Nytt namn"}
    assert app.extensions["samsyn"].services.workshops.execute(
        facilitator, "workshop.configure", command
    )["ok"]
    assert "Nytt namn" in page("gzip") and "Nytt namn" not in first


@pytest.mark.parametrize(
    "trouble",
    [
        PoolTimeout("QueuePool limit of size 15 overflow 0 reached"),
        OperationalError("SELECT 1", {}, Exception("connection refused")),
    ],
)
def test_a_page_the_database_is_too_busy_for_says_so_and_tries_again(
    app: Any, monkeypatch: pytest.MonkeyPatch, trouble: Exception
) -> None:
    """A crowd joining faster than the process serves it (every connection in use), or the
    database out of reach: 503 with Retry-After, a page that loads again by itself, and JSON
    for the API — not a bare 500."""
    code = create(app.test_client()).json["code"]

    def busy(*_: Any, **__: Any) -> Any:
        raise trouble

    monkeypatch.setattr(app.extensions["samsyn"].services.workshops, "find_workshop", busy)
    response = app.test_client().get(f"/j/{code}")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    html = response.get_data(as_text=True)
    assert 'data-retry-after="5"' in html and "js/retry.js" in html
    assert "Set-Cookie" not in response.headers
    monkeypatch.setattr(app.extensions["samsyn"].services.workshops, "create", busy)
    api = create(app.test_client())
    assert api.status_code == 503 and api.json["error"]["code"] == "http_503"


# --- Facilitator access ---------------------------------------------------------------------


def test_the_facilitator_link_sets_the_cookie_and_leaves_the_url(app: Any) -> None:
    created = create(app.test_client()).json
    browser = app.test_client()
    assert browser.get(f"/console/{created['code']}").status_code == 403
    assert browser.get(f"/board/{created['code']}").status_code == 403
    response = browser.get(_path(created["facilitator_url"]))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/console/{created['code']}"
    assert browser.get(f"/console/{created['code']}").status_code == 200
    board = browser.get(f"/board/{created['code']}")
    assert board.status_code == 200
    html = board.get_data(as_text=True)
    assert created["code"] in html and "samsyn.test/j/" in html  # text alternative to the QR
    to_board = app.test_client().get(_path(created["facilitator_url"]) + "?to=board")
    assert to_board.headers["Location"] == f"/board/{created['code']}"


def test_a_wrong_secret_or_another_workshops_secret_is_refused(app: Any) -> None:
    first = create(app.test_client()).json
    second = create(app.test_client()).json
    browser = app.test_client()
    assert browser.get(f"/f/{first['code']}/not-the-secret").status_code == 403
    secret = second["facilitator_url"].rsplit("/", 1)[1]
    assert browser.get(f"/f/{first['code']}/{secret}").status_code == 403
    browser.get(_path(second["facilitator_url"]))
    assert browser.get(f"/console/{first['code']}").status_code == 403


def test_the_secret_never_reaches_the_log(app: Any, caplog: Any) -> None:
    created = create(app.test_client()).json
    secret = created["facilitator_url"].rsplit("/", 1)[1]
    caplog.set_level("DEBUG")
    app.test_client().get(_path(created["facilitator_url"]))
    assert "/f/<code>/<secret>" in caplog.text
    assert secret not in caplog.text


# --- QR codes -------------------------------------------------------------------------------


def test_the_qr_code_decodes_to_the_join_url(client: Any) -> None:
    created = create(client).json
    png = client.get(_path(created["qr_png_url"]))
    assert png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [d.text for d in decoded] == [created["join_url"]]
    svg = client.get(_path(created["qr_svg_url"]))
    assert svg.mimetype == "image/svg+xml"
    assert svg.data.startswith(b"<svg") and b"<path" in svg.data
    download = client.get(_path(created["qr_png_url"]) + "?download=1")
    assert "attachment" in download.headers["Content-Disposition"]


def test_the_join_url_never_names_localhost_when_the_lan_is_there(
    make_app: Any, monkeypatch: Any
) -> None:
    client = make_app(PUBLIC_URL=None, PORT=5000, PROXY_HOPS=1).test_client()
    monkeypatch.setattr(links, "lan_address", lambda: "192.168.1.23")
    body = client.post("/api/workshops", json=SEED, base_url="http://localhost:5000").json
    assert body["join_url"] == f"http://192.168.1.23:5000/j/{body['code']}"
    # A real host name the facilitator used is kept: phones can reach it too.
    named = client.post("/api/workshops", json=SEED, base_url="http://samsyn.kommun.se").json
    assert named["join_url"].startswith("http://samsyn.kommun.se/j/")
    # Behind a trusted proxy (PROXY_HOPS=1), X-Forwarded-* decide.
    proxied = client.post(
        "/api/workshops",
        json=SEED,
        base_url="http://127.0.0.1:5000",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "workshop.example.se"},
    ).json
    assert proxied["join_url"].startswith("https://workshop.example.se/j/")
    # Nothing but loopback: the console warns.
    monkeypatch.setattr(links, "lan_address", lambda: None)
    alone = client.post("/api/workshops", json=SEED, base_url="http://localhost:5000").json
    assert alone["join_url"].startswith("http://localhost:5000/j/")
    client.get(_path(alone["facilitator_url"]), base_url="http://localhost:5000")
    html = client.get(f"/console/{alone['code']}", base_url="http://localhost:5000")
    assert "Telefoner når inte den här adressen" in html.get_data(as_text=True)


# --- Exports --------------------------------------------------------------------------------


def test_exports_are_for_the_facilitator_only(room: Room) -> None:
    stranger = room.app.test_client()
    url = f"/api/workshops/{room.code}/export.json"
    assert stranger.get(url).status_code == 403
    participant, _ = room.phone()
    assert participant.get(url).status_code == 403
    secret = room.created["facilitator_url"].rsplit("/", 1)[1]
    assert stranger.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert room.facilitator_http.get(url).status_code == 200
    assert room.facilitator_http.get(f"/api/workshops/{room.code}/export.xml").status_code == 404
    assert stranger.get("/api/workshops/NOSUCH/export.csv").status_code == 404


def run_a_workshop(room: Room) -> dict[str, int]:
    phones = [room.phone()[1] for _ in range(4)]
    urban, old = room.factor("Urbanisering"), room.factor("Åldrande befolkning")
    skills = room.factor("Kompetensförsörjning")
    room.ok(room.console, "step.set", step="prune")
    prune = room.ok(room.console, "round.open", method="keep_remove")["round_id"]
    for i, phone in enumerate(phones):
        room.ok(
            phone,
            "ballot.submit",
            round_id=prune,
            entries={str(urban): "keep", str(skills): "remove" if i < 3 else "keep"},
        )
    room.ok(room.console, "round.close", round_id=prune)
    room.ok(room.console, "factor.remove", factor_id=skills, reason="Tre av fyra ville ta bort")
    room.ok(room.console, "step.set", step="prioritise")
    dots = room.ok(room.console, "round.open", method="dots", budget=3, cap=2)["round_id"]
    for phone in phones:
        room.ok(phone, "ballot.submit", round_id=dots, entries={str(urban): 2, str(old): 1})
    room.ok(room.console, "round.close", round_id=dots)
    return {"urban": urban, "old": old, "skills": skills}


def test_the_json_export_holds_rounds_and_no_personal_data(room: Room) -> None:
    ids = run_a_workshop(room)
    room.ok(room.phone()[1], "participant.rename", nickname="Anna Andersson")
    response = room.facilitator_http.get(f"/api/workshops/{room.code}/export.json")
    assert response.headers["Cache-Control"] == "no-store"
    document = response.json
    assert document["schema"] == "samsyn.workshop" and document["schema_version"] == 1
    assert [r["method"] for r in document["rounds"]] == ["keep_remove", "dots"]
    dots = {r["factor_id"]: r for r in document["rounds"][1]["factors"]}
    assert dots[ids["urban"]]["dots"] == 8
    assert document["workshop"]["participants"] == 5
    raw = json.dumps(document, ensure_ascii=False)
    secret = room.created["facilitator_url"].rsplit("/", 1)[1]
    assert "Anna Andersson" not in raw and secret not in raw and "token" not in raw


def test_a_person_can_switch_language(room: Room) -> None:
    phone, _ = room.phone()
    assert '<html lang="sv">' in phone.get(f"/j/{room.code}").get_data(as_text=True)
    response = phone.get(f"/language/en?next=/j/{room.code}")
    assert response.status_code == 303 and response.headers["Location"] == f"/j/{room.code}"
    html = phone.get(f"/j/{room.code}").get_data(as_text=True)
    assert '<html lang="en">' in html and "Is a factor missing?" in html
    for target in ["https://evil.example/", "//evil.example", "javascript:alert(1)"]:
        away = phone.get(f"/language/sv?next={target}")
        assert away.headers["Location"] == "/"


def test_every_page_carries_security_headers(room: Room) -> None:
    for path in ["/", f"/j/{room.code}", f"/console/{room.code}", "/nowhere"]:
        response = room.facilitator_http.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_pages_use_no_inline_script(room: Room) -> None:
    for path in ["/", f"/j/{room.code}", f"/console/{room.code}", f"/board/{room.code}"]:
        html = room.facilitator_http.get(path).get_data(as_text=True)
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        for attributes, body in scripts:
            assert "src=" in attributes or 'type="application/json"' in attributes, path
            assert "src=" not in attributes or not body.strip()


def test_the_socket_io_client_is_served_from_our_origin(client: Any) -> None:
    with client.get("/vendor/socket.io.esm.min.js") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/javascript"
        assert b"export" in response.data
    assert client.get("/vendor/../package.json").status_code == 404
    assert client.get("/vendor/socket.io.js").status_code == 404


def test_the_served_socket_io_client_is_the_one_npm_installs() -> None:
    """The client is kept in git under static/vendor/, so that a plain `pip install -r
    requirements.txt && python app.py` serves it too (before, without `make`, phones got a
    404 and never connected); it must be the very file of the version package.json pins."""
    root = Path(__file__).resolve().parent.parent
    pinned = json.loads((root / "package.json").read_text())["dependencies"]["socket.io-client"]
    kept = root / "static" / "vendor" / "socket.io.esm.min.js"
    assert f"Socket.IO v{pinned}\n" in kept.read_text()
    installed = root / "node_modules" / "socket.io-client" / "dist" / kept.name
    if not installed.is_file():
        unavailable("npm's socket.io-client (make install-dev)")
    assert kept.read_bytes() == installed.read_bytes(), "run `make vendor`"


def test_error_pages_are_friendly(client: Any) -> None:
    response = client.get("/console/NOSUCH")
    assert response.status_code == 404
    assert "Hittades inte" in response.get_data(as_text=True)
    assert client.get("/workshops").status_code == 405


def test_the_statement_pages_speak_both_languages(client: Any) -> None:
    for path, swedish, english in [
        ("/accessibility", "Tillgänglighetsredogörelse", "Accessibility statement"),
        ("/privacy", "Inga IP-adresser", "No IP addresses"),
    ]:
        assert swedish in client.get(path, headers={"Accept-Language": "sv"}).get_data(as_text=True)
        assert english in client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_the_phone_preview_is_the_facilitators(room: Room) -> None:
    page = room.facilitator_http.get(f"/preview/{room.code}")
    assert page.status_code == 200 and '"view": "preview"' in page.get_data(as_text=True)
    participant, _ = room.phone()
    assert participant.get(f"/preview/{room.code}").status_code == 403


def test_text_is_served_compressed(client: Any) -> None:
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    with client.get("/vendor/socket.io.esm.min.js", headers={"Accept-Encoding": "br"}) as js:
        assert js.headers["Content-Encoding"] == "br"
