"""The use cases, and the one way commands run: validate, authorise, transaction, rule, commit,
record the answer, and only then publish what changed.

Layer: services. Imports the core, the models, the schemas and the database; never Flask or
Socket.IO. Socket handlers and HTTP views call `Services` and nothing below it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select, text

from .. import domain, models, schemas
from ..db import Database, lock_workshop
from ..domain import N_, DomainError, Role, SeedFactor, Step
from . import factors, participants, retention, state, voting, workshops
from .base import Actor, Change, Publisher, Tx, hash_secret, new_secret, secret_matches

log = logging.getLogger(__name__)

__all__ = ["COMMANDS", "Actor", "Change", "Services", "error_answer"]


@dataclass(frozen=True)
class Command:
    """A named command: its payload schema, who may send it, and the use case it runs."""

    schema: type[schemas.Command]
    role: Role
    run: Callable[[Tx, Any], dict[str, Any]]


COMMANDS: dict[str, Command] = {
    "factor.propose": Command(schemas.FactorPropose, Role.PARTICIPANT, factors.propose),
    "ballot.submit": Command(schemas.BallotSubmit, Role.PARTICIPANT, voting.submit_ballot),
    "participant.rename": Command(schemas.ParticipantRename, Role.PARTICIPANT, participants.rename),
    "factor.add": Command(schemas.FactorAdd, Role.FACILITATOR, factors.add),
    "factor.edit": Command(schemas.FactorEdit, Role.FACILITATOR, factors.edit),
    "factor.approve": Command(schemas.FactorRef, Role.FACILITATOR, factors.approve),
    "factor.hide": Command(schemas.FactorRef, Role.FACILITATOR, factors.hide),
    "factor.remove": Command(schemas.FactorRemove, Role.FACILITATOR, factors.remove),
    "factor.restore": Command(schemas.FactorRef, Role.FACILITATOR, factors.restore),
    "factor.merge": Command(schemas.FactorMerge, Role.FACILITATOR, factors.merge),
    "category.add": Command(schemas.CategoryAdd, Role.FACILITATOR, workshops.add_category),
    "category.rename": Command(schemas.CategoryRename, Role.FACILITATOR, workshops.rename_category),
    "workshop.configure": Command(schemas.WorkshopConfigure, Role.FACILITATOR, workshops.configure),
    "step.set": Command(schemas.StepSet, Role.FACILITATOR, workshops.set_step),
    "timer.set": Command(schemas.TimerSet, Role.FACILITATOR, workshops.set_timer),
    "round.open": Command(schemas.RoundOpen, Role.FACILITATOR, voting.open_round),
    "round.configure": Command(schemas.RoundConfigure, Role.FACILITATOR, voting.configure_round),
    "round.close": Command(schemas.RoundRef, Role.FACILITATOR, voting.close_round),
    "round.reveal": Command(schemas.RoundRef, Role.FACILITATOR, voting.reveal_round),
    "proxy.add": Command(schemas.ProxyAdd, Role.FACILITATOR, participants.add_proxy),
}

# The only command a closed workshop accepts: stepping back to reopen it.
_ALLOWED_WHEN_CLOSED = {"step.set"}


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
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "payload"
    error = DomainError("invalid_input", N_("Check the %(field)s."), field=field)
    return error_answer(error.at(field))


# The most commands one transaction runs: bounds the wait of the first in line, and how long
# the event loop runs nothing else (SQLite does not yield to it).
BATCH_MAX = 50


@dataclass
class _Pending:
    """A command waiting for its turn, then for the transaction that runs it."""

    actor: Actor
    name: str
    payload: Any
    answer: dict[str, Any] | None = None
    error: Exception | None = None


class Services:
    """The use cases, bound to a database and to whoever listens for changes."""

    def __init__(self, db: Database, publisher: Publisher) -> None:
        self.db = db
        self.publisher = publisher
        self._waiting: list[_Pending] = []
        self._waiting_lock = threading.Lock()
        # Reentrant: a use case's caller may run another command from within (tests do).
        self._turn = threading.RLock()

    # --- Commands -----------------------------------------------------------------------

    def execute(self, actor: Actor, name: str, raw: Any) -> dict[str, Any]:
        """Run one client command and return its answer (the acknowledgement), sent only
        after the command's transaction has committed.

        A command id already answered for this actor gets the stored answer again and
        changes nothing, so a phone may safely resend after a reconnect.

        Commands arriving while another transaction runs wait together, and the next of
        them to get its turn runs them all in one transaction (each in a savepoint of its
        own, the workshops locked once, in one order): under load, one commit serves many
        commands; alone, a command runs at once.
        """
        spec = COMMANDS.get(name)
        if spec is None:
            return error_answer(DomainError("unknown_command", N_("Unknown command.")))
        payload = self._parse(spec.schema, raw)
        if isinstance(payload, dict):
            return payload
        if actor.role is not spec.role:
            return error_answer(DomainError("forbidden", N_("You may not do that.")))
        pending = _Pending(actor, name, payload)
        with self._waiting_lock:
            self._waiting.append(pending)
        with self._turn:
            while pending.answer is None and pending.error is None:
                with self._waiting_lock:
                    batch = self._waiting[:BATCH_MAX]
                    del self._waiting[:BATCH_MAX]
                self._run_batch(batch)
        if pending.error is not None:
            raise pending.error
        assert pending.answer is not None
        return pending.answer

    def _run_batch(self, batch: list[_Pending]) -> None:
        """Run waiting commands in one transaction; each gets its answer or its error."""
        # Grouped by workshop in one order (PostgreSQL row locks taken in the same order by
        # every process cannot deadlock), in order of arrival within a workshop.
        batch = sorted(batch, key=lambda p: p.actor.code)
        changes: list[Change] = []
        try:
            with self.db.write() as s:
                locked: dict[str, models.Workshop | None] = {}
                for pending in batch:
                    try:
                        with s.begin_nested():
                            pending.answer, change = self._run(s, locked, pending)
                    except DomainError as error:
                        pending.answer = error_answer(error)
                    except Exception as error:  # a bug: this command fails, not the others
                        pending.error = error
                    else:
                        if change is not None:
                            changes.append(change)
        except Exception as error:  # the commit failed: no command of the batch is done
            for pending in batch:
                pending.answer, pending.error = None, error
            return
        for change in changes:
            self.publisher.publish(change)

    def _run(
        self, s: Any, locked: dict[str, models.Workshop | None], pending: _Pending
    ) -> tuple[dict[str, Any], Change | None]:
        """One command inside the batch's transaction: its answer, and what changed."""
        actor, payload = pending.actor, pending.payload
        if actor.code not in locked:
            locked[actor.code] = lock_workshop(s, actor.code)
        workshop = locked[actor.code]
        if workshop is None:
            raise DomainError("unknown_workshop", N_("There is no workshop with that code."))
        participant = self._authorise(s, workshop, actor)
        key = f"p{participant.id}" if participant else "f"
        stored = s.scalar(
            select(models.CommandRecord.answer).where(
                models.CommandRecord.workshop_id == workshop.id,
                models.CommandRecord.actor == key,
                models.CommandRecord.command_id == payload.command_id,
            )
        )
        if stored is not None:
            return dict(stored), None
        tx = Tx(s, workshop, actor, participant)
        try:
            # A refusal undoes the command's changes (back to the savepoint) and is recorded
            # in this transaction, under the workshop's lock: a duplicate cannot run between
            # the refusal and its record.
            with s.begin_nested():
                if workshop.step == Step.CLOSED and pending.name not in _ALLOWED_WHEN_CLOSED:
                    raise DomainError("workshop_closed", N_("The workshop is closed."))
                data = COMMANDS[pending.name].run(tx, payload)
                bump(workshop)
            answer: dict[str, Any] = {"ok": True, "version": workshop.version, "data": data}
        except DomainError as error:
            answer = error_answer(error)
        s.add(_record(workshop.id, key, payload.command_id, answer))
        return answer, tx.change if answer["ok"] else None

    @staticmethod
    def _parse(schema: type[BaseModel], raw: Any) -> Any:
        if not isinstance(raw, dict):
            error = DomainError("invalid_input", N_("The command needs an object."))
            return error_answer(error.at("payload"))
        try:
            return schema.model_validate(raw)
        except ValidationError as exc:
            return validation_error(exc)

    @staticmethod
    def _authorise(s: Any, workshop: models.Workshop, actor: Actor) -> models.Participant | None:
        """Check the actor against the database on every command: the facilitator's secret,
        or the participant's cookie id."""
        if actor.role is Role.FACILITATOR:
            if not secret_matches(actor.secret, workshop):
                raise DomainError("forbidden", N_("You may not do that."))
            return None
        participant = participants.find(s, workshop, actor.token)
        if participant is None:
            raise DomainError("not_joined", N_("Open the workshop's join link again."))
        return participant

    # --- Other use cases ----------------------------------------------------------------

    def create_workshop(
        self, *, title: str, language: str, categories: list[str] | None, seeds: list[SeedFactor]
    ) -> tuple[str, str]:
        """Create a workshop; returns its join code and the facilitator secret."""
        with self.db.write() as s:
            workshop, secret = workshops.create(
                s, title=title, language=language, categories=categories, seeds=seeds
            )
            code = workshop.code
        return code, secret

    def join(self, code: str, token: str) -> tuple[int, int]:
        """A participant with this cookie id connects: created on first connect. Returns the
        workshop's and the participant's ids."""
        with self.db.write() as s:
            workshop = lock_workshop(s, code)
            if workshop is None:
                raise DomainError("unknown_workshop", N_("There is no workshop with that code."))
            if workshop.step == Step.CLOSED and participants.find(s, workshop, token) is None:
                raise DomainError("workshop_closed", N_("The workshop is closed."))
            participant, new = participants.join(s, workshop, token)
            if new:
                bump(workshop)
            ids = workshop.id, participant.id
        if new:
            self.publisher.publish(Change(ids[0]))
        return ids

    def delete_workshop(self, code: str, secret: str | None) -> None:
        """The facilitator deletes a workshop with all its data. What stays is a line saying
        that a workshop was deleted, when, and how much went — without any content."""
        with self.db.write() as s:
            workshop = _locked_for_facilitator(s, code, secret)
            workshop_id = workshop.id
            s.add(workshops.deletion(s, workshop))
            s.delete(workshop)
        self.publisher.publish(Change(workshop_id))

    def replace_secret(self, code: str, secret: str | None) -> str:
        """The facilitator replaces their link (it leaked, or was shared too widely): returns
        the new secret. Every screen holding the old one loses access at its next command,
        page or connection."""
        with self.db.write() as s:
            workshop = _locked_for_facilitator(s, code, secret)
            new = new_secret()
            workshop.facilitator_secret_hash = hash_secret(new)
            s.add(
                models.LogEntry(
                    workshop_id=workshop.id, actor="facilitator", action="facilitator_link.replaced"
                )
            )
            bump(workshop)
            workshop_id = workshop.id
        self.publisher.publish(Change(workshop_id))
        return new

    def apply_retention(self, cutoff: datetime, action: str, *, dry_run: bool = False) -> int:
        """Anonymise or delete every closed workshop unchanged since before `cutoff`; returns
        how many (with `dry_run`, how many would be). One transaction per workshop, each
        checked again under its lock, so a workshop reopened meanwhile is left alone."""
        with self.db.read() as s:
            codes = retention.due(s, cutoff, action)
        if dry_run:
            return len(codes)
        done = 0
        for code in codes:
            with self.db.write() as s:
                workshop = lock_workshop(s, code)
                if workshop is None or not retention.is_due(workshop, cutoff, action):
                    continue
                workshop_id = workshop.id
                if action == retention.DELETE:
                    retention.remove(s, workshop)
                else:
                    retention.anonymise(s, workshop)
            self.publisher.publish(Change(workshop_id))
            done += 1
        return done

    def authorise_facilitator(self, code: str, secret: str | None) -> models.Workshop:
        """The workshop, if `secret` is its facilitator secret; otherwise an error."""
        with self.db.read() as s:
            workshop = workshops.find(s, code)
            if not secret_matches(secret, workshop):
                raise DomainError("forbidden", N_("You may not do that."))
            return workshop

    def proxy_actor(self, code: str, secret: str | None, number: Any) -> Actor:
        """The proxy participant `number` of the workshop as an actor, for its facilitator:
        the facilitator then votes for them as they would on a phone."""
        with self.db.read() as s:
            workshop = workshops.find(s, code)
            if not secret_matches(secret, workshop):
                raise DomainError("forbidden", N_("You may not do that."))
            proxy = participants.find_proxy(s, workshop, number)
            return Actor(Role.PARTICIPANT, workshop.code, token=proxy.token)

    def find_proxy(self, code: str, number: int) -> models.Participant:
        """The workshop's proxy participant with this number (for its facilitator's page)."""
        with self.db.read() as s:
            return participants.find_proxy(s, workshops.find(s, code), number)

    def check_database(self) -> None:
        """Raises SQLAlchemy's error if the database does not answer a query."""
        with self.db.read() as s:
            s.execute(text("SELECT 1"))

    def find_workshop(self, code: str) -> models.Workshop:
        with self.db.read() as s:
            return workshops.find(s, code)

    def snapshot(self, actor: Actor, view: str) -> dict[str, Any]:
        """The full state for one view ("board", "console" or "phone"); a phone's comes
        with its own part ("me")."""
        with self.db.read() as s:
            workshop = workshops.find(s, actor.code)
            participant = self._authorise(s, workshop, actor)
            room = state.room_view(s, workshop)
            if participant is not None:
                return {
                    "state": state.phone_view(room),
                    "me": state.personal_view(s, workshop, participant),
                }
            if view == "console":
                return {"state": state.console_view(s, workshop, room)}
            return {"state": room}

    def record(self, code: str, *, nicknames: bool = False) -> dict[str, Any]:
        """The complete workshop for an export (with nicknames only when asked for)."""
        with self.db.read() as s:
            return state.record(s, workshops.find(s, code), nicknames=nicknames)


def _locked_for_facilitator(s: Any, code: str, secret: str | None) -> models.Workshop:
    """The workshop, locked for writing, if `secret` is its facilitator's."""
    workshop = lock_workshop(s, domain.normalise_code(code))
    if workshop is None:
        raise DomainError("unknown_workshop", N_("There is no workshop with that code."))
    if not secret_matches(secret, workshop):
        raise DomainError("forbidden", N_("You may not do that."))
    return workshop


def bump(workshop: models.Workshop) -> None:
    """Every change raises the workshop's version, in the same transaction."""
    workshop.version += 1
    workshop.updated_at = models.utcnow()


def _record(
    workshop_id: int, actor: str, command_id: str, answer: dict[str, Any]
) -> models.CommandRecord:
    return models.CommandRecord(
        workshop_id=workshop_id, actor=actor, command_id=command_id, answer=answer
    )
