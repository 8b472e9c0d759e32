"""The secret key kept in the instance folder when SECRET_KEY is unset: processes starting
together on one folder (compose.yaml's two app containers share one volume) agree on it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from facilitation.infrastructure.config import instance_secret_key


def test_the_key_is_made_once_and_kept(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    key = instance_secret_key(instance)
    assert len(key) >= 48
    assert [p.name for p in instance.iterdir()] == ["secret_key"]
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
    assert instance_secret_key(instance) == key


def test_a_process_that_lost_the_race_reads_the_winners_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process made the key after this one looked and found none: this one uses
    that key instead of failing or making a second."""
    instance = tmp_path / "instance"
    winner = instance_secret_key(instance)
    monkeypatch.setattr(Path, "exists", lambda self: False)  # looked before the other wrote
    assert instance_secret_key(instance) == winner
    assert [p.name for p in instance.iterdir()] == ["secret_key"]
