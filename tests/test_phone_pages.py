"""The phone pages kept for a crowd joining at once (facilitation/edges/http/phone_pages.py):
made once while others wait, kept for a moment, dropped when their workshop changes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from facilitation.edges.http.phone_pages import Page, PhonePages
from facilitation.usecases import Change, SeriesChange

PAGE = Page("<p>Workshop</p>", "sv", 7)


def crowd(
    pages: PhonePages, make: Callable[[], Page], people: int = 10
) -> tuple[list[object], list[threading.Thread]]:
    """`people` requests for the same page at once: each one's page, or its error."""
    answers: list[object] = []

    def request() -> None:
        try:
            answers.append(pages.page("/j/ABC", None, make))
        except RuntimeError as error:
            answers.append(error)

    threads = [threading.Thread(target=request) for _ in range(people)]
    for thread in threads:
        thread.start()
    return answers, threads


def test_a_missing_page_is_made_once_while_the_others_asking_wait_for_it() -> None:
    pages = PhonePages()
    made: list[int] = []
    started, release = threading.Event(), threading.Event()

    def make() -> Page:
        made.append(1)
        started.set()
        release.wait(5)
        return PAGE

    answers, threads = crowd(pages, make)
    assert started.wait(5)
    time.sleep(0.2)  # the others arrive while it is being made
    release.set()
    for thread in threads:
        thread.join()
    assert made == [1]
    assert answers == [PAGE] * 10
    assert pages.page("/j/ABC", None, make) == PAGE and made == [1]  # kept
    assert pages.page("/j/ABC", "en", make) == PAGE and made == [1, 1]  # another language


def test_when_the_maker_fails_each_waiting_request_makes_its_own() -> None:
    pages = PhonePages()
    calls: list[int] = []
    started, release = threading.Event(), threading.Event()

    def make() -> Page:
        calls.append(1)
        if len(calls) == 1:
            started.set()
            release.wait(5)
            raise RuntimeError("the database is away")
        return PAGE

    answers, threads = crowd(pages, make, people=4)
    assert started.wait(5)
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join()
    # The first one's request failed; the others were served.
    assert sorted(map(str, answers)) == sorted([str(PAGE)] * 3 + ["the database is away"])
    assert 2 <= len(calls) <= 4


def test_an_answer_that_is_no_page_is_given_but_not_kept() -> None:
    pages = PhonePages()
    assert pages.page("/j/abc", None, lambda: "redirect") == "redirect"
    assert pages.page("/j/abc", None, lambda: PAGE) == PAGE


@pytest.mark.parametrize(
    ("change", "kept"),
    [
        (Change(7, joined=True), True),  # someone joined: the page shows nothing of it
        (Change(8), True),  # another workshop
        (Change(7), False),  # renamed, deleted, its policy changed ...
        (SeriesChange(0, series_id=1, workshop_ids={7}), False),  # the evidence beside factors
    ],
)
def test_a_change_of_the_workshop_in_this_process_drops_its_pages(
    change: Change, kept: bool
) -> None:
    pages = PhonePages()
    pages.page("/j/ABC", None, lambda: PAGE)
    pages.publish(change)
    fresh = Page("<p>Renamed</p>", "sv", 7)
    assert pages.page("/j/ABC", None, lambda: fresh) == (PAGE if kept else fresh)


def test_pages_are_kept_for_a_moment_only() -> None:
    pages = PhonePages(seconds=0.05)
    pages.page("/j/ABC", None, lambda: PAGE)
    time.sleep(0.1)
    fresh = Page("<p>Later</p>", "sv", 7)
    assert pages.page("/j/ABC", None, lambda: fresh) == fresh
