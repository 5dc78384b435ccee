"""examples/auth: the query-token form in Chromium, the header form from a Python client."""

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

EXAMPLE = "auth"
ENDPOINT = ("/api/ws/private", 401)  # no token: refused before the handshake
HEADER_CLIENT = Path(__file__).resolve().parents[2] / "examples" / "auth" / "header_client.py"


@pytest.mark.browser
def test_good_token_connects_and_bad_token_shows_the_refusal(open_page):
    page = open_page()
    page.get_by_placeholder("token").fill("alice-secret")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#status")).to_have_text("Connected as alice")

    page.get_by_placeholder("token").fill("mallory")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#status")).to_contain_text("401 Unauthorized")
    expect(page.locator("#status")).to_have_class("refused")


def test_the_refusal_the_page_reports_is_http_401(vite):
    assert vite.handshake_status("/api/ws/private?token=mallory") == 401
    assert vite.handshake_status("/api/ws/private?token=bob-secret") == 101


@pytest.mark.parametrize(
    ("token", "code", "printed"),
    [
        ("bob-secret", 0, "{'type': 'authenticated', 'user': 'bob'}"),
        ("mallory", 1, "refused: HTTP 401"),
    ],
)
def test_header_form_from_a_python_client(vite, token, code, printed):
    url = f"ws://127.0.0.1:{vite.port}/api/ws/private"
    done = subprocess.run(
        [sys.executable, str(HEADER_CLIENT), url, token], capture_output=True, text=True, timeout=30
    )
    assert (done.returncode, done.stdout.strip()) == (code, printed), done.stderr
