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
phone that arrived while the first was being made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from cachetools import TTLCache

from facilitation.usecases import Change, SeriesChange

PAGE_SECONDS = 1.0
# Pages kept at most: one per workshop joined at once, and language chosen.
SIZE = 256
# How long a request waits for another to make the page it needs, before making its own.
WAIT = 5.0

Other = TypeVar("Other")


class Page(NamedTuple):
    html: str
    language: str
    workshop_id: int


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
