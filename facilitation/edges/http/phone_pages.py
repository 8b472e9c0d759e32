"""The phone page as lately rendered: a room joining at once shares one rendering.

Layer: edge (HTTP); imports cachetools and the use cases' `Change`. Hundreds of phones a
second open the same join link when a room scans the QR code together; each page costs a
database lookup and a rendering of about a hundred translated strings, which is most of
what joining costs the server. `views.join` gives the page rendered for the same path and
language choice again for up to PAGE_SECONDS, and this process drops a workshop's pages as
soon as a change of it is published here (a rename, a deletion), people joining aside. A
change made through another process shows on new pages at most PAGE_SECONDS later; the
phone's socket, which asks the database, is refused if the workshop is gone.

One request makes a missing page while the others asking for it at that moment wait for
it: a server already behind would otherwise look up and render the page once for every
phone that arrived while the first was being made. A kept page also keeps its compressed
bodies (`CompressedPages`), one per encoding: compressing it for every phone cost more than
anything else left in serving it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from cachetools import TTLCache
from flask import g

from facilitation.usecases import Change, SeriesChange

PAGE_SECONDS = 1.0
# Pages kept at most: one per workshop joined at once, and language chosen.
SIZE = 256
# How long a request waits for another to make the page it needs, before making its own.
WAIT = 5.0

Other = TypeVar("Other")


@dataclass(frozen=True)
class Page:
    html: str
    language: str
    workshop_id: int
    # Its body as compressed for each encoding, by flask-compress's cache key (see
    # `CompressedPages`); dropped with the page.
    compressed: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


class CompressedPages:
    """flask-compress's cache (COMPRESS_CACHE_BACKEND): the body of the kept page this
    request answers with (`g.phone_page`, set by views.join) is compressed once per
    encoding and kept with the page; every other response is compressed afresh, as without
    a cache."""

    @staticmethod
    def key(_request: object) -> str:
        """COMPRESS_CACHE_KEY: flask-compress's key names the encoding; the page itself is
        the rest of it."""
        return ""

    def get(self, key: str) -> bytes | None:
        page: Page | None = g.get("phone_page")
        return None if page is None else page.compressed.get(key)

    def set(self, key: str, value: bytes) -> None:
        page: Page | None = g.get("phone_page")
        if page is not None:
            page.compressed[key] = value


class PhonePages:
    """Pages by (path, language chosen in the cookie), each for PAGE_SECONDS at most."""

    def __init__(self, seconds: float = PAGE_SECONDS) -> None:
        self._pages: TTLCache[tuple[str, str | None], Page] = TTLCache(SIZE, seconds)
        self._making: dict[tuple[str, str | None], threading.Event] = {}
        # The threaded server the tests run needs it; under an event loop it is never held
        # across a switch.
        self._lock = threading.Lock()

    def page(
        self, path: str, language: str | None, make: Callable[[], Page | Other]
    ) -> Page | Other:
        """The page kept for this path and language choice, or `make()`'s: a Page is kept,
        anything else (a redirect) is only answered. Made by one request at a time."""
        key = (path, language)
        with self._lock:
            page = self._pages.get(key)
            making = self._making.get(key)
            if page is None and making is None:
                making = self._making[key] = threading.Event()
                mine = True
            else:
                mine = False
        if page is not None:
            return page
        assert making is not None
        if not mine:
            making.wait(WAIT)
            with self._lock:
                page = self._pages.get(key)
            return page if page is not None else make()  # the maker failed: make our own
        try:
            made = make()
            if isinstance(made, Page):
                with self._lock:
                    self._pages[key] = made
            return made
        finally:
            with self._lock:
                del self._making[key]
            making.set()

    def publish(self, change: Change) -> None:
        """A change was committed in this process: the pages of its workshops are made
        afresh (people joining change nothing the page shows)."""
        if change.joined:
            return
        changed = {change.workshop_id}
        if isinstance(change, SeriesChange):  # the evidence shown beside factors
            changed |= change.workshop_ids
        with self._lock:
            for key in [k for k, page in self._pages.items() if page.workshop_id in changed]:
                del self._pages[key]
