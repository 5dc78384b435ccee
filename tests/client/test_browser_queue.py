"""What the client's queue sends, in Chromium through a real Vite and sidecar: the messages a
page sends before its socket opens go as they were at the call."""

from __future__ import annotations

import pytest

from .conftest import HELLO

pytestmark = pytest.mark.browser


def test_binary_sent_before_open_goes_as_it_was_at_the_call(dev, open_page):
    """A page that fills one buffer again for each message (a game loop) and sends while the
    socket is still connecting: each message goes with the bytes it had when sent, as with
    a WebSocket's own send (a typed array's part of its buffer, a DataView, the whole
    ArrayBuffer), not each with the last bytes written."""
    page = open_page(dev)
    page.wait_for_function(HELLO)
    page.evaluate("""() => {
      window.got = []
      const early = connect('/ws/echo', { query: { n: 'early' } })
      early.on('*', (m) => m instanceof ArrayBuffer && got.push([...new Uint8Array(m)]))
      const frame = new Uint8Array(4)
      for (const n of [1, 2]) {
        frame.fill(n)
        early.send(frame.subarray(1, 3))
        early.send(new DataView(frame.buffer, 3, 1))
        early.send(frame.buffer)
      }
      frame.fill(9)
    }""")
    page.wait_for_function("got.length >= 6")
    assert page.evaluate("got") == [[1, 1], [1], [1, 1, 1, 1], [2, 2], [2], [2, 2, 2, 2]]
