"""Several processes as one room (facilitation/edges/live/cluster.py): participants counted across
processes, word to every process, and what happens when Redis restarts or is missing.

Each `RedisCluster` here stands for one app process; they share a real Redis under a key
prefix of the test's own.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import redis
import socketio
from conftest import forget_redis_keys

from facilitation.core.domain import Role
from facilitation.edges.live import cluster
from facilitation.edges.live.cluster import Alone, QueueManager, RedisCluster
from facilitation.edges.live.presence import Connection, Presence
from facilitation.usecases import Actor


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"samsyn-test-{uuid.uuid4().hex[:8]}"
    yield name
    forget_redis_keys(redis_url, name)


@pytest.fixture
def processes(redis_url: str, prefix: str) -> Iterator[Callable[[], RedisCluster]]:
    """Make processes; their listeners (if started) stop at the end."""
    made: list[RedisCluster] = []

    def make() -> RedisCluster:
        made.append(RedisCluster(redis_url, prefix))
        return made[-1]

    yield make
    for process in made:
        process.stop()


def listen(process: RedisCluster, presence: Presence | None = None) -> threading.Thread:
    """Run the process's task (its presence's writer and listener) in a thread, as the app
    runs it in a background task."""
    presence = presence or Presence(process)
    thread = threading.Thread(target=process.run, args=(presence, time.sleep), daemon=True)
    thread.start()
    return thread


def until(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def phone(workshop_id: int, participant_id: int) -> Connection:
    actor = Actor(Role.PARTICIPANT, "ABC123", token="t")
    return Connection(actor, "phone", workshop_id, "sv", participant_id)


def test_participants_are_counted_across_processes_once_each(
    processes: Callable[[], RedisCluster],
) -> None:
    a, b = processes(), processes()
    here, there = Presence(a), Presence(b)
    here.add("s1", phone(1, 10))
    here.add("s2", phone(1, 11))
    there.add("s3", phone(1, 12))
    there.add("s4", phone(1, 10))  # the same person on a second device, through b
    there.add("s5", phone(2, 20))  # another workshop
    a.share(here), b.share(there)
    assert here.participants(1) == there.participants(1) == 3
    assert here.participants(2) == 1
    here.remove("s1")  # 10 is still connected through b
    a.share(here)
    assert there.participants(1) == 3
    there.remove("s4")
    b.share(there)
    assert here.participants(1) == 2
    here.remove("s1")  # removing twice changes nothing
    a.share(here)
    assert here.participants(1) == 2


def test_presence_is_written_once_per_pass_and_its_boards_told(
    processes: Callable[[], RedisCluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = processes()
    here = Presence(a)
    told: list[int] = []
    here.on_shared = told.append
    a.share(here)  # the first pass writes everything (nothing yet)
    here.add("s1", phone(1, 10))
    here.add("s2", phone(1, 10))  # a second tab
    here.add("s3", phone(2, 20))
    here.remove("s3")
    assert a.count(1, local=0) == 0  # marked, not yet written
    calls: list[int] = []
    execute = type(a.redis.pipeline()).execute
    monkeypatch.setattr(
        type(a.redis.pipeline()), "execute", lambda pipe: calls.append(1) or execute(pipe)
    )
    a.share(here)
    assert calls == [1]  # one round trip for both workshops
    assert sorted(told) == [1, 2]
    assert a.count(1, local=0) == 1 and a.count(2, local=0) == 0
    told.clear()
    a.share(here)  # nothing changed: nothing written, no one told
    assert calls == [1] and told == []


def test_a_crowd_coming_and_going_at_once_is_counted_exactly(
    processes: Callable[[], RedisCluster],
) -> None:
    """Hundreds of phones connect and leave at once through two processes, several with two
    tabs, some through both: once the crowd is still, every process counts exactly those
    still connected, and nobody once everyone has left. (Each handler used to write to Redis
    itself: a departure could be written before the arrival it followed, and a crowd ran the
    client out of connections, so that writes were lost.)"""
    a, b = processes(), processes()
    here, there = Presence(a), Presence(b)
    listen(a, here), listen(b, there)
    rng = random.Random(7)
    staying = set(rng.sample(range(400), 150))
    barrier = threading.Barrier(200)

    def phone_owner(person: int) -> None:
        tabs = [(here, f"a{person}-{t}") for t in range(1 + person % 2)]
        if person % 5 == 0:
            tabs.append((there, f"b{person}"))  # the same person through the other process
        barrier.wait()
        for presence, sid in tabs:
            presence.add(sid, phone(1, person))
        if person not in staying:
            for presence, sid in tabs:
                presence.remove(sid)

    def crowd(people: list[int]) -> None:
        for person in people:
            phone_owner(person)

    # Two people per thread: 200 threads at once, as many greenlets would be.
    threads = [threading.Thread(target=crowd, args=([n, n + 200],)) for n in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    until(lambda: a.count(1, local=0) == b.count(1, local=0) == len(staying), timeout=10)
    time.sleep(0.3)  # and it stays so
    assert a.count(1, local=0) == b.count(1, local=0) == len(staying)
    for presence in (here, there):
        for sid in list(presence._connections):
            presence.remove(sid)
    until(lambda: a.count(1, local=0) == b.count(1, local=0) == 0, timeout=10)


def board(workshop_id: int) -> Connection:
    actor = Actor(Role.FACILITATOR, "ABC123", secret="s")
    return Connection(actor, "board", workshop_id, "sv")


def test_a_workshop_is_held_elsewhere_while_another_process_has_a_screen_of_it(
    processes: Callable[[], RedisCluster],
) -> None:
    """Its broadcasts go through the queue only then (broadcast.py): a board counts as much
    as a phone, and a process whose last screen of the workshop left is no longer named."""
    a, b = processes(), processes()
    here, there = Presence(a), Presence(b)
    here.add("s1", board(1))
    here.add("s2", phone(1, 10))
    a.share(here), b.share(there)
    assert not a.elsewhere(1)
    assert b.elsewhere(1)  # b holds nothing of it: a does
    assert not a.elsewhere(2) and not b.elsewhere(2)  # nobody holds it
    there.add("s3", board(1))
    b.share(there)
    assert a.elsewhere(1) and b.elsewhere(1)
    there.remove("s3")
    b.share(there)
    assert not a.elsewhere(1)
    assert a.count(1, local=0) == 1


def test_a_process_that_died_holds_nothing_once_it_has_been_silent_for_long(
    processes: Callable[[], RedisCluster], redis_url: str, prefix: str
) -> None:
    """A process that died never lets go of its workshops; while the others keep naming
    themselves it stays named, but counts as holding nothing after EXPIRES seconds."""
    a = processes()
    here = Presence(a)
    here.add("s1", board(1))
    a.share(here)
    client = redis.Redis.from_url(redis_url)
    client.zadd(f"{prefix}:held:1", {"died-recently": time.time() - cluster.EXPIRES + 5})
    assert a.elsewhere(1)
    client.zadd(f"{prefix}:held:1", {"died-recently": time.time() - cluster.EXPIRES - 1})
    assert not a.elsewhere(1)


def test_a_process_hears_when_the_others_have_learnt_it_holds_a_workshop(
    processes: Callable[[], RedisCluster], redis_url: str, prefix: str
) -> None:
    """Until then they sent it nothing of the workshop, so its screens of it are then sent
    everything (`arrived`): on the first write that names it, not on later ones; again
    when it held the workshop anew; and for everything held after Redis failed, when Redis
    may have forgotten the names."""
    a = processes()
    here = Presence(a)
    arrived: list[set[int]] = []
    here.on_arrived = arrived.append
    a.share(here)
    here.add("s1", board(1))
    here.add("s2", phone(2, 20))
    a.share(here)
    assert arrived == [{1, 2}]
    here.add("s3", phone(1, 10))
    here.remove("s2")
    a.share(here)
    assert arrived == [{1, 2}]  # 1 was named already, 2 let go
    here.add("s4", phone(2, 21))
    a.share(here)
    assert arrived == [{1, 2}, {2}]
    client = redis.Redis.from_url(redis_url)
    client.delete(*client.scan_iter(f"{prefix}:*"))  # a restarted Redis, without persistence
    a._lost(redis.ConnectionError("Redis restarted"))  # as the listener finds it
    a.share(here)
    assert arrived == [{1, 2}, {2}, {1, 2}]
    assert processes().elsewhere(1)


def test_without_redis_a_workshop_is_held_here_alone() -> None:
    """The queue would not carry a broadcast either: this process's screens still get it."""
    gone = RedisCluster("redis://127.0.0.1:1/0", "samsyn-test")
    assert gone.elsewhere(1) is False


def test_a_process_presence_expires_when_it_stops_refreshing(
    processes: Callable[[], RedisCluster], redis_url: str, prefix: str
) -> None:
    a = processes()
    presence = Presence(a)
    presence.add("s1", phone(1, 10))
    a.share(presence)
    client = redis.Redis.from_url(redis_url)
    ttl = client.ttl(f"{prefix}:present:1:{a.process}")
    assert 0 < ttl <= cluster.EXPIRES
    client.delete(f"{prefix}:present:1:{a.process}")  # as if it had expired
    assert processes().count(1, local=0) == 0


def test_word_reaches_every_process_and_runs_once_in_each(
    processes: Callable[[], RedisCluster],
) -> None:
    heard: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    everyone = {name: processes() for name in heard}
    for name, process in everyone.items():
        process.on("expel", heard[name].append)
    for process in everyone.values():
        listen(process)
    until(lambda: everyone["a"].redis.pubsub_numsub(everyone["a"].channel)[0][1] == 3)
    everyone["a"].tell("expel", 7)
    until(lambda: heard["b"] and heard["c"])
    time.sleep(0.2)
    assert heard == {"a": [7], "b": [7], "c": [7]}


def test_after_redis_forgets_everything_each_process_writes_its_presence_again(
    processes: Callable[[], RedisCluster],
    redis_url: str,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cluster, "REFRESH", 0.2)
    a, b = processes(), processes()
    here = Presence(a)
    for n in range(5):
        here.add(f"s{n}", phone(1, 10 + n))
    listen(a, here)
    client = redis.Redis.from_url(redis_url)
    until(lambda: b.count(1, local=0) == 5)
    client.delete(*client.scan_iter(f"{prefix}:*"))  # a restarted Redis, without persistence
    assert b.count(1, local=0) == 0
    until(lambda: b.count(1, local=0) == 5)
    here.remove("s0")
    until(lambda: b.count(1, local=0) == 4)


def test_without_redis_each_process_counts_its_own_and_nothing_raises() -> None:
    gone = RedisCluster("redis://127.0.0.1:1/0", "samsyn-test")
    presence = Presence(gone)
    presence.add("s1", phone(1, 10))
    presence.add("s2", phone(1, 11))
    assert presence.participants(1) == 2
    presence.remove("s1")
    assert presence.participants(1) == 1
    expelled: list[int] = []
    gone.on("expel", expelled.append)
    gone.tell("expel", 3)  # still done here, where the link was replaced
    assert expelled == [3]


def test_alone_is_the_whole_room() -> None:
    alone = Alone()
    presence = Presence(alone)
    presence.add("s1", phone(1, 10))
    presence.add("s2", phone(1, 10))
    assert presence.participants(1) == 1
    assert not presence.may_watch(1, "console")
    assert presence.may_watch(1, "phone")
    told: list[int] = []
    alone.on("expel", told.append)
    alone.tell("expel", 4)
    assert told == [4]


def test_with_other_processes_a_console_may_be_watching_anywhere(
    processes: Callable[[], RedisCluster],
) -> None:
    assert Presence(processes()).may_watch(1, "console")


def test_the_listener_survives_redis_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = RedisCluster("redis://127.0.0.1:1/0", "samsyn-test")
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            gone.stop()

    gone.run(Presence(gone), sleep)
    assert naps == [1.0, 1.0, 1.0]


def test_a_message_to_one_connection_of_this_process_is_not_sent_to_the_others(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phone's state on connecting goes to that connection alone: through the queue,
    every other process would decode it for nothing. A room's message still goes to all."""
    manager = QueueManager(redis_url, f"{prefix}:socketio", on_connect=lambda: None)
    delivered: list[str] = []
    manager.server = SimpleNamespace(
        packet_class=socketio.packet.Packet,
        eio=SimpleNamespace(generate_id=lambda: uuid.uuid4().hex),
        _send_eio_packet=lambda eio_sid, _packet: delivered.append(eio_sid),
    )
    published: list[dict[str, Any]] = []
    monkeypatch.setattr(manager, "_publish", published.append)
    here = manager.connect("eio-here", "/")
    manager.enter_room(here, "/", "board:1")
    manager.emit("state", {"n": 1}, namespace="/", to=here)
    assert delivered == ["eio-here"] and published == []
    manager.emit("state", {"n": 2}, namespace="/", to="elsewhere-sid")  # not held here
    manager.emit("state", {"n": 3}, namespace="/", to="board:1")
    assert [m["room"] for m in published] == ["elsewhere-sid", "board:1"]
    assert delivered == ["eio-here", "eio-here"]


def test_a_broadcast_to_a_room_held_elsewhere_is_not_encoded_here(
    redis_url: str, prefix: str
) -> None:
    """Rooms meet on one process (deploy/nginx), so most of what another process
    broadcasts is for rooms of which no one is connected here: such a message is dropped
    before it is encoded for sending; one for a room held here is sent as before."""
    manager = QueueManager(redis_url, f"{prefix}:socketio", on_connect=lambda: None)
    encoded: list[object] = []

    class Counted(socketio.packet.Packet):  # type: ignore[misc]
        def encode(self) -> Any:
            encoded.append(self.data)
            return super().encode()

    delivered: list[str] = []
    manager.server = SimpleNamespace(
        packet_class=Counted,
        eio=SimpleNamespace(generate_id=lambda: uuid.uuid4().hex),
        _send_eio_packet=lambda eio_sid, _packet: delivered.append(eio_sid),
    )
    here = manager.connect("eio-here", "/")
    manager.enter_room(here, "/", "board:1")

    def heard(room: str, n: int) -> None:  # as the queue's listener hands it on
        manager._handle_emit(
            {
                "method": "emit",
                "event": "state",
                "data": [{"n": n}],
                "namespace": "/",
                "room": room,
                "host_id": "another process",
            }
        )

    heard("board:2", 1)
    heard("board:1", 2)
    assert encoded == [["state", {"n": 2}]]
    assert delivered == ["eio-here"]
