"""nginx in front of app processes, with the deployment's own configuration snippets
(deploy/nginx/): for the scale benchmark (`python -m bench.scale --processes 2`) and the
scale-out tests alike."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from facilitation.infrastructure.config import ROOT

from .process import answers, cpu_seconds, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY = ROOT / "deploy" / "nginx"


class Upstream(Protocol):
    port: int


class Nginx:
    """nginx in the foreground on a free port, sticky by the route cookie as deployed."""

    def __init__(self, directory: Path, upstreams: Sequence[Upstream]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        servers = "\n".join(f"        server 127.0.0.1:{s.port};" for s in upstreams)
        temp = " ".join(
            f"{kind}_temp_path {directory}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.config = directory / "nginx.conf"
        self.config.write_text(
            f"""
daemon off;
worker_processes 1;
worker_rlimit_nofile 65536;
{"user root root;" if os.geteuid() == 0 else ""}
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 32768; }}
http {{
    access_log off;
    {temp}
    include {DEPLOY}/samsyn-http.conf;
    upstream samsyn {{
        hash $samsyn_route consistent;
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
        location / {{
            include {DEPLOY}/samsyn-proxy.conf;
        }}
    }}
}}
"""
        )
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return Path(NGINX).exists()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.directory), "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while not answers(self.url + "/healthz"):
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not answer:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """nginx's master and worker: utime + stime of each, from /proc."""
        assert self.process is not None
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(pid) for pid in children.read_text().split()]
        total = 0.0
        for pid in pids:
            with contextlib.suppress(FileNotFoundError):  # a worker that ended meanwhile
                total += cpu_seconds(pid)
        return total

    def log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text() if path.exists() else "(no log)"
