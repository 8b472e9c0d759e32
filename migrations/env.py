"""Alembic environment: runs migrations on the connection the app hands over, or on the URL
given to `alembic_config(url)` (command-line use)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from facilitation.infrastructure.db import normalise_url
from facilitation.infrastructure.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run on the app's connection when there is one, else on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(normalise_url(config.get_main_option("sqlalchemy.url") or ""))
    with engine.begin() as connection:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
