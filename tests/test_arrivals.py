"""Phones connecting at once are looked up together (facilitation/usecases/arrivals.py), on
SQLite and (when reachable) PostgreSQL: one statement answers each phone of a crowd with
its own workshop and participant, and an error reaches every phone that waited for it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from facilitation.core.domain import DomainError, SeedFactor
from facilitation.usecases import Services, arrivals
from facilitation.usecases.arrivals import Arrival, Arrivals


def workshop(services: Services) -> str:
    code, _ = services.workshops.create(
        title="Omvärld", language="sv", categories=None, seeds=[SeedFactor("Klimat", "Miljö")]
    )
    return code


@pytest.fixture
def services(make_app: Any, database_url: str) -> Services:
    made: Services = make_app(database_url).extensions["samsyn"].services
    return made


def test_one_statement_answers_phones_of_several_workshops(services: Services) -> None:
    first, second = workshop(services), workshop(services)
    _, anna = services.workshops.join(first, "anna")
    second_id, bo = services.workshops.join(second, "bo")
    with services.db.read() as s:
        found = arrivals.look_up(
            s,
            [
                (first, "anna"),  # joined here
                (first, "bo"),  # joined, but elsewhere
                (second, "bo"),
                (second, "new"),
                ("NOSUCH", "anna"),
            ],
        )
    first_id = found[first, "anna"].workshop_id
    assert found == {
        (first, "anna"): Arrival(first_id, "prepare", False, anna),
        (first, "bo"): Arrival(first_id, "prepare", False, None),
        (second, "bo"): Arrival(second_id, "prepare", False, bo),
        (second, "new"): Arrival(second_id, "prepare", False, None),
    }


def gathered(
    services: Services, phones: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[Arrivals, list[list[tuple[str, str]]]]:
    """Arrivals whose first asker waits (in its pause) until `phones` have asked, and the
    keys of every lookup, as they are made."""
    lookups: list[list[tuple[str, str]]] = []
    made = Arrivals(services.db)

    def pause() -> None:
        deadline = time.monotonic() + 10
        while made._open is not None and len(made._open.keys) < phones:
            assert time.monotonic() < deadline, "the phones never all asked"
            time.sleep(0.001)

    made.pause = pause
    look_up = arrivals.look_up

    def recorded(s: Any, keys: Any) -> Any:
        lookups.append(sorted(keys))
        return look_up(s, keys)

    monkeypatch.setattr(arrivals, "look_up", recorded)
    return made, lookups


def test_phones_asking_at_once_share_one_lookup_and_get_their_own_answers(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = workshop(services)
    joined = {f"old{n}": services.workshops.join(code, f"old{n}")[1] for n in range(5)}
    made, lookups = gathered(services, 12, monkeypatch)
    tokens = [*joined, *(f"new{n}" for n in range(6)), "old0"]  # one phone twice (tabs)
    asking = [(code.lower(), token) for token in tokens]  # codes are read as typed
    asking.append(("NOSUCH", "old1"))
    answers: dict[int, Any] = {}

    def ask(number: int, key: tuple[str, str]) -> None:
        try:
            answers[number] = made.find(*key)
        except Exception as error:
            answers[number] = error

    threads = [threading.Thread(target=ask, args=item) for item in enumerate(asking)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(lookups) == 1 and len(lookups[0]) == 12  # 11 phones, and one wrong code
    for number, token in enumerate(tokens):
        assert answers[number].participant_id == joined.get(token), token
    assert isinstance(answers[len(tokens)], DomainError)


def test_an_error_of_the_shared_lookup_reaches_every_phone_that_waited(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = workshop(services)
    made, _ = gathered(services, 5, monkeypatch)

    def busy(*_: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("the database is busy"))

    monkeypatch.setattr(arrivals, "look_up", busy)
    errors: list[BaseException] = []

    def ask(token: str) -> None:
        try:
            made.find(code, token)
        except OperationalError as error:
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(f"p{n}",)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(errors) == 5
    # The next phone gathers anew, and is answered.
    monkeypatch.undo()
    made.pause = lambda: None
    assert made.find(code, "later").participant_id is None


def test_a_crowd_connecting_is_looked_up_in_fewer_statements_than_phones(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the use case: 30 phones connecting at once (the first asker waits until
    all have asked), all joined, in one lookup."""
    code = workshop(services)
    made, lookups = gathered(services, 30, monkeypatch)
    services.workshops.arrivals = made
    joined: list[int] = []
    threads = [
        threading.Thread(
            target=lambda n=n: joined.append(services.workshops.join(code, f"p{n}")[1])
        )
        for n in range(30)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(set(joined)) == 30
    assert [len(keys) for keys in lookups] == [30]
