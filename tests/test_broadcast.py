"""The broadcaster on its own, with a recording emitter: coalescing, what goes to whom, and
presence."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import metric

from facilitation.core.domain import Role
from facilitation.edges.live.broadcast import JOINED_INTERVAL, RECOUNT, Broadcaster
from facilitation.edges.live.cluster import Alone
from facilitation.edges.live.presence import CONSOLE, PHONE, Connection, Presence
from facilitation.infrastructure.metrics import Metrics
from facilitation.usecases import Actor, Change, Services


class Emitter:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        # For each message sent, whether it went straight to this process's screens.
        self.straight: list[bool] = []

    def emit(self, event: str, data: Any, *, to: str, ignore_queue: bool = False) -> None:
        self.sent.append((event, to, data))
        self.straight.append(ignore_queue)

    def sleep(self, seconds: float) -> None:
        pass

    def start_background_task(self, target: Any) -> Any:
        return None

    def to(self, room: str) -> list[dict[str, Any]]:
        return [data for _, to, data in self.sent if to == room]


class Setup:
    """A workshop, and a broadcaster with its own emitter and presence."""

    def __init__(self, samsyn: Any, cluster: Alone | None = None) -> None:
        self.emitter = Emitter()
        self.presence = Presence(cluster)
        self.metrics = Metrics()
        self.broadcaster = Broadcaster(
            self.emitter,
            self.presence,
            board_interval=0.1,
            phone_interval=0.5,
            metrics=self.metrics,
        )
        self.services: Services = samsyn.services
        self.broadcaster.workshops = self.services.workshops
        self.services.publisher = self.broadcaster
        self.code, self.secret = self.services.workshops.create(
            title="T", language="sv", categories=None, seeds=[]
        )
        self.workshop_id = self.services.workshops.find_workshop(self.code).id

    def changed(self, participants: set[int] | None = None) -> None:
        self.broadcaster.publish(Change(self.workshop_id, participants or set()))

    def to(self, view: str) -> list[dict[str, Any]]:
        return self.emitter.to(f"{view}:{self.workshop_id}")


def test_changes_within_a_tick_make_one_message_per_room(samsyn: Any) -> None:
    t = Setup(samsyn)
    for _ in range(5):
        t.changed()
    t.broadcaster.tick(0.0)
    assert len(t.to("board")) == 1
    assert len(t.to("phone")) == 1
    t.broadcaster.tick(0.1)  # nothing changed since
    assert len(t.to("board")) == 1


def test_phones_hear_less_often_and_only_of_what_they_show(samsyn: Any) -> None:
    t = Setup(samsyn)
    t.changed()
    t.broadcaster.tick(0.0)
    assert len(t.to("phone")) == 1
    # The same phone-visible state again (e.g. only a participation count moved): not sent.
    t.services.workshops.join(t.code, "anna")
    t.broadcaster.tick(1.0)
    assert len(t.to("phone")) == 1
    assert len(t.to("board")) == 2
    assert t.to("board")[-1]["participation"]["joined"] == 1


class Counted(Alone):
    """Other processes, whose participants Redis counts as the test says."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def count(self, workshop_id: int, local: int) -> int:
        return self.total


class Shared(Alone):
    """Other processes, holding screens of the workshops the test says."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.held_elsewhere: set[int] = set()
        self.asked: list[int] = []

    def elsewhere(self, workshop_id: int) -> bool:
        self.asked.append(workshop_id)
        return workshop_id in self.held_elsewhere


def test_a_room_held_only_here_is_sent_straight_to_its_screens(samsyn: Any) -> None:
    """With other processes, a workshop's state goes through the message queue (encoded,
    published, heard back and decoded by every process) only while another process holds a
    screen of it; rooms meet on one process, so mostly it goes straight to the screens
    here. Whether it is held elsewhere is asked once a tick, after the tick took its
    changes (cluster.py says why then)."""
    cluster = Shared()
    t = Setup(samsyn, cluster)
    _, participant_id = t.services.workshops.join(t.code, "anna")
    actor = Actor(Role.PARTICIPANT, t.code, token="anna")
    t.presence.add("s1", Connection(actor, PHONE, t.workshop_id, "sv", participant_id))
    t.changed({participant_id})
    t.broadcaster.flush()
    rooms = {to.split(":")[0] for _, to, _ in t.emitter.sent}
    assert rooms == {"board", "console", "phone", "participant"}
    assert all(t.emitter.straight)
    assert cluster.asked == [t.workshop_id]

    cluster.held_elsewhere.add(t.workshop_id)  # a board opened through another process
    t.emitter.sent.clear(), t.emitter.straight.clear()
    t.changed({participant_id})
    t.broadcaster.tick(10.0)
    assert {to.split(":")[0] for _, to, _ in t.emitter.sent} == {"board", "console", "participant"}
    assert not any(t.emitter.straight)
    assert cluster.asked == [t.workshop_id] * 2


def test_with_other_processes_a_count_gone_stale_is_sent_again(samsyn: Any) -> None:
    """Another process's boards message with the newer count can arrive before this one's
    older count: each process counts again what it sent, and corrects it."""
    cluster = Counted()
    t = Setup(samsyn, cluster)
    t.changed()
    t.broadcaster.tick(0.0)
    assert [s["connected"] for s in t.to("board")] == [0]
    cluster.total = 3  # phones arrived through another process, which told the boards
    t.broadcaster.tick(RECOUNT / 2)  # not yet due
    assert len(t.to("board")) == 1
    t.broadcaster.tick(RECOUNT)
    assert [s["connected"] for s in t.to("board")] == [0, 3]
    t.broadcaster.tick(2 * RECOUNT)  # the count sent holds: nothing more
    assert len(t.to("board")) == 2


def test_a_room_that_only_takes_newcomers_is_read_at_most_once_a_joined_interval(
    samsyn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crowd scanning the QR code changes only the boards' count: the room is read and
    sent when the first arrives, then at most every JOINED_INTERVAL, not on every tick (on
    PostgreSQL, four rooms filling at once spent most of a process re-reading them); any
    other change is sent on the next tick as before, the newcomers' count with it. Once
    the room was read whole, newcomers alone need only its counts read again."""
    t = Setup(samsyn)
    reads = read_counter(t, monkeypatch)
    ticks = [i * 0.1 for i in range(12)]  # 0.0 … 1.1 s
    for i, now in enumerate(ticks[:9]):
        t.services.workshops.join(t.code, f"p{i}")
        t.broadcaster.tick(now)
    assert reads == ["whole"] and t.to("board")[-1]["participation"]["joined"] == 1
    t.services.workshops.join(t.code, "p9")
    t.broadcaster.tick(JOINED_INTERVAL)
    assert reads[1:] == ["counts"] and t.to("board")[-1]["participation"]["joined"] == 10
    t.services.workshops.join(t.code, "p10")
    t.changed()  # something else changed too: sent at once, the newcomer with it
    t.broadcaster.tick(JOINED_INTERVAL + 0.1)
    assert reads[2:] == ["whole"] and t.to("board")[-1]["participation"]["joined"] == 11
    t.broadcaster.tick(JOINED_INTERVAL + 0.2)
    assert len(reads) == 3  # nothing left to send


def read_counter(t: Setup, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the broadcaster reads, in order: a workshop's "whole" screens, or its "counts"
    alone (whether or not they would do)."""
    reads: list[str] = []
    desk = t.services.workshops
    screens, recount = desk.screens, desk.recount

    def whole(workshop_id: int, **kwargs: Any) -> Any:
        reads.append("whole")
        return screens(workshop_id, **kwargs)

    def counts(workshop_id: int, **kwargs: Any) -> Any:
        reads.append("counts")
        return recount(workshop_id, **kwargs)

    monkeypatch.setattr(desk, "screens", whole)
    monkeypatch.setattr(desk, "recount", counts)
    return reads


def test_phone_messages_wait_for_the_phone_interval(samsyn: Any) -> None:
    t = Setup(samsyn)
    t.broadcaster.tick(0.0)  # the phone clock starts: next phone send at 0.5
    t.changed()
    t.broadcaster.tick(0.1)
    assert t.to("phone") == []
    t.broadcaster.tick(0.6)
    assert len(t.to("phone")) == 1
    assert "participation" not in t.to("phone")[0]


def test_presence_alone_resends_the_cached_view(samsyn: Any) -> None:
    t = Setup(samsyn)
    t.changed()
    t.broadcaster.tick(0.0)
    actor = Actor(Role.PARTICIPANT, t.code, token="t")
    t.presence.add("sid-1", Connection(actor, PHONE, t.workshop_id, "sv", participant_id=7))
    t.presence.add("sid-2", Connection(actor, PHONE, t.workshop_id, "sv", participant_id=7))
    t.broadcaster.presence_changed(t.workshop_id)
    t.broadcaster.tick(0.1)
    boards = t.to("board")
    assert [b["connected"] for b in boards] == [0, 1]  # one person, two tabs
    assert boards[0]["version"] == boards[1]["version"]
    t.presence.remove("sid-1")
    assert t.presence.participants(t.workshop_id) == 1
    t.presence.remove("sid-2")
    assert t.presence.participants(t.workshop_id) == 0
    assert t.presence.remove("sid-2") is None


def test_consoles_get_their_view_only_when_one_is_watching(samsyn: Any) -> None:
    t = Setup(samsyn)
    t.changed()
    t.broadcaster.tick(0.0)
    assert t.to("console") == []
    facilitator = Actor(Role.FACILITATOR, t.code, secret=t.secret)
    t.presence.add("sid-f", Connection(facilitator, CONSOLE, t.workshop_id, "sv"))
    t.changed()
    t.broadcaster.tick(0.1)
    (console,) = t.to("console")
    assert "rounds" in console and console["connected"] == 0


def test_personal_views_go_to_the_participant_only(samsyn: Any) -> None:
    t = Setup(samsyn)
    _, participant_id = t.services.workshops.join(t.code, "anna")
    t.changed({participant_id})
    t.broadcaster.tick(0.0)
    (me,) = t.emitter.to(f"participant:{participant_id}")
    assert me["participant"]["number"] == 1


def test_a_deleted_workshops_screens_are_told_once(samsyn: Any) -> None:
    t = Setup(samsyn)
    t.broadcaster.publish(Change(999_999))
    t.broadcaster.tick(0.0)
    assert sorted(to for event, to, _ in t.emitter.sent if event == "deleted") == [
        "board:999999",
        "console:999999",
        "phone:999999",
    ]
    assert [event for event, _, _ in t.emitter.sent] == ["deleted"] * 3


def run(t: Setup, actor: Actor, name: str, **payload: Any) -> dict[str, Any]:
    answer = t.services.workshops.execute(actor, name, {"command_id": uuid.uuid4().hex, **payload})
    assert answer["ok"], answer
    data: dict[str, Any] = answer["data"]
    return data


def test_a_tick_gives_each_of_many_voters_their_own_view(samsyn: Any) -> None:
    """The personal views of a whole tick are read together; each still gets only their
    own ballot and their own proposals."""
    t = Setup(samsyn)
    facilitator = Actor(Role.FACILITATOR, t.code, secret=t.secret)
    run(t, facilitator, "step.set", step="complete")
    people = {}
    for name in ("anna", "bo", "cia", "dan"):
        _, participant_id = t.services.workshops.join(t.code, name)
        people[name] = (participant_id, Actor(Role.PARTICIPANT, t.code, token=name))
    category = t.services.workshops.snapshot(facilitator, "console")["state"]["categories"][0]["id"]
    for name in ("anna", "bo"):
        run(t, people[name][1], "factor.propose", title=f"{name}s idé", category_id=category)
    factors = [
        f["id"] for f in t.services.workshops.snapshot(facilitator, "console")["state"]["factors"]
    ]
    run(t, facilitator, "step.set", step="prioritise")
    round_id = run(t, facilitator, "round.open", method="dots", budget=3, cap=3)["round_id"]
    ballots = {"anna": {str(factors[0]): 3}, "bo": {str(factors[1]): 2}, "cia": {}}
    for name, entries in ballots.items():
        if entries:
            run(t, people[name][1], "ballot.submit", round_id=round_id, entries=entries)
    t.emitter.sent.clear()
    t.changed({participant_id for participant_id, _ in people.values()})
    t.broadcaster.tick(0.0)
    for name, (participant_id, _) in people.items():
        (me,) = t.emitter.to(f"participant:{participant_id}")
        assert me["ballot"] == {"round_id": round_id, "entries": ballots.get(name, {})}
        assert [p["title"] for p in me["proposals"]] == (
            [f"{name}s idé"] if name in ("anna", "bo") else []
        )


def test_resync_sends_every_screen_here_its_whole_state(samsyn: Any) -> None:
    """After the message queue was away: boards, consoles and phones of every workshop
    connected here get the state again (even unchanged), and each participant their own."""
    t = Setup(samsyn)
    _, participant_id = t.services.workshops.join(t.code, "anna")
    actor = Actor(Role.PARTICIPANT, t.code, token="anna")
    t.presence.add("s1", Connection(actor, PHONE, t.workshop_id, "sv", participant_id))
    facilitator = Actor(Role.FACILITATOR, t.code, secret=t.secret)
    t.presence.add("s2", Connection(facilitator, CONSOLE, t.workshop_id, "sv"))
    t.changed()
    t.broadcaster.flush()
    t.emitter.sent.clear()
    t.broadcaster.flush()
    assert t.emitter.sent == []  # nothing changed: nothing sent
    t.broadcaster.resync()
    t.broadcaster.flush()
    assert len(t.to("board")) == len(t.to("console")) == len(t.to("phone")) == 1
    assert len(t.emitter.to(f"participant:{participant_id}")) == 1


def test_resync_of_some_workshops_sends_theirs_alone(samsyn: Any) -> None:
    """The other processes have just learnt that this one holds a workshop (cluster.py):
    its screens here get their whole state; another workshop's screens here get nothing,
    and a workshop with no screen here is not read."""
    t = Setup(samsyn)
    code, secret = t.services.workshops.create(title="U", language="sv", categories=None, seeds=[])
    other = t.services.workshops.find_workshop(code).id
    for sid, workshop_id, facilitator in (
        ("s1", t.workshop_id, Actor(Role.FACILITATOR, t.code, secret=t.secret)),
        ("s2", other, Actor(Role.FACILITATOR, code, secret=secret)),
    ):
        t.presence.add(sid, Connection(facilitator, CONSOLE, workshop_id, "sv"))
    t.broadcaster.resync({t.workshop_id, 999_999})
    t.broadcaster.flush()
    assert len(t.to("board")) == len(t.to("console")) == len(t.to("phone")) == 1
    assert t.emitter.to(f"board:{other}") == t.emitter.to("board:999999") == []


def test_phones_joining_are_given_the_last_room_view_while_it_is_what_phones_see(
    samsyn: Any, monkeypatch: Any
) -> None:
    """A room joining at once: each phone's snapshot may use the view the last tick read,
    as long as only joins happened since. Any other change, even one published while the
    tick was reading, makes it too old."""
    t = Setup(samsyn)
    assert t.broadcaster.room_view_for_phones(t.workshop_id) is None  # nothing read yet
    t.changed()
    t.broadcaster.tick(0.0)
    read = t.broadcaster.room_view_for_phones(t.workshop_id)
    assert read is not None and read["version"] == t.to("board")[-1]["version"]
    t.services.workshops.join(t.code, "anna")  # a join: the board's count, not what phones see
    assert t.broadcaster.room_view_for_phones(t.workshop_id) is read
    t.changed()  # anything else
    assert t.broadcaster.room_view_for_phones(t.workshop_id) is None
    t.broadcaster.tick(1.0)
    assert t.broadcaster.room_view_for_phones(t.workshop_id) is not None

    # A change published while the tick reads: the view it read may not include it.
    read_views = t.broadcaster._read

    def read_while_changed(*args: Any, **kwargs: Any) -> Any:
        t.changed()
        return read_views(*args, **kwargs)

    t.changed()
    monkeypatch.setattr(t.broadcaster, "_read", read_while_changed)
    t.broadcaster.tick(2.0)
    assert t.broadcaster.room_view_for_phones(t.workshop_id) is None


class Vote:
    """A workshop in a dots round, its console watching, three people joined, and the whole
    room read once (as at the round's opening)."""

    def __init__(
        self, samsyn: Any, monkeypatch: pytest.MonkeyPatch, cluster: Alone | None = None
    ) -> None:
        self.t = t = Setup(samsyn, cluster)
        self.facilitator = Actor(Role.FACILITATOR, t.code, secret=t.secret)
        t.presence.add("sid-f", Connection(self.facilitator, CONSOLE, t.workshop_id, "sv"))
        console = t.services.workshops.snapshot(self.facilitator, "console")["state"]
        category = console["categories"][0]["id"]
        self.factors = [
            run(t, self.facilitator, "factor.add", title=title, category_id=category)["factor_id"]
            for title in ("Urbanisering", "Elektrifiering")
        ]
        run(t, self.facilitator, "step.set", step="prioritise")
        self.round_id = run(t, self.facilitator, "round.open", method="dots", budget=3, cap=3)[
            "round_id"
        ]
        self.people = {}
        for name in ("anna", "bo", "cia"):
            _, participant_id = t.services.workshops.join(t.code, name)
            self.people[name] = (participant_id, Actor(Role.PARTICIPANT, t.code, token=name))
        t.broadcaster.tick(0.0)
        t.emitter.sent.clear()
        self.reads = read_counter(t, monkeypatch)

    def vote(self, name: str, dots: int) -> None:
        entries = {str(self.factors[0]): dots}
        run(self.t, self.people[name][1], "ballot.submit", round_id=self.round_id, entries=entries)

    def version(self) -> int:
        return self.t.services.workshops.find_workshop(self.t.code).version


def test_a_tick_of_ballots_alone_reads_the_counts_not_the_whole_room(
    samsyn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a round is open and its results hidden, a ballot changes only how many voted
    and the voter's own view: the tick reads those (a few small queries) and sends the board
    and the console the views last read with the new count and version, as a whole read
    would; the voters get their own views at the phones' pace, read together."""
    v = Vote(samsyn, monkeypatch)
    v.vote("anna", 3)
    v.vote("bo", 2)
    v.t.broadcaster.tick(0.1)
    assert v.reads == ["counts"]
    (board,), (console,) = v.t.to("board"), v.t.to("console")
    for screen in (board, console):
        assert screen["participation"] == {"joined": 3, "voted": 2}
        assert screen["version"] == v.version()
    assert [f["title"] for f in board["factors"]] == ["Urbanisering", "Elektrifiering"]
    assert console["log"] and console["rounds"][0]["id"] == v.round_id
    voters = [v.t.emitter.to(f"participant:{v.people[name][0]}") for name in ("anna", "bo")]
    assert voters == [[], []]  # their phones have their ballots in their acknowledgements
    v.t.broadcaster.send_voters(0.5)  # the phones' pace
    assert v.reads == ["counts"]
    for name, dots in (("anna", 3), ("bo", 2)):
        (me,) = v.t.emitter.to(f"participant:{v.people[name][0]}")
        assert me["ballot"]["entries"] == {str(v.factors[0]): dots}
        assert me["version"] == v.version()
    assert v.t.emitter.to(f"participant:{v.people['cia'][0]}") == []
    assert v.t.to("phone") == []  # phones do not show the count
    # A phone connecting now is given the view the counts made, not a read of its own.
    given = v.t.broadcaster.room_view_for_phones(v.t.workshop_id)
    assert given is not None and given["version"] == v.version()
    # What a whole read sends now is what the counts made of the views last read.
    v.t.emitter.sent.clear()
    v.t.changed()
    v.t.broadcaster.tick(0.2)
    for view in ("board", "console"):
        (whole,) = v.t.to(view)
        assert {**whole, "server_time": None} == {
            **(board if view == "board" else console),
            "server_time": None,
        }


def test_a_whole_read_brings_the_voters_waiting_their_own_views(
    samsyn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = Vote(samsyn, monkeypatch)
    v.vote("anna", 3)
    v.t.broadcaster.tick(0.1)
    run(v.t, v.facilitator, "factor.edit", factor_id=v.factors[1], title="Elbilar")
    v.t.broadcaster.tick(0.2)
    assert v.reads == ["counts", "whole"]
    (me,) = v.t.emitter.to(f"participant:{v.people['anna'][0]}")
    assert me["ballot"]["entries"] == {str(v.factors[0]): 3}
    v.t.broadcaster.send_voters(0.5)
    assert len(v.t.emitter.to(f"participant:{v.people['anna'][0]}")) == 1  # nobody waiting


def test_a_change_this_process_did_not_hear_of_makes_the_next_tick_read_the_whole_room(
    samsyn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's change (here: a factor renamed, its publication lost) raises the
    version past those the ballots made here: the counts will not do, and the tick reads
    the whole room, the rename with it."""
    v = Vote(samsyn, monkeypatch)
    with monkeypatch.context() as elsewhere:
        elsewhere.setattr(v.t.broadcaster, "publish", lambda change: None)
        run(v.t, v.facilitator, "factor.edit", factor_id=v.factors[1], title="Elbilar")
    v.vote("anna", 3)
    v.t.broadcaster.tick(0.1)
    assert v.reads == ["counts", "whole"]
    exposition = v.t.metrics.exposition().decode()
    for read, times in (("whole", 2), ("counts_refused", 1)):  # a whole one at the start
        assert metric(exposition, f'samsyn_room_reads_total{{read="{read}"}}') == times
    (board,) = v.t.to("board")
    assert [f["title"] for f in board["factors"]] == ["Urbanisering", "Elbilar"]
    assert board["participation"]["voted"] == 1 and board["version"] == v.version()


def test_ballots_shown_live_are_read_with_the_whole_room(
    samsyn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the round's results shown live, a ballot changes them: the tick reads the whole
    room, and the board shows the new totals."""
    v = Vote(samsyn, monkeypatch)
    run(v.t, v.facilitator, "round.configure", round_id=v.round_id, live=True)
    v.t.broadcaster.tick(0.1)
    v.vote("anna", 3)
    v.t.broadcaster.tick(0.2)
    assert v.reads == ["whole", "whole"]
    board = v.t.to("board")[-1]
    assert board["results"] is not None and board["participation"]["voted"] == 1


def test_voters_views_go_through_the_queue_once_another_process_holds_a_screen(
    samsyn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The voters' own views are a job of their own: whether another process holds a
    screen of the workshop is asked again for them, not taken from the last tick."""
    cluster = Shared()
    v = Vote(samsyn, monkeypatch, cluster)
    v.vote("anna", 3)
    v.t.broadcaster.tick(0.1)
    assert all(v.t.emitter.straight)
    cluster.held_elsewhere.add(v.t.workshop_id)  # anna's other tab, through another process
    v.t.emitter.sent.clear(), v.t.emitter.straight.clear()
    v.t.broadcaster.send_voters(0.5)
    (me,) = v.t.emitter.to(f"participant:{v.people['anna'][0]}")
    assert me["ballot"]["entries"] == {str(v.factors[0]): 3}
    assert v.t.emitter.straight == [False]
