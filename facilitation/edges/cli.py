"""Commands for the people who run Samsyn: `python -m facilitation <command>`.

Layer: edge (command line). Configured from the environment, like the app.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import click

from facilitation.core.domain import DomainError
from facilitation.infrastructure import backup as backups
from facilitation.infrastructure import logs, models
from facilitation.infrastructure.config import Config
from facilitation.infrastructure.db import Database
from facilitation.usecases import RETENTION_ACTIONS as ACTIONS
from facilitation.usecases import Change, Services

log = logging.getLogger("samsyn.retention")
accounts_log = logging.getLogger("samsyn.organizers")
backup_log = logging.getLogger("samsyn.backup")


class _NoScreens:
    """Nothing is connected to a command-line run: changes go to no one."""

    def publish(self, change: Change) -> None:
        pass


@click.group()
def main() -> None:
    """Samsyn's maintenance commands."""


@main.command()
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Closed workshops unchanged for this many days are due [RETENTION_DAYS].",
)
@click.option(
    "--action",
    type=click.Choice(ACTIONS),
    help="Anonymise them (results stay) or delete them [RETENTION_ACTION].",
)
@click.option("--dry-run", is_flag=True, help="Only say how many workshops are due.")
def retention(days: int | None, action: str | None, dry_run: bool) -> None:
    """Anonymise or delete closed workshops older than the retention period.

    Meant for a scheduler, e.g. daily from cron. Safe to run while the app serves: each
    workshop is handled in a transaction of its own, under its lock.
    """
    config = Config()
    logs.configure(config)
    days = days or config.RETENTION_DAYS
    action = action or config.RETENTION_ACTION
    if action not in ACTIONS:
        raise click.BadParameter(
            f"must be one of {', '.join(ACTIONS)}", param_hint="RETENTION_ACTION"
        )
    db = Database(config.DATABASE_URL)
    db.migrate()
    cutoff = models.utcnow() - timedelta(days=days)
    operations = Services(db, _NoScreens()).operations
    count = operations.apply_retention(cutoff, action, dry_run=dry_run)
    verb = {"anonymise": "anonymised", "delete": "deleted"}[action]
    what = f"{count} closed workshop{'' if count == 1 else 's'} unchanged for {days} days"
    if dry_run:
        click.echo(f"{what} would be {verb}.")
    else:
        log.info("retention: %s %s", what, verb)
        click.echo(f"{what} {verb}.")


@main.command("create-organizer")
@click.argument("username")
@click.password_option(help="The password (asked for twice, not shown, when not given).")
def create_organizer(username: str, password: str) -> None:
    """Create an organizer account (the first one, or another).

    Also `flask --app facilitation create-organizer USERNAME`. Organizers log in at /login,
    own series of workshops and invite co-facilitators.
    """
    config = Config()
    logs.configure(config)
    db = Database(config.DATABASE_URL)
    db.migrate()
    try:
        Services(db, _NoScreens()).organizers.create(username, password)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    finally:
        db.dispose()
    click.echo(f"Organizer {username!r} created. Log in at /login.")


@main.command("delete-organizer")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Delete without asking first.")
def delete_organizer(username: str, yes: bool) -> None:
    """Delete an organizer account, with the series it owns.

    Its logins end, and every console and board opened through them is disconnected
    within a second. The series it owns are deleted with their libraries and workshops
    (as deleting each series would); it leaves the series it co-facilitates. Workshops it
    made outside a series stay, for whoever holds their facilitator links.
    """
    config = Config()
    logs.configure(config)
    db = Database(config.DATABASE_URL)
    db.migrate()
    organizers = Services(db, _NoScreens()).organizers
    try:
        owned = organizers.account_deletion(organizers.find(username))
        for series in owned:
            click.echo(f"Series {series['title']!r} with {series['workshops']} workshop(s)")
        if not yes:
            what = f"{len(owned)} series and the account" if owned else "the account"
            click.confirm(f"Delete {what} of {username!r}?", abort=True)
        gone = organizers.delete(username)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    finally:
        db.dispose()
    accounts_log.info("organizer deleted with %s series", gone["series"])
    click.echo(
        f"Organizer {username!r} deleted, with {gone['series']} series and "
        f"{gone['workshops']} workshop(s)."
    )


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a backup of the database to PATH, safe while the app serves.

    SQLite: a copy made with SQLite's online backup API. PostgreSQL: a `pg_dump` archive
    in its custom format (needs PostgreSQL's client programs, the server's version or
    newer). Restore it with `python -m facilitation restore PATH`.
    """
    config = Config()
    logs.configure(config)
    try:
        backups.backup(config.DATABASE_URL, path)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    size = path.stat().st_size
    backup_log.info("backup written (%s bytes)", size)
    click.echo(f"Backup written to {path} ({size} bytes).")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--replace",
    is_flag=True,
    help="Overwrite a database that already holds data (stop the app first).",
)
def restore_command(path: Path, replace: bool) -> None:
    """Put the backup at PATH into the database of DATABASE_URL, then migrate it.

    Meant for an empty database (a fresh instance); one that holds data is only
    overwritten with --replace, and then only with every app process stopped.
    """
    config = Config()
    logs.configure(config)
    try:
        backups.restore(config.DATABASE_URL, path, replace=replace)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    backup_log.info("backup restored")
    click.echo(f"Backup {path} restored.")
