"""Per-message deflate with each distinct message compressed once (edges/live/deflate.py),
and its fitting into eventlet's and gevent's WebSocket servers (app.py)."""

from __future__ import annotations

import json
import socket
import warnings
import zlib
from collections.abc import Iterator

import pytest
import simple_websocket.ws
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

import app
from facilitation.edges.live import deflate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet announces its deprecation at import
    import eventlet.websocket

# A room's state as phones get it: well over SHARED_FROM.
STATE = json.dumps(
    {"factors": [{"id": i, "title": f"Kompetensförsörjning {i}"} for i in range(40)]}
).encode()
SMALL = b'42["me",{"version":5}]'


def inflate(compressed: bytes, window_bits: int = 15) -> bytes:
    """What a browser does with a message compressed without context (RFC 7692 7.2.2)."""
    return zlib.decompressobj(-window_bits).decompress(compressed + b"\x00\x00\xff\xff")


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    deflate._shared.cache_clear()
    yield
    deflate._shared.cache_clear()


@pytest.fixture
def compressors(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the zlib compressors made."""
    made: list[int] = []
    real = zlib.compressobj

    def counted(*args: int) -> zlib._Compress:
        made.append(1)
        return real(*args)

    monkeypatch.setattr(deflate.zlib, "compressobj", counted)
    return made


def test_a_message_sent_again_is_compressed_once(compressors: list[int]) -> None:
    first = deflate.deflate(STATE, 15)
    again = deflate.deflate(bytes(bytearray(STATE)), 15)  # equal, not the same object
    assert again == first and len(compressors) == 1
    assert first.endswith(b"\x00\x00\xff\xff")
    assert inflate(first[:-4]) == STATE
    assert len(first) < len(STATE) / 4


def test_each_window_and_each_distinct_message_is_compressed_on_its_own(
    compressors: list[int],
) -> None:
    other = STATE.replace(b"40", b"41") + b" "
    assert inflate(deflate.deflate(other, 15)[:-4]) == other
    assert inflate(deflate.deflate(STATE, 15)[:-4]) == STATE
    assert inflate(deflate.deflate(STATE, 9)[:-4], 9) == STATE
    assert len(compressors) == 3


def test_small_messages_stay_out_of_the_cache(compressors: list[int]) -> None:
    """Acknowledgements and a phone's own view are its own: they never push a room's state
    out of the cache."""
    deflate.deflate(STATE, 15)
    for number in range(deflate.KEPT * 2):
        assert inflate(deflate.deflate(SMALL + str(number).encode(), 15)[:-4]).startswith(SMALL)
    deflate.deflate(STATE, 15)
    assert len(compressors) == 1 + deflate.KEPT * 2
    assert deflate._shared.cache_info().currsize == 1


def frame_payload(frame: bytes) -> tuple[int, bytes]:
    """An unmasked server frame's first byte and payload."""
    length, start = frame[1] & 0x7F, 2
    if length == 126:
        length, start = int.from_bytes(frame[2:4], "big"), 4
    return frame[0], frame[start : start + length]


@pytest.fixture
def adapted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """app.py's adaptation of both servers, undone after the test."""
    frames, handshake = eventlet.websocket.RFC6455WebSocket, eventlet.websocket.WebSocketWSGI
    for owner, name in (
        (frames, "_get_permessage_deflate_enc"),
        (handshake, "_negotiate_permessage_deflate"),
        (simple_websocket.ws, "PerMessageDeflate"),
    ):
        monkeypatch.setattr(owner, name, getattr(owner, name))
    for mode in ("eventlet", "gevent"):
        monkeypatch.setattr(app, "ASYNC_MODE", mode)
        app.compress_each_message_alone()
    yield


def eventlet_socket(extensions: dict[str, object]) -> eventlet.websocket.RFC6455WebSocket:
    ours, _ = socket.socketpair()
    return eventlet.websocket.RFC6455WebSocket(ours, {}, extensions=extensions)


def test_eventlet_sends_one_compression_of_a_state_to_every_phone(
    adapted: None, compressors: list[int]
) -> None:
    without_context = {"permessage-deflate": {"server_no_context_takeover": True}}
    phones = [eventlet_socket(without_context) for _ in range(3)]
    frames = [phone._pack_message(STATE.decode()) for phone in phones]
    assert len(compressors) == 1
    assert frames[0] == frames[1] == frames[2]
    first, payload = frame_payload(frames[0])
    assert first == 0x80 | 0x40 | 0x1  # final, compressed, text
    assert inflate(payload) == STATE


def test_eventlet_leaves_a_connection_keeping_its_context_alone(
    adapted: None, compressors: list[int]
) -> None:
    keeping = eventlet_socket({"permessage-deflate": {"server_no_context_takeover": False}})
    payloads = [frame_payload(keeping._pack_message(STATE.decode()))[1] for _ in range(2)]
    decompressor = zlib.decompressobj(-15)
    assert [decompressor.decompress(p + b"\x00\x00\xff\xff") for p in payloads] == [STATE] * 2
    assert len(compressors) == 1  # one compressor, kept by the connection
    assert len(payloads[1]) < len(payloads[0])  # the second refers back to the first


def test_gevent_sends_one_compression_of_a_state_to_every_phone(
    adapted: None, compressors: list[int]
) -> None:
    """simple_websocket's server side (wsproto) as app.py fits it, against a browser-like
    client offering per-message deflate."""

    def connected() -> tuple[WSConnection, WSConnection]:
        server = WSConnection(ConnectionType.SERVER)
        client = WSConnection(ConnectionType.CLIENT)
        offer = Request(host="samsyn", target="/socket.io/", extensions=[PerMessageDeflate()])
        server.receive_data(client.send(offer))
        request = next(server.events())
        extension = simple_websocket.ws.PerMessageDeflate()
        client.receive_data(server.send(AcceptConnection(extensions=[extension])))
        accepted = next(client.events())
        assert isinstance(request, Request) and isinstance(accepted, AcceptConnection)
        (agreed,) = accepted.extensions
        assert isinstance(agreed, PerMessageDeflate) and agreed.server_no_context_takeover
        return server, client

    phones = [connected() for _ in range(3)]
    sent = [server.send(TextMessage(STATE.decode())) for server, _ in phones]
    assert sent[0] == sent[1] == sent[2]
    assert len(compressors) == 1
    for (_, client), frame in zip(phones, sent, strict=True):
        client.receive_data(frame)
        received = next(client.events())
        assert isinstance(received, TextMessage) and received.data == STATE.decode()
