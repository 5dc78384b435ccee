"""README's quick start, as a newcomer would follow it: its vite.config.js, its ws/chat.py and
its browser snippet in a fresh Vite project, run in Chromium."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
pytestmark = pytest.mark.browser


def quick_start_blocks():
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"^```(\w+)\n(.*?)^```", section, re.M | re.S)
    js = [code for lang, code in found if lang == "js"]
    python = [code for lang, code in found if lang == "python"]
    assert len(js) == 2 and len(python) == 1, "quick start: vite.config.js, ws/chat.py, page JS"
    return js[0], python[0], js[1]


def test_quick_start_works_in_a_browser(browser, project, start_vite):
    config, handler, page_js = quick_start_blocks()
    (project / "ws").mkdir()
    (project / "vite.config.js").write_text(config)
    (project / "ws" / "chat.py").write_text(handler)
    (project / "main.js").write_text(page_js)
    (project / "index.html").write_text(
        '<!doctype html><script type="module" src="/main.js"></script>\n'
    )

    with start_vite(project, ("/api/ws/chat", 101)) as vite:
        page = browser.new_page()
        try:
            # Keep what the snippet logs, to wait on it.
            page.add_init_script("""
                window.logged = []
                const log = console.log
                console.log = (...args) => { window.logged.push(...args); log(...args) }
            """)
            page.goto(vite.url)
            page.wait_for_function(
                "() => logged.some((m) => m.type === 'chat-message' && m.from === 'Ada')"
            )
            logged = page.evaluate("logged")
        finally:
            page.close()
    assert logged[0]["type"] == "connected"
    assert logged[1] == {"type": "chat-message", "from": "Ada", "text": "hello"}
