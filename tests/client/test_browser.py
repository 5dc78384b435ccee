"""vite-plugin-wsside/client in Chromium, through a real Vite, shim and sidecar: round trip,
status sequence, a killed sidecar, close(), StrictMode's connect-close-connect, hot updates
as docs/client.md says to handle them, and the prefix reaching the client in dev and in a
`vite build` served by `vite preview`, on each Vite major the plugin supports."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from playwright.sync_api import Page

from .conftest import (
    HELLO,
    VITE_PACKAGES,
    Vite,
    VitePreview,
    build,
    messages,
    serving,
    sidecar_pids,
    statuses,
    wait_for_status,
    write_project,
)

pytestmark = pytest.mark.browser

# Longer than several of the page's longest reconnect waits (200 ms): how long a test
# watches for a reconnection that must not happen.
QUIET_MS = 1_000


def wait_for_message_type(page: Page, kind: str) -> None:
    page.wait_for_function(
        "kind => seen.some(([k, m]) => k === 'message' && m?.type === kind)", arg=kind
    )


def test_round_trip_with_query_and_protocols(dev, open_page):
    page = open_page(dev)
    page.wait_for_function(HELLO)
    assert messages(page) == [
        {"type": "hello", "query": {"username": "Ada Lovelace"}, "protocol": "v1"}
    ]
    page.evaluate("""() => {
      socket.send({ type: 'chat', text: 'hé', n: [1, null] })
      socket.send('plain text')
      socket.send(new Uint8Array([1, 2, 255]))
      socket.send(new Blob(['AB']))
      socket.send({ type: 'last' })
    }""")
    wait_for_message_type(page, "last")
    assert messages(page)[1:] == [
        {"type": "chat", "text": "hé", "n": [1, None]},
        "plain text",
        [1, 2, 255],
        [65, 66],
        {"type": "last"},
    ]


def test_status_sequence_through_server_closes(dev, open_page):
    page = open_page(dev)
    page.wait_for_function(HELLO)
    page.evaluate("socket.send({ type: 'close', code: 1012 })")
    wait_for_status(page, "open", 2)
    page.evaluate("socket.send({ type: 'close', code: 4001, reason: 'kicked' })")
    wait_for_status(page, "closed")
    assert statuses(page) == [
        ["connecting"],
        ["open", None],
        ["reconnecting", 1012],
        ["open", None],
        ["closed", 4001],
    ]
    assert page.evaluate("socket.status") == "closed"


def test_kill_9_of_the_sidecar_the_page_reconnects_and_sends_what_waited(dev, open_page):
    page = open_page(dev)
    page.wait_for_function(HELLO)
    # Marks this document: a reload would lose it.
    page.evaluate("""() => {
      window.sameDocument = true
      socket.onStatus((status) => status === 'reconnecting' && socket.send({ type: 'while-down' }))
    }""")
    [pid] = sidecar_pids(dev)
    os.kill(pid, signal.SIGKILL)

    wait_for_message_type(page, "while-down")
    assert statuses(page) == [
        ["connecting"],
        ["open", None],
        ["reconnecting", 1006],
        ["open", None],
    ]
    hellos_then_echo = [m["type"] for m in messages(page)]
    assert hellos_then_echo == ["hello", "hello", "while-down"]
    assert page.evaluate("window.sameDocument") is True
    assert sidecar_pids(dev)[-1] != pid


def test_back_online_the_page_reconnects_at_once_and_sends_what_waited(dev, open_page):
    """Chromium offline (Playwright's set_offline, as a dropped Wi-Fi): each attempt fails
    at once, and the waits grow (here to 10 s, then 60 s). When the network comes back, the
    browser's `online` event replaces the long wait with a first one (100 ms here); the
    message sent meanwhile goes once the socket opens."""
    page = open_page(dev)
    page.wait_for_function(HELLO)
    page.context.set_offline(True)
    page.evaluate("""() => {
      const realRandom = Math.random
      Math.random = () => 1 - Number.EPSILON  // the longest wait each time
      window.late = connect('/ws/echo', {
        query: { n: 'late' },
        reconnect: { minDelay: 100, maxDelay: 60000, factor: 10 },
      })
      window.got = []
      late.on('*', (m) => got.push(m.type))
      late.onStatus((status) => status === 'open' && (Math.random = realRandom))
      late.send({ type: 'sent-offline' })
    }""")
    page.wait_for_function("late.retryAt !== null && late.retryAt - Date.now() > 5000")
    assert page.evaluate("[late.status, got]") == ["reconnecting", []]
    page.context.set_offline(False)
    page.wait_for_function("got.length >= 2", timeout=5_000)
    assert page.evaluate("[late.status, late.retryAt, got]") == [
        "open",
        None,
        ["hello", "sent-offline"],
    ]


def test_going_offline_drops_the_socket_and_what_is_sent_waits_for_the_network(dev, open_page):
    """The browser going offline (a train tunnel) leaves its socket open until TCP gives up on
    it, a minute or more: the page would say open while what it sends is lost. The client
    drops it on the `offline` event: reconnecting at once, what is sent waits, and coming
    back online opens again and sends it."""
    page = open_page(dev)
    page.wait_for_function(HELLO)
    page.context.set_offline(True)
    wait_for_status(page, "reconnecting")
    page.evaluate("socket.send({ type: 'sent-offline' })")
    page.context.set_offline(False)
    wait_for_message_type(page, "sent-offline")
    assert statuses(page) == [
        ["connecting"],
        ["open", None],
        ["reconnecting", 1006],
        ["open", None],
    ]


def test_a_handshake_never_answered_is_given_up_after_timeout_and_retried(dev, open_page):
    """A server that accepts the TCP connection and never answers the handshake (a stopped
    process, a proxy holding it): Chromium would wait 240 s. With `timeout`, the attempt is
    given up, reported as 1006 with the reason, and retried."""
    page = open_page(dev)
    page.wait_for_function(HELLO)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        page.evaluate(
            """port => {
              window.silent = connect('/ws/echo', {
                url: `ws://127.0.0.1:${port}/api/ws/echo`,
                timeout: 300,
                reconnect: { minDelay: 50, maxDelay: 100 },
              })
              window.closes = []
              silent.onStatus((status, close) => closes.push([status, close]))
            }""",
            port,
        )
        held: list[socket.socket] = []
        deadline = time.monotonic() + 10  # for both attempts, not each
        try:
            for _ in range(2):  # the first attempt, then the retry
                silent.settimeout(max(deadline - time.monotonic(), 0.001))
                held.append(silent.accept()[0])
            assert page.evaluate("closes") == [
                ["reconnecting", {"code": 1006, "reason": "no answer to the handshake in 300 ms"}]
            ]
            page.evaluate("silent.close()")
        finally:
            for connection in held:
                connection.close()


def test_a_path_without_its_leading_slash_is_refused_at_the_call(dev, open_page):
    """`connect('ws/echo')` would ask for /apiws/echo, outside the prefix, which Vite leaves
    unanswered: the socket would stay `connecting`, and hold up every other WebSocket of the
    page to that host (a browser opens one at a time)."""
    page = open_page(dev)
    page.wait_for_function(HELLO)
    assert page.evaluate("""() => {
      try { connect('ws/echo') } catch (error) { return [error.name, error.message] }
    }""") == [
        "TypeError",
        "wsside: connect('ws/echo'): the path goes below the prefix and starts with /: "
        "connect('/ws/echo')",
    ]
    # A full address as the path goes in `url`, not after a slash.
    assert page.evaluate("""() => {
      try { connect('ws://localhost:5173/api/ws/echo') } catch (error) { return error.message }
    }""") == (
        "wsside: connect('ws://localhost:5173/api/ws/echo'): the path goes below the prefix and "
        "starts with /: connect('/ws/chat', { url: 'ws://localhost:5173/api/ws/echo' }), with "
        "the endpoint's pattern as the path"
    )


def test_close_stops_reconnecting(dev, open_page):
    page = open_page(dev)
    page.wait_for_function(HELLO)
    [pid] = sidecar_pids(dev)
    os.kill(pid, signal.SIGKILL)
    wait_for_status(page, "reconnecting")
    page.evaluate("socket.close()")
    dev.wait_for("restarting in", 10)
    # Once the new sidecar serves, a page still trying would be back within 200 ms.
    assert dev.handshake_status("/api/ws/echo") == 101
    page.wait_for_timeout(QUIET_MS)
    assert statuses(page) == [
        ["connecting"],
        ["open", None],
        ["reconnecting", 1006],
        ["closed", None],
    ]
    assert [m["type"] for m in messages(page)] == ["hello"]
    assert page.evaluate("""() => {
      try { socket.send('late') } catch (error) { return error.message }
    }""").endswith("is closed; message not sent")


def test_strict_mode_connect_close_connect_at_once(dev, open_page):
    """React's StrictMode in development: mount, unmount, mount, in one task. The first
    socket is closed for good during its handshake; the second opens and is the only one
    that gets messages."""
    page = open_page(dev)
    page.wait_for_function(HELLO)
    page.evaluate("""() => {
      window.got = []
      const first = connect('/ws/echo', { query: { n: 1 } })
      first.on('*', (m) => got.push(['first', m.query?.n]))
      first.close()
      window.first = first
      window.second = connect('/ws/echo', { query: { n: 2 } })
      second.on('*', (m) => got.push(['second', m.query?.n]))
    }""")
    page.wait_for_function("got.length >= 1")
    page.evaluate("second.send({ type: 'sync' })")
    page.wait_for_function("got.length >= 2")
    assert page.evaluate("[first.status, second.status, got]") == [
        "closed",
        "open",
        [["second", "2"], ["second", None]],
    ]


def test_close_with_a_code_websocket_refuses_throws_and_closes_nothing(dev, open_page):
    page = open_page(dev)
    page.wait_for_function(HELLO)
    assert page.evaluate("""() => {
      try { socket.close(1001) } catch (error) { return [error.name, socket.status] }
    }""") == ["InvalidAccessError", "open"]


def wait_for_vite_s_socket(page: Page) -> None:
    """An update sent before Vite's own socket is open never reaches the page."""
    if not any("[vite] connected" in text for text in page.logged):
        page.wait_for_event("console", lambda message: "[vite] connected" in message.text)


def save_whole(folder, name: str, text: str) -> None:
    """As an editor's atomic save: written in place, the file is empty for a moment, and
    Vite's watcher may read it then and send the page an empty module (no connect, no
    accept), which failed a hot-update test about once in six runs."""
    (folder / f"{name}.new").write_text(text)
    os.replace(folder / f"{name}.new", folder / name)


def test_a_hot_update_with_the_documented_dispose_leaves_one_socket(tmp_path, open_page):
    """docs/client.md: a module that Vite replaces in place runs `connect` again; with
    `import.meta.hot.dispose(() => chat.close())` the old socket closes, and a message
    reaches the page once."""
    folder = write_project(tmp_path / "project", max(VITE_PACKAGES))
    (folder / "main.js").write_text("import './chat.js'\n")
    chat = (
        "import { connect } from 'vite-plugin-wsside/client'\n\n"
        "window.sockets ??= []\nwindow.got ??= []\n"
        "const chat = connect('/ws/echo')\n"
        "const n = sockets.push(chat)\n"
        "chat.on('*', (m) => got.push([n, m.type]))\n"
        "import.meta.hot.accept()\n"
        "import.meta.hot.dispose(() => chat.close())\n"
    )
    (folder / "chat.js").write_text(chat)
    with serving(Vite(folder), "/api/ws/echo") as server:
        page = open_page(server)
        page.evaluate("window.sameDocument = true")
        page.wait_for_function("got.length >= 1")
        wait_for_vite_s_socket(page)
        save_whole(folder, "chat.js", chat + "// edited\n")
        # Margin for the watcher, the transform and the handshake on a loaded 2-core machine.
        page.wait_for_function("got.length >= 2", timeout=30_000)
        page.evaluate("sockets[1].send({ type: 'once' })")
        page.wait_for_function("got.length >= 3")
        assert page.evaluate("[sockets.map((s) => s.status), got, window.sameDocument]") == [
            ["closed", "open"],
            [[1, "hello"], [2, "hello"], [2, "once"]],
            True,
        ]


def test_a_hot_update_of_an_imported_module_as_documented_leaves_one_socket(tmp_path, open_page):
    """docs/client.md: a module that is not the one accepting the update (a store imported by
    a component) runs again, but Vite calls only the accepting module's `dispose`: the
    documented way closes the previous version's socket through `import.meta.hot.data`, and a
    top-level listener is removed the same way, so edits of the store and of the component
    leave one open socket with one listener."""
    folder = write_project(tmp_path / "project", max(VITE_PACKAGES))
    (folder / "main.js").write_text("import './view.js'\n")
    store = (
        "import { connect } from 'vite-plugin-wsside/client'\n\n"
        "window.storeRuns = (window.storeRuns ?? 0) + 1\n"
        "window.sockets ??= []\n"
        "import.meta.hot?.data.chat?.close()\n"
        "export const chat = connect('/ws/echo')\n"
        "if (import.meta.hot) import.meta.hot.data.chat = chat\n"
        "sockets.push(chat)\n"
    )
    (folder / "store.js").write_text(store)
    view = (
        "import { chat } from './store.js'\n\n"
        "window.got ??= []\n"
        "window.viewRuns = (window.viewRuns ?? 0) + 1\n"
        "import.meta.hot?.data.off?.()\n"
        "const off = chat.on('*', (m) => got.push(m.type))\n"
        "if (import.meta.hot) import.meta.hot.data.off = off\n"
        "import.meta.hot.accept()\n"
    )
    (folder / "view.js").write_text(view)
    with serving(Vite(folder), "/api/ws/echo") as server:
        page = open_page(server)
        page.evaluate("window.sameDocument = true")
        page.wait_for_function("got.length >= 1")
        wait_for_vite_s_socket(page)
        save_whole(folder, "store.js", store + "// edited\n")
        # The store runs again, then the view that accepts the update (each imports anew).
        page.wait_for_function("storeRuns >= 2 && viewRuns >= 2", timeout=30_000)
        page.wait_for_function("got.length >= 2")  # the new socket's hello
        page.evaluate("sockets[1].send({ type: 'once' })")
        page.wait_for_function("got.includes('once')")
        save_whole(folder, "view.js", view + "// edited\n")  # the view alone runs again
        page.wait_for_function("viewRuns >= 3", timeout=30_000)
        page.evaluate("sockets[1].send({ type: 'twice' })")
        page.wait_for_function("got.includes('twice')")
        assert page.evaluate("[sockets.map((s) => s.status), got, window.sameDocument]") == [
            ["closed", "open"],
            ["hello", "hello", "once", "twice"],
            True,
        ]


@pytest.mark.parametrize("major", sorted(VITE_PACKAGES))
@pytest.mark.parametrize("how", ["dev", "dev, pre-bundled", "build, preview"])
def test_the_plugins_prefix_reaches_the_client(major, how, tmp_path, open_page):
    """`prefix: '/custom'` in vite.config: the page connects under it, with no option of its own.
    Pre-bundled: the client in the user's optimizeDeps.include (beside the plugin's exclude)."""
    config = (
        "optimizeDeps: { include: ['vite-plugin-wsside/client'] }" if "pre-bundled" in how else ""
    )
    folder = write_project(tmp_path / "project", major, "{ prefix: '/custom' }", config)
    if how == "build, preview":
        build(folder)
        server: Vite = VitePreview(folder)
    else:
        server = Vite(folder)
    with serving(server, "/custom/ws/echo"):
        page = open_page(server)
        page.wait_for_function(HELLO)
        assert page.evaluate("socket.status") == "open"
