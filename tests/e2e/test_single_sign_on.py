"""Single sign-on for organizers against a real OpenID provider (issue #19): the certified
`oidc-provider` package run by node on loopback (tests/oidc/provider.mjs), never a mock of
the protocol. A browser (a requests session that follows redirects and fills in the
provider's log-in and consent forms, as a person would) logs an organizer in through it,
makes a series and a workshop, and logs out; a person at a domain not on the allow-list is
refused with a page saying why.

Skipped without node or the package (`make install-dev` installs it); under CI=true it runs.
"""

from __future__ import annotations

import html
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from conftest import unavailable

from bench.process import free_port

from .conftest import ASYNC_MODES, Clients, Server, running
from .organizing import Browser

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = ROOT / "tests" / "oidc"
CLIENT_ID = "samsyn-test"
CLIENT_SECRET = secrets.token_urlsafe(24)
ALLOWED = "kommun.example"


class Provider:
    """`oidc-provider` on a free loopback port, with this app registered as its client."""

    def __init__(self, app_url: str) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                shutil.which("node") or "node",
                str(PROVIDER_DIR / "provider.mjs"),
                str(self.port),
                CLIENT_ID,
                CLIENT_SECRET,
                f"{app_url}/login/sso/callback",
                f"{app_url}/login/sso/logged-out",
            ],
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until it listens, or exits
        assert line.startswith("ready"), f"the provider did not start: {line!r}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _provider_available() -> None:
    if shutil.which("node") is None:
        unavailable("node")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        unavailable("the npm package oidc-provider (tests/oidc, `make install-dev`)")


@pytest.fixture
def provider_and_app(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Provider, Server]]:
    """The provider, and a Samsyn server (eventlet, unless the test asks for another mode:
    the calls to the provider run on the event loop) that logs organizers in through it,
    only those with an e-mail address at kommun.example."""
    _provider_available()
    server = Server(getattr(request, "param", "eventlet"), tmp_path)
    provider = Provider(server.url)
    try:
        server.env.update(
            {
                "OIDC_DISCOVERY_URL": f"{provider.issuer}/.well-known/openid-configuration",
                "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": CLIENT_SECRET,
                "OIDC_BUTTON_LABEL": "Logga in med kommunens konto",
                "OIDC_ALLOWED_DOMAINS": ALLOWED,
            }
        )
        with running(request, server):
            yield provider, server
    finally:
        provider.stop()


def _form(page: requests.Response) -> tuple[str, dict[str, str]]:
    """The first form on a page: where it posts, and its hidden fields."""
    found = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert found, (page.url, page.status_code, page.text[:1000])
    fields = dict(
        re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
    )
    return urljoin(page.url, html.unescape(found.group(1))), fields


def sso_log_in(http: requests.Session, app_url: str, account: str) -> requests.Response:
    """Press the log-in page's button, log in at the provider as `account` and consent;
    the page the browser lands on back at Samsyn."""
    login_page = http.get(f"{app_url}/login", timeout=10)
    button = re.search(r'id="sso-login" href="([^"]+)"', login_page.text)
    assert button, login_page.text[:2000]
    assert "Logga in med kommunens konto" in login_page.text
    at_provider = http.get(urljoin(app_url, html.unescape(button.group(1))), timeout=20)
    assert urlsplit(at_provider.url).path.startswith("/interaction/"), at_provider.url
    action, fields = _form(at_provider)
    consent = http.post(action, data={**fields, "login": account, "password": "any"}, timeout=20)
    if urlsplit(consent.url).path.startswith("/interaction/"):  # the consent page
        action, fields = _form(consent)
        return http.post(action, data=fields, timeout=20)
    return consent


@pytest.mark.parametrize("provider_and_app", ASYNC_MODES, indirect=True)
def test_an_organizer_logs_in_through_the_provider_works_and_logs_out(
    provider_and_app: tuple[Provider, Server],
) -> None:
    provider, server = provider_and_app
    browser = Browser(Clients(server))
    landed = sso_log_in(browser.http, server.url, f"anna@{ALLOWED}")
    assert landed.status_code == 200 and urlsplit(landed.url).path == "/organizer", landed.url
    assert f"anna@{ALLOWED}" in landed.text  # the account, named by the provider's e-mail

    series_id = browser.series("Näringslivsstrategi 2030")
    code = browser.workshop(series_id, "Företagare")
    console = browser.http.get(f"{server.url}/console/{code}", timeout=10)
    assert console.status_code == 200, console.text[:500]

    # Logging out ends the Samsyn login, then goes on to the provider's end of session.
    out = browser.post("/logout", form="/organizer")
    target = out.headers["Location"]
    assert target.startswith(f"{provider.issuer}/session/end"), target
    query = parse_qs(urlsplit(target).query)
    assert query["post_logout_redirect_uri"] == [f"{server.url}/login/sso/logged-out"]
    assert query["client_id"] == [CLIENT_ID]
    ended = browser.http.get(f"{server.url}/organizer", allow_redirects=False, timeout=10)
    assert ended.status_code == 303 and "/login" in ended.headers["Location"]
    # The provider's own log-out page confirms, and sends the browser back to Samsyn.
    confirm = browser.http.get(target, timeout=10)
    action, fields = _form(confirm)
    back = browser.http.post(action, data={**fields, "logout": "yes"}, timeout=20)
    assert urlsplit(back.url).path == "/login" and "out=1" in back.url, back.url

    # The same person logging in again gets the same account, with their series.
    again = sso_log_in(browser.http, server.url, f"anna@{ALLOWED}")
    assert urlsplit(again.url).path == "/organizer" and "Näringslivsstrategi 2030" in again.text


def test_a_person_at_a_domain_not_on_the_allow_list_is_refused_with_a_clear_page(
    provider_and_app: tuple[Provider, Server],
) -> None:
    _, server = provider_and_app
    http = requests.Session()
    refused = sso_log_in(http, server.url, "eve@elsewhere.example")
    assert refused.status_code == 403, refused.text[:1000]
    assert urlsplit(refused.url).path == "/login/sso/callback"
    reason = re.search(r'id="sso-reason"[^>]*>([^<]+)<', refused.text)
    assert reason and "elsewhere.example" in reason.group(1), refused.text[:2000]
    assert "Traceback" not in refused.text
    # Not logged in, and no account was made.
    home = http.get(f"{server.url}/organizer", allow_redirects=False, timeout=10)
    assert home.status_code == 303


def test_log_ins_started_and_never_finished_do_not_grow_the_cookie(
    provider_and_app: tuple[Provider, Server],
) -> None:
    """Each press of the button leaves its state (nonce, PKCE verifier) in the signed cookie;
    a person pressing it again and again must not push the cookie past the 4 KB browsers
    keep (they would drop it, and with it every workshop this browser is in), and the last
    try still logs them in."""
    _, server = provider_and_app
    http = requests.Session()
    for _ in range(30):
        started = http.get(f"{server.url}/login/sso", allow_redirects=False, timeout=10)
        assert started.status_code == 302, started.text[:500]
    cookie = http.cookies.get("samsyn")
    assert cookie is not None and len(cookie) < 1024, len(cookie or "")
    landed = sso_log_in(http, server.url, f"bo@{ALLOWED}")
    assert urlsplit(landed.url).path == "/organizer", landed.url


def test_logging_in_again_to_delete_the_account_asks_the_provider_for_the_password_again(
    provider_and_app: tuple[Provider, Server],
) -> None:
    """Deleting an account from single sign-on is confirmed by a fresh log-in. The provider's
    own session still lives, so without `prompt=login` it would send the browser straight
    back and the confirmation would confirm nothing; with it, the provider asks again."""
    _, server = provider_and_app
    browser = Browser(Clients(server))
    landed = sso_log_in(browser.http, server.url, f"anna@{ALLOWED}")
    assert urlsplit(landed.url).path == "/organizer", landed.url
    browser.series("Att radera")
    again = browser.http.get(
        f"{server.url}/login/sso", params={"again": "1", "next": "/organizer/delete"}, timeout=20
    )
    assert urlsplit(again.url).path.startswith("/interaction/"), again.url
    action, fields = _form(again)
    assert 'name="login"' in again.text  # the provider's log-in form, not a way straight back
    back = browser.http.post(
        action, data={**fields, "login": f"anna@{ALLOWED}", "password": "any"}, timeout=20
    )
    assert urlsplit(back.url).path == "/organizer/delete", back.url
    browser.post("/organizer/delete", status=200, form="/organizer/delete")
    gone = browser.http.get(f"{server.url}/organizer", allow_redirects=False, timeout=10)
    assert gone.status_code == 303
    # The same person logging in later gets a new, empty account.
    fresh = sso_log_in(requests.Session(), server.url, f"anna@{ALLOWED}")
    assert urlsplit(fresh.url).path == "/organizer" and "Att radera" not in fresh.text


def test_a_password_login_after_a_single_sign_on_one_logs_out_at_samsyn_only(
    provider_and_app: tuple[Provider, Server],
) -> None:
    """The mark that sends a logout on to the provider belongs to the login made through it:
    a password login the same browser makes afterwards logs out here, and stays here."""
    _, server = provider_and_app
    browser = Browser(Clients(server))
    browser.first_account("kommun@example.se")
    browser.post("/logout", form="/organizer")
    landed = sso_log_in(browser.http, server.url, f"cecilia@{ALLOWED}")
    assert urlsplit(landed.url).path == "/organizer", landed.url
    browser.log_in("kommun@example.se")  # over the single sign-on login, without logging out
    out = browser.post("/logout", form="/organizer")
    assert urlsplit(out.headers["Location"]).netloc in ("", urlsplit(server.url).netloc)
    assert urlsplit(out.headers["Location"]).path == "/login", out.headers["Location"]


def test_an_address_the_provider_says_is_not_verified_is_refused_even_said_in_a_string(
    provider_and_app: tuple[Provider, Server],
) -> None:
    """Some providers send email_verified as the string "false": it is not taken for "not
    said", or anyone could let themselves in with an address at the allowed domain."""
    _, server = provider_and_app
    http = requests.Session()
    refused = sso_log_in(http, server.url, f"unverified.eve@{ALLOWED}")
    assert refused.status_code == 403, refused.text[:1000]
    reason = re.search(r'id="sso-reason"[^>]*>([^<]+)<', refused.text)
    # Swedish, the language of a browser that names none.
    assert reason and "inte är bekräftad" in reason.group(1), refused.text[:2000]
