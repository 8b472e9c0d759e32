"""The phone page as lately rendered: a room joining at once shares one rendering.

Layer: edge (HTTP); imports cachetools, the use cases' `Change` and what the database and
the workers call busy. Hundreds of phones a second open the same join link when a room
scans the QR code together; each page costs a database lookup and a rendering of about a
hundred translated strings, which is most of what joining costs the server. `views.join`
gives the page rendered for the same path and language choice again for up to
PAGE_SECONDS, and this process drops a workshop's pages as soon as a change of it is
published here (a rename, a deletion), people joining aside. A change made through another
process shows on new pages at most PAGE_SECONDS later (or, while the database is busy, up
to STALE_SECONDS later); the phone's socket, which asks the database, is refused if the
workshop is gone.

One request makes a page at a time. While it is made again, the others asking are given
the page last made at once; with none, they wait for it, and if its maker fails, the next
of them makes it. So a crowd never sends the database one lookup each: a server already
behind would otherwise look up and render the page for every phone that arrived while the
first was being made, and when the database is busy (its connections all in use by a
saturated process), every one of those lookups would wait for a connection in turn and
fail. A page that cannot be made because the database is busy is answered with the one
last made, up to STALE_SECONDS old; a request that has no page within WAIT is answered
busy (503 with Retry-After; the phone's page loads again by itself).

A kept page also keeps its compressed bodies (`CompressedPages`), one per encoding:
compressing it for every phone cost more than anything else left in serving it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from cachetools import LRUCache
from flask import g

from facilitation.infrastructure.db import BUSY
from facilitation.infrastructure.workers import Busy
from facilitation.usecases import Change, SeriesChange

PAGE_SECONDS = 1.0
# The oldest page given out while it is being made again, or cannot be made (the database
# busy).
STALE_SECONDS = 30.0
# Pages kept at most: one per workshop joined at once, and language chosen.
SIZE = 256
# How long a request with no page to give waits for one to be made, before it is answered
# busy.
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


class _Kept(NamedTuple):
    page: Page
    made: float  # time.monotonic()


@dataclass
class _Making:
    """A page being made, which the others asking for it wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    # Its maker's answer was no page (a redirect): each of the others makes its own.
    no_page: bool = False


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
    """Pages by (path, language chosen in the cookie): given out for PAGE_SECONDS, then
    made again by one request while the others get the page last made."""

    def __init__(
        self,
        seconds: float = PAGE_SECONDS,
        *,
        stale_seconds: float = STALE_SECONDS,
        wait: float = WAIT,
    ) -> None:
        self.seconds = seconds
        self.stale_seconds = stale_seconds
        self.wait = wait
        self._pages: LRUCache[tuple[str, str | None], _Kept] = LRUCache(SIZE)
        self._making: dict[tuple[str, str | None], _Making] = {}
        # The threaded server the tests run needs it; under an event loop it is never held
        # across a switch.
        self._lock = threading.Lock()

    def page(
        self, path: str, language: str | None, make: Callable[[], Page | Other]
    ) -> Page | Other:
        """The page kept for this path and language choice, or `make()`'s: a Page is kept,
        anything else (a redirect) is only answered. Made by one request at a time."""
        key = (path, language)
        deadline = time.monotonic() + self.wait
        while True:
            with self._lock:
                kept = self._pages.get(key)
                age = time.monotonic() - kept.made if kept is not None else math.inf
                if kept is not None and age < self.seconds:
                    return kept.page
                stale = kept.page if kept is not None and age < self.stale_seconds else None
                making = self._making.get(key)
                if making is None:
                    making = self._making[key] = _Making()
                    break  # this request makes it
            if stale is not None:
                return stale  # being made again by another request
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Busy()
            making.done.wait(remaining)  # then it is kept, or it failed: the next one makes it
            if making.no_page:
                return make()
        try:
            made = self._make(key, make, stale)
            making.no_page = not isinstance(made, Page)
            return made
        finally:
            with self._lock:
                del self._making[key]
            making.done.set()

    def _make(
        self, key: tuple[str, str | None], make: Callable[[], Page | Other], stale: Page | None
    ) -> Page | Other:
        try:
            made = make()
        except BUSY:
            if stale is not None:
                return stale
            raise
        except Exception:  # the workshop is gone, say: its page is not given out again
            with self._lock:
                self._pages.pop(key, None)
            raise
        if isinstance(made, Page):
            with self._lock:
                self._pages[key] = _Kept(made, time.monotonic())
        return made

    def publish(self, change: Change) -> None:
        """A change was committed in this process: the pages of its workshops are made
        afresh (people joining change nothing the page shows)."""
        if change.joined:
            return
        changed = {change.workshop_id}
        if isinstance(change, SeriesChange):  # the evidence beside factors
            changed |= change.workshop_ids
        with self._lock:
            for key in [k for k, kept in self._pages.items() if kept.page.workshop_id in changed]:
                del self._pages[key]
