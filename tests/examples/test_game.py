"""examples/game in Chromium: a game is created, joined and played; the server tick pushes state."""

import os
import re
import signal

import pytest
from playwright.sync_api import expect

EXAMPLE = "game"
ENDPOINT = ("/api/ws/game?name=probe", 101)
pytestmark = pytest.mark.browser


def test_create_join_play_and_tick(open_page):
    alice = open_page("?name=Alice")
    bob = open_page("?name=Bob")
    expect(alice.locator("#status")).to_have_text("playing as Alice")
    expect(bob.locator("#status")).to_have_text("playing as Bob")

    alice.get_by_role("button", name="Create a game").click()
    game_id = alice.locator("#game-id")
    expect(game_id).to_have_text(re.compile(r"^[0-9a-f]{8}$"))
    gid = game_id.inner_text()

    # Bob's lobby learns of the game from the server tick, not from a reload.
    bob.get_by_role("button", name=f"Join {gid}").click()
    expect(bob.locator("#game-id")).to_have_text(gid)
    expect(alice.locator("#log")).to_contain_text("Bob joined")

    bob.get_by_role("button", name="Roll the dice").click()
    rolled = re.compile(r"^Bob rolled [1-6]$")
    for page in (alice, bob):
        expect(page.locator("#log li").first).to_have_text(rolled)

    # The next ticks carry both players and Bob's score to both pages.
    value = int(alice.locator("#log li").first.inner_text().rsplit(" ", 1)[1])
    for page in (alice, bob):
        expect(page.locator("#scores tr")).to_have_text([score("Alice", 0), score("Bob", value)])
    first = tick_number(alice)
    expect(alice.locator("#tick")).not_to_have_text(f"tick {first}")

    bob.close()
    expect(alice.locator("#log li").first).to_have_text("Bob left")
    expect(alice.locator("#scores tr")).to_have_text([score("Alice", 0)])


def test_after_a_sidecar_restart_the_player_is_back_in_the_lobby(browser, own_vite):
    """A game lives in its connection: once the client has reconnected, the page shows the
    lobby again, without a reload."""
    page = browser.new_page()
    try:
        page.goto(own_vite.url + "?name=Alice")
        page.get_by_role("button", name="Create a game").click()
        expect(page.locator("#table")).to_be_visible()

        [pid] = re.findall(r"sidecar ready: pid (\d+)", own_vite.output)
        os.kill(int(pid), signal.SIGKILL)
        # Polled on every frame: while reconnecting, no action can be taken.
        page.wait_for_function(
            """() => document.getElementById('status').textContent === 'reconnecting…' &&
                     document.getElementById('roll').disabled""",
            polling="raf",
        )
        expect(page.locator("#status")).to_have_text("playing as Alice")
        expect(page.locator("#lobby")).to_be_visible()
        expect(page.locator("#table")).to_be_hidden()
        expect(page.get_by_role("button", name="Create a game")).to_be_enabled()
    finally:
        page.close()


def tick_number(page):
    expect(page.locator("#tick")).to_have_text(re.compile(r"^tick \d+$"))
    return int(page.locator("#tick").inner_text().split()[1])


def score(name, points):
    return re.compile(rf"^{name}\s*{points}$")
