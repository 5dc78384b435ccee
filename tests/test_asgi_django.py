"""docs/asgi.md's "Beside Django": its `mysite/asgi.py`, `ws/notifications.py` and
`notes/views.py`, read from the page, run under a real uvicorn with Django's own sessions and
auth (SQLite in the test's folder): a socket without a session cookie is refused 401, one
with a signed-in user's cookie gets its hello, the view's push reaches that user's socket,
HTTP goes to Django, and the lifespan reaches ASGIApp (no warning that none did)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from asgi_server import Server, write_files

pytest.importorskip("django")

DOC = Path(__file__).resolve().parents[1] / "docs" / "asgi.md"
SECTION = DOC.read_text().split("## Beside Django", 1)[1].split("\n## ", 1)[0]
FILES = {
    code.split("\n", 1)[0].removeprefix("# "): code
    for code in re.findall(r"^```python\n(.*?)^```", SECTION, re.M | re.S)
}

# What the page leaves to the project: its settings (no CSRF middleware: the test posts
# without a form), its URLs, and the file uvicorn is pointed at (`app:app`).
PROJECT = {
    "mysite/__init__.py": "",
    "notes/__init__.py": "",
    "mysite/settings.py": """
        from pathlib import Path

        SECRET_KEY = "test"
        DEBUG = False
        ALLOWED_HOSTS = ["127.0.0.1"]
        INSTALLED_APPS = [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ]
        MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
        ROOT_URLCONF = "mysite.urls"
        DATABASES = {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": Path(__file__).resolve().parent.parent / "db.sqlite3",
            }
        }
        USE_TZ = True
    """,
    "mysite/urls.py": """
        from django.urls import path

        from notes.views import notify

        urlpatterns = [path("notify/<int:user_id>", notify)]
    """,
    "app.py": "from mysite.asgi import application as app\n",
}

# A migrated database, a user and a signed-in session: its key (the `sessionid` cookie).
SIGN_IN = """
import os

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command

call_command("migrate", verbosity=0)
user = User.objects.create_user("ada", password="not used")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(user.pk, session.session_key)
"""


def test_the_page_has_the_three_files() -> None:
    assert sorted(FILES) == ["mysite/asgi.py", "notes/views.py", "ws/notifications.py"]


async def test_a_django_session_signs_the_socket_in_and_a_view_pushes_to_it(
    tmp_path: Path,
) -> None:
    write_files(tmp_path, {**PROJECT, **FILES})
    signed = subprocess.run(
        [sys.executable, "-c", SIGN_IN],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    user_id, key = signed.stdout.split()
    server = Server(tmp_path, "uvicorn")
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as client:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect(f"{base}/api/ws/notifications")
            assert refused.value.status == 401
            ws = await client.ws_connect(
                f"{base}/api/ws/notifications", headers={"Cookie": f"sessionid={key}"}
            )
            assert await ws.receive_json(timeout=10) == {"type": "hello", "user": "ada"}
            async with client.post(f"{base}/notify/{user_id}", data={"text": "hi"}) as reply:
                assert reply.status == 200, await reply.text()
                assert await reply.json() == {"here": 1}
            assert await ws.receive_json(timeout=10) == {"type": "note", "text": "hi"}
            await ws.close()
            async with client.get(f"{base}/no-such-page") as page:
                assert page.status == 404 and "text/html" in page.headers["Content-Type"]
    finally:
        server.stop()
    assert "no lifespan event reached" not in server.log, server.log
    assert "Application startup complete" in server.log, server.log
