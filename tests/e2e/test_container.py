"""The container image and compose.yaml (issue #19), built and run with podman.

The image is built from the repository's Containerfile, and two containers of it run behind
nginx with the deployment's own snippets (deploy/nginx/), sharing PostgreSQL, Redis and one
instance volume, as compose.yaml runs them. Phones join through nginx and vote; the board on
each container shows the exact totals. The containers run as a user other than root, answer
their health check, and found their message catalogues compiled in the image.

What CI cannot have, and what stands in for it:
- No image registry can be reached. The base image the Containerfile starts from
  (docker.io/library/debian:bookworm-slim) is made here from Debian's packages with
  `debootstrap --variant=minbase bookworm` and `podman import`, under that name; it stays in
  podman's storage, so later runs on the same machine reuse it and the build's cached layers.
- The official postgres, redis and nginx images cannot be pulled either, so compose.yaml is
  only read (`podman-compose config`), and the two app containers run on the host network
  against the machine's own PostgreSQL (in a fresh database of this test's own) and Redis,
  behind the machine's nginx.
- Podman is called as this machine needs: runc (crun refuses its hybrid cgroups), file and
  process limits within the machine's hard limits, and the host network for the build.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from conftest import forget_redis_keys, fresh_postgres_database, unavailable

from bench.deployment import Nginx

from .conftest import ROOT, Clients, Peer, Workshop, create_workshop, free_port
from .test_scale_out import join_phones, vote_at_once
from .test_server import summed, totals_of

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PODMAN = shutil.which("podman") or "/usr/bin/podman"
DEBOOTSTRAP = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
PODMAN_COMPOSE = Path(sys.executable).with_name("podman-compose")
BASE = "docker.io/library/debian:bookworm-slim"  # the Containerfile's FROM
IMAGE = "localhost/samsyn:test"
# What this machine allows: crun refuses its hybrid cgroups, and podman's default limits
# exceed its hard ones.
RUN_OPTIONS = [
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=4096:4096",
    "--network",
    "host",
]
PHONES = 8
# Each app process keeps DATABASE_POOL_SIZE connections to PostgreSQL open (20 by default):
# the deployment's two and the two compose brings up would hold 80 of the server's 100 at
# once, beside the other tests' own ("too many clients"). A few phones need a few.
FEW_CONNECTIONS = {"DATABASE_POOL_SIZE": "6"}


def podman(*arguments: str, check: bool = True, timeout: float = 120) -> str:
    """Run podman; its output (stdout and stderr together)."""
    done = subprocess.run(
        [PODMAN, *arguments],
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert not check or done.returncode == 0, (arguments, done.stdout[-4000:])
    return done.stdout


def ca_bundle() -> str | None:
    """The CA bundle this machine's pip trusts (a TLS-inspecting proxy's, if any)."""
    for candidate in (os.environ.get("PIP_CERT"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (its path ends in /debian: not the security
    archive, not a third party's)."""
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for source in sources:
        if not source.is_file():
            continue
        for line in source.read_text(errors="replace").splitlines():
            words = line.split()
            urls = (
                words[1:] if words[:1] == ["URIs:"] else words[1:2] if words[:1] == ["deb"] else []
            )
            for url in urls:
                if url.startswith("http") and url.rstrip("/").endswith("/debian"):
                    return url
    return "http://deb.debian.org/debian"


def make_base_image() -> None:
    """The Containerfile's base image from Debian's packages, unless podman has it already."""
    if subprocess.run([PODMAN, "image", "exists", BASE], check=False).returncode == 0:
        return
    if not Path(DEBOOTSTRAP).exists() or os.geteuid() != 0:
        unavailable("debootstrap (as root), to make the base image")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as directory:
        root = Path(directory) / "rootfs"
        subprocess.run(
            [DEBOOTSTRAP, "--variant=minbase", "bookworm", str(root), debian_mirror()],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=600,
        )
        # What the public image leaves out as well: downloaded packages and package lists.
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        with subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
            imported = subprocess.run(
                [PODMAN, "import", "-", BASE],
                check=False,
                stdin=tar.stdout,
                capture_output=True,
                timeout=300,
            )
        assert tar.returncode == 0
        assert imported.returncode == 0, imported.stderr


# Built once a session: under xdist the module's fixtures may be set up again when a worker
# runs other tests between this module's (a second build cost minutes).
@pytest.fixture(scope="session")
def image() -> str:
    """Samsyn's image, built from the Containerfile (cached layers reused)."""
    if shutil.which(PODMAN) is None and not Path(PODMAN).exists():
        unavailable("podman")
    make_base_image()
    secret = ["--secret", f"id=pip-ca,src={bundle}"] if (bundle := ca_bundle()) else []
    build = [*RUN_OPTIONS, "--format", "docker", *secret, "--file", str(ROOT / "Containerfile")]
    # The first stage tagged too, so that its layers (pip's above all) are not pruned below
    # and the next run finds them in the cache.
    # One worker at a time: under xdist each worker builds, and one's prune removed layers the
    # other's build was checking in its cache ("layer not known", seen in CI).
    with open(Path(tempfile.gettempdir()) / "samsyn-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        podman(
            "build", *build, "--target", "build", "--tag", f"{IMAGE}-build", str(ROOT), timeout=900
        )
        podman(
            "build", *build, "--tag", IMAGE, str(ROOT), timeout=900
        )  # docker format: HEALTHCHECK
        # What earlier builds left untagged; the layers of this one stay, as the next build's
        # cache. Housekeeping only: podman may fail it when removing one image took its parent
        # along ("image not known", seen after a rebuild), and nothing tested depends on it.
        podman("image", "prune", "--force", check=False)
    return IMAGE


class Container:
    """One container of the image on the host network, on a port of its own."""

    def __init__(self, image: str, volume: str, env: dict[str, str]) -> None:
        self.name = f"samsyn-test-{uuid.uuid4().hex[:8]}"
        self.async_mode = f"container {self.name}"  # how a failed test's report names its log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.image = image
        self.volume = volume
        self.env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}

    @classmethod
    def running(cls, name: str, port: int) -> Container:
        """A container started by someone else (podman-compose), listening on `port`."""
        container = cls.__new__(cls)
        container.name, container.async_mode, container.port = name, f"container {name}", port
        container.url = f"http://127.0.0.1:{port}"
        return container

    def start(self) -> None:
        settings = [part for k, v in self.env.items() for part in ("--env", f"{k}={v}")]
        podman(
            "run",
            "--detach",
            "--name",
            self.name,
            *RUN_OPTIONS,
            "--volume",
            f"{self.volume}:/app/instance",
            *settings,
            self.image,
        )
        self.wait_until_healthy()

    def wait_until_healthy(self) -> None:
        """Wait for /healthz to answer, then run the image's own health check (this machine
        has no systemd to run it on a timer), which must pass."""
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            running = podman("inspect", "--format", "{{.State.Running}}", self.name).strip()
            assert running == "true", f"the container stopped:\n{self.log()}"
            assert time.monotonic() < deadline, f"/healthz never answered:\n{self.log()}"
            time.sleep(0.5)
        podman("healthcheck", "run", self.name)

    def inspect(self, template: str) -> str:
        return podman("inspect", "--format", template, self.name).strip()

    def exec(self, *command: str) -> str:
        return podman("exec", self.name, *command)

    def log(self) -> str:
        return podman("logs", self.name, check=False)

    def stop(self) -> None:
        podman("rm", "--force", "--time", "10", self.name, check=False)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh PostgreSQL database of this test's own, dropped at the end."""
    with fresh_postgres_database("samsyn_container") as url:
        yield url


class Deployment:
    def __init__(self, nginx: Nginx, containers: list[Container]) -> None:
        self.nginx = nginx
        self.containers = containers


@pytest.fixture(scope="module")
def deployment(
    image: str, database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Two containers sharing one instance volume, as in compose.yaml (the first makes the
    secret key there, the second finds it), then nginx in front of them."""
    if not Nginx.available():
        unavailable("nginx")
    volume = f"samsyn-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", volume)
    directory = tmp_path_factory.mktemp("nginx")
    prefix = f"samsyn-test-{uuid.uuid4().hex[:8]}"
    containers: list[Container] = []
    nginx: Nginx | None = None
    try:
        env = {
            "DATABASE_URL": database,
            "MESSAGE_QUEUE_URL": redis_url,
            "MESSAGE_QUEUE_CHANNEL": prefix,
            "PROXY_HOPS": "1",
            **FEW_CONNECTIONS,
        }
        containers = [Container(image, volume, env), Container(image, volume, env)]
        nginx = Nginx(directory, containers)
        for container in containers:
            container.env["PUBLIC_URL"] = nginx.url
            container.start()
        nginx.start()
        yield Deployment(nginx, containers)
    finally:
        if nginx is not None:
            nginx.stop()
        for container in containers:
            container.stop()
        podman("volume", "rm", "--force", volume, check=False)
        forget_redis_keys(redis_url, prefix)


@pytest.fixture(autouse=True)
def logs_on_failure(request: pytest.FixtureRequest) -> None:
    """A failed test's report has the containers' logs (tests/e2e/conftest.py attaches them)."""
    if "deployment" in request.fixturenames:
        containers = request.getfixturevalue("deployment").containers
        request.node._samsyn_servers = containers  # type: ignore[attr-defined]


def test_the_image_runs_as_a_user_and_answers_its_health_check(deployment: Deployment) -> None:
    """Not root, healthy by the image's own check, catalogues compiled at build (nothing was
    compiled into the instance folder at start), the instance folder a volume."""
    for container in deployment.containers:
        assert container.inspect("{{.Config.User}}") == "samsyn"
        assert container.exec("id", "-u").strip() != "0"
        assert container.inspect("{{.State.Health.Status}}") == "healthy"
        assert "/healthz" in container.inspect("{{json .Config.Healthcheck}}")
        container.exec("test", "-s", "/app/translations/sv/LC_MESSAGES/messages.mo")
        assert container.exec("ls", "/app/instance").split() == ["secret_key"]
        mounts = container.inspect("{{range .Mounts}}{{.Destination}} {{end}}")
        assert "/app/instance" in mounts.split()
        # The release it runs, read from the pyproject.toml the image carries.
        health = requests.get(f"{container.url}/healthz", timeout=5).json()
        assert (
            health["version"]
            == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
        )
    # A Swedish page, through nginx: the compiled catalogue is the one read.
    page = (
        Clients(deployment.nginx)
        .session()
        .get(f"{deployment.nginx.url}/", headers={"Accept-Language": "sv"}, timeout=10)
    )
    assert page.status_code == 200
    assert "Delta i en workshop" in page.text  # "Join a workshop"


def test_phones_vote_through_nginx_and_both_containers_count_every_vote(
    deployment: Deployment,
) -> None:
    nginx, (a, b) = deployment.nginx, deployment.containers
    through, to_a, to_b = Clients(nginx), Clients(a), Clients(b)
    try:
        workshop = Workshop(through, create_workshop(nginx.url))
        ids = list(workshop.factor_ids().values())
        round_id = workshop.open_dots(5, 3)
        # A board straight on each container, with the facilitator's cookie from nginx: one
        # secret key, from the shared instance volume.
        boards: dict[str, Peer] = {
            "a": to_a.connect(workshop.http, workshop.code, "board"),
            "b": to_b.connect(workshop.http, workshop.code, "board"),
        }
        phones = join_phones(through, workshop.code, PHONES)
        for board in boards.values():
            board.wait_for("state", lambda s: s["connected"] == PHONES, timeout=15)

        ballots, answers = vote_at_once(phones, round_id, ids, seed=19)
        assert all(answer["ok"] for answer in answers), answers
        workshop.console.ok("round.close", round_id=round_id)
        workshop.console.ok("round.reveal", round_id=round_id)
        expected = summed(ballots, ids)
        for name, board in boards.items():
            shown = board.wait_for("state", lambda s: s["results"] is not None, timeout=15)
            assert totals_of(shown["results"]) == expected, name
            assert shown["participation"]["voted"] == PHONES, name
    finally:
        for made in (through, to_a, to_b):
            made.close()
    for container in (a, b):
        assert "Traceback" not in container.log(), container.log()[-3000:]


def test_compose_file_reads(image: str) -> None:
    """podman-compose reads compose.yaml: two app processes of the image behind nginx, with
    PostgreSQL and Redis, the data in named volumes, and nginx's files where it mounts them."""
    if not PODMAN_COMPOSE.exists():
        unavailable("podman-compose (requirements-dev.txt)")
    done = subprocess.run(
        [str(PODMAN_COMPOSE), "--file", str(ROOT / "compose.yaml"), "config"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "PUBLIC_URL")},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert set(services) == {"app1", "app2", "nginx", "postgres", "redis"}
    assert set(config["volumes"]) == {"instance", "postgres"}
    for name in ("app1", "app2"):
        app = services[name]
        assert app["build"]["dockerfile"] == "Containerfile"
        assert app["volumes"] == ["instance:/app/instance"]
        assert app["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert app["environment"]["MESSAGE_QUEUE_URL"] == "redis://redis:6379/0"
    assert services["app2"]["depends_on"] == {"app1": {"condition": "service_healthy"}}
    assert services["postgres"]["volumes"] == ["postgres:/var/lib/postgresql/data"]
    for mount in services["nginx"]["volumes"]:
        source = mount.split(":")[0]
        assert (ROOT / source).is_file(), mount


def test_composes_nginx_has_connections_for_a_room_of_ten_thousand() -> None:
    """Every phone is two connections through nginx (its own, nginx's to the app): the
    official image's 1,024 a worker would refuse a room of more than about 500 phones, so
    compose.yaml mounts nginx's own settings with room for 10,000 (and the files they
    take, a descriptor each)."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    mounts = dict(
        reversed(mount.rsplit(":", 2)[:2]) for mount in compose["services"]["nginx"]["volumes"]
    )
    main = (ROOT / mounts["/etc/nginx/nginx.conf"]).read_text()

    def setting(name: str) -> int:
        found = re.search(rf"^\s*{name}\s+(\d+);", main, re.MULTILINE)
        assert found, name
        return int(found.group(1))

    assert setting("worker_connections") >= 2 * 10_000
    assert setting("worker_rlimit_nofile") >= setting("worker_connections")
    assert "include /etc/nginx/conf.d/*.conf;" in main


def test_podman_compose_brings_up_the_two_app_services(
    image: str, database: str, redis_url: str, tmp_path: Path
) -> None:
    """`podman-compose up` on compose.yaml starts app1 and app2 of the image with their shared
    instance volume; an override file (as an operator would write) points them at the
    machine's PostgreSQL and Redis on the host network, since the postgres, redis and nginx
    images cannot be pulled here (`--no-deps` leaves those services out). Both answer their
    health check and share the one secret key made in the volume."""
    if not PODMAN_COMPOSE.exists():
        unavailable("podman-compose (requirements-dev.txt)")
    project = f"samsyntest{uuid.uuid4().hex[:8]}"
    prefix = f"samsyn-test-{project}"
    ports = {"app1": free_port(), "app2": free_port()}
    override = {
        "services": {
            name: {
                "image": image,
                "network_mode": "host",
                "environment": {
                    "DATABASE_URL": database,
                    "MESSAGE_QUEUE_URL": redis_url,
                    "MESSAGE_QUEUE_CHANNEL": prefix,
                    "HOST": "127.0.0.1",
                    "PORT": str(port),
                    **FEW_CONNECTIONS,
                },
            }
            for name, port in ports.items()
        }
    }
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(override))
    compose = [
        str(PODMAN_COMPOSE),
        "--project-name",
        project,
        "--podman-run-args",
        " ".join(RUN_OPTIONS[:6]),  # runc and the limits; the network is the override's
        "--file",
        str(ROOT / "compose.yaml"),
        "--file",
        str(tmp_path / "override.yaml"),
    ]

    def run(*arguments: str) -> str:
        done = subprocess.run(
            [*compose, *arguments],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    try:
        run("up", "--detach", "--no-deps", "app1", "app2")
        keys = set()
        for name, port in ports.items():
            container = Container.running(f"{project}_{name}_1", port)
            container.wait_until_healthy()
            assert container.inspect("{{.State.Health.Status}}") == "healthy"
            keys.add(container.exec("cat", "/app/instance/secret_key"))
            assert "Traceback" not in container.log(), container.log()[-3000:]
        assert len(keys) == 1, "the two processes made secret keys of their own"
        assert f"{project}_instance" in podman("volume", "ls", "--format", "{{.Name}}").split()
    finally:
        run("down", "--volumes")
        forget_redis_keys(redis_url, prefix)
    assert f"{project}_instance" not in podman("volume", "ls", "--format", "{{.Name}}").split()


def test_a_container_ends_on_the_engines_stop_signal(deployment: Deployment) -> None:
    """`podman stop` ends the app with its signal (SIGTERM, passed on by tini), not with the
    SIGKILL that follows when PID 1 ignores it (exit status 137). Runs last: it stops one."""
    container = deployment.containers[1]
    podman("stop", "--time", "60", container.name)
    assert container.inspect("{{.State.ExitCode}}") != "137", container.log()[-3000:]
