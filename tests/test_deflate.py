"""permessage-deflate: the negotiation table, strict refusal, and frames decoded on the wire
with the negotiated window."""

from __future__ import annotations

import os
import tracemalloc
import zlib

import pytest

from compliance.wsclient import RawClient
from wsside import Deflate
from wsside._protocol.compression import Compressor, Decompressor
from wsside._protocol.deflate import Agreement, DeflateRefused, negotiate

PMD = "permessage-deflate"
ON = Deflate()

# (offer header, settings, expected response header or None)
TABLE = [
    (None, ON, None),
    ("", ON, None),
    ("x-webkit-deflate-frame", ON, None),
    (PMD, ON, PMD),
    ("PerMessage-Deflate", ON, PMD),
    (f"{PMD}; client_max_window_bits", ON, PMD),
    (f"{PMD}; client_max_window_bits=10", ON, f"{PMD}; client_max_window_bits=10"),
    (f'{PMD}; client_max_window_bits="10"', ON, f"{PMD}; client_max_window_bits=10"),
    (f"{PMD}; server_max_window_bits=12", ON, f"{PMD}; server_max_window_bits=12"),
    (f"{PMD}; server_max_window_bits=15", ON, f"{PMD}; server_max_window_bits=15"),
    (f"{PMD}; server_max_window_bits=8", ON, f"{PMD}; server_max_window_bits=8"),
    (f"{PMD}; server_no_context_takeover", ON, f"{PMD}; server_no_context_takeover"),
    (f"{PMD}; client_no_context_takeover", ON, f"{PMD}; client_no_context_takeover"),
    (
        f"{PMD};server_no_context_takeover;client_no_context_takeover;server_max_window_bits=9;"
        "client_max_window_bits=9",
        ON,
        f"{PMD}; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=9; client_max_window_bits=9",
    ),
    # settings shape the agreement
    (PMD, Deflate(server_no_context_takeover=True), f"{PMD}; server_no_context_takeover"),
    (PMD, Deflate(client_no_context_takeover=True), f"{PMD}; client_no_context_takeover"),
    (PMD, Deflate(server_max_window_bits=10), f"{PMD}; server_max_window_bits=10"),
    (
        f"{PMD}; server_max_window_bits=12",
        Deflate(server_max_window_bits=10),
        f"{PMD}; server_max_window_bits=10",
    ),
    (
        f"{PMD}; server_max_window_bits=9",
        Deflate(server_max_window_bits=10),
        f"{PMD}; server_max_window_bits=9",
    ),
    (
        f"{PMD}; client_max_window_bits",
        Deflate(client_max_window_bits=11),
        f"{PMD}; client_max_window_bits=11",
    ),
    (
        f"{PMD}; client_max_window_bits=9",
        Deflate(client_max_window_bits=11),
        f"{PMD}; client_max_window_bits=9",
    ),
    # the client window cannot be limited unless offered: non-strict falls back to 15
    (PMD, Deflate(client_max_window_bits=11), PMD),
    # invalid offers are declined; the next offer is tried
    (f"{PMD}; server_max_window_bits", ON, None),
    (f"{PMD}; server_max_window_bits=7", ON, None),
    (f"{PMD}; server_max_window_bits=16", ON, None),
    (f"{PMD}; server_max_window_bits=010", ON, None),
    (f"{PMD}; client_max_window_bits=abc", ON, None),
    (f"{PMD}; server_no_context_takeover=1", ON, None),
    (f"{PMD}; server_no_context_takeover; server_no_context_takeover", ON, None),
    (f"{PMD}; unknown_param", ON, None),
    (f"{PMD}; a=b=c", ON, None),
    (f"{PMD}; server_max_window_bits=7, {PMD}; client_max_window_bits", ON, PMD),
    (
        f"{PMD}; foo, {PMD}; server_max_window_bits=11, {PMD}",
        ON,
        f"{PMD}; server_max_window_bits=11",
    ),
    (
        f'x-other; q="a,b", {PMD}; server_no_context_takeover',
        ON,
        f"{PMD}; server_no_context_takeover",
    ),
]


@pytest.mark.parametrize("offer,settings,expected", TABLE)
def test_negotiation_table(offer, settings, expected):
    agreement = negotiate(offer, settings)
    assert (agreement.response_header() if agreement else None) == expected


STRICT = Deflate(client_max_window_bits=10, server_max_window_bits=12, strict=True)


@pytest.mark.parametrize(
    "offer,expected",
    [
        (
            f"{PMD}; client_max_window_bits",
            f"{PMD}; server_max_window_bits=12; client_max_window_bits=10",
        ),
        (
            f"{PMD}; client_max_window_bits=9; server_max_window_bits=13",
            f"{PMD}; server_max_window_bits=12; client_max_window_bits=9",
        ),
        (
            f"{PMD}; client_no_context_takeover; client_max_window_bits",
            f"{PMD}; client_no_context_takeover; server_max_window_bits=12;"
            " client_max_window_bits=10",
        ),
        (
            f"{PMD}, {PMD}; client_max_window_bits",
            f"{PMD}; server_max_window_bits=12; client_max_window_bits=10",
        ),
        (None, None),
        ("x-webkit-deflate-frame", None),
    ],
)
def test_strict_accepts_offers_that_meet_the_settings(offer, expected):
    agreement = negotiate(offer, STRICT)
    assert (agreement.response_header() if agreement else None) == expected


@pytest.mark.parametrize(
    "offer,why",
    [
        (PMD, "did not offer client_max_window_bits"),
        (
            f"{PMD}; client_max_window_bits; server_max_window_bits=11",
            "server_max_window_bits to 11",
        ),
        (
            f"{PMD}; client_max_window_bits; server_no_context_takeover",
            "server_no_context_takeover",
        ),
        (f"{PMD}; client_max_window_bits=16", "expected 8..15"),
    ],
)
def test_strict_refuses_offers_that_cannot(offer, why):
    with pytest.raises(DeflateRefused, match=why):
        negotiate(offer, STRICT)


def ascii_noise(n: int) -> bytes:
    return bytes(97 + b % 26 for b in os.urandom(n))


@pytest.mark.parametrize("bits", [8, 9, 12, 15])
@pytest.mark.parametrize("takeover", [True, False])
def test_compressor_stays_inside_the_window(bits, takeover):
    agreement = Agreement(server_max_window_bits=bits, server_no_context_takeover=not takeover)
    comp = Compressor(agreement)
    block = ascii_noise(2000)
    decoder = zlib.decompressobj(-bits)
    for _ in range(3):  # the same 2000 bytes again: tempting back-references ~2000 back
        out = comp.compress(block)
        assert out is not None
        if not takeover:
            decoder = zlib.decompressobj(-bits)  # each message stands alone
        assert decoder.decompress(out + b"\x00\x00\xff\xff") == block


def test_small_messages_are_sent_uncompressed():
    comp = Compressor(Agreement())
    assert comp.compress(b"x" * (comp.threshold - 1)) is None
    assert comp.compress(b"x" * comp.threshold) is not None


def test_decompressor_drops_the_window_without_context_takeover():
    block = ascii_noise(3000)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = (z.compress(block) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
    second = (z.compress(block) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]  # refers to the first
    keep = Decompressor(Agreement())
    assert keep.feed(first, None) + keep.finish(None) == block
    assert keep.feed(second, None) + keep.finish(None) == block
    drop = Decompressor(Agreement(client_no_context_takeover=True))
    assert drop.feed(first, None) + drop.finish(None) == block
    with pytest.raises(Exception, match="invalid"):
        drop.feed(second, None) + drop.finish(None)


def test_zlib_state_is_made_for_the_first_compressed_message():
    """Every browser offers permessage-deflate: a connection that is idle, or sends only
    messages under the threshold, must not hold zlib's state (256 KiB of deflate window and
    hash table at window 15, some 7 KB of inflate state)."""
    tracemalloc.start()
    try:
        pairs = [(Compressor(Agreement()), Decompressor(Agreement())) for _ in range(100)]
        for comp, _ in pairs:
            assert comp.compress(b"small") is None
        idle, _ = tracemalloc.get_traced_memory()
        assert idle < 1_000_000, f"{idle / 100:.0f} bytes of state per idle connection"
        block = ascii_noise(2000)
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        message = (z.compress(block) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
        comp, decomp = pairs[0]
        assert comp.compress(block) is not None
        assert decomp.feed(message, None) + decomp.finish(None) == block
        used, _ = tracemalloc.get_traced_memory()
        assert used - idle > 200_000  # made when needed: zlib's deflate state is that big
    finally:
        tracemalloc.stop()


@pytest.fixture(autouse=True)
async def _close_raw_clients():
    yield
    await RawClient.close_all()


# --- on the wire --------------------------------------------------------------------------


def handler(settings: str) -> str:
    return f"""
        from wsside import Handler, Deflate
        echo = Handler("/echo", per_message_deflate={settings},
                       transform_raw_data=lambda raw: raw)

        @echo.on_message
        async def reply(conn, data):
            await conn.send(data)
    """


async def test_strict_refusal_is_http_400(serve):
    served = await serve(handler("Deflate(client_max_window_bits=10, strict=True)"))
    c = await RawClient.connect(served.port, "/api/echo", PMD)
    assert c.status == 400
    c.close()
    c = await RawClient.connect(served.port, "/api/echo", f"{PMD}; client_max_window_bits")
    assert c.status == 101
    assert c.headers["sec-websocket-extensions"] == f"{PMD}; client_max_window_bits=10"
    c.close()


async def test_no_deflate_configured_means_no_extension(serve):
    served = await serve(handler("False"))
    c = await RawClient.connect(served.port, "/api/echo", PMD)
    assert c.status == 101 and "sec-websocket-extensions" not in c.headers
    c.close()


@pytest.mark.parametrize(
    "settings,offer,bits,takeover",
    [
        ("True", PMD, 15, True),
        ("True", f"{PMD}; server_max_window_bits=9", 9, True),
        ("True", f"{PMD}; server_max_window_bits=8", 8, True),
        ("Deflate(server_max_window_bits=10)", PMD, 10, True),
        ("Deflate(server_no_context_takeover=True)", PMD, 15, False),
        ("True", f"{PMD}; server_no_context_takeover; server_max_window_bits=8", 8, False),
    ],
)
async def test_server_frames_decode_with_the_negotiated_window(
    serve, settings, offer, bits, takeover
):
    served = await serve(handler(settings))
    c = await RawClient.connect(served.port, "/api/echo", offer)
    assert c.status == 101
    header = c.headers["sec-websocket-extensions"]
    assert (f"server_max_window_bits={bits}" in header) == (bits < 15)
    assert ("server_no_context_takeover" in header) == (not takeover)
    block = ascii_noise(3000)
    decoder = zlib.decompressobj(-bits)
    sizes = []
    for _ in range(3):
        c.send(0x1, block)
        fin, rsv1, opcode, payload = await c.frame()
        assert (fin, rsv1, opcode) == (True, True, 0x1)
        if not takeover:
            decoder = zlib.decompressobj(-bits)
        assert decoder.decompress(payload + b"\x00\x00\xff\xff") == block
        sizes.append(len(payload))
    if takeover and bits == 15:
        assert sizes[1] < 100  # the repeat is one back-reference into the previous message
    else:
        assert sizes[1] > 1000  # it cannot be: out of the window, or context dropped
    c.close()


async def test_client_frames_inflate_with_the_negotiated_window(serve):
    served = await serve(
        handler("Deflate(client_max_window_bits=9, client_no_context_takeover=True)")
    )
    c = await RawClient.connect(served.port, "/api/echo", f"{PMD}; client_max_window_bits")
    assert c.headers["sec-websocket-extensions"] == (
        f"{PMD}; client_no_context_takeover; client_max_window_bits=9"
    )
    block = ascii_noise(1500)
    from_server = zlib.decompressobj(-15)  # the server keeps its own context
    for _ in range(2):
        z = zlib.compressobj(6, zlib.DEFLATED, -9)
        c.send(0x1, (z.compress(block) + z.flush(zlib.Z_SYNC_FLUSH))[:-4], rsv1=True)
        _fin, _rsv1, _opcode, payload = await c.frame()
        assert from_server.decompress(payload + b"\x00\x00\xff\xff") == block
    # A client that keeps its context anyway refers into a window the server has dropped.
    # (zlib does not always reuse the earlier text: pick messages where the second does.)
    while True:
        z = zlib.compressobj(6, zlib.DEFLATED, -9)
        first, second = (
            (z.compress(block[:400]) + z.flush(zlib.Z_SYNC_FLUSH))[:-4] for _ in range(2)
        )
        try:
            zlib.decompressobj(-9).decompress(second + b"\x00\x00\xff\xff")
        except zlib.error:
            break
        block = ascii_noise(1500)
    c.send(0x1, first, rsv1=True)
    await c.frame()
    c.send(0x1, second, rsv1=True)
    assert await c.close_code() == 1007
    c.close()
