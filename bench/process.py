"""A server as a process of its own, for the benchmarks and the end-to-end tests alike:
started with the settings it is given, waited for until it answers, stopped, or killed as a
crash would kill it, and its log kept to say why when it fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from facilitation.infrastructure.config import ROOT

# What a failure quotes of the server's log: its end, where the reason is.
LOG_TAIL = 5000


def answers(url: str) -> bool:
    """Whether `url` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """The CPU of every PostgreSQL process on this machine (the server's backends, the
    postmaster and its helpers; `comm` is "postgres"), with what the postmaster's reaped
    children spent: a database on this machine, priced beside the app's processes."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        name, rest = text[text.index("(") + 1 :].rsplit(")", 1)
        if name != "postgres":
            continue
        fields = rest.split()
        own = int(fields[11]) + int(fields[12])
        reaped = int(fields[13]) + int(fields[14])  # cutime, cstime
        total += own + reaped
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """One server process (`command`, run in the project's folder with exactly `env`) that
    serves `url`; it may be stopped and started again, each start marked in its log."""

    def __init__(
        self,
        name: str,
        command: list[str],
        *,
        env: dict[str, str],
        url: str,
        log_path: Path,
        start_timeout: float,
    ) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.url = url
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start the process and wait until GET / answers 200."""
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} ({self.name}) ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the {self.name} server exited with {self.process.returncode}:\n{self.tail()}"
                )
            if answers(self.url + "/"):
                return
            time.sleep(0.05)
        self.stop(kill=True)
        raise RuntimeError(
            f"the {self.name} server did not answer within {self.start_timeout} s:\n{self.tail()}"
        )

    def stop(self, *, kill: bool = False) -> None:
        """SIGKILL (a crash) or SIGTERM (falling back to SIGKILL), and wait for the end."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"

    def tail(self) -> str:
        return self.log()[-LOG_TAIL:]

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def peak_rss(self) -> int:
        """VmHWM from /proc/<pid>/status, in bytes."""
        return self._status("VmHWM")

    def rss(self) -> int:
        """VmRSS from /proc/<pid>/status, in bytes: resident now."""
        return self._status("VmRSS")

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field}")
