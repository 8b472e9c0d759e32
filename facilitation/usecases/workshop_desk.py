"""The workshops' entry point: their commands (run as commands.py says), creating, joining,
deleting one and replacing its facilitator link, the checks of who may open its screens,
and what those screens and its exports read.

Layer: use cases. Imports the core, the models, the queries and the use cases' modules;
never Flask or Socket.IO. The edges reach it as `services.workshops`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any

from facilitation.core import domain
from facilitation.core.domain import DEFAULT_TIME_ZONE, N_, DomainError, Role, SeedFactor, Step
from facilitation.infrastructure import models
from facilitation.infrastructure.db import lock_workshop
from facilitation.queries import state
from facilitation.queries.views import (
    ConsoleView,
    Me,
    Participation,
    Record,
    RoomView,
    Snapshot,
)
from facilitation.usecases import participants, series, workshops
from facilitation.usecases.arrivals import Arrivals
from facilitation.usecases.base import (
    AccessEnded,
    Actor,
    Change,
    SeriesChange,
    bump,
    hash_secret,
    new_secret,
    secret_matches,
)
from facilitation.usecases.commands import CommandRunner, Desk, authorise, unknown_workshop


class WorkshopDesk(Desk):
    """A workshop's use cases, for its screens, its pages and its API."""

    def __init__(self, commands: CommandRunner) -> None:
        super().__init__(commands)
        self.arrivals = Arrivals(self.db)

    def execute(self, actor: Actor, name: str, raw: Any) -> dict[str, Any]:
        """Run one client command and return its answer (the acknowledgement), sent only
        after the command's transaction has committed.

        A command id already answered for this actor gets the stored answer again and
        changes nothing, so a phone may safely resend after a reconnect. Commands arriving
        while another transaction runs wait together and share the next transaction
        (`commands.py`): under load, one commit serves many commands; alone, a command
        runs at once.
        """
        return self.commands.execute(actor, name, raw)

    @staticmethod
    def _authorise(s: Any, workshop: models.Workshop, actor: Actor) -> models.Participant | None:
        """Check the actor against the database: the facilitator's secret, or the
        participant's cookie id (the participant, for a participant)."""
        participant = (
            participants.find(s, workshop, actor.token) if actor.role is Role.PARTICIPANT else None
        )
        authorise(workshop, actor, participant)
        return participant

    def create(
        self,
        *,
        title: str,
        language: str,
        categories: list[str] | None,
        seeds: list[SeedFactor],
        owner_id: int | None = None,
        time_zone: str = DEFAULT_TIME_ZONE,
    ) -> tuple[str, str]:
        """Create a workshop; returns its join code and the facilitator secret. Made by a
        logged-in organizer (`owner_id`), it is theirs: listed on their page, and opened
        through their login too."""
        with self.db.write() as s:
            workshop, secret = workshops.create(
                s,
                title=title,
                language=language,
                categories=categories,
                seeds=seeds,
                time_zone=time_zone,
            )
            workshop.owner_id = owner_id
            code = workshop.code
        return code, secret

    def join(
        self, code: str, token: str, admit: Callable[[], bool] | None = None
    ) -> tuple[int, int]:
        """A participant with this cookie id connects: created on first connect, if the
        workshop takes new participants and `admit` (the edge's guard on joins, asked only
        about someone new) lets them in. Returns the workshop's and the participant's ids."""
        workshop_id, participant_id, _ = self.arrive(code, token, admit)
        return workshop_id, participant_id

    def arrive(
        self,
        code: str,
        token: str,
        admit: Callable[[], bool] | None = None,
        phones_see: Callable[[int], RoomView | None] = lambda _: None,
    ) -> tuple[int, int, Snapshot]:
        """A phone connects (`join`), and gets its full state: the workshop's and the
        participant's ids and the phone's snapshot. `phones_see(workshop_id)` may give the
        room's view as read since the last change phones would see, so that a room joining
        at once need not read it for each phone. Every phone is looked up together with
        those connecting at the same moment (arrivals.py); one coming back is then given its
        state in a read, someone new is made a participant in a batch with whoever else joins
        (commands.py), which reads their own views together after its commit."""
        # Looked up with the phones connecting at the same moment (arrivals.py). A phone
        # coming back (after sleep, or all of them after the wifi dropped) is found without
        # taking the write lock, and is never counted by the guard.
        found = self.arrivals.find(code, token)
        if found.participant_id is not None:
            with self.db.read() as s:
                workshop = s.get(models.Workshop, found.workshop_id)
                if workshop is None:  # deleted since
                    raise unknown_workshop()
                shown = phones_see(workshop.id) or state.room_view(s, workshop)
                views = state.personal_views(s, workshop, {found.participant_id})
                return (
                    workshop.id,
                    found.participant_id,
                    {"state": state.phone_view(shown), "me": views[found.participant_id]},
                )
        # Checked again under the workshop's lock; here, so that the guard counts no one who
        # could not come in anyway.
        domain.check_can_join(Step(found.step), doors_closed=found.doors_closed)
        if admit is not None and not admit():
            raise DomainError(
                "too_many_joins",
                N_("Very many are joining at once. This page tries again by itself shortly."),
            )
        # The first connect takes its turn with the commands (`commands.py`): a room
        # joining at once shares transactions.
        actor = Actor(Role.PARTICIPANT, code, token=token)
        workshop_id, participant_id, me = self.commands.join(actor)
        room = phones_see(workshop_id)
        if room is None:
            with self.db.read() as s:
                room = state.room_view(s, workshops.find(s, code))
        return workshop_id, participant_id, {"state": state.phone_view(room), "me": me}

    def delete(self, code: str, secret: str | None) -> None:
        """The facilitator deletes a workshop with all its data. What stays is a line saying
        that a workshop was deleted, when, and how much went — without any content.

        Not a command of the table (registry.py): its stored answers go with the workshop,
        so none could be kept, and deleting it again is refused as unknown anyway."""
        with self.db.write() as s:
            workshop = _locked_for_facilitator(s, code, secret)
            workshop_id, series_id = workshop.id, workshop.series_id
            s.add(workshops.deletion(s, workshop))
            s.delete(workshop)
        self.publisher.publish(Change(workshop_id))
        if series_id is not None:
            # Its series' follow pages: the workshop is gone, so only the series says where.
            self.publisher.publish(SeriesChange(0, series_id=series_id))

    def replace_secret(self, code: str, secret: str | None) -> str:
        """The facilitator replaces their link (it leaked, or was shared too widely): returns
        the new secret. Every screen holding the old one loses access at once: its open
        screens are checked again, and its next command, page or connection is refused.

        Not a command of the table (registry.py): its answer is the new secret, which no
        stored answer may hold, and a repeat holds the old secret, so it is refused."""
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
        self.publisher.publish(AccessEnded(workshop_id))
        return new

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

    def find_workshop(self, code: str) -> models.Workshop:
        with self.db.read() as s:
            return workshops.find(s, code)

    def snapshot(self, actor: Actor, view: str) -> Snapshot:
        """The full state for one view ("board", "console" or "phone"); a phone's comes
        with its own part ("me"). (A phone connecting gets it from `arrive`.)"""
        with self.db.read() as s:
            workshop = workshops.find(s, actor.code)
            participant = self._authorise(s, workshop, actor)
            if participant is not None:
                room = state.room_view(s, workshop)
                return {
                    "state": state.phone_view(room),
                    "me": state.personal_view(s, workshop, participant),
                }
            room = state.room_view(s, workshop)
            if view == "console":
                return {"state": state.console_view(s, workshop, room)}
            return {"state": room}

    def screens(
        self, workshop_id: int, *, console: bool, people: set[int]
    ) -> tuple[RoomView, ConsoleView | None, dict[int, Me]] | None:
        """What the broadcaster sends a changed workshop's screens: the room's view, the
        console's (when asked for) and the personal views of `people`, from one read
        transaction; None if the workshop is gone."""
        with self.db.read() as s:
            workshop = s.get(models.Workshop, workshop_id)
            if workshop is None:
                return None
            return state.screens(s, workshop, console=console, people=people)

    def recount(
        self,
        workshop_id: int,
        *,
        round_id: int | None,
        since: int,
        counted: AbstractSet[int],
    ) -> tuple[int, Participation] | None:
        """What the screens of a workshop whose only changes since version `since` were
        people joining and ballots are sent: its version, and who joined and who voted in
        the round shown (`round_id`), from one read transaction. None if anything else
        changed: unless every version after `since` is one of `counted` (those the joins and
        ballots made), a change the caller has not heard of (from another process) came
        between, and only a whole read will do."""
        with self.db.read() as s:
            workshop = s.get(models.Workshop, workshop_id)
            if workshop is None or workshop.version < since:
                return None
            if not all(v in counted for v in range(since + 1, workshop.version + 1)):
                return None
            return workshop.version, state.participation(s, workshop, round_id)

    def own_views(self, workshop_id: int, people: set[int]) -> dict[int, Me] | None:
        """The personal views of these participants, from one read transaction (the same
        few queries for a crowd as for one); None if the workshop is gone."""
        with self.db.read() as s:
            workshop = s.get(models.Workshop, workshop_id)
            if workshop is None:
                return None
            return state.personal_views(s, workshop, people)

    def record(self, code: str, *, nicknames: bool = False) -> Record:
        """The complete workshop for an export (with nicknames only when asked for)."""
        with self.db.read() as s:
            return state.record(s, workshops.find(s, code), nicknames=nicknames)

    def facilitators_still_in(
        self, held: dict[int, set[str | None]]
    ) -> dict[int, set[str | None] | None]:
        """Of the facilitator secrets and console keys that opened screens of these
        workshops, those that still open them; None for a workshop gone. One read for all."""
        with self.db.read() as s:
            passing: dict[int, set[str | None] | None] = {}
            for workshop_id, secrets in held.items():
                workshop = s.get(models.Workshop, workshop_id)
                passing[workshop_id] = (
                    {x for x in secrets if secret_matches(x, workshop)} if workshop else None
                )
            return passing

    def factor_evidence(self, code: str) -> dict[int, list[dict[str, Any]]]:
        """The evidence behind the workshop's factors (from its series' library), by id."""
        with self.db.read() as s:
            return series.evidence(s, workshops.find(s, code))


def _locked_for_facilitator(s: Any, code: str, secret: str | None) -> models.Workshop:
    """The workshop, locked for writing, if `secret` is its facilitator's."""
    workshop = lock_workshop(s, domain.normalise_code(code))
    if workshop is None:
        raise DomainError("unknown_workshop", N_("There is no workshop with that code."))
    if not secret_matches(secret, workshop):
        raise DomainError("forbidden", N_("You may not do that."))
    return workshop
