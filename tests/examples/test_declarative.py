"""examples/declarative in Chromium: rules answer, on_message is the fallback, the subprotocol
is the server's choice and permessage-deflate is on."""

import pytest
from playwright.sync_api import expect

EXAMPLE = "declarative"
ENDPOINT = ("/api/ws/echo", 101)
pytestmark = pytest.mark.browser


def received(page, text):
    return page.locator("#log li", has_text=f"← {text}")


def test_rules_fallback_subprotocol_and_compression(open_page):
    page = open_page()
    expect(page.locator("#protocol")).to_have_text("echo.v2")
    expect(page.locator("#extensions")).to_contain_text("permessage-deflate")

    page.get_by_role("button", name="Ping").click()
    expect(received(page, '{"type":"pong"}')).to_have_count(1)
    page.get_by_role("button", name="Echo").click()
    expect(received(page, '{"type":"echo","data":"hello"}')).to_have_count(1)
    page.get_by_role("button", name="Plain text").click()
    expect(received(page, "HELLO")).to_have_count(1)
    page.get_by_role("button", name="Other JSON").click()
    expect(
        received(page, '{"type":"unmatched","received":{"type":"other","text":"hello"}}')
    ).to_have_count(1)


def test_announce_reaches_the_whole_lobby(open_page):
    first, second = open_page(), open_page()
    for page in (first, second):
        expect(page.locator("#protocol")).to_have_text("echo.v2")
    first.get_by_role("textbox").fill("deploy at noon")
    first.get_by_role("button", name="Announce").click()
    for page in (first, second):
        expect(received(page, '{"type":"announcement","text":"deploy at noon"}')).to_have_count(1)
