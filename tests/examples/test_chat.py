"""examples/chat in Chromium: two people chat through Vite, the shim and the sidecar."""

import os
import re
import signal

import pytest
from playwright.sync_api import expect

EXAMPLE = "chat"
ENDPOINT = ("/api/ws/chat?username=probe", 101)
pytestmark = pytest.mark.browser


def log_line(page, text):
    return page.locator("#log li", has_text=text)


def test_two_people_chat_with_typing_indicator(open_page):
    alice = open_page("?username=Alice")
    expect(alice.locator("#status")).to_have_text("connected as Alice")
    expect(alice.get_by_label("Your name")).to_be_hidden()
    bob = open_page("?username=Bob")
    expect(bob.locator("#status")).to_have_text("connected as Bob")
    expect(log_line(alice, "#general Bob joined")).to_have_count(1)

    alice.get_by_placeholder("Message").fill("hello Bob")
    expect(bob.locator("#typing")).to_have_text("Alice (#general) is typing…")
    bob.get_by_placeholder("Message").fill("hi")
    # Alice's own typing would have reached her before Bob's: she only ever sees Bob's.
    expect(alice.locator("#typing")).to_have_text("Bob (#general) is typing…")

    alice.get_by_role("button", name="Send").click()
    for page in (alice, bob):
        expect(log_line(page, "#general Alice: hello Bob")).to_have_count(1)
    expect(bob.locator("#typing")).to_have_text("")


def test_a_blank_name_asks_for_one(open_page):
    page = open_page("?username=%20%20")
    field = page.get_by_label("Your name")
    expect(field).to_be_visible()
    field.fill("Carol")
    page.get_by_role("button", name="Join the chat").click()
    expect(page.locator("#status")).to_have_text("connected as Carol")


def test_rooms_join_leave_and_disconnect(open_page):
    alice = open_page("?username=Alice")
    bob = open_page("?username=Bob")
    expect(log_line(alice, "#general Bob joined")).to_have_count(1)

    for page in (bob, alice):
        page.get_by_placeholder("room").fill("random")
        page.get_by_role("button", name="Join room").click()
        expect(page.locator(".room.current")).to_have_text("#random")
    expect(log_line(bob, "#random Alice joined")).to_have_count(1)

    say(alice, "only for #random")
    expect(log_line(bob, "#random Alice: only for #random")).to_have_count(1)

    bob.get_by_role("button", name="Leave room").click()
    expect(log_line(alice, "#random Bob left")).to_have_count(1)
    expect(bob.locator(".room")).to_have_text(["#general"])

    bob.close()
    expect(log_line(alice, "#general Bob left")).to_have_count(1)


def test_newcomer_picks_a_name(open_page):
    page = open_page()
    expect(page.get_by_placeholder("Message")).to_be_hidden()
    page.get_by_label("Your name").fill("Carol")
    page.get_by_role("button", name="Join the chat").click()
    expect(page.locator("#status")).to_have_text("connected as Carol")
    expect(page.locator(".room.current")).to_have_text("#general")


def test_saved_handler_serves_the_next_message_on_the_same_socket(browser, own_vite):
    """The README's promise: save ws/chat.py, the next message runs the new code, same socket."""
    page = browser.new_page()
    try:
        page.goto(own_vite.url + "?username=Ada")
        say(page, "before")
        expect(log_line(page, "#general Ada: before")).to_have_count(1)

        handler = own_vite.folder / "ws" / "chat.py"
        code = handler.read_text()
        assert '"text": data["text"]' in code
        handler.write_text(code.replace('"text": data["text"]', '"text": data["text"].upper()'))
        own_vite.wait_for("reloaded ws/chat.py", 20)

        say(page, "after")
        expect(log_line(page, "#general Ada: AFTER")).to_have_count(1)
        expect(page.locator("#status")).to_have_text("connected as Ada")
    finally:
        page.close()


def say(page, text):
    page.get_by_placeholder("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def test_a_broken_handler_shows_in_the_overlay_until_it_is_fixed(browser, own_vite):
    """A load error reaches the browser's overlay with the Python file and line; saving a fixed
    file takes the overlay away, and the old code served the open socket meanwhile."""
    page = browser.new_page()
    try:
        page.goto(own_vite.url + "?username=Ada")
        say(page, "first")
        expect(log_line(page, "#general Ada: first")).to_have_count(1)

        handler = own_vite.folder / "ws" / "chat.py"
        good = handler.read_text()
        handler.write_text(good + "\ndef broken(:\n")
        overlay = page.locator("vite-error-overlay")
        expect(overlay).to_have_count(1)
        text = overlay.evaluate("el => el.shadowRoot.textContent")
        broken_line = len(good.splitlines()) + 2
        assert "SyntaxError" in text and f"chat.py:{broken_line}" in text

        # the previous version keeps serving (the overlay covers the page: no pointer clicks)
        page.get_by_placeholder("Message").fill("still served")
        page.get_by_role("button", name="Send").dispatch_event("click")
        expect(log_line(page, "#general Ada: still served")).to_have_count(1)

        handler.write_text(good)
        expect(overlay).to_have_count(0)
        say(page, "fixed")
        expect(log_line(page, "#general Ada: fixed")).to_have_count(1)
    finally:
        page.close()


def test_the_chat_survives_a_sidecar_restart_without_a_reload(browser, own_vite):
    """kill -9 of the sidecar: the status line says "reconnecting…" while Vite restarts it,
    then "connected as Ada" again, on the same page, and the chat goes on."""
    page = browser.new_page()
    try:
        page.goto(own_vite.url + "?username=Ada")
        say(page, "before")
        expect(log_line(page, "#general Ada: before")).to_have_count(1)
        page.evaluate("window.sameDocument = true")  # a reload would lose it

        [pid] = re.findall(r"sidecar ready: pid (\d+)", own_vite.output)
        os.kill(int(pid), signal.SIGKILL)
        # Polled on every frame: the line shows "reconnecting…" for as long as the restart takes.
        page.wait_for_function(
            "document.getElementById('status').textContent === 'reconnecting…'", polling="raf"
        )
        expect(page.locator("#status")).to_have_text("connected as Ada")

        say(page, "after")
        expect(log_line(page, "#general Ada: after")).to_have_count(1)
        assert page.evaluate("window.sameDocument") is True
    finally:
        page.close()
