"""A page in Chromium's back/forward cache, through a real Vite and sidecar: the client closes
its socket as the page goes into the cache, and opens it again as the page comes back.

Playwright turns the cache off (`--disable-back-forward-cache`); this module's browser
leaves that switch out, as a user's Chromium has it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from examples.conftest import CHROMIUM, CHROMIUM_ARGS

from .conftest import HELLO, messages, statuses, wait_for_status

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium with its back/forward cache on (used by conftest's open_page)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium`", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            ignore_default_args=["--disable-back-forward-cache"],
            headless=True,
            timeout=30_000,
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_a_page_in_the_back_forward_cache_closes_its_socket_until_it_is_back(dev, open_page):
    """Chromium keeps the socket of a page in its cache open, as long as it keeps the page
    (minutes), and closes it when the page comes back: the server would count a user who
    left. The client closes it as the page goes (1000, saying why) and opens it again at
    once as the page comes back; the server sees both."""
    watcher = open_page(dev)
    watcher.evaluate("""() => {
      window.live = []
      connect('/ws/live', { query: { watch: 1 } }).on('*', (m) => live.push(m))
    }""")
    page = open_page(dev)
    page.wait_for_function(HELLO)
    page.evaluate("""() => {
      window.present = connect('/ws/live')
      addEventListener('pageshow', (event) => (window.restored = event.persisted))
    }""")
    watcher.wait_for_function("live.at(-1)?.n === 1")

    page.goto(f"{dev.url}?away")
    page.wait_for_function(HELLO)
    watcher.wait_for_function("live.at(-1)?.n === 0")
    page.go_back(wait_until="commit")  # a page from the cache fires no `load`
    page.wait_for_function("window.restored === true")
    wait_for_status(page, "open", 2)
    page.wait_for_function("present.status === 'open'")
    watcher.wait_for_function("live.at(-1)?.n === 1")

    assert statuses(page) == [
        ["connecting"],
        ["open", None],
        ["reconnecting", 1000],
        ["open", None],
    ]
    assert [m["type"] for m in messages(page)] == ["hello", "hello"]
    assert watcher.evaluate("live.filter((m) => m.type === 'left')") == [
        {"type": "left", "code": 1000, "reason": "page in the back/forward cache"}
    ]


def test_a_connect_that_throws_leaves_nothing_listening_on_the_page(dev, open_page):
    """`connect` throws when the WebSocket cannot be made (here a subprotocol offered twice;
    also a `ws:` URL from an `https:` page). The page may catch that and go on: nothing of
    that client may run later, when the page goes into the cache and comes back (open_page
    fails the test on any error on the page)."""
    page = open_page(dev)
    page.wait_for_function(HELLO)
    assert (
        page.evaluate("""() => {
      try { connect('/ws/echo', { protocols: ['v1', 'v1'] }) } catch (error) { return error.name }
    }""")
        == "SyntaxError"
    )
    page.goto(f"{dev.url}?away")
    page.wait_for_function(HELLO)
    page.go_back(wait_until="commit")
    page.wait_for_function("socket.status === 'open' && seen.length > 3")
    assert statuses(page)[-1] == ["open", None]
