"""The series' entry point: creating and deleting one, its pages, its and its library's
commands (run as commands.py says), invitations, and its public follow page.

Layer: use cases. Imports the models, the queries and the use cases' modules; never Flask
or Socket.IO. The edges reach it as `services.series`.
"""

from __future__ import annotations

from typing import Any

from facilitation.infrastructure import models
from facilitation.queries.combined_record import combined_record
from facilitation.queries.follow_view import follow_view
from facilitation.queries.views import CombinedRecord, FollowPage, FollowView
from facilitation.usecases import accounts, series
from facilitation.usecases.base import Change, SeriesChange
from facilitation.usecases.commands import Desk


class SeriesDesk(Desk):
    """A series' use cases, for its organizers' pages and its public follow page."""

    def create(self, login: accounts.Login, raw: Any) -> int:
        """A new series owned by the organizer; its id."""
        with self.db.write() as s:
            return series.create(s, login.organizer_id, raw).id

    def page(self, login: accounts.Login, series_id: int) -> dict[str, Any]:
        """The series for its organizers: settings, workshops, people, log, and the picture."""
        with self.db.read() as s:
            page = series.page(s, login.organizer_id, series_id)
            found, _ = series.find(s, login.organizer_id, series_id)
            page["record"] = combined_record(s, found)
            return page

    def execute(self, login: accounts.Login, series_id: int, name: str, raw: Any) -> dict[str, Any]:
        """Run one series or library command (registry.SERIES_COMMANDS) and return its
        answer, as `WorkshopDesk.execute` does a workshop's: its `command_id` answered once."""
        return self.commands.execute_in_series(login.organizer_id, series_id, name, raw)

    def delete(self, login: accounts.Login, series_id: int) -> None:
        """The owner deletes the series, its library and its workshops."""
        with self.db.write() as s:
            gone = series.delete(s, login.organizer_id, series_id)
        for workshop_id in gone:
            self.publisher.publish(Change(workshop_id))
        self.publisher.publish(SeriesChange(0, series_id=series_id))

    def invitation(self, token: str) -> str:
        """The title of the series an invitation link is for, if the link is still good."""
        with self.db.read() as s:
            found = series.invitation(s, token)
            invited = s.get(models.Series, found.series_id)
            assert invited is not None
            return invited.title

    def accept_invitation(self, login: accounts.Login, token: str) -> int:
        """The organizer becomes a co-facilitator of the invitation's series; its id."""
        with self.db.write() as s:
            return series.accept(s, login.organizer_id, token)

    def role(self, organizer_id: int, series_id: int) -> str:
        """The organizer's role in the series ("owner" or "co-facilitator"); unknown_series
        for a series they have no part in."""
        with self.db.read() as s:
            return series.find(s, organizer_id, series_id)[1]

    def record(self, organizer_id: int, series_id: int) -> CombinedRecord:
        """The combined picture with every figure, for the organizers and the exports."""
        with self.db.read() as s:
            found, _ = series.find(s, organizer_id, series_id)
            return combined_record(s, found)

    def follow_view(self, follow_code: str) -> FollowPage:
        """A series' public follow page, if its owner made it public."""
        with self.db.read() as s:
            found = series.public(s, follow_code)
            return {"id": found.id, **follow_view(s, found)}

    def follow_views(self, series_ids: set[int]) -> dict[int, FollowView | None]:
        """The follow pages' states of these series (None for one gone or made private)."""
        with self.db.read() as s:
            views: dict[int, FollowView | None] = {}
            for series_id in series_ids:
                found = s.get(models.Series, series_id)
                public = found is not None and found.public
                views[series_id] = follow_view(s, found) if public and found else None
            return views

    def series_of(self, workshop_ids: set[int]) -> dict[int, int]:
        """The series each of these workshops belongs to (those that belong to one)."""
        with self.db.read() as s:
            return series.series_of(s, workshop_ids)
