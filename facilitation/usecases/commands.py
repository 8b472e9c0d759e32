"""The one way client commands run: parse, check the role, wait for a turn, then run with
every command that waited alongside in one transaction, and answer only after its commit.

Layer: use cases. Imports the core, the models, the schemas and the database; never Flask or
Socket.IO. The areas' entry points (`WorkshopDesk.execute`, `SeriesDesk.execute`) run
commands through it, sharing one `CommandRunner`; handlers never call this module directly.
The commands are named in registry.py; a series' and its library's run through
`CommandRunner.execute_in_series`, the same way, one at a time (see there).

In the transaction, for each workshop of the batch: the workshop is locked once, phones
connecting for the first time are made participants together (`JOIN`; after the commit,
their own views are read together, in one read for the batch), the senders are
checked against the database and the command ids looked up together, then each
command runs in order of arrival — refused if the workshop is closed, otherwise its use case
applied and the version bumped — and its answer, a refusal included, is stored under
(workshop, sender, command id), so that a command sent again is answered the same and
changes nothing. Ballots are staged and written together at the end (or before any other
command that could read them), so a burst of votes costs a few statements per transaction,
not several per ballot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from facilitation.core.domain import N_, DomainError, Role, Step, check_can_join
from facilitation.infrastructure import models
from facilitation.infrastructure.db import Database, lock_workshop
from facilitation.queries import state
from facilitation.queries.views import Me
from facilitation.usecases import participants, series
from facilitation.usecases.ballot_box import BallotBox, Checks
from facilitation.usecases.base import (
    AccessEnded,
    Actor,
    Change,
    Publisher,
    SeriesChange,
    SeriesRole,
    SeriesTx,
    Tx,
    bump,
    invalid_input,
    parse,
    secret_matches,
)
from facilitation.usecases.registry import COMMANDS, SERIES_COMMANDS, Command

# Built once, as plain table statements: every command takes this path.
_RECORDS = models.Base.metadata.tables["commands"]
_STORED = select(_RECORDS.c.actor, _RECORDS.c.command_id, _RECORDS.c.answer).where(
    _RECORDS.c.workshop_id == bindparam("workshop_id"),
    _RECORDS.c.actor.in_(bindparam("actors", expanding=True)),
    _RECORDS.c.command_id.in_(bindparam("command_ids", expanding=True)),
)
_INSERT_RECORDS = insert(_RECORDS)
_WORKSHOPS = models.Base.metadata.tables["workshops"]
_SET_VERSION = (
    update(_WORKSHOPS)
    .where(_WORKSHOPS.c.id == bindparam("workshop_id"))
    .values(version=bindparam("new_version"), updated_at=bindparam("now"))
)

# A phone's first connect: not a client command, but run in the same batches, so that a
# crowd joining at once shares transactions (and the workshop's lock) as a burst of votes
# does. Its in-flight key has an empty command id, which no client command has.
JOIN = "participant.join"

# The only command a closed workshop accepts: stepping back to reopen it.
_ALLOWED_WHEN_CLOSED = {"step.set"}

# The most commands one transaction runs: bounds the wait of the first in line, and how long
# the event loop runs nothing else (SQLite does not yield to it).
BATCH_MAX = 50
# How often the first in line yields to the event loop for others to queue (see `_gather`).
GATHER_YIELDS = 8
# The workshops whose ballot checks a process keeps from one batch to the next (the most
# recently voted in): a few small sets each.
CHECKS_KEPT = 256


def let_others_run() -> None:
    """Under an event loop a monkey-patched `time.sleep(0)` lets every ready task run once."""
    time.sleep(0)


def gather(size: Callable[[], int], pause: Callable[[], None] = let_others_run) -> None:
    """Let those arriving with the first in line join it before it is served (commands
    here, connecting phones in arrivals.py): yield to the event loop until no more come,
    BATCH_MAX are there, or GATHER_YIELDS yields have passed."""
    for _ in range(GATHER_YIELDS):
        before = size()
        if before >= BATCH_MAX:
            return
        pause()
        if size() == before:
            return


def error_answer(error: DomainError) -> dict[str, Any]:
    """A refusal as sent to clients, naming the input at fault when there is one; the edge
    translates `message` and fills in `params`."""
    located = {"field": error.path} if error.path else {}
    return {
        "ok": False,
        "error": {"code": error.code, "message": error.message, "params": error.params, **located},
    }


def validation_error(exc: ValidationError) -> dict[str, Any]:
    """A payload that does not fit its schema, naming the first field at fault."""
    return error_answer(invalid_input(exc))


UNKNOWN_COMMAND = DomainError("unknown_command", N_("Unknown command."))


def unknown_workshop() -> DomainError:
    """A new error each time: an error shared by the tabs that raise it would gather their
    tracebacks."""
    return DomainError("unknown_workshop", N_("There is no workshop with that code."))


FORBIDDEN = DomainError("forbidden", N_("You may not do that."))
OWNER_ONLY = DomainError("owner_only", N_("Only the series' owner may do that."))


def authorise(
    workshop: models.Workshop, actor: Actor, participant: models.Participant | None
) -> None:
    """Refuse a facilitator without the workshop's secret, or a participant whose cookie id
    (`participant`, looked up by it) is not one of the workshop's."""
    if actor.role is Role.FACILITATOR:
        if not secret_matches(actor.secret, workshop):
            raise DomainError("forbidden", N_("You may not do that."))
    elif participant is None:
        raise DomainError("not_joined", N_("Open the workshop's join link again."))


@dataclass
class _Pending:
    """A command waiting for its turn, then for the transaction that runs it."""

    actor: Actor
    name: str
    payload: Any
    answer: dict[str, Any] | None = None
    error: Exception | None = None
    # Who waits for it: each caller on an event of its own (the tabs of one phone share the
    # command), so that no caller can reset another's wake-up. Guarded by the runner's lock.
    waiters: list[threading.Event] = field(default_factory=list)
    # Its turn has come to run the next batch: kept until one of its callers takes it, so a
    # hand-over is not lost on a caller that is not waiting yet.
    called: bool = False
    # A first connect, made: the workshop's id and the participant's. Its answer, with their
    # own view, is given only once that is read (`_welcome`): a tab of the same phone
    # arriving meanwhile must not take a half answer.
    joined: tuple[int, int] | None = None

    @property
    def done(self) -> bool:
        return self.answer is not None or self.error is not None


class _Versions:
    """The versions a batch's changes to one workshop take (every change raises it by one):
    counted here and written once, in one plain statement, as the batch's last. The
    workshop object itself is not marked changed, so a batch of ballots changes no object
    and the session has nothing to flush for it."""

    def __init__(self, workshop: models.Workshop) -> None:
        self.workshop = workshop
        self.last = workshop.version

    def bump(self) -> int:
        self.last += 1
        return self.last

    def write(self, s: Session) -> None:
        if self.last == self.workshop.version:
            return
        s.execute(
            _SET_VERSION,
            {"workshop_id": self.workshop.id, "new_version": self.last, "now": models.utcnow()},
        )
        set_committed_value(self.workshop, "version", self.last)


class CommandRunner:
    """Runs client commands; those that wait together share a transaction (flat combining:
    whoever gets the turn runs what is queued, BATCH_MAX at a time, until its own command
    is answered, then hands the turn to the first still waiting)."""

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        on_batch: Callable[[int], None] | None = None,
        on_lock: Callable[[float], None] | None = None,
    ) -> None:
        self.db = db
        self.publisher = publisher
        # Told each batch's size, and how long it waited for each workshop's lock (/metrics).
        self.on_batch = on_batch
        self.on_lock = on_lock
        self._waiting: list[_Pending] = []
        self._in_flight: dict[tuple[Actor, str], _Pending] = {}
        self._waiting_lock = threading.Lock()
        # Reentrant: a use case's caller may run another command from within (tests do).
        self._turn = threading.RLock()
        # What each workshop's ballots were last checked against, and the workshop's
        # version then (ballot_box.Checks): a batch finding the workshop at that version
        # reads none of it again. Kept only after the commit; used under the turn.
        self._checks: dict[int, tuple[int, Checks]] = {}

    def execute(self, actor: Actor, name: str, raw: Any) -> dict[str, Any]:
        """Run one client command and return its answer, once its transaction committed."""
        spec = COMMANDS.get(name)
        if spec is None:
            return error_answer(UNKNOWN_COMMAND)
        try:
            payload = parse(spec.schema, raw)
        except DomainError as error:
            return error_answer(error)
        if actor.role is not spec.role:
            return error_answer(FORBIDDEN)
        return self._run(actor, name, payload, payload.command_id)

    def execute_in_series(
        self, organizer_id: int, series_id: int, name: str, raw: Any
    ) -> dict[str, Any]:
        """Run one series or library command for an organizer and return its answer, once
        its transaction committed, as `execute` does a workshop's: in its own transaction,
        the series locked; a command id already answered for this organizer in this series
        gets the stored answer again and changes nothing (a form sent twice is applied
        once); a refusal undoes only the command (a savepoint) and is stored as its answer;
        what changed is published after the commit. A secret in the answer (an
        invitation's link) is answered this once and not stored."""
        spec = SERIES_COMMANDS.get(name)
        if spec is None:
            return error_answer(UNKNOWN_COMMAND)
        try:
            payload = parse(spec.schema, raw)
        except DomainError as error:
            return error_answer(error)
        with self.db.write() as s:
            try:
                found, role = series.find(s, organizer_id, series_id, lock=True)
                if spec.role is SeriesRole.OWNER and role is not SeriesRole.OWNER:
                    raise OWNER_ONLY
            except DomainError as error:
                return error_answer(error)
            stored = s.scalar(
                select(models.SeriesCommandRecord.answer).where(
                    models.SeriesCommandRecord.series_id == found.id,
                    models.SeriesCommandRecord.organizer_id == organizer_id,
                    models.SeriesCommandRecord.command_id == payload.command_id,
                )
            )
            if stored is not None:
                return dict(stored)
            tx = SeriesTx(s, found, organizer_id, role)
            try:
                with s.begin_nested():
                    data = spec.run(tx, payload)
                bump(found)
                answer = {"ok": True, "version": found.version, "data": data}
            except DomainError as error:
                answer = error_answer(error)
            s.add(
                models.SeriesCommandRecord(
                    series_id=found.id,
                    organizer_id=organizer_id,
                    command_id=payload.command_id,
                    answer=_storable(spec, answer),
                )
            )
        if answer["ok"]:
            self.publisher.publish(
                SeriesChange(0, series_id=series_id, workshop_ids=set(tx.workshops))
            )
            for workshop_id in tx.workshops:
                self.publisher.publish(Change(workshop_id))
            for workshop_id in tx.access:
                self.publisher.publish(AccessEnded(workshop_id))
        return answer

    def join(self, actor: Actor) -> tuple[int, int, Me]:
        """A participant's first connect, which creates them: the workshop's id, theirs and
        their own view, once committed. Tabs of one phone joining together get one
        participant."""
        answer = self._run(actor, JOIN, None, "")
        return answer["workshop"], answer["participant"], answer["me"]

    def _run(self, actor: Actor, name: str, payload: Any, command_id: str) -> dict[str, Any]:
        key = (actor, command_id)
        with self._waiting_lock:
            # The same command sent again while it waits (a phone resending after a
            # timeout) shares its turn and its answer instead of queueing once more.
            pending = self._in_flight.get(key)
            if pending is None:
                pending = self._in_flight[key] = _Pending(actor, name, payload)
                self._waiting.append(pending)
        while not pending.done:
            if self._turn.acquire(blocking=False):
                try:
                    while not pending.done:
                        self._gather()
                        with self._waiting_lock:
                            batch = self._waiting[:BATCH_MAX]
                            del self._waiting[:BATCH_MAX]
                        self._run_batch(batch)
                finally:
                    self._turn.release()
                self._hand_over()
            else:
                self._wait(pending)
        with self._waiting_lock:
            if self._in_flight.get(key) is pending:
                del self._in_flight[key]
        if pending.error is not None:
            raise pending.error
        assert pending.answer is not None
        return pending.answer

    def _hand_over(self) -> None:
        """The turn goes to the first command still waiting, if any (the others wait for
        their answers, each woken by the batch that answers it)."""
        with self._waiting_lock:
            if not self._waiting:
                return
            first = self._waiting[0]
            first.called = True
        self._wake([first])

    def _wait(self, pending: _Pending) -> None:
        """Wait until `pending` is answered or called to take the turn."""
        woken = threading.Event()
        with self._waiting_lock:
            if pending.done or pending.called:
                pending.called = False
                return
            pending.waiters.append(woken)
        woken.wait()

    def _wake(self, batch: list[_Pending]) -> None:
        """Wake everyone waiting for these commands."""
        with self._waiting_lock:
            waiters = [waiter for pending in batch for waiter in pending.waiters]
            for pending in batch:
                pending.waiters = []
        for waiter in waiters:
            waiter.set()

    def _gather(self) -> None:
        """Let the commands that arrived with this one join the queue before the batch is
        taken: under an event loop the transaction holds the loop (SQLite never yields), so
        without this each batch would hold one command."""
        gather(lambda: len(self._waiting))

    def _run_batch(self, batch: list[_Pending]) -> None:
        """Run waiting commands in one transaction; each gets its answer or its error."""
        # Grouped by workshop in one order (PostgreSQL row locks taken in the same order by
        # every process cannot deadlock), in order of arrival within a workshop.
        batch = sorted(batch, key=lambda p: p.actor.code)
        if self.on_batch is not None:
            self.on_batch(len(batch))
        changes: list[Change] = []
        checks: dict[int, tuple[int, Checks]] = {}
        try:
            with self.db.write() as s:
                for code, group in groupby(batch, key=lambda p: p.actor.code):
                    changes += self._run_workshop(s, code, list(group), checks)
        except Exception as error:  # the commit failed: no command of the batch is done
            for pending in batch:
                pending.answer, pending.error = None, error
            self._wake(batch)
            return
        self._keep_checks(checks)
        for change in changes:
            self.publisher.publish(change)
        joins = [p for p in batch if p.name == JOIN]
        self._wake([p for p in batch if p.name != JOIN])  # before the joins' read
        self._welcome(joins)
        self._wake(joins)

    def _welcome(self, joins: list[_Pending]) -> None:
        """Answer the batch's joins, each with its own view ("me"), read after the commit and
        together: the same few queries for a crowd as for one (state.personal_views)."""
        joined = [(p, p.joined) for p in joins if p.joined is not None and not p.done]
        if not joined:
            return
        try:
            with self.db.read() as s:
                for workshop_id, items in groupby(joined, key=lambda item: item[1][0]):
                    group = list(items)
                    workshop = s.get(models.Workshop, workshop_id)
                    if workshop is None:  # deleted since the commit
                        raise unknown_workshop()
                    views = state.personal_views(s, workshop, {pid for _, (_, pid) in group})
                    for pending, (_, participant_id) in group:
                        pending.answer = {
                            "workshop": workshop_id,
                            "participant": participant_id,
                            "me": views[participant_id],
                        }
        except Exception as error:  # they joined all the same: connecting again finds them
            for pending, _ in joined:
                if not pending.done:
                    pending.error = error

    def _keep_checks(self, checks: dict[int, tuple[int, Checks]]) -> None:
        """Keep what a committed batch's ballots were checked against (the most recently
        voted in workshops' only)."""
        for workshop_id, kept in checks.items():
            self._checks.pop(workshop_id, None)
            self._checks[workshop_id] = kept
        while len(self._checks) > CHECKS_KEPT:
            del self._checks[next(iter(self._checks))]

    def _run_workshop(
        self,
        s: Session,
        code: str,
        group: list[_Pending],
        checks: dict[int, tuple[int, Checks]],
    ) -> list[Change]:
        """The batch's commands to one workshop, in order of arrival; what they changed.
        What its ballots were checked against, and at which version, goes into `checks`."""
        asked = time.perf_counter()
        workshop = lock_workshop(s, code)
        if self.on_lock is not None:
            self.on_lock(time.perf_counter() - asked)
        if workshop is None:
            for pending in group:
                if pending.name == JOIN:
                    pending.error = unknown_workshop()
                else:
                    pending.answer = error_answer(unknown_workshop())
            return []
        tokens = {p.actor.token for p in group if p.actor.role is Role.PARTICIPANT}
        senders = participants.find_all(s, workshop, tokens)
        versions = _Versions(workshop)
        changes = _join(s, workshop, [p for p in group if p.name == JOIN], senders, versions)
        admitted: list[tuple[_Pending, models.Participant | None, str]] = []
        for pending in (p for p in group if p.name != JOIN):
            participant = senders.get(pending.actor.token or "")
            try:
                authorise(workshop, pending.actor, participant)
            except DomainError as error:
                pending.answer = error_answer(error)
                continue
            admitted.append((pending, participant, f"p{participant.id}" if participant else "f"))
        answers = _stored_answers(
            s, workshop.id, {(key, p.payload.command_id) for p, _, key in admitted}
        )
        kept = self._checks.get(workshop.id)
        box = BallotBox(s, workshop.id, kept[1] if kept and kept[0] == workshop.version else None)
        records = []
        for pending, participant, key in admitted:
            command_id = pending.payload.command_id
            if (key, command_id) in answers:  # sent before, or twice in this batch
                pending.answer = dict(answers[key, command_id])
                continue
            tx = Tx(s, workshop, pending.actor, participant, box)
            answer = _apply(tx, pending, versions)
            if answer is None:
                continue
            pending.answer = answers[key, command_id] = answer
            records.append(
                {
                    "workshop_id": workshop.id,
                    "actor": key,
                    "command_id": command_id,
                    "answer": answer,
                }
            )
            if answer["ok"]:
                changes.append(tx.change)
        box.write()
        if records:
            s.execute(_INSERT_RECORDS, records)
        versions.write(s)
        # Read after the last command that could change them (each one forgets what the box
        # read before it), so they hold at the version the batch ends at.
        checks[workshop.id] = (versions.last, box.checks)
        return changes


def _join(
    s: Session,
    workshop: models.Workshop,
    joining: list[_Pending],
    senders: dict[str, models.Participant],
    versions: _Versions,
) -> list[Change]:
    """The batch's joins, first: each answered with its participant, created (and added
    to `senders`) unless already there; a closed workshop, or one whose doors are closed,
    takes no one new."""
    welcome: list[_Pending] = []
    for pending in joining:
        if pending.actor.token not in senders:
            try:
                check_can_join(Step(workshop.step), doors_closed=workshop.doors_closed)
            except DomainError as error:
                pending.error = error
                continue
        welcome.append(pending)
    new = participants.admit(s, workshop, [p.actor.token or "" for p in welcome], senders)
    for pending in welcome:
        pending.joined = (workshop.id, senders[pending.actor.token or ""].id)
    if not new:
        return []
    return [Change(workshop.id, joined=True, version=versions.bump())]


def _apply(tx: Tx, pending: _Pending, versions: _Versions) -> dict[str, Any] | None:
    """One command's answer, its refusal included; None (and `pending.error`) for a bug,
    which fails this command and leaves the others of the batch alone."""
    spec = COMMANDS[pending.name]
    try:
        if tx.workshop.step == Step.CLOSED and pending.name not in _ALLOWED_WHEN_CLOSED:
            raise DomainError("workshop_closed", N_("The workshop is closed."))
        if spec.staged:
            data = spec.run(tx, pending.payload)
        else:
            # What the batch staged is written first: this command may read it.
            tx.ballots.flush()
            # A refusal or a bug undoes only this command's changes.
            with tx.session.begin_nested():
                data = spec.run(tx, pending.payload)
        tx.change.version = versions.bump()
    except DomainError as error:
        return error_answer(error)
    except Exception as error:  # a bug
        pending.error = error
        return None
    return {"ok": True, "version": tx.change.version, "data": data}


def _stored_answers(
    s: Session, workshop_id: int, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The answers already given to these (sender, command id) pairs, in one query."""
    if not keys:
        return {}
    actors = list({actor for actor, _ in keys})
    command_ids = list({command_id for _, command_id in keys})
    rows = s.execute(
        _STORED, {"workshop_id": workshop_id, "actors": actors, "command_ids": command_ids}
    )
    return {(a, c): answer for a, c, answer in rows if (a, c) in keys}


def _storable(spec: Command, answer: dict[str, Any]) -> dict[str, Any]:
    """The answer as stored: without the command's secret, which is answered only once."""
    if spec.secret is None or not answer["ok"]:
        return answer
    data = {k: v for k, v in answer["data"].items() if k != spec.secret}
    return {**answer, "data": data}


class Desk:
    """An area's entry point (workshop_desk.py, organizer_desk.py, series_desk.py,
    operations.py): the command runner every area shares, its database, and whoever hears
    of committed changes."""

    def __init__(self, commands: CommandRunner) -> None:
        self.commands = commands
        self.db = commands.db

    @property
    def publisher(self) -> Publisher:
        return self.commands.publisher
