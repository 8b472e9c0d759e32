"""Per-message deflate (RFC 7692) with each distinct message compressed once.

Layer: edge (live); imports the standard library and wsproto only. app.py answers browsers'
offer of per-message deflate with `server_no_context_takeover`, so that no connection keeps
a compressor: every message is compressed on its own, and its bytes on the wire depend on the
message alone. A room's state is the same message to each of its thousands of phones, yet
the WebSocket servers compress it again for every one: with 2,000 phones watching a
facilitator add factors, that was more than half of the process's CPU
(docs/performance.md). Here a message big enough to be shared is compressed once, and the
same bytes go to every connection that sends it while it is among the last few sent.

app.py fits these into eventlet's WebSocket (`SharedDeflater`, one message at a time, where
eventlet would make a zlib compressor) and gevent's (`SharedPerMessageDeflate`, wsproto's
extension). A connection keeping its context, as a client's may, is left to them.
"""

from __future__ import annotations

import functools
import zlib

from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import FrameDecoder, FrameProtocol, Opcode, RsvBits

# Smaller messages (acknowledgements, a phone's own view) are mostly one connection's own and
# cheap to compress: kept out, they cannot push a room's state out of the cache.
SHARED_FROM = 512
# Distinct messages kept: a broadcast is sent within moments, but a few rooms may be sending
# theirs at once, and each room's boards and consoles get states of their own.
KEPT = 32
# What RFC 7692 has the sender drop from the end of each compressed message (section 7.2.1).
_SYNC_TAIL = b"\x00\x00\xff\xff"


def deflate(message: bytes, window_bits: int) -> bytes:
    """The message compressed on its own and flushed with Z_SYNC_FLUSH (so ending in
    00 00 ff ff): from the cache when it is big enough to be shared."""
    if len(message) < SHARED_FROM:
        return _compress(message, window_bits)
    return _shared(message, window_bits)


def _compress(message: bytes, window_bits: int) -> bytes:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -window_bits)
    return compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)


_shared = functools.lru_cache(maxsize=KEPT)(_compress)


class SharedDeflater:
    """Stands in for the zlib compressor eventlet makes for each message when the server
    keeps no context: `compress` gives the whole message compressed, `flush` nothing more."""

    __slots__ = ("window_bits",)

    def __init__(self, window_bits: int) -> None:
        self.window_bits = window_bits

    def compress(self, data: bytes) -> bytes:
        return deflate(data, self.window_bits)

    def flush(self, _mode: int = zlib.Z_SYNC_FLUSH) -> bytes:
        return b""


class SharedPerMessageDeflate(PerMessageDeflate):
    """wsproto's per-message deflate, offered to browsers without the server's context, and
    compressing a whole message through the cache."""

    def __init__(self) -> None:
        super().__init__(server_no_context_takeover=True)

    def frame_outbound(
        self,
        proto: FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        data: bytes,
        fin: bool,
    ) -> tuple[RsvBits, bytes]:
        whole = fin and opcode in (Opcode.TEXT, Opcode.BINARY)
        if proto.client or not self.server_no_context_takeover or not whole:
            return super().frame_outbound(proto, opcode, rsv, data, fin)
        compressed = deflate(bytes(data), int(self.server_max_window_bits))
        return RsvBits(True, rsv[1], rsv[2]), compressed[: -len(_SYNC_TAIL)]
