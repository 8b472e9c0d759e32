"""The phone pages kept for a crowd joining at once (facilitation/edges/http/phone_pages.py):
made once while others wait, kept for a moment, dropped when their workshop changes, and
made again by one request while the others, and a busy database, get the page last made."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import NotFound

from facilitation.edges.http.phone_pages import Page, PhonePages
from facilitation.infrastructure.workers import Busy
from facilitation.usecases import Change, SeriesChange

PAGE = Page("<p>Workshop</p>", "sv", 7)


FRESH = Page("<p>Workshop, renamed</p>", "sv", 7)


def crowd(
    pages: PhonePages, make: Callable[[], object], people: int = 10
) -> tuple[list[object], list[threading.Thread]]:
    """`people` requests for the same page at once: each one's page, or its error."""
    answers: list[object] = []

    def request() -> None:
        try:
            answers.append(pages.page("/j/ABC", None, make))
        except (RuntimeError, Busy) as error:
            answers.append(error)

    threads = [threading.Thread(target=request) for _ in range(people)]
    for thread in threads:
        thread.start()
    return answers, threads


def let_the_first_finish(
    started: threading.Event, release: threading.Event, threads: list[threading.Thread]
) -> None:
    """Once the first request is making the page and the others have arrived meanwhile,
    let it finish, and wait for every request to end."""
    assert started.wait(5)
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join()


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
    let_the_first_finish(started, release, threads)
    assert made == [1]
    assert answers == [PAGE] * 10
    assert pages.page("/j/ABC", None, make) == PAGE and made == [1]  # kept
    assert pages.page("/j/ABC", "en", make) == PAGE and made == [1, 1]  # another language


def test_when_the_maker_fails_the_next_waiting_request_makes_it() -> None:
    """Not each of them: a crowd on a failing database would send it a lookup each."""
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
    let_the_first_finish(started, release, threads)
    # The first one's request failed; the next made the page, which the others were given.
    assert sorted(map(str, answers)) == sorted([str(PAGE)] * 3 + ["the database is away"])
    assert len(calls) == 2


def test_a_request_with_no_page_within_its_wait_is_answered_busy() -> None:
    pages = PhonePages(wait=0.2)
    calls: list[int] = []

    def make() -> Page:
        calls.append(1)
        time.sleep(0.6)
        raise RuntimeError("the database is away")

    answers, threads = crowd(pages, make, people=5)
    for thread in threads:
        thread.join()
    assert sum(isinstance(answer, Busy) for answer in answers) == 4
    assert len(calls) == 1  # the others gave up waiting; none asked the database


def test_while_a_page_is_made_again_the_others_are_given_the_one_last_made() -> None:
    pages = PhonePages(seconds=0.05)
    pages.page("/j/ABC", None, lambda: PAGE)
    time.sleep(0.1)
    started, release = threading.Event(), threading.Event()

    def make() -> Page:
        started.set()
        release.wait(5)
        return FRESH

    answers, threads = crowd(pages, make)
    assert started.wait(5)
    deadline = time.monotonic() + 5
    while len(answers) < 9 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert answers == [PAGE] * 9  # at once, while the new one is being made
    release.set()
    for thread in threads:
        thread.join()
    assert answers == [PAGE] * 9 + [FRESH]
    assert pages.page("/j/ABC", None, make) == FRESH


def test_a_busy_database_is_answered_with_the_page_last_made_for_a_while() -> None:
    pages = PhonePages(seconds=0.05, stale_seconds=0.3)
    pages.page("/j/ABC", None, lambda: PAGE)
    time.sleep(0.1)

    def busy() -> Page:
        raise PoolTimeout("every connection in use")

    assert pages.page("/j/ABC", None, busy) == PAGE
    time.sleep(0.3)
    with pytest.raises(PoolTimeout):
        pages.page("/j/ABC", None, busy)


def test_a_page_whose_workshop_is_gone_is_not_given_out_again() -> None:
    pages = PhonePages(seconds=0.05)
    pages.page("/j/ABC", None, lambda: PAGE)
    time.sleep(0.1)

    def gone() -> Page:
        raise NotFound()

    def busy() -> Page:
        raise PoolTimeout("every connection in use")

    with pytest.raises(NotFound):
        pages.page("/j/ABC", None, gone)
    with pytest.raises(PoolTimeout):  # nothing kept to answer with
        pages.page("/j/ABC", None, busy)


def test_an_answer_that_is_no_page_is_given_but_not_kept() -> None:
    pages = PhonePages()
    assert pages.page("/j/abc", None, lambda: "redirect") == "redirect"
    assert pages.page("/j/abc", None, lambda: PAGE) == PAGE


def test_who_waited_for_an_answer_that_is_no_page_makes_its_own_at_once() -> None:
    """A redirect cannot be shared, and those waiting for it do not take turns."""
    pages = PhonePages()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def make() -> str:
        calls.append(1)
        if len(calls) == 1:
            started.set()
            release.wait(5)
        return "redirect"

    answers, threads = crowd(pages, make, people=5)
    let_the_first_finish(started, release, threads)
    assert answers == ["redirect"] * 5 and len(calls) == 5


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
