"""The live side's one ticker (facilitation/edges/live/ticker.py): each job at its own
interval, in one task, outliving a job that fails."""

from __future__ import annotations

import pytest

from facilitation.edges.live.ticker import Ticker


class Clock:
    """A clock that moves only when told, and a sleep that moves it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.naps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(round(seconds, 6))
        self.now += seconds


def started(ticker: Ticker) -> list[object]:
    """Start the ticker without running its task (the tests drive it)."""
    tasks: list[object] = []
    ticker.start(tasks.append)
    return tasks


def test_each_job_runs_at_its_own_interval_the_first_time_one_interval_after_the_start() -> None:
    clock = Clock()
    ticker = Ticker(clock.sleep, clock)
    ran: list[tuple[str, float]] = []
    ticker.every(0.1, "fast", lambda now: ran.append(("fast", round(now - 100, 6))))
    ticker.every(0.25, "slow", lambda now: ran.append(("slow", round(now - 100, 6))))
    assert len(started(ticker)) == 1
    for moment in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
        clock.now = 100 + moment
        ticker.run_due()
    assert ran == [("fast", 0.1), ("fast", 0.2), ("slow", 0.25), ("fast", 0.3)]


def test_a_job_runs_again_one_interval_after_its_last_run_ended() -> None:
    """A run that took a moment is followed by the interval's rest."""
    clock = Clock()
    ticker = Ticker(clock.sleep, clock)
    ran: list[float] = []

    def quick(now: float) -> None:
        ran.append(round(now - 100, 6))
        clock.now += 0.01

    ticker.every(0.1, "quick", quick)
    started(ticker)
    clock.now = 100.1
    ticker.run_due()
    clock.now = 100.2  # 0.11 + 0.1 not yet
    ticker.run_due()
    clock.now = 100.21
    ticker.run_due()
    assert ran == [0.1, 0.21]


@pytest.mark.parametrize(
    ("took", "next_run"),
    [
        (0.05, 0.1 + 0.05 + 0.15),  # rests three times as long as it took
        (0.15, 0.1 + 0.15 + 0.45),
        (0.3, 0.1 + 0.3 + 0.5),  # at most half a second
    ],
)
def test_a_slow_job_rests_three_times_as_long_as_it_took(took: float, next_run: float) -> None:
    """On a saturated process a tick takes long because every task waits for its turn: the
    jobs then take at most about a quarter of the event loop, not most of it."""
    clock = Clock()
    ticker = Ticker(clock.sleep, clock)
    ran: list[float] = []

    def slow(now: float) -> None:
        ran.append(round(now - 100, 6))
        clock.now += took

    ticker.every(0.1, "slow", slow)
    started(ticker)
    clock.now = 100.1
    ticker.run_due()
    clock.now = 100 + next_run - 0.001
    ticker.run_due()  # not yet
    clock.now = 100 + next_run + 1e-9
    ticker.run_due()
    assert ran == [0.1, round(next_run, 6)]


def test_a_job_that_fails_is_logged_and_neither_it_nor_the_others_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    ticker = Ticker(clock.sleep, clock)
    ran: list[str] = []

    def broken(now: float) -> None:
        ran.append("broken")
        raise RuntimeError("bad tick")

    ticker.every(1.0, "broken tick", broken)
    ticker.every(1.0, "good tick", lambda now: ran.append("good"))
    started(ticker)
    for moment in (1.0, 2.0):
        clock.now = 100 + moment
        ticker.run_due()
    assert ran == ["broken", "good", "broken", "good"]
    assert [r.getMessage() for r in caplog.records] == ["broken tick failed"] * 2


def test_one_task_sleeps_until_the_next_job_is_due_until_stopped() -> None:
    clock = Clock()
    ticker = Ticker(clock.sleep, clock)
    ran: list[str] = []
    ticker.every(0.4, "a", lambda now: ran.append("a"))
    ticker.every(1.0, "b", lambda now: ran.append("b"))
    ticker.every(0.5, "stop", lambda now: ticker.stop() if len(ran) >= 3 else None)
    (task,) = started(ticker)
    assert callable(task)
    task()
    assert ran == ["a", "a", "b"]  # at 0.4, 0.8 and 1.0, when "stop" ended the task
    assert clock.naps == [0.4, 0.1, 0.3, 0.2]
    assert len(started(ticker)) == 1  # a stopped ticker starts again
    assert started(ticker) == []  # once


def test_how_late_the_task_woke_from_each_sleep_is_told() -> None:
    """The event loop's delay: a sleep that overran by 0.3 s is reported as 0.3 s late, one
    on time as 0."""
    clock = Clock()
    late = [0.0, 0.3]
    ticker = Ticker(lambda seconds: clock.sleep(seconds + late.pop(0)), clock)
    told: list[float] = []
    ticker.on_late = lambda seconds: told.append(round(seconds, 6))
    ticker.every(0.1, "stop", lambda now: ticker.stop() if len(told) == 2 else None)
    (task,) = started(ticker)
    task()
    assert told == [0.0, 0.3]
