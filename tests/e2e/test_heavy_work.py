"""Heavy work never holds the rooms: exports and password checks run in worker processes of
the real server (eventlet and gevent), below its priority, while phones keep voting and
/healthz keeps answering; a large export shows its progress and lands as a file."""

from __future__ import annotations

import importlib.util
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.exports import build, in_process

from .conftest import ASYNC_MODES, Clients, Server, command_id, running, unavailable

pytestmark = pytest.mark.e2e

# A zip export of this takes seconds of CPU: long enough to see what else is answered meanwhile.
FACTORS, PARTICIPANTS = 100, 300


@pytest.fixture(params=ASYNC_MODES)
def big(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, str, str]]:
    """A server whose database holds a big workshop (every method voted by hundreds): the
    server, the workshop's code and its facilitator secret."""
    mode: str = request.param
    if importlib.util.find_spec(mode) is None:
        unavailable(mode)
    instance = Server(mode, tmp_path)
    app = in_process(f"sqlite:///{instance.database}")
    services = app.extensions["samsyn"].services
    code, secret = build(services, FACTORS, PARTICIPANTS)
    app.extensions["samsyn"].db.dispose()
    instance.env["PROXY_HOPS"] = "1"
    with running(request, instance) as started:
        yield started, code, secret


def test_an_export_never_holds_the_room(big: tuple[Server, str, str]) -> None:
    """While a zip of a big workshop is being written, /healthz answers and a phone's
    commands are acknowledged, again and again; the export then arrives whole."""
    server, code, secret = big
    bearer = {"Authorization": f"Bearer {secret}"}
    small = requests.post(f"{server.url}/api/workshops", json={"title": "Rum"}, timeout=10).json()
    clients = Clients(server)
    try:
        _, phone = clients.phone(small["code"])
        exported: dict[str, Any] = {}

        def export() -> None:
            exported["response"] = requests.get(
                f"{server.url}/api/workshops/{code}/export.zip", headers=bearer, timeout=120
            )

        exporting = threading.Thread(target=export)
        exporting.start()
        health = commands = 0
        while exporting.is_alive():
            if requests.get(f"{server.url}/healthz", timeout=30).status_code == 200:
                health += 1
            nickname = f"Kim {commands}"
            rename = {"command_id": command_id(), "nickname": nickname}
            if phone.call("participant.rename", rename, timeout=30)["ok"]:
                commands += 1
        exporting.join()
        # Answered while the export was being written, not only before or after it.
        assert health >= 5 and commands >= 5, (health, commands)
        response = exported["response"]
        assert response.status_code == 200
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        assert sorted(n.rsplit(".", 1)[1] for n in names) == ["csv", "json", "pdf", "xlsx"]
    finally:
        clients.close()


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks


def test_a_large_export_shows_its_progress_and_lands_as_a_file(
    big: tuple[Server, str, str],
) -> None:
    """Asked as the console asks (`Prefer: respond-async`), a large export answers 202 with
    its job at once; its state goes from waiting or running to done, and the file is then
    there. Workers run below the server's priority. A workshop has at most three exports
    under way; the same one asked again joins the job."""
    server, code, secret = big
    bearer = {"Authorization": f"Bearer {secret}", "Prefer": "respond-async, wait=0"}
    base = f"{server.url}/api/workshops/{code}"
    first = requests.get(f"{base}/export.zip", headers=bearer, timeout=30)
    assert first.status_code == 202, first.status_code
    job = first.json()
    assert first.headers["Location"] == job["status_url"]
    assert job["state"] in ("queued", "running")
    again = requests.get(f"{base}/export.zip", headers=bearer, timeout=30).json()
    assert again["id"] == job["id"]
    others = [
        requests.get(f"{base}/export.{fmt}", headers=bearer, timeout=30).status_code
        for fmt in ("xlsx", "pdf", "csv")
    ]
    assert others[:2] == [202, 202] and others[2] == 429, others
    seen = {job["state"]}
    while job["state"] not in ("done", "failed"):
        job = requests.get(server.url + job["status_url"], headers=bearer, timeout=30).json()
        seen.add(job["state"])
    assert job["state"] == "done" and seen & {"queued", "running"}
    assert server.process is not None
    workers = [p for p in children(server.process.pid) if niceness(p) > 0]
    assert len(workers) == 2, "not one worker for exports and one for passwords, below it"
    file = requests.get(server.url + job["file_url"], headers=bearer, timeout=30)
    assert file.status_code == 200
    assert file.headers["Content-Disposition"] == f'attachment; filename="samsyn-{code}.zip"'
    assert len(zipfile.ZipFile(io.BytesIO(file.content)).namelist()) == 4
    stranger = requests.get(server.url + job["status_url"], timeout=30)
    assert stranger.status_code == 403


def test_password_checks_burn_no_cpu_of_the_server(big: tuple[Server, str, str]) -> None:
    """Thirty wrong logins (each from an address and for a username of its own, so that no
    limit refuses them before the check) are checked by the hashing worker: the serving
    process spends a few milliseconds on each, the worker the ~30 ms of Argon2id."""
    server, _, _ = big
    assert server.process is not None
    session = requests.Session()
    page = session.get(f"{server.url}/login", timeout=10).text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    workers = children(server.process.pid)
    serving_before = cpu_seconds(server.process.pid)
    workers_before = sum(cpu_seconds(p) for p in workers)
    for n in range(30):
        answer = session.post(
            f"{server.url}/login",
            data={"csrf_token": token, "username": f"gäst{n}", "password": "fel lösenord!"},
            headers={"X-Forwarded-For": f"10.9.0.{n + 1}"},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 400, answer.status_code
    serving = cpu_seconds(server.process.pid) - serving_before
    hashing = sum(cpu_seconds(p) for p in workers) - workers_before
    assert hashing >= 0.3, f"the workers spent {hashing:.2f} s"
    assert serving < hashing, f"the server spent {serving:.2f} s, the workers {hashing:.2f} s"
