"""Single sign-on in a real browser (Debian's Chromium, driven by Playwright) against the real
OpenID provider of test_single_sign_on.py: the log-in page with the organisation's button,
the provider's own pages, and the page of a refused person, each checked with axe-core."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import Server, audit, expect_text
from .test_single_sign_on import ALLOWED, Provider, provider_and_app

__all__ = ["provider_and_app"]  # the fixture, shared with the requests-driven tests

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def through_the_provider(page: Any, account: str) -> None:
    """Fill in the provider's log-in page as `account`, then consent, as a person would."""
    page.wait_for_url("**/interaction/**")
    page.fill('input[name="login"]', account)
    page.fill('input[name="password"]', "any")
    page.click('button[type="submit"]')
    page.wait_for_load_state()
    if urlsplit(page.url).path.startswith("/interaction/"):  # the consent page
        page.click('button[type="submit"]')


def test_logging_in_through_the_provider_and_being_refused_in_a_browser(
    browser: Any, provider_and_app: tuple[Provider, Server]
) -> None:
    _, server = provider_and_app
    context = browser.new_context(locale="sv")
    page = context.new_page()
    page.goto(f"{server.url}/login")
    audit(page, "sso-login")
    page.click("#sso-login")
    through_the_provider(page, f"cecilia@{ALLOWED}")
    page.wait_for_url(f"{server.url}/organizer")
    expect_text(page, ".account-name", f"cecilia@{ALLOWED}")
    context.close()

    stranger = browser.new_context(locale="sv").new_page()
    stranger.goto(f"{server.url}/login")
    stranger.click("#sso-login")
    through_the_provider(stranger, "eve@elsewhere.example")
    stranger.wait_for_url("**/login/sso/callback**")
    expect_text(stranger, "#sso-reason", "elsewhere.example")
    audit(stranger, "sso-refused")
    stranger.context.close()
