"""Worker processes start light (facilitation/infrastructure/workers.py): what a worker
imports as it starts — app.py, as Python's spawn imports the main module, and the workers'
module — loads neither the assembled app nor the Socket.IO server; the job's own modules
come with its first job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a spawned worker runs before its first job, then what it has loaded.
STARTING_WORKER = """
import json, runpy, sys
runpy.run_path("app.py", run_name="__mp_main__")
import facilitation.infrastructure.workers
print(json.dumps(sorted(sys.modules)))
"""


def test_a_starting_worker_imports_neither_the_app_nor_socketio() -> None:
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", STARTING_WORKER],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert "facilitation.infrastructure.workers" in loaded
    assert "facilitation.assembly" not in loaded
    assert not [m for m in loaded if m.startswith(("flask_socketio", "socketio", "sqlalchemy"))]
    assert not [m for m in loaded if m.startswith("facilitation.edges.live")]
